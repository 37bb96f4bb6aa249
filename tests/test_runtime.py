"""The local runtime starts a rendered service as a real uvicorn process, replaces it without a gap,
stops only what it started, and reports a service that does not come up with its log lines."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from generators.agents import warm_interpreter
from generators.agents.engineer import Engineer
from infra import runtime as runtime_module
from infra.runtime import DeploymentError, LocalRuntime, ServiceProcess, alive, healthy, serving_from, stop
from ontology.errors import InvalidInputError
from tests.product_blueprints import clinic

TRACE = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clinic product (patients, doctors, appointments), rendered once for the module."""
    folder = tmp_path_factory.mktemp("runtime") / "clinic"
    Engineer().render(clinic(), folder, TRACE, pack=("fastapi-service", "1.0.0"))
    return folder


@pytest.fixture
def runtime(tmp_path: Path) -> LocalRuntime:
    return LocalRuntime(tmp_path / "home")


@pytest.fixture
def started() -> Iterator[list[ServiceProcess]]:
    """Services a test starts go in this list; whatever still runs at the end is stopped."""
    services: list[ServiceProcess] = []
    yield services
    for service in services:
        stop(service.pid, service.workdir, timeout_s=5)


def _cwd_users(folder: Path) -> list[int]:
    """The pids of processes whose working folder is `folder`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder.resolve():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _broken_app(folder: Path) -> Path:
    """A service folder whose app fails on import."""
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "__init__.py").write_text("")
    (folder / "app" / "main.py").write_text('raise RuntimeError("boom: the app cannot be imported")\n')
    return folder


def _warm_or_not(warm: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process with a warm interpreter (started here if need be), or as if it could have none."""
    if warm:
        assert warm_interpreter.warm_interpreter() is not None
    else:
        monkeypatch.setattr(runtime_module, "warm_interpreter", lambda start=True: None)


@pytest.mark.parametrize("warm", [True, False], ids=["forked", "started"])
def test_a_started_service_is_healthy_in_its_own_session_and_stops(
    runtime: LocalRuntime,
    product: Path,
    started: list[ServiceProcess],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    warm: bool,
) -> None:
    _warm_or_not(warm, monkeypatch)
    service = runtime.start(product, name="clinic", trace_id=TRACE)
    started.append(service)
    shown = Path(f"/proc/{service.pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
    assert shown[1:3] == ([b"-m", b"uvicorn"] if warm else [b"-c", b"import"])  # forked: uvicorn's own line
    assert shown[-2:] == [b"--port", str(service.port).encode()]  # whole
    assert healthy(service.url)
    assert service.url == f"http://127.0.0.1:{service.port}"
    assert runtime.alive(service) and alive(service.pid, product)
    assert os.getsid(service.pid) == service.pid  # its own session: it outlives the caller
    assert (tmp_path / "home/runtime/data/clinic/service.db").is_file()
    assert service.telemetry_path == tmp_path / "home/runtime/telemetry/clinic.jsonl"
    assert "Uvicorn running" in service.log_path.read_text()
    assert ServiceProcess.from_dict(service.as_dict()) == service
    answer = httpx.get(f"{service.url}/patients", headers=runtime.tokens("clinic").headers("acme"), timeout=5)
    assert answer.status_code == 200 and answer.json()["total"] == 0

    assert runtime.stop(service) is True
    assert not alive(service.pid, product)
    assert not Path(f"/proc/{service.pid}").exists()  # reaped, not left a zombie
    assert not healthy(service.url)
    assert stop(service.pid, product) is False  # already gone


def test_a_bound_service_stops_when_the_thread_that_started_it_ends(
    runtime: LocalRuntime, product: Path, started: list[ServiceProcess]
) -> None:
    seen: list[bool] = []

    def start() -> None:  # a stage's throwaway copy, whose starter dies without stopping it (a killed build)
        started.append(runtime.start(product, name="clinic-copy", trace_id=TRACE, bound=True))
        seen.append(alive(started[0].pid, product))  # the uvicorn itself, not a wrapper, is identified as ours

    starter = threading.Thread(target=start)
    starter.start()
    starter.join()
    service = started[0]
    assert seen == [True]
    deadline = time.monotonic() + 30
    while alive(service.pid, product) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(service.pid, product) and not healthy(service.url)


@pytest.mark.parametrize("warm", [True, False], ids=["forked", "started"])
def test_a_throwaway_copy_serves_on_its_own_database_and_is_gone_after_its_block(
    runtime: LocalRuntime, product: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warm: bool
) -> None:
    _warm_or_not(warm, monkeypatch)  # where there is no warm interpreter, the copy is started as `start` does
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {"DATABASE_URL": f"sqlite:///{scratch / 'copy.db'}"}
    with runtime.serving_copy(product, name="clinic-copy", trace_id=TRACE, extra_env=env) as service:
        answer = httpx.get(f"{service.url}/patients", headers=runtime.tokens("clinic-copy").headers("acme"), timeout=5)
        assert answer.status_code == 200 and answer.json()["total"] == 0
        assert (scratch / "copy.db").is_file()  # migrated before it served
        assert os.getsid(service.pid) == service.pid
    assert not healthy(service.url)
    assert _cwd_users(product) == []
    assert [p.name for p in (tmp_path / "home/runtime/logs").iterdir()] == [service.log_path.name]  # nothing else

    broken = _broken_app(tmp_path / "broken")
    copy = runtime.serving_copy(broken, name="broken", trace_id=TRACE)
    with pytest.raises(DeploymentError, match="exited with code") as caught, copy:
        raise AssertionError("a copy that cannot start is never served")
    assert any("boom: the app cannot be imported" in line for line in caught.value.log_lines)
    assert _cwd_users(broken) == []


def test_a_forked_service_outlives_the_process_that_deployed_it(product: Path, tmp_path: Path) -> None:
    """Forked from a warm interpreter, a deployed service still goes on after the factory process and its warm
    interpreter have ended (a killed `factory build`), and is found and stopped as any deployed service is."""
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from generators.agents.warm_interpreter import warm_interpreter\n"
        "from infra.runtime import LocalRuntime\n"
        "warm = warm_interpreter()\n"
        "service = LocalRuntime(Path(sys.argv[1])).start(Path(sys.argv[2]), name='clinic', trace_id=sys.argv[3])\n"
        "print(json.dumps([warm._process.pid, service.pid, service.url]), flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    factory = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "home"), str(product), TRACE],
        env={**os.environ, "PYTHONPATH": root}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert factory.stdout is not None
    warm, pid, url = json.loads(factory.stdout.readline())
    try:
        parent = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1]
        assert parent == str(warm)  # forked from the warm interpreter
        factory.kill()
        factory.wait()
        deadline = time.monotonic() + 30
        while Path(f"/proc/{warm}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{warm}").exists()  # the warm interpreter ended with the factory process
        assert healthy(url) and alive(pid, product) and serving_from(product) == [pid]
    finally:
        assert stop(pid, product) is True
    assert not alive(pid, product) and not healthy(url)


