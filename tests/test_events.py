"""Lifecycle events: written with their change, delivered at least once to NATS JetStream and to signed webhooks.

A real NATS server (127.0.0.1:4222, JetStream; a failure under CI=true when absent) and a real HTTP
receiver on loopback; the signatures are checked by the `standardwebhooks` package, not by our code.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloudevents.core.formats.json import JSONFormat
from sqlalchemy import event as sa_event
from sqlmodel import Session, select
from standardwebhooks import Webhook

from infra import webhooks
from infra.control import ControlPlane
from infra.event_transports import EventDispatcher, NatsPublisher
from infra.events import EVENT_TYPE_PREFIX, EVENT_TYPES, add_event, structured
from infra.records import EnvironmentRelease, EventRecord, IntentRecord, WebhookDelivery
from ontology.errors import InvalidInputError
from tests.markdown_docs import Markdown, read
from tests.nats_streams import NATS_URL, stream_messages

COMMIT = "a" * 40
ROOT = Path(__file__).resolve().parents[1]


# a receiver on loopback ------------------------------------------------------------------------


@dataclass
class Receiver:
    """Answers each path with the planned (status, headers) in turn, then 200; keeps what it got."""

    port: int = 0
    plans: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    got: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for p, h, b in self.got if p == path]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with state.lock:
                state.got.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                plan = state.plans.get(self.path) or []
                status, headers = plan.pop(0) if plan else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def control(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ControlPlane:
    monkeypatch.setenv("FACTORY_WEBHOOKS_ALLOW_PRIVATE", "1")
    return ControlPlane(f"sqlite:///{tmp_path / 'control.db'}")


def _types(control: ControlPlane, tenant: str = "acme") -> list[str]:
    return [e.type.removeprefix(EVENT_TYPE_PREFIX) for e in webhooks.list_events(control, tenant)]


def _cloud_event(body: bytes) -> Any:
    return JSONFormat().read(None, body)


# written with the change --------------------------------------------------------------------


def test_each_lifecycle_change_writes_its_event_and_a_failed_change_writes_none(control: ControlPlane) -> None:
    record, _ = control.submit_intent("acme", "shop", "A shop that sells tea.")
    control.submit_intent("acme", "shop", "A shop that sells tea.")  # unchanged: no transition, no event
    control.set_stage("acme", "shop", "requirements", "running", trace_id="f" * 32)
    control.set_stage("acme", "shop", "requirements", "done", 1.5, trace_id="f" * 32)
    control.set_stage("acme", "shop", "blueprint", "failed", 0.2, trace_id="f" * 32)
    control.upsert_deployment("acme", "shop", "dev", status="running", url="http://127.0.0.1:1", trace_id="f" * 32)
    control.record_release("acme", "shop", "dev", COMMIT, revision=1, trace_id="f" * 32)
    control.decide("acme", "shop", "prod", COMMIT, "rejected", "not yet", "ann")
    control.decide("acme", "shop", "prod", COMMIT, "approved", "fine now", "ann")
    control.audit("promote", "refused", tenant="acme", product="shop", actor="bo",
                  event=("promotion.requested", {"env": "prod", "commit": COMMIT}))  # fmt: skip
    control.record_build("acme", "shop", revision=1, trace_id="f" * 32, template="t", passed=True, slo_breaches=2)
    control.upsert_deployment("acme", "shop", "dev", status="stopped")
    control.emit("check.failed", "acme", "shop", trace_id="f" * 32, data={"stage": "artifacts"})
    control.submit_intent("globex", "crm", "A CRM for sales people.")
    assert _types(control) == [
        "intent.submitted", "stage.started", "stage.completed", "stage.failed", "deployment.started",
        "release.made", "promotion.rejected", "promotion.approved", "promotion.requested", "slo.breached",
        "deployment.stopped", "check.failed",
    ]  # fmt: skip
    events = webhooks.list_events(control, "acme")
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert events[0].data["intent_id"] == record.id and events[1].trace_id == "f" * 32
    assert _types(control, "globex") == ["intent.submitted"]  # a tenant's feed holds its events only
    cursor = events[5].id or 0
    assert [e.id for e in webhooks.list_events(control, "acme", after=cursor)] == [e.id for e in events[6:]]

    def refuse(_session: Any) -> None:
        raise RuntimeError("the disk is full")

    sa_event.listen(Session, "before_commit", refuse)  # a state change whose commit fails ...
    with pytest.raises(RuntimeError):
        control.record_release("acme", "shop", "staging", COMMIT, revision=1, trace_id="f" * 32)
    with pytest.raises(RuntimeError), control._session(write=True) as session:
        session.add(IntentRecord(tenant="acme", product="crm", text="x", revision=1))
        add_event(session, "intent.submitted", tenant="acme", product="crm")
    sa_event.remove(Session, "before_commit", refuse)
    with control._session() as session:  # ... leaves neither the change nor its event
        assert session.exec(select(EnvironmentRelease).where(EnvironmentRelease.env == "staging")).first() is None
        assert (
            session.exec(
                select(IntentRecord).where(IntentRecord.tenant == "acme", IntentRecord.product == "crm")
            ).first()
            is None
        )
    assert len(webhooks.list_events(control, "acme")) == len(events)


def test_the_outbox_on_postgresql_keeps_commit_order_and_delivers(
    postgres_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTORY_WEBHOOKS_ALLOW_PRIVATE", "1")
    control = ControlPlane(postgres_url)
    webhooks.add_webhook(control, "acme", receiver.url("/postgres"), actor="ann")
    for i in range(3):
        control.submit_intent("acme", f"shop-{i}", "A shop that sells tea.")
    events = webhooks.list_events(control, "acme", after=0)
    assert [e.product for e in events] == ["shop-0", "shop-1", "shop-2"]
    assert webhooks.list_events(control, "acme", after=events[-1].id or 0) == []
    with EventDispatcher(control) as dispatcher:
        assert dispatcher.run_once().delivered == 3
        assert dispatcher.run_once().idle
    assert [h["webhook-id"] for h, _ in receiver.bodies("/postgres")] == [e.event_id for e in events]
    control.engine.dispose()


# webhooks ------------------------------------------------------------------------------------


def test_a_delivery_is_a_signed_cloudevent_and_rotation_signs_with_both_secrets(
    control: ControlPlane, receiver: Receiver
) -> None:
    view, secret = webhooks.add_webhook(control, "acme", receiver.url("/signed"), ["stage.started"], actor="ann")
    assert secret.startswith("whsec_") and secret not in repr(webhooks.list_webhooks(control, "acme"))
    control.submit_intent("acme", "shop", "A shop that sells tea.")  # a type the endpoint does not want
    control.set_stage("acme", "shop", "requirements", "running", trace_id="e" * 32)
    with EventDispatcher(control) as dispatcher:
        assert dispatcher.run_once().delivered == 1
        (headers, body), = receiver.bodies("/signed")  # fmt: skip
        assert Webhook(secret).verify(body, headers)["type"] == EVENT_TYPE_PREFIX + "stage.started"
        event = _cloud_event(body)
        assert headers["webhook-id"] == event.get_id() and headers["content-type"] == "application/cloudevents+json"
        assert event.get_extension("traceid") == "e" * 32 and event.get_subject() == "acme/shop"
        assert event.get_data() == {"stage": "requirements", "status": "running"}
        with pytest.raises(Exception):  # noqa: B017 - a tampered body fails the independent verifier
            Webhook(secret).verify(body.replace(b"running", b"RUNNING"), headers)

        _, new_secret = webhooks.rotate_secret(control, "acme", view.id, actor="ann", overlap=timedelta(hours=1))
        control.set_stage("acme", "shop", "requirements", "running", trace_id="e" * 32)
        assert dispatcher.run_once().delivered == 1
        headers, body = receiver.bodies("/signed")[-1]
        assert len(headers["webhook-signature"].split()) == 2
        assert Webhook(secret).verify(body, headers) and Webhook(new_secret).verify(body, headers)
    attempts = webhooks.webhook_attempts(control, "acme", view.id)
    assert [a.status_code for a in attempts] == [200, 200]
    trail = [e.action for e in control.audit_log("acme")]
    assert "webhook.add" in trail and "webhook.rotate" in trail
    assert all(secret not in e.detail and new_secret not in e.detail for e in control.audit_log("acme"))


def test_retries_follow_the_schedule_and_retry_after_410_disables_and_dead_letters_replay(
    control: ControlPlane, receiver: Receiver
) -> None:
    flaky, _ = webhooks.add_webhook(control, "acme", receiver.url("/flaky"), actor="ann")
    gone, _ = webhooks.add_webhook(control, "acme", receiver.url("/gone"), actor="ann")
    receiver.plans["/flaky"] = [(503, {"Retry-After": "1"}), (500, {}), (500, {})]
    receiver.plans["/gone"] = [(410, {})]
    control.submit_intent("acme", "shop", "A shop that sells tea.")
    with EventDispatcher(control, schedule=(0.1, 0.1)) as dispatcher:
        first = dispatcher.run_once()
        assert (first.retrying, first.dead) == (1, 1)
        assert not webhooks.list_webhooks(control, "acme")[1].enabled  # 410: disabled
        time.sleep(0.3)
        assert dispatcher.run_once().idle  # Retry-After: 1 outweighs the 0.1 s of the schedule
        time.sleep(0.8)
        assert dispatcher.run_once().retrying == 1
        time.sleep(0.2)
        assert dispatcher.run_once().dead == 1  # three attempts: the first and two retries
        dead = webhooks.dead_letters(control, "acme", flaky.id)
        assert [d.attempts for d in dead] == [3] and dead[0].last_status == 500
        control.submit_intent("acme", "shop", "A shop that sells coffee.")  # not fanned out to the disabled one
        assert dispatcher.run_once().delivered == 1
        assert len(receiver.bodies("/gone")) == 1
        assert webhooks.replay(control, "acme", actor="ann", endpoint_id=flaky.id) == [dead[0].id]
        assert dispatcher.run_once().delivered == 1
    assert [a.status_code for a in webhooks.webhook_attempts(control, "acme", flaky.id)] == [200, 200, 500, 500, 503]
    assert len(webhooks.dead_letters(control, "acme", gone.id)) == 1
    with pytest.raises(InvalidInputError):
        webhooks.replay(control, "acme", actor="ann")


def test_webhook_addresses_outside_the_public_internet_are_refused(
    control: ControlPlane, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    view, _ = webhooks.add_webhook(control, "acme", receiver.url("/private"), actor="ann")
    monkeypatch.delenv("FACTORY_WEBHOOKS_ALLOW_PRIVATE")
    for url in (
        "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/hook", "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data", "http://[::1]/hook", "http://0.0.0.0/", "ftp://example.com/",
        "http://user:pw@example.com/", "javascript:alert(1)", "http://no-such-host.invalid/",
        "http://[::ffff:127.0.0.1]/", "http://[64:ff9b::a00:1]/", "http://[2002:a00:1::]/", "http://[fd00::1]/",
        "http://example.com/a b", "http://example.com/\xa0", "http://exam\u2028ple.com/", "http://例え.jp/",
        "HTTP://93.184.216.34/hook", "http:///hook",  # what the OpenAPI refuses, check_url refuses too
    ):  # fmt: skip
        with pytest.raises(InvalidInputError):
            webhooks.check_url(url)
    control.submit_intent("acme", "shop", "A shop that sells tea.")  # registered while allowed, refused when sent
    with EventDispatcher(control, schedule=(60,)) as dispatcher:
        assert dispatcher.run_once().retrying == 1
    assert receiver.bodies("/private") == []
    (attempt,) = webhooks.webhook_attempts(control, "acme", view.id)
    assert attempt.status_code is None and "private" in (attempt.error or "")


# NATS JetStream and at least once -----------------------------------------------------------


def test_events_reach_jetstream_once_per_id_even_when_published_twice(
    control: ControlPlane, nats_stream: tuple[str, str]
) -> None:
    stream, subject = nats_stream
    for product in ("shop", "crm"):
        control.submit_intent("acme", product, "A shop that sells tea.")
    publisher = NatsPublisher(NATS_URL, stream=stream, subject_prefix=subject)
    with EventDispatcher(control, nats=publisher) as dispatcher:
        assert dispatcher.run_once().published == 2
        assert dispatcher.run_once().published == 0
        rows = webhooks.list_events(control, "acme")
        assert [duplicate for _, duplicate in publisher.publish(rows)] == [True, True]  # dropped by Nats-Msg-Id
    messages = stream_messages(stream)
    assert [h["Nats-Msg-Id"] for h, _ in messages] == [r.event_id for r in rows]
    assert [_cloud_event(body).get_id() for _, body in messages] == [r.event_id for r in rows]


def _worker(url: str, mode: str, stream: str, subject: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tests.events_worker", url, mode, NATS_URL, stream, subject]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_a_dispatcher_killed_between_sending_and_marking_loses_nothing(
    control: ControlPlane, receiver: Receiver, nats_stream: tuple[str, str]
) -> None:
    stream, subject = nats_stream
    webhooks.add_webhook(control, "acme", receiver.url("/crash"), actor="ann")
    for product in ("shop", "crm"):
        control.submit_intent("acme", product, "A shop that sells tea.")
    ids = [r.event_id for r in webhooks.list_events(control, "acme")]
    for mode in ("nats", "webhook"):
        died = _worker(control.url, mode, stream, subject)
        assert died.returncode == 17, died.stdout + died.stderr
    with control._session() as session:  # sent, yet not marked: the outbox still owes them
        assert all(r.published_at is None for r in session.exec(select(EventRecord)).all())
        assert {d.status for d in session.exec(select(WebhookDelivery)).all()} == {"pending"}
    assert [h["webhook-id"] for h, _ in receiver.bodies("/crash")] == ids[:1]
    time.sleep(0.6)  # the dead dispatcher's lease runs out
    with EventDispatcher(control, nats=NatsPublisher(NATS_URL, stream=stream, subject_prefix=subject)) as again:
        report = again.run_once()
    assert (report.published, report.delivered) == (2, 2)
    received = [h["webhook-id"] for h, _ in receiver.bodies("/crash")]
    assert sorted(received) == sorted([ids[0], *ids]) and set(received) == set(ids)  # at least once; dedup: once
    assert [h["Nats-Msg-Id"] for h, _ in stream_messages(stream)] == ids  # JetStream dropped the repeat


RELAY_SCRIPT = """
import json, sys, time, uuid
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from app.domain.events import DomainEvent
from app.infrastructure.outbox import OutboxEvent, record_event
from app.main import create_app

