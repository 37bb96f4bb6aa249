"""Tenants' webhook endpoints: registration, Standard Webhooks signatures, address checks, attempts and replay.

The surfaces (CLI, API, Studio) authorize the principal for the `webhooks` action of the tenant first
(`infra.access.authorize`), then call these functions; every change is written to the audit chain.
Secrets (`whsec_…`) are shown once, when made, and never listed, logged or put into the graph.
Delivery itself is in `infra.event_transports`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import col, select

from infra.control import ControlPlane
from infra.events import check_event_types, events_after
from infra.records import EventRecord, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from ontology.errors import InvalidInputError, NotFoundError
from ontology.refs import check_slug

__all__ = [
    "ALLOW_PRIVATE_ENV",
    "DELIVERY_STATUSES",
    "MAX_URL_CHARS",
    "SECRET_PREFIX",
    "URL_PATTERN",
    "WebhookView",
    "add_webhook",
    "check_url",
    "dead_letters",
    "enable_webhook",
    "list_events",
    "list_webhooks",
    "new_secret",
    "public_addresses",
    "remove_webhook",
    "replay",
    "rotate_secret",
    "sign",
    "signatures",
    "webhook_attempts",
    "webhook_tenant",
]

SECRET_PREFIX = "whsec_"
ALLOW_PRIVATE_ENV = "FACTORY_WEBHOOKS_ALLOW_PRIVATE"
"""Set to 1 to let webhooks reach private, loopback and link-local addresses (tests, a closed network)."""
DELIVERY_STATUSES = ("pending", "delivered", "dead")
MAX_URL_CHARS = 2_000
URL_PATTERN = r"^https?://[!-~]+$"
"""A webhook URL's form: http:// or https://, then visible ASCII. `check_url` asks it first, and the API's OpenAPI
states it."""
MAX_ENDPOINTS = 50
"""Endpoints per tenant: each event is one request per endpoint."""


@dataclass(frozen=True)
class WebhookView:
    """What may be shown of an endpoint: never its secrets."""

    id: int
    tenant: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None
    rotating_until: datetime | None
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, row: WebhookEndpoint) -> WebhookView:
        assert row.id is not None
        return cls(row.id, row.tenant, row.url, list(row.event_types or []), row.description, row.disabled_at is None,
                   row.disabled_reason, row.previous_until, row.created_at, row.created_by)  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "tenant": self.tenant, "url": self.url, "event_types": self.event_types,
                "description": self.description, "enabled": self.enabled, "disabled_reason": self.disabled_reason,
                "rotating_until": self.rotating_until, "created_at": self.created_at,
                "created_by": self.created_by}  # fmt: skip


# signatures ----------------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks signature `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` under `secret`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signatures(endpoint: WebhookEndpoint, msg_id: str, timestamp: int, body: bytes, now: datetime) -> str:
    """The `webhook-signature` header: the current secret's signature, and the previous one's while rotating."""
    found = [sign(endpoint.secret, msg_id, timestamp, body)]
    until = _aware(endpoint.previous_until)
    if endpoint.previous_secret and until is not None and now < until:
        found.append(sign(endpoint.previous_secret, msg_id, timestamp, body))
    return " ".join(found)


# addresses -----------------------------------------------------------------------------------


def _allow_private() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


def check_url(url: str) -> str:
    """An http(s) URL with a host and no credentials; its host must resolve (see `public_addresses`)."""
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL_CHARS:
        raise InvalidInputError(f"a webhook URL must be an http(s) URL under {MAX_URL_CHARS} characters")
    url = url.strip()
    if not re.fullmatch(URL_PATTERN, url):
        raise InvalidInputError(
            f"invalid webhook URL {url[:80]!r}: write http:// or https://, then visible ASCII (percent-encode the "
            "rest, and write a host name in its xn-- form)"
        )
    parts = urlsplit(url)
    if not parts.hostname:
        raise InvalidInputError(f"invalid webhook URL {url[:80]!r}: it names no host")
    if parts.username or parts.password:
        raise InvalidInputError("a webhook URL must not carry credentials: the signature authenticates the factory")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidInputError(f"invalid port in webhook URL {url[:80]!r}") from None
    public_addresses(parts.hostname, port)
    return url


def public_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, refused if any is private, loopback, link-local or otherwise not public.

    Checked when an endpoint is registered and again before each delivery, which then connects to the
    checked address (a name that later resolves elsewhere cannot steer the factory to its own internals).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise InvalidInputError(f"webhook host {host[:80]!r} does not resolve: {error}") from None
    found = sorted({str(info[4][0]) for info in infos})
    if not found:
        raise InvalidInputError(f"webhook host {host[:80]!r} does not resolve")
    if not _allow_private():
        for address in found:
            if not _public(ipaddress.ip_address(address.split("%", 1)[0])):
                raise InvalidInputError(
                    f"webhook host {host[:80]!r} resolves to {address}, a private, loopback or reserved address: "
                    f"the factory does not call its own network (set {ALLOW_PRIVATE_ENV}=1 to allow it)"
                )
    return found


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable, and so is any IPv4 address embedded in it (mapped, 6to4, Teredo, NAT64)."""
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        return all(_public(inner) for inner in embedded if inner is not None)
    return True


