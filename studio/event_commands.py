"""The commands of the event feed and of the tenants' webhook endpoints (the work is in infra.webhooks)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from infra import webhooks
from infra.access import Resource
from infra.events import EVENT_TYPE_PREFIX, EVENT_TYPES, cloud_event
from ontology.refs import check_slug
from studio.access_commands import JsonOpt, allowed
from studio.output import console, print_json, print_table

__all__ = ["events_app", "webhooks_app"]

events_app = typer.Typer(help="Lifecycle events (CloudEvents) of a tenant, from the outbox.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook endpoints that receive a tenant's events, signed.", no_args_is_help=True)

TenantReq = Annotated[str, typer.Option("--tenant", "-t", help="The tenant.")]
EndpointArg = Annotated[int, typer.Argument(help="The endpoint's id (see `factory webhooks list`).")]


@events_app.command("list")
def events_list(
    tenant: TenantReq,
    after: Annotated[int, typer.Option("--after", min=0, help="Only events with a sequence above this.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """The tenant's events in order: sequence, time, type, product, trace id (--json: the CloudEvents)."""
    who = allowed("read", Resource.scope(tenant))
    rows = webhooks.list_events(who.control, tenant, after, limit)
    if as_json:
        print_json([json.loads(json.dumps(cloud_event(r).get_attributes() | {"data": r.data}, default=str))
                    for r in rows])  # fmt: skip
        return
    table = [[r.id, f"{r.time:%Y-%m-%d %H:%M:%S}", r.type.removeprefix(EVENT_TYPE_PREFIX), r.product, r.trace_id,
              json.dumps(r.data)[:80]] for r in rows]  # fmt: skip
    print_table(["seq", "time", "type", "product", "trace", "data"], table)


@events_app.command("types")
def events_types() -> None:
    """The event types and what each tells."""
    print_table(["type", "when"], [[EVENT_TYPE_PREFIX + k, v] for k, v in EVENT_TYPES.items()])


