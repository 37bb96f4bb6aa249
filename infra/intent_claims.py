"""Claiming intents for builds in the control database: one conditional UPDATE decides who builds.

`ControlPlane` inherits these methods; `infra.lifecycle.use_cases` is where they are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select, update
from sqlmodel.sql.expression import SelectOfScalar

from infra.records import IN_PROGRESS, MAX_INTENT_CHARS, IntentRecord, clean_text, utcnow
from ontology.refs import new_trace_id

__all__ = ["CLAIMABLE", "IntentClaims", "claiming"]

CLAIMABLE = ("submitted", "built", "failed")
"""Intent statuses a person's build may claim: not while another build holds it ("queued", "building")."""


class IntentClaims:
    """The claim operations of the control database (a part of `ControlPlane`)."""

    def _session(self, *, write: bool = False) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def _first(self, query: SelectOfScalar[IntentRecord]) -> IntentRecord | None:
        raise NotImplementedError

    def claim_intent(
        self, id: int, claim: str, *, statuses: Sequence[str] = CLAIMABLE, held_by: str | None = None
    ) -> IntentRecord | None:
        """Claim the intent for one build: "queued", held by `claim`, with its trace id; None if not won.

        One conditional UPDATE decides: it matches only while the intent's status is one of `statuses`
        (or, with `held_by`, while that claim still holds it: a takeover from a build that is gone), so
        of builds racing for the same intent exactly one wins, on SQLite and PostgreSQL alike.
        """
        claim = clean_text(claim, "claim", 200)
        with self._session(write=True) as session:
            result = session.exec(claiming(id, claim, statuses, held_by))
            return session.get(IntentRecord, id) if result.rowcount == 1 else None

    def claimed_intent(self, claim: str) -> IntentRecord | None:
        """The intent `claim` holds while its build is queued or running, or None."""
        query = select(IntentRecord).where(IntentRecord.claim == claim, col(IntentRecord.status).in_(IN_PROGRESS))
        return self._first(query)

    def hand_over(self, id: int, claim: str, to: str) -> IntentRecord | None:
        """Pass a held claim to the process that builds it (the Studio's build process); None if not held."""
        to = clean_text(to, "claim", 200)
        with self._session(write=True) as session:
            result = session.exec(
                update(IntentRecord)
                .where(col(IntentRecord.id) == id, col(IntentRecord.claim) == claim)
                .where(col(IntentRecord.status).in_(IN_PROGRESS))
                .values(claim=to, updated_at=utcnow())
            )
            return session.get(IntentRecord, id) if result.rowcount == 1 else None

    def release_claim(self, id: int, claim: str, detail: str) -> bool:
        """Mark the intent failed with `detail` if `claim` still holds it (its build stopped); False if not."""
        detail = clean_text(detail, "detail", MAX_INTENT_CHARS, empty_ok=True)
        with self._session(write=True) as session:
            result = session.exec(
                update(IntentRecord)
                .where(col(IntentRecord.id) == id, col(IntentRecord.claim) == claim)
                .where(col(IntentRecord.status).in_(IN_PROGRESS))
                .values(status="failed", detail=detail, updated_at=utcnow())
            )
            return bool(result.rowcount == 1)

    def give_back_claim(self, id: int, claim: str, before: IntentRecord) -> bool:
        """Undo a claim no build used: the intent's status, claim and detail as they were `before` it was
        claimed, if `claim` still holds it; False if not."""
        with self._session(write=True) as session:
            result = session.exec(
                update(IntentRecord)
                .where(col(IntentRecord.id) == id, col(IntentRecord.claim) == claim)
                .where(col(IntentRecord.status).in_(IN_PROGRESS))
                .values(status=before.status, claim=before.claim, detail=before.detail, updated_at=utcnow())
            )
            return bool(result.rowcount == 1)

    def claim_submitted(self, limit: int = 20, claim: str = "intake") -> list[IntentRecord]:
        """Claim up to `limit` submitted intents for `claim` and return them; no two callers get the same one."""
        claimed: list[int] = []
        with self._session(write=True) as session:
            ids = session.exec(
                select(IntentRecord.id)
                .where(IntentRecord.status == "submitted")
                .order_by(col(IntentRecord.id))
                .limit(max(0, limit))
                .with_for_update(skip_locked=True)
            ).all()
            for intent_id in ids:  # the status test makes each claim atomic on PostgreSQL too
                if intent_id is None:
                    continue
                result = session.exec(claiming(intent_id, claim, ("submitted",), None))
                if result.rowcount == 1:
                    claimed.append(intent_id)
            query = select(IntentRecord).where(col(IntentRecord.id).in_(claimed)).order_by(col(IntentRecord.id))
            return list(session.exec(query).all()) if claimed else []


def claiming(id: int, claim: str, statuses: Sequence[str], held_by: str | None) -> Any:
    """The conditional UPDATE that claims an intent; its rowcount (0 or 1) says whether this caller won."""
    claimable: Any = col(IntentRecord.status).in_(list(statuses))
    if held_by is not None:
        claimable = or_(claimable, and_(col(IntentRecord.claim) == held_by, col(IntentRecord.status).in_(IN_PROGRESS)))
    return (
        update(IntentRecord)
        .where(col(IntentRecord.id) == id, claimable)
        .values(
            status="queued",
            claim=claim,
            detail=None,
            updated_at=utcnow(),
            trace_id=func.coalesce(col(IntentRecord.trace_id), new_trace_id()),
        )
    )