# endpoints -----------------------------------------------------------------------------------


def add_webhook(
    control: ControlPlane, tenant: str, url: str, event_types: Sequence[str] = (), *, actor: str,
    description: str = "",
) -> tuple[WebhookView, str]:  # fmt: skip
    """Register an endpoint for the tenant's events (all types when `event_types` is empty).

    Returns the endpoint and its secret: the only time the secret is shown."""
    tenant = check_slug(tenant, "tenant")
    url = check_url(url)
    types = check_event_types(list(event_types))
    secret = new_secret()
    with control._session(write=True) as session:
        count = len(session.exec(select(WebhookEndpoint.id).where(WebhookEndpoint.tenant == tenant)).all())
        if count >= MAX_ENDPOINTS:
            raise InvalidInputError(f"{tenant} has {count} webhook endpoints: remove one first")
        row = WebhookEndpoint(tenant=tenant, url=url, event_types=types, secret=secret,
                              description=description.strip()[:200], created_by=actor)  # fmt: skip
        session.add(row)
        session.flush()
        view = WebhookView.of(row)
    control.audit("webhook.add", "ok", tenant=tenant, actor=actor, detail=f"endpoint {view.id}: {_safe(url)}")
    return view, secret


def list_webhooks(control: ControlPlane, tenant: str) -> list[WebhookView]:
    """The tenant's endpoints, oldest first (without secrets)."""
    tenant = check_slug(tenant, "tenant")
    with control._session() as session:
        query = select(WebhookEndpoint).where(WebhookEndpoint.tenant == tenant).order_by(col(WebhookEndpoint.id))
        return [WebhookView.of(row) for row in session.exec(query).all()]


def webhook_tenant(control: ControlPlane, endpoint_id: int) -> str:
    """The tenant an endpoint belongs to (a surface authorizes for it before it acts on the endpoint)."""
    with control._session() as session:
        row = session.get(WebhookEndpoint, int(endpoint_id))
    if row is None:
        raise NotFoundError(f"no webhook endpoint {endpoint_id}: list them with `factory webhooks list`")
    return row.tenant


def _endpoint(control: ControlPlane, tenant: str, endpoint_id: int) -> WebhookEndpoint:
    with control._session() as session:
        row = session.get(WebhookEndpoint, int(endpoint_id))
    if row is None or row.tenant != check_slug(tenant, "tenant"):
        raise NotFoundError(f"no webhook endpoint {endpoint_id} in {tenant}: list them with `factory webhooks list`")
    return row


def remove_webhook(control: ControlPlane, tenant: str, endpoint_id: int, *, actor: str) -> WebhookView:
    """Delete an endpoint, its pending deliveries and its attempts."""
    row = _endpoint(control, tenant, endpoint_id)
    view = WebhookView.of(row)
    with control._session(write=True) as session:
        for model in (WebhookAttempt, WebhookDelivery):
            for item in session.exec(select(model).where(col(model.endpoint_id) == view.id)).all():
                session.delete(item)
        found = session.get(WebhookEndpoint, view.id)
        if found is not None:
            session.delete(found)
    control.audit("webhook.remove", "ok", tenant=view.tenant, actor=actor, detail=f"endpoint {view.id}")
    return view


def rotate_secret(
    control: ControlPlane, tenant: str, endpoint_id: int, *, actor: str, overlap: timedelta = timedelta(hours=24)
) -> tuple[WebhookView, str]:
    """Give an endpoint a new secret; deliveries carry both signatures for `overlap`. Returns the new secret."""
    _endpoint(control, tenant, endpoint_id)
    secret = new_secret()
    with control._session(write=True) as session:
        row = session.get(WebhookEndpoint, int(endpoint_id))
        assert row is not None
        row.previous_secret, row.secret = row.secret, secret
        row.previous_until = utcnow() + overlap
        session.add(row)
        session.flush()
        view = WebhookView.of(row)
    control.audit("webhook.rotate", "ok", tenant=view.tenant, actor=actor,
                  detail=f"endpoint {view.id}, previous secret valid {overlap}")  # fmt: skip
    return view, secret


