"""What running services showed: findings drawn from a telemetry window, the input of the next build.

A `Finding` is one observation about one deployed product (`fac:Finding` in the knowledge graph,
derived with PROV from the telemetry window it came from). The telemetry collector writes them;
the architect and the engineer read them when they plan and render the next revision, and record
`prov:used` of each finding that changed what they produced.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FINDING_KINDS", "Finding", "FindingKind"]

FindingKind = Literal[
    "slow_filter",  # a list route slow while filtering or sorting on `attribute`
    "large_page",  # a list route slow because it answers large pages
    "n_plus_one",  # a nested route read with one query per parent row
    "always_empty",  # `attribute` sent empty (null or missing) in nearly every write
    "validation_rejects",  # writes to `entity` rejected by validation of `attribute` in a large share
    "unused_entity",  # `entity` neither read nor written over the window
    "slo_breach",  # a route's latency or error objective burnt faster than allowed
]
FINDING_KINDS: tuple[str, ...] = FindingKind.__args__  # type: ignore[attr-defined]


class Finding(BaseModel):
    """One observation about one product's running deployment over one telemetry window."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    product: str
    revision: int = Field(ge=1)  # the revision whose deployment was observed
    kind: FindingKind
    window_start: datetime
    window_end: datetime
    route: str | None = None  # e.g. "GET /orders"
    entity: str | None = None
    attribute: str | None = None
    metric: str  # what was measured, e.g. "p95_ms", "error_rate", "empty_share", "reject_share", "queries_per_request"
    value: float
    threshold: float  # the bound the value crossed
    requests: int = Field(default=0, ge=0)  # how many requests the window held for this route or entity
    summary: str  # one sentence a person can read

    @property
    def id(self) -> str:
        """Stable over re-collection of the same window: the same observation is the same finding."""
        key = "|".join(
            str(part)
            for part in (
                self.tenant,
                self.product,
                self.revision,
                self.kind,
                self.window_start.isoformat(),
                self.window_end.isoformat(),
                self.route,
                self.entity,
                self.attribute,
                self.metric,
            )
        )
        return hashlib.sha256(key.encode()).hexdigest()[:16]
