"""What every Studio page shares: the factory home, cached stores, the selected tenant and error display.

Only Streamlit glue lives here; the figures and diagrams the pages show come from `studio.views`
and `studio.diagrams`, and everything else from the core packages.
"""

from __future__ import annotations

import getpass
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from generators.pipeline import Planner
from graph import KnowledgeGraph
from graph.embeddings import SentenceEmbedder
from infra.access import AccessDenied, Principal, Resource, authorize
from infra.accounts import Accounts, local_admin
from infra.control import ControlPlane
from infra.oidc import principal_from_claims, role_map
from infra.sessions import session_account, session_hours
from ontology.config import factory_home
from ontology.errors import FactoryError

__all__ = [
    "ADMIN",
    "SESSION",
    "actor",
    "allow",
    "control",
    "dagster_url",
    "guard",
    "home",
    "knowledge_graph",
    "oidc_enabled",
    "planner",
    "principal",
    "request_tenant",
    "tenant",
    "tenant_label",
]

ADMIN = "(all tenants — factory admin)"
"""The tenant-selector choice that shows every tenant (queries run with tenant=None)."""

_log = logging.getLogger("studio")


def home() -> Path:
    """The factory home the Studio reads ($FACTORY_HOME, or ./.factory)."""
    return factory_home()


@st.cache_resource(show_spinner=False)
def _control(root: str) -> ControlPlane:
    return ControlPlane(None, Path(root))


def control() -> ControlPlane:
    """The control database of this home, one per process."""
    return _control(str(home()))


@st.cache_resource(show_spinner=False)
def _embedder() -> SentenceEmbedder:
    return SentenceEmbedder()  # loads its model on first use, once per process


@st.cache_resource(show_spinner=False)
def _knowledge_graph(root: str) -> KnowledgeGraph:
    return KnowledgeGraph(Path(root), embedder=_embedder(), lock_timeout_s=30.0)


def knowledge_graph() -> KnowledgeGraph:
    """The knowledge graph of this home, one per process (the embedding model is shared)."""
    return _knowledge_graph(str(home()))


@st.cache_resource(show_spinner=False)
def _planner(root: str) -> Planner:
    return Planner.from_env(_knowledge_graph(root))


def planner() -> Planner:
    """The agents' planner over this home's knowledge graph (and the LLM named in the environment, if any)."""
    return _planner(str(home()))


SESSION = "session"
"""The session-state key of a password sign-in's signed session value (`infra.sessions`)."""


def oidc_enabled() -> bool:
    """Whether Streamlit's secrets configure an OpenID Connect provider (an `[auth]` section): sign-in by `st.login`."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, StreamlitSecretNotFoundError):
        return False


def _end_session(accounts: Accounts, why: str, who: str = "?") -> None:
    """Forget the session's sign-in, say why on the sign-in page, and put the refusal on the audit chain once."""
    st.session_state.pop(SESSION, None)
    st.session_state.pop("tenant", None)
    st.session_state["_session_problem"] = why
    accounts.control.audit("auth.session", "refused", actor=who, detail=why[:500])


def _oidc_principal(accounts: Accounts) -> Principal | None:
    """The person the identity provider signed in, with the roles their groups give (None: the sign-in is
    too old, or the role map cannot be read; the sign-in page says which)."""
    claims = st.user.to_dict()
    issued = claims.get("iat")
    try:
        who = principal_from_claims(claims, role_map(home()))
        if isinstance(issued, int | float) and time.time() - issued > 3600 * session_hours():
            raise AccessDenied("the sign-in expired: sign in again")
    except FactoryError as problem:
        if st.session_state.get("_oidc_problem") != str(problem):
            st.session_state["_oidc_problem"] = str(problem)
            _end_session(accounts, str(problem), str(claims.get("email") or "?")[:200])
        st.session_state["_session_problem"] = str(problem)
        return None
    if st.session_state.get("_oidc_seen") != who.name:  # a sign-in is audited once, not on every page run
        st.session_state["_oidc_seen"] = who.name
        accounts.control.audit("auth.oidc", "ok", actor=who.name, detail=f"groups {claims.get('groups', [])}"[:500])
    return who


def principal() -> Principal | None:
    """Who uses the Studio: the account of a signed session (checked, and the account read again, on every
    run: a forged, altered or expired session gets nothing, a disabled account is out at once), the person an
    OpenID Connect provider signed in, the local admin of a home without accounts, or None (not signed in)."""
    accounts = Accounts(control())
    value = st.session_state.get(SESSION)
    if value:
        try:
            user = accounts.user(session_account(home(), str(value)))
        except FactoryError as problem:
            _end_session(accounts, str(problem))
        else:
            if not user.disabled:
                return accounts.principal(user)
            _end_session(accounts, f"the account {user.name} is disabled", user.name)
    if oidc_enabled():
        return _oidc_principal(accounts) if st.user.is_logged_in else None
    return None if accounts.any() else local_admin()


def allow(action: str, resource: Resource) -> Principal:
    """Go on if the signed-in principal may do `action` to `resource`; else AccessDenied (audited)."""
    who = principal()
    if who is None:
        raise AccessDenied("sign in first")
    authorize(who, action, resource, home=home(), control=control())
    return who


def tenant() -> str | None:
    """The tenant chosen in the sidebar; None for the factory admin's view of every tenant.

    A principal who is not a factory admin only ever gets one of its own tenants: anything else stops the page.
    """
    chosen = st.session_state.get("tenant")
    chosen = None if chosen in (None, ADMIN) else str(chosen)
    who = principal()
    if who is None or (not who.factory_admin and chosen not in who.tenants()):
        st.error("Choose one of your tenants in the sidebar.", icon=":material/lock:")
        st.stop()
    return chosen


def tenant_label() -> str:
    """The selected tenant as people read it."""
    chosen = tenant()
    return "every tenant" if chosen is None else f"tenant {chosen}"


def request_tenant(name: str) -> None:
    """Select `name` in the sidebar on the next run (a widget's value cannot change once drawn)."""
    st.session_state["_next_tenant"] = name


def actor() -> str:
    """Who acts, as recorded in the audit log: the signed-in account's name (the OS user, for the local admin)."""
    who = principal()
    if who is not None and not who.local:
        return who.name
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"
    return f"{user} (studio)"


def dagster_url() -> str:
    """The Dagster UI's base URL ($FACTORY_DAGSTER_URL, default http://127.0.0.1:3000)."""
    return (os.environ.get("FACTORY_DAGSTER_URL") or "http://127.0.0.1:3000").rstrip("/")


@contextmanager
def guard(what: str) -> Iterator[None]:
    """Show a failure of `what` as a message on the page instead of a traceback."""
    try:
        yield
    except FactoryError as error:
        st.error(f"{what}: {error}", icon=":material/error:")
    except Exception as error:  # the page must stay usable; the details go to the Studio's log
        _log.exception("%s failed", what)
        st.error(f"{what} failed unexpectedly ({type(error).__name__}: {error}). The Studio's log has the details.")
