"""Run the lifecycle for one product through the Dagster instance under $FACTORY_HOME.

`factory build` and the Studio call `build_product`; it materializes the same assets the
Dagster UI shows (the runs appear there). The knowledge stage refreshes the factory insights itself,
so a build is one Dagster run. `factory contract` calls `run_deep_contract`: the `deep_contract` job
the `after_build` sensor requests after every build, run now in this process.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from dagster import (
    AssetCheckEvaluation,
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    QueuedRunCoordinator,
    execute_job,
    reconstructable,
)

from assets.definitions import LIFECYCLE, deep_contract_job, lifecycle_job
from assets.stages import PRODUCTS, first_issue, partition_key
from graph.files import FileLock, write_atomically
from infra.control import ControlPlane
from infra.lifecycle.bookkeeping import settle_publishes
from infra.lifecycle.outcome import BuildResults, BuildSummary
from infra.lifecycle.results import ContractResult
from infra.lifecycle.use_cases import INTENT_TAG, TENANT_TAG, Claim
from infra.workspace import ProductWorkspace
from ontology.config import Settings, factory_home, settings
from ontology.errors import FactoryError, NotFoundError
from ontology.refs import ProductRef

__all__ = [
    "BuildOutcome",
    "ContractOutcome",
    "DagsterBuildRunner",
    "build_product",
    "dagster_home",
    "factory_instance",
    "instance_yaml",
    "run_deep_contract",
]

_TEMPLATE_YAML = Path(__file__).resolve().parent.parent / "dagster.yaml"
_DEFAULT_YAML = "telemetry:\n  enabled: false\n"
_OURS = "# Dagster instance settings for the factory"
"""How a dagster.yaml the factory wrote begins: one without it is a person's, and is left as it is."""


def instance_yaml(config: Settings) -> str:
    """The dagster.yaml of the profile: the repository's (SQLite under DAGSTER_HOME, runs started where they
    are asked for) when embedded; when scaled, dagster-postgres storage and the QueuedRunCoordinator with
    its run limit and a per-tenant limit on the `factory/tenant` tag, served by the daemon."""
    if not config.scaled:
        return _TEMPLATE_YAML.read_text() if _TEMPLATE_YAML.is_file() else f"{_OURS}.\n{_DEFAULT_YAML}"
    scaled = {
        "storage": {"postgres": {"postgres_url": {"env": "DAGSTER_POSTGRES_URL"}}},
        "run_coordinator": {
            "module": "dagster._core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {
                "max_concurrent_runs": config.max_runs,
                "tag_concurrency_limits": [
                    {"key": TENANT_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": config.tenant_runs}
                ],
            },
        },
        "telemetry": {"enabled": False},
    }
    header = (
        f"{_OURS}, scaled profile (FACTORY_PROFILE=scaled): written by the factory from its environment.\n"
        "# Runs, event logs and schedules live in PostgreSQL (DAGSTER_POSTGRES_URL); runs wait in Dagster's queue\n"
        "# and the daemon starts them (FACTORY_MAX_RUNS at once, FACTORY_TENANT_RUNS of one tenant).\n"
    )
    return header + yaml.safe_dump(scaled, sort_keys=False)


def dagster_home(home: Path | None = None) -> Path:
    """Point DAGSTER_HOME at `<home>/dagster` (unless set) and give it the profile's dagster.yaml.

    The factory rewrites a dagster.yaml it wrote when the profile or its limits change; one a person wrote
    (without the factory's first line) is kept as it is."""
    folder = Path(os.environ.get("DAGSTER_HOME") or (home or factory_home()) / "dagster").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(folder)
    target = folder / "dagster.yaml"
    wanted = instance_yaml(settings())
    present = target.read_text() if target.exists() else None
    if present is None or (present.startswith(_OURS) and present != wanted):
        write_atomically(target, wanted.encode())  # several processes may start at once: whole files only
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
    """What one build did: each stage's status and typed result, its checks, and where the product lives."""

    tenant: str
    product: str
    run_id: str
    success: bool
    seconds: float
    stages: dict[str, str] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    results: BuildResults = field(default_factory=BuildResults)
    error: str | None = None

    @property
    def trace_id(self) -> str | None:
        return self.results.intent.trace_id if self.results.intent else None

    def summary(self) -> BuildSummary:
        """The figures people ask about first."""
        return BuildSummary.of(
            self.results,
            tenant=self.tenant,
            product=self.product,
            success=self.success,
            run_id=self.run_id,
            seconds=self.seconds,
            stages=self.stages,
            checks=self.checks,
            error=self.error,
        )


