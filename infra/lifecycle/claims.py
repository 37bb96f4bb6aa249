"""Claim tokens: who holds an intent's build, and whether that holder is gone.

A token names its holder: `kind:host:pid:start:random` for a process (the command line, the
Studio's build process), `kind::::random` for a holder that is not one process (the intake sensor,
whose runs Dagster launches). A build whose process is gone (killed, crashed) leaves its intent
"queued" or "building"; the next person's build may take such a claim over, and so may any build
once a claim has not moved for `STALE_AFTER`.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from infra.records import IN_PROGRESS, IntentRecord

__all__ = ["STALE_AFTER", "holder_gone", "new_claim", "process_claim"]

STALE_AFTER = timedelta(hours=2)
"""A claim that has not moved for this long is taken over even when its holder cannot be checked."""


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ('' where /proc is not there), against pid reuse."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def new_claim(kind: str) -> str:
    """A token for a holder that is not one process (the intake sensor)."""
    return f"{kind}::::{uuid.uuid4().hex}"


def process_claim(kind: str, pid: int | None = None) -> str:
    """A token held by this process (or `pid`), so a later build can tell when the process is gone."""
    pid = os.getpid() if pid is None else pid
    return f"{kind}:{socket.gethostname()}:{pid}:{_start_time(pid)}:{uuid.uuid4().hex}"


def _process_gone(host: str, pid_text: str, start: str) -> bool:
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's process, or no process: only time tells
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X") or (bool(start) and _start_time(pid) != start)


def holder_gone(record: IntentRecord, now: datetime | None = None) -> bool:
    """Whether the build holding this in-progress intent is gone: its process ended, or its claim went stale."""
    if record.status not in IN_PROGRESS:
        return False
    if not record.claim:
        return True  # marked in progress by no claim (a database from before claims): nobody holds it
    parts = record.claim.split(":")
    if len(parts) == 5 and _process_gone(parts[1], parts[2], parts[3]):
        return True
    moved = record.updated_at if record.updated_at.tzinfo else record.updated_at.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - moved > STALE_AFTER
