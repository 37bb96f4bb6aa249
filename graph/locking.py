"""A readers-writer lock between processes, on files under the graph folder.

Embedded stores allow one writer and no reader beside it (Kùzu refuses even a read-only
open while a writer holds the database). Writers hold the lock only while they write;
readers wait for them instead of failing. A waiting writer holds the turnstile, so a
stream of readers cannot starve it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ontology.errors import StoreBusyError

__all__ = ["GraphLock"]


class GraphLock:
    def __init__(self, folder: Path, timeout_s: float = 300.0) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._data = folder / "graph.lock"
        self._turnstile = folder / "turnstile.lock"
        self.timeout_s = timeout_s

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Held by readers; many at once, none while a writer writes."""
        with self._locked(self._turnstile, fcntl.LOCK_EX):
            data_fd = self._acquire(self._data, fcntl.LOCK_SH)
        try:
            yield
        finally:
            _release(data_fd)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held by the one writer."""
        with self._locked(self._turnstile, fcntl.LOCK_EX):
            data_fd = self._acquire(self._data, fcntl.LOCK_EX)
        try:
            yield
        finally:
            _release(data_fd)

    @contextmanager
    def _locked(self, path: Path, mode: int) -> Iterator[None]:
        fd = self._acquire(path, mode)
        try:
            yield
        finally:
            _release(fd)

    def _acquire(self, path: Path, mode: int) -> int:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout_s
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise StoreBusyError(
                        f"the knowledge graph stayed locked for {self.timeout_s:.0f}s by another process; try again"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)


def _release(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
