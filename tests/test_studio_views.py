"""The Studio's plain-Python views, diagrams and build jobs, on real stores (no Streamlit involved)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from graph import KnowledgeGraph
from graph.samples import DEMO_PRODUCTS, build_facts
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from infra.workspace import ProductWorkspace
from ontology.errors import InvalidInputError
from ontology.models import Attribute, Blueprint, Entity
from studio import diagrams, jobs, queries, seeding, views

INVOICING, HELPDESK, CLINIC = DEMO_PRODUCTS


def test_overview_rows_and_figures_come_from_the_control_database(tmp_path: Path) -> None:
    control = ControlPlane(None, tmp_path)
    seeding.record_build(control, INVOICING, "a" * 32, seconds=30.0)
    seeding.record_build(control, HELPDESK, "b" * 32, seconds=50.0, passed=False)
    seeding.record_build(control, CLINIC, "c" * 32, seconds=10.0)
    products = control.products("acme")
    rows = views.overview_rows(products, control.intents("acme"), "http://dagster:3000")
    assert [r["product"] for r in rows] == ["helpdesk", "invoicing"]
    invoicing = rows[1]
    assert invoicing["status"] == "built" and all(invoicing[s] == "done" for s in views.STAGES)
    assert invoicing["trace"] == f"trace?trace={'a' * 32}&tenant=acme"
    assert invoicing["dagster run"].startswith("http://dagster:3000/runs/aaaaaaaa-")
    assert rows[0]["validation"] == "failed"
    figures = views.factory_figures(control.builds("acme"), len(products))
    assert figures == {"products": 2, "builds": 2, "pass rate": 0.5, "median build s": 40.0}
    assert views.tenants(control) == ["acme", "globex"]


def test_stage_progress_counts_finished_stages() -> None:
    progress = views.stage_progress({"intent": "done", "requirements": "done", "blueprint": "running"})
    assert (progress.done, progress.total, progress.running, progress.failed) == (
        2,
        9,
        "blueprint",
        [],
    )  # a build: the deep run follows it
    assert views.stage_progress({}).fraction == 0.0


def test_file_tree_and_viewer_stay_inside_the_render(tmp_path: Path) -> None:
    assert views.file_tree(["app/api/x.py", "app/main.py", "README.md"]).splitlines() == [
        "README.md",
        "app/",
        "    api/",
        "        x.py",
        "    main.py",
    ]
    ws = ProductWorkspace(tmp_path, "acme", "invoicing")
    (ws.reset_render() / "app.py").write_text("print('hi')\n")
    (tmp_path / "secret.txt").write_text("no")
    shown = views.read_product_file(ws, ["app.py"], "app.py")
    assert shown.text == "print('hi')\n" and shown.language == "python"
    with pytest.raises(InvalidInputError, match="not one of the product's files"):
        views.read_product_file(ws, ["app.py"], "../../../../secret.txt")
    with pytest.raises(Exception, match="not in the render folder"):
        views.read_product_file(ws, ["app.py", "../../../../secret.txt"], "../../../../secret.txt")


def test_telemetry_rows_per_route() -> None:
    rows = views.telemetry_rows(
        {"routes": [{"method": "GET", "route": "/x", "count": 3, "p50_ms": 1.0, "p95_ms": 2.0, "error_rate": 0.5}]}
    )
    assert rows == [
        {"route": "GET /x", "requests": 3, "p50 ms": 1.0, "p95 ms": 2.0, "error rate": 0.5, "client error rate": 0.0}
    ]
    assert views.telemetry_rows(None) == []


def test_blueprint_diagram_escapes_what_people_typed() -> None:
    bp = Blueprint(
        name="Shop",
        slug="shop",
        tenant="acme",
        entities=[
            Entity(name="order", label='Order "<script>alert(1)</script>"', attributes=[Attribute(name="total")]),
            Entity(name="customer", attributes=[Attribute(name="email", type="email", pii=True, required=True)]),
        ],
        relationships=[
            {
                "source": "customer",
                "target": "order",
                "cardinality": "one-to-many",
                "source_role": "orders",
                "target_role": "customer",
            }
        ],
    )
    dot = diagrams.blueprint_dot(bp)
    assert "<script>" not in dot and "&lt;script&gt;" in dot
    assert '"customer" -> "order" [label="orders", taillabel="1", headlabel="*"]' in dot
    assert "email*" in dot


def test_trace_diagram_and_timeline_from_a_real_trace(kg: KnowledgeGraph) -> None:
    facts = build_facts(INVOICING)
    kg.write(facts)
    steps = kg.trace(facts.trace_id, "acme")
    dot = diagrams.trace_dot(steps)
    assert dot.count("subgraph cluster_") == 8 and "… 25 more" in dot  # 30 artifacts folded to 5 + 1
    assert "wasAssociatedWith" in dot and "architect/1.0.0" in dot
    assert "… 25 more" not in diagrams.trace_dot(steps, expand="artifacts")
    timeline = views.timeline_rows(steps)
    assert [r["stage"] for r in timeline] == [
        "requirements",
        "blueprint",
        "artifacts",
        "validation",
        "release",
        "deployment",
        "telemetry",
    ]
    assert all(r["seconds"] == 1.0 for r in timeline)
    assert len(views.trace_rows(steps)) == len(steps)


def test_example_queries_run_and_draw_on_a_tenant_graph(shared_kg: KnowledgeGraph) -> None:
    for text in queries.SPARQL_EXAMPLES.values():
        result = shared_kg.sparql(text, "acme")
        assert result.rows, text
        assert "digraph result" in diagrams.result_dot(result)
    for text in queries.CYPHER_EXAMPLES.values():
        assert shared_kg.cypher(text, "acme").rows, text
    entities = shared_kg.sparql(queries.SPARQL_EXAMPLES["Products and their entities"], "acme")
    products = {r["product"] for r in views.query_rows(entities)}
    assert products == {"invoicing", "helpdesk"}
    triples = shared_kg.sparql("SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 5", "acme")
    assert diagrams.result_dot(triples).count(" -> ") >= 1


def test_promotions_show_what_waits_for_an_approval(tmp_path: Path) -> None:
    control = ControlPlane(None, tmp_path)
    trace = "d" * 32
    seeding.record_build(control, INVOICING, trace)
    seeding.record_build(control, HELPDESK, "e" * 32)  # never released: no repository is created for it
    commit = seeding.release_sample(tmp_path, control, seeding.blueprint_of(INVOICING), trace, 1)
    found = views.promotions(control, tmp_path, control.products("acme"))
    assert [p.product for p in found] == ["invoicing"] and not found[0].pending
    assert not (tmp_path / "repos" / "acme" / "helpdesk").exists()
    ProductRepository(tmp_path, "acme", "invoicing").promote("staging")
    (pending,) = views.promotions(control, tmp_path, control.products("acme"))
    assert pending.pending and pending.staging == commit and pending.row()["decision on staging commit"] == "pending"
    control.decide("acme", "invoicing", "prod", commit, "approved", "looks good", "ann")
    assert views.promotions(control, tmp_path, control.products("acme"))[0].decision == "approved"
    assert views.audit_rows(control.audit_log("acme"))[0]["action"] == "intent.submit"


def test_a_build_that_stops_early_shows_as_failed_with_its_reason(tmp_path: Path) -> None:
    control = ControlPlane(None, tmp_path)
    other = seeding.blueprint_of(INVOICING).model_copy(update={"slug": "billing"})
    from generators.blueprint import dump_blueprint

    job = jobs.start_build(control, tmp_path, "acme", "invoicing", "", blueprint_yaml=dump_blueprint(other))
    assert control.intent(job.intent_id).blueprint_yaml is not None
    deadline = time.monotonic() + 120
    while not (state := jobs.progress(control, job)).finished and time.monotonic() < deadline:
        time.sleep(0.5)
    assert state.finished and state.failed
    assert "the blueprint is for acme/billing" in state.detail
    assert Path(job.log).is_file() and "acme/billing" in state.log_tail
