"""Overview: the tenant's products with every lifecycle stage's status, and the factory's figures."""

from __future__ import annotations

import streamlit as st

from studio import state, views


def figures() -> None:
    control, tenant = state.control(), state.tenant()
    products = control.products(tenant)
    shown = views.factory_figures(control.builds(tenant), len(products))
    columns = st.columns(4)
    columns[0].metric("Products", f"{shown['products']:,}")
    columns[1].metric("Builds", f"{shown['builds']:,}")
    columns[2].metric("Pass rate", f"{shown['pass rate']:.0%}" if shown["builds"] else "—")
    columns[3].metric("Median build time", f"{shown['median build s']:.1f} s" if shown["builds"] else "—")


def products_table() -> None:
    control, tenant = state.control(), state.tenant()
    products = control.products(tenant)
    if not products:
        st.info(f"No products for {state.tenant_label()} yet: describe one on the New product page.")
        st.page_link("pages/new_product.py", label="New product", icon=":material/add_circle:")
        return
    rows = views.overview_rows(products, control.intents(tenant), state.dagster_url())
    stage_column = {stage: st.column_config.TextColumn(stage, width="small") for stage in views.STAGES}
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            **stage_column,
            "tenant": None if tenant is not None else st.column_config.TextColumn("tenant"),
            "trace": st.column_config.LinkColumn("trace", display_text=r"trace=([0-9a-f]{12})"),
            "dagster run": st.column_config.LinkColumn("dagster run", display_text=r"runs/([0-9a-f]{8})"),
            "service": st.column_config.LinkColumn("service"),
            "updated": st.column_config.DatetimeColumn("updated", format="YYYY-MM-DD HH:mm"),
        },
    )
    names = [f"{p.tenant}/{p.product}" for p in products]
    left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    chosen = left.selectbox("Open a product", names, key="overview_product")
    tenant_name, product = str(chosen).split("/", 1)
    if middle.button("Product page", icon=":material/deployed_code:"):
        st.switch_page("pages/product.py", query_params={"product": product, "tenant": tenant_name})
    record = next(p for p in products if (p.tenant, p.product) == (tenant_name, product))
    if right.button("Trace", icon=":material/timeline:", disabled=not record.trace_id):
        st.switch_page("pages/trace.py", query_params={"trace": record.trace_id or "", "tenant": tenant_name})


st.title("Overview")
st.caption(f"Products of {state.tenant_label()}, each lifecycle stage's status, and the factory's figures.")
with state.guard("Reading the factory's figures"):
    figures()
with state.guard("Reading the products"):
    products_table()
