"""Whole-file replacement and locks between processes, with real processes holding the locks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from graph.files import FileLock, replacing, write_atomically
from ontology.errors import StoreBusyError

HOLDER = """
import sys
from pathlib import Path
from graph.files import FileLock
lock = FileLock(Path(sys.argv[1]))
with (lock.shared() if sys.argv[2] == "shared" else lock.exclusive()):
    print("held", flush=True)
    sys.stdin.readline()  # hold the lock until the test writes a line
"""


@contextmanager
def held_elsewhere(path: Path, mode: str) -> Iterator[None]:
    """Another process holds the lock on `path` until the block ends."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=60)
    assert holder.returncode == 0


def test_an_exclusive_lock_held_by_another_process_refuses_a_timed_waiter(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "a.lock"
    with held_elsewhere(path, "exclusive"):
        for take in (FileLock(path, timeout_s=0.05, what="the thing").exclusive, FileLock(path, timeout_s=0.05).shared):
            with pytest.raises(StoreBusyError) as caught, take():
                pass
            assert "\n" not in str(caught.value)
        assert str(caught.value).startswith("a file stayed locked")
    with FileLock(path, timeout_s=0.05).exclusive():  # released when the holder ended
        pass


def test_readers_share_the_lock_and_a_writer_waits_for_them(tmp_path: Path) -> None:
    path = tmp_path / "b.lock"
    with held_elsewhere(path, "shared"):
        with FileLock(path, timeout_s=0.05).shared():
            pass
        with (
            pytest.raises(StoreBusyError, match="the graph stayed locked"),
            FileLock(path, timeout_s=0.05, what="the graph").exclusive(),
        ):
            pass


def test_the_turnstile_is_released_when_the_data_lock_is_busy(tmp_path: Path) -> None:
    path, turnstile = tmp_path / "data.lock", tmp_path / "turnstile.lock"
    lock = FileLock(path, turnstile=turnstile, timeout_s=0.05)
    with held_elsewhere(path, "exclusive"), pytest.raises(StoreBusyError), lock.shared():
        pass
    with FileLock(turnstile, timeout_s=0.05).exclusive():  # nobody kept the turnstile
        pass
    with lock.exclusive():
        pass


def test_a_lock_creates_its_folder_and_is_taken_again_once_released(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "c.lock"
    with FileLock(path).exclusive():
        assert path.exists()
    with FileLock(path).exclusive():  # released by the first block
        pass


def test_write_atomically_creates_the_folder_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "new" / "out.json"
    write_atomically(target, b"one")
    write_atomically(target, b"two")
    assert target.read_bytes() == b"two"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_a_failed_replacement_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "keep.txt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), replacing(target) as out:
        out.write(b"half")
        raise RuntimeError("stopped half-way")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_replacing_does_not_create_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), replacing(tmp_path / "typo" / "x.nq") as out:
        out.write(b"x")
    assert not (tmp_path / "typo").exists()
