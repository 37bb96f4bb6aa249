"""Lifecycle benchmark: a business intent to a running, health-checked service through the Dagster lifecycle.

    python -m bench.lifecycle            # 3 builds, 3 no-op rebuilds, a batch of 10 products
    python -m bench.lifecycle --quick    # 1 build, 1 no-op rebuild, a batch of 3

Every product has 5 entities; each part runs in a fresh temporary FACTORY_HOME with the
in-process executor (unless --batch-executor says otherwise). Baseline measured in the same
run: the same work for the same products done directly, without Dagster, lineage, graph facts
or the control database (plan, render, test, git release, start with health check, smoke
workload), so the ratio is what the lifecycle's bookkeeping costs on top of the work itself.
Beside each wall time it reports the CPU seconds spent on it (this process and the subprocesses it
waited for: the test processes, the contract's copy of the service and schemathesis, migrations; not
a deployed service, which stays running), a figure that a busy machine changes much less.
Every service the benchmark starts is stopped at the end, also on failure or interrupt.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from assets.builds import BuildOutcome, build_product, factory_instance
from assets.definitions import LIFECYCLE
from generators.agents.contract import ContractDepth
from generators.agents.engineer import Engineer
from generators.agents.tester import Tester
from generators.agents.warm_interpreter import warm_interpreter
from generators.pipeline import Planner
from graph import KnowledgeGraph
from infra import runtime
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from infra.lifecycle.context import StageContext
from infra.lifecycle.contract import fuzz_copy
from infra.telemetry import smoke, wait_for_spans
from ontology.refs import new_trace_id

TENANT = "bench"
STAGES = [a.key.to_user_string() for a in LIFECYCLE]

# (slug, intent): with the default agents each intent gives a blueprint of exactly 5 entities that passes
# the blueprint checks (intents whose organisations get address/phone/email attributes fail the pii policy).
PRODUCTS: list[tuple[str, str]] = [
    (
        "tracker",
        "A project tracker where members own projects, projects have tasks, tasks have comments, "
        "members log time entries on tasks, and projects receive invoices",
    ),
    (
        "clinic",
        "A clinic scheduler where doctors see patients, patients book appointments with doctors, "
        "appointments have invoices, and invoices have payments",
    ),
    (
        "tickets",
        "An event ticketing service where organizers create events, customers buy tickets for events, "
        "and tickets have payments",
    ),
    (
        "courses",
        "A course platform where instructors teach courses, courses have lessons, students enroll in courses "
        "and submit assignments",
    ),
    (
        "billing",
        "A subscription billing service where customers own accounts, accounts have subscriptions to plans, "
        "subscriptions produce invoices",
    ),
    (
        "library",
        "A library system where members borrow books through loans, books belong to categories, "
        "and members write reviews of books",
    ),
    (
        "shop",
        "An online shop where customers place orders, orders have order items for products, "
        "and products belong to categories",
    ),
    (
        "helpdesk",
        "A helpdesk where customers open support tickets, agents handle tickets, tickets belong to categories, "
        "and customers leave reviews",
    ),
    (
        "fleet",
        "A fleet manager where drivers drive vehicles, vehicles make trips, vehicles have maintenance records, "
        "and trips produce invoices",
    ),
    (
        "school",
        "A school system where teachers teach courses, students enroll in courses, courses have lessons, "
        "and students receive grades",
    ),
    (
        "sales",
        "A sales app where customers place orders, orders have order items for products, and orders have payments",
    ),
    (
        "recipes",
        "A recipe app where users write recipes, recipes belong to categories, users leave reviews, "
        "and users place orders",
    ),
]

# baseline steps and the lifecycle stages that do the same work
BASELINE_STEPS: dict[str, tuple[str, ...]] = {
    "plan": ("requirements", "blueprint"),
    "render": ("artifacts",),
    "test": ("validation",),
    "release": ("release",),
    "deploy": ("deployment",),
    "smoke": ("telemetry",),
}


@dataclass
class Build:
    """One timed build of one product through the lifecycle, and what it left running."""

    product: str
    seconds: float
    success: bool
    durations: dict[str, float]
    statuses: dict[str, str]
    entities: int
    revision: int | None
    commit: str | None
    pid: int | None
    url: str | None
    healthy: bool
    reused: int
    run_s: float
    error: str | None = None
    created: bool = True
    cpu_s: float = 0.0

    @property
    def in_stages(self) -> float:
        return sum(self.durations.get(stage, 0.0) for stage in STAGES)


@dataclass
class Run:
    """Everything the benchmark made: its temporary root and the baseline services still running."""

    root: Path
    services: list[runtime.ServiceProcess] = field(default_factory=list)


def cpu_s() -> float:
    """CPU seconds used so far by this process, by the subprocesses it has waited for, and by the runs of the
    validation's tools forked for it by its warm interpreter (children of that interpreter, not of this one)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    warm = warm_interpreter(start=False)
    forked = warm.children_cpu_s() if warm is not None and warm.alive() else 0.0
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + forked


