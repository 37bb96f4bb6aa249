"""Factory insights: what past builds teach, per template version and per domain pattern.

Computed from the control database's build records and kept as JSON under $FACTORY_HOME so
the architect can read them when it plans the next product.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field

from generators.packs import parse_version
from graph.files import FileLock, write_atomically
from infra.control import BuildRecord, ControlPlane

__all__ = [
    "FactoryInsights",
    "Outcome",
    "compute_insights",
    "insights_path",
    "load_insights",
    "refresh_insights",
    "save_insights",
]


class Outcome(BaseModel):
    """How the builds of one template version or one pattern went."""

    builds: int = 0
    passed: int = 0
    pass_rate: float = 0.0
    median_build_s: float = 0.0
    slo_breaches: int = 0
    breached: int = 0
    """How many of the builds breached an SLO at least once."""
    breach_rate: float = 0.0
    products: list[str] = Field(default_factory=list)


class FactoryInsights(BaseModel):
    """Outcomes per template version and per pattern, and the findings people should look at."""

    builds: int = 0
    products: int = 0
    pass_rate: float = 0.0
    median_build_s: float = 0.0
    templates: dict[str, Outcome] = Field(default_factory=dict)
    patterns: dict[str, Outcome] = Field(default_factory=dict)
    findings: list[str] = Field(default_factory=list)

    def best_version(self, template: str, versions: Iterable[str]) -> str | None:
        """The version of `template` whose products breached SLOs least often, then with the best pass rate
        (ties: the later one), over versions with at least one build."""
        scored = [
            (-o.breach_rate, o.pass_rate, parse_version(v), v)
            for v in versions
            if (o := self.templates.get(f"{template}@{v}")) is not None
        ]
        return max(scored)[3] if scored else None

    def version_evidence(self, template: str, versions: Iterable[str]) -> str:
        """Why `best_version` chose what it chose, in a sentence: each version's breach and pass rates."""
        parts = [
            f"{v}: {o.breached} of {o.builds} build(s) breached SLOs ({o.breach_rate:.0%}), passed {o.pass_rate:.0%}"
            for v in versions
            if (o := self.templates.get(f"{template}@{v}")) is not None
        ]
        return f"{template} versions by outcome: " + "; ".join(parts) if parts else f"{template}: no past builds"


def _outcome(records: list[BuildRecord]) -> Outcome:
    passed = sum(1 for r in records if r.passed)
    return Outcome(
        builds=len(records),
        passed=passed,
        pass_rate=round(passed / len(records), 4) if records else 0.0,
        median_build_s=round(statistics.median(r.duration_s for r in records), 3) if records else 0.0,
        slo_breaches=sum(r.slo_breaches for r in records),
        breached=(breached := sum(1 for r in records if r.slo_breaches)),
        breach_rate=round(breached / len(records), 4) if records else 0.0,
        products=sorted({f"{r.tenant}/{r.product}" for r in records}),
    )


def compute_insights(builds: Iterable[BuildRecord]) -> FactoryInsights:
    """Aggregate build records into insights; SLO breaches and failed builds become findings."""
    records = list(builds)
    by_template: dict[str, list[BuildRecord]] = {}
    by_pattern: dict[str, list[BuildRecord]] = {}
    findings = []
    for r in records:
        by_template.setdefault(r.template, []).append(r)
        for pattern in filter(None, (r.patterns or "").split(",")):
            by_pattern.setdefault(pattern, []).append(r)
        if r.slo_breaches:
            findings.append(
                f"{r.tenant}/{r.product} r{r.revision}: {r.slo_breaches} SLO breach(es), "
                f"p95 {r.p95_ms or 0:.1f} ms, error rate {r.error_rate or 0:.2%} (trace {r.trace_id})"
            )
        if not r.passed:
            findings.append(f"{r.tenant}/{r.product} r{r.revision}: validation failed (trace {r.trace_id})")
    total = _outcome(records)
    return FactoryInsights(
        builds=total.builds,
        products=len(total.products),
        pass_rate=total.pass_rate,
        median_build_s=total.median_build_s,
        templates={k: _outcome(v) for k, v in sorted(by_template.items())},
        patterns={k: _outcome(v) for k, v in sorted(by_pattern.items())},
        findings=findings,
    )


def insights_path(home: Path) -> Path:
    return home / "insights.json"


def save_insights(home: Path, insights: FactoryInsights) -> Path:
    path = insights_path(home)
    write_atomically(path, insights.model_dump_json(indent=2).encode())
    return path


def refresh_insights(home: Path, control: ControlPlane) -> FactoryInsights:
    """Recompute the insights from every recorded build and save them: what a build's knowledge stage does
    after it records the build. Builds that finish together take turns, so the last one saved has all."""
    with FileLock(home / "locks" / "insights.lock").exclusive():
        insights = compute_insights(control.builds())
        save_insights(home, insights)
    return insights


def load_insights(home: Path) -> FactoryInsights:
    """The last computed insights (empty ones before the first build)."""
    path = insights_path(home)
    if not path.exists():
        return FactoryInsights()
    return FactoryInsights.model_validate(json.loads(path.read_text()))
