"""The scaled profile's builds on two real Celery workers, one of them killed mid-build.

Eight intents of four tenants are submitted at once to a control database on a fresh PostgreSQL database; the
real `dagster-daemon` claims them (intake sensor) and its queue starts at most three runs at once, one per
tenant; each run's steps go through the local RabbitMQ (a queue of this test's own) to two `factory worker`
processes. When the first worker has started a step, it is killed with SIGKILL: the broker hands the step it
had not acknowledged to the other worker, which runs it again in the same run, and every build ends. Each
build is kept small: its blueprint fails the policy check, so it stops after three steps (intent, requirements,
blueprint), its chain published to the graph, its intent marked failed; none reaches a release, so no product
repository is written. Nothing is lost and nothing is doubled in the graph, the control database and git.

A second test runs one full build on three workers and kills the one that runs the release and the one that runs
the deployment, each part-way through its step: one release commit and tag, one service, each record once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from sqlalchemy import create_engine, text

from assets.builds import dagster_home, factory_instance
from assets.stages import split_key
from bench.processes import descendants, stop_with_children
from graph import KnowledgeGraph
from infra import runtime
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from infra.lifecycle.use_cases import INTENT_TAG, TENANT_TAG
from ontology.lifecycle import BUILD, LIFECYCLE
from tests.product_blueprints import clinic
from tests.test_scaled_instance import _stopping_blueprint

ROOT = Path(__file__).resolve().parents[1]
TENANTS = ("acme", "globex", "initech", "umbrella")
PRODUCTS = ("helpdesk", "desk")
STEPS = ("intent", "requirements", "blueprint")


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _scaled(
    home: Path, postgres_url: str, broker_queue: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[DagsterInstance, ControlPlane, dict[str, str], Path]:
    """The scaled profile with a broker on a fresh database and a queue of the test's own: the instance, the
    control plane, the environment of the processes the test starts, and the folder of their logs."""
    broker, queue = broker_queue
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql+psycopg2://")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for name, value in {
        "FACTORY_PROFILE": "scaled",
        "FACTORY_DATABASE_URL": postgres_url,
        "DAGSTER_POSTGRES_URL": plain,
        "FACTORY_BROKER_URL": broker,
        "FACTORY_WORKER_QUEUE": queue,
        "FACTORY_MAX_RUNS": "3",
        "FACTORY_TENANT_RUNS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    folder = dagster_home(home)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DAGSTER_HOME": str(folder)}
    logs = home / "logs"
    logs.mkdir()
    return factory_instance(home), ControlPlane(), env, logs


def _executions(instance: DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(step, worker) for each time a Celery worker began a step of the run, in order."""
    found = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        if event is None or "] Executing steps " not in (event.message or ""):  # "[CeleryExecutor] Executing …"
            continue
        metadata = event.engine_event_data.metadata
        found.append((str(event.step_key), str(metadata["Celery worker"].value)))
    return found


def _finished_steps(instance: DagsterInstance, run_id: str) -> set[str]:
    kinds = (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)
    return {
        str(e.dagster_event.step_key)
        for e in instance.all_logs(run_id, of_type=set(kinds))
        if e.dagster_event is not None
    }


def _worker_names(queue: tuple[str, str], count: int) -> list[str]:
    """Names of a test's workers, unique to its queue: a Celery worker's name is its control queue's on the broker,
    which another run of the suite on the same broker must not share."""
    return [f"w{n}-{queue[1].rsplit('_', 1)[-1]}" for n in range(1, count + 1)]


def _kill_mid_step(
    instance: DagsterInstance, worker: subprocess.Popen[bytes], checked: set[tuple[str, str]], name: str
) -> tuple[str, str] | None:
    """Kill `worker` (SIGKILL) while it runs a step: when it has begun one, it is frozen (SIGSTOP) and killed if
    the step has not finished (its task unacknowledged, then), else let go on. The (run, step) killed, or None."""
    for run in instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED])):
        for step, ran_on in _executions(instance, run.run_id):
            if not ran_on.startswith(f"{name}@") or (run.run_id, step) in checked:
                continue
            checked.add((run.run_id, step))
            worker.send_signal(signal.SIGSTOP)
            if step in _finished_steps(instance, run.run_id):
                worker.send_signal(signal.SIGCONT)  # too late for this one: the next
                continue
            # the worker and what it started (the `tail` that follows a step's compute logs), as a machine is lost:
            # the worker alone would leave its children behind, no longer below any process the test stops
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            return run.run_id, step
    return None


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = most = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        running += step
        most = max(most, running)
    return most


