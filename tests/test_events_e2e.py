"""End to end: ten products built while a webhook receiver goes away and the factory process is killed.

The factory is a real process (tests/factory_worker.py: it builds through the lifecycle use case and
delivers the outbox as `factory up` does), SIGKILLed once in the middle of a build and started again; the
receiver is a real HTTP server on loopback that checks every signature with the `standardwebhooks` package
and is stopped for a while and started again on the same port; NATS JetStream is the real server. What
arrived is compared with the outbox: every event at least once, no stranger, and a consumer that
de-duplicates by the CloudEvent id sees each exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from sqlmodel import col, select

from infra import runtime, webhooks
from infra.control import ControlPlane
from infra.events import EVENT_TYPE_PREFIX
from infra.records import EventRecord, WebhookAttempt, WebhookDelivery
from tests.nats_streams import NATS_URL, stream_messages
from tests.webhook_receiver import Consumer, Receiver

pytestmark = pytest.mark.slow(minutes=5)

ROOT = Path(__file__).resolve().parents[1]
TENANT = "acme"  # the tenant tests.factory_worker builds in
PRODUCTS = [f"e2e-{i}" for i in range(10)]
KILLED = PRODUCTS[4]
KILL_AT = "validation"  # the longest stage: the kill lands in the middle of a build


def blueprint(slug: str) -> dict[str, object]:
    """A one-entity, one-field product: the smallest real build."""
    return {
        "name": f"Notes {slug}",
        "slug": slug,
        "tenant": TENANT,
        "description": "Short notes people keep",
        "entities": [{"name": "note", "attributes": [{"name": "title", "type": "string", "required": True}]}],
    }


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """The factory's home; the services its builds deployed are stopped afterwards."""
    root = tmp_path / "home"
    yield root
    if (root / "control.db").exists():
        for deployment in ControlPlane(None, root).deployments(None, status="running"):
            if deployment.pid and deployment.workdir:
                runtime.stop(deployment.pid, Path(deployment.workdir))


def _until(what: str, done: Callable[[], bool], worker: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 600
    while not done():
        if worker.poll() is not None:
            pytest.fail(f"the factory ended (code {worker.returncode}) before {what}: {log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within 600 s")
        time.sleep(0.2)


def _events(control: ControlPlane) -> list[EventRecord]:
    with control._session() as session:
        return list(session.exec(select(EventRecord).order_by(col(EventRecord.id))).all())


def test_ten_builds_deliver_every_event_through_a_receiver_outage_and_a_killed_factory(
    home: Path, tmp_path: Path, nats_stream: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream, subject = nats_stream
    monkeypatch.setenv("FACTORY_WEBHOOKS_ALLOW_PRIVATE", "1")
    control = ControlPlane(None, home)
    folder = tmp_path / "blueprints"
    folder.mkdir()
    for slug in PRODUCTS:
        (folder / f"{slug}.yaml").write_text(yaml.safe_dump(blueprint(slug)), encoding="utf-8")
    consumer = Consumer(secret="")
    receiver = Receiver(consumer)
    receiver.start()
    endpoint, consumer.secret = webhooks.add_webhook(control, TENANT, receiver.url(), actor="test")
    env = {**os.environ, "FACTORY_HOME": str(home), "PYTHONPATH": str(ROOT), "FACTORY_NATS_URL": NATS_URL,
           "FACTORY_NATS_STREAM": stream, "FACTORY_NATS_SUBJECT": subject}  # fmt: skip
    env.pop("DAGSTER_HOME", None)
    env.pop("FACTORY_DATABASE_URL", None)

    log = tmp_path / "factory.log"

    def factory() -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen([sys.executable, "-m", "tests.factory_worker", str(folder)], cwd=ROOT, env=env,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def delivered() -> int:
        return len(consumer.seen())

    def failed_attempts() -> int:
        with control._session() as session:
            return len(session.exec(select(WebhookAttempt).where(col(WebhookAttempt.status_code).is_(None))).all())

    def started(product: str, stage: str) -> bool:
        return any(e.product == product and e.type == EVENT_TYPE_PREFIX + "stage.started"
                   and e.data.get("stage") == stage for e in _events(control))  # fmt: skip

    worker = factory()
    try:
        # the receiver goes away while the first products build, and comes back after failed attempts
        _until("events delivered", lambda: delivered() >= 5, worker, log)
        receiver.stop()
        _until("a delivery failing on the stopped receiver", lambda: failed_attempts() >= 3, worker, log)
        time.sleep(2)  # away for a while: the dispatcher keeps retrying on its schedule
        receiver.start()
        # the factory process is killed in the middle of a build, and started again
        _until(f"{KILLED}'s {KILL_AT} stage", lambda: started(KILLED, KILL_AT), worker, log)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=60)
        killed = control.latest_intent(TENANT, KILLED)
        assert killed is not None and killed.status == "building", killed  # it died holding the build
        worker = factory()
        worker.wait(timeout=900)
        output = log.read_text()
        assert worker.returncode == 0, output[-3000:]
        assert "drained" in output and f"building acme/{KILLED}" in output
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        receiver.stop()

    assert all(control.latest_intent(TENANT, p).status == "built" for p in PRODUCTS)  # type: ignore[union-attr]
    takeovers = [e for e in control.audit_log(TENANT, limit=500) if e.action == "intent.takeover"]
    assert [e.product for e in takeovers] == [KILLED]  # the restarted factory took the dead build over
    outbox = _events(control)
    ids = [e.event_id for e in outbox]
    assert len(set(ids)) == len(ids) and {e.product for e in outbox} == set(PRODUCTS)
    assert sum(1 for e in outbox if e.product == KILLED and e.data.get("stage") == KILL_AT
               and e.type == EVENT_TYPE_PREFIX + "stage.started") == 2  # fmt: skip

    # webhooks: every event at least once, nothing else, each signature valid; de-duplicated: each exactly once
    assert consumer.refused == []
    assert set(consumer.deliveries) == set(ids)
    assert sorted(consumer.processed) == sorted(ids) and len(consumer.processed) == len(set(consumer.processed))
    with control._session() as session:
        rows = session.exec(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)).all()
    assert len(rows) == len(ids) and {r.status for r in rows} == {"delivered"}
    assert any(r.attempts > 1 for r in rows)  # the outage was retried through
    assert webhooks.dead_letters(control, TENANT) == []

    # NATS JetStream: each event exactly once (a repeat after the kill is dropped by its Nats-Msg-Id)
    messages = stream_messages(stream)
    assert Counter(h["Nats-Msg-Id"] for h, _ in messages) == Counter(ids)
    assert [json.loads(body)["id"] for _, body in messages] == [h["Nats-Msg-Id"] for h, _ in messages]
    assert all(e.published_at is not None for e in outbox)
