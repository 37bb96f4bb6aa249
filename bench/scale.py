"""Scaling benchmark: builds per minute on the embedded profile against the scaled one with 1 and 2 Celery workers,
queue wait with many builds queued at once, and the SPARQL trace embedded against an Oxigraph server.

    python -m bench.scale                        # 8 builds per profile, 20 queued, 200 products for the trace
    python -m bench.scale --builds 4 --queued 10 # smaller, when the machine is busy
    python -m bench.scale --queue-only           # only the queue wait (20 queued) and a worker's peak memory

Each profile runs in a fresh FACTORY_HOME with the real `dagster-daemon` (and, scaled, a fresh PostgreSQL
database on 127.0.0.1:5432, RabbitMQ on 127.0.0.1:5672 with a queue of its own, and `factory worker`
processes); the intents are submitted at once and the intake sensor builds them, as `factory up` does. The
builds are three-step ones (intent, requirements, blueprint: the blueprint's policy check stops them) so that
the figures are the platform's (queue, orchestration, workers, storage) rather than the generated products'
test suites. Baseline measured in the same run: the embedded profile (SQLite instance, runs started as they
come, multiprocess executor). The scaled figures are ratios against it; on a two-core machine they say what
the queue and the broker cost, not what more machines would add.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import yaml

from bench.kg import bench_graph, percentile
from bench.kg_baselines import server_trace
from bench.processes import stop_with_children

ROOT = Path(__file__).resolve().parents[1]
BROKER = "amqp://guest:guest@127.0.0.1:5672//"
TENANTS = ("acme", "globex", "initech", "umbrella")


def _blueprint(tenant: str, product: str) -> str:
    from tests.product_blueprints import clinic

    data = clinic().model_copy(update={"tenant": tenant, "slug": product}).model_dump(mode="json")
    for entity in data["entities"]:
        for attr in entity["attributes"]:
            attr["pii"] = False  # the policy check stops the build after its blueprint
    return yaml.safe_dump(data)


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    """A fresh PostgreSQL database (a SQLAlchemy psycopg URL), dropped afterwards."""
    import psycopg
    from psycopg import sql

    for user in ("postgres", "root"):
        admin = f"postgresql://{user}@127.0.0.1:5432/postgres"
        try:
            psycopg.connect(admin, connect_timeout=3).close()
            break
        except psycopg.Error:
            continue
    else:
        raise SystemExit("bench.scale needs PostgreSQL on 127.0.0.1:5432 (user postgres or root, trust)")
    name = f"factory_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def run_profile(label: str, builds: int, workers: int, scaled: bool, timeout_s: float = 1800) -> dict[str, float]:
    """Submit `builds` intents at once to a fresh home and measure until every one has finished."""
    with tempfile.TemporaryDirectory(prefix=f"bench-scale-{label}-") as scratch, contextlib.ExitStack() as stack:
        home = Path(scratch)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FACTORY_", "DAGSTER_"))}
        env |= {"FACTORY_HOME": str(home), "PYTHONPATH": str(ROOT), "DAGSTER_HOME": str(home / "dagster")}
        queue = f"factory_bench_{uuid.uuid4().hex[:12]}"
        if scaled:
            url = stack.enter_context(_postgres())
            env |= {
                "FACTORY_PROFILE": "scaled",
                "FACTORY_DATABASE_URL": url,
                "DAGSTER_POSTGRES_URL": url.replace("+psycopg://", "+psycopg2://"),
                "FACTORY_BROKER_URL": BROKER,
                "FACTORY_WORKER_QUEUE": queue,
                "FACTORY_MAX_RUNS": "3",
                "FACTORY_TENANT_RUNS": "1",
            }
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            return _measure(label, home, env, builds, workers, timeout_s)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            if scaled:
                _delete_queue(queue)


def _delete_queue(queue: str) -> None:
    from amqp.exceptions import ChannelError
    from kombu import Connection

    with Connection(BROKER, connect_timeout=5) as connection, contextlib.suppress(ChannelError):
        connection.default_channel.queue_delete(queue)


def _measure(
    label: str, home: Path, env: dict[str, str], builds: int, workers: int, timeout_s: float
) -> dict[str, float]:
    from dagster import DagsterEventType

    from assets.builds import factory_instance
    from infra.control import ControlPlane

    instance = factory_instance(home)
    control = ControlPlane(None, home)
    logs = home / "logs"
    logs.mkdir()
    python = sys.executable
    started: list[subprocess.Popen[bytes]] = []

    def start(command: list[str], name: str) -> None:
        with (logs / f"{name}.log").open("wb") as out:
            started.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True))  # fmt: skip

    try:
        for n in range(workers):
            start([python, "-m", "studio", "worker", "--name", f"bench{n + 1}"], f"worker{n + 1}")
        workers_started = list(started)
        start([str(Path(python).with_name("dagster-daemon")), "run", "-m", "assets.definitions"], "daemon")
        up = time.monotonic() + 300
        while "SENSOR" not in instance.get_daemon_heartbeats():  # the daemon's sensors are served
            if time.monotonic() > up:
                raise SystemExit(f"{label}: the daemon did not start within 300 s; see {logs}")
            time.sleep(1)
        time.sleep(10)  # the workers and the sensors' code server are up too
        begin = time.time()
        ids = [
            control.submit_intent(tenant, f"p{i:03d}", "", blueprint_yaml=_blueprint(tenant, f"p{i:03d}"))[0].id or 0
            for i in range(builds)
            for tenant in [TENANTS[i % len(TENANTS)]]
        ]
        deadline = time.monotonic() + timeout_s
        loads = []
        while not all(control.intent(i).status in ("failed", "built") for i in ids):
            loads.append(os.getloadavg()[0])
            if time.monotonic() > deadline:
                raise SystemExit(f"{label}: the builds did not finish within {timeout_s:.0f} s; see {logs}")
            for process in started:
                if process.poll() is not None:
                    raise SystemExit(f"{label}: a server stopped: see {logs}")
            time.sleep(0.5)
        elapsed = time.time() - begin
        waits, runs = [], 0
        for run in instance.get_runs():
            if run.job_name != "lifecycle":
                continue
            runs += 1
            times = {
                e.dagster_event.event_type: e.timestamp
                for e in instance.all_logs(run.run_id)
                if e.dagster_event is not None
                and e.dagster_event.event_type in (DagsterEventType.RUN_ENQUEUED, DagsterEventType.RUN_START)
            }
            if DagsterEventType.RUN_ENQUEUED in times and DagsterEventType.RUN_START in times:
                waits.append(times[DagsterEventType.RUN_START] - times[DagsterEventType.RUN_ENQUEUED])
        assert runs == builds, (label, runs, builds)
        figures = {
            f"{label}_builds": builds,
            f"{label}_seconds": elapsed,
            f"{label}_builds_per_min": builds * 60 / elapsed,
            f"{label}_load_mean": sum(loads) / max(1, len(loads)),  # the machine's 1-min load while they ran
        }
        if waits:
            figures[f"{label}_queue_wait_p50_s"] = percentile(waits, 50)
            figures[f"{label}_queue_wait_p95_s"] = percentile(waits, 95)
        if workers_started:  # read before they are stopped
            figures[f"{label}_worker_peak_rss_mib"] = max(peak_rss_mib(w.pid) for w in workers_started)
        return figures
    finally:
        for process in started:
            stop_with_children(process)
        instance.dispose()


def peak_rss_mib(pid: int) -> float:
    """The most resident memory process `pid` has held since it started (VmHWM), in MiB; 0 when it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _size(*paths: Path) -> int:
    """Bytes of the files and folders `paths` (a SQLite database with its write-ahead log, say)."""
    files = [p for path in paths for p in ([path] if path.is_file() else path.rglob("*") if path.exists() else [])]
    return sum(f.stat().st_size for f in files if f.is_file())