def use_home(home: Path) -> Path:
    """Make `home` the factory's home (and its dagster folder Dagster's) for what follows."""
    home.mkdir(parents=True, exist_ok=True)
    for shared in ("FACTORY_DATABASE_URL", "OPENLINEAGE_URL"):  # everything stays inside the temporary home
        os.environ.pop(shared, None)
    os.environ["FACTORY_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    return home


def build(home: Path, product: str, text: str, executor: str) -> Build:
    """Submit the intent and build it as `factory build` does; the wall time covers both."""
    control = ControlPlane(None, home)
    start, cpu = time.perf_counter(), cpu_s()
    record, created = control.submit_intent(TENANT, product, text, actor="bench")
    assert record.id is not None
    control.set_intent_status(record.id, "building")
    outcome = build_product(TENANT, product, home=home, executor=executor)
    seconds, used = time.perf_counter() - start, cpu_s() - cpu
    built = _build(home, outcome, seconds, created)
    built.cpu_s = used
    return built


def _build(home: Path, outcome: BuildOutcome, seconds: float, created: bool) -> Build:
    """What the build did, its stage durations from the control database and its Dagster run's own time."""
    row = ControlPlane(None, home).product(outcome.tenant, outcome.product)
    stats = factory_instance(home).get_run_stats(outcome.run_id)
    run_s = (stats.end_time or 0.0) - (stats.start_time or 0.0)
    results = outcome.results
    summary = outcome.summary()
    deployed = results.deployment
    pid, url, workdir = (deployed.pid, deployed.url, deployed.workdir) if deployed else (None, None, None)
    healthy = bool(pid and url and workdir and runtime.alive(pid, Path(workdir)) and runtime.healthy(url))
    return Build(
        product=outcome.product,
        seconds=seconds,
        success=outcome.success,
        durations=row.duration_map() if row else {},
        statuses=outcome.stages,
        entities=len(results.blueprint.blueprint.entities) if results.blueprint else 0,
        revision=summary.revision,
        commit=summary.commit,
        pid=pid,
        url=url,
        healthy=healthy,
        reused=sum(1 for r in results.present().values() if r.reused),
        run_s=run_s,
        error=outcome.error,
        created=created,
    )


def baseline(run: Run, planner: Planner, product: str, text: str) -> dict[str, float]:
    """The same product's work done directly: plan, render, release, test (the product's suite with the shallow
    contract run beside it, as the validation does), start (health-checked), smoke."""
    home = run.root / "baseline"
    folder = home / "products" / product
    trace_id = new_trace_id()
    steps: dict[str, float] = {}
    cpu = cpu_s()
    start = time.perf_counter()
    bp = planner.propose(text, TENANT, product).blueprint
    steps["plan"] = time.perf_counter() - start

    start = time.perf_counter()
    rendered = Engineer().render(bp, folder / "render", trace_id)
    steps["render"] = time.perf_counter() - start

    start = time.perf_counter()  # released before the tests run, so that no test cache is committed
    repo = ProductRepository(home, TENANT, product)
    result = repo.release(
        rendered.out_dir,
        trace_id=trace_id,
        blueprint_hash=bp.hash,
        template=f"{rendered.pack}@{rendered.version}",
        revision=1,
    )
    steps["release"] = time.perf_counter() - start

    start = time.perf_counter()
    ctx = StageContext(home, TENANT, product)
    with ThreadPoolExecutor(1) as pool:
        fuzzing = pool.submit(fuzz_copy, ctx, rendered.out_dir, trace_id, ContractDepth.SHALLOW)
        report = Tester().test(rendered.out_dir, timeout_s=600)
        contract = fuzzing.result()
    steps["test"] = time.perf_counter() - start
    if not report.ok:
        raise RuntimeError(f"baseline: the tests of {product} failed: {report.output[-500:]}")
    if not contract.ok:
        raise RuntimeError(f"baseline: the contract of {product} does not hold: {contract.summary()}")

    start = time.perf_counter()
    workdir = repo.export(result.commit, home / "releases" / f"{product}-{result.commit[:12]}")
    local = runtime.LocalRuntime(home)
    service = local.start(workdir, name=f"{TENANT}-{product}-dev", trace_id=trace_id)
    run.services.append(service)
    steps["deploy"] = time.perf_counter() - start

    start = time.perf_counter()
    headers = local.tokens(service.name).headers(TENANT)
    workload = smoke(service.url, tenant=TENANT, trace_id=trace_id, rounds=2, headers=headers)
    wait_for_spans(service.telemetry_path, trace_id=trace_id, count=workload.requests, since=workload.started_at)
    steps["smoke"] = time.perf_counter() - start
    used = cpu_s() - cpu  # before the service is stopped and reaped, as a build leaves its service running

    runtime.stop(service.pid, service.workdir)
    run.services.remove(service)
    steps["total"] = sum(steps.values())
    steps["cpu"] = used
    return steps


def stop_services(run: Run) -> tuple[int, list[int]]:
    """Stop every service the run deployed; return how many, and the pids of processes still left under its root."""
    stopped = 0
    for service in list(run.services):
        stopped += runtime.stop(service.pid, service.workdir)
        run.services.remove(service)
    for home in sorted(p for p in run.root.iterdir() if (p / "control.db").exists()):
        for record in ControlPlane(None, home).deployments():
            if record.pid and record.workdir:
                stopped += runtime.stop(record.pid, Path(record.workdir))
    left = _processes_under(run.root)
    for pid, cwd in left.items():  # anything else still running in our folders is a leak; it is ours to stop
        runtime.stop(pid, cwd)
    return stopped, sorted(left)


def _processes_under(root: Path) -> dict[int, Path]:
    """Processes (other than this one) whose working folder is inside `root`."""
    found: dict[int, Path] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd.is_relative_to(root):
            found[int(entry.name)] = cwd
    return found


def median(values: Iterable[float]) -> float:
    items = list(values)
    return statistics.median(items) if items else float("nan")


GOALS: dict[str, tuple[str, float]] = {
    "build_median_s": ("<=", 15),
    "build_success_share": (">=", 1),
    "build_healthy_share": (">=", 1),
    "noop_rebuild_median_s": ("<=", 3),
    "noop_commit_unchanged_share": (">=", 1),
    "noop_pid_unchanged_share": (">=", 1),
    "noop_all_stages_reused_share": (">=", 1),
    "batch_success_share": (">=", 1),
    "leaked_processes": ("<=", 0),
}


def report(figures: dict[str, float]) -> str:
    """The figures as a table, each with its goal and whether it was met."""
    out = [f"{'figure':36} {'value':>12}   goal"]
    for name, value in figures.items():
        goal = ""
        if name in GOALS:
            op, target = GOALS[name]
            met = value >= target if op == ">=" else value <= target
            goal = f"{op} {target:g}  {'met' if met else 'MISSED'}"
        out.append(f"{name:36} {value:>12,.2f}   {goal}")
    return "\n".join(out)


def stage_table(builds: list[Build], noops: list[Build], steps: list[dict[str, float]]) -> str:
    """Median seconds per lifecycle stage (build and no-op rebuild) next to the baseline's step for the same work."""
    paired = {stages[0]: step for step, stages in BASELINE_STEPS.items()}
    spanned = {step: "+".join(stages) for step, stages in BASELINE_STEPS.items()}
    out = [f"{'stage':14} {'build s':>9} {'no-op s':>9}   baseline (direct) s"]
    for stage in STAGES:
        line = f"{stage:14} {median(b.durations.get(stage, 0.0) for b in builds):>9.2f}"
        line += f" {median(b.durations.get(stage, 0.0) for b in noops):>9.2f}" if noops else f" {'-':>9}"
        if stage in paired and steps:
            step = paired[stage]
            line += f"   {median(s[step] for s in steps):.2f} ({step}, vs {spanned[step]})"
        out.append(line)
    for label, part in (
        ("run, no stage", lambda b: b.run_s - b.in_stages),
        ("refresh+intake", lambda b: b.seconds - b.run_s),
        ("wall", lambda b: b.seconds),
    ):
        line = f"{label:14} {median(part(b) for b in builds):>9.2f}"
        out.append(line + (f" {median(part(b) for b in noops):>9.2f}" if noops else ""))
    out.append("(run, no stage: the Dagster lifecycle run's time outside the stages' own bodies;")
    out.append(" refresh+intake: submitting the intent and starting the run; the knowledge stage refreshes insights)")
    return "\n".join(out)


def describe(label: str, b: Build) -> None:
    state = "ok" if b.success else f"FAILED: {b.error}"
    cpu = f" ({b.cpu_s:.1f} s CPU)" if b.cpu_s else ""  # the batch's builds are not measured one by one
    print(
        f"  {label} {b.product}: {b.seconds:.1f} s{cpu}, {b.entities} entities, r{b.revision}, "
        f"commit {(b.commit or '-')[:10]}, pid {b.pid}, healthy {b.healthy}, {b.reused}/{len(STAGES)} reused, {state}",
        flush=True,
    )


def measure(run: Run, args: argparse.Namespace) -> tuple[dict[str, float], str]:
    """Builds, no-op rebuilds and the baseline in one home, then the batch in another; the figures."""
    home = use_home(run.root / "builds")
    chosen = PRODUCTS[: args.builds]
    builds: list[Build] = []
    steps: list[dict[str, float]] = []
    planner = Planner.from_env(KnowledgeGraph(run.root / "baseline"))
    print(f"builds of {len(chosen)} product(s) and the baseline, in {home}", flush=True)
    for product, text in chosen:  # interleaved, so that the machine's load falls on both alike
        builds.append(build(home, product, text, "in_process"))
        describe("build", builds[-1])
        steps.append(baseline(run, planner, product, text))
        print(f"  baseline {product}: {steps[-1]['total']:.1f} s ({steps[-1]['cpu']:.1f} s CPU)", flush=True)
    first = {b.product: b for b in builds}
    noops: list[Build] = []
    for product, text in chosen:
        noops.append(build(home, product, text, "in_process"))
        describe("no-op", noops[-1])

    batch_home = use_home(run.root / "batch")
    batch = PRODUCTS[: args.batch]
    print(f"batch of {len(batch)} products ({args.batch_executor} executor, one after another) in {batch_home}")
    control = ControlPlane(None, batch_home)
    batch_builds: list[Build] = []
    start = time.perf_counter()
    for product, text in batch:
        control.submit_intent(TENANT, product, text, actor="bench")
    for product, _ in batch:
        record = control.latest_intent(TENANT, product)
        assert record is not None and record.id is not None
        control.set_intent_status(record.id, "building")
        begin = time.perf_counter()
        outcome = build_product(TENANT, product, home=batch_home, executor=args.batch_executor)
        batch_builds.append(_build(batch_home, outcome, time.perf_counter() - begin, True))
        describe("batch", batch_builds[-1])
    batch_total = time.perf_counter() - start

    n = len(builds)
    figures: dict[str, float] = {
        "products_built": n,
        "entities_per_product": median(b.entities for b in builds),
        "build_median_s": median(b.seconds for b in builds),
        "build_cpu_median_s": median(b.cpu_s for b in builds),
        "build_first_s": builds[0].seconds,  # includes loading the embedding model into this process
        "build_success_share": sum(b.success for b in builds) / n,
        "build_healthy_share": sum(b.healthy for b in builds) / n,
        "build_run_outside_stages_median_s": median(b.run_s - b.in_stages for b in builds),
        "build_refresh_and_intake_median_s": median(b.seconds - b.run_s for b in builds),
        "noop_rebuild_median_s": median(b.seconds for b in noops),
        "noop_in_stages_median_s": median(b.in_stages for b in noops),
        "noop_commit_unchanged_share": sum(b.commit == first[b.product].commit and not b.created for b in noops) / n,
        "noop_pid_unchanged_share": sum(b.pid == first[b.product].pid and b.healthy for b in noops) / n,
        "noop_all_stages_reused_share": sum(b.reused == len(STAGES) for b in noops) / n,
        "batch_products": len(batch_builds),
        "batch_total_s": batch_total,
        "batch_per_product_s": batch_total / len(batch_builds),
        "batch_success_share": sum(b.success for b in batch_builds) / len(batch_builds),
        "baseline_direct_median_s": median(s["total"] for s in steps),
        "baseline_direct_cpu_median_s": median(s["cpu"] for s in steps),
        "load_average_1min": os.getloadavg()[0],
    }
    figures["lifecycle_vs_direct_ratio"] = figures["build_median_s"] / figures["baseline_direct_median_s"]
    figures["lifecycle_vs_direct_cpu_ratio"] = figures["build_cpu_median_s"] / figures["baseline_direct_cpu_median_s"]
    for stage in STAGES:
        figures[f"stage_{stage}_median_s"] = median(b.durations.get(stage, 0.0) for b in builds)
    for step in BASELINE_STEPS:
        figures[f"baseline_{step}_median_s"] = median(s[step] for s in steps)
    return figures, stage_table(builds, noops, steps)


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", type=int, default=3, help="products built (and rebuilt) for the medians")
    parser.add_argument("--batch", type=int, default=10, help="products in the batch")
    parser.add_argument("--batch-executor", choices=("in_process", "multiprocess"), default="in_process")
    parser.add_argument("--quick", action="store_true", help="1 build and a batch of 3")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.builds, args.batch = 1, 3
    if not (1 <= args.builds <= len(PRODUCTS) and 1 <= args.batch <= len(PRODUCTS)):
        parser.error(f"--builds and --batch take 1 to {len(PRODUCTS)} products")
    signal.signal(signal.SIGTERM, _interrupted)  # a killed benchmark still stops its services
    run = Run(Path(tempfile.mkdtemp(prefix="bench-lifecycle-")))
    figures: dict[str, float] = {}
    stages = ""
    try:
        figures, stages = measure(run, args)
    finally:
        stopped, leaked = stop_services(run)
        shutil.rmtree(run.root, ignore_errors=True)
        print(f"stopped {stopped} service(s); processes left behind: {leaked or 'none'}", file=sys.stderr)
    figures["services_stopped"] = stopped
    figures["leaked_processes"] = len(leaked)
    print(report(figures))
    print()
    print(stages)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
