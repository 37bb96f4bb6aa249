"""The validation's tools (`python -m pytest`, `python -m schemathesis.cli`, the copy of the service the
contract run fuzzes) forked from a warm interpreter, so they start without importing their libraries.

Every pytest process of a generated product's suite spends more than a second of CPU importing the libraries
every generated service uses (pytest, FastAPI, Pydantic, SQLAlchemy, Alembic, PyJWT, cryptography, httpx,
OpenTelemetry) before its first test, and schemathesis almost as long importing itself and hypothesis; a
build runs them side by side on a machine's few cores. A warm interpreter (this file, run as a script by
the factory's own interpreter) imports them once and then forks one process per request: the child takes a
session of its own (so a timeout can end it and whatever it started), the folder, environment and output
file it was given, runs the module as `python -m` would (or a program as `python -c` would) and writes its
exit status to a file beside its output. The warm interpreter never imports a product's own code, so each
child starts from the same clean state; it exits when the factory process that started it closes its end
of the pipe or ends itself (a thread watches it through a pidfd), and its runs are then sent SIGTERM, so none
outlives the factory; none but a lasting one (a deployed service), which goes on. Each run shows its own
command line to `ps` (as far as this file's command line, its preload list included, leaves room for it).

The caller reads the child's pid from the warm interpreter and watches it through a pidfd (Linux 5.3 or
later); the warm interpreter reaps its finished children only when it is asked for the next one, by which
time the caller holds that pidfd, so a pid is never mistaken for another process's. Where any of this is
not available, `warm_interpreter()` is None and the tester starts pytest as a process of its own.

Run as a script, this file is the warm interpreter: it must import nothing of the factory.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import IO, Any

import setproctitle

PRELOAD = (
    "pytest",
    "_pytest.junitxml",
    "httpx",
    "fastapi",
    "fastapi.routing",
    "fastapi.openapi.models",
    "fastapi.security",
    "pydantic",
    "sqlmodel",
    "sqlalchemy.orm",
    "alembic.command",
    "alembic.config",
    "alembic.runtime.migration",
    "jwt",
    "cryptography.hazmat.primitives.asymmetric.ec",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "opentelemetry.sdk.metrics",
    "opentelemetry.sdk.trace",
    "schemathesis.cli",
    "uvicorn.main",
    "uvicorn.server",
    "uvicorn.lifespan.on",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.http.h11_impl",
    "uvloop",
)
"""What the warm interpreter imports before its first fork: the libraries of the generated services, their
suites, the server and the contract run (one that is not installed is skipped)."""


class ForkedRun:
    """One process forked by the warm interpreter: wait for it, end it, read its exit status."""

    def __init__(self, pid: int, status: Path) -> None:
        self.pid = pid
        self.status_path = status
        """Where the run leaves its exit status (beside its output)."""
        self._done = False
        self._code: int | None = None
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:  # already ended and reaped: its status file says how
            self._pidfd, self._done = None, True

    def wait(self, timeout_s: float) -> bool:
        """Whether the process ended within `timeout_s` seconds."""
        if not self._done and self._pidfd is not None:
            ready, _, _ = select.select([self._pidfd], [], [], max(timeout_s, 0.0))
            self._done = bool(ready)
        if self._done:
            self._close()
        return self._done

    def poll(self) -> int | None:
        """The exit status once the process has ended, else None."""
        return self.returncode if self.wait(0.0) else None

    def kill(self) -> None:
        """End the process and everything it started (its session)."""
        self.stop(0.0)

    def stop(self, grace_s: float = 10.0) -> None:
        """End the process and its session: SIGTERM first when `grace_s` is above 0, SIGKILL once it has passed."""
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
            if self._done or (sig == signal.SIGTERM and grace_s <= 0):
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            if self.wait(wait_s) and self._code is None:
                self._code = -sig  # as a process's own parent would see it

    @property
    def returncode(self) -> int | None:
        """The run's exit status (minus the signal's number when it was killed), None while it runs."""
        return self._code

    def release(self) -> None:
        """Stop watching a run that goes on by itself (a lasting one): it can no longer be waited for."""
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self.status_path.unlink(missing_ok=True)  # the status it leaves when it ends is no one's

    def _close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._code = int(self.status_path.read_text(encoding="utf-8"))
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


class WarmInterpreter:
    """The factory's side of the warm interpreter: one request at a time, from any thread."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k != "PYTHONPATH"}
        self._lock = threading.RLock()  # re-entered by `fork`, which opens the pidfd before letting go
        self._process = subprocess.Popen(
            # what it preloads is on its command line: besides showing in `ps`, that leaves room for the command
            # line each run shows instead (setproctitle writes within it)
            [sys.executable, __file__, str(os.getpid()), ",".join(PRELOAD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd="/",
            text=True,
        )

    def alive(self) -> bool:
        return self._process.poll() is None

    def children_cpu_s(self) -> float:
        """CPU seconds of the runs it forked that have ended (it reaps them first), for benchmarks: they are not
        the caller's children, so the caller's own accounting of its children's CPU leaves them out."""
        return float(self._ask({"reap": True})["cpu_s"])

    def reap(self) -> None:
        """Have it collect the runs that have ended now (a lasting run stopped by another process is otherwise
        left a zombie until its next request)."""
        self._ask({"reap": True})

    def fork(self, module: str, args: list[str], cwd: Path, env: dict[str, str], output: Path) -> ForkedRun:
        """Start `python -m module args` in `cwd` with exactly `env`, its output (stdout and stderr) going to
        `output` (and its exit status to a file beside it)."""
        return self._fork({"module": module}, args, cwd, env, output)

    def fork_code(
        self,
        code: str,
        args: list[str],
        cwd: Path,
        env: dict[str, str],
        output: Path,
        *,
        title: str = "",
        lasting: bool = False,
    ) -> ForkedRun:
        """Start `python -c code args`, otherwise as `fork`; `title` is the command line it shows (`ps`,
        /proc/<pid>/cmdline). A `lasting` run goes on after the warm interpreter and the factory end."""
        return self._fork({"code": code, "title": title, "lasting": lasting}, args, cwd, env, output)

    def _fork(self, what: dict[str, Any], args: list[str], cwd: Path, env: dict[str, str], output: Path) -> ForkedRun:
        status = output.with_name(output.name + ".status")
        request = {**what, "args": args, "cwd": str(cwd), "env": env, "output": str(output), "status": str(status)}
        with self._lock:  # the pidfd is opened before the next request lets the warm interpreter reap
            return ForkedRun(int(self._ask(request)["pid"]), status)

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        with self._lock:
            try:
                stdin.write(json.dumps(request) + "\n")
                stdin.flush()
                answer = stdout.readline()
            except (OSError, ValueError) as error:  # a closed pipe
                raise OSError(f"the warm interpreter has ended: {error}") from None
            if not answer:
                raise OSError("the warm interpreter has ended")
            found: dict[str, Any] = json.loads(answer)
            return found


class SpawnedRun:
    """The same tool started as a process of its own, where there is no warm interpreter."""

    def __init__(self, module: str, args: list[str], cwd: Path, env: dict[str, str], output: Path) -> None:
        with output.open("wb") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self._process.pid

    def wait(self, timeout_s: float) -> bool:
        try:
            self._process.wait(timeout=max(timeout_s, 0.001))
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self) -> None:
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    @property
    def returncode(self) -> int | None:
        return self._process.returncode


def run_module(module: str, args: list[str], cwd: Path, env: dict[str, str], output: Path) -> ForkedRun | SpawnedRun:
    """Start `python -m module args` in `cwd` with exactly `env`, in a session of its own, its output going to
    `output`: forked from the warm interpreter where there is one, else as a new process."""
    warm = warm_interpreter()
    if warm is not None:
        try:
            return warm.fork(module, args, cwd, env, output)
        except OSError:  # it ended: this run goes without it, the next one starts another
            pass
    return SpawnedRun(module, args, cwd, env, output)


_WARM: WarmInterpreter | None = None
_WARM_LOCK = threading.Lock()


def warm_interpreter(start: bool = True) -> WarmInterpreter | None:
    """The process's warm interpreter, started on first use (it loads in the background) unless `start` is
    False; None where the platform cannot fork or watch a pid that is not a child."""
    global _WARM
    if not (hasattr(os, "fork") and hasattr(os, "pidfd_open")):
        return None
    with _WARM_LOCK:
        if not start:
            return _WARM
        if _WARM is None or not _WARM.alive():
            try:
                _WARM = WarmInterpreter()
            except OSError:
                return None
        return _WARM


# ---------------------------------------------------------------------------- the warm interpreter itself


def _child(request: dict[str, Any]) -> None:
    """In the forked process: become `python -m module args` (or `python -c code args`), then exit with its
    status."""
    code = 3  # pytest's "internal error", should anything before the module's own code fail
    gc.enable()  # its own objects are collected; the warm interpreter's stay frozen (see `_serve`)
    try:
        os.setsid()
        if _WATCHED is not None:
            os.close(_WATCHED)
        if not request.get("lasting"):
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: it ends with the warm interpreter
            if os.getppid() == 1:  # which has ended already
                os._exit(code)
        # What `ps` shows instead of this file's command line, cut to the length of that line (its preload list
        # leaves room): beyond it the title would overwrite what /proc/<pid>/environ shows (the environment
        # the warm interpreter began with).
        os.environ["SPT_NOENV"] = "1"
        shown = ["-m", request["module"]] if "module" in request else ["-c", "..."]
        setproctitle.setproctitle(request.get("title") or " ".join(["python", *shown, *request["args"]]))
        signal.signal(signal.SIGINT, signal.default_int_handler)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - the run's, for its whole life
        out = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(null)
        os.close(out)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.dont_write_bytecode = True
        sys.path.insert(0, request["cwd"])  # as `python -m` puts the folder it runs in first
        try:
            if "code" in request:
                sys.argv = ["-c", *request["args"]]
                exec(compile(request["code"], "<string>", "exec"), {"__name__": "__main__"})
            else:
                sys.argv = [request["module"], *request["args"]]
                runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as end:
            code = end.code if isinstance(end.code, int) else (0 if end.code is None else 1)
    except BaseException:  # whatever it was goes to the run's output, and the run fails
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            Path(request["status"]).write_text(str(code), encoding="utf-8")
        os._exit(code)


def _reap() -> None:
    """Collect the children that have ended (their callers watch them through pidfds opened before this)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


_WATCHED: int | None = None
"""The pidfd `_end_with` watches (a forked run closes its copy)."""


def _end_with(parent: int) -> None:
    """Exit as soon as `parent` (the factory process that started this one) has ended: the pipe closing says
    so too, but only once the preload is done, and not at all while a process that `parent` forked still
    holds the pipe's other end (a prefork worker's pool)."""
    global _WATCHED
    try:
        _WATCHED = os.pidfd_open(parent)
    except ProcessLookupError:
        os._exit(0)
    if os.getppid() == parent:  # else it ended before the pidfd was opened, and a new process may have its pid
        select.select([_WATCHED], [], [])
    os._exit(0)  # the runs it forked are then sent SIGTERM (see `_child`)


def _serve(requests: IO[str], answers: IO[str], parent: int, preload: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the factory's Ctrl-C is its own; its end ends this
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()
    # The preloaded libraries' objects live as long as every run: frozen before each fork, a child's full
    # collections skip them (pytest's took about 0.7 s of CPU over a 5-entity suite, 0.2 s once frozen) and
    # do not write to their pages. Without the collector the warm interpreter leaves no holes among them.
    gc.disable()
    for name in preload:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    for line in requests:
        request = json.loads(line)
        _reap()
        if request.get("reap"):
            times = os.times()
            answers.write(json.dumps({"cpu_s": times.children_user + times.children_system}) + "\n")
            answers.flush()
            continue
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            _child(request)
        answers.write(json.dumps({"pid": pid}) + "\n")
        answers.flush()


if __name__ == "__main__":
    del sys.path[0]  # this file's folder: the interpreter's path is then that of `python -m`
    _serve(sys.stdin, sys.stdout, int(sys.argv[1]), sys.argv[2].split(","))
