"""The embedded profile's Dagster event log (assets.event_log): one engine per process, commits in WAL mode
without waiting for the disk, and events that other processes (a forked one among them) read back."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, execute_job, job, op, reconstructable

from assets.builds import factory_instance
from assets.event_log import FactoryEventLogStorage


@op
def greet() -> str:
    return "hello"


@job
def greeting() -> None:
    greet()


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DagsterInstance]:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("FACTORY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FACTORY_PROFILE", raising=False)
    made = factory_instance(tmp_path / "home")
    yield made
    made.dispose()


def test_the_embedded_instance_keeps_one_engine_and_commits_in_wal_mode(instance: DagsterInstance) -> None:
    storage = instance.event_log_storage
    assert isinstance(storage, FactoryEventLogStorage)
    with storage._connect() as first:
        assert first.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert first.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    with storage._connect():
        pass
    assert storage._pooled() is storage._pooled()  # one engine for every connection of this process


def test_a_run_s_events_are_read_by_another_process_and_a_forked_one(instance: DagsterInstance) -> None:
    with execute_job(reconstructable(greeting), instance=instance) as result:
        assert result.success
        run_id = result.run_id
    written = len(instance.all_logs(run_id))
    assert written > 5
    reader = "import sys; from dagster import DagsterInstance; print(len(DagsterInstance.get().all_logs(sys.argv[1])))"
    env = {**os.environ, "DAGSTER_HOME": str(Path(instance.root_directory))}
    shown = subprocess.run([sys.executable, "-c", reader, run_id], env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert int(shown.stdout.split()[-1]) == written
    storage = instance.event_log_storage
    assert isinstance(storage, FactoryEventLogStorage)
    parent_engine = storage._pooled()
    child = os.fork()
    if child == 0:  # the child makes its own engine and reads the same events
        ok = storage._pooled() is not parent_engine and len(instance.all_logs(run_id)) == written
        os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert storage._pooled() is parent_engine
