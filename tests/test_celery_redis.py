"""Redis as the scaled profile's broker: a worker killed mid-step hands its step over after the visibility timeout.

Redis does not tell a consumer's loss: the step a killed worker had taken stays unacknowledged until it has been so
for `FACTORY_BROKER_VISIBILITY_S`, then an idle worker's sweep puts it back in the queue (see assets/workers.py).
A module of its own so that it runs beside tests/test_celery_workers.py, whose helpers it uses.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.processes import stop_with_children
from tests.servers import missing_server
from tests.test_celery_workers import _executions, _kill_mid_step, _scaled, _start, _worker_names
from tests.test_scaled_instance import _stopping_blueprint


@pytest.fixture
def redis_queue() -> Iterator[tuple[str, str]]:
    """The local Redis as a broker (127.0.0.1:6379, database 0) and a queue of this test's own, deleted after.

    Without a server the test is skipped, except in CI (CI=true), where it fails."""
    import redis

    url = "redis://127.0.0.1:6379/0"
    client = redis.Redis.from_url(url, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError:
        missing_server("no Redis server answers on 127.0.0.1:6379")
    queue = f"factory_test_{uuid.uuid4().hex[:12]}"
    try:
        yield url, queue
    finally:
        client.delete(queue, f"_kombu.binding.{queue}")
        client.close()


@pytest.mark.slow(minutes=3)
def test_with_redis_a_lost_workers_step_goes_to_another_after_the_visibility_timeout(
    factory_home: Path, postgres_url: str, redis_queue: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis as the broker: a worker killed (SIGKILL) mid-step leaves the step unacknowledged in Redis, with no
    connection to tell its loss; once it has been so for FACTORY_BROKER_VISIBILITY_S, the other worker's sweep
    puts it back in the queue and runs it, and the build ends as it should (after its blueprint)."""
    monkeypatch.setenv("FACTORY_BROKER_VISIBILITY_S", "60")  # longer than any of these steps, shorter than 900
    instance, control, env, logs = _scaled(factory_home, postgres_url, redis_queue, monkeypatch)
    python = sys.executable
    workers = {
        name: _start([python, "-m", "studio", "worker", "--name", name], env, logs / f"{name}.log")
        for name in _worker_names(redis_queue, 2)
    }
    record, _ = control.submit_intent("acme", "helpdesk", "", blueprint_yaml=_stopping_blueprint())
    daemon = _start([str(Path(python).with_name("dagster-daemon")), "run", "-m", "assets.definitions"], env,
                    logs / "daemon.log")  # fmt: skip
    killed: tuple[str, str] | None = None  # (run, step) of the first worker to begin a step, killed then
    lost = ""
    checked: set[tuple[str, str]] = set()
    try:
        deadline = time.monotonic() + 600  # Redis's default visibility (an hour) would not hand it over in time
        while control.intent(record.id or 0).status != "failed":
            assert time.monotonic() < deadline and daemon.poll() is None, (logs / "daemon.log").read_text()[-3000:]
            for name in [] if killed else list(workers):
                killed = killed or _kill_mid_step(instance, workers[name], checked, name)
                lost = lost or (name if killed else "")
            time.sleep(0.05 if killed is None else 1.0)
    finally:
        for process in [daemon, *workers.values()]:
            stop_with_children(process)
    assert killed is not None, (logs / "daemon.log").read_text()[-3000:]
    intent = control.intent(record.id or 0)
    assert "Steps failed: ['blueprint']" in (intent.detail or ""), intent.detail  # it ran to its end
    run_id, step = killed
    again = [w.split("@")[0] for s, w in _executions(instance, run_id) if s == step]
    assert len(again) == 2 and again[0] == lost and again[1] != lost, again  # run again, by the other worker
