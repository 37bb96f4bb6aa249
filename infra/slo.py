"""Service-level objectives evaluated as error-budget burn rates over pairs of time windows.

A blueprint's objectives (`Objectives`: p95 latency, error rate) are read as two SLIs per route: the
share of requests slower than the latency bound (budget: 5 %, as the bound is a 95th percentile) and
the share answered with a 5xx status (budget: the error rate). The burn rate is the bad share divided
by the budget: 1 spends the budget exactly over the SLO period, 14.4 spends 2 % of a 30-day budget in
one hour. As in Google's SRE workbook, a rule fires only when both its long and its short window burn
faster than its factor: the long window says it matters, the short one that it is still going on.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from infra.telemetry import SpanRecord, parse_time
from ontology.models import Objectives

__all__ = ["BURN_RULES", "LATENCY_BUDGET", "MIN_REQUESTS", "Burn", "BurnRule", "burn_rate", "route_burns"]

LATENCY_BUDGET = 0.05
"""The share of requests allowed above the p95 latency bound."""
MIN_REQUESTS = 10
"""A route with fewer requests in a rule's long window is not judged: a handful of requests is noise."""


@dataclass(frozen=True)
class BurnRule:
    """Fire when the burn rate over `long` and over `short` (both ending now) are both at least `factor`."""

    long: timedelta
    short: timedelta
    factor: float

    @property
    def name(self) -> str:
        return f"{_span(self.long)}/{_span(self.short)} >= {self.factor:g}"


BURN_RULES: tuple[BurnRule, ...] = (
    BurnRule(timedelta(hours=1), timedelta(minutes=5), 14.4),
    BurnRule(timedelta(hours=6), timedelta(minutes=30), 6.0),
)
"""The SRE workbook's fast-burn and slow-burn page rules."""


@dataclass(frozen=True)
class Burn:
    """How fast one route (or "*": the whole service) burnt one objective's budget under one rule."""

    method: str
    route: str
    objective: str  # "latency" or "errors"
    rule: BurnRule
    long_rate: float
    short_rate: float
    requests: int  # in the long window
    bad: int  # in the long window

    @property
    def breached(self) -> bool:
        return self.requests >= MIN_REQUESTS and min(self.long_rate, self.short_rate) >= self.rule.factor

    @property
    def label(self) -> str:
        return self.route if self.route == "*" else f"{self.method} {self.route}"


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def burn_rate(bad: int, total: int, budget: float) -> float:
    """The bad share over the budget; no requests burn nothing, a zero budget with bad requests is infinite."""
    if total <= 0 or bad <= 0:
        return 0.0
    if budget <= 0:
        return math.inf
    return (bad / total) / budget


def _rates(
    spans: Sequence[tuple[datetime, SpanRecord]], since: datetime, objectives: Objectives
) -> tuple[int, int, int, float, float]:
    kept = [s for moment, s in spans if moment >= since]
    slow = sum(s.duration_ms > objectives.p95_latency_ms for s in kept)
    errors = sum(s.status_code >= 500 for s in kept)
    return (
        len(kept),
        slow,
        errors,
        burn_rate(slow, len(kept), LATENCY_BUDGET),
        burn_rate(errors, len(kept), objectives.error_rate),
    )


def route_burns(
    spans: Iterable[SpanRecord],
    end: datetime,
    objectives: Objectives,
    rules: Sequence[BurnRule] = BURN_RULES,
) -> list[Burn]:
    """The latency and error burn rates of every route and of the whole service under every rule, over the
    spans that started before `end` (the caller reads at least the longest rule's window)."""
    groups: dict[tuple[str, str], list[tuple[datetime, SpanRecord]]] = defaultdict(list)
    for span in spans:
        moment = parse_time(span.start)
        if moment < end:
            groups[(span.method, span.route)].append((moment, span))
            groups[("*", "*")].append((moment, span))
    burns = []
    for (method, route), timed in sorted(groups.items()):
        for rule in rules:
            total, slow, errors, latency_long, errors_long = _rates(timed, end - rule.long, objectives)
            _, _, _, latency_short, errors_short = _rates(timed, end - rule.short, objectives)
            burns.append(Burn(method, route, "latency", rule, latency_long, latency_short, total, slow))
            burns.append(Burn(method, route, "errors", rule, errors_long, errors_short, total, errors))
    return burns
