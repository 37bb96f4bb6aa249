"""Builds the Studio starts: the intent is recorded, then `factory build` runs as a detached process.

The Studio never waits on a build; it follows one by reading the control database (the intent's
status, the product's stage map) and the build's log under `$FACTORY_HOME/logs/`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from infra.control import ControlPlane
from ontology.refs import check_slug
from studio.views import StageProgress, stage_progress

__all__ = ["BuildJob", "BuildProgress", "progress", "start_build"]

_PROCESSES: dict[int, subprocess.Popen[bytes]] = {}
"""Build processes started by this Studio process, so their exit can be reaped and read."""


@dataclass(frozen=True)
class BuildJob:
    """A build the Studio started: which intent, which process, which log."""

    tenant: str
    product: str
    intent_id: int
    revision: int
    pid: int
    log: str
    started: float = field(default_factory=time.time)


@dataclass(frozen=True)
class BuildProgress:
    """Where a started build stands."""

    status: str
    stages: dict[str, str]
    progress: StageProgress
    finished: bool
    failed: bool
    detail: str
    trace_id: str | None
    run_id: str | None
    log_tail: str


def start_build(
    control: ControlPlane,
    home: Path,
    tenant: str,
    product: str,
    intent: str,
    *,
    blueprint_yaml: str | None = None,
    actor: str = "studio",
) -> BuildJob:
    """Record the intent (a new revision when it changed) and start `factory build` for it in the background."""
    tenant, product = check_slug(tenant, "tenant"), check_slug(product, "product")
    record, _created = control.submit_intent(tenant, product, intent, blueprint_yaml=blueprint_yaml, actor=actor)
    assert record.id is not None
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log = logs / f"studio-build-{tenant}-{product}-{stamp}.log"
    command = [sys.executable, "-P", "-m", "studio", "build", "--tenant", tenant, "--product", product]
    if blueprint_yaml is not None:
        blueprint_file = logs / f"studio-blueprint-{tenant}-{product}-{stamp}.yaml"
        blueprint_file.write_text(record.blueprint_yaml or blueprint_yaml, encoding="utf-8")
        command += ["--blueprint", str(blueprint_file)]
    if record.text:
        command += ["--", record.text]
    env = {**os.environ, "FACTORY_HOME": str(home)}
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(logs),  # with -P, nothing in it shadows our packages (home holds a graph/ folder)
            start_new_session=True,  # the build outlives a Studio restart and is not stopped by its Ctrl-C
        )
    _PROCESSES[process.pid] = process
    return BuildJob(tenant, product, record.id, record.revision, process.pid, str(log))


def _running(pid: int) -> bool:
    process = _PROCESSES.get(pid)
    if process is not None:
        return process.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _tail(path: str, lines: int = 30) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16_000))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def progress(control: ControlPlane, job: BuildJob) -> BuildProgress:
    """Read where the job's build stands from the control database (and its process and log)."""
    alive = _running(job.pid)  # before reading: a build that ends meanwhile has recorded its outcome
    intent = control.intent(job.intent_id)
    product = control.product(job.tenant, job.product)
    building = intent.status == "building"
    stages = product.stage_map() if product is not None and (building or intent.status in ("built", "failed")) else {}
    finished = intent.status in ("built", "failed")
    failed = intent.status == "failed"
    detail = intent.detail or ""
    if not finished and not alive:
        finished = failed = True  # the process ended without recording an outcome (bad input, killed, ...)
        tail = _tail(job.log, 5).strip().splitlines()
        detail = tail[-1] if tail else "the build process stopped"
    return BuildProgress(
        status="failed" if failed else intent.status,
        stages=stages,
        progress=stage_progress(stages),
        finished=finished,
        failed=failed,
        detail=detail,
        trace_id=intent.trace_id,
        run_id=intent.run_id,
        log_tail=_tail(job.log),
    )
