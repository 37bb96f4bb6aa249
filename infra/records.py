"""The control database's tables and the checks applied to what is written into them.

Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ontology.errors import InvalidInputError

__all__ = [
    "APPROVAL_DECISIONS",
    "AUDIT_OUTCOMES",
    "DEPLOYMENT_STATUSES",
    "INTENT_STATUSES",
    "IN_PROGRESS",
    "MAX_BLUEPRINT_CHARS",
    "MAX_INTENT_CHARS",
    "MAX_REASON_CHARS",
    "RELEASE_STATUSES",
    "ApprovalRecord",
    "AuditEvent",
    "BuildRecord",
    "DeploymentRecord",
    "EnvironmentRelease",
    "EventRecord",
    "GitHookRecord",
    "IdempotencyRecord",
    "IntentRecord",
    "MembershipRecord",
    "ProductRecord",
    "TokenRecord",
    "UserRecord",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "check_choice",
    "check_commit",
    "check_env",
    "clean_text",
    "utcnow",
]

INTENT_STATUSES = ("submitted", "queued", "building", "built", "failed")
IN_PROGRESS = ("queued", "building")
"""Intent statuses while a build holds the intent's claim."""
APPROVAL_DECISIONS = ("approved", "rejected")
AUDIT_OUTCOMES = ("ok", "refused", "failed")
DEPLOYMENT_STATUSES = ("running", "stopped", "failed")
RELEASE_STATUSES = ("running", "replaced", "rolled-back")
"""An environment's releases: the one it runs, those a newer one replaced, those a rollback took back."""
MAX_INTENT_CHARS = 20_000
MAX_BLUEPRINT_CHARS = 200_000
MAX_REASON_CHARS = 2_000
_COMMIT = re.compile(r"^[0-9a-f]{7,64}\Z")
_ENV = re.compile(r"^[a-z][a-z0-9-]{0,30}\Z")


def utcnow() -> datetime:
    return datetime.now(UTC)


class IntentRecord(SQLModel, table=True):
    """One revision of a product's business intent and where its build stands."""

    __table_args__ = (UniqueConstraint("tenant", "product", "revision"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True)
    product: str = Field(index=True)
    text: str = Field(sa_type=Text)
    blueprint_yaml: str | None = Field(default=None, sa_type=Text)
    revision: int
    status: str = Field(default="submitted", index=True)
    trace_id: str | None = None
    run_id: str | None = None
    claim: str | None = None
    """Who holds the intent's build: the claim token of the build that moved it to "queued"."""
    detail: str | None = Field(default=None, sa_type=Text)
    submitted_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    actor: str = "cli"


class ProductRecord(SQLModel, table=True):
    """The current state of one product: its revision, trace, repository and per-stage status."""

    __table_args__ = (UniqueConstraint("tenant", "product"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True)
    product: str
    revision: int = 0
    trace_id: str | None = None
    status: str = "new"
    repo_path: str | None = None
    service_url: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)
    stages: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    durations: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))

    def stage_map(self) -> dict[str, str]:
        """A copy of the stage statuses (stage -> status)."""
        return dict(self.stages or {})

    def duration_map(self) -> dict[str, float]:
        """A copy of the stage durations in seconds."""
        return {stage: float(seconds) for stage, seconds in (self.durations or {}).items()}


class BuildRecord(SQLModel, table=True):
    """The outcome of one finished build: tests, lint and the service's measured behaviour."""

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True)
    product: str
    revision: int
    trace_id: str
    template: str
    patterns: str = ""
    passed: bool
    tests_passed: int = 0
    tests_failed: int = 0
    lint_findings: int = 0
    duration_s: float = 0.0
    p95_ms: float | None = None
    error_rate: float | None = None
    slo_breaches: int = 0
    finished_at: datetime = Field(default_factory=utcnow)


class ApprovalRecord(SQLModel, table=True):
    """A person's decision on promoting exactly one commit of a product to an environment."""

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True)
    product: str
    env: str
    commit: str
    decision: str
    reason: str = Field(sa_type=Text)
    actor: str
    at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Who did what, when, and whether it was allowed; chained: each entry carries the hash of the one before."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor: str
    action: str
    outcome: str
    tenant: str | None = Field(default=None, index=True)
    product: str | None = None
    detail: str = Field(default="", sa_type=Text)
    prev_hash: str | None = Field(default=None, unique=True)
    """The previous entry's hash (unique: two writers can never both extend the chain from one entry)."""
    hash: str | None = None


