"""Routes of builds: submit an intent or a blueprint (202, built in the background), follow a build."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from infra.access import AccessDenied, Resource
from infra.control import ControlPlane
from infra.idempotency import fingerprint
from infra.lifecycle import use_cases
from infra.lifecycle.claims import holder_gone, process_claim
from infra.records import IN_PROGRESS, IntentRecord
from ontology.errors import NotFoundError
from ontology.refs import ProductRef
from studio.access_commands import SignedIn
from studio.api_deps import AUTH, BODY, BuildId, Who, api_state
from studio.api_models import Build, BuildSubmission, IdempotencyKey
from studio.api_problems import problem_responses

__all__ = ["router"]

router = APIRouter()
_FINISHED = ("built", "failed")
_POLL_S = 0.5


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


@router.post(
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
        **problem_responses(*BODY, 409),
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
    keys, actor = api_state(request).keys, who.name
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


@router.get(
    "/v1/builds/{build_id}",
    tags=["builds"],
    response_model=Build,
    summary="Where a build stands: its status and each stage's",
    responses=problem_responses(*AUTH, 404),
)
def get_build(build_id: BuildId, who: Who) -> Build:
    return _build(who.control, _visible_intent(who, build_id))


@router.get(
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
        **problem_responses(*AUTH, 404),
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
