"""Findings drawn from one telemetry window of one deployment: what the next build of the product should know.

Each rule reads the server spans (and the SQL spans) that started in the window, with the blueprint the
deployment was built from, and names a route, an entity or an attribute with the figure that crossed its
bound. The rules are deliberately plain (shares and percentiles over a minimum number of requests), so a
person can check a finding against the spans it came from.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from infra.slo import Burn
from infra.telemetry import SpanRecord, SqlSpan, percentile
from ontology.findings import Finding
from ontology.identifiers import plural
from ontology.models import Blueprint, Objectives

__all__ = ["MIN_SAMPLE", "Window", "derive_findings", "route_entity"]

MIN_SAMPLE = 5
"""The fewest requests (or writes) a rule judges."""
PAGING = frozenset({"limit", "offset"})
N_PLUS_ONE_QUERIES = 10.0
"""A request of a nested route running one SQL statement more often than this (median) reads one row at a time."""
EMPTY_SHARE = 0.95
REJECT_SHARE = 0.2
UNUSED_MIN_TRAFFIC = 20
"""An entity is called unused only in a window whose service answered at least this many requests."""
WRITES = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class Window:
    """The deployment and the time a set of spans is about."""

    tenant: str
    product: str
    revision: int
    start: datetime
    end: datetime


def _segments(route: str) -> list[str]:
    return [part for part in route.split("/") if part]


def route_entity(route: str, blueprint: Blueprint | None) -> str | None:
    """The blueprint entity a route serves: the last collection segment ("/a/{id}/b" serves b's rows)."""
    if blueprint is None:
        return None
    tables = {plural(e.name): e.name for e in blueprint.entities}
    names = {e.name for e in blueprint.entities}
    for part in reversed(_segments(route)):
        key = part.replace("-", "_")
        if key in tables:
            return tables[key]
        if key in names:
            return key
    return None


def _is_list(route: str) -> bool:
    parts = _segments(route)
    return bool(parts) and "{" not in parts[-1]


def _nested(route: str) -> bool:
    return any("{" in part for part in _segments(route)[:-1])


def _finding(window: Window, **fields: object) -> Finding:
    return Finding(
        tenant=window.tenant,
        product=window.product,
        revision=window.revision,
        window_start=window.start,
        window_end=window.end,
        **fields,
    )


def _slo(window: Window, burns: Iterable[Burn], blueprint: Blueprint | None) -> list[Finding]:
    found, seen = [], set()
    for b in burns:
        if not b.breached or (b.label, b.objective) in seen:
            continue
        seen.add((b.label, b.objective))  # the first (fastest) rule that fired tells it
        found.append(
            _finding(
                window,
                kind="slo_breach",
                route=b.label,
                entity=route_entity(b.route, blueprint),
                metric=f"{b.objective}_burn_rate",
                value=round(min(b.long_rate, b.short_rate), 3),
                threshold=b.rule.factor,
                requests=b.requests,
                summary=(
                    f"{b.label} burnt its {b.objective} budget {min(b.long_rate, b.short_rate):.1f}x too fast "
                    f"({b.bad} of {b.requests} requests bad over {b.rule.name})"
                ),
            )
        )
    return found


def _slow_lists(
    window: Window, groups: dict[tuple[str, str], list[SpanRecord]], slo: Objectives, bp: Blueprint | None
) -> list[Finding]:
    found = []
    for (method, route), spans in groups.items():
        if method != "GET" or not _is_list(route) or len(spans) < MIN_SAMPLE:
            continue
        label, entity = f"GET {route}", route_entity(route, bp)
        by_key: dict[str, list[float]] = defaultdict(list)
        plain = []
        for s in spans:
            keys = [k for k in s.query_keys if k not in PAGING]
            for k in keys:
                by_key[k].append(s.duration_ms)
            if not keys:
                plain.append(s.duration_ms)
        for key, durations in sorted(by_key.items()):
            p95 = percentile(durations, 95)
            if len(durations) >= MIN_SAMPLE and p95 > slo.p95_latency_ms:
                found.append(
                    _finding(
                        window, kind="slow_filter", route=label, entity=entity, attribute=key, metric="p95_ms",
                        value=round(p95, 3), threshold=slo.p95_latency_ms, requests=len(durations),
                        summary=f"{label} filtered or sorted by {key} took {p95:.0f} ms at p95 "
                        f"(objective {slo.p95_latency_ms:g} ms, {len(durations)} requests)",
                    )
                )  # fmt: skip
        p95 = percentile(plain, 95)
        if len(plain) >= MIN_SAMPLE and p95 > slo.p95_latency_ms:
            found.append(
                _finding(
                    window, kind="large_page", route=label, entity=entity, metric="p95_ms", value=round(p95, 3),
                    threshold=slo.p95_latency_ms, requests=len(plain),
                    summary=f"{label} without filters took {p95:.0f} ms at p95 (objective "
                    f"{slo.p95_latency_ms:g} ms, {len(plain)} requests): its pages are too large",
                )
            )  # fmt: skip
    return found


def _repeats(sql: Sequence[SqlSpan]) -> dict[str, int]:
    """Per request (its server span's id): how often its most repeated SQL statement ran."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for q in sql:
        counts[q.parent_span_id][q.statement] += 1
    return {parent: max(c.values()) for parent, c in counts.items()}


def _n_plus_one(
    window: Window, groups: dict[tuple[str, str], list[SpanRecord]], sql: Sequence[SqlSpan], bp: Blueprint | None
) -> list[Finding]:
    """A nested route (`/customers/{id}/invoices`) whose requests run one statement many times over: the finding
    names the parent entity and the relationship's role (customer, invoices). A request without SQL spans counts
    every statement it ran (its `db_queries`)."""
    repeats = _repeats(sql)
    found = []
    for (method, route), spans in groups.items():
        if method != "GET" or not _nested(route) or len(spans) < MIN_SAMPLE:
            continue
        median = percentile([repeats.get(s.span_id, s.db_queries) for s in spans], 50)
        if median > N_PLUS_ONE_QUERIES:
            label, parts = f"GET {route}", _segments(route)
            found.append(
                _finding(
                    window, kind="n_plus_one", route=label, entity=route_entity("/".join(parts[:-1]), bp),
                    attribute=parts[-1].replace("-", "_"), metric="queries_per_request", value=float(median),
                    threshold=N_PLUS_ONE_QUERIES, requests=len(spans),
                    summary=f"{label} ran one SQL statement {median:g} times per request (median of {len(spans)}): "
                    "it reads related rows one at a time",
                )
            )  # fmt: skip
    return found


def _writes(window: Window, groups: dict[tuple[str, str], list[SpanRecord]], bp: Blueprint | None) -> list[Finding]:
    found = []
    by_entity: dict[str, list[SpanRecord]] = defaultdict(list)
    for (method, route), spans in groups.items():
        entity = route_entity(route, bp) if bp is not None else (_segments(route) or [""])[0]
        if method in WRITES and entity:
            by_entity[entity].extend(spans)
    declared = {e.name: [a.name for a in e.attributes if not a.required] for e in bp.entities} if bp else {}
    for entity, spans in sorted(by_entity.items()):
        creates = [s for s in spans if s.method == "POST" and 200 <= s.status_code < 300 and s.fields_sent]
        optional = declared.get(entity) or sorted({f for s in creates for f in s.fields_sent})
        if len(creates) >= MIN_SAMPLE:
            for name in optional:
                empty = sum(name in s.fields_empty or name not in s.fields_sent for s in creates)
                share = empty / len(creates)
                if share >= EMPTY_SHARE:
                    found.append(
                        _finding(
                            window, kind="always_empty", entity=entity, attribute=name, metric="empty_share",
                            value=round(share, 4), threshold=EMPTY_SHARE, requests=len(creates),
                            summary=f"{entity}.{name} was sent empty in {empty} of {len(creates)} creates",
                        )
                    )  # fmt: skip
        if len(spans) >= MIN_SAMPLE:
            rejected: dict[str, int] = defaultdict(int)
            for s in spans:
                for name in s.fields_rejected:
                    rejected[name] += 1
            for name, count in sorted(rejected.items()):
                share = count / len(spans)
                if share >= REJECT_SHARE:
                    found.append(
                        _finding(
                            window, kind="validation_rejects", entity=entity, attribute=name,
                            metric="reject_share", value=round(share, 4), threshold=REJECT_SHARE,
                            requests=len(spans),
                            summary=f"validation of {entity}.{name} rejected {count} of {len(spans)} writes",
                        )
                    )  # fmt: skip
    return found


def _unused(window: Window, spans: Sequence[SpanRecord], bp: Blueprint | None) -> list[Finding]:
    if bp is None or len(spans) < UNUSED_MIN_TRAFFIC:
        return []
    used = {route_entity(s.route, bp) for s in spans}
    return [
        _finding(
            window,
            kind="unused_entity",
            entity=e.name,
            metric="requests",
            value=0.0,
            threshold=1.0,
            requests=len(spans),
            summary=f"{e.name} was neither read nor written in {len(spans)} requests to the service",
        )
        for e in bp.entities
        if e.name not in used
    ]


def derive_findings(
    window: Window,
    spans: Sequence[SpanRecord],
    sql: Sequence[SqlSpan],
    burns: Iterable[Burn],
    blueprint: Blueprint | None,
) -> list[Finding]:
    """Every finding the window's spans support, SLO breaches first; no duplicates (by id)."""
    slo = blueprint.slo if blueprint is not None else Objectives()
    groups: dict[tuple[str, str], list[SpanRecord]] = defaultdict(list)
    for s in spans:
        if s.route != "unmatched":
            groups[(s.method, s.route)].append(s)
    found = [
        *_slo(window, burns, blueprint),
        *_slow_lists(window, groups, slo, blueprint),
        *_n_plus_one(window, groups, sql, blueprint),
        *_writes(window, groups, blueprint),
        *_unused(window, spans, blueprint),
    ]
    return list({f.id: f for f in found}.values())
