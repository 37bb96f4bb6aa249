"""Factory Studio: the products the factory built, their stages, traces and running services.

Run with `streamlit run studio/app.py` (or `factory up`). It reads the same control database
and knowledge graph as the command line and holds no logic of its own.
"""

from __future__ import annotations

import streamlit as st

from graph import factory_home
from infra.control import ControlPlane

st.set_page_config(page_title="Software Factory Studio", layout="wide")
st.title("Software Factory Studio")

control = ControlPlane(None, factory_home())
records = control.products(None)
tenants = sorted({r.tenant for r in records})
tenant = st.selectbox("Tenant", tenants) if tenants else None
if tenant is None:
    st.info('No products yet: run `factory build "<intent>" --tenant T` or `factory up`.')
else:
    rows = [
        {
            "product": r.product,
            "revision": r.revision,
            "status": r.status,
            "trace id": r.trace_id,
            "service": r.service_url,
            **{stage: status for stage, status in (r.stage_map() if hasattr(r, "stage_map") else {}).items()},
        }
        for r in control.products(tenant)
    ]
    st.dataframe(rows, use_container_width=True, column_config={"service": st.column_config.LinkColumn("service")})
