"""Trace: one build's whole chain, from the intent to the telemetry, as a graph and as a timeline."""

from __future__ import annotations

import altair as alt
import streamlit as st

from graph import TraceStep
from studio import diagrams, state, views


def choose() -> str:
    """The trace id: from the address (a clicked link), typed, or picked from the tenant's recent builds."""
    from_url = st.query_params.get("trace")
    if from_url and st.session_state.get("_trace_from_url") != from_url:
        st.session_state["_trace_from_url"] = st.session_state["trace_input"] = from_url
    products = sorted(state.control().products(state.tenant()), key=lambda p: p.updated_at, reverse=True)[:200]
    builds = {f"{p.tenant}/{p.product} r{p.revision} — {p.trace_id}": p.trace_id for p in products if p.trace_id}
    left, right = st.columns([2, 3])
    picked = right.selectbox("…or pick a recent build", ["", *builds], key="trace_pick")
    if picked and st.session_state.get("_trace_picked") != picked:
        st.session_state["_trace_picked"] = picked
        st.session_state["trace_input"] = builds[str(picked)]
    left.text_input("Trace id", key="trace_input", placeholder="32 hex digits, e.g. from the Overview")
    return str(st.session_state.get("trace_input") or "").strip()


def graph(steps: list[TraceStep]) -> None:
    stages = list(dict.fromkeys(s.stage for s in steps))
    folded = [s for s in stages if sum(1 for x in steps if x.stage == s) > diagrams.MAX_NODES_PER_STAGE]
    expand = None
    if folded:
        expand = st.segmented_control("Unfold a stage", folded, key="trace_expand")
    st.graphviz_chart(diagrams.trace_dot(steps, expand), width="stretch")


def timeline(steps: list[TraceStep]) -> None:
    rows = views.timeline_rows(steps)
    if not rows:
        st.info("The trace records no activity times.")
        return
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(cornerRadius=3, height=18)
        .encode(
            x=alt.X("started:T", title="time"),
            x2="ended:T",
            y=alt.Y("stage:N", sort=[r["stage"] for r in rows], title=None),
            color=alt.Color("agent:N", title="agent"),
            tooltip=["stage:N", "activity:N", "agent:N", "seconds:Q", "outputs:Q", "started:T", "ended:T"],
        )
        .properties(height=40 + 30 * len(rows))
        .interactive()
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(rows, hide_index=True)


st.title("Trace")
st.caption(f"A build's chain in {state.tenant_label()}'s knowledge graph: every stage, its activity and agent.")
trace_id = ""
with state.guard("Reading the builds"):
    trace_id = choose()
if not trace_id:
    st.info("Type a trace id, pick a recent build, or click a trace on the Overview.")
else:
    with state.guard(f"Tracing {trace_id[:40]}"):
        found = state.knowledge_graph().trace(trace_id, tenant=state.tenant())
        if not found:
            st.warning(f"No build with trace id {trace_id} in {state.tenant_label()}'s knowledge graph.")
        else:
            first = found[0]
            st.markdown(
                f"**{first.tenant}/{first.product}** — {len(found)} steps over "
                f"{len(set(s.stage for s in found))} stages"
            )
            graph_tab, timeline_tab, steps_tab, feedback_tab = st.tabs(["Graph", "Timeline", "Steps", "Feedback"])
            with graph_tab:
                graph(found)
            with timeline_tab:
                timeline(found)
            with steps_tab:
                st.dataframe(views.trace_rows(found), hide_index=True)
            with feedback_tab:
                loop = views.feedback_rows(found)
                if loop:
                    st.caption(
                        "What running services showed changed this build: each finding its design used, the "
                        "decision taken from it, the generated files that changed, and the telemetry windows since."
                    )
                    st.dataframe(loop, hide_index=True)
                else:
                    st.info("No finding of a running service changed this build.")