_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # the summary says what failed


def _reason(event: DagsterEvent) -> str:
    """`<stage>: <what went wrong>`, from the innermost error of a failed step."""
    error = event.step_failure_data.error
    while error is not None and error.cause is not None:
        error = error.cause
    message = error.message.strip() if error is not None else "failed"
    first = message.splitlines()[0] if message else "failed"
    return f"{event.step_key}: {first.split(': ', 1)[-1] if first.count(':') else first}"


def _failed_checks(evaluations: Iterable[AssetCheckEvaluation]) -> str:
    """`blocking check(s) failed: NAME (its first issue), ...`, or "" when every check held."""
    failed = []
    for e in evaluations:
        if not e.passed:
            first = first_issue(e)
            failed.append(f"{e.check_name} ({first[:240]})" if first else e.check_name)
    return f"blocking check(s) failed: {', '.join(failed)}" if failed else ""


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


def _build_config(name: str) -> dict[str, Any]:
    """Run config of a build: the executor `name`, or, in the scaled profile with a broker, none (the lifecycle
    job's Celery executor is configured already: its steps run on the workers, see assets/workers.py)."""
    return dict(_QUIET) if settings().celery else _executor(name)


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


@dataclass(frozen=True)
class DagsterBuildRunner:
    """The lifecycle use cases' runner: a claimed intent is built by materializing the product's Dagster assets
    in the instance under the factory home, the same runs the Dagster UI shows."""

    home: Path | None = None
    executor: str = "in_process"
    trigger: str = "cli"

    def build(self, claim: Claim) -> BuildOutcome:
        tags = {**claim.tags(), "factory/trigger": self.trigger}
        return build_product(claim.ref.tenant, claim.ref.product, home=self.home, executor=self.executor, tags=tags)


def build_product(
    tenant: str,
    product: str,
    *,
    home: Path | None = None,
    executor: str = "in_process",
    tags: dict[str, str] | None = None,
) -> BuildOutcome:
    """Materialize the lifecycle for the claimed intent (the `factory/intent` tag; else the product's latest).

    The lifecycle use cases (`infra.lifecycle.use_cases`) call this through `DagsterBuildRunner` once they
    hold the intent's claim; call it directly only for an intent you have claimed.
    """
    with _keeping_sigterm_handler():
        return _build_product(tenant, product, home, executor, tags or {})


def _partition(instance: DagsterInstance, tenant: str, product: str) -> str:
    key = partition_key(tenant, product)
    if not instance.has_dynamic_partition(PRODUCTS.name or "product", key):
        instance.add_dynamic_partitions(PRODUCTS.name or "product", [key])
    return key


@dataclass
class ContractOutcome:
    """What one deep contract run did: its Dagster run, whether it held, and its stored result."""

    run_id: str
    success: bool
    result: ContractResult | None
    error: str | None = None


QUEUE_WAIT_S = 3600.0
"""How long `factory build` waits, in the scaled profile, for its queued run to finish."""
_DAEMON_SILENT_S = 120.0


def _queue_served(instance: DagsterInstance) -> bool:
    """Whether a Dagster daemon's run-queue coordinator has reported lately."""
    beat = instance.get_daemon_heartbeats().get("QUEUED_RUN_COORDINATOR")
    return beat is not None and time.time() - beat.timestamp <= _DAEMON_SILENT_S


def wait_for_run_queue(home: Path, timeout_s: float) -> None:
    """Wait until a daemon serves the run queue (a daemon just started reports within seconds)."""
    instance = factory_instance(home)
    try:
        deadline = time.monotonic() + timeout_s
        while not _queue_served(instance):
            if time.monotonic() > deadline:
                raise FactoryError(f"the Dagster daemon did not serve the run queue within {timeout_s:.0f} s")
            time.sleep(1.0)
    finally:
        instance.dispose()


def _through_the_queue(
    instance: DagsterInstance, tags: dict[str, str], run_config: dict[str, Any]
) -> tuple[str, list[DagsterEvent]]:
    """Submit the lifecycle run to Dagster's queue (the scaled profile) and wait for the daemon to run it."""
    from dagster._cli.job import execute_launch_command
    from dagster_shared.cli import WorkspaceOpts

    if not _queue_served(instance):
        raise FactoryError(
            "no Dagster daemon serves the run queue (FACTORY_PROFILE=scaled): start it with `factory up` "
            "or `dagster-daemon run -m assets.definitions`, then build again"
        )
    run = execute_launch_command(
        instance=instance,
        workspace_opts=WorkspaceOpts(module_name=("assets.definitions",)),
        job_name="lifecycle",
        tags=json.dumps(tags),
        config_json=json.dumps(run_config),
    )
    deadline = time.monotonic() + QUEUE_WAIT_S
    while time.monotonic() < deadline:
        current = instance.get_run_by_id(run.run_id)
        if current is not None and current.is_finished:
            break
        time.sleep(1.0)
    else:
        raise FactoryError(f"build run {run.run_id} did not finish within {QUEUE_WAIT_S:.0f} s: see the Dagster UI")
    events = [e.dagster_event for e in instance.all_logs(run.run_id) if e.dagster_event is not None]
    return run.run_id, events


