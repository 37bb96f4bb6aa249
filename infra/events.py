"""The factory's lifecycle events: CloudEvents written to an outbox in the transaction of their change.

`add_event` is called inside the control database's write session of a state change (see
`infra.control.ControlPlane`), so the event and the change commit together or not at all. The outbox's
row id is the feed's sequence; `infra.event_transports` delivers the rows to NATS JetStream and to
webhooks, at least once, and a consumer de-duplicates by the CloudEvent id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from sqlmodel import Session, col, select

from infra.records import EventRecord, utcnow
from ontology.errors import InvalidInputError
from ontology.refs import check_slug

__all__ = [
    "CONTENT_TYPE",
    "EVENT_TYPES",
    "EVENT_TYPE_PREFIX",
    "add_event",
    "check_event_types",
    "cloud_event",
    "events_after",
    "structured",
]

EVENT_TYPE_PREFIX = "dev.softwarefactory."
EVENT_TYPES: dict[str, str] = {
    "intent.submitted": "an intent (or a new revision of it) was submitted",
    "stage.started": "a build stage started",
    "stage.completed": "a build stage completed",
    "stage.failed": "a build stage failed",
    "check.failed": "a blocking check of a stage found issues (the build stops)",
    "release.made": "a commit took an environment's traffic",
    "deployment.started": "a product's service started in an environment",
    "deployment.stopped": "a product's service was stopped",
    "promotion.requested": "a promotion to an environment that needs an approval was asked for",
    "promotion.approved": "a person approved promoting a commit",
    "promotion.rejected": "a person rejected promoting a commit",
    "slo.breached": "a build measured its service beyond its service level objectives",
    "product.upgraded": "a product's main moved to another version of its template pack (factory upgrade)",
}
"""The lifecycle events (without the prefix) and what each tells."""
CONTENT_TYPE = JSONFormat.CONTENT_TYPE
_FORMAT = JSONFormat()
_PG_LOCK = 0x5F_FAC7_0E7E
"""The PostgreSQL advisory lock that makes outbox ids follow commit order (the feed's cursor relies on it)."""


def add_event(
    session: Session,
    kind: str,
    *,
    tenant: str,
    product: str | None = None,
    trace_id: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> EventRecord:
    """Add one lifecycle event to the outbox in `session` (it commits with the change it describes).

    Call it last in the session: on PostgreSQL it takes a transaction-level lock so that sequences are
    handed out in commit order, and a reader paging with `after` never skips an event committed later.
    """
    if kind not in EVENT_TYPES:
        raise InvalidInputError(f"unknown event type {kind[:60]!r}: use one of {', '.join(EVENT_TYPES)}")
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
    row = EventRecord(
        event_id=str(uuid.uuid4()),
        type=EVENT_TYPE_PREFIX + kind,
        tenant=check_slug(tenant, "tenant"),
        product=product,
        trace_id=trace_id,
        time=utcnow(),
        data=dict(data or {}),
    )
    session.add(row)
    session.flush()
    return row


def cloud_event(row: EventRecord) -> CloudEvent:
    """The CloudEvent of an outbox row: the id consumers de-duplicate by, the tenant, trace id and sequence."""
    attributes: dict[str, Any] = {
        "id": row.event_id,
        "source": f"/tenants/{row.tenant}" + (f"/products/{row.product}" if row.product else ""),
        "type": row.type,
        "specversion": "1.0",
        "time": row.time if row.time.tzinfo is not None else row.time.replace(tzinfo=UTC),
        "datacontenttype": "application/json",
        "tenant": row.tenant,
        "sequence": f"{row.id or 0:020d}",
    }
    if row.product:
        attributes["subject"] = f"{row.tenant}/{row.product}"
    if row.trace_id:
        attributes["traceid"] = row.trace_id
    return CloudEvent(attributes, dict(row.data or {}))


def structured(row: EventRecord) -> bytes:
    """The event in CloudEvents structured JSON mode (`application/cloudevents+json`), the bytes that are sent."""
    return _FORMAT.write(cloud_event(row))


def events_after(session: Session, tenant: str | None, after: int = 0, limit: int = 100) -> list[EventRecord]:
    """The outbox rows with a sequence above `after`, oldest first, of one tenant (None: all)."""
    query = select(EventRecord).where(col(EventRecord.id) > max(0, int(after)))
    if tenant is not None:
        query = query.where(EventRecord.tenant == check_slug(tenant, "tenant"))
    return list(session.exec(query.order_by(col(EventRecord.id)).limit(max(1, min(int(limit), 1000)))).all())


def check_event_types(types: list[str] | tuple[str, ...]) -> list[str]:
    """Event types a webhook asks for, as full CloudEvent types (the prefix may be left out); empty: all."""
    checked = []
    for given in types:
        kind = given.strip().removeprefix(EVENT_TYPE_PREFIX)
        if kind not in EVENT_TYPES:
            raise InvalidInputError(f"unknown event type {given[:60]!r}: use one of {', '.join(EVENT_TYPES)}")
        checked.append(EVENT_TYPE_PREFIX + kind)
    return sorted(set(checked))
