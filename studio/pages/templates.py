"""Templates: the installed template packs with their versions, usage and the outcomes of builds that used them."""

from __future__ import annotations

import streamlit as st

from generators.packs import list_packs
from infra.insights import compute_insights
from studio import state, views


def packs() -> None:
    insights = compute_insights(state.control().builds(state.tenant()))
    installed = list_packs()
    rows = views.template_rows(installed, insights)
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            "pass rate": st.column_config.ProgressColumn("pass rate", min_value=0.0, max_value=1.0, format="percent"),
        },
    )
    used = [r for r in rows if r["builds"]]
    if used:
        st.caption("Builds per pack version")
        st.bar_chart(
            [
                {"pack": f"{r['pack']}@{r['version']}", "passed": r["passed"], "failed": r["builds"] - r["passed"]}
                for r in used
            ],
            x="pack",
            y=["passed", "failed"],
        )
    for pack in installed:
        with st.expander(f"{pack.name} {pack.version}: parameters and files"):
            st.dataframe([{"parameter": p.name, "default": str(p.default)} for p in pack.parameters], hide_index=True)
            st.code("\n".join(pack.template_paths()), language=None)
    st.subheader("Domain patterns")
    if insights.patterns:
        st.dataframe(
            [
                {
                    "pattern": name,
                    "builds": o.builds,
                    "pass rate": o.pass_rate,
                    "median build s": o.median_build_s,
                    "slo breaches": o.slo_breaches,
                }
                for name, o in insights.patterns.items()
            ],
            hide_index=True,
        )
    else:
        st.caption(f"No builds in {state.tenant_label()} yet.")


st.title("Templates")
st.caption(f"Template packs and how the builds of {state.tenant_label()} that used them went.")
with state.guard("Reading the template packs"):
    packs()
