"""One typed result per lifecycle stage: what a stage hands the stages after it.

A result is stored as JSON in the product's workspace (`outputs/<stage>.json`, the same fields
the Studio and the command line read) and read back into its model, never as a dict read by
key. Every result carries the build's trace id, the `fingerprint` of what it was made from and
whether it was `reused` from an earlier run. `metadata()` gives the figures a surface shows for
it (the Dagster UI's materialization metadata); the marker types say how to show a text.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from generators.agents.contract import ContractReport
from generators.finding_rules import Change
from infra.telemetry import RouteFigure
from ontology.models import Blueprint, Objectives, OpenQuestion, Requirements

__all__ = [
    "RESULTS",
    "ArtifactsResult",
    "BlueprintResult",
    "ContractResult",
    "DeploymentResult",
    "IntentResult",
    "KnowledgeResult",
    "Markdown",
    "MetadataPath",
    "MetadataValue",
    "ReleaseResult",
    "RequirementsResult",
    "StageResult",
    "TelemetryResult",
    "Url",
    "ValidationResult",
]


class Markdown(str):
    """A metadata text to show as Markdown."""


class MetadataPath(str):
    """A metadata text that is a local path."""


class Url(str):
    """A metadata text that is a URL."""


MetadataValue = str | int | float | bool


class StageResult(BaseModel):
    """What every stage result carries."""

    model_config = ConfigDict(extra="ignore")
    stage: ClassVar[str] = ""

    trace_id: str
    fingerprint: str
    reused: bool = False

    def metadata(self) -> dict[str, MetadataValue]:
        """The figures shown for this result; every result shows its trace id and whether it was reused."""
        return {"trace_id": self.trace_id, "reused": self.reused}

    def check_issues(self) -> dict[str, list[str]]:
        """The issues each of the stage's checks found (empty lists: passed); none for most stages."""
        return {}


class IntentResult(StageResult):
    stage: ClassVar[str] = "intent"

    tenant: str
    product: str
    intent_id: int
    revision: int
    text: str
    blueprint_yaml: str | None = None

    def metadata(self) -> dict[str, MetadataValue]:
        return {**super().metadata(), "revision": self.revision, "intent": Markdown(self.text[:500] or "(blueprint)")}


class RequirementsResult(StageResult):
    stage: ClassVar[str] = "requirements"

    requirements: Requirements | None = None
    """None when a blueprint was submitted instead of an intent to analyse."""
    statements: list[str] = Field(default_factory=list)
    source: str = "blueprint"
    fallback: str | None = None

    def metadata(self) -> dict[str, MetadataValue]:
        return {**super().metadata(), "statements": len(self.statements), "source": self.source}


class CheckedResult(StageResult):
    """A result that blocking checks follow: the issues each check found."""

    checks: dict[str, list[str]] = Field(default_factory=dict)

    def check_issues(self) -> dict[str, list[str]]:
        return self.checks


class BlueprintResult(CheckedResult):
    stage: ClassVar[str] = "blueprint"

    blueprint: Blueprint
    hash: str
    notes: list[str] = Field(default_factory=list)
    used: list[str] = Field(default_factory=list)
    questions: list[OpenQuestion] = Field(default_factory=list)
    """The architect's questions for the owner, raised by what the running deployment showed."""
    changes: list[Change] = Field(default_factory=list)
    """What findings changed in the blueprint, each decided from one finding (`prov:used` by the design)."""
    base: Blueprint | None = None
    """The blueprint as designed before the findings changed it (None when none changed anything)."""
    path: str = ""

    def metadata(self) -> dict[str, MetadataValue]:
        return {
            **super().metadata(),
            "entities": len(self.blueprint.entities),
            "relationships": len(self.blueprint.relationships),
            "blueprint_hash": self.hash,
            "path": MetadataPath(self.path),
        }


class ArtifactsResult(StageResult):
    stage: ClassVar[str] = "artifacts"

    dir: str
    template: str
    files: list[str]
    bytes: int
    tree_hash: str

    def metadata(self) -> dict[str, MetadataValue]:
        return {
            **super().metadata(),
            "files": len(self.files),
            "bytes": self.bytes,
            "template": self.template,
            "path": MetadataPath(self.dir),
        }