@pytest.mark.slow(minutes=7)
def test_two_workers_build_eight_products_and_survive_a_killed_worker(
    factory_home: Path,
    postgres_url: str,
    rabbitmq_queue: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance, control, env, logs = _scaled(factory_home, postgres_url, rabbitmq_queue, monkeypatch)
    python = sys.executable
    w1, w2 = _worker_names(rabbitmq_queue, 2)
    workers = {
        name: _start([python, "-m", "studio", "worker", "--name", name], env, logs / f"{name}.log") for name in (w1, w2)
    }
    intents = {
        (tenant, product): control.submit_intent(
            tenant, product, "", blueprint_yaml=_stopping_blueprint(tenant, product)
        )[0]
        for tenant in TENANTS
        for product in PRODUCTS
    }  # all eight wait before the daemon starts: the intake sensor finds them at once
    daemon = _start([str(Path(python).with_name("dagster-daemon")), "run", "-m", "assets.definitions"], env,
                    logs / "daemon.log")  # fmt: skip
    killed: tuple[str, str] | None = None  # (run, step) the first worker was running when it was killed
    checked: set[tuple[str, str]] = set()
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            assert daemon.poll() is None, (logs / "daemon.log").read_text()[-3000:]
            if killed is None:
                killed = _kill_mid_step(instance, workers[w1], checked, w1)
            statuses = [control.intent(i.id or 0).status for i in intents.values()]
            if all(s == "failed" for s in statuses):
                break
            assert workers[w2].poll() is None, (logs / f"{w2}.log").read_text()[-3000:]
            time.sleep(0.05 if killed is None else 1.0)
    finally:
        stop_with_children(daemon)
        for process in workers.values():
            stop_with_children(process)
    tail = (logs / "daemon.log").read_text()[-3000:]
    assert killed is not None, tail  # the first worker was killed while it ran a step

    # Every build ran to its end: the blueprint's policy check stopped it, as it was written to.
    for key, record in intents.items():
        intent = control.intent(record.id or 0)
        assert intent.status == "failed" and "Steps failed: ['blueprint']" in (intent.detail or ""), (key, intent)
    runs = [r for r in instance.get_runs() if r.job_name == "lifecycle"]
    assert sorted(r.tags[INTENT_TAG] for r in runs) == sorted(str(i.id) for i in intents.values())  # one each
    for run in runs:
        assert run.status == DagsterRunStatus.FAILURE, run.run_id
        succeeded = {
            str(e.dagster_event.step_key)
            for e in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_SUCCESS)
            if e.dagster_event is not None
        }
        assert succeeded == {"intent", "requirements"}, (run.tags[TENANT_TAG], succeeded)
        ran = {s for s, _ in _executions(instance, run.run_id)}
        assert ran == set(STEPS)  # every step ran on a Celery worker

    # The killed worker's step was handed to the other worker and run again in the same run.
    run_id, step = killed
    again = [w for s, w in _executions(instance, run_id) if s == step]
    assert len(again) == 2 and again[0].startswith(f"{w1}@") and again[1].startswith(f"{w2}@"), again
    assert step in _finished_steps(instance, run_id)

    # The queue's limits held: at most three runs at once, one per tenant.
    records = instance.get_run_records(RunsFilter(run_ids=[r.run_id for r in runs]))
    spans = {r.dagster_run.run_id: (r.start_time or 0.0, r.end_time or 0.0) for r in records}
    assert all(start and end for start, end in spans.values())
    assert _most_at_once(list(spans.values())) <= 3
    for tenant in TENANTS:
        mine = [spans[r.run_id] for r in runs if r.tags[TENANT_TAG] == tenant]
        assert len(mine) == 2 and _most_at_once(mine) == 1, tenant

    # The graph: each build's chain once, nothing missing, nothing twice.
    kg = KnowledgeGraph(factory_home, embedder=None)
    for (tenant, product), record in intents.items():
        trace_id = control.intent(record.id or 0).trace_id or ""
        rows = kg.sparql(
            "PREFIX fac: <https://softwarefactory.dev/ontology#> "
            "SELECT ?trace ?stage (COUNT(DISTINCT ?a) AS ?n) (COUNT(?start) AS ?starts) WHERE { "
            "?a fac:traceId ?trace ; fac:stage ?stage ; <http://www.w3.org/ns/prov#startedAtTime> ?start } "
            "GROUP BY ?trace ?stage",
            tenant,
            {"trace": trace_id},
        ).rows
        assert {str(stage): (int(n), int(starts)) for _, stage, n, starts in rows} == {
            "analysis": (1, 1),
            "design": (1, 1),
        }, (tenant, product)
        assert [s.stage for s in kg.trace(trace_id, tenant)].count("blueprint") == 1

    # The control database: one product row each with its three stages, one failed-check event per build.
    engine = create_engine(postgres_url)
    with engine.connect() as db:
        events = db.execute(text("SELECT tenant, product, type, COUNT(*) FROM eventrecord GROUP BY 1, 2, 3")).all()
        products = db.execute(text("SELECT tenant, product, COUNT(*) FROM productrecord GROUP BY 1, 2")).all()
    engine.dispose()
    assert sorted((t, p) for t, p, _ in products) == sorted(intents) and all(n == 1 for *_, n in products)
    for tenant, product in intents:
        row = control.product(tenant, product)
        assert row is not None and {s: row.stages.get(s) for s in STEPS} == {
            "intent": "done", "requirements": "done", "blueprint": "done"  # done; its policy check failed
        }, None if row is None else row.stages  # fmt: skip
    kinds: dict[tuple[str, str], dict[str, int]] = {key: {} for key in intents}
    for tenant, product, kind, n in events:
        kinds[(tenant, product)][kind.rsplit(".", 2)[-2] + "." + kind.rsplit(".", 1)[-1]] = n  # stage.started
    hit = split_key(str(next(r for r in runs if r.run_id == run_id).tags["dagster/partition"]))
    if kinds[hit].get("stage.started") == 4:  # the killed step had begun its stage: that stage started twice
        kinds[hit]["stage.started"] = 3
    reference = kinds[next(key for key in intents if key != hit)]
    assert reference.get("stage.started") == 3 and reference.get("check.failed") == 1, reference
    assert all(counts == reference for counts in kinds.values()), (hit, kinds)  # the same events, once each

    # Git: no build reached a release, so no product repository was written (and none twice).
    assert not (factory_home / "repos").exists()


