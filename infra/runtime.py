"""The local runtime: a rendered service runs as a uvicorn process on loopback, in its own session.

State lives under `<home>/runtime/`: `data/<name>/` (the service's SQLite database, kept across
revisions and migrated by each one before it starts), `logs/` (one log per started process),
`telemetry/<name>.jsonl` (the spans the service writes) and `keys/<name>/` (the key the factory signs
the service's bearer tokens with; see `infra.service_tokens`). Processes are identified by pid *and* by
their command line and working folder (read from /proc), so a recycled pid is never signalled. Linux only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from generators.agents.warm_interpreter import ForkedRun, WarmInterpreter, warm_interpreter
from infra.service_tokens import ServiceTokens
from ontology.errors import FactoryError
from ontology.refs import check_slug, check_trace_id

__all__ = ["DeploymentError", "LocalRuntime", "ServiceProcess", "alive", "healthy", "serving_from", "stop"]

APP_FACTORY = "app.main:create_app"
LOG_TAIL_LINES = 15
START_TIMEOUT_S = 120.0
"""How long a started service may take to answer its health check. A service that exits is seen at once;
this bounds one that is alive but slow, and a cold interpreter on a busy machine (several builds at once
on two cores) can take well over 30 s to import a service's libraries."""

# Popen objects of the services this process started: poll() reaps them, so none stays a zombie.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_CHILDREN_LOCK = threading.Lock()


