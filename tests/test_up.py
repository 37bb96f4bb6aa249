"""`factory up` serves the Dagster UI, the Studio and the API on loopback, delivers events, and Ctrl-C or a kill stops
everything it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from infra import webhooks
from infra.accounts import Accounts
from infra.control import ControlPlane
from infra.oidc import oidc_configured
from ontology.errors import InvalidInputError
from studio.up_command import check_exposure, server_commands
from tests.nats_streams import NATS_URL, stream_messages
from tests.webhook_receiver import Consumer, Receiver

pytestmark = pytest.mark.slow(minutes=5)

FACTORY = str(Path(sys.executable).with_name("factory"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, timeout_s: float = 180) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} never answered")
        time.sleep(1)


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda up: os.killpg(up.pid, signal.SIGINT), id="ctrl-c"),  # a terminal signals the whole group
        pytest.param(lambda up: up.send_signal(signal.SIGTERM), id="kill"),  # a kill reaches `up` alone
    ],
)
def test_up_serves_dagster_the_studio_and_the_api_delivers_events_and_a_stop_signal_stops_them(
    tmp_path: Path, stop: Callable[[subprocess.Popen[str]], None], nats_stream: tuple[str, str]
) -> None:
    dagster_port, studio_port, api_port = free_port(), free_port(), free_port()
    stream, subject = nats_stream
    env = {**os.environ, "FACTORY_HOME": str(tmp_path / "home"), "FACTORY_WEBHOOKS_ALLOW_PRIVATE": "1",
           "FACTORY_NATS_URL": NATS_URL, "FACTORY_NATS_STREAM": stream, "FACTORY_NATS_SUBJECT": subject}  # fmt: skip
    env.pop("DAGSTER_HOME", None)
    env.pop("FACTORY_DATABASE_URL", None)
    consumer = Consumer(secret="")
    receiver = Receiver(consumer)
    receiver.start()
    control = ControlPlane(None, tmp_path / "home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORY_WEBHOOKS_ALLOW_PRIVATE", "1")
        _, consumer.secret = webhooks.add_webhook(control, "acme", receiver.url(), actor="test")
    command = [FACTORY, "up", "--no-demo", "--dagster-port", str(dagster_port), "--studio-port", str(studio_port),
               "--api-port", str(api_port)]  # fmt: skip
    # its own process group, as a terminal's foreground job: Ctrl-C reaches every process in the group
    # (and with SIGINT's default action, which a test run started in the background would not pass on)
    up = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        info = wait_for(f"http://127.0.0.1:{dagster_port}/server_info").json()
        assert "dagster_webserver_version" in info
        wait_for(f"http://127.0.0.1:{studio_port}/_stcore/health")
        assert wait_for(f"http://127.0.0.1:{api_port}/healthz").json() == {"status": "ok"}
        refused = httpx.get(f"http://127.0.0.1:{api_port}/v1/products", timeout=30)  # the API always wants a token
        assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
        # the webserver loaded our definitions: the lifecycle job is there
        query = {"query": "{ repositoriesOrError { ... on RepositoryConnection { nodes { jobs { name } } } } }"}
        jobs = httpx.post(f"http://127.0.0.1:{dagster_port}/graphql", json=query, timeout=30).json()
        names = {j["name"] for r in jobs["data"]["repositoriesOrError"]["nodes"] for j in r["jobs"]}
        assert {"lifecycle", "factory_refresh"} <= names
        assert (tmp_path / "home" / "dagster" / "dagster.yaml").is_file()
        # its dispatcher delivers a state change's event to the tenant's webhook and to NATS JetStream
        control.submit_intent("acme", "shop", "A shop that sells tea.", actor="test")
        (event,) = webhooks.list_events(control, "acme")
        deadline = time.monotonic() + 60
        while consumer.seen() != [event.event_id] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert consumer.seen() == [event.event_id] and consumer.refused == []
        assert [h["Nats-Msg-Id"] for h, _ in stream_messages(stream)] == [event.event_id]
    finally:
        stop(up)
        out, err = up.communicate(timeout=60)
        receiver.stop()
    assert all(f"http://127.0.0.1:{port}" in out for port in (dagster_port, studio_port, api_port))
    assert "first admin  admin, password" in out  # an empty home gets its first account, printed once
    assert (tmp_path / "home" / "credentials").stat().st_mode & 0o077 == 0
    # `up` stopped the servers itself (they never see the signal), and reports none as failed
    assert up.returncode == 130 and "error" not in err and "Traceback" not in err, (up.returncode, err)
    for port in (dagster_port, studio_port, api_port):  # nothing it started is left listening
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"


def test_a_stop_signal_that_follows_the_first_does_not_cut_the_cleanup_short() -> None:
    # `make up` gets one kill twice (make passes a SIGTERM on to its child); a second KeyboardInterrupt
    # raised while `up` stops its servers would leave them running
    script = (
        "import os, signal, time\n"
        "from studio.lifecycle_commands import StopOnce\n"
        "signal.signal(signal.SIGTERM, StopOnce())\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(10)\n"
        "    print('not stopped')\n"
        "except KeyboardInterrupt:\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"  # arrives while the cleanup runs
        "    time.sleep(0.2)\n"
        "    print('cleaned up')\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout.strip()) == (0, "cleaned up"), run.stderr


def test_up_beyond_loopback_needs_sign_in_and_serves_dagster_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "FACTORY_HOME": str(home), "HOME": str(tmp_path)}  # no Streamlit secrets: no OIDC
    env.pop("FACTORY_DATABASE_URL", None)
    up = [FACTORY, "up", "--host", "0.0.0.0", "--once", "--no-demo"]
    run = subprocess.run(up, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "0.0.0.0 is not a loopback address, and nobody would have to sign in" in run.stderr
    assert not home.exists()  # refused before anything was written
    # with an account, or with OpenID Connect configured, it serves; the Dagster UI then read-only
    Accounts(ControlPlane(None, home)).add_user("root", actor="test", password="p" * 12, factory_admin=True)
    run = subprocess.run(up, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    secrets = tmp_path / "elsewhere" / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir(parents=True)
    assert not oidc_configured([secrets])
    secrets.write_text('[auth]\nredirect_uri = "https://factory.example/oauth2callback"\n')
    assert oidc_configured([secrets])
    monkeypatch.setenv("HOME", str(tmp_path))  # where Streamlit's secrets are looked for: none here
    monkeypatch.chdir(tmp_path)
    check_exposure("127.0.0.1", tmp_path / "empty")  # loopback needs nothing
    with pytest.raises(InvalidInputError, match="nobody would have to sign in"):
        check_exposure("10.1.2.3", tmp_path / "empty")
    for host, read_only in (("127.0.0.1", False), ("::1", False), ("localhost", False), ("0.0.0.0", True)):
        webserver = server_commands(host, 3000, 8501)["dagster-webserver"]
        assert ("--read-only" in webserver) is read_only, host
        assert webserver[webserver.index("-h") + 1] == host


def test_up_refuses_a_port_in_use_before_it_starts_or_builds_anything(tmp_path: Path) -> None:
    env = {**os.environ, "FACTORY_HOME": str(tmp_path / "home")}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy, studio_port = holder.getsockname()[1], free_port()
        command = [FACTORY, "up", "--dagster-port", str(busy), "--studio-port", str(studio_port)]
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert (
        run.stderr.strip() == f"error: port {busy} on 127.0.0.1 is in use: stop what holds it, or pass --dagster-port"
    )
    assert not (tmp_path / "home").exists()  # no servers, no demo builds, nothing written
    bad = subprocess.run(
        [FACTORY, "up", "--studio-port", "70000"], env=env, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and "not a port number" in bad.stderr


def test_a_build_leaves_the_callers_sigterm_handler_in_place(tmp_path: Path) -> None:
    # Dagster's in-process run hands SIGTERM SIGINT's handler when it ends; started from a background
    # shell (SIGINT ignored), `up` would then ignore a kill after its demo builds.
    script = (
        "import signal, sys\n"
        "from pathlib import Path\n"
        "def stop(signum, frame): pass\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "from assets.builds import build_product\n"
        "build_product('acme', 'nothing', home=Path(sys.argv[1]))\n"  # no intent: the run fails fast
        "print('kept' if signal.getsignal(signal.SIGTERM) is stop else 'lost')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "kept"


def test_waiting_for_the_run_queue_without_a_daemon_ends_in_one_line(tmp_path: Path) -> None:
    from assets.builds import wait_for_run_queue
    from ontology.errors import FactoryError

    with pytest.raises(FactoryError, match=r"did not serve the run queue within 1 s"):
        wait_for_run_queue(tmp_path / "home", 1.0)  # no daemon has ever reported on this instance


def test_up_on_the_scaled_profile_builds_through_the_queue_on_its_celery_worker(
    tmp_path: Path, postgres_url: str, rabbitmq_queue: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`FACTORY_PROFILE=scaled make up` against the local PostgreSQL and RabbitMQ: `up` starts the daemon and a
    Celery worker beside its servers; a submitted intent is taken by the daemon's intake sensor, queued, and its
    steps run on that worker; a stop signal stops every process `up` started. (The demo builds are left out:
    docs/scaling.md records a full run with them.)"""
    from assets.builds import factory_instance
    from tests.test_celery_workers import _executions
    from tests.test_scaled_instance import _stopping_blueprint

    home = tmp_path / "home"
    broker, queue = rabbitmq_queue
    scaled = {
        "FACTORY_HOME": str(home),
        "FACTORY_PROFILE": "scaled",
        "FACTORY_DATABASE_URL": postgres_url,
        "DAGSTER_POSTGRES_URL": postgres_url.replace("postgresql+psycopg://", "postgresql+psycopg2://"),
        "FACTORY_BROKER_URL": broker,
        "FACTORY_WORKER_QUEUE": queue,
        "FACTORY_WORKERS": "1",
    }
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for name, value in scaled.items():
        monkeypatch.setenv(name, value)
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root}
    ports = [free_port(), free_port(), free_port()]
    command = [FACTORY, "up", "--no-demo", "--dagster-port", str(ports[0]), "--studio-port", str(ports[1]),
               "--api-port", str(ports[2])]  # fmt: skip
    up = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True)  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{ports[2]}/healthz")  # the control database is migrated by then
        control = ControlPlane()
        record, _ = control.submit_intent("acme", "helpdesk", "", blueprint_yaml=_stopping_blueprint())
        deadline = time.monotonic() + 420
        while control.intent(record.id or 0).status != "failed":
            assert up.poll() is None and time.monotonic() < deadline, (
                home / "logs" / "dagster-daemon.log"
            ).read_text()[-3000:]
            time.sleep(2)
        started = [p for p in _processes_with(str(home)) if p != os.getpid()]
    finally:
        up.send_signal(signal.SIGTERM)
        out, err = up.communicate(timeout=120)
    assert "Steps failed: ['blueprint']" in (control.intent(record.id or 0).detail or "")  # its checks stopped it
    instance = factory_instance(home)
    (run,) = [r for r in instance.get_runs() if r.job_name == "lifecycle"]
    ran = _executions(instance, run.run_id)
    assert [s for s, _ in ran] == ["intent", "requirements", "blueprint"], ran
    assert all(w.startswith("worker-1@") for _, w in ran), ran  # every step on the worker `up` started
    instance.dispose()
    assert (home / "logs" / "worker-1.log").is_file() and len(started) >= 5, started  # 4 servers and the worker
    assert up.returncode == 130 and "Traceback" not in err, (up.returncode, err[-2000:])
    assert all(f"http://127.0.0.1:{port}" in out for port in ports)
    deadline = time.monotonic() + 30  # nothing it started is left once those ending have ended
    while (left := _commands_of([p for p in _processes_with(str(home)) if p != os.getpid()])) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.5)
    assert left == {}


def _commands_of(pids: list[int]) -> dict[int, str]:
    """Each of `pids` still running, with its command line."""
    found = {}
    for pid in pids:
        try:
            found[pid] = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
        except OSError:
            continue
    return found


def _processes_with(value: str) -> list[int]:
    """The processes whose environment holds `value` (this test's FACTORY_HOME)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and value.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found
