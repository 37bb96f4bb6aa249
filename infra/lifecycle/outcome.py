"""What one build produced, typed: each stage's result and the summary people ask about first.

A runner (the Dagster one in `assets/builds.py`, or any other) reads the stages' stored results
back into their models (`BuildResults.load`) and summarises them (`BuildSummary`); the command
line, the Studio and the benchmark read attributes, never dicts by key. `BuildSummary`'s JSON is
what `factory build --json` prints.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from infra.lifecycle.results import (
    RESULTS,
    ArtifactsResult,
    BlueprintResult,
    ContractResult,
    DeploymentResult,
    IntentResult,
    KnowledgeResult,
    ReleaseResult,
    RequirementsResult,
    StageResult,
    TelemetryResult,
    ValidationResult,
)
from infra.workspace import ProductWorkspace

__all__ = ["BuildResults", "BuildSummary", "ServiceObjectives", "TestCounts"]


class BuildResults(BaseModel):
    """The stage results of one build (None: the stage did not run, or its stored result is an older build's)."""

    intent: IntentResult | None = None
    requirements: RequirementsResult | None = None
    blueprint: BlueprintResult | None = None
    artifacts: ArtifactsResult | None = None
    validation: ValidationResult | None = None
    release: ReleaseResult | None = None
    deployment: DeploymentResult | None = None
    telemetry: TelemetryResult | None = None
    contract: ContractResult | None = None
    knowledge: KnowledgeResult | None = None

    @classmethod
    def load(cls, workspace: ProductWorkspace) -> BuildResults:
        """The results stored in the product's workspace that belong to the build of its stored intent."""
        found: dict[str, StageResult] = {}
        for name, model in RESULTS.items():
            stored = workspace.load_output(name)
            if stored is None:
                continue
            try:
                found[name] = model.model_validate(stored)
            except ValueError:
                continue  # stored by an older version of the stage: not this build's
        trace = found["intent"].trace_id if "intent" in found else None
        return cls.model_validate({n: r for n, r in found.items() if r.trace_id == trace})

    def present(self) -> dict[str, StageResult]:
        """The results this build has, by stage name, in table order."""
        return {name: r for name in RESULTS if isinstance(r := getattr(self, name), StageResult)}

    @property
    def did_work(self) -> bool:
        """Whether any stage did work rather than reuse its stored result."""
        return any(not r.reused for r in self.present().values())


class TestCounts(BaseModel):
    """The product's own tests in the validation stage."""

    __test__ = False  # not a test class

    passed: int
    failed: int
    errors: int


class ServiceObjectives(BaseModel):
    """The running service's measured figures and the objectives it missed."""

    p50_ms: float
    p95_ms: float
    error_rate: float
    breaches: list[str] = Field(default_factory=list)


class BuildSummary(BaseModel):
    """The figures people ask about first (`factory build --json` prints this)."""

    tenant: str
    product: str
    success: bool
    trace_id: str | None
    revision: int | None
    run_id: str
    seconds: float
    stages: dict[str, str]
    checks: dict[str, bool]
    repository: str | None
    commit: str | None
    new_commit: bool
    restarted: bool
    service_url: str | None
    pid: int | None
    tests: TestCounts | None
    slo: ServiceObjectives | None
    error: str | None

    @classmethod
    def of(
        cls,
        results: BuildResults,
        *,
        tenant: str,
        product: str,
        success: bool,
        run_id: str,
        seconds: float,
        stages: dict[str, str],
        checks: dict[str, bool],
        error: str | None,
    ) -> BuildSummary:
        release, deployed, validation, telemetry = (
            results.release,
            results.deployment,
            results.validation,
            results.telemetry,
        )
        return cls(
            tenant=tenant,
            product=product,
            success=success,
            trace_id=results.intent.trace_id if results.intent else None,
            revision=results.intent.revision if results.intent else None,
            run_id=run_id,
            seconds=round(seconds, 2),
            stages=stages,
            checks=checks,
            repository=release.repository if release else None,
            commit=release.commit if release else None,
            new_commit=bool(release and release.created and not release.reused),
            restarted=bool(deployed and not deployed.reused),
            service_url=deployed.url if deployed else None,
            pid=deployed.pid if deployed else None,
            tests=TestCounts(passed=validation.passed, failed=validation.failed, errors=validation.errors)
            if validation
            else None,
            slo=ServiceObjectives(
                p50_ms=telemetry.overall.p50_ms,
                p95_ms=telemetry.overall.p95_ms,
                error_rate=telemetry.overall.error_rate,
                breaches=telemetry.breaches,
            )
            if telemetry
            else None,
            error=error,
        )
