"""Builds the Studio starts: the intent is submitted and claimed through the lifecycle use case, then
`factory build --claim` runs as a detached process and builds the claimed intent.

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
from infra.lifecycle.claims import process_claim
from infra.lifecycle.use_cases import Claim, rebuild, submit_and_build
from ontology.refs import ProductRef
from studio.views import StageProgress, stage_progress

__all__ = ["BuildJob", "BuildProgress", "DetachedBuildRunner", "progress", "start_build", "start_rebuild"]

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
    claim: str = ""
    """The Studio's claim on the intent, until the build process takes it over."""


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


@dataclass(frozen=True)
class DetachedBuildRunner:
    """The Studio's build runner: `factory build --claim` in a process of its own, which outlives the Studio."""

    home: Path

    def build(self, claim: Claim) -> BuildJob:
        tenant, product = claim.ref.tenant, claim.ref.product
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"studio-build-{tenant}-{product}-{time.strftime('%Y%m%d-%H%M%S')}.log"
        command = [sys.executable, "-P", "-m", "studio", "build", "--product", str(claim.ref), "--claim", claim.token]
        env = {**os.environ, "FACTORY_HOME": str(self.home)}
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
        return BuildJob(tenant, product, claim.intent_id, claim.revision, process.pid, str(log), claim=claim.token)


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
    """Submit the intent (a new revision when it changed), claim it, and start its build in the background."""
    ref = ProductRef(tenant, product)
    claim = process_claim("studio")
    return submit_and_build(
        control, DetachedBuildRunner(home), ref, intent, blueprint_yaml=blueprint_yaml, actor=actor, claim=claim
    ).result


def start_rebuild(control: ControlPlane, home: Path, ref: ProductRef, *, actor: str = "studio") -> BuildJob:
    """Build the product's latest intent again in the background (refused while it is being built)."""
    return rebuild(control, DetachedBuildRunner(home), ref, actor=actor, claim=process_claim("studio")).result


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
        if job.claim:  # a process that died before taking the claim over does not leave the intent held
            control.release_claim(job.intent_id, job.claim, detail[:500])
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
