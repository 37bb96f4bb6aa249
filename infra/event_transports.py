"""Delivering the outbox: to NATS JetStream when `FACTORY_NATS_URL` is set, and to the tenants' webhooks.

At least once: a row is marked delivered only after the broker acknowledged it (or the endpoint answered
2xx). Rows are leased while a pass works on them, so dispatchers may run side by side, and a dispatcher
that dies between sending and marking leaves its rows to be sent again once the lease ends. JetStream
drops the repeat by its `Nats-Msg-Id` (the CloudEvent id); a webhook receiver de-duplicates by
`webhook-id` (the same CloudEvent id on every attempt).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlmodel import col, select

from infra.control import ControlPlane
from infra.events import CONTENT_TYPE, structured
from infra.records import EventRecord, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from infra.webhooks import public_addresses, signatures
from ontology.errors import FactoryError, InvalidInputError

__all__ = [
    "DEFAULT_SCHEDULE",
    "DispatchReport",
    "EventDispatcher",
    "NatsPublisher",
    "dispatch_events",
    "nats_from_env",
]

DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
"""Seconds to wait before each retry after the first attempt (Standard Webhooks' suggested schedule);
after the last one fails, the delivery is a dead letter."""
MAX_RETRY_AFTER_S = 86_400.0
USER_AGENT = "software-factory-webhooks/1"
_log = logging.getLogger("factory.events")


class DeliveryError(FactoryError):
    """The broker could not be reached or did not acknowledge."""


@dataclass
class DispatchReport:
    """What one pass did."""

    published: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        return not (self.published or self.delivered or self.retrying or self.dead)


# NATS JetStream ------------------------------------------------------------------------------


class NatsPublisher:
    """A JetStream publisher with its own event loop thread, so synchronous callers can use it.

    Events go to `<subject_prefix>.<tenant>.<type>` in `stream` (created if missing, with a duplicate
    window in which JetStream drops a repeated `Nats-Msg-Id`)."""

    def __init__(
        self, url: str, *, stream: str = "FACTORY_EVENTS", subject_prefix: str = "factory.events",
        timeout_s: float = 5.0, duplicate_window_s: float = 600.0,
    ) -> None:  # fmt: skip
        self.url, self.stream, self.subject_prefix, self.timeout_s = url, stream, subject_prefix, timeout_s
        self._window = duplicate_window_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats-publisher", daemon=True)
        self._thread.start()
        self._nc: Any = None
        self._js: Any = None
        try:
            self._call(self._connect())
        except BaseException:
            self.close()
            raise

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self.timeout_s * 4)

    async def _connect(self) -> None:
        import nats
        from nats.js.api import StreamConfig
        from nats.js.errors import NotFoundError

        try:
            self._nc = await nats.connect(self.url, connect_timeout=self.timeout_s, max_reconnect_attempts=2,
                                          allow_reconnect=True)  # fmt: skip
        except Exception as error:
            raise DeliveryError(f"NATS at {self.url} cannot be reached: {error or type(error).__name__}") from None
        self._js = self._nc.jetstream(timeout=self.timeout_s)
        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            config = StreamConfig(name=self.stream, subjects=[f"{self.subject_prefix}.>"],
                                  duplicate_window=self._window)  # fmt: skip
            await self._js.add_stream(config)

    def subject(self, row: EventRecord) -> str:
        return f"{self.subject_prefix}.{row.tenant}.{row.type}"

    def publish(self, rows: Sequence[EventRecord]) -> list[tuple[int, bool]]:
        """Publish rows in order; returns (sequence, duplicate) for each one JetStream acknowledged."""
        return list(self._call(self._publish(rows)))

    async def _publish(self, rows: Sequence[EventRecord]) -> list[tuple[int, bool]]:
        acked: list[tuple[int, bool]] = []
        for row in rows:
            headers = {"Nats-Msg-Id": row.event_id, "Content-Type": CONTENT_TYPE}
            try:
                ack = await self._js.publish(self.subject(row), structured(row), headers=headers)
            except Exception as error:
                _log.warning("NATS publish of event %s failed: %s", row.id, error)
                break  # keep the order: the rest go on the next pass
            acked.append((int(row.id or 0), bool(ack.duplicate)))
        return acked

    def close(self) -> None:
        if self._nc is not None:
            try:
                self._call(self._nc.close())
            except Exception as error:
                _log.debug("closing NATS: %s", error)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def nats_from_env() -> NatsPublisher | None:
    """The publisher `FACTORY_NATS_URL` names (stream `FACTORY_NATS_STREAM`, subjects `FACTORY_NATS_SUBJECT.>`),
    or None without it: the outbox and the feed are then all there is."""
    url = os.environ.get("FACTORY_NATS_URL", "").strip()
    if not url:
        return None
    return NatsPublisher(
        url,
        stream=os.environ.get("FACTORY_NATS_STREAM", "").strip() or "FACTORY_EVENTS",
        subject_prefix=os.environ.get("FACTORY_NATS_SUBJECT", "").strip() or "factory.events",
    )


# the dispatcher ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    """What one attempt of a delivery met."""

    delivery: WebhookDelivery
    endpoint: WebhookEndpoint
    status: int | None
    error: str | None
    retry_after: float | None
    elapsed_ms: float
    at: datetime


class EventDispatcher:
    """Delivers the outbox: one `run_once` is a pass over what is due; `run_forever` repeats it."""

    def __init__(
        self, control: ControlPlane, *, nats: NatsPublisher | None = None, client: httpx.Client | None = None,
        schedule: Sequence[float] = DEFAULT_SCHEDULE, lease_s: float = 60.0, batch: int = 200,
        timeout_s: float = 10.0,
    ) -> None:  # fmt: skip
        self.control, self.nats, self.schedule = control, nats, tuple(float(s) for s in schedule)
        self.lease = timedelta(seconds=lease_s)
        self.batch = batch
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=timeout_s, follow_redirects=False,
                                             headers={"user-agent": USER_AGENT})  # fmt: skip

    def close(self) -> None:
        if self._own_client:
            self.client.close()
        if self.nats is not None:
            self.nats.close()

    def __enter__(self) -> EventDispatcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def run_once(self) -> DispatchReport:
        """Publish pending events to NATS, fan them out to matching endpoints, and send what is due."""
        report = DispatchReport()
        if self.nats is not None:
            try:
                report.published = self._publish()
            except Exception as error:  # the broker is away: webhooks still go out, NATS on a later pass
                report.errors.append(f"NATS: {error or type(error).__name__}")
        self._fan_out()
        due = self._due()
        if due:
            self._settle([self._send(delivery) for delivery in due], report)
        return report

    def run_forever(self, stop: threading.Event, interval_s: float = 0.5) -> None:
        """Pass after pass until `stop` is set; a pass that found work is followed by the next at once."""
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception as error:  # a database hiccup must not end the thread: the next pass retries
                _log.warning("event dispatch failed: %s", error)
                report = DispatchReport()
            if report.idle:
                stop.wait(interval_s)

    # NATS --------------------------------------------------------------------------------------

    def _any(self, query: Any) -> bool:
        """Whether a query finds a row, read without the write lock (an idle pass never takes it)."""
        with self.control._session() as session:
            return session.exec(query.limit(1)).first() is not None

    def _publish(self) -> int:
        assert self.nats is not None
        now = utcnow()
        query = (
            select(EventRecord)
            .where(col(EventRecord.published_at).is_(None))
            .where((col(EventRecord.publish_lease).is_(None)) | (col(EventRecord.publish_lease) < now))
            .order_by(col(EventRecord.id))
            .limit(self.batch)
        )
        if not self._any(query):
            return 0
        with self.control._session(write=True) as session:
            rows = list(session.exec(query.with_for_update(skip_locked=True)).all())
            for row in rows:
                row.publish_lease = now + self.lease
                session.add(row)
        if not rows:
            return 0
        acked = self.nats.publish(rows)
        if acked:
            with self.control._session(write=True) as session:
                stamp = utcnow()
                for seq, _duplicate in acked:
                    found = session.get(EventRecord, seq)
                    if found is not None:
                        found.published_at, found.publish_lease = stamp, None
                        session.add(found)
        return len(acked)

    # webhooks ----------------------------------------------------------------------------------

    def _fan_out(self) -> None:
        """A delivery row for each event not yet fanned out and each enabled endpoint of its tenant that wants it."""
        query = select(EventRecord).where(col(EventRecord.fanned_out_at).is_(None)).order_by(col(EventRecord.id))
        if not self._any(query):
            return
        with self.control._session(write=True) as session:
            rows = list(session.exec(query.limit(self.batch * 5).with_for_update(skip_locked=True)).all())
            if not rows:
                return
            tenants = sorted({r.tenant for r in rows})
            endpoints = session.exec(
                select(WebhookEndpoint)
                .where(col(WebhookEndpoint.tenant).in_(tenants))
                .where(col(WebhookEndpoint.disabled_at).is_(None))
            ).all()
            now = utcnow()
            for row in rows:
                for endpoint in endpoints:
                    if endpoint.tenant == row.tenant and (not endpoint.event_types or row.type in endpoint.event_types):
                        assert endpoint.id is not None and row.id is not None
                        session.add(WebhookDelivery(endpoint_id=endpoint.id, event_seq=row.id, tenant=row.tenant,
                                                    next_attempt_at=now))  # fmt: skip
                row.fanned_out_at = now
                session.add(row)

    def _due(self) -> list[WebhookDelivery]:
        """Claim the deliveries due now (of enabled endpoints), leasing them to this pass."""
        now = utcnow()
        query = (
            select(WebhookDelivery)
            .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
            .where(WebhookDelivery.status == "pending")
            .where(col(WebhookDelivery.next_attempt_at) <= now)
            .where(col(WebhookEndpoint.disabled_at).is_(None))
            .order_by(col(WebhookDelivery.event_seq), col(WebhookDelivery.id))
            .limit(self.batch)
        )
        if not self._any(query):
            return []
        with self.control._session(write=True) as session:
            rows = list(session.exec(query.with_for_update(skip_locked=True, of=WebhookDelivery)).all())
            for row in rows:
                row.next_attempt_at = now + self.lease
                session.add(row)
            return rows

    def _send(self, delivery: WebhookDelivery) -> _Outcome | None:
        """One attempt of one delivery (None: its endpoint or event is gone, or the endpoint was disabled)."""
        with self.control._session() as session:
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
            event = session.get(EventRecord, delivery.event_seq)
        if endpoint is None or event is None or endpoint.disabled_at is not None:
            return None
        body = structured(event)
        now = datetime.now(UTC)
        stamp = int(now.timestamp())
        headers = {
            "content-type": CONTENT_TYPE,
            "webhook-id": event.event_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signatures(endpoint, event.event_id, stamp, body, now),
        }
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        try:
            response = self._post(endpoint.url, body, headers)
            status = response.status_code
            retry_after = _retry_after(response.headers.get("retry-after"), now)
            if not 200 <= status < 300:
                error = f"HTTP {status}: {response.text[:200]}"
        except InvalidInputError as refused:
            error = str(refused)
        except httpx.HTTPError as failed:
            error = f"{type(failed).__name__}: {failed}"[:500]
        elapsed_ms = (time.perf_counter() - started) * 1000
        return _Outcome(delivery, endpoint, status, error, retry_after, elapsed_ms, utcnow())

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST to the address the host resolved to and was checked at (not a second, unchecked lookup)."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = public_addresses(host, port)[0]
        target = httpx.URL(url).copy_with(host=address.split("%", 1)[0])
        headers = {**headers, "host": parts.netloc.rsplit("@", 1)[-1]}
        request = self.client.build_request("POST", target, content=body, headers=headers,
                                            extensions={"sni_hostname": host})  # fmt: skip
        response = self.client.send(request)
        response.read()
        return response

    def _settle(self, outcomes: Sequence[_Outcome | None], report: DispatchReport) -> None:
        """Record a pass's attempts and move each delivery on, in one transaction."""
        with self.control._session(write=True) as session:
            for outcome in outcomes:
                if outcome is not None:
                    self._settle_one(session, outcome, report)

    def _settle_one(self, session: Any, outcome: _Outcome, report: DispatchReport) -> None:
        row = session.get(WebhookDelivery, outcome.delivery.id)
        if row is None:
            return
        now, status, error = outcome.at, outcome.status, outcome.error
        session.add(WebhookAttempt(delivery_id=row.id, endpoint_id=row.endpoint_id, event_seq=row.event_seq,
                                   at=now, status_code=status, error=error,
                                   duration_ms=round(outcome.elapsed_ms, 2)))  # fmt: skip
        row.attempts += 1
        row.last_status, row.last_error = status, error
        if error is None:
            row.status, row.delivered_at = "delivered", now
            report.delivered += 1
        elif status == 410:
            self._disable(session, outcome.endpoint, now)
            row.status, row.last_error = "dead", "410 Gone: the endpoint is disabled"
            report.dead += 1
        elif row.attempts > len(self.schedule):
            row.status = "dead"
            report.dead += 1
        else:
            wait = self.schedule[row.attempts - 1]
            if outcome.retry_after is not None:
                wait = max(wait, min(outcome.retry_after, MAX_RETRY_AFTER_S))
            row.next_attempt_at = now + timedelta(seconds=wait)
            report.retrying += 1
        session.add(row)

    def _disable(self, session: Any, endpoint: WebhookEndpoint, now: datetime) -> None:
        """410 Gone: the endpoint is disabled and its other pending deliveries become dead letters (replayable)."""
        found = session.get(WebhookEndpoint, endpoint.id)
        if found is None:
            return
        found.disabled_at, found.disabled_reason = now, "the endpoint answered 410 Gone"
        session.add(found)
        pending = select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending"
        )
        for other in session.exec(pending).all():
            other.status, other.last_error = "dead", "the endpoint was disabled (410 Gone)"
            session.add(other)


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a `Retry-After` header asks to wait (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def dispatch_events(control: ControlPlane, *, nats: NatsPublisher | None = None) -> DispatchReport:
    """One delivery pass over the outbox (NATS from `FACTORY_NATS_URL` unless given), as the sensor runs it."""
    publisher = nats if nats is not None else nats_from_env()
    dispatcher = EventDispatcher(control, nats=publisher)
    try:
        return dispatcher.run_once()
    finally:
        dispatcher.client.close()
        if nats is None and publisher is not None:
            publisher.close()
