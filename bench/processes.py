"""Stopping a process that leaves children behind (the Dagster daemon's code server outlives it).

Used by the scale benchmark and by the tests that start a real daemon or Celery workers: each process below
it is found from /proc before the parent is stopped, then killed by its own pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

__all__ = ["children", "descendants", "stop_with_children"]


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def descendants(pid: int) -> list[int]:
    """The children of `pid`, their children, and so on (from /proc)."""
    found, todo = [], [pid]
    while todo:
        below = children(todo.pop())
        found += below
        todo += below
    return found


def stop_with_children(process: subprocess.Popen[bytes]) -> None:
    """Terminate `process` (killed after 30 s), then kill the processes below it when asked to stop (a code
    server, the runs it started and what they started)."""
    servers = descendants(process.pid)
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for pid in servers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
