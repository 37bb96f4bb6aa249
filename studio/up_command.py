"""`factory up`: the Dagster UI and daemon, the Studio and the HTTP API, with the demo products built.

They serve on loopback unless told otherwise; beyond loopback only with sign-in configured (local accounts,
or OpenID Connect), and then the Dagster UI, which has no sign-in of its own, is started read-only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from ontology.config import factory_home, settings
from ontology.errors import InvalidInputError
from ontology.refs import ProductRef
from studio.api_command import API_PORT
from studio.output import console

__all__ = ["DEMO_INTENTS", "StopOnce", "check_exposure", "check_port_free", "is_loopback", "server_commands", "up"]

DAEMON_START_S = 180.0
"""How long `up` waits, in the scaled profile, for the daemon it started to serve the run queue."""

DEMO_INTENTS = (
    (
        "acme",
        "invoicing",
        "A multi-tenant invoicing service where customers receive invoices with line items and pay them by card.",
    ),
    ("acme", "clinic", "A clinic booking service where patients book appointments with doctors."),
)


def check_port_free(host: str, port: int, option: str) -> None:
    if not 1 <= port <= 65535:
        raise InvalidInputError(f"{option} {port} is not a port number (1-65535)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: a port in TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError:
            raise InvalidInputError(f"port {port} on {host} is in use: stop what holds it, or pass {option}") from None


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine only (localhost, 127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, home: Path) -> None:
    """Refuse to serve beyond loopback unless someone must sign in: the home has accounts, or an OpenID
    Connect provider is configured (Streamlit's `[auth]` secrets). Nothing is written to find out."""
    from infra.oidc import oidc_configured

    if is_loopback(host) or oidc_configured():
        return
    has_accounts = False
    if home.exists() or os.environ.get("FACTORY_DATABASE_URL"):
        from infra.accounts import Accounts
        from infra.control import ControlPlane

        has_accounts = Accounts(ControlPlane(None, home)).any()
    if not has_accounts:
        raise InvalidInputError(
            f"{host[:100]} is not a loopback address, and nobody would have to sign in: add an account first "
            "(`factory users add NAME --factory-admin`) or configure OpenID Connect ([auth] in .streamlit/secrets.toml)"
        )


def server_commands(host: str, dagster_port: int, studio_port: int, api_port: int = API_PORT) -> dict[str, list[str]]:
    """The servers `up` starts: the Dagster UI (read-only beyond loopback: it has no sign-in of its own), the
    Dagster daemon, the Studio and the HTTP API (every call of which needs a token); in the scaled profile with
    a broker, `FACTORY_WORKERS` Celery workers that run the builds' steps too."""
    bin_dir = Path(sys.executable).parent
    webserver = [str(bin_dir / "dagster-webserver"), "-h", host, "-p", str(dagster_port), "-m", "assets.definitions"]
    config = settings()
    workers = {
        f"worker-{n}": [sys.executable, "-m", "studio", "worker", "--name", f"worker-{n}"]
        for n in range(1, config.workers + 1)
        if config.celery
    }
    return {
        "dagster-webserver": webserver if is_loopback(host) else [*webserver, "--read-only"],
        "dagster-daemon": [str(bin_dir / "dagster-daemon"), "run", "-m", "assets.definitions"],
        "studio": [
            sys.executable, "-m", "streamlit", "run", str(Path(__file__).with_name("app.py")),
            "--server.address", host, "--server.port", str(studio_port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
        ],
        "api": [sys.executable, "-m", "studio", "api", "--host", host, "--port", str(api_port)],
        **workers,
    }  # fmt: skip


class StopOnce:
    """Handler of the signals that stop `up`: the first raises KeyboardInterrupt, any that follow do nothing.

    One kill of `make up` reaches `up` twice (from the kill, and from make, which passes a SIGTERM on to
    its child), and a person may press Ctrl-C again: a second KeyboardInterrupt raised while `up` stops
    what it started would cut that short and leave the servers running.
    """

    def __init__(self) -> None:
        self.stopping = False

    def __call__(self, signum: int, frame: object) -> None:
        if not self.stopping:
            self.stopping = True
            raise KeyboardInterrupt


def up(
    host: Annotated[
        str,
        typer.Option(
            help="Address to serve on; beyond loopback only with sign-in configured (the Dagster UI read-only)."
        ),
    ] = "127.0.0.1",
    dagster_port: Annotated[int, typer.Option(help="Port of the Dagster UI.")] = 3000,
    studio_port: Annotated[int, typer.Option(help="Port of the Studio.")] = 8501,
    api_port: Annotated[int, typer.Option(help="Port of the factory's HTTP API.")] = API_PORT,
    demo: Annotated[bool, typer.Option(help="Build the demo products if there are none.")] = True,
    once: Annotated[bool, typer.Option("--once", help="Build the demo products, print the URLs and stop.")] = False,
) -> None:
    """Start the Dagster UI and daemon, the Studio and the HTTP API (on loopback unless --host), build the demos."""
    from assets.builds import DagsterBuildRunner, factory_instance, wait_for_run_queue
    from infra.control import ControlPlane
    from infra.event_transports import EventDispatcher, nats_from_env
    from infra.lifecycle.use_cases import stop as stop_deployments
    from infra.lifecycle.use_cases import submit_and_build
    from studio.access_commands import first_admin
    from studio.lifecycle_commands import _print_summary

    home = factory_home()
    check_exposure(host, home)
    if not once:  # before any build: a server that cannot listen would otherwise fail only after the demo builds
        ports = (("--dagster-port", dagster_port), ("--studio-port", studio_port), ("--api-port", api_port))
        for option, port in ports:
            check_port_free(host, port, option)
    home.mkdir(parents=True, exist_ok=True)
    factory_instance(home).dispose()  # its storage is created once, here, before servers and builds open it together
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    commands = server_commands(host, dagster_port, studio_port, api_port)
    started: dict[str, subprocess.Popen[bytes]] = {}
    control = ControlPlane(None, home)
    first_admin(control, home)  # on an empty home: the first account, and this machine's command line signed in
    running_before = {d.pid for d in control.deployments(None, status="running")}
    stop = StopOnce()
    delivering = threading.Event()
    if not once:  # events go out within a second (the daemon's sensor is the slower fallback)
        dispatcher = EventDispatcher(control, nats=nats_from_env())
        threading.Thread(target=dispatcher.run_forever, args=(delivering,), name="events", daemon=True).start()
    if not once:  # a kill stops the servers too, as Ctrl-C does, and so does a closed terminal (unless under nohup)
        signal.signal(signal.SIGTERM, stop)
        for sig in (signal.SIGINT, signal.SIGHUP):  # ignored ones stay ignored (a background job, nohup)
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, stop)
    try:
        if not once:
            for name, command in commands.items():
                log = (logs / f"{name}.log").open("ab")
                # In a session of its own: a terminal's Ctrl-C reaches this command alone, which stops the
                # servers in order below (and reports a server that stopped by itself as an error).
                started[name] = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(), start_new_session=True
                )
            console.print(f"Dagster UI  http://{host}:{dagster_port}")
            console.print(f"Studio      http://{host}:{studio_port}")
            console.print(f"API         http://{host}:{api_port}  (OpenAPI /openapi.json, docs /docs)")
            console.print(f"logs        {logs}")
        if demo and not control.products(None):
            if not once and settings().scaled:  # its builds wait in Dagster's queue for the daemon just started
                console.print("waiting for the Dagster daemon to serve the run queue …")
                wait_for_run_queue(home, DAEMON_START_S)
            for tenant, product, text in DEMO_INTENTS:
                console.print(f"building demo product {tenant}/{product} …")
                ref = ProductRef(tenant, product)
                # its deep contract run (100 examples per operation) follows in the daemon, off this path
                built = submit_and_build(control, DagsterBuildRunner(), ref, text, actor="factory up")
                _print_summary(built.result.summary())
        for d in control.deployments(None, status="running"):
            console.print(f"service     {d.url}  ({d.tenant}/{d.product} {d.env}, pid {d.pid})")
        if once:
            return
        console.print("Ctrl-C stops the servers this command started.")
        while all(p.poll() is None for p in started.values()):
            time.sleep(1)
        gone = [n for n, p in started.items() if p.poll() is not None]
        raise InvalidInputError(f"{', '.join(gone)} stopped: see {logs}")
    finally:
        if not once:  # the services this command deployed stop with it; --once leaves them running
            stop.stopping = True  # from here on a stop signal changes nothing
            stop_deployments(control, actor="factory up", keep_pids=list(running_before))
            delivering.set()
        for process in started.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 15
        for process in started.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:  # the server and what it started (Dagster's code servers)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