def test_replace_starts_the_new_revision_before_stopping_the_old_one(
    runtime: LocalRuntime, product: Path, started: list[ServiceProcess], tmp_path: Path
) -> None:
    old = runtime.start(product, name="clinic", trace_id=TRACE)
    started.append(old)
    tenant = runtime.tokens("clinic").headers("acme")
    created = httpx.post(f"{old.url}/patients", json={"full_name": "Ada"}, headers=tenant, timeout=5)
    assert created.status_code == 201, created.text
    revision = tmp_path / "revision-2"
    shutil.copytree(product, revision)

    logs = tmp_path / "home" / "runtime" / "logs"
    answered: set[int] = set()  # the ports that answered /health while the revision changed
    failures: list[int] = []  # poll numbers at which no revision answered
    polls = 0
    done = threading.Event()

    def poll_health() -> None:
        """Every 10 ms, some revision of the service (any port with a log under the runtime) must answer."""
        nonlocal polls
        with httpx.Client(timeout=2) as client:
            while not done.is_set():
                polls += 1
                ok = False
                for log in sorted(logs.glob("clinic-*.log")):
                    port = int(log.stem.rsplit("-", 1)[1])
                    try:
                        if client.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                            answered.add(port)
                            ok = True
                    except httpx.TransportError:
                        continue
                if not ok:
                    failures.append(polls)
                done.wait(0.01)

    poller = threading.Thread(target=poll_health)
    poller.start()
    try:
        new = runtime.replace(old, revision, name="clinic", trace_id=TRACE)
        started.append(new)
        done.wait(0.2)
    finally:
        done.set()
        poller.join()
    assert failures == []
    assert polls > 20
    assert answered == {old.port, new.port}
    assert new.pid != old.pid and new.workdir == revision.resolve()
    assert not alive(old.pid, product) and alive(new.pid, revision)
    kept = httpx.get(f"{new.url}/patients/{created.json()['id']}", headers=tenant, timeout=5)
    assert kept.status_code == 200 and kept.json()["full_name"] == "Ada"  # the data survives the revision

    with pytest.raises(DeploymentError):
        runtime.replace(new, _broken_app(tmp_path / "broken"), name="clinic", trace_id=TRACE)
    assert alive(new.pid, revision) and healthy(new.url)  # a failed revision leaves the running one alone


