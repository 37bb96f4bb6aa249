"""Marketplace: every template pack version with its publisher, verification and the tenant's trust, the
products that use it and how they fare (from the knowledge graph), and upgrading a tenant's products."""

from __future__ import annotations

import streamlit as st

from infra.access import Resource
from infra.marketplace import Listing, listings, upgrade_products
from ontology.errors import InvalidInputError
from studio import state


def catalog() -> list[Listing]:
    rows = listings(state.knowledge_graph(), state.home(), state.tenant())
    st.dataframe(
        [r.row() for r in rows],
        hide_index=True,
        column_config={
            "pass rate": st.column_config.ProgressColumn("pass rate", min_value=0.0, max_value=1.0, format="percent"),
        },
    )
    for r in rows:
        if r.products:
            with st.expander(f"{r.name} {r.version}: {len(r.products)} product(s)"):
                st.write(", ".join(r.products))
    return rows


def upgrade(rows: list[Listing]) -> None:
    tenant = state.tenant()
    if tenant is None:
        st.caption("Pick a tenant to upgrade its products.")
        return
    used = sorted({(r.name, r.version) for r in rows if r.products})
    if not used:
        st.caption(f"No product of {tenant} uses a pack version the graph knows yet.")
        return
    with st.form("upgrade_all"):
        st.markdown(f"**Upgrade all products of {tenant} on a pack version to another**")
        left, right = st.columns([1, 1])
        source = left.selectbox("From", [f"{n}@{v}" for n, v in used], key="upgrade_from")
        name = str(source).split("@", 1)[0]
        current = str(source).split("@", 1)[1]
        targets = [r.version for r in rows if r.name == name and r.version != current and r.pack_usable]
        target = right.selectbox("To version", targets, key="upgrade_to")
        dry_run = st.checkbox("Dry run: show what would change", key="upgrade_dry_run")
        if st.form_submit_button("Upgrade them", type="primary"):
            with state.guard("Upgrading"):
                if target is None:
                    raise InvalidInputError(f"{name} has no other version to upgrade to")
                state.allow("rebuild", Resource.scope(tenant))
                reports = upgrade_products(
                    state.control(), state.home(), tenant, name, current, str(target),
                    actor=state.actor(), dry_run=dry_run,
                )  # fmt: skip
                if not reports:
                    st.info(f"No released product of {tenant} is on {source}: nothing to upgrade.")
                st.dataframe([{"product": r.product, "outcome": r.status, "detail": r.message} for r in reports],
                             hide_index=True)  # fmt: skip


st.title("Marketplace")
st.caption(
    f"Template packs, who published them, whether {state.tenant_label()} trusts them, and how the products "
    "built with each version fare: validation pass rate, contract failures and SLO breaches."
)
with state.guard("Reading the Marketplace"):
    found = catalog()
    upgrade(found)
