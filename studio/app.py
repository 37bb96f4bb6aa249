"""Factory Studio: where people direct and govern the factory (`streamlit run studio/app.py`, or `factory up`).

One multipage app: the sidebar picks the tenant whose products and knowledge every page shows.
The pages call the same core as the command line and hold no logic of their own.
"""

from __future__ import annotations

import streamlit as st

from infra.accounts import Accounts
from infra.sessions import issue_session
from ontology.refs import check_slug
from studio import state, views

st.set_page_config(page_title="Software Factory Studio", page_icon=":material/factory:", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/new_product.py", title="New product", icon=":material/add_circle:", url_path="new"),
    st.Page("pages/product.py", title="Product", icon=":material/deployed_code:", url_path="product"),
    st.Page("pages/trace.py", title="Trace", icon=":material/timeline:", url_path="trace"),
    st.Page("pages/knowledge.py", title="Knowledge", icon=":material/hub:", url_path="knowledge"),
    st.Page("pages/governance.py", title="Governance", icon=":material/gavel:", url_path="governance"),
    st.Page("pages/webhooks.py", title="Webhooks", icon=":material/webhook:", url_path="webhooks"),
    st.Page("pages/templates.py", title="Templates", icon=":material/stacks:", url_path="templates"),
    st.Page("pages/insights.py", title="Insights", icon=":material/insights:", url_path="insights"),
    st.Page("pages/marketplace.py", title="Marketplace", icon=":material/storefront:", url_path="marketplace"),
]


def _keep_tenant() -> None:
    st.session_state["tenant"] = st.session_state["_tenant_widget"]


def _providers() -> list[str | None]:
    """The identity providers of the `[auth]` section: its named `[auth.NAME]` tables, or the one it describes."""
    auth = st.secrets["auth"]
    named = [str(k) for k, v in auth.items() if hasattr(v, "keys")]
    return [*named] or [None]  # st.login(None) uses the [auth] section itself


def sign_in() -> None:
    """The one page of a Studio nobody has signed in to: an identity provider's button where one is configured,
    and the local accounts' form where the home has accounts."""
    st.title("Sign in")
    problem = st.session_state.pop("_session_problem", None)
    if problem:
        st.warning(problem)
    if state.oidc_enabled():
        for provider in _providers():
            label = f"Sign in with {provider}" if provider else "Sign in with your identity provider"
            if st.button(label, key=f"oidc_{provider or 'default'}", type="primary"):
                st.login(provider)
        if not Accounts(state.control()).any():
            return
    with st.form("sign_in"):
        name = st.text_input("Account", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        with state.guard("Signing in"):
            user = Accounts(state.control()).sign_in(check_slug(name.strip(), "account name"), password)
            st.session_state[state.SESSION] = issue_session(state.home(), user.name)
    if st.session_state.get(state.SESSION):
        st.rerun()


def sign_out() -> None:
    """End the session's sign-in (and the identity provider's cookie, for a person it signed in)."""
    st.session_state.pop(state.SESSION, None)
    st.session_state.pop("tenant", None)
    st.session_state.pop("_oidc_seen", None)
    if state.oidc_enabled() and st.user.is_logged_in:
        st.logout()


def tenant_selector() -> None:
    """The sidebar's tenant selector: a tenant's view shows only its products and knowledge; a member
    sees only its own tenants, a factory admin every tenant."""
    who = state.principal()
    assert who is not None
    known: list[str] = []
    with state.guard("Reading the tenants"):
        known = views.tenants(state.control()) if who.factory_admin else who.tenants()
    wanted = st.session_state.pop("_next_tenant", None)
    from_url = st.query_params.get("tenant")
    if from_url and from_url != st.session_state.get("_url_tenant"):
        st.session_state["_url_tenant"] = from_url
        with state.guard("The tenant in the address"):
            wanted = check_slug(from_url, "tenant")
    if wanted and wanted not in known:
        if who.factory_admin:
            known = sorted({*known, wanted})
        else:
            st.sidebar.warning(f"You are not a member of tenant {wanted}.")
            wanted = None
    options = [*known, state.ADMIN] if who.factory_admin else known
    if not options:
        st.sidebar.warning("Your account has no role in any tenant yet: ask an admin.")
        st.session_state["tenant"] = None
        return
    if wanted:
        st.session_state["tenant"] = wanted
    elif st.session_state.get("tenant") not in options:
        st.session_state["tenant"] = options[0]
    # The widget's own key is dropped when the page changes; "tenant" keeps the choice across pages.
    st.session_state["_tenant_widget"] = st.session_state["tenant"]
    chosen = st.sidebar.selectbox(
        "Tenant", options, key="_tenant_widget", on_change=_keep_tenant, help="Every page shows only its products."
    )
    st.session_state["tenant"] = chosen
    if chosen != state.ADMIN:
        st.query_params["tenant"] = st.session_state["_url_tenant"] = chosen
    elif "tenant" in st.query_params:
        del st.query_params["tenant"]
    st.sidebar.caption(f"Factory home `{state.home()}`")
    if who.local:
        st.sidebar.caption(f"Local admin ({who.name}): this home has no accounts.")
    else:
        st.sidebar.caption(f"Signed in as **{who.name}**")
        st.sidebar.button("Sign out", key="sign_out", on_click=sign_out)


if state.principal() is None:
    sign_in()
    st.stop()
navigation = st.navigation(PAGES)
tenant_selector()
navigation.run()