def test_a_started_service_trusts_only_its_own_tokens_for_their_own_tenant(
    runtime: LocalRuntime, product: Path, started: list[ServiceProcess], tmp_path: Path
) -> None:
    service = runtime.start(product, name="clinic", trace_id=TRACE)
    started.append(service)
    tokens = runtime.tokens("clinic")
    keys = tmp_path / "home/runtime/keys/clinic"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert stat.S_IMODE((keys / "signing-key.pem").stat().st_mode) == 0o600
    assert tokens.roles() == ("viewer", "editor", "admin")  # what the product declares
    patients = f"{service.url}/patients"
    acme = tokens.headers("acme")
    row = httpx.post(patients, json={"full_name": "Ada"}, headers=acme, timeout=5)
    assert row.status_code == 201, row.text
    item = f"{patients}/{row.json()['id']}"
    assert httpx.get(item, headers=acme, timeout=5).status_code == 200
    # no token, even with the tenant header: 401
    assert httpx.get(item, headers={"X-Tenant-ID": "acme"}, timeout=5).status_code == 401
    # a token of another tenant with a forged tenant header: 403; without the header: not found
    globex = tokens.headers("globex")
    assert httpx.get(item, headers={**globex, "X-Tenant-ID": "acme"}, timeout=5).status_code == 403
    assert httpx.get(item, headers={"Authorization": globex["Authorization"]}, timeout=5).status_code == 404
    # a token signed by another key (another service's), or for another audience: 401
    other = LocalRuntime(tmp_path / "other-home").tokens("clinic")
    other.service_env(product)
    assert httpx.get(item, headers=other.headers("acme"), timeout=5).status_code == 401
    stranger = runtime.tokens("billing")
    stranger.service_env(product)
    assert httpx.get(item, headers=stranger.headers("acme"), timeout=5).status_code == 401
    # an expired token: 401; a viewer may read but not delete, and sees no personal data
    expired = {"Authorization": f"Bearer {tokens.token('acme', ttl_s=-120)}"}
    assert httpx.get(item, headers=expired, timeout=5).status_code == 401
    viewer = {"Authorization": f"Bearer {tokens.token('acme', ['viewer'])}"}
    assert "full_name" not in httpx.get(item, headers=viewer, timeout=5).json()  # pii, for roles granted pii only
    assert httpx.delete(item, headers=viewer, timeout=5).status_code == 403
    assert httpx.get(item, headers=acme, timeout=5).json()["full_name"] == "Ada"


def test_stop_refuses_a_process_that_is_not_our_service(product: Path, tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"], cwd=tmp_path)
    try:
        assert stop(sleeper.pid, product) is False  # another folder
        assert stop(sleeper.pid, tmp_path) is False  # the right folder, but not a uvicorn
        assert not alive(sleeper.pid, tmp_path)
        assert sleeper.poll() is None  # still running: nothing was signalled
    finally:
        sleeper.kill()
        sleeper.wait(timeout=5)


def test_a_service_that_cannot_start_raises_with_its_log_and_leaves_nothing(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    broken = _broken_app(tmp_path / "broken")
    with pytest.raises(DeploymentError, match="exited with code") as caught:
        runtime.start(broken, name="broken", trace_id=TRACE, timeout_s=20)
    assert any("boom: the app cannot be imported" in line for line in caught.value.log_lines)
    assert "\n" not in str(caught.value)
    assert _cwd_users(broken) == []

    with pytest.raises(DeploymentError, match="no app/ folder"):
        runtime.start(tmp_path / "empty", name="empty", trace_id=TRACE)


def test_a_service_that_stays_unhealthy_is_killed(runtime: LocalRuntime, product: Path) -> None:
    # long enough for the service to start and log even on a loaded machine (2 s once saw an empty log)
    with pytest.raises(DeploymentError, match="was not healthy within 10 s") as caught:
        runtime.start(product, name="clinic", trace_id=TRACE, health_path="/no-such-route", timeout_s=10)
    assert caught.value.log_lines
    assert _cwd_users(product) == []


def test_names_and_trace_ids_are_checked(runtime: LocalRuntime, product: Path) -> None:
    with pytest.raises(InvalidInputError, match="trace id"):
        runtime.start(product, name="clinic", trace_id="not-a-trace")
    with pytest.raises(InvalidInputError, match="service name"):
        runtime.start(product, name="../escape", trace_id=TRACE)
