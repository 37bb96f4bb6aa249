"""Files that several processes share: whole-file replacement and locks between processes.

Every file the factory rewrites in place (stage outputs, rendered files, exports, the graph's
pending list) goes through `replacing`, so a reader sees the old file or the new one, never
half of one. Every lock between processes is a `FileLock` (flock on a file): a writer holds
it exclusively, readers may share it.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ontology.errors import StoreBusyError

__all__ = ["FileLock", "replacing", "write_atomically"]


@contextmanager
def replacing(path: Path, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A new file beside `path` to write into; when the block ends it replaces `path` in one rename.

    If the block raises, the new file is removed and `path` is left as it was. The folder must
    exist: a path a person typed wrongly is an error, not a folder to create.
    """
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` (creating its folder) so that readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as out:
        out.write(data)


class FileLock:
    """A lock between processes on the file `path` (created if missing): exclusive for writers, shared for readers.

    With a `turnstile` file, a waiting writer holds the turnstile, so a stream of readers cannot
    starve it. With `timeout_s`, waiting longer raises StoreBusyError naming `what`; without it,
    a caller waits as long as the holder needs. Closing the descriptor releases the lock, so a
    process that dies releases its locks.
    """

    def __init__(
        self, path: Path, *, turnstile: Path | None = None, timeout_s: float | None = None, what: str = "a file"
    ) -> None:
        self.path, self.turnstile, self.timeout_s, self.what = path, turnstile, timeout_s, what

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Held by readers; many at once, none while a writer holds the lock."""
        with self._hold(fcntl.LOCK_SH):
            yield

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held by one writer at a time."""
        with self._hold(fcntl.LOCK_EX):
            yield

    @contextmanager
    def _hold(self, mode: int) -> Iterator[None]:
        if self.turnstile is None:
            fd = self._acquire(self.path, mode)
        else:
            gate = self._acquire(self.turnstile, fcntl.LOCK_EX)
            try:
                fd = self._acquire(self.path, mode)
            finally:
                _release(gate)
        try:
            yield
        finally:
            _release(fd)

    def _acquire(self, path: Path, mode: int) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if self.timeout_s is None:
            try:
                fcntl.flock(fd, mode)
            except BaseException:
                os.close(fd)
                raise
            return fd
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
                        f"{self.what} stayed locked for {self.timeout_s:.0f}s by another process; try again"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)


def _release(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
