"""Routes of the event feed and of the tenants' webhook endpoints (the work is in infra.webhooks).

They do what `factory events list` and `factory webhooks …` do (studio/event_commands.py): the feed needs
`read` on the tenant, every webhook route the `webhooks` action on it. An endpoint's id belongs to one
tenant: to a principal who may not read that tenant it is not found. The signing secret is answered once,
when it is made (registration, rotation), and never listed or logged.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam

from infra import webhooks
from infra.access import AccessDenied, Resource
from infra.events import cloud_event
from infra.records import EventRecord
from ontology.errors import NotFoundError
from studio.access_commands import SignedIn
from studio.api_deps import AUTH, BODY, AdminTenant, PageCursor, Who, page, readable
from studio.api_models import (
    SLUG_REGEX,
    Event,
    EventPage,
    Limit,
    Page,
    Webhook,
    WebhookAttemptOut,
    WebhookDeadLetter,
    WebhookReplay,
    WebhookReplayed,
    WebhookRequest,
    WebhookWithSecret,
)
from studio.api_problems import problem_responses

__all__ = ["router"]

router = APIRouter()

MAX_SEQUENCE = 2**62
WebhookId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="The endpoint's id (from its registration).")]
TenantQuery = Annotated[str, Query(pattern=SLUG_REGEX, max_length=63, description="The tenant.")]
After = Annotated[
    int, Query(ge=0, le=MAX_SEQUENCE, description="Only events with a sequence above this (the last one you saw).")
]
OverlapHours = Annotated[
    float, Query(ge=0, le=720, description="Hours the previous secret still signs too (default 24).")
]


def _event(row: EventRecord) -> Event:
    attributes: dict[str, Any] = json.loads(json.dumps(cloud_event(row).get_attributes(), default=str))
    return Event.model_validate({**attributes, "data": dict(row.data or {})})


def _webhook(view: webhooks.WebhookView) -> Webhook:
    return Webhook.model_validate(view.as_dict())


def _managed(who: SignedIn, endpoint_id: int) -> str:
    """The endpoint's tenant once the principal may manage its webhooks; another tenant's endpoint is not found."""
    try:
        tenant = webhooks.webhook_tenant(who.control, endpoint_id)
        who.allow("read", Resource.scope(tenant))
    except (NotFoundError, AccessDenied):
        raise NotFoundError(f"no webhook endpoint {endpoint_id}: list them with GET /v1/webhooks") from None
    who.allow("webhooks", Resource.scope(tenant))
    return tenant


@router.get(
    "/v1/events",
    tags=["events"],
    response_model=EventPage,
    summary="The lifecycle events (CloudEvents) of a tenant after a sequence, oldest first",
    responses=problem_responses(*AUTH),
)
def list_events(who: Who, tenant: AdminTenant = None, after: After = 0, limit: Limit = 100) -> EventPage:
    readable(who, tenant)
    rows = webhooks.list_events(who.control, tenant, after, limit + 1)
    items = [_event(r) for r in rows[:limit]]
    more = len(rows) > limit
    return EventPage(items=items, next_cursor=str(rows[limit - 1].id) if more else None)


@router.post(
    "/v1/webhooks",
    tags=["webhooks"],
    status_code=201,
    response_model=WebhookWithSecret,
    summary="Register a webhook endpoint; its signing secret is answered this once",
    responses=problem_responses(*BODY),
)
def add_webhook(body: WebhookRequest, who: Who, response: Response) -> WebhookWithSecret:
    who.allow("webhooks", Resource.scope(body.tenant))
    view, secret = webhooks.add_webhook(
        who.control, body.tenant, body.url, body.event_types, actor=who.name, description=body.description
    )
    response.headers["Location"] = f"/v1/webhooks/{view.id}"
    return WebhookWithSecret.model_validate({**view.as_dict(), "secret": secret})


@router.get(
    "/v1/webhooks",
    tags=["webhooks"],
    response_model=Page[Webhook],
    summary="The tenant's webhook endpoints, oldest first (never their secrets)",
    responses=problem_responses(*AUTH),
)
def list_webhooks(who: Who, tenant: TenantQuery, limit: Limit = 20, cursor: PageCursor = None) -> Page[Webhook]:
    who.allow("webhooks", Resource.scope(tenant))
    return page([_webhook(v) for v in webhooks.list_webhooks(who.control, tenant)], limit, cursor)


@router.get(
    "/v1/webhooks/dead-letters",
    tags=["webhooks"],
    response_model=Page[WebhookDeadLetter],
    summary="Deliveries whose last scheduled attempt failed, oldest first (replay them)",
    responses=problem_responses(*AUTH, 404),
)
def list_dead_letters(
    who: Who,
    tenant: TenantQuery,
    endpoint: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only this endpoint's.")] = None,
    limit: Limit = 20,
    cursor: PageCursor = None,
) -> Page[WebhookDeadLetter]:
    who.allow("webhooks", Resource.scope(tenant))
    dead = webhooks.dead_letters(who.control, tenant, endpoint)
    return page([WebhookDeadLetter.model_validate(d, from_attributes=True) for d in dead], limit, cursor)


@router.get(
    "/v1/webhooks/{webhook_id:int}",
    tags=["webhooks"],
    response_model=Webhook,
    summary="One webhook endpoint (never its secret)",
    responses=problem_responses(*AUTH, 404),
)
def get_webhook(webhook_id: WebhookId, who: Who) -> Webhook:
    tenant = _managed(who, webhook_id)
    for view in webhooks.list_webhooks(who.control, tenant):
        if view.id == webhook_id:
            return _webhook(view)
    raise NotFoundError(f"no webhook endpoint {webhook_id}: list them with GET /v1/webhooks")  # removed meanwhile


@router.delete(
    "/v1/webhooks/{webhook_id:int}",
    tags=["webhooks"],
    status_code=204,
    response_class=Response,
    summary="Delete the endpoint with its pending deliveries and attempts",
    responses=problem_responses(*AUTH, 404),
)
def remove_webhook(webhook_id: WebhookId, who: Who) -> Response:
    tenant = _managed(who, webhook_id)
    webhooks.remove_webhook(who.control, tenant, webhook_id, actor=who.name)
    return Response(status_code=204)


@router.post(
    "/v1/webhooks/{webhook_id:int}/rotate",
    tags=["webhooks"],
    response_model=WebhookWithSecret,
    summary="Give the endpoint a new secret (answered this once); the previous one signs too for the overlap",
    responses=problem_responses(*AUTH, 404),
)
def rotate_webhook(webhook_id: WebhookId, who: Who, overlap_hours: OverlapHours = 24) -> WebhookWithSecret:
    tenant = _managed(who, webhook_id)
    view, secret = webhooks.rotate_secret(
        who.control, tenant, webhook_id, actor=who.name, overlap=timedelta(hours=overlap_hours)
    )
    return WebhookWithSecret.model_validate({**view.as_dict(), "secret": secret})


@router.post(
    "/v1/webhooks/{webhook_id:int}/enable",
    tags=["webhooks"],
    response_model=Webhook,
    summary="Enable the endpoint again after a 410 Gone disabled it",
    responses=problem_responses(*AUTH, 404),
)
def enable_webhook(webhook_id: WebhookId, who: Who) -> Webhook:
    tenant = _managed(who, webhook_id)
    return _webhook(webhooks.enable_webhook(who.control, tenant, webhook_id, actor=who.name))


@router.get(
    "/v1/webhooks/{webhook_id:int}/attempts",
    tags=["webhooks"],
    response_model=Page[WebhookAttemptOut],
    summary="The endpoint's delivery attempts, newest first: event, time, HTTP status or error, duration",
    responses=problem_responses(*AUTH, 404),
)
def list_attempts(
    webhook_id: WebhookId, who: Who, limit: Limit = 20, cursor: PageCursor = None
) -> Page[WebhookAttemptOut]:
    tenant = _managed(who, webhook_id)
    attempts = webhooks.webhook_attempts(who.control, tenant, webhook_id, int(cursor or 0) + limit + 1)
    return page([WebhookAttemptOut.model_validate(a, from_attributes=True) for a in attempts], limit, cursor)


@router.post(
    "/v1/webhooks/{webhook_id:int}/replay",
    tags=["webhooks"],
    response_model=WebhookReplayed,
    summary="Send the endpoint's dead letters again (the ones named, or all), from the start of the schedule",
    responses=problem_responses(*BODY, 404),
)
def replay_webhook(webhook_id: WebhookId, who: Who, body: WebhookReplay | None = None) -> WebhookReplayed:
    tenant = _managed(who, webhook_id)
    ids = body.delivery_ids if body is not None else []
    replayed = webhooks.replay(who.control, tenant, actor=who.name, delivery_ids=ids, endpoint_id=webhook_id)
    return WebhookReplayed(replayed=replayed)
