"""The factory's HTTP API (`factory api`): submit, follow, list, trace, query, search, approve, promote, stop.

A surface like the command line and the Studio, and as thin: each request names its principal with a
bearer token (an API token of an account, resolved by `Accounts.signed_in` as the command line resolves
FACTORY_TOKEN), every action goes through the same `authorize`, and every change through the lifecycle's
use cases. A build runs in the background as the Studio's do (`factory build --claim` in a process of its
own); the API answers 202 at once and the build is followed by polling or by Server-Sent Events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request, Response, Security
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from infra.access import AccessDenied, Resource, approvals_of, revision_authors
from infra.accounts import Accounts
from infra.control import ControlPlane
from infra.idempotency import IdempotencyKeys, fingerprint
from infra.lifecycle import use_cases
from infra.lifecycle.claims import holder_gone, process_claim
from infra.records import IN_PROGRESS, DeploymentRecord, IntentRecord
from ontology.config import factory_home
from ontology.errors import NotFoundError, QueryTimeoutError
from ontology.refs import ProductRef
from studio.access_commands import SignedIn
from studio.api_models import (
    SLUG_REGEX,
    TRACE_REGEX,
    ApprovalAnswer,
    ApprovalRequest,
    Build,
    BuildSubmission,
    Cursor,
    Deployment,
    Env,
    Health,
    IdempotencyKey,
    Limit,
    Match,
    Page,
    Product,
    PromoteRequest,
    QueryAnswer,
    QueryRequest,
    Release,
    Revision,
    StopRequest,
    TraceStepOut,
)
from studio.api_problems import ApiProblem, install_problem_handlers, problem_responses, rewrite_error_responses

if TYPE_CHECKING:
    from graph import KnowledgeGraph

__all__ = ["create_app"]

T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="An API token of an account: `factory tokens create NAME`.")
_FINISHED = ("built", "failed")
_POLL_S = 0.5


@dataclass
class _State:
    """What every request of one API process shares: the home, its control database and knowledge graph."""

    home: Path
    control: ControlPlane
    keys: IdempotencyKeys
    _kg: KnowledgeGraph | None = None
    _kg_lock: Lock = field(default_factory=Lock)

    def kg(self) -> KnowledgeGraph:
        with self._kg_lock:
            if self._kg is None:
                from graph import KnowledgeGraph  # the engines and the embedder load on the first query

                self._kg = KnowledgeGraph(self.home, lock_timeout_s=30.0)
            return self._kg


def _state(request: Request) -> _State:
    state: _State = request.app.state.factory
    return state


def signed_in(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> SignedIn:
    """The principal of the request's bearer token; no token, or one that is not valid, is a 401."""
    state = _state(request)
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


def _page(items: Sequence[T], limit: int, cursor: str | None) -> Page[T]:
    start = int(cursor or 0)
    end = start + limit
    return Page[T](items=list(items[start:end]), next_cursor=str(end) if end < len(items) else None)


def _build(control: ControlPlane, record: IntentRecord) -> Build:
    """Where the build of an intent revision stands; a build whose process is gone counts as failed."""
    assert record.id is not None
    status, detail = record.status, record.detail
    if status in IN_PROGRESS and holder_gone(record):
        status, detail = "failed", "the build's process stopped before it finished: submit it again"
    product = control.product(record.tenant, record.product)
    latest = control.latest_intent(record.tenant, record.product)
    current = product is not None and latest is not None and latest.id == record.id
    shown = current and status in ("building", *_FINISHED)
    return Build(
        build_id=record.id, tenant=record.tenant, product=record.product, revision=record.revision,
        status=status, finished=status in _FINISHED, trace_id=record.trace_id, run_id=record.run_id, detail=detail,
        stages=product.stage_map() if shown and product else {},
        durations=product.duration_map() if shown and product else {},
        submitted_at=record.submitted_at, updated_at=record.updated_at,
    )  # fmt: skip