def footprint(text: str = "A helpdesk where customers open support tickets.") -> dict[str, float]:
    """What one full build (intent to a running service, embedded profile) leaves behind, part by part: the
    per-build figures the paper plan in docs/scaling.md multiplies."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-footprint-") as scratch:
        home = Path(scratch)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FACTORY_", "DAGSTER_"))}
        env |= {"FACTORY_HOME": str(home), "PYTHONPATH": str(ROOT)}
        factory = [sys.executable, "-m", "studio"]
        try:
            done = subprocess.run([*factory, "build", text, "--tenant", "acme", "--product", "helpdesk", "--json"],
                                  cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)  # fmt: skip
            summary = json.loads(done.stdout)
            if not summary.get("success"):
                raise SystemExit(f"the footprint build failed: {summary.get('error')}")
        finally:
            subprocess.run([*factory, "deployments", "stop", "acme/helpdesk"], cwd=ROOT,
                           env=env, capture_output=True, timeout=120)  # fmt: skip
        import sqlite3

        events = 0
        for db in (home / "dagster").rglob("*.db"):
            with contextlib.closing(sqlite3.connect(db)) as connection, contextlib.suppress(sqlite3.Error):
                events += connection.execute("SELECT COUNT(*) FROM event_logs").fetchone()[0]
        from graph import KnowledgeGraph

        stats = KnowledgeGraph(home, embedder=None).stats()
        return {
            "build_seconds": float(summary.get("seconds") or 0),
            "dagster_events": events,
            "dagster_bytes": _size(home / "dagster"),
            "control_bytes": _size(home / "control.db", home / "control.db-wal"),
            "git_bytes": _size(home / "repos"),
            "workspace_bytes": _size(home / "products") + _size(home / "workspaces"),
            "rdf_bytes": _size(home / "graph" / "rdf"),
            "kuzu_bytes": _size(home / "graph" / "kuzu"),
            "triples": float(stats.get("triples", 0)),
            "home_bytes": _size(home),
        }


def _check_servers() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=3).close()
    except OSError:
        raise SystemExit("bench.scale needs RabbitMQ on 127.0.0.1:5672 (guest/guest)") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", type=int, default=8, help="builds per profile for builds per minute")
    parser.add_argument("--queued", type=int, default=20, help="builds queued at once for the queue wait")
    parser.add_argument("--products", type=int, default=200, help="products in the graph for the trace")
    parser.add_argument("--footprint", action="store_true", help="also one full build's footprint, part by part")
    parser.add_argument("--queue-only", action="store_true",
                        help="only the queue wait and the workers' memory (--queued builds, 2 workers)")  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    _check_servers()
    figures: dict[str, float] = {}
    if args.queue_only:
        figures |= run_profile("queued_2w", args.queued, workers=2, scaled=True)
        figures["load_1min"] = os.getloadavg()[0]
        print(json.dumps(figures, indent=2) if args.json else _queue_line(args.queued, figures))
        return
    figures |= run_profile("embedded", args.builds, workers=0, scaled=False)
    figures |= run_profile("scaled_1w", args.builds, workers=1, scaled=True)
    figures |= run_profile("scaled_2w", args.builds, workers=2, scaled=True)
    queued = run_profile("queued_2w", args.queued, workers=2, scaled=True)
    figures |= queued
    base = figures["embedded_builds_per_min"]
    for label in ("scaled_1w", "scaled_2w"):
        figures[f"{label}_vs_embedded"] = figures[f"{label}_builds_per_min"] / base
    with tempfile.TemporaryDirectory(prefix="bench-scale-kg-") as scratch:
        folder = Path(scratch)
        graph, _, _, everything, sample = bench_graph(folder, args.products, 4, 50, 50, seed=7)
        figures["trace_embedded_p50_ms"] = graph["trace_rdf_tenant_p50_ms"]
        figures["trace_server_p50_ms"] = server_trace(folder, everything, sample)["trace_rdf_tenant_server_p50_ms"]
    figures["trace_server_vs_embedded"] = figures["trace_server_p50_ms"] / figures["trace_embedded_p50_ms"]
    if args.footprint:
        figures |= {f"footprint_{k}": v for k, v in footprint().items()}
    figures["load_1min"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"builds per minute ({args.builds} three-step builds submitted at once):")
    print(f"  embedded (SQLite, multiprocess)       {base:6.2f}  (baseline, {figures['embedded_seconds']:.0f} s)")
    for label, name in (("scaled_1w", "1 Celery worker"), ("scaled_2w", "2 Celery workers")):
        print(f"  scaled, {name:<29} {figures[f'{label}_builds_per_min']:6.2f}  "
              f"({figures[f'{label}_vs_embedded']:.2f}× embedded, {figures[f'{label}_seconds']:.0f} s)")  # fmt: skip
    print(_queue_line(args.queued, figures))
    print(f"SPARQL trace p50 ({args.products} products): embedded {figures['trace_embedded_p50_ms']:.1f} ms, "
          f"oxigraph serve {figures['trace_server_p50_ms']:.1f} ms "
          f"({figures['trace_server_vs_embedded']:.1f}×)")  # fmt: skip
    if args.footprint:
        parts = ", ".join(f"{k[10:]} {v:,.0f}" for k, v in figures.items() if k.startswith("footprint_"))
        print(f"one full build (embedded): {parts}")
    print(f"load average (1 min) at the end: {figures['load_1min']:.1f}")


def _queue_line(queued: int, figures: dict[str, float]) -> str:
    return (
        f"queue wait, {queued} builds queued at once, 3 running, 1 per tenant, 2 workers: "
        f"p50 {figures['queued_2w_queue_wait_p50_s']:.1f} s, p95 {figures['queued_2w_queue_wait_p95_s']:.1f} s "
        f"({figures['queued_2w_builds_per_min']:.2f} builds/min); peak RSS of a worker "
        f"{figures['queued_2w_worker_peak_rss_mib']:.0f} MiB; load average (1 min) {figures['queued_2w_load_mean']:.1f}"
    )


if __name__ == "__main__":
    main()