class ValidationResult(CheckedResult):
    stage: ClassVar[str] = "validation"

    passed: int
    failed: int
    errors: int
    skipped: int
    duration_s: float
    lint: list[str] = Field(default_factory=list)
    ok: bool
    contract: ContractReport | None = None
    """The shallow contract run against the rendered service, started for it (None: stored before it ran)."""

    def metadata(self) -> dict[str, MetadataValue]:
        return {
            **super().metadata(),
            "tests_passed": self.passed,
            "tests_failed": self.failed + self.errors,
            "lint_findings": len(self.lint),
            "duration_s": self.duration_s,
            **(contract_metadata(self.contract) if self.contract else {}),
        }


class ReleaseResult(StageResult):
    stage: ClassVar[str] = "release"

    commit: str
    tag: str | None = None
    created: bool
    branch: str
    kept_edits: list[str] = Field(default_factory=list)
    repository: str
    manifests: list[str] = Field(default_factory=list)

    def metadata(self) -> dict[str, MetadataValue]:
        return {
            **super().metadata(),
            "commit": self.commit,
            "tag": self.tag or "",
            "new_commit": self.created,
            "kept_edits": len(self.kept_edits),
            "repository": MetadataPath(self.repository),
        }


class DeploymentResult(StageResult):
    stage: ClassVar[str] = "deployment"

    url: str
    pid: int
    port: int
    workdir: str
    log: str
    telemetry_file: str
    commit: str
    environment: str

    def metadata(self) -> dict[str, MetadataValue]:
        return {**super().metadata(), "url": Url(self.url), "pid": self.pid, "port": self.port, "commit": self.commit}


class TelemetryResult(StageResult):
    stage: ClassVar[str] = "telemetry"

    requests: int
    unexpected: list[str] = Field(default_factory=list)
    spans: int
    routes: list[RouteFigure] = Field(default_factory=list)
    overall: RouteFigure
    breaches: list[str] = Field(default_factory=list)
    objectives: Objectives

    def metadata(self) -> dict[str, MetadataValue]:
        lines = ["| route | requests | p50 ms | p95 ms | errors |", "|---|---|---|---|---|"]
        lines += [
            f"| {r.method} {r.route} | {r.count} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.error_rate:.1%} |"
            for r in self.routes
        ]
        return {
            **super().metadata(),
            "requests": self.requests,
            "p50_ms": self.overall.p50_ms,
            "p95_ms": self.overall.p95_ms,
            "error_rate": self.overall.error_rate,
            "slo_breaches": len(self.breaches),
            "routes": Markdown("\n".join(lines)),
        }


class ContractResult(CheckedResult):
    stage: ClassVar[str] = "contract"

    commit: str
    """The deployed commit the run fuzzed (promotion to staging reads it)."""
    examples: int
    """Examples per operation the run asked for."""
    report: ContractReport

    @property
    def ok(self) -> bool:
        return self.report.ok

    def metadata(self) -> dict[str, MetadataValue]:
        return {
            **super().metadata(),
            "commit": self.commit,
            "examples": self.examples,
            **contract_metadata(self.report),
        }


def contract_metadata(report: ContractReport) -> dict[str, MetadataValue]:
    """A contract run's figures, and its failures' reproducing requests as a Markdown list."""
    shown: dict[str, MetadataValue] = {
        "contract_cases": report.cases,
        "contract_failures": len(report.failures),
        "contract_s": report.duration_s,
    }
    if report.failures:
        lines = [f"- `{f.request_line()}` -> {f.status_code}: {f.title} ({f.check})" for f in report.failures[:50]]
        shown["contract_requests"] = Markdown("\n".join(lines))
    return shown


class KnowledgeResult(StageResult):
    stage: ClassVar[str] = "knowledge"

    stages: list[str]
    facts: int
    patterns: list[str] = Field(default_factory=list)
    build_seconds: float

    def metadata(self) -> dict[str, MetadataValue]:
        return {
            **super().metadata(),
            "stages": len(self.stages),
            "chain_facts": self.facts,
            "build_seconds": self.build_seconds,
        }


RESULTS: dict[str, type[StageResult]] = {
    r.stage: r
    for r in (
        IntentResult,
        RequirementsResult,
        BlueprintResult,
        ArtifactsResult,
        ValidationResult,
        ReleaseResult,
        DeploymentResult,
        TelemetryResult,
        ContractResult,
        KnowledgeResult,
    )
}
"""The result model of each stage, by stage name."""