def _visible_intent(who: SignedIn, build_id: int) -> IntentRecord:
    """The intent revision `build_id`, if the principal may read its tenant; another tenant's is not found."""
    missing = NotFoundError(f"no build with id {build_id}")
    try:
        record = who.control.intent(build_id)
        who.allow("read", Resource.scope(record.tenant))
    except (NotFoundError, AccessDenied):
        raise missing from None
    return record


def _readable(who: SignedIn, tenant: str | None) -> None:
    """Go on if the principal may read `tenant` (None: every tenant, for a factory admin)."""
    who.allow("read", Resource.scope(tenant))


def _product_of(who: SignedIn, ref: ProductRef) -> None:
    if who.control.product(ref.tenant, ref.product) is None:
        raise NotFoundError(f"no product {ref}")


def _deployment(d: DeploymentRecord) -> Deployment:
    return Deployment.model_validate(d, from_attributes=True)


_SSE_EVENT = {
    "type": "object",
    "description": "One event (before OpenAPI 3.2 the schema of a stream describes each event).",
    "required": ["event", "data"],
    "properties": {
        "id": {"type": "string", "description": "The event's number in this stream."},
        "event": {"type": "string", "enum": ["progress", "done", "timeout"]},
        "data": {"type": "string", "contentMediaType": "application/json", "description": "The build, as JSON."},
    },
}
_AUTH = (401, 403, 422)
_BODY = (400, *_AUTH)
"""A route with a JSON body: a body that does not parse is a 400."""


