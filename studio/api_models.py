"""What the factory's HTTP API takes and gives: request and answer models with their bounds.

The bounds are the core's (slugs, the intent's and blueprint's length, the query guard's limits), so the
OpenAPI document states exactly what the API enforces.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import JsonDict

from graph.query_guard import MAX_QUERY_CHARS, USER_QUERY_ROWS, USER_QUERY_TIMEOUT_S
from graph.trace import TraceStep
from infra.events import EVENT_TYPE_PREFIX, EVENT_TYPES, check_event_types
from infra.idempotency import MAX_KEY_CHARS
from infra.records import MAX_BLUEPRINT_CHARS, MAX_INTENT_CHARS, MAX_REASON_CHARS
from infra.webhooks import MAX_URL_CHARS, URL_PATTERN
from ontology.errors import InvalidInputError

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
    "Event",
    "EventPage",
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
    "Webhook",
    "WebhookAttemptOut",
    "WebhookDeadLetter",
    "WebhookReplay",
    "WebhookReplayed",
    "WebhookRequest",
    "WebhookWithSecret",
]

SLUG_REGEX = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
"""ontology.refs.SLUG_PATTERN as a JSON Schema pattern."""
TRACE_REGEX = r"^[0-9a-f]{32}$"
WHITE_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
"""Every character that JSON Schema's (ECMAScript's), Python's or Unicode's reading calls white space, spelled out:
`\\s` means another set to each of the three, so a pattern using it would let through what the server refuses."""
NOT_BLANK = f"[^{WHITE_SPACE}]"
"""Somewhere in the text a character that is not white space."""
VISIBLE_ASCII = r"^[!-~]+$"
"""Visible ASCII characters only: an Idempotency-Key, a URL."""
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
    StringConstraints(pattern=VISIBLE_ASCII, min_length=1, max_length=MAX_KEY_CHARS),
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
        if not re.search(NOT_BLANK, self.intent) and not re.search(NOT_BLANK, self.blueprint):
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


TraceStepOut = TraceStep
"""A step of a trace, as `graph.trace` walks it (the person who asked for it included)."""


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


# events and webhooks ---------------------------------------------------------------------------

EVENT_TYPE_VALUES = [EVENT_TYPE_PREFIX + kind for kind in EVENT_TYPES]
EVENT_TYPE_ENUM: JsonDict = {"enum": [*EVENT_TYPE_VALUES]}
MAX_WEBHOOK_DESCRIPTION = 200


def _event_type(value: str) -> str:
    """A lifecycle event type, refused with the core's message when it is not one."""
    try:
        return check_event_types([value])[0]
    except InvalidInputError as error:
        raise ValueError(str(error)) from None


EventType = Annotated[
    str,
    AfterValidator(_event_type),
    Field(json_schema_extra=EVENT_TYPE_ENUM, description="A lifecycle event's CloudEvent type."),
]


class Event(BaseModel):
    """A lifecycle event as a CloudEvent in structured JSON mode (`sequence` is the feed's cursor)."""

    specversion: str = Field(description="The CloudEvents version, 1.0.")
    id: str = Field(description="The event's id: a consumer de-duplicates by it.")
    type: str = Field(json_schema_extra=EVENT_TYPE_ENUM)
    source: str = Field(description="/tenants/<tenant>[/products/<product>]")
    subject: str | None = Field(default=None, description="<tenant>/<product> when the event is about a product.")
    time: datetime
    datacontenttype: str
    tenant: str
    traceid: str | None = Field(default=None, description="The build's trace id, when it has one.")
    sequence: str = Field(description="The event's place in the outbox (20 digits): pass it as `after`.")
    data: dict[str, Any]


class EventPage(BaseModel):
    """Events in order; `next_cursor` is the `after` of the next page (null when no more are there yet)."""

    items: list[Event]
    next_cursor: str | None = Field(description="Pass as `after` for the next page; null when there is none yet.")


class WebhookRequest(BaseModel):
    """A webhook endpoint to register: the tenant's events (of these types; none: all) are POSTed to `url`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme",
                    "url": "https://hooks.example.com/factory",
                    "event_types": ["dev.softwarefactory.stage.failed", "dev.softwarefactory.release.made"],
                    "description": "alerts",
                }
            ]
        },
    )
    tenant: Slug
    url: str = Field(
        max_length=MAX_URL_CHARS,
        pattern=URL_PATTERN,
        description="An http(s) URL (visible ASCII: percent-encode the rest) whose host resolves to public addresses "
        "(unless the factory allows private).",
    )
    event_types: list[EventType] = Field(
        default_factory=list, max_length=len(EVENT_TYPES), description="The event types it wants (none: all)."
    )
    description: str = Field(default="", max_length=MAX_WEBHOOK_DESCRIPTION, description="What it is for.")


class Webhook(BaseModel):
    """A webhook endpoint (its secret is never shown again after it was made)."""

    id: int
    tenant: str
    url: str
    event_types: list[str] = Field(description="The event types it gets (empty: all).")
    description: str
    enabled: bool = Field(description="False after the receiver answered 410 Gone (enable it again).")
    disabled_reason: str | None
    rotating_until: datetime | None = Field(description="Until when the previous secret signs too.")
    created_at: datetime
    created_by: str


class WebhookWithSecret(Webhook):
    """The endpoint with its new signing secret: shown this once only, keep it."""

    secret: str = Field(pattern=r"^whsec_[A-Za-z0-9+/=]+$", description="The `whsec_` signing secret (shown once).")


class WebhookAttemptOut(BaseModel):
    """One HTTP request of a delivery."""

    id: int
    delivery_id: int
    event_seq: int = Field(description="The event's sequence.")
    at: datetime
    status_code: int | None = Field(description="The receiver's HTTP status; null when no answer came.")
    error: str | None
    duration_ms: float


class WebhookDeadLetter(BaseModel):
    """A delivery whose last scheduled attempt failed (or that met a disabled endpoint)."""

    id: int
    endpoint_id: int
    event_seq: int
    attempts: int
    last_status: int | None
    last_error: str | None


class WebhookReplay(BaseModel):
    """What to send again: these dead deliveries of the endpoint (none: all its dead letters)."""

    model_config = ConfigDict(extra="forbid")
    delivery_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(default_factory=list, max_length=100)


class WebhookReplayed(BaseModel):
    replayed: list[int] = Field(description="The deliveries set to go out again from the start of the schedule.")