def test_workers_are_the_scaled_profiles_with_a_broker_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Embedded, or scaled without a broker, there is no Celery worker to start, and `factory worker` says so in
    one line; scaled with a broker, `factory up` starts FACTORY_WORKERS of them and the lifecycle job is Celery's."""
    from assets.workers import build_executor, celery_options
    from ontology.config import ConfigError, settings
    from studio.up_command import server_commands

    env = {k: v for k, v in os.environ.items() if k != "FACTORY_PROFILE"}
    run = subprocess.run([sys.executable, "-m", "studio", "worker"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "needs FACTORY_PROFILE=scaled and FACTORY_BROKER_URL" in run.stderr and not run.stdout.strip()
    assert not [name for name in server_commands("127.0.0.1", 3000, 8501) if name.startswith("worker")]
    assert build_executor().name == "multi_or_in_process_executor"
    monkeypatch.setenv("FACTORY_PROFILE", "scaled")
    monkeypatch.setenv("FACTORY_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/f")
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", "postgresql+psycopg2://u@127.0.0.1/f")
    assert build_executor().name == "multi_or_in_process_executor"  # no broker: multiprocess in the run worker
    monkeypatch.setenv("FACTORY_BROKER_URL", "amqp://guest:secret@127.0.0.1:5672//")
    monkeypatch.setenv("FACTORY_WORKERS", "3")
    workers = {k: v for k, v in server_commands("127.0.0.1", 3000, 8501).items() if k.startswith("worker")}
    assert sorted(workers) == ["worker-1", "worker-2", "worker-3"]
    assert workers["worker-2"][-4:] == ["studio", "worker", "--name", "worker-2"]
    executor = build_executor()
    assert executor.name == "celery" and "secret" not in str(executor.config_schema)  # the URL stays in the env
    assert settings().worker_queue == "factory"
    assert "broker_transport_options" not in celery_options(settings())  # RabbitMQ tells a lost consumer at once
    monkeypatch.setenv("FACTORY_BROKER_URL", "redis://127.0.0.1:6379/0")
    assert celery_options(settings())["broker_transport_options"]["visibility_timeout"] == 900
    monkeypatch.setenv("FACTORY_BROKER_VISIBILITY_S", "0")
    with pytest.raises(ConfigError, match="FACTORY_BROKER_VISIBILITY_S must be a whole number from 1 to 86400"):
        settings()


def _full_blueprint(tenant: str, product: str) -> str:
    data = clinic().model_copy(update={"tenant": tenant, "slug": product}).model_dump(mode="json")
    return yaml.safe_dump(data)  # it passes its checks: the build goes on to a release and a deployment


def _merged(repo: Path) -> bool:
    """Whether the release has merged the new render into the product repository's main (its tag and push,
    its facts and its records are still to come)."""
    if not (repo / ".git").is_dir():
        return False
    log = subprocess.run(["git", "-C", str(repo), "log", "--format=%s", "main"], capture_output=True, text=True)
    return "Merge r1 " in log.stdout


def _service_port(pid: int) -> int | None:
    """The port of the service (a uvicorn below it, started or forked from its warm interpreter) `pid` has
    started, if it has started one."""
    for child in descendants(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().decode().replace("\0", " ").split()
        except OSError:
            continue
        if "uvicorn" in argv and "--port" in argv:
            return int(argv[argv.index("--port") + 1])
    return None


def _serving(pid: int) -> bool:
    """Whether `pid` has started a service."""
    return _service_port(pid) is not None


def _answering(port: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not runtime.healthy(f"http://127.0.0.1:{port}"):
        assert time.monotonic() < deadline, f"the service on port {port} never answered"
        time.sleep(0.2)


def _await(ready: Callable[[int], bool], pid: int, instance: DagsterInstance, run_id: str, step: str) -> None:
    """Wait until `ready(pid)` holds, asking every few milliseconds (a step's side effects come close together),
    or until the step has ended."""
    asked = time.monotonic()
    while not ready(pid):
        if time.monotonic() - asked > 0.5:
            if step in _finished_steps(instance, run_id):
                return
            asked = time.monotonic()
        time.sleep(0.005)


def _services_from(folder: Path) -> list[int]:
    """Every uvicorn whose working folder is `folder`, including one whose folder was deleted and made again."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cwd = os.readlink(entry / "cwd")
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"uvicorn" in command and cwd.removesuffix(" (deleted)") == str(folder.resolve()):
            found.append(int(entry.name))
    return found


@pytest.mark.slow(minutes=4)
def test_a_worker_killed_in_the_release_and_one_killed_in_the_deployment_leave_one_of_each(
    factory_home: Path,
    postgres_url: str,
    rabbitmq_queue: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One full build on three workers: the worker that runs the release is killed (SIGKILL) once the render is
    merged into main and before the step ends (its tag, push, facts and records not yet or half written); the
    worker that runs the deployment is killed once it has started the service and before the step ends (the
    service running, unrecorded). Each step runs again on another worker and the build succeeds with one release
    commit and tag, one service running and recorded once, and every stage once in the graph and the control
    database."""
    instance, control, env, logs = _scaled(factory_home, postgres_url, rabbitmq_queue, monkeypatch)
    python = sys.executable
    workers = {
        name: _start([python, "-m", "studio", "worker", "--name", name], env, logs / f"{name}.log")
        for name in _worker_names(rabbitmq_queue, 3)
    }
    record, _ = control.submit_intent("acme", "helpdesk", "", blueprint_yaml=_full_blueprint("acme", "helpdesk"))
    daemon = _start([str(Path(python).with_name("dagster-daemon")), "run", "-m", "assets.definitions"], env,
                    logs / "daemon.log")  # fmt: skip
    repo = factory_home / "repos" / "acme" / "helpdesk"
    ready = {"release": lambda _pid: _merged(repo), "deployment": _serving}  # when each step's worker is killed
    killed: dict[str, str] = {}  # step -> the worker killed while it ran it
    missed: list[str] = []  # a step that ended before its worker could be stopped
    run_id = ""
    try:
        deadline = time.monotonic() + 900
        while True:  # until the build's run has ended (its intent is marked built a little before)
            assert time.monotonic() < deadline and daemon.poll() is None, (logs / "daemon.log").read_text()[-3000:]
            assert any(w.poll() is None for w in workers.values()), "every worker is gone"
            runs = instance.get_runs(RunsFilter(job_name="lifecycle"))
            run_id = runs[0].run_id if runs else ""
            if runs and runs[0].is_finished:
                break
            for step, name in _executions(instance, run_id) if run_id else []:
                worker = workers[name.split("@")[0]]
                if step not in ready or step in killed or step in missed or worker.poll() is not None:
                    continue
                _await(ready[step], worker.pid, instance, run_id, step)
                worker.send_signal(signal.SIGSTOP)
                if step in _finished_steps(instance, run_id):
                    worker.send_signal(signal.SIGCONT)
                    missed.append(step)
                    print(f"{step} had ended when {name} was stopped")
                else:
                    # The deployment's other workers wait (frozen) until the killed one's service is up, so that the
                    # step's second run meets it answering from the release's folder, as a slower hand-over would.
                    others = [w for w in workers.values() if w is not worker and w.poll() is None]
                    port = _service_port(worker.pid) if step == "deployment" else None
                    for other in others if port else []:
                        other.send_signal(signal.SIGSTOP)
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
                    try:
                        if port:
                            _answering(port)
                    finally:
                        for other in others if port else []:
                            other.send_signal(signal.SIGCONT)
                    killed[step] = name
                    print(f"killed {name} in {step}")
            time.sleep(0.02)
        intent = control.intent(record.id or 0)
        deployed = control.deployment("acme", "helpdesk", "dev")
        services = _services_from(Path(deployed.workdir)) if deployed and deployed.workdir else []
    finally:
        for process in [daemon, *workers.values()]:
            stop_with_children(process)  # the deep contract run that follows the build, the deployed service
    tail = (logs / "daemon.log").read_text()[-3000:]
    assert intent.status == "built", (intent.detail, tail)
    assert "deployment" in killed and "deployment" not in missed, (killed, missed)  # the service takes seconds
    assert "release" in killed or "release" in missed, (killed, missed)
    run = instance.get_run_by_id(run_id)
    assert run is not None and run.status == DagsterRunStatus.SUCCESS
    for step, name in killed.items():  # run again, in the same run, on a worker that was not killed
        ran = [w for s, w in _executions(instance, run_id) if s == step]
        assert len(ran) == 2 and ran[0] == name and ran[1] != name, (step, ran)

    assert deployed is not None and deployed.status == "running" and services == [deployed.pid], (deployed, services)

    # Git: one release commit, one tag, pushed.
    def git(*args: str) -> list[str]:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True).stdout.split("\n")

    generated = git("log", "--format=%s", "factory/generated")
    assert sum(s.startswith("Release r1 ") for s in generated) == 1, generated  # the render committed once ...
    main = git("log", "--first-parent", "--format=%s", "main")
    assert sum(s.startswith("Merge r1 ") for s in main) == 1, main  # ... merged into main once ...
    assert git("tag") == ["r1", ""]  # ... tagged once ...
    product = ProductRepository(factory_home, "acme", "helpdesk")
    assert product.env_head("dev") == product.head() == deployed.commit  # ... pushed to env/dev, and deployed

    # The control database: one service recorded (and running, above: no other left from the killed deployment),
    # one release taking the traffic, one event of each.
    engine = create_engine(postgres_url)
    with engine.connect() as db:
        releases = db.execute(text("SELECT env, commit, status FROM environmentrelease")).all()
        deployments = db.execute(text("SELECT env, status FROM deploymentrecord")).all()
        events: dict[str, int] = {
            t: n for t, n in db.execute(text("SELECT type, COUNT(*) FROM eventrecord GROUP BY 1"))
        }
        products = db.execute(text("SELECT COUNT(*) FROM productrecord")).scalar()
    engine.dispose()
    assert [(e, c, s) for e, c, s in releases] == [("dev", deployed.commit, "running")], releases
    assert deployments == [("dev", "running")] and products == 1
    made = {kind.rsplit(".", 2)[-2] + "." + kind.rsplit(".", 1)[-1]: n for kind, n in events.items()}
    assert made.get("release.made") == 1 and made.get("deployment.started") == 1, made
    assert made.get("stage.started") == 9 + len(killed), made  # each stage once, the killed ones twice
    assert 9 <= made.get("stage.completed", 0) <= 9 + len(killed), made

    # The graph: each stage's activity once.
    kg = KnowledgeGraph(factory_home, embedder=None)
    rows = kg.sparql(
        "PREFIX fac: <https://softwarefactory.dev/ontology#> "
        "SELECT ?trace ?stage (COUNT(DISTINCT ?a) AS ?n) (COUNT(?start) AS ?starts) WHERE { "
        "?a fac:traceId ?trace ; fac:stage ?stage ; <http://www.w3.org/ns/prov#startedAtTime> ?start } "
        "GROUP BY ?trace ?stage",
        "acme",
        {"trace": intent.trace_id or ""},
    ).rows
    activities = {str(stage): (int(n), int(starts)) for _, stage, n, starts in rows}
    assert activities.pop("observation", None)  # the telemetry stage's, and one per window the collector took
    made_by = {s.activity for s in LIFECYCLE if s.name in BUILD and s.activity and s.activity != "observation"}
    assert activities == dict.fromkeys(made_by, (1, 1)), rows  # release and deployment among them
    assert [s.stage for s in kg.trace(intent.trace_id or "", "acme")].count("release") == 1
