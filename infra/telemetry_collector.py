"""Continuous telemetry: every running deployment observed over consecutive time windows.

For each window (the Dagster schedule's time partition) and each running deployment, the collector reads
the spans the service wrote (the embedded runtime's JSON-lines file) and the spans it exported to the
factory's OTLP receiver, computes per-route p50/p95, error rates by status, the request mix and the
slowest SQL statements, evaluates the blueprint's objectives as burn rates (`infra.slo`), derives the
findings (`infra.telemetry_findings`), records the window and its findings in the product's graph (and
keeps them in its workspace, so that every later build's graph keeps them), emits `slo.breached` for a
new breach, and finally recomputes the insights every product's findings add up to.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generators.blueprint import load_blueprint
from graph.facts import ProductFacts
from graph.findings import Insight, WindowFigures, record_insights, record_window, summarize_insights, window_key
from infra.control import ControlPlane
from infra.insights import compute_insights
from infra.otlp import otlp_path
from infra.runtime import LocalRuntime
from infra.service_tokens import service_name
from infra.slo import BURN_RULES, BurnRule, route_burns
from infra.telemetry import (
    RouteFigure,
    SpanRecord,
    SqlSpan,
    overall,
    parse_time,
    percentile,
    read_window,
    route_figures,
)
from infra.telemetry_findings import Window, derive_findings
from infra.workspace import ProductWorkspace
from ontology.errors import FactoryError
from ontology.findings import Finding
from ontology.models import Blueprint, Objectives

if TYPE_CHECKING:
    from graph.knowledge_graph import KnowledgeGraph

__all__ = ["WINDOW", "QueryFigure", "WindowReport", "collect_window", "refresh_graph_insights", "window_of"]

WINDOW = dt.timedelta(minutes=5)
"""The length of a collection window (the schedule's partitions)."""


@dataclass(frozen=True)
class QueryFigure:
    """One SQL statement's count and p95 duration over a window."""

    statement: str
    count: int
    p95_ms: float


@dataclass
class WindowReport:
    """What one window of one deployment held, and what was concluded from it."""

    tenant: str
    product: str
    env: str
    revision: int
    trace_id: str
    start: dt.datetime
    end: dt.datetime
    overall: RouteFigure
    routes: list[RouteFigure] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    slow_queries: list[QueryFigure] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    new_breaches: int = 0

    @property
    def mix(self) -> dict[str, float]:
        """The share of the window's requests each route took."""
        total = max(1, self.overall.count)
        return {f"{r.method} {r.route}": round(r.count / total, 4) for r in self.routes}


def window_of(moment: dt.datetime, length: dt.timedelta = WINDOW) -> tuple[dt.datetime, dt.datetime]:
    """The window that holds `moment`: aligned on multiples of `length` since the epoch, in UTC."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    seconds = int(length.total_seconds())
    offset = int((moment.astimezone(dt.UTC) - epoch).total_seconds()) // seconds * seconds
    start = epoch + dt.timedelta(seconds=offset)
    return start, start + length


def _slow_queries(sql: list[SqlSpan], top: int = 5) -> list[QueryFigure]:
    groups: dict[str, list[float]] = defaultdict(list)
    for q in sql:
        groups[q.statement].append(q.duration_ms)
    figures = [QueryFigure(s, len(d), percentile(d, 95)) for s, d in groups.items()]
    return sorted(figures, key=lambda f: (-f.p95_ms, f.statement))[:top]


def _blueprint(workspace: ProductWorkspace) -> Blueprint | None:
    try:
        return load_blueprint(workspace.blueprint_path) if workspace.blueprint_path.exists() else None
    except FactoryError:
        return None


def _read(paths: list[Path], start: dt.datetime, end: dt.datetime) -> tuple[list[SpanRecord], list[SqlSpan]]:
    spans: list[SpanRecord] = []
    sql: list[SqlSpan] = []
    for path in paths:
        more, queries = read_window(path, start, end)
        spans.extend(more)
        sql.extend(queries)
    return spans, sql


def collect_window(
    home: Path,
    control: ControlPlane,
    kg: KnowledgeGraph,
    start: dt.datetime,
    end: dt.datetime,
    *,
    rules: tuple[BurnRule, ...] = BURN_RULES,
) -> list[WindowReport]:
    """Observe every running deployment over [start, end); one report per deployment that had traffic.

    Collecting a window again replaces what the first collection recorded (the same findings, by id) and
    emits no event twice."""
    runtime = LocalRuntime(home)
    longest = max((r.long for r in rules), default=end - start)
    collected = dt.datetime.now(dt.UTC)
    reports = []
    for d in control.deployments(status="running"):
        trace_id = d.trace_id or (control.product(d.tenant, d.product) or d).trace_id
        if not trace_id:
            continue
        name = service_name(d.tenant, d.product, d.env)
        paths = [runtime.telemetry_path(name), otlp_path(home, d.tenant, d.product, d.env)]
        history, sql = _read(paths, min(start, end - longest), end)
        spans = [s for s in history if s.start and start <= _moment(s) < end]
        if not spans:
            continue
        sql = [q for q in sql if q.start and start <= _moment(q) < end]
        workspace = ProductWorkspace(home, d.tenant, d.product)
        blueprint = _blueprint(workspace)
        revision = max(1, d.revision or 1)
        window = Window(d.tenant, d.product, revision, start, end)
        burns = route_burns(history, end, blueprint.slo if blueprint is not None else Objectives(), rules)
        findings = derive_findings(window, spans, sql, burns, blueprint)
        total = overall(spans)
        report = WindowReport(
            d.tenant, d.product, d.env, revision, trace_id, start, end, total, route_figures(spans),
            dict(sorted(Counter(s.status_code for s in spans).items())), _slow_queries(sql), findings,
        )  # fmt: skip
        facts = ProductFacts(d.tenant, d.product, trace_id)
        figures = WindowFigures(total.count, total.p95_ms, total.error_rate)
        record_window(facts, d.env, revision, start, end, figures, findings, (collected, dt.datetime.now(dt.UTC)))
        key = window_key(d.env, start)
        known = _recorded_findings(workspace, key)
        workspace.save_observation_facts(key, facts)
        kg.write(facts, replace=False)
        for f in findings:
            if f.kind == "slo_breach" and f.id not in known:
                control.emit(
                    "slo.breached", d.tenant, d.product, trace_id=trace_id,
                    data={"finding": f.id, "route": f.route, "metric": f.metric, "value": f.value,
                          "threshold": f.threshold, "window_start": start.isoformat(), "window_end": end.isoformat(),
                          "env": d.env, "revision": revision},
                )  # fmt: skip
                report.new_breaches += 1
        reports.append(report)
    return reports


def _moment(span: SpanRecord | SqlSpan) -> dt.datetime:
    return parse_time(span.start)


def _recorded_findings(workspace: ProductWorkspace, key: str) -> str:
    """The text of an earlier collection of the window (finding ids are in its IRIs), or ""."""
    path = workspace.observations_dir() / f"{key}.nq"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def refresh_graph_insights(kg: KnowledgeGraph, control: ControlPlane) -> list[Insight]:
    """Recompute the insights of every product's findings and of every template version's builds, and write
    them to every tenant's insights graph; returns them."""
    insights = summarize_insights(kg)
    outcomes = compute_insights(control.builds())
    for template, outcome in outcomes.templates.items():
        insights.append(
            Insight(
                "template_outcome",
                template,
                set(outcome.products),
                summary=(
                    f"template {template}: {outcome.passed} of {outcome.builds} builds passed, "
                    f"{outcome.slo_breaches} SLO breach(es) at build time, median build {outcome.median_build_s:g} s, "
                    f"over {len(outcome.products)} product(s)"
                ),
            )
        )
    tenants = {p.tenant for p in control.products()}
    record_insights(kg, tenants, insights)
    return insights
