"""Run the lifecycle for one product through the Dagster instance under $FACTORY_HOME.

`factory build` and the Studio call `build_product`; it materializes the same assets the
Dagster UI shows (the runs appear there), then refreshes the factory insights.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import DagsterEvent, DagsterInstance, execute_job, reconstructable

from assets.definitions import LIFECYCLE, lifecycle_job, refresh_job
from assets.stages import PRODUCTS, partition_key
from graph.files import FileLock, write_atomically
from infra.control import ControlPlane
from infra.workspace import ProductWorkspace
from ontology.config import factory_home

__all__ = ["BuildOutcome", "build_product", "dagster_home", "factory_instance"]

_TEMPLATE_YAML = Path(__file__).resolve().parent.parent / "dagster.yaml"
_DEFAULT_YAML = "telemetry:\n  enabled: false\n"


def dagster_home(home: Path | None = None) -> Path:
    """Point DAGSTER_HOME at `<home>/dagster` (unless set) and give it the repository's dagster.yaml."""
    folder = Path(os.environ.get("DAGSTER_HOME") or (home or factory_home()) / "dagster").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(folder)
    target = folder / "dagster.yaml"
    if not target.exists():  # several processes may start at once: each writes whole files only
        write_atomically(target, _TEMPLATE_YAML.read_bytes() if _TEMPLATE_YAML.is_file() else _DEFAULT_YAML.encode())
    return folder


def factory_instance(home: Path | None = None) -> DagsterInstance:
    """The Dagster instance whose runs, event logs and schedules live under `<home>/dagster`.

    Opening an instance creates and migrates its SQLite storage the first time; builds started
    together would race to do it, so the opening is serialised by a lock file beside it.
    """
    with FileLock(dagster_home(home) / "instance.lock").exclusive():
        return DagsterInstance.get()


@dataclass
class BuildOutcome:
    """What one build did: each stage's status and output, its checks, and where the product lives."""

    tenant: str
    product: str
    run_id: str
    success: bool
    seconds: float
    stages: dict[str, str] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None

    @property
    def trace_id(self) -> str | None:
        intent = self.outputs.get("intent")
        return intent["trace_id"] if intent else None

    def summary(self) -> dict[str, Any]:
        """The figures people ask about first, as JSON-able data."""
        out = self.outputs
        validation = out.get("validation", {})
        telemetry = out.get("telemetry", {})
        return {
            "tenant": self.tenant,
            "product": self.product,
            "success": self.success,
            "trace_id": self.trace_id,
            "revision": out.get("intent", {}).get("revision"),
            "run_id": self.run_id,
            "seconds": round(self.seconds, 2),
            "stages": self.stages,
            "checks": self.checks,
            "repository": out.get("release", {}).get("repository"),
            "commit": out.get("release", {}).get("commit"),
            "new_commit": bool(out.get("release", {}).get("created")) and not out.get("release", {}).get("reused"),
            "restarted": "deployment" in out and not out["deployment"].get("reused"),
            "service_url": out.get("deployment", {}).get("url"),
            "pid": out.get("deployment", {}).get("pid"),
            "tests": {k: validation.get(k) for k in ("passed", "failed", "errors")} if validation else None,
            "slo": {
                "p50_ms": telemetry["overall"]["p50_ms"],
                "p95_ms": telemetry["overall"]["p95_ms"],
                "error_rate": telemetry["overall"]["error_rate"],
                "breaches": telemetry["breaches"],
            }
            if telemetry
            else None,
            "error": self.error,
        }


_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # the summary says what failed


def _reason(event: DagsterEvent) -> str:
    """`<stage>: <what went wrong>`, from the innermost error of a failed step."""
    error = event.step_failure_data.error
    while error is not None and error.cause is not None:
        error = error.cause
    message = error.message.strip() if error is not None else "failed"
    first = message.splitlines()[0] if message else "failed"
    return f"{event.step_key}: {first.split(': ', 1)[-1] if first.count(':') else first}"


def _executor(name: str) -> dict[str, Any]:
    """Run config for the executor: in_process (fastest for one product) or multiprocess (a process per step)."""
    if name == "in_process":
        return {"execution": {"config": {"in_process": {}}}, **_QUIET}
    if name == "multiprocess":
        # Each step runs in a process forked from a server that has already imported the definitions,
        # so a step does not pay the seconds of importing dagster and the factory's packages again.
        start = {"forkserver": {"preload_modules": ["assets.definitions"]}}
        return {"execution": {"config": {"multiprocess": {"max_concurrent": 2, "start_method": start}}}, **_QUIET}
    raise ValueError(f"unknown executor {name!r}: use in_process or multiprocess")


@contextmanager
def _keeping_sigterm_handler() -> Iterator[None]:
    """Puts the caller's SIGTERM handler back after in-process Dagster runs, which leave SIGTERM with
    SIGINT's handler: ignored in a program started from a background shell, which a kill then cannot stop."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread has signal handlers to keep
        return
    saved = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if saved is not None:
            signal.signal(signal.SIGTERM, saved)


def build_product(tenant: str, product: str, *, home: Path | None = None, executor: str = "in_process") -> BuildOutcome:
    """Materialize the lifecycle for the product's latest submitted intent, then refresh the insights."""
    with _keeping_sigterm_handler():
        return _build_product(tenant, product, home, executor)


def _build_product(tenant: str, product: str, home: Path | None, executor: str) -> BuildOutcome:
    root = (home or factory_home()).resolve()
    instance = factory_instance(root)
    key = partition_key(tenant, product)
    if not instance.has_dynamic_partition(PRODUCTS.name or "product", key):
        instance.add_dynamic_partitions(PRODUCTS.name or "product", [key])
    started = time.perf_counter()
    with execute_job(
        reconstructable(lifecycle_job),
        instance=instance,
        run_config=_executor(executor),
        tags={"dagster/partition": key, "factory/trigger": "cli"},
        raise_on_error=False,
    ) as result:
        success = result.success
        run_id = result.run_id
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        failures = [_reason(e) for e in result.all_events if e.is_step_failure]
        stages: dict[str, str] = {}
        for e in result.all_events:
            if e.step_key and (e.is_step_success or e.is_step_failure or e.is_step_skipped):
                stages[e.step_key] = "done" if e.is_step_success else "failed" if e.is_step_failure else "skipped"
    control = ControlPlane(None, root)
    workspace = ProductWorkspace(root, tenant, product)
    names = [a.key.to_user_string() for a in LIFECYCLE]
    outputs = {n: v for n in names if (v := workspace.load_output(n)) is not None}
    trace = outputs.get("intent", {}).get("trace_id")
    outputs = {n: v for n, v in outputs.items() if v.get("trace_id") == trace}  # this build's, not an older one's
    stages = {n: stages.get(n, "skipped") for n in names}
    failed_check = [name for name, ok in checks.items() if not ok]
    error = None
    if not success:
        error = (
            f"blocking check(s) failed: {', '.join(failed_check)}" if failed_check else "; ".join(failures) or "failed"
        )
        latest = control.latest_intent(tenant, product)
        if latest is not None and latest.id is not None:
            control.set_intent_status(latest.id, "failed", detail=error[:500])
        control.upsert_product(tenant, product, status="failed")
    if any(not v.get("reused") for v in outputs.values()):  # a build that did work refreshes the insights
        with execute_job(
            reconstructable(refresh_job), instance=instance, run_config=_executor("in_process"), raise_on_error=False
        ):
            pass
    return BuildOutcome(tenant, product, run_id, success, time.perf_counter() - started, stages, checks, outputs, error)
