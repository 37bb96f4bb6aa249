"""What the routes of the factory's HTTP API share: its state, who asks (the bearer token), the path and
query parameters with their bounds, and paging."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from threading import Event, Lock
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import Depends, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from infra.access import AccessDenied, Resource
from infra.accounts import Accounts
from infra.control import ControlPlane
from infra.idempotency import IdempotencyKeys
from ontology.errors import NotFoundError
from ontology.refs import ProductRef
from studio.access_commands import SignedIn
from studio.api_models import SLUG_REGEX, TRACE_REGEX, Cursor, Page
from studio.api_problems import ApiProblem

if TYPE_CHECKING:
    from graph import KnowledgeGraph

__all__ = [
    "AUTH",
    "BODY",
    "AdminTenant",
    "ApiState",
    "BuildId",
    "PageCursor",
    "ProductSlug",
    "Tenant",
    "TenantFilter",
    "TraceId",
    "Who",
    "api_state",
    "page",
    "product_known",
    "readable",
    "signed_in",
]

T = TypeVar("T")
_log = logging.getLogger("factory.api")
_bearer = HTTPBearer(auto_error=False, description="An API token of an account: `factory tokens create NAME`.")
AUTH = (401, 403, 422)
"""What every route with a token may answer besides its own: no valid token, not allowed, not valid."""
BODY = (400, *AUTH)
"""A route with a JSON body: a body that does not parse is a 400."""


@dataclass
class ApiState:
    """What every request of one API process shares: the home, its control database and knowledge graph."""

    home: Path
    control: ControlPlane
    keys: IdempotencyKeys
    _kg: KnowledgeGraph | None = None
    _kg_lock: Lock = field(default_factory=Lock)
    warm: Event = field(default_factory=Event)
    """Set once `warm_up` has finished (whether or not the model could be loaded)."""

    def kg(self) -> KnowledgeGraph:
        with self._kg_lock:
            if self._kg is None:
                from graph import KnowledgeGraph  # the engines and the embedder load on the first query

                self._kg = KnowledgeGraph(self.home, lock_timeout_s=30.0)
            return self._kg

    def warm_up(self) -> None:
        """Load the embedding model now (seconds), so that the first search does not wait for it."""
        try:
            embedder = self.kg().embedder
            if embedder is not None:
                embedder(["warm up"])
        except Exception:  # a search will say what is wrong; the API serves on
            _log.warning("the embedding model could not be loaded ahead of the first search", exc_info=True)
        finally:
            self.warm.set()


def api_state(request: Request) -> ApiState:
    """The state of the app that serves the request."""
    state: ApiState = request.app.state.factory
    return state


def signed_in(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> SignedIn:
    """The principal of the request's bearer token; no token, or one that is not valid, is a 401."""
    state = api_state(request)
    if credentials is None or not credentials.credentials.strip():
        raise ApiProblem(
            401,
            "unauthorized",
            "send an API token as `Authorization: Bearer <token>` (create one with `factory tokens create NAME`)",
            {"WWW-Authenticate": "Bearer"},
        )
    try:
        principal = Accounts(state.control).signed_in(credentials.credentials)
    except AccessDenied as exc:
        raise ApiProblem(401, "unauthorized", str(exc), {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    return SignedIn(principal, state.control, state.home)


Who = Annotated[SignedIn, Depends(signed_in)]
Tenant = Annotated[str, PathParam(pattern=SLUG_REGEX, max_length=63, description="The tenant.")]
ProductSlug = Annotated[str, PathParam(pattern=SLUG_REGEX, max_length=63, description="The product's slug.")]
BuildId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="The build's id (from the submission).")]
TraceId = Annotated[str, PathParam(pattern=TRACE_REGEX, description="The build's 32-hex-digit trace id.")]
AdminTenant = Annotated[
    str | None, Query(pattern=SLUG_REGEX, max_length=63, description="The tenant (none: every one, factory admin).")
]
PageCursor = Annotated[Cursor | None, Query()]
TenantFilter = Annotated[
    str | None, Query(pattern=SLUG_REGEX, max_length=63, description="Only this tenant (default: every one you see).")
]


def page(items: Sequence[T], limit: int, cursor: str | None) -> Page[T]:
    """The page of `items` that starts at `cursor`."""
    start = int(cursor or 0)
    end = start + limit
    return Page[T](items=list(items[start:end]), next_cursor=str(end) if end < len(items) else None)


def readable(who: SignedIn, tenant: str | None) -> None:
    """Go on if the principal may read `tenant` (None: every tenant, for a factory admin)."""
    who.allow("read", Resource.scope(tenant))


def product_known(who: SignedIn, ref: ProductRef) -> None:
    """Go on if the factory knows the product; else a 404."""
    if who.control.product(ref.tenant, ref.product) is None:
        raise NotFoundError(f"no product {ref}")
