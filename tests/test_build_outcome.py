"""A build's outcome is typed: the stage results read back into their models and the summary a model.

The results are stored in a temporary product workspace as the stages store them; the summary's JSON
is what `factory build --json` prints, so its fields are checked here by name.
"""

from __future__ import annotations

from pathlib import Path

from infra.lifecycle.outcome import BuildResults, BuildSummary, ServiceObjectives, TestCounts
from infra.lifecycle.results import (
    DeploymentResult,
    IntentResult,
    ReleaseResult,
    StageResult,
    TelemetryResult,
    ValidationResult,
)
from infra.telemetry import RouteFigure
from infra.workspace import ProductWorkspace
from ontology.models import Objectives

TRACE = "0" * 32
OLD = "1" * 32

SUMMARY_FIELDS = [
    "tenant",
    "product",
    "success",
    "trace_id",
    "revision",
    "run_id",
    "seconds",
    "stages",
    "checks",
    "repository",
    "commit",
    "new_commit",
    "restarted",
    "service_url",
    "pid",
    "tests",
    "slo",
    "error",
]


def _store(workspace: ProductWorkspace, name: str, result: StageResult) -> None:
    workspace.save_output(name, result.model_dump(mode="json"))


def _workspace(tmp_path: Path) -> ProductWorkspace:
    ws = ProductWorkspace(tmp_path, "acme", "helpdesk")
    common = {"trace_id": TRACE, "fingerprint": "f"}
    intent = IntentResult(tenant="acme", product="helpdesk", intent_id=4, revision=2, text="x", **common)
    _store(ws, "intent", intent)
    _store(
        ws, "validation", ValidationResult(passed=7, failed=1, errors=0, skipped=0, duration_s=1.0, ok=False, **common)
    )
    release = ReleaseResult(commit="abc", created=True, branch="env/dev", repository="/r", **common)
    _store(ws, "release", release)
    overall = RouteFigure("*", "*", 10, 2.5, 9.0, 0.0, 0.0)
    telemetry = TelemetryResult(
        requests=10, spans=10, overall=overall, breaches=["p95"], objectives=Objectives(), **common
    )
    _store(ws, "telemetry", telemetry)
    deployed = DeploymentResult(
        url="http://127.0.0.1:9", pid=42, port=9, workdir="/w", log="/l", telemetry_file="/t", commit="abc",
        environment="dev", trace_id=OLD, fingerprint="g", reused=True,
    )  # fmt: skip
    _store(ws, "deployment", deployed)  # an older build's: not this one's
    return ws


def test_the_results_are_read_back_into_their_models_for_this_build_only(tmp_path: Path) -> None:
    results = BuildResults.load(_workspace(tmp_path))
    assert isinstance(results.intent, IntentResult) and results.intent.revision == 2
    assert isinstance(results.telemetry, TelemetryResult) and results.telemetry.overall.p50_ms == 2.5
    assert results.deployment is None  # stored by an older trace
    assert list(results.present()) == ["intent", "validation", "release", "telemetry"]
    assert results.did_work
    assert not BuildResults.load(ProductWorkspace(tmp_path, "acme", "empty")).present()


def test_the_summary_is_a_model_with_the_json_shape_the_command_line_prints(tmp_path: Path) -> None:
    results = BuildResults.load(_workspace(tmp_path))
    summary = BuildSummary.of(
        results, tenant="acme", product="helpdesk", success=False, run_id="r", seconds=1.234,
        stages={"intent": "done"}, checks={"tests_pass": False}, error="validation: failed",
    )  # fmt: skip
    assert summary.tests == TestCounts(passed=7, failed=1, errors=0)
    assert summary.slo == ServiceObjectives(p50_ms=2.5, p95_ms=9.0, error_rate=0.0, breaches=["p95"])
    assert (summary.trace_id, summary.revision, summary.commit, summary.seconds) == (TRACE, 2, "abc", 1.23)
    assert summary.new_commit and not summary.restarted and summary.service_url is None
    data = summary.model_dump(mode="json")
    assert list(data) == SUMMARY_FIELDS
    assert data["slo"] == {"p50_ms": 2.5, "p95_ms": 9.0, "error_rate": 0.0, "breaches": ["p95"]}
    assert data["tests"] == {"passed": 7, "failed": 1, "errors": 0}