@events_app.command("deliver")
def events_deliver() -> None:
    """One delivery pass now: publish to NATS (FACTORY_NATS_URL) and send due webhook deliveries."""
    from infra.event_transports import EventDispatcher, nats_from_env

    who = allowed("webhooks", Resource.scope(None))
    with EventDispatcher(who.control, nats=nats_from_env()) as dispatcher:
        report = dispatcher.run_once()
    console.print(f"published {report.published}, delivered {report.delivered}, retrying {report.retrying}, "
                  f"dead {report.dead}", highlight=False)  # fmt: skip
    for line in report.errors:
        console.print(f"  {line}", highlight=False)


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="http(s) URL that receives the events (POST).")],
    tenant: TenantReq,
    event_type: Annotated[
        list[str] | None, typer.Option("--type", help="An event type it wants (repeat); none: all.")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="What it is for.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Register an endpoint; its signing secret is printed once: keep it, it is not shown again."""
    who = allowed("webhooks", Resource.scope(tenant))
    view, secret = webhooks.add_webhook(who.control, tenant, url, event_type or [], actor=who.name,
                                        description=description)  # fmt: skip
    if as_json:
        print_json({**view.as_dict(), "secret": secret})
        return
    console.print(f"endpoint {view.id} of {view.tenant}: {view.url}", highlight=False)
    console.print(f"secret (shown once): {secret}", highlight=False, soft_wrap=True)


@webhooks_app.command("list")
def webhooks_list(tenant: TenantReq, as_json: JsonOpt = False) -> None:
    """The tenant's endpoints: id, URL, types, enabled (never the secret)."""
    who = allowed("webhooks", Resource.scope(tenant))
    views = webhooks.list_webhooks(who.control, tenant)
    if as_json:
        print_json([v.as_dict() for v in views])
        return
    rows = [[v.id, v.url, ", ".join(t.removeprefix(EVENT_TYPE_PREFIX) for t in v.event_types) or "all",
             "yes" if v.enabled else f"no: {v.disabled_reason}", v.description] for v in views]  # fmt: skip
    print_table(["id", "url", "types", "enabled", "description"], rows)


@webhooks_app.command("remove")
def webhooks_remove(endpoint: EndpointArg, tenant: TenantReq) -> None:
    """Delete an endpoint with its deliveries and attempts."""
    who = allowed("webhooks", Resource.scope(tenant))
    view = webhooks.remove_webhook(who.control, tenant, endpoint, actor=who.name)
    console.print(f"endpoint {view.id} removed ({view.url})", highlight=False)


@webhooks_app.command("rotate")
def webhooks_rotate(
    endpoint: EndpointArg,
    tenant: TenantReq,
    overlap_hours: Annotated[float, typer.Option("--overlap-hours", min=0, max=720, help="Both sign this long.")] = 24,
) -> None:
    """Give an endpoint a new secret (printed once); the old one still signs too for the overlap."""
    from datetime import timedelta

    who = allowed("webhooks", Resource.scope(tenant))
    view, secret = webhooks.rotate_secret(who.control, tenant, endpoint, actor=who.name,
                                          overlap=timedelta(hours=overlap_hours))  # fmt: skip
    console.print(f"endpoint {view.id}: new secret (shown once): {secret}", highlight=False, soft_wrap=True)


@webhooks_app.command("enable")
def webhooks_enable(endpoint: EndpointArg, tenant: TenantReq) -> None:
    """Enable an endpoint again after a 410 Gone disabled it."""
    who = allowed("webhooks", Resource.scope(tenant))
    view = webhooks.enable_webhook(who.control, tenant, endpoint, actor=who.name)
    console.print(f"endpoint {view.id} enabled", highlight=False)


@webhooks_app.command("attempts")
def webhooks_attempts(
    endpoint: EndpointArg,
    tenant: TenantReq,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="The newest this many.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The endpoint's delivery attempts, newest first: event, time, HTTP status or error, duration."""
    who = allowed("webhooks", Resource.scope(tenant))
    attempts = webhooks.webhook_attempts(who.control, tenant, endpoint, limit)
    rows = [{"id": a.id, "delivery": a.delivery_id, "event": a.event_seq, "at": a.at, "status": a.status_code,
             "error": a.error, "ms": a.duration_ms} for a in attempts]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    print_table(["id", "delivery", "event", "at", "status", "error", "ms"], [list(r.values()) for r in rows])


@webhooks_app.command("dead")
def webhooks_dead(
    tenant: TenantReq,
    endpoint: Annotated[int | None, typer.Option("--endpoint", help="Only this endpoint's.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Dead letters: deliveries whose last scheduled attempt failed (replay them with `webhooks replay`)."""
    who = allowed("webhooks", Resource.scope(tenant))
    dead = webhooks.dead_letters(who.control, tenant, endpoint)
    rows = [{"delivery": d.id, "endpoint": d.endpoint_id, "event": d.event_seq, "attempts": d.attempts,
             "last_status": d.last_status, "last_error": d.last_error} for d in dead]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    print_table(["delivery", "endpoint", "event", "attempts", "status", "error"], [list(r.values()) for r in rows])


@webhooks_app.command("replay")
def webhooks_replay(
    tenant: TenantReq,
    delivery: Annotated[list[int] | None, typer.Option("--delivery", help="A dead delivery's id (repeat).")] = None,
    endpoint: Annotated[int | None, typer.Option("--endpoint", help="All dead letters of this endpoint.")] = None,
) -> None:
    """Send dead letters again, from the start of the retry schedule."""
    check_slug(tenant, "tenant")
    who = allowed("webhooks", Resource.scope(tenant))
    replayed = webhooks.replay(who.control, tenant, actor=who.name, delivery_ids=delivery or [], endpoint_id=endpoint)
    console.print(f"{len(replayed)} deliveries set to go out again", highlight=False)