class UserRecord(SQLModel, table=True):
    """An account: a person (with a password) or a service account (with API tokens only)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    kind: str = "user"
    password_hash: str | None = None
    factory_admin: bool = False
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = ""


class MembershipRecord(SQLModel, table=True):
    """One role of an account in one tenant."""

    __table_args__ = (UniqueConstraint("user", "tenant", "role"),)
    id: int | None = Field(default=None, primary_key=True)
    user: str = Field(index=True)
    tenant: str = Field(index=True)
    role: str


class TokenRecord(SQLModel, table=True):
    """An API token of an account: only its SHA-256 digest is stored; it expires and can be revoked."""

    id: int | None = Field(default=None, primary_key=True)
    user: str = Field(index=True)
    label: str = ""
    digest: str = Field(unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class DeploymentRecord(SQLModel, table=True):
    """Where a product runs in one environment, and which revision and commit it runs."""

    __table_args__ = (UniqueConstraint("tenant", "product", "env"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True)
    product: str
    env: str = "dev"
    url: str | None = None
    port: int | None = None
    pid: int | None = None
    revision: int | None = None
    commit: str | None = None
    trace_id: str | None = None
    workdir: str | None = None
    status: str = "running"
    started_at: datetime = Field(default_factory=utcnow)


class EnvironmentRelease(SQLModel, table=True):
    """One release that took traffic in an environment: the history a rollback goes back through."""

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True)
    product: str
    env: str
    commit: str
    revision: int | None = None
    trace_id: str | None = None
    status: str = "running"
    deployed_at: datetime = Field(default_factory=utcnow)


class EventRecord(SQLModel, table=True):
    """One lifecycle event in the outbox, written in the transaction of the change it tells of.

    The id is the feed's sequence (ids are taken in commit order); `event_id` is the CloudEvent id a
    consumer de-duplicates by. `published_at` is set once the broker acknowledged it, `fanned_out_at` once
    a delivery row was made for each matching webhook endpoint.
    """

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True)
    type: str = Field(index=True)
    tenant: str = Field(index=True)
    product: str | None = None
    trace_id: str | None = None
    time: datetime = Field(default_factory=utcnow)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    published_at: datetime | None = Field(default=None, index=True)
    publish_lease: datetime | None = None
    fanned_out_at: datetime | None = Field(default=None, index=True)


class WebhookEndpoint(SQLModel, table=True):
    """A tenant's webhook: where its events go, which types, and the secret(s) that sign them."""

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True)
    url: str = Field(sa_type=Text)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """The CloudEvent types it wants; empty: all."""
    secret: str = Field(repr=False)
    previous_secret: str | None = Field(default=None, repr=False)
    """The secret before the last rotation: deliveries are signed with both until `previous_until`."""
    previous_until: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    description: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = ""


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: pending until a 2xx answer, dead after the last attempt of the schedule."""

    __table_args__ = (UniqueConstraint("endpoint_id", "event_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(index=True)
    event_seq: int
    tenant: str = Field(index=True)
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    delivered_at: datetime | None = None


class WebhookAttempt(SQLModel, table=True):
    """One HTTP request of a delivery: when, what came back, how long it took."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(index=True)
    endpoint_id: int = Field(index=True)
    event_seq: int
    at: datetime = Field(default_factory=utcnow)
    status_code: int | None = None
    error: str | None = Field(default=None, sa_type=Text)
    duration_ms: float = 0.0


def clean_text(value: str, what: str, limit: int, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text, not {type(value).__name__}")
    value = value.strip()
    if "\x00" in value:
        raise InvalidInputError(f"{what} contains a NUL byte: remove it and try again")
    if not value and not empty_ok:
        raise InvalidInputError(f"{what} is empty: say what you want in a few sentences")
    if len(value) > limit:
        raise InvalidInputError(f"{what} has {len(value)} characters: keep it under {limit}")
    return value


def check_choice(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise InvalidInputError(f"unknown {what} {str(value)[:40]!r}: use one of {', '.join(allowed)}")
    return value


def check_env(env: str) -> str:
    if not isinstance(env, str) or not _ENV.match(env):
        raise InvalidInputError(f"invalid environment {str(env)[:40]!r}: use a name like 'dev', 'staging' or 'prod'")
    return env


def check_commit(commit: str) -> str:
    if not isinstance(commit, str) or not _COMMIT.match(commit):
        raise InvalidInputError(f"invalid commit {str(commit)[:80]!r}: give the full lowercase hex commit id")
    return commit


class IdempotencyRecord(SQLModel, table=True):
    """A key an account sent with a submission, the request's digest, and the answer it got."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("actor", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(index=True)
    key: str
    fingerprint: str
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The JSON answer of the submission; None while it is being handled."""
    created_at: datetime = Field(default_factory=utcnow, index=True)


class GitHookRecord(SQLModel, table=True):
    """A product's inbound push hook: the secret a git host signs its pushes with, and where to fetch from."""

    __tablename__ = "git_hook"
    __table_args__ = (UniqueConstraint("tenant", "product"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True)
    product: str
    secret: str = Field(repr=False)
    upstream: str | None = Field(default=None, sa_type=Text)
    """The https URL of the host's repository that pushed main is fetched from; None: the product's own remote."""
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = ""
