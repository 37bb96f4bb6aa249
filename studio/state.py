"""What every Studio page shares: the factory home, cached stores, the selected tenant and error display.

Only Streamlit glue lives here; the figures and diagrams the pages show come from `studio.views`
and `studio.diagrams`, and everything else from the core packages.
"""

from __future__ import annotations

import getpass
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from generators.pipeline import Planner
from graph import KnowledgeGraph
from graph.embeddings import SentenceEmbedder
from infra.access import AccessDenied, Principal, Resource, authorize
from infra.accounts import Accounts, local_admin
from infra.control import ControlPlane
from ontology.config import factory_home
from ontology.errors import FactoryError

__all__ = [
    "ADMIN",
    "actor",
    "allow",
    "control",
    "dagster_url",
    "guard",
    "home",
    "knowledge_graph",
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


def principal() -> Principal | None:
    """Who uses the Studio: the signed-in account (read again on every run, so a disabled one is out at
    once), the local admin of a home without accounts, or None (not signed in)."""
    accounts = Accounts(control())
    name = st.session_state.get("account")
    if name:
        try:
            user = accounts.user(str(name))
        except FactoryError:
            user = None
        if user is not None and not user.disabled:
            return accounts.principal(user)
        st.session_state.pop("account", None)
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
