"""The scaled profile's Dagster instance on a fresh PostgreSQL database: the daemon takes builds from the queue.

An intent is submitted to a control database on the same PostgreSQL database; the real `dagster-daemon` runs
the intake sensor, which requests the build; the QueuedRunCoordinator queues it and the daemon starts it. The
blueprint's policy check stops the build right after the blueprint (no service is deployed, so nothing is
left running), and the failure sensor marks the intent failed: the whole loop ran on PostgreSQL. A person's build (`factory build`'s
runner) is queued the same way and waits for its run, refused in one line while no daemon serves the queue.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType

from assets.builds import DagsterBuildRunner, dagster_home, factory_instance, instance_yaml
from bench.processes import stop_with_children
from infra.control import ControlPlane
from infra.lifecycle.claims import process_claim
from infra.lifecycle.use_cases import INTENT_TAG, TENANT_TAG, Claim
from ontology.config import settings
from ontology.errors import FactoryError
from tests.product_blueprints import clinic

ROOT = Path(__file__).resolve().parents[1]


def _stopping_blueprint(tenant: str = "acme", product: str = "helpdesk") -> str:
    data = clinic().model_copy(update={"tenant": tenant, "slug": product}).model_dump(mode="json")
    for entity in data["entities"]:
        for attr in entity["attributes"]:
            attr["pii"] = False  # the policy check fails: the build stops after the blueprint, quickly
    return yaml.safe_dump(data)


@pytest.mark.slow(minutes=2)
def test_the_scaled_instance_runs_a_build_from_its_queue(
    factory_home: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql+psycopg2://")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("FACTORY_PROFILE", "scaled")
    monkeypatch.setenv("FACTORY_DATABASE_URL", postgres_url)
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", plain)
    monkeypatch.setenv("FACTORY_MAX_RUNS", "2")
    folder = dagster_home(factory_home)
    written = (folder / "dagster.yaml").read_text()
    assert written == instance_yaml(settings()) and "QueuedRunCoordinator" in written and plain not in written
    instance = factory_instance(factory_home)
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    coordinator = instance.run_coordinator
    assert type(coordinator).__name__ == "QueuedRunCoordinator"
    assert coordinator.get_run_queue_config().max_concurrent_runs == 2  # type: ignore[attr-defined]

    control = ControlPlane()
    runner = DagsterBuildRunner(home=factory_home)
    mine, _ = control.submit_intent("globex", "helpdesk", "", blueprint_yaml=_stopping_blueprint("globex"),
                                    claim=process_claim("cli"))  # fmt: skip
    with pytest.raises(FactoryError, match="no Dagster daemon serves the run queue"):
        runner.build(Claim.of(mine))  # nothing would ever take it from the queue: refused before it is queued
    record, _ = control.submit_intent("acme", "helpdesk", "", blueprint_yaml=_stopping_blueprint())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DAGSTER_HOME": str(folder)}
    log = (factory_home / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-m", "assets.definitions"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            intent = control.intent(record.id or 0)
            if intent.status == "failed":
                break
            assert daemon.poll() is None, (factory_home / "daemon.log").read_text()[-2000:]
            time.sleep(2)
        queued = runner.build(Claim.of(control.intent(mine.id or 0)))  # `factory build`: through the queue too
    finally:
        stop_with_children(daemon)  # its code server outlives it: stopped too, by pid
    log.close()
    full = (factory_home / "daemon.log").read_text()
    tail = full[-3000:]
    assert intent.status == "failed" and "Steps failed: ['blueprint']" in (intent.detail or ""), tail
    runs = instance.get_runs()
    builds = [run for run in runs if run.tags.get(INTENT_TAG) == str(record.id)]
    assert len(builds) == 1 and builds[0].job_name == "lifecycle"  # one build of the intent, not two
    build = builds[0]
    assert build.tags[TENANT_TAG] == "acme" and build.tags["factory/trigger"] == "intake"
    kinds = [e.dagster_event.event_type for e in instance.all_logs(build.run_id) if e.dagster_event is not None]
    assert DagsterEventType.RUN_ENQUEUED in kinds, sorted({k.value for k in kinds})  # it waited in the queue
    launched = [line for line in full.splitlines() if "QueuedRunCoordinatorDaemon" in line and "Launched 1 run" in line]
    assert launched, tail  # and the daemon's queue took it out and started it
    assert kinds.index(DagsterEventType.RUN_ENQUEUED) < kinds.index(DagsterEventType.RUN_START)
    assert not queued.success and queued.error.startswith("blocking check(s) failed: policy (")  # as in-process
    assert queued.stages["blueprint"] == "failed" and queued.stages["artifacts"] == "skipped"
    run = instance.get_run_by_id(queued.run_id)
    assert run is not None and run.tags[TENANT_TAG] == "globex" and run.tags[INTENT_TAG] == str(mine.id)
    kinds = [e.dagster_event.event_type for e in instance.all_logs(queued.run_id) if e.dagster_event is not None]
    assert DagsterEventType.RUN_ENQUEUED in kinds
    assert control.intent(mine.id or 0).status == "failed"
    assert build.status.value == "FAILURE"