def enable_webhook(control: ControlPlane, tenant: str, endpoint_id: int, *, actor: str) -> WebhookView:
    """Enable an endpoint that a 410 answer disabled: new events go to it again (replay its dead letters for
    the ones it missed)."""
    _endpoint(control, tenant, endpoint_id)
    with control._session(write=True) as session:
        row = session.get(WebhookEndpoint, int(endpoint_id))
        assert row is not None
        row.disabled_at, row.disabled_reason = None, None
        session.add(row)
        session.flush()
        view = WebhookView.of(row)
    control.audit("webhook.enable", "ok", tenant=view.tenant, actor=actor, detail=f"endpoint {view.id}")
    return view


def webhook_attempts(control: ControlPlane, tenant: str, endpoint_id: int, limit: int = 100) -> list[WebhookAttempt]:
    """The endpoint's delivery attempts, newest first: when, which event, the answer and how long it took."""
    _endpoint(control, tenant, endpoint_id)
    with control._session() as session:
        query = select(WebhookAttempt).where(WebhookAttempt.endpoint_id == int(endpoint_id))
        return list(session.exec(query.order_by(col(WebhookAttempt.id).desc()).limit(max(1, limit))).all())


def dead_letters(control: ControlPlane, tenant: str, endpoint_id: int | None = None) -> list[WebhookDelivery]:
    """Deliveries that failed their last scheduled attempt (or met a disabled endpoint), oldest first."""
    query = select(WebhookDelivery).where(WebhookDelivery.tenant == check_slug(tenant, "tenant"))
    query = query.where(WebhookDelivery.status == "dead")
    if endpoint_id is not None:
        _endpoint(control, tenant, endpoint_id)
        query = query.where(WebhookDelivery.endpoint_id == int(endpoint_id))
    with control._session() as session:
        return list(session.exec(query.order_by(col(WebhookDelivery.id))).all())


def replay(
    control: ControlPlane, tenant: str, *, actor: str, delivery_ids: Sequence[int] = (), endpoint_id: int | None = None
) -> list[int]:
    """Send dead deliveries again (the ones named, or all of an endpoint's): they start a fresh schedule.

    Returns the ids of the deliveries set pending; the dispatcher sends them on its next pass."""
    tenant = check_slug(tenant, "tenant")
    if not delivery_ids and endpoint_id is None:
        raise InvalidInputError("say what to replay: delivery ids, or an endpoint for all its dead letters")
    query = select(WebhookDelivery).where(WebhookDelivery.tenant == tenant, WebhookDelivery.status == "dead")
    if delivery_ids:
        query = query.where(col(WebhookDelivery.id).in_([int(i) for i in delivery_ids]))
    if endpoint_id is not None:
        _endpoint(control, tenant, endpoint_id)
        query = query.where(WebhookDelivery.endpoint_id == int(endpoint_id))
    with control._session(write=True) as session:
        rows = list(session.exec(query).all())
        missing = sorted(set(int(i) for i in delivery_ids) - {r.id for r in rows})
        if missing:
            raise NotFoundError(f"no dead delivery {missing[0]} in {tenant}: list them with `factory webhooks dead`")
        for row in rows:
            row.status, row.attempts, row.next_attempt_at, row.last_error = "pending", 0, utcnow(), None
            session.add(row)
        replayed = [r.id for r in rows if r.id is not None]
    control.audit("webhook.replay", "ok", tenant=tenant, actor=actor,
                  detail=f"{len(replayed)} deliveries: {', '.join(map(str, replayed[:20]))}")  # fmt: skip
    return replayed


def list_events(control: ControlPlane, tenant: str | None, after: int = 0, limit: int = 100) -> list[EventRecord]:
    """The event feed: a tenant's events (None: all) with a sequence above `after`, oldest first.

    A reader keeps the last sequence it saw and asks again with it; none is skipped (see `add_event`)."""
    with control._session() as session:
        return events_after(session, tenant, after, limit)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes: they are UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _safe(url: str) -> str:
    """The URL as audited: scheme, host and path, no query (it may carry a token of the receiver)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:300]
