"""Insights: what the running services of many products showed, as the knowledge graph holds it."""

from __future__ import annotations

import streamlit as st

from graph.findings import findings_for, insights_for
from ontology.findings import Finding
from studio import state


def insights() -> None:
    tenant = state.tenant()
    if tenant is None:
        st.info("Insights are shown per tenant: choose one in the sidebar.")
        return
    kg = state.knowledge_graph()
    rows = insights_for(kg, tenant)
    if not rows:
        st.info(
            "No insights yet: they appear once the telemetry schedule has observed running deployments "
            "(every five minutes under `factory up`)."
        )
    else:
        st.dataframe(
            [
                {
                    "kind": r["kind"],
                    "subject": r["subject"],
                    "products": int(r["products"]),
                    "findings": int(r["findings"]),
                    "insight": r["summary"],
                }
                for r in rows
            ],
            hide_index=True,
        )
    st.subheader("Latest findings per product")
    products = state.control().products(tenant)
    shown = 0
    for p in products:
        found = findings_for(kg, tenant, p.product, limit=20)
        if found:
            shown += 1
            with st.expander(f"{p.product}: {len(found)} finding(s)", expanded=shown == 1):
                st.dataframe([_row(f) for f in found], hide_index=True)
    if not shown:
        st.caption(f"No findings in {state.tenant_label()} yet.")


def _row(f: Finding) -> dict[str, object]:
    return {
        "window": f"{f.window_start:%Y-%m-%d %H:%M}",
        "revision": f.revision,
        "kind": f.kind,
        "route": f.route or "",
        "entity": f.entity or "",
        "attribute": f.attribute or "",
        "value": f"{f.metric} {f.value:g} (bound {f.threshold:g})",
        "finding": f.summary,
    }


st.title("Insights")
st.caption(
    f"What the running services of {state.tenant_label()} and of every product of the factory showed: "
    "findings of each telemetry window, and the insights they add up to, from the knowledge graph."
)
with state.guard("Reading the insights"):
    insights()