app = create_app()
with TestClient(app):  # the service's lifespan starts the relay (NATS_URL is set)
    with Session(app.state.engine) as session:
        record_event(session, DomainEvent("invoice", "created", "acme", uuid.uuid4(), {"number": "INV-1"}))
        session.commit()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with Session(app.state.engine) as session:
            row = session.exec(select(OutboxEvent)).one()
        if row.published_at is not None:
            break
        time.sleep(0.05)
print(json.dumps({"id": str(row.id), "published": row.published_at is not None}))
"""


def test_a_generated_services_outbox_relay_publishes_cloudevents_with_its_trace_id(
    tmp_path: Path, nats_stream: tuple[str, str]
) -> None:
    from generators.agents.engineer import Engineer
    from tests.product_blueprints import invoicing

    stream, subject = nats_stream
    trace = uuid.uuid4().hex
    product = tmp_path / "invoicing"
    Engineer().render(invoicing(), product, trace)
    env = {**os.environ, "NATS_URL": NATS_URL, "NATS_STREAM": stream, "NATS_SUBJECT": subject,
           "DATABASE_URL": "sqlite://", "PYTHONPATH": str(product)}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", RELAY_SCRIPT], cwd=product, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["published"]
    ((headers, body),) = stream_messages(stream)
    event = _cloud_event(body)
    assert headers["Nats-Msg-Id"] == event.get_id() == outcome["id"]
    assert event.get_extension("traceid") == trace and event.get_extension("tenant") == "acme"
    assert event.get_type().endswith("invoice.created") and event.get_data() == {"number": "INV-1"}


def test_the_command_line_manages_webhooks_and_reads_the_feed(
    receiver: Receiver, factory_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from studio.cli import app

    monkeypatch.setenv("FACTORY_WEBHOOKS_ALLOW_PRIVATE", "1")
    monkeypatch.delenv("FACTORY_DATABASE_URL", raising=False)
    monkeypatch.delenv("FACTORY_NATS_URL", raising=False)

    def factory(*args: str) -> Any:
        done = CliRunner().invoke(app, list(args))
        assert done.exit_code == 0, done.output
        return done.stdout

    endpoint = json.loads(factory("webhooks", "add", receiver.url("/cli"), "--tenant", "acme", "--type",
                                  "intent.submitted", "--json"))  # fmt: skip
    listed = factory("webhooks", "list", "--tenant", "acme", "--json")
    assert endpoint["secret"] not in listed and json.loads(listed)[0]["id"] == endpoint["id"]
    ControlPlane(home=factory_home).submit_intent("acme", "shop", "A shop that sells tea.")
    feed = json.loads(factory("events", "list", "--tenant", "acme", "--json"))
    assert [e["type"] for e in feed] == [EVENT_TYPE_PREFIX + "intent.submitted"]
    factory("events", "deliver")
    (headers, body), = receiver.bodies("/cli")  # fmt: skip
    assert Webhook(endpoint["secret"]).verify(body, headers)["id"] == feed[0]["id"]
    factory("webhooks", "remove", str(endpoint["id"]), "--tenant", "acme")
    assert json.loads(factory("webhooks", "list", "--tenant", "acme", "--json")) == []
    refused = subprocess.run([sys.executable, "-m", "studio", "webhooks", "add", "file:///etc/passwd", "--tenant",
                              "acme"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "http" in refused.stderr


def test_builders_and_admins_of_the_tenant_manage_its_webhooks(tmp_path: Path) -> None:
    from infra.access import Principal, Resource, decide

    for role, allowed in (("viewer", False), ("approver", False), ("builder", True), ("admin", True)):
        principal = Principal("bo", roles={"acme": frozenset({role})})
        assert decide(principal, "webhooks", Resource.scope("acme"), tmp_path).allowed is allowed
    outsider = Principal("bo", roles={"globex": frozenset({"admin"})})
    assert not decide(outsider, "webhooks", Resource.scope("acme"), tmp_path).allowed


# the documentation's word (docs/events.md) ---------------------------------------------------


def _events_doc_section(title: str) -> tuple[Markdown, str]:
    doc = read(ROOT / "docs" / "events.md")
    start = doc.prose.index(f"## {title}")
    end = doc.prose.find("\n## ", start + 1)
    return doc, doc.prose[start : end if end > 0 else None]


def test_the_docs_list_every_event_type() -> None:
    _, section = _events_doc_section("The event types")
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    listed = [name for row in rows for name in re.findall(r"`dev\.softwarefactory\.([a-z]+\.[a-z]+)`", row)]
    assert sorted(listed) == sorted(EVENT_TYPES)


def test_the_docs_receiver_verifies_and_acts_on_each_event_once(control: ControlPlane) -> None:
    doc, _ = _events_doc_section("Webhooks")
    (example,) = [code for language, code in doc.code_blocks if language == "python" and "Webhook(" in code]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/factory"
    _, secret = webhooks.add_webhook(control, "acme", url, actor="ann")
    assert '"whsec_…"' in example and "8080" in example
    code = example.replace('"whsec_…"', repr(secret)).replace("8080", str(port))
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    server.stderr.read() if server.stderr else ""
                )
                time.sleep(0.05)
        control.submit_intent("acme", "shop", "A shop that sells tea.")
        with EventDispatcher(control) as dispatcher:
            assert dispatcher.run_once().delivered == 1
        (event,) = webhooks.list_events(control, "acme")
        body = structured(event)
        now = datetime.now(UTC)
        headers = {"webhook-id": event.event_id, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": Webhook(secret).sign(event.event_id, now, body.decode())}  # fmt: skip
        assert httpx.post(url, content=body, headers=headers).status_code == 204  # the same event again
        assert httpx.post(url, content=body.replace(b"acme/shop", b"acme/shoq"), headers=headers).status_code == 401
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert out.splitlines() == [f"{EVENT_TYPE_PREFIX}intent.submitted acme/shop {event.data}"]
