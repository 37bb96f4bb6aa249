"""What the factory's HTTP API takes and gives: request and answer models with their bounds.

The bounds are the core's (slugs, the intent's and blueprint's length, the query guard's limits), so the
OpenAPI document states exactly what the API enforces.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from graph.query_guard import MAX_QUERY_CHARS, USER_QUERY_ROWS, USER_QUERY_TIMEOUT_S
from infra.idempotency import MAX_KEY_CHARS
from infra.records import MAX_BLUEPRINT_CHARS, MAX_INTENT_CHARS, MAX_REASON_CHARS

__all__ = [
    "MAX_PAGE",
    "SLUG_REGEX",
    "TRACE_REGEX",
    "ApprovalAnswer",
    "ApprovalRequest",
    "Build",
    "BuildSubmission",
    "Cursor",
    "Decision",
    "Deployment",
    "DeploymentEnv",
    "Env",
    "Health",
    "Limit",
    "Match",
    "Page",
    "Product",
    "PromoteEnv",
    "PromoteRequest",
    "QueryAnswer",
    "QueryRequest",
    "Release",
    "Revision",
    "Slug",
    "StopRequest",
    "TraceStepOut",
]

SLUG_REGEX = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
"""ontology.refs.SLUG_PATTERN as a JSON Schema pattern."""
TRACE_REGEX = r"^[0-9a-f]{32}$"
NOT_BLANK = r"\S"
"""Somewhere in the text a character that is not white space."""
KEY_REGEX = r"^[!-~]+$"
"""An Idempotency-Key: visible ASCII characters."""
MAX_PAGE = 100
MAX_SEARCH_CHARS = 10_000

Slug = Annotated[str, StringConstraints(pattern=SLUG_REGEX, min_length=1, max_length=63)]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE, description=f"Items per page (1-{MAX_PAGE}).")]
Cursor = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,9}$", max_length=9),
    Field(description="Where the page starts: the `next_cursor` of the page before (opaque)."),
]
IdempotencyKey = Annotated[
    str,
    StringConstraints(pattern=KEY_REGEX, min_length=1, max_length=MAX_KEY_CHARS),
]


class Env(StrEnum):
    dev = "dev"
    staging = "staging"
    prod = "prod"


class PromoteEnv(StrEnum):
    staging = "staging"
    prod = "prod"


DeploymentEnv = Env


class Decision(StrEnum):
    approved = "approved"
    rejected = "rejected"


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing; `next_cursor` fetches the next (null on the last page)."""

    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null when there is none.")


class Health(BaseModel):
    status: str = Field(description="`ok` while the API answers.")


class BuildSubmission(BaseModel):
    """An intent (plain words) or a blueprint (YAML) to build as the product `tenant`/`product`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": ["intent"], "properties": {"intent": {"pattern": NOT_BLANK}}},
                {"required": ["blueprint"], "properties": {"blueprint": {"pattern": NOT_BLANK}}},
            ],
            "examples": [
                {
                    "tenant": "acme",
                    "product": "school",
                    "intent": "- students enrol in courses\n- teachers teach courses",
                }
            ],
        },
    )
    tenant: Slug
    product: Slug
    intent: str = Field(default="", max_length=MAX_INTENT_CHARS, description="The business intent in plain words.")
    blueprint: str = Field(
        default="", max_length=MAX_BLUEPRINT_CHARS, description="A blueprint YAML (its tenant and slug must match)."
    )

    @model_validator(mode="after")
    def _one_given(self) -> BuildSubmission:
        if not self.intent.strip() and not self.blueprint.strip():
            raise ValueError("give an intent or a blueprint")
        return self


class Build(BaseModel):
    """A build of one intent revision: where it stands and each lifecycle stage's status."""

    build_id: int = Field(description="The id of the submitted intent revision this build builds.")
    tenant: str
    product: str
    revision: int
    status: str = Field(description="submitted, queued, building, built or failed.")
    finished: bool
    trace_id: str | None
    run_id: str | None
    detail: str | None
    stages: dict[str, str] = Field(description="Each lifecycle stage's status (while and after it builds).")
    durations: dict[str, float] = Field(description="Seconds each finished stage took.")
    submitted_at: datetime
    updated_at: datetime


class Product(BaseModel):
    tenant: str
    product: str
    revision: int
    status: str
    trace_id: str | None
    service_url: str | None
    stages: dict[str, str]
    updated_at: datetime


class Revision(BaseModel):
    """One revision of a product's intent (a build id)."""

    build_id: int
    revision: int
    status: str
    trace_id: str | None
    actor: str
    text: str
    has_blueprint: bool
    submitted_at: datetime


class Deployment(BaseModel):
    tenant: str
    product: str
    env: str
    url: str | None
    revision: int | None
    commit: str | None
    trace_id: str | None
    status: str
    started_at: datetime


class Release(BaseModel):
    """A release that took an environment's traffic: the one running, or one a newer one replaced."""

    env: str
    commit: str
    revision: int | None
    trace_id: str | None
    status: str
    deployed_at: datetime


class TraceStepOut(BaseModel):
    stage: str
    node: str
    label: str
    graph: str
    tenant: str
    product: str
    activity: str | None
    agent: str | None
    started: str | None
    ended: str | None


class QueryRequest(BaseModel):
    """A read-only query over one tenant's graphs (or every tenant's, for a factory admin)."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="The query text (read-only).")
    tenant: Slug | None = Field(default=None, description="The tenant whose graphs it sees (none: every tenant).")
    params: dict[
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")],
        Annotated[str, StringConstraints(max_length=2000)],
    ] = Field(
        default_factory=dict,
        max_length=32,
        description="Bound parameters, name to value (in SPARQL, <iri> binds an IRI).",
        json_schema_extra={"additionalProperties": False},
    )
    limit: int = Field(default=1000, ge=1, le=USER_QUERY_ROWS, description="Rows at most; `truncated` says more.")
    timeout: float = Field(default=10.0, ge=0.1, le=USER_QUERY_TIMEOUT_S, description="Seconds the query may run.")


class QueryAnswer(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    boolean: bool | None = Field(description="The answer of a SPARQL ASK; null otherwise.")
    truncated: bool = Field(description="True when the query had more rows than `limit`.")


class Match(BaseModel):
    score: float
    kind: str
    iri: str
    tenant: str
    product: str
    text: str


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    env: PromoteEnv = Field(default=PromoteEnv.prod, description="The environment the promotion goes to.")
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS, pattern=NOT_BLANK, description="Why (audited).")


class ApprovalAnswer(BaseModel):
    tenant: str
    product: str
    env: str
    commit: str
    decision: Decision
    reason: str
    actor: str
    at: datetime


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    env: PromoteEnv = Field(default=PromoteEnv.staging, description="staging (from dev) or prod (from staging).")


class StopRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    env: Env = Field(default=Env.dev, description="The environment whose service stops.")
