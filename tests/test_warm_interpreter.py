"""The validation's tools forked from a warm interpreter behave as `python -m` started anew would: the folder,
environment, arguments and exit status they were given, their output in the file named, nothing of the
factory or of an earlier run in them, and a timeout ends them with whatever they started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generators.agents import warm_interpreter
from generators.agents.warm_interpreter import ForkedRun, SpawnedRun, WarmInterpreter, run_module

PROBE = """
import json, os, sys
sys.modules.setdefault("left_behind", sys)  # a later run must not see it
print("out line")
print("err line", file=sys.stderr)
json.dump(
    {
        "cwd": os.getcwd(),
        "argv": sys.argv[1:],
        "env": os.environ.get("PROBE_VALUE"),
        "path_first": sys.path[0],
        "factory_loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("generators", "infra", "graph")),
        "left_behind": "left_behind" in sys.modules and sys.modules["left_behind"] is not sys,
    },
    open("probe.json", "w"),
)
sys.exit(int(sys.argv[1]))
"""

SLEEPER = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open("child.pid", "w").write(str(child.pid))
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


STARTERS = ["forked", "spawned"]


def _start(how: str, module: str, args: list[str], cwd: Path, env: dict[str, str]) -> ForkedRun | SpawnedRun:
    output = cwd / "output.txt"
    if how == "spawned":
        return SpawnedRun(module, args, cwd, env, output)
    warm = warm_interpreter.warm_interpreter()
    assert warm is not None
    return warm.fork(module, args, cwd, env, output)


@pytest.mark.parametrize("how", STARTERS)
def test_a_run_gets_its_folder_environment_arguments_and_exit_status(tmp_path: Path, how: str) -> None:
    (tmp_path / "probe.py").write_text(PROBE, encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", ""), "PROBE_VALUE": "seven"}
    for _ in range(2):  # the second run must not see what the first one left in its interpreter
        run = _start(how, "probe", ["7", "b c"], tmp_path, env)
        assert run.wait(60)
        assert run.returncode == 7
        seen = json.loads((tmp_path / "probe.json").read_text(encoding="utf-8"))
        assert seen == {
            "cwd": str(tmp_path),
            "argv": ["7", "b c"],
            "env": "seven",
            "path_first": str(tmp_path) if how == "forked" else seen["path_first"],
            "factory_loaded": [],
            "left_behind": False,
        }
        assert sorted((tmp_path / "output.txt").read_text(encoding="utf-8").splitlines()) == ["err line", "out line"]


@pytest.mark.parametrize("how", STARTERS)
def test_a_run_that_times_out_is_ended_with_what_it_started(tmp_path: Path, how: str) -> None:
    (tmp_path / "sleeper.py").write_text(SLEEPER, encoding="utf-8")
    run = _start(how, "sleeper", [], tmp_path, {"PATH": os.environ.get("PATH", "")})
    deadline = time.monotonic() + 30
    pid_file = tmp_path / "child.pid"
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)  # the file exists a moment before its pid is written in it
    grandchild = int(pid_file.read_text())
    assert not run.wait(0.2)
    assert run.returncode is None
    run.kill()
    assert run.wait(10)
    assert run.returncode == -9  # killed
    deadline = time.monotonic() + 10
    while (_alive(run.pid) or _alive(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(run.pid) and not _alive(grandchild)


def test_a_module_that_cannot_run_fails_with_its_traceback_in_the_output(tmp_path: Path) -> None:
    run = run_module("no_such_module_here", [], tmp_path, {}, tmp_path / "output.txt")
    assert run.wait(60)
    assert run.returncode not in (0, None)
    assert "no_such_module_here" in (tmp_path / "output.txt").read_text(encoding="utf-8")


def test_a_warm_interpreter_that_ended_gives_way_to_a_new_one(tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text(PROBE, encoding="utf-8")
    first = warm_interpreter.warm_interpreter()
    assert isinstance(first, WarmInterpreter)
    first._process.kill()  # as if it had died
    first._process.wait()
    with pytest.raises(OSError):
        first.fork("probe", ["0"], tmp_path, {}, tmp_path / "output.txt")
    run = run_module("probe", ["0"], tmp_path, {}, tmp_path / "output.txt")  # this one goes without it
    assert run.wait(60) and run.returncode == 0
    second = warm_interpreter.warm_interpreter()
    assert second is not None and second is not first and second.alive()


def test_the_cpu_of_ended_runs_is_counted_for_benchmarks(tmp_path: Path) -> None:
    (tmp_path / "spin.py").write_text(
        "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
    )
    warm = warm_interpreter.warm_interpreter()
    assert warm is not None
    before = warm.children_cpu_s()
    run = warm.fork("spin", [], tmp_path, {}, tmp_path / "output.txt")
    assert run.wait(60) and run.returncode == 0
    assert warm.children_cpu_s() - before >= 0.25


def test_a_program_runs_as_python_c_would(tmp_path: Path) -> None:
    warm = warm_interpreter.warm_interpreter()
    assert warm is not None
    code = "import os, sys\nprint(sys.argv, os.getcwd(), __name__)\nsys.exit(int(sys.argv[1]))"
    run = warm.fork_code(code, ["4", "x"], tmp_path, {}, tmp_path / "output.txt")
    assert run.wait(60) and run.returncode == 4
    assert (tmp_path / "output.txt").read_text(encoding="utf-8").strip() == f"['-c', '4', 'x'] {tmp_path} __main__"


GRACEFUL = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: (open("stopped", "w").write("yes"), sys.exit(0)))
open("ready", "w").write("")
time.sleep(60)
"""


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.exists()


def test_stop_asks_first_and_a_run_ends_with_its_warm_interpreter(tmp_path: Path) -> None:
    warm = warm_interpreter.warm_interpreter()
    assert warm is not None
    run = warm.fork_code(GRACEFUL, [], tmp_path, {}, tmp_path / "output.txt")
    _wait_for(tmp_path / "ready")
    run.stop(10.0)
    assert run.returncode == 0 and (tmp_path / "stopped").read_text() == "yes"  # SIGTERM, handled

    other = WarmInterpreter()  # a second one, ended below as if the factory process had died
    folder = tmp_path / "orphan"
    folder.mkdir()
    try:
        orphan = other.fork_code(GRACEFUL, [], folder, {}, folder / "output.txt")
        _wait_for(folder / "ready")
        assert other._process.stdin is not None
        other._process.stdin.close()  # the factory's end of the pipe closes: the warm interpreter exits
        other._process.wait(30)
        assert orphan.wait(30)
        assert (folder / "stopped").read_text() == "yes"  # sent SIGTERM as its warm interpreter ended
    finally:
        other._process.kill()


HOLDER = """
import os, sys, time
from generators.agents.warm_interpreter import WarmInterpreter
warm = WarmInterpreter()
if os.fork() == 0:  # a pool process forked after it: it holds the pipe's other end on
    time.sleep(60)
    os._exit(0)
print(warm._process.pid, flush=True)
time.sleep(60)
"""


def test_the_warm_interpreter_ends_with_its_factory_process_while_a_fork_of_it_holds_the_pipe() -> None:
    root = str(Path(__file__).resolve().parents[1])
    factory = subprocess.Popen(
        [sys.executable, "-c", HOLDER], env={**os.environ, "PYTHONPATH": root}, stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert factory.stdout is not None
        warm = int(factory.stdout.readline())
        factory.kill()  # straight away: the warm interpreter is still loading its libraries
        factory.wait()
        deadline = time.monotonic() + 30
        while _alive(warm) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(warm)
    finally:
        os.killpg(factory.pid, signal.SIGKILL)  # the forked holder