class DeploymentError(FactoryError):
    """A service could not be started, or did not become healthy in time."""

    def __init__(self, message: str, log_lines: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.log_lines = log_lines


@dataclass(frozen=True)
class ServiceProcess:
    """One running revision of a service: where it listens, where it runs and where it writes."""

    name: str
    pid: int
    port: int
    url: str
    workdir: Path
    log_path: Path
    telemetry_path: Path
    started_at: str

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready record (paths as strings), for a deployment record."""
        return {key: str(value) if isinstance(value, Path) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> ServiceProcess:
        """The process described by a record written by `as_dict`."""
        paths = {key: Path(record[key]) for key in ("workdir", "log_path", "telemetry_path")}
        return cls(
            name=str(record["name"]),
            pid=int(record["pid"]),
            port=int(record["port"]),
            url=str(record["url"]),
            started_at=str(record["started_at"]),
            **paths,
        )


def _reap(pid: int) -> None:
    """Collect the exit status of a child we started, if it has exited."""
    with _CHILDREN_LOCK:
        child = _CHILDREN.get(pid)
        if child is not None and child.poll() is not None:
            del _CHILDREN[pid]


def _running(pid: int) -> bool:
    """Whether a process with this pid exists and is not a zombie."""
    _reap(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[:1]
    return state not in (["Z"], ["X"])


def _is_ours(pid: int, workdir: Path) -> bool:
    """Whether `pid` is a uvicorn serving the app whose working folder is `workdir`."""
    if pid <= 0 or not _running(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()  # a title, or the argv
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return False
    names = {part.decode("utf-8", "replace") for part in argv}
    return "uvicorn" in names and APP_FACTORY in names and cwd == workdir.resolve()


def alive(pid: int, workdir: Path) -> bool:
    """Whether the service we started in `workdir` still runs under `pid`."""
    return _is_ours(pid, workdir)


def serving_from(workdir: Path) -> list[int]:
    """The pids of the services that run in `workdir`, recorded or not (one started by a process that was
    killed before it could record it)."""
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _is_ours(int(p.name), workdir)]


@cache
def _client() -> httpx.Client:
    """One client for every health check: building a client loads the CA bundle (tens of milliseconds).

    No connection is kept alive: a port may be served by another process at the next check.
    """
    return httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))


def healthy(url: str, path: str = "/health", timeout_s: float = 2.0) -> bool:
    """Whether `url + path` answers 200 within the timeout."""
    try:
        return _client().get(url.rstrip("/") + path, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, timeout_s: float) -> bool:
    """Wait until `pid` has exited (reaping it when it is our child); whether it did in time."""
    with _CHILDREN_LOCK:
        child = _CHILDREN.get(pid)
    if child is not None:
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        _reap(pid)
        return True
    deadline = time.monotonic() + timeout_s
    while _running(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    warm = warm_interpreter(start=False)
    # a zombie: a run the warm interpreter forked. Its threads may still be ending after the main one did, and
    # until they have, the warm interpreter cannot collect it: ask again for a moment
    settle = time.monotonic() + 5.0
    while warm is not None and Path(f"/proc/{pid}").exists() and time.monotonic() < settle:
        with suppress(OSError):
            warm.reap()
        time.sleep(0.02)
    return True


def stop(pid: int, workdir: Path, timeout_s: float = 10.0) -> bool:
    """Stop the service started in `workdir` under `pid`: SIGTERM to its group, then SIGKILL.

    Returns False, signalling nothing, when that pid is not such a service (gone, or reused)."""
    if not _is_ours(pid, workdir):
        return False
    _signal_group(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout_s):
        _signal_group(pid, signal.SIGKILL)
        _wait_gone(pid, 5.0)
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> tuple[str, ...]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    return tuple(line for line in text.splitlines() if line.strip())[-lines:]


_BOUND = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: kept across the exec below\n"
    "if os.getppid() == 1: sys.exit(0)  # the starter is already gone\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)
"""Runs the rest of its arguments with Python once the kernel is told to stop it with its starter (Linux)."""

MIGRATED = "factory: the database is at the release's migrations"
MIGRATION_FAILED = 75
_LAUNCH = (
    "import logging, runpy, sys\n"
    "if sys.argv[1] == 'migrate':\n"
    "    from alembic.config import main\n"
    "    try:\n"
    "        main(argv=['-c', 'alembic.ini', 'upgrade', 'head'])\n"
    "    except BaseException as error:\n"
    "        print(f'migration failed: {error!r}', file=sys.stderr, flush=True)\n"
    f"        sys.exit({MIGRATION_FAILED})\n"
    f"    print({MIGRATED!r}, file=sys.stderr, flush=True)\n"
    "    logging.getLogger().handlers.clear()  # the service sets up its own logging\n"
    "sys.argv = sys.argv[2:]\n"
    "runpy.run_module('uvicorn', run_name='__main__', alter_sys=True)\n"
)
"""Migrates the database first when its first argument says `migrate` (exiting with MIGRATION_FAILED when a
migration fails), then runs uvicorn with the rest: one interpreter imports the release's code for both."""


@dataclass(frozen=True)
class _Launch:
    """A service about to start: what its process runs with, and where it will listen and write."""

    name: str
    source: Path
    workdir: Path
    env: dict[str, str]
    port: int
    log_path: Path
    telemetry_path: Path
    migrating: bool
    args: list[str]  # of _LAUNCH
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def service(self, pid: int) -> ServiceProcess:
        return ServiceProcess(
            self.name, pid, self.port, self.url, self.workdir, self.log_path, self.telemetry_path, self.started_at
        )


class LocalRuntime:
    """Starts, replaces and stops rendered services as local processes; state under `<home>/runtime/`."""

    def __init__(self, home: Path, python: str = sys.executable) -> None:
        self.root = home / "runtime"
        self.python = python

    def data_dir(self, name: str) -> Path:
        """Where the service `name` keeps its database; every revision of it uses the same one."""
        return self.root / "data" / check_slug(name, "service name")

    def database_url(self, name: str) -> str:
        """The SQLAlchemy URL of the database the service `name` runs on (its `DATABASE_URL`)."""
        return f"sqlite:///{(self.data_dir(name) / 'service.db').resolve()}"

    def tokens(self, name: str) -> ServiceTokens:
        """The signing key of the service `name`: its tokens and the headers every request to it carries."""
        return ServiceTokens(self.root, name)

    def telemetry_path(self, name: str) -> Path:
        """The JSON-lines file the service `name` appends its spans and metrics to."""
        return self.root / "telemetry" / f"{check_slug(name, 'service name')}.jsonl"

    def start(
        self,
        source: Path,
        *,
        name: str,
        trace_id: str,
        health_path: str = "/health",
        timeout_s: float = START_TIMEOUT_S,
        extra_env: Mapping[str, str] | None = None,
        bound: bool = False,
    ) -> ServiceProcess:
        """Run the service rendered in `source` on a free loopback port and wait until it is healthy.

        A source with migrations (alembic.ini) first brings its DATABASE_URL to their head, in the process
        that then serves it and before it listens, so the database a service finds is always the one its
        code declares (a failed migration raises MigrationError and starts nothing). The service trusts
        only tokens of `self.tokens(name)`. `extra_env` is applied last, over the runtime's own variables.
        A `bound` service (a throwaway copy a stage starts for itself) is sent SIGTERM when the thread that
        started it ends, so a build that is killed leaves none running. Any other is forked from this
        process's warm interpreter where it has one (healthy in well under half the time, its libraries
        imported already), as a lasting run that outlives the warm interpreter and the factory, and shows
        uvicorn's command line to `ps` and to `alive`.
        Raises DeploymentError, with the last log lines, when the service
        exits or stays unhealthy; nothing is left running then."""
        launch = self._launch(source, name, trace_id, extra_env)
        # forked only from a warm interpreter this process has: loading one takes longer than a service's start
        if not bound and (run := self._fork(launch, warm_interpreter(start=False), lasting=True)) is not None:
            self._await_health(launch, run.poll, run.kill, health_path, timeout_s)
            run.release()
            return launch.service(run.pid)
        command = [self.python, "-c", _LAUNCH, *launch.args]
        if bound:
            command = [self.python, "-c", _BOUND, *command[1:]]
        with launch.log_path.open("wb") as log:
            child = subprocess.Popen(
                command, cwd=launch.workdir, env=launch.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        with _CHILDREN_LOCK:
            _CHILDREN[child.pid] = child
        self._await_health(launch, child.poll, lambda: self._abandon(child), health_path, timeout_s)
        return launch.service(child.pid)

    @contextmanager
    def serving_copy(
        self, source: Path, *, name: str, trace_id: str, extra_env: Mapping[str, str] | None = None
    ) -> Iterator[ServiceProcess]:
        """A throwaway copy of the service in `source` (as `start` with `bound`), stopped when the block ends.

        It is forked from the warm interpreter where there is one (see generators.agents.warm_interpreter),
        whose FastAPI, SQLAlchemy, Alembic, uvicorn and the rest are imported already: about a second less
        of CPU than a new interpreter's start. It then ends with the warm interpreter, should the factory
        process end first; elsewhere it is started as `start` does."""
        launch = self._launch(source, name, trace_id, extra_env)
        run = self._fork(launch, warm_interpreter(), lasting=False)
        if run is None:
            service = self.start(source, name=name, trace_id=trace_id, extra_env=extra_env, bound=True)
            try:
                yield service
            finally:
                self.stop(service)
            return
        try:
            self._await_health(launch, run.poll, run.kill, "/health", 30.0)
            yield launch.service(run.pid)
        finally:
            run.stop()
            run.status_path.unlink(missing_ok=True)  # the log is the caller's; this is the warm interpreter's

    def _fork(self, launch: _Launch, warm: WarmInterpreter | None, *, lasting: bool) -> ForkedRun | None:
        """The service forked from `warm` where this runtime's Python is its Python; None where it cannot be."""
        if warm is None or self.python != sys.executable:
            return None
        title = " ".join(["python", "-m", *launch.args[1:]])  # what `ps` shows, and what `_is_ours` reads
        try:
            return warm.fork_code(
                _LAUNCH, launch.args, launch.workdir, launch.env, launch.log_path, title=title, lasting=lasting
            )
        except OSError:  # the warm interpreter has ended
            return None

    def _launch(self, source: Path, name: str, trace_id: str, extra_env: Mapping[str, str] | None) -> _Launch:
        """What a start of the service rendered in `source` runs with: folder, environment, port, log."""
        check_trace_id(trace_id)
        workdir = source.resolve()
        if not (workdir / "app").is_dir():
            raise DeploymentError(f"{source} holds no rendered service (no app/ folder): render the product first")
        data, telemetry = self.data_dir(name), self.telemetry_path(name)
        logs = self.root / "logs"
        for folder in (data, telemetry.parent, logs):
            folder.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
        env.update(
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
            DATABASE_URL=self.database_url(name),
            FACTORY_TELEMETRY_FILE=str(telemetry.resolve()),
            FACTORY_TRACE_ID=trace_id,
        )
        env = {key: value for key, value in env.items() if not key.startswith("AUTH_")}  # none of the factory's own
        env.update(self.tokens(name).service_env(workdir))
        env.update(extra_env or {})
        from infra import migrations  # it builds on this module's DeploymentError

        # every deployment migrates its database before it serves, in the process that then serves it
        migrating = migrations.has_migrations(workdir)
        port = _free_port()
        serve = ["uvicorn", "--factory", APP_FACTORY, "--host", "127.0.0.1", "--port", str(port)]
        return _Launch(
            name, source, workdir, env, port, logs / f"{name}-{port}.log", telemetry, migrating,
            ["migrate" if migrating else "serve", *serve],
        )  # fmt: skip

    def _await_health(
        self,
        launch: _Launch,
        poll: Callable[[], int | None],
        abandon: Callable[[], None],
        health_path: str,
        timeout_s: float,
    ) -> None:
        """Wait until the started service answers its health check; on a failure or an interrupt, `abandon` it
        and raise (DeploymentError, or MigrationError when its migrations failed, with the last log lines)."""
        from infra import migrations

        migrating, log_path = launch.migrating, launch.log_path
        # the migrations have a time limit of their own; the service's start is timed from their end
        deadline = time.monotonic() + (migrations.TIMEOUT_S if migrating else timeout_s)
        try:
            while not healthy(launch.url, health_path, timeout_s=1.0):
                code = poll()
                if code == MIGRATION_FAILED:
                    raise migrations.MigrationError(f"alembic upgrade head in {launch.workdir} failed")
                if migrating and MIGRATED in "\n".join(_tail(log_path)):
                    migrating, deadline = False, time.monotonic() + timeout_s
                if code is not None or time.monotonic() >= deadline:
                    why = f"exited with code {code}" if code is not None else f"was not healthy within {timeout_s:g} s"
                    if migrating and code is None:
                        why = f"did not finish its migrations within {migrations.TIMEOUT_S:g} s"
                    raise DeploymentError(f"service {launch.name} from {launch.source} {why}; fix it and deploy again")
                time.sleep(0.05)
        except BaseException as exc:  # a failed start, or an interrupt: leave nothing running
            abandon()
            if not isinstance(exc, DeploymentError):
                raise
            lines = _tail(log_path)
            shown = " | ".join(lines[-5:])[-600:] or "(empty log)"
            raise type(exc)(f"{exc} (log {log_path}): {shown}", lines) from None

    @staticmethod
    def _abandon(child: subprocess.Popen[bytes]) -> None:
        """Kill a child that failed to start, with its group, and reap it."""
        if child.poll() is None:
            _signal_group(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
        _reap(child.pid)

    def stop(self, process: ServiceProcess, timeout_s: float = 10.0) -> bool:
        """Stop a service this runtime started; whether it was running."""
        return stop(process.pid, process.workdir, timeout_s)

    def alive(self, process: ServiceProcess) -> bool:
        """Whether the process still runs and is still that service."""
        return alive(process.pid, process.workdir)

    def replace(
        self,
        old: ServiceProcess | tuple[int, Path] | None,
        source: Path,
        *,
        name: str,
        trace_id: str,
        health_path: str = "/health",
        timeout_s: float = START_TIMEOUT_S,
        extra_env: Mapping[str, str] | None = None,
    ) -> ServiceProcess:
        """Start the new revision, and only once it is healthy stop the old one: no moment without a server.

        When the new one fails, DeploymentError is raised and the old one keeps running."""
        new = self.start(
            source, name=name, trace_id=trace_id, health_path=health_path, timeout_s=timeout_s, extra_env=extra_env
        )
        if isinstance(old, ServiceProcess):
            stop(old.pid, old.workdir)
        elif old is not None:
            stop(old[0], old[1])
        return new
