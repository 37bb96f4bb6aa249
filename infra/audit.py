"""The audit chain: each audit entry carries the SHA-256 hash of the one before it, so an edited,
inserted or deleted entry breaks the chain where it happened, and `verify` says where.

An entry's hash covers the previous hash and every field of the entry (time, actor, action, outcome,
tenant, product, detail). The first entry follows `GENESIS`. Entries written before the chain existed
(an older control database) have no hash; they are counted, not verified. What a chain cannot show is
its own newest entries cut off: `verify` reports the head hash and the count, to be kept elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import Session, col, select

from infra.records import AuditEvent

__all__ = ["GENESIS", "AuditVerdict", "append", "entry_hash", "verify_chain"]

GENESIS = "0" * 64
_BATCH = 1000
_CHAIN_LOCK = 0x5F_A0D1_7C4A_1A
"""The PostgreSQL advisory lock that appends to the audit chain hold until their transaction ends."""


def _stamp(at: datetime) -> str:
    """The time as stored: naive UTC with microseconds (SQLite returns naive times; aware ones are converted)."""
    utc = at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%f")


def entry_hash(prev_hash: str, event: AuditEvent) -> str:
    """The hash of one entry: its predecessor's hash and all of its own fields, as canonical JSON."""
    fields = [prev_hash, _stamp(event.at), event.actor, event.action, event.outcome, event.tenant, event.product,
              event.detail]  # fmt: skip
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def append(session: Session, event: AuditEvent) -> AuditEvent:
    """Add `event` to the chain in this (write) session: it follows the newest chained entry."""
    if session.get_bind().dialect.name == "postgresql":  # writers take turns at the chain's end (SQLite's always do)
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    query = select(AuditEvent.hash).where(col(AuditEvent.hash).is_not(None)).order_by(col(AuditEvent.id).desc())
    last = session.exec(query.limit(1)).first()
    event.at = event.at.astimezone(UTC) if event.at.tzinfo is not None else event.at.replace(tzinfo=UTC)
    event.prev_hash = last or GENESIS
    event.hash = entry_hash(event.prev_hash, event)
    session.add(event)
    return event


@dataclass(frozen=True)
class AuditVerdict:
    """What `verify_chain` found: how many entries hold together, and the first that does not."""

    entries: int
    """Chained entries checked."""
    unchained: int
    """Entries written before the chain began (an older database): counted, not verified."""
    head: str | None
    """The newest entry's hash: note it elsewhere to detect the newest entries being cut off later."""
    broken_at: int | None = None
    """The id of the first entry that is altered, or that follows a missing or altered one."""
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(session: Session) -> AuditVerdict:
    """Walk the audit log in order and recompute every hash; the first break is reported."""
    expected, entries, unchained, after = GENESIS, 0, 0, 0
    previous_id: int | None = None
    while True:
        query = select(AuditEvent).where(col(AuditEvent.id) > after).order_by(col(AuditEvent.id)).limit(_BATCH)
        rows = list(session.exec(query).all())
        if not rows:
            return AuditVerdict(entries, unchained, None if entries == 0 else expected)
        for row in rows:
            assert row.id is not None
            after = row.id
            if row.hash is None and entries == 0:
                unchained += 1
                continue
            if row.hash is None or row.prev_hash is None:
                return _broken(entries, unchained, row.id, f"entry {row.id} has lost its chain hash")
            if row.prev_hash != expected:
                where = "the first entry" if previous_id is None else f"entry {previous_id}"
                why = f"entry {row.id} does not follow {where}: an entry between them is missing or was altered"
                return _broken(entries, unchained, row.id, why)
            if entry_hash(row.prev_hash, row) != row.hash:
                return _broken(
                    entries, unchained, row.id, f"entry {row.id} was altered: its content no longer matches its hash"
                )
            expected, previous_id, entries = row.hash, row.id, entries + 1


def _broken(entries: int, unchained: int, at: int, problem: str) -> AuditVerdict:
    return AuditVerdict(entries, unchained, None, at, problem)