def _succeeded(instance: DagsterInstance, run_id: str) -> bool:
    run = instance.get_run_by_id(run_id)
    return run is not None and run.status == DagsterRunStatus.SUCCESS


def run_deep_contract(
    tenant: str, product: str, *, home: Path | None = None, starting: Callable[[], None] | None = None
) -> ContractOutcome:
    """Run the deep contract stage now, in this process, on the product's current dev deployment: the
    `deep_contract` job (the run appears in the Dagster UI like the ones the sensor requests). `starting` is
    called once the product is known to have a deployment, just before the run."""
    root = (home or factory_home()).resolve()
    workspace = ProductWorkspace(root, tenant, product)
    if workspace.load_output("deployment") is None:
        raise NotFoundError(f"{tenant}/{product} has no dev deployment yet: build it first")
    if starting is not None:
        starting()
    with _keeping_sigterm_handler():
        instance = factory_instance(root)
        key = _partition(instance, tenant, product)
        with execute_job(
            reconstructable(deep_contract_job),
            instance=instance,
            run_config=_executor("in_process"),
            tags={"factory/trigger": "cli", "dagster/partition": key},
            raise_on_error=False,
        ) as run:
            success, run_id = run.success, run.run_id
            failures = [_reason(e) for e in run.all_events if e.is_step_failure]
            failed_checks = _failed_checks(run.get_asset_check_evaluations())
    stored = workspace.load_output("contract")
    result = ContractResult.model_validate(stored) if stored is not None and not failures else None
    error = None
    if not success:
        error = failed_checks or "; ".join(failures) or "failed"
    return ContractOutcome(run_id, success, result, error)


def _build_product(tenant: str, product: str, home: Path | None, executor: str, tags: dict[str, str]) -> BuildOutcome:
    root = (home or factory_home()).resolve()
    instance = factory_instance(root)
    key = _partition(instance, tenant, product)
    started = time.perf_counter()
    run_tags = {"factory/trigger": "cli", **tags, TENANT_TAG: tenant, "dagster/partition": key}
    if isinstance(instance.run_coordinator, QueuedRunCoordinator) and settings().scaled:
        run_id, events = _through_the_queue(instance, run_tags, _build_config(executor))
        success = _succeeded(instance, run_id)
    else:
        with execute_job(
            reconstructable(lifecycle_job),
            instance=instance,
            run_config=_build_config(executor),
            tags=run_tags,
            raise_on_error=False,
        ) as result:
            success, run_id, events = result.success, result.run_id, list(result.all_events)
    settle_publishes(ProductRef(tenant, product))  # one its in-process steps left running, if any
    check_event = DagsterEventType.ASSET_CHECK_EVALUATION
    evaluations = [e.asset_check_evaluation_data for e in events if e.event_type == check_event]
    checks = {e.check_name: e.passed for e in evaluations}
    failures = [_reason(e) for e in events if e.is_step_failure]
    stages: dict[str, str] = {}
    for e in events:
        if e.step_key and (e.is_step_success or e.is_step_failure or e.is_step_skipped):
            stages[e.step_key] = "done" if e.is_step_success else "failed" if e.is_step_failure else "skipped"
    control = ControlPlane(None, root)
    workspace = ProductWorkspace(root, tenant, product)
    names = [a.key.to_user_string() for a in LIFECYCLE]
    results = BuildResults.load(workspace)  # this build's results, not an older one's
    stages = {n: stages.get(n, "skipped") for n in names}
    error = None
    if not success:
        error = _failed_checks(evaluations) or "; ".join(failures) or "failed"
        claimed = tags.get(INTENT_TAG, "")
        failed = control.intent(int(claimed)) if claimed.isdigit() else control.latest_intent(tenant, product)
        if failed is not None and failed.id is not None:
            control.set_intent_status(failed.id, "failed", detail=error[:500])
        control.upsert_product(tenant, product, status="failed")
    return BuildOutcome(tenant, product, run_id, success, time.perf_counter() - started, stages, checks, results, error)
