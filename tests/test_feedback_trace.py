"""The feedback loop on a real build pair: v1 built and deployed, its telemetry window's findings design v2,
and v2's trace walks finding -> decision -> changed files -> v2's own telemetry windows, in Oxigraph and Kùzu,
as `factory trace` prints it (its own module, so that it runs beside the loop's other tests)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from generators.blueprint import dump_blueprint
from graph import KnowledgeGraph, TraceStep
from infra.control import ControlPlane
from infra.lifecycle import StageContext, StageResult, run_stage
from infra.runtime import LocalRuntime, stop
from infra.service_tokens import service_name
from infra.telemetry_collector import collect_window
from ontology.lifecycle import LIFECYCLE
from ontology.models import Blueprint, Objectives
from studio.output import print_trace
from studio.views import feedback_rows

pytestmark = pytest.mark.slow(minutes=2)

TENANT = "health-co"
TIGHT = Objectives(p95_latency_ms=0.001, error_rate=0.01)  # every request is too slow: the latency SLO burns
LIFECYCLE_JOB = [s.name for s in LIFECYCLE if s.job == "lifecycle"]  # a whole build: intent to knowledge


def test_a_v2_build_s_trace_shows_the_findings_it_used_what_it_decided_the_files_and_the_windows_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """v1 built and deployed, driven with filtered lists that breach its latency objective; the window's findings
    design v2 (a new revision), whose trace walks finding -> decision -> changed files -> v2's own windows."""

    home = tmp_path / "home"
    control = ControlPlane(None, home)
    kg = KnowledgeGraph(home, embedder=None)
    orders = {
        "name": "Orders", "slug": "orders", "tenant": TENANT, "description": "Orders listed by region.",
        "entities": [{"name": "order", "attributes": [
            {"name": "reference", "type": "string", "required": True},
            {"name": "region", "type": "string", "required": True},
        ]}],
        "slo": TIGHT.model_dump(),
    }  # fmt: skip
    name = service_name(TENANT, "orders", "dev")
    headers = LocalRuntime(home).tokens(name).headers(TENANT)

    def build(description: str) -> dict[str, StageResult]:
        bp = {**orders, "description": description}
        control.submit_intent(TENANT, "orders", "", blueprint_yaml=dump_blueprint(Blueprint.model_validate(bp)))
        ctx = StageContext(home, TENANT, "orders", run_id=f"run-{description[:4]}", knowledge_graph=lambda: kg)
        results: dict[str, StageResult] = {}
        for stage in LIFECYCLE_JOB:
            results[stage] = run_stage(ctx, stage, results)
        return results

    def observe(url: str) -> None:
        start = dt.datetime.now(dt.UTC)
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            for i in range(12):
                assert client.get("/orders", params={"region": f"r{i % 3}"}).status_code == 200
        collect_window(home, control, kg, start, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))

    try:
        first = build("Orders listed by region.")
        observe(first["deployment"].url)  # type: ignore[attr-defined]
        second = build("Orders of a shop, listed by region.")
        v1, v2 = first["intent"].trace_id, second["intent"].trace_id
        assert v1 != v2 and second["blueprint"].blueprint.entity("order").attributes[1].indexed  # type: ignore[attr-defined]
        observe(second["deployment"].url)  # type: ignore[attr-defined]
    finally:
        for d in control.deployments(None):
            if d.pid and d.workdir:
                stop(d.pid, Path(d.workdir), timeout_s=5)
    steps = kg.trace(v2)
    by_stage: dict[str, list[TraceStep]] = {}
    for s in steps:
        by_stage.setdefault(s.stage, []).append(s)
    (decision,) = by_stage["decision"]
    assert "order.region indexed" in decision.label
    (used,) = [s for s in by_stage["finding"] if s.node == decision.about]  # recorded by v1's observation
    assert "region" in used.label and used.activity and "/activity/observation/" in used.activity
    assert used.node in {s.node for s in kg.trace(v1) if s.stage == "finding"}
    changed = sorted(s.label for s in by_stage["changed file"])
    assert "app/infrastructure/tables/order.py" in changed and any(
        p.startswith("migrations/versions/") for p in changed
    )
    assert {s.about for s in by_stage["changed file"]} == {decision.node}
    assert "app/domain/entities/order.py" not in changed  # an index changes the table and its migration only
    (window,) = by_stage["window"]  # v2's own, after its deployment; v1's window is on v1's trace
    (deployed,) = [s for s in steps if s.stage == "deployment"]
    assert str(window.started) >= str(deployed.started)
    assert {s.node for s in kg.trace(v1) if s.stage == "window"} != {window.node}
    assert kg.trace(v2, tenant=TENANT, engine="kuzu") == steps  # the property graph walks the same loop
    print_trace(steps)  # `factory trace`: the chain, then the feedback loop's rows
    assert "feedback: finding -> decision -> files" in capsys.readouterr().out
    rows = feedback_rows(steps)
    assert rows[0]["finding"] == used.label and rows[0]["decision"] == decision.label
    assert "app/infrastructure/tables/order.py" in rows[0]["files"] and rows[0]["windows after"] == 1