def _routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["meta"], response_model=Health, summary="Whether the API answers (no token needed)")
    def health() -> Health:
        return Health(status="ok")

    @app.post(
        "/v1/builds",
        tags=["builds"],
        status_code=202,
        response_model=Build,
        summary="Submit an intent or a blueprint and build it in the background",
        responses={
            202: {
                "description": "Submitted; the build runs (a replay of an Idempotency-Key answers the same)",
                "headers": {"Location": {"description": "The build's path.", "schema": {"type": "string"}}},
                "links": {
                    "GetBuild": {"operationId": "get_build", "parameters": {"build_id": "$response.body#/build_id"}},
                    "FollowBuild": {
                        "operationId": "follow_build",
                        "parameters": {"build_id": "$response.body#/build_id"},
                    },
                },
            },
            **problem_responses(*_BODY, 409),
        },
    )
    def submit(
        body: BuildSubmission,
        who: Who,
        request: Request,
        response: Response,
        idempotency_key: Annotated[
            IdempotencyKey | None,
            Header(alias="Idempotency-Key", description="The same key again (same body) submits and builds once."),
        ] = None,
    ) -> Build:
        from studio.jobs import DetachedBuildRunner

        ref = ProductRef(body.tenant, body.product)
        who.allow("build", Resource.of(ref))
        blueprint = body.blueprint.strip() or None
        if blueprint is not None:
            use_cases.check_blueprint(ref, blueprint)
        keys, actor = _state(request).keys, who.name
        if idempotency_key is not None:
            replay = keys.begin(actor, idempotency_key, fingerprint(body.model_dump(mode="json")))
            if replay is not None:
                response.headers["Location"] = f"/v1/builds/{replay['build_id']}"
                response.headers["Idempotent-Replayed"] = "true"
                return Build.model_validate(replay)
        try:
            started = use_cases.submit_and_build(
                who.control, DetachedBuildRunner(who.home), ref, body.intent.strip(), blueprint_yaml=blueprint,
                actor=actor, claim=process_claim("api"),
            )  # fmt: skip
        except BaseException:
            if idempotency_key is not None:
                keys.forget(actor, idempotency_key)
            raise
        build = _build(who.control, who.control.intent(started.claim.intent_id))
        if idempotency_key is not None:
            keys.finish(actor, idempotency_key, build.model_dump(mode="json"))
        response.headers["Location"] = f"/v1/builds/{build.build_id}"
        return build

    @app.get(
        "/v1/builds/{build_id}",
        tags=["builds"],
        response_model=Build,
        summary="Where a build stands: its status and each stage's",
        responses=problem_responses(*_AUTH, 404),
    )
    def get_build(build_id: BuildId, who: Who) -> Build:
        return _build(who.control, _visible_intent(who, build_id))

    @app.get(
        "/v1/builds/{build_id}/events",
        tags=["builds"],
        summary="Follow a build live (Server-Sent Events)",
        description=(
            "A `progress` event (data: the build, as `GET /v1/builds/{id}` answers) whenever it changes, then "
            "`done` when it finished; `timeout` after `wait` seconds without it finishing."
        ),
        response_class=StreamingResponse,
        responses={
            200: {"description": "The event stream", "content": {"text/event-stream": {"schema": _SSE_EVENT}}},
            **problem_responses(*_AUTH, 404),
        },
    )
    async def follow_build(
        build_id: BuildId,
        who: Who,
        wait: Annotated[int, Query(ge=1, le=3600, description="Seconds to follow at most.")] = 600,
    ) -> StreamingResponse:
        record = await run_in_threadpool(_visible_intent, who, build_id)

        async def events() -> AsyncIterator[str]:
            last, sent, deadline = "", 0, time.monotonic() + wait
            current = record
            while True:
                build = await run_in_threadpool(_build, who.control, current)
                data = build.model_dump_json()
                if data != last:
                    sent += 1
                    yield f"id: {sent}\nevent: {'done' if build.finished else 'progress'}\ndata: {data}\n\n"
                    last = data
                if build.finished:
                    return
                if time.monotonic() > deadline:
                    yield f"event: timeout\ndata: {data}\n\n"
                    return
                await asyncio.sleep(_POLL_S)
                current = await run_in_threadpool(who.control.intent, build_id)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    @app.get(
        "/v1/products",
        tags=["products"],
        response_model=Page[Product],
        summary="Products with their revision, status, trace id and service URL",
        responses=problem_responses(*_AUTH),
    )
    def list_products(
        who: Who, tenant: TenantFilter = None, limit: Limit = 20, cursor: PageCursor = None
    ) -> Page[Product]:
        tenants = who.tenants(tenant)
        rows = [
            Product.model_validate(r, from_attributes=True)
            for r in who.control.products(tenant)
            if tenants is None or r.tenant in tenants
        ]
        return _page(rows, limit, cursor)

    @app.get(
        "/v1/products/{tenant}/{product}/revisions",
        tags=["products"],
        response_model=Page[Revision],
        summary="The product's intent revisions, newest first (each one's build id)",
        responses=problem_responses(*_AUTH, 404),
    )
    def list_revisions(
        tenant: Tenant, product: ProductSlug, who: Who, limit: Limit = 20, cursor: PageCursor = None
    ) -> Page[Revision]:
        _readable(who, tenant)
        _product_of(who, ProductRef(tenant, product))
        rows = [
            Revision.model_validate({**i.model_dump(), "build_id": i.id, "has_blueprint": i.blueprint_yaml is not None})
            for i in who.control.intents(tenant)
            if i.product == product
        ]
        return _page(rows, limit, cursor)

    @app.get(
        "/v1/products/{tenant}/{product}/releases",
        tags=["products"],
        response_model=Page[Release],
        summary="The releases that took an environment's traffic, newest first",
        responses=problem_responses(*_AUTH, 404),
    )
    def list_releases(
        tenant: Tenant,
        product: ProductSlug,
        who: Who,
        env: Env = Env.dev,
        limit: Limit = 20,
        cursor: PageCursor = None,
    ) -> Page[Release]:
        _readable(who, tenant)
        _product_of(who, ProductRef(tenant, product))
        releases = who.control.releases(tenant, product, env.value)
        rows = [Release.model_validate(r, from_attributes=True) for r in releases]
        return _page(rows, limit, cursor)

    @app.get(
        "/v1/deployments",
        tags=["products"],
        response_model=Page[Deployment],
        summary="Where products run: URL, revision, commit and status per environment",
        responses=problem_responses(*_AUTH),
    )
    def list_deployments(
        who: Who, tenant: TenantFilter = None, limit: Limit = 20, cursor: PageCursor = None
    ) -> Page[Deployment]:
        tenants = who.tenants(tenant)
        rows = [_deployment(d) for d in who.control.deployments(tenant) if tenants is None or d.tenant in tenants]
        return _page(rows, limit, cursor)

    @app.get(
        "/v1/traces/{trace_id}",
        tags=["knowledge"],
        response_model=list[TraceStepOut],
        summary="One build's chain, intent to deployment, from the knowledge graph",
        responses=problem_responses(*_AUTH, 404, 503),
    )
    def get_trace(
        trace_id: TraceId,
        who: Who,
        request: Request,
        tenant: AdminTenant = None,
    ) -> list[TraceStepOut]:
        _readable(who, tenant)
        steps = _state(request).kg().trace(trace_id, tenant)
        if not steps:
            raise NotFoundError(f"no facts carry trace id {trace_id}")
        return [TraceStepOut(**s.as_dict()) for s in steps]

    async def _query(request: Request, who: SignedIn, body: QueryRequest, language: str) -> QueryAnswer:
        _readable(who, body.tenant)
        kg = _state(request).kg()
        if language == "sparql":
            from rdflib import URIRef

            bound: dict[str, Any] = {
                k: URIRef(v[1:-1]) if v.startswith("<") and v.endswith(">") else v for k, v in body.params.items()
            }

            def run() -> Any:
                return kg.sparql(body.query, body.tenant, bound, max_rows=body.limit, timeout_s=body.timeout)
        else:

            def run() -> Any:
                return kg.cypher(body.query, body.tenant, body.params, max_rows=body.limit, timeout_s=body.timeout)

        try:  # Oxigraph cannot stop a query that computes long before its first row: the answer does not wait
            result = await asyncio.wait_for(run_in_threadpool(run), body.timeout + 2)
        except TimeoutError:
            raise QueryTimeoutError(f"the query ran longer than {body.timeout:g} s and was stopped") from None
        return QueryAnswer(columns=result.columns, rows=result.rows, boolean=result.boolean, truncated=result.truncated)

    query_responses = problem_responses(*_BODY, 404, 503)

    @app.post(
        "/v1/query/sparql",
        tags=["knowledge"],
        response_model=QueryAnswer,
        summary="A read-only SPARQL query over a tenant's graphs (bounded in rows and time)",
        responses=query_responses,
    )
    async def query_sparql(body: QueryRequest, who: Who, request: Request) -> QueryAnswer:
        return await _query(request, who, body, "sparql")

    @app.post(
        "/v1/query/cypher",
        tags=["knowledge"],
        response_model=QueryAnswer,
        summary="A read-only Cypher query over a tenant's property graph (bounded in rows and time)",
        responses=query_responses,
    )
    async def query_cypher(body: QueryRequest, who: Who, request: Request) -> QueryAnswer:
        return await _query(request, who, body, "cypher")

    @app.get(
        "/v1/search",
        tags=["knowledge"],
        response_model=list[Match],
        summary="Past products and intents nearest in meaning to a text",
        responses=problem_responses(*_AUTH, 404, 503),
    )
    def search(
        who: Who,
        request: Request,
        text: Annotated[str, Query(min_length=1, max_length=10_000, pattern=r"\S", description="What to look for.")],
        tenant: AdminTenant = None,
        k: Annotated[int, Query(ge=1, le=100, description="How many results.")] = 5,
    ) -> list[Match]:
        _readable(who, tenant)
        return [Match(**m.__dict__) for m in _state(request).kg().similar(text, k, tenant)]

    def _decide(tenant: str, product: str, body: ApprovalRequest, who: SignedIn, approved: bool) -> ApprovalAnswer:
        ref = ProductRef(tenant, product)
        authors = revision_authors(who.control, who.home, ref, body.env.value)
        who.allow("approve" if approved else "reject", Resource.of(ref, env=body.env.value, authors=authors))
        _product_of(who, ref)
        record = use_cases.approve(
            who.control, who.home, ref, body.env.value, approved=approved, reason=body.reason, actor=who.name
        )
        return ApprovalAnswer.model_validate(record, from_attributes=True)

    decision_responses = problem_responses(*_BODY, 404, 409)

    @app.post(
        "/v1/products/{tenant}/{product}/approve",
        tags=["governance"],
        response_model=ApprovalAnswer,
        summary="Approve promoting the product's next commit to an environment",
        responses=decision_responses,
    )
    def approve(tenant: Tenant, product: ProductSlug, body: ApprovalRequest, who: Who) -> ApprovalAnswer:
        return _decide(tenant, product, body, who, approved=True)

    @app.post(
        "/v1/products/{tenant}/{product}/reject",
        tags=["governance"],
        response_model=ApprovalAnswer,
        summary="Reject promoting the product's next commit to an environment",
        responses=decision_responses,
    )
    def reject(tenant: Tenant, product: ProductSlug, body: ApprovalRequest, who: Who) -> ApprovalAnswer:
        return _decide(tenant, product, body, who, approved=False)

    @app.post(
        "/v1/products/{tenant}/{product}/promote",
        tags=["governance"],
        response_model=Deployment,
        summary="Promote the release to staging (from dev) or prod (from staging; needs an approval)",
        responses=problem_responses(*_BODY, 404, 409, 502),
    )
    def promote(tenant: Tenant, product: ProductSlug, body: PromoteRequest, who: Who) -> Deployment:
        ref, env = ProductRef(tenant, product), body.env.value
        who.allow("promote", Resource.of(ref, env=env, approvals=approvals_of(who.control, who.home, ref, env)))
        _product_of(who, ref)
        return _deployment(use_cases.promote(who.control, who.home, ref, env, actor=who.name))

    @app.post(
        "/v1/products/{tenant}/{product}/stop",
        tags=["governance"],
        response_model=Deployment,
        summary="Stop the product's running service in an environment",
        responses=problem_responses(*_BODY, 404, 409),
    )
    def stop(tenant: Tenant, product: ProductSlug, body: StopRequest, who: Who) -> Deployment:
        ref = ProductRef(tenant, product)
        who.allow("stop", Resource.of(ref))
        _product_of(who, ref)
        found = who.control.deployment(tenant, product, body.env.value)
        if found is None or found.status != "running":
            raise ApiProblem(409, "not-running", f"{ref} has no running deployment in {body.env.value}")
        return _deployment(use_cases.stop(who.control, ref, env=body.env.value, actor=who.name)[0])

    # The events feed (GET /v1/events?after=...) and the webhook endpoints mount here, as routers of their
    # own over the outbox core, with the same `Who` dependency and problem responses.


def create_app(home: Path | None = None, control: ControlPlane | None = None) -> FastAPI:
    """The API over a factory home (default: $FACTORY_HOME) and its control database."""
    root = home or factory_home()
    root.mkdir(parents=True, exist_ok=True)
    plane = control or ControlPlane(None, root)
    app = FastAPI(
        generate_unique_id_function=lambda route: route.name,  # operation ids: the functions' names
        title="Software Factory API",
        version="1",
        description=(
            "Submit intents and blueprints, follow builds, list products, deployments and releases, trace, "
            "query and search the knowledge graph, approve, promote and stop. Every path but /healthz needs "
            "`Authorization: Bearer <token>` (an API token of an account); errors are RFC 9457 problem details."
        ),
    )
    app.state.factory = _State(root, plane, IdempotencyKeys(plane))
    install_problem_handlers(app)
    _routes(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = rewrite_error_responses(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
