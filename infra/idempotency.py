"""Idempotency keys of submissions: the same key (of the same account) twice submits and builds once.

A key is remembered in the control database with a digest of the request it came with and, once the
submission went through, the answer it got. Sending the key again with the same request gets that
answer again; with another request it is refused, and while the first one is still being handled it
is refused as in flight. A submission that failed forgets its key, so the client may try again.
Keys are kept for `KEEP_FOR`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from infra.control import ControlPlane
from infra.records import IdempotencyRecord, clean_text, utcnow
from ontology.errors import FactoryError

__all__ = [
    "KEEP_FOR",
    "MAX_KEY_CHARS",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyReused",
    "IdempotencyKeys",
    "IdempotencyRecord",
    "fingerprint",
]

KEEP_FOR = timedelta(hours=24)
MAX_KEY_CHARS = 200


class IdempotencyKeyReused(FactoryError):
    """The key was sent before with a different request."""


class IdempotencyKeyInFlight(FactoryError):
    """The first request with this key is still being handled."""


def fingerprint(request: Any) -> str:
    """The digest of a request (anything JSON can write), independent of key order."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


class IdempotencyKeys:
    """The idempotency keys in the control database."""

    def __init__(self, control: ControlPlane) -> None:
        self.control = control

    def begin(self, actor: str, key: str, digest: str) -> dict[str, Any] | None:
        """Take `key` for a new submission (None), or the answer the same request got before.

        Raises IdempotencyKeyReused for another request under the key, IdempotencyKeyInFlight while the
        first one is being handled."""
        key = clean_text(key, "Idempotency-Key", MAX_KEY_CHARS)
        try:
            with self.control._session(write=True) as session:
                session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < utcnow() - KEEP_FOR))
                session.add(IdempotencyRecord(actor=actor, key=key, fingerprint=digest))
            return None
        except IntegrityError:
            pass
        with self.control._session() as session:
            query = select(IdempotencyRecord).where(IdempotencyRecord.actor == actor, IdempotencyRecord.key == key)
            found = session.exec(query).first()
        if found is None:  # forgotten meanwhile (the first submission failed): this one may go ahead
            return self.begin(actor, key, digest)
        if found.fingerprint != digest:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was sent before with a different request: use a new key for a new submission"
            )
        if found.answer is None:
            raise IdempotencyKeyInFlight("the first request with this Idempotency-Key is still being handled")
        answer: dict[str, Any] = json.loads(found.answer)
        return answer

    def finish(self, actor: str, key: str, answer: dict[str, Any]) -> None:
        """Remember the answer the submission under `key` got."""
        with self.control._session(write=True) as session:
            query = select(IdempotencyRecord).where(IdempotencyRecord.actor == actor, IdempotencyRecord.key == key)
            found = session.exec(query).first()
            if found is not None:
                found.answer = json.dumps(answer, default=str)
                session.add(found)

    def forget(self, actor: str, key: str) -> None:
        """Drop the key of a submission that failed, so the client may try again with it."""
        with self.control._session(write=True) as session:
            mine = (col(IdempotencyRecord.actor) == actor, col(IdempotencyRecord.key) == key)
            session.exec(delete(IdempotencyRecord).where(*mine))
