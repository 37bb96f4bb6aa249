"""Marketplace: every template pack version with its publisher, verification and the tenant's trust, the
products that use it and how they fare (from the knowledge graph), the upgrades people made, and upgrading a
tenant's products."""

from __future__ import annotations

import streamlit as st

from generators.packs import parse_version
from graph.catalog import pack_upgrades
from infra.access import Resource
from infra.lifecycle.upgrade import released_on
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


def upgrades() -> None:
    done = pack_upgrades(state.knowledge_graph(), state.tenant())
    if done:
        st.subheader("Upgrades")
        st.caption("Each upgrade of a product to another pack version, newest first (`factory upgrade`, or the form)")
        st.dataframe([u.row() for u in reversed(done)], hide_index=True)


def upgrade(rows: list[Listing]) -> None:
    tenant = state.tenant()
    if tenant is None:
        st.caption("Pick a tenant to upgrade its products.")
        return
    # what the upgrade starts from: the versions the released products are on (their repositories), which an
    # upgrade may have moved before the graph's facts of a rebuild (the listing above) catch up
    released = released_on(state.control(), state.home(), tenant)
    newer = {
        source: [r.version for r in rows if r.name == source.split("@")[0] and r.pack_usable
                 and parse_version(r.version) > parse_version(source.split("@")[1])]
        for source in sorted(released)
    }  # fmt: skip
    sources = [source for source, targets in newer.items() if targets]
    if not sources:
        st.caption(f"No released product of {tenant} is on a pack version with a newer usable one: nothing to upgrade.")
        return
    with st.form("upgrade_all"):
        st.markdown(f"**Upgrade all products of {tenant} on a pack version to a newer one**")
        left, right = st.columns([1, 1])
        source = str(left.selectbox("From", sources, key="upgrade_from"))
        name, current = source.split("@", 1)
        target = right.selectbox("To version", newer[source], key="upgrade_to")
        st.caption(f"On {source}: {', '.join(str(ref) for ref in released[source])}")
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
                st.dataframe([{"product": r.product, "outcome": r.status, "conflicts": ", ".join(r.conflicts),
                               "detail": r.message} for r in reports], hide_index=True)  # fmt: skip


st.title("Marketplace")
st.caption(
    f"Template packs, who published them, whether {state.tenant_label()} trusts them, and how the products "
    "built with each version fare: validation pass rate, contract failures and SLO breaches."
)
with state.guard("Reading the Marketplace"):
    found = catalog()
    upgrade(found)
    upgrades()
