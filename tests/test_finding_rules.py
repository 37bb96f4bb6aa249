"""What running services showed changes the next build: one test per rule of generators.finding_rules, the
architect and the blueprint stage applying them with `prov:used` of each finding, the template version
chosen by SLO breach rates, and a product indexed by a finding passing its own suite and migrations.

Findings are built here as the telemetry collector would write them; the stage test reads them through
a StageContext's findings source, the one seam the collector's graph.findings plugs into.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from generators.agents.architect import Architect
from generators.agents.engineer import Engineer
from generators.agents.tester import Tester
from generators.finding_rules import PAGE_SIZE_CAP, Applied, apply_findings, carry_over
from generators.migrations import PreviousRevision, plan_migrations, read_previous
from generators.patterns import pattern_library
from generators.rendering import ANSWERS_PATH
from graph import KnowledgeGraph
from graph.names import finding_iri
from infra import migrations
from infra.control import ControlPlane
from infra.insights import compute_insights
from infra.lifecycle import StageContext, design
from infra.records import BuildRecord
from ontology.findings import Finding
from ontology.models import Blueprint, EntityNeed, PastDecision, Requirements
from tests.product_blueprints import invoicing

TRACE = "0123456789abcdef0123456789abcdef"
WINDOW = (datetime(2026, 12, 1, 10, tzinfo=UTC), datetime(2026, 12, 1, 11, tzinfo=UTC))


def finding(kind: str, entity: str | None, attribute: str | None = None, **extra: Any) -> Finding:
    values: dict[str, Any] = {
        "tenant": "acme",
        "product": "invoicing",
        "revision": 1,
        "kind": kind,
        "window_start": WINDOW[0],
        "window_end": WINDOW[1],
        "route": "GET /invoices",
        "entity": entity,
        "attribute": attribute,
        "metric": "p95_ms",
        "value": 420.0,
        "threshold": 300.0,
        "requests": 500,
        "summary": f"{kind} seen on {entity}" + (f".{attribute}" if attribute else ""),
    }
    return Finding.model_validate({**values, **extra})


def attribute(bp: Blueprint, entity: str, name: str) -> Any:
    return next(a for a in bp.entity(entity).attributes if a.name == name)


# ---------------------------------------------------------------------------------------------- one rule each


def test_a_slow_filter_indexes_the_attribute_with_its_migration() -> None:
    bp = invoicing()
    slow = finding("slow_filter", "invoice", "due_date")
    effects = apply_findings(bp, [slow])
    assert attribute(effects.blueprint, "invoice", "due_date").indexed
    assert not attribute(bp, "invoice", "due_date").indexed  # the input is left as it was
    assert [(c.rule, c.subject) for c in effects.changes] == [("index", "invoice.due_date")]
    assert effects.used == [finding_iri(slow)] and effects.used[0].endswith(f"/acme/invoicing/finding/{slow.id}")
    scripts = plan_migrations(effects.blueprint, PreviousRevision(bp, plan_migrations(bp, None)))
    (added,) = (text.decode() for path, text in scripts.items() if path.startswith("migrations/versions/0002_"))
    assert 'batch_op.create_index("ix_invoices_tenant_id_due_date", ["tenant_id", "due_date"])' in added
    assert 'batch_op.drop_index("ix_invoices_tenant_id_due_date")' in added  # the downgrade
    assert "* invoices: index tenant_id and column due_date" in added


def test_a_list_slow_in_its_default_order_gets_an_index_on_that_order() -> None:
    bp = invoicing()  # audit fields on: lists are ordered by created_at, then id
    effects = apply_findings(bp, [finding("slow_filter", "invoice", None)])
    assert effects.blueprint.entity("invoice").order_indexed
    assert [(c.rule, c.subject) for c in effects.changes] == [("order_index", "invoice")]
    scripts = plan_migrations(effects.blueprint, PreviousRevision(bp, plan_migrations(bp, None)))
    (added,) = (text.decode() for path, text in scripts.items() if path.startswith("migrations/versions/0002_"))
    assert '"ix_invoices_tenant_id_created_at_id", ["tenant_id", "created_at", "id"]' in added
    assert apply_findings(effects.blueprint, [finding("slow_filter", "invoice", "created_at")]).changes == []


def test_a_slow_filter_on_a_unique_or_unknown_attribute_changes_nothing() -> None:
    bp = invoicing()
    effects = apply_findings(
        bp, [finding("slow_filter", "invoice", "number"), finding("slow_filter", "invoice", "nothing_such")]
    )
    assert effects.changes == [] and effects.blueprint == bp  # a unique constraint already has its index


def test_large_pages_cap_the_default_page_size_once() -> None:
    bp = invoicing()
    effects = apply_findings(bp, [finding("large_page", "invoice", metric="rows_per_page", value=180)])
    assert effects.blueprint.entity("invoice").page_size == PAGE_SIZE_CAP
    assert effects.blueprint.entity("invoice").order_indexed
    assert effects.changes[0].rule == "page_size"
    assert apply_findings(effects.blueprint, [finding("large_page", "invoice")]).changes == []


def test_n_plus_one_on_a_nested_route_loads_the_children_eagerly() -> None:
    bp = invoicing()
    n_plus_one = finding("n_plus_one", "customer", "invoices", route="GET /customers/{id}/invoices")
    effects = apply_findings(bp, [n_plus_one])
    eager = [(r.source, r.source_role) for r in effects.blueprint.relationships if r.eager]
    assert eager == [("customer", "invoices")]
    assert effects.changes[0].rule == "eager" and effects.used == [finding_iri(n_plus_one)]


def test_an_attribute_always_sent_empty_is_proposed_optional_unless_the_owner_keeps_it() -> None:
    bp = invoicing()
    empty = finding("always_empty", "line_item", "description", metric="empty_share", value=0.98, threshold=0.9)
    effects = apply_findings(bp, [empty])
    assert not attribute(effects.blueprint, "line_item", "description").required
    (question,) = effects.questions
    assert (question.kind, question.subject, question.default) == (
        "optional-attribute",
        "line_item.description",
        "optional",
    )
    kept = PastDecision(kind="optional-attribute", subject="line_item.description", choice="required")
    decided = apply_findings(bp, [empty], [kept])
    assert attribute(decided.blueprint, "line_item", "description").required and decided.questions == []
    assert "kept required" in decided.changes[0].summary  # the finding still informed the decision


def test_rejected_writes_are_asked_about_never_silently_relaxed() -> None:
    bp = invoicing()
    rejects = finding("validation_rejects", "payment", "method", metric="reject_share", value=0.4, threshold=0.1)
    effects = apply_findings(bp, [rejects])
    assert effects.blueprint == bp  # nothing relaxed
    (question,) = effects.questions
    assert (question.kind, question.subject, question.default) == ("validation-rule", "payment.method", "keep")
    assert "40%" in question.text
    relax = PastDecision(kind="validation-rule", subject="payment.method", choice="relax")
    assert not attribute(apply_findings(bp, [rejects], [relax]).blueprint, "payment", "method").required


def test_an_unused_entity_is_flagged_for_removal_not_removed() -> None:
    bp = invoicing()
    unused = finding("unused_entity", "payment", metric="requests", value=0, threshold=1, route=None)
    effects = apply_findings(bp, [unused])
    assert effects.blueprint == bp and "payment" in {e.name for e in effects.blueprint.entities}
    (question,) = effects.questions
    assert (question.kind, question.subject, question.default, question.alternatives) == (
        "entity-removal",
        "payment",
        "keep",
        ["remove"],
    )
    keep = PastDecision(kind="entity-removal", subject="payment", choice="keep")
    assert apply_findings(bp, [unused], [keep]).changes == []  # the owner said keep: not flagged again


def test_an_slo_breach_alone_and_a_finding_about_another_entity_change_nothing() -> None:
    bp = invoicing()
    effects = apply_findings(bp, [finding("slo_breach", "invoice"), finding("slow_filter", "ghost", "x")])
    assert effects.changes == [] and effects.questions == [] and effects.blueprint == bp


def test_findings_of_similar_products_of_the_same_tenant_carry_over_by_pattern_first() -> None:
    own = finding("slow_filter", "invoice", "due_date", product="invoicing")
    by_pattern = finding("slow_filter", "bill", "due_date", product="billing")
    by_name = finding("large_page", "customer", product="crm")
    elsewhere = finding("slow_filter", "invoice", "due_date", tenant="globex", product="billing")
    carried = carry_over(
        [by_name, own, elsewhere, by_pattern],
        "acme",
        "invoicing",
        [("invoice", "invoice"), ("customer", None)],
        {("billing", "bill"): "invoice"},
    )
    assert [(a.finding.product, a.entity) for a in carried] == [("billing", "invoice"), ("crm", "customer")]
    effects = apply_findings(invoicing(), carried)
    assert attribute(effects.blueprint, "invoice", "due_date").indexed
    assert effects.blueprint.entity("customer").page_size == PAGE_SIZE_CAP
    assert "carried over from billing" in effects.changes[0].summary
    assert effects.used == [finding_iri(by_pattern), finding_iri(by_name)]  # the other products' findings


def test_the_architect_applies_findings_and_lists_them_as_used() -> None:
    requirements = Requirements(product_name="Shop orders", entities=[EntityNeed(name="order", pattern="order")])
    plain = Architect(pattern_library()).design(requirements, "acme", "shop")
    name = next(a.name for a in plain.blueprint.entity("order").attributes if not a.unique)
    slow = finding("slow_filter", "order", name, product="shop", route="GET /orders")
    designed = Architect(pattern_library()).design(requirements, "acme", "shop", [Applied(slow, "order")])
    assert attribute(designed.blueprint, "order", name).indexed
    assert finding_iri(slow) in designed.used and designed.changes[0].finding == slow
    assert any("indexed" in note for note in designed.notes)


# ---------------------------------------------------------------------------------------------- the stage


def test_the_blueprint_stage_reads_findings_and_records_prov_used(tmp_path: Path) -> None:
    home = tmp_path / "home"
    control = ControlPlane(None, home)
    bp = invoicing()
    control.submit_intent("acme", "invoicing", "", blueprint_yaml=yaml.safe_dump(bp.model_dump(mode="json")))
    control.upsert_product("acme", "billing", revision=1)  # a past product of the tenant
    past = finding("slow_filter", "invoice", "due_date", product="billing")
    own = finding("large_page", "invoice", revision=1)
    asked: list[tuple[str, str]] = []

    def source(kg: KnowledgeGraph, tenant: str, product: str) -> list[Finding]:
        asked.append((tenant, product))
        return [f for f in (past, own) if (f.tenant, f.product) == (tenant, product)]

    graph = KnowledgeGraph(home, embedder=None)
    ctx = StageContext(home, "acme", "invoicing", knowledge_graph=lambda: graph, findings_source=source)
    intent = design.intent(ctx)
    first = design.blueprint(ctx, intent, design.requirements(ctx, intent))
    # never released: the findings of the tenant's other product carry over, not its own
    assert asked == [("acme", "billing")]
    assert attribute(first.blueprint, "invoice", "due_date").indexed
    assert first.blueprint.entity("invoice").page_size is None
    assert finding_iri(past) in first.used
    facts = ctx.workspace.root / "facts" / "blueprint.nq"
    used = [line for line in facts.read_text().splitlines() if "prov#used" in line and "/finding/" in line]
    assert len(used) == 1 and finding_iri(past) in used[0]
    # once released, the product's own findings count, and a new finding designs it again
    rendered = tmp_path / "r1"
    Engineer().render(first.blueprint, rendered, intent.trace_id)
    ctx.repository().release(rendered, trace_id=intent.trace_id, blueprint_hash="0" * 64, template="t", revision=1)
    second = design.blueprint(ctx, intent, design.requirements(ctx, intent))
    assert not second.reused and second.blueprint.entity("invoice").page_size == PAGE_SIZE_CAP
    assert finding_iri(own) in second.used and asked[-1] == ("acme", "invoicing")


# ---------------------------------------------------------------------------------------------- templates


def _record(template: str, passed: bool, breaches: int, n: int) -> BuildRecord:
    return BuildRecord(
        tenant="acme",
        product=f"p{n}",
        revision=1,
        trace_id=f"{n:032x}",
        template=template,
        passed=passed,
        duration_s=1.0,
        slo_breaches=breaches,
    )


def test_the_template_version_whose_products_breach_less_often_is_preferred() -> None:
    records = [_record("fastapi-service@1.0.0", True, 0, n) for n in range(3)]
    records += [_record("fastapi-service@1.1.0", True, 2, 3), _record("fastapi-service@1.1.0", True, 0, 4)]
    insights = compute_insights(records)
    assert insights.templates["fastapi-service@1.1.0"].breach_rate == 0.5
    # both always pass: the later version used to win; the one that breaches less often wins now
    assert insights.best_version("fastapi-service", ["1.0.0", "1.1.0"]) == "1.0.0"
    evidence = insights.version_evidence("fastapi-service", ["1.0.0", "1.1.0"])
    assert "1.1.0: 1 of 2 build(s) breached SLOs (50%)" in evidence and "1.0.0: 0 of 3" in evidence
    even = compute_insights([_record("t@1.0.0", True, 0, 1), _record("t@1.10.0", True, 0, 2)])
    assert even.best_version("t", ["1.0.0", "1.10.0"]) == "1.10.0"  # ties: the later version, by number


# ---------------------------------------------------------------------------------------------- the product


@pytest.mark.slow
def test_a_product_changed_by_findings_passes_its_own_suite_and_migrates(tmp_path: Path) -> None:
    v1 = invoicing()
    effects = apply_findings(
        v1,
        [
            finding("slow_filter", "invoice", "due_date"),
            finding("slow_filter", "payment", None, route="GET /payments"),
            finding("large_page", "customer", route="GET /customers"),
            finding("n_plus_one", "customer", "invoices", route="GET /customers/{id}/invoices"),
        ],
    )
    first, second = tmp_path / "r1", tmp_path / "r2"
    Engineer().render(v1, first, TRACE)
    Engineer().render(effects.blueprint, second, TRACE, previous=read_previous(first, ANSWERS_PATH))
    table = (second / "app/infrastructure/tables/invoice.py").read_text()
    assert 'Index("ix_invoices_tenant_id_due_date", "tenant_id", "due_date")' in table
    order = 'Index("ix_payments_tenant_id_created_at_id", "tenant_id", "created_at", "id")'
    assert order in (second / "app/infrastructure/tables/payment.py").read_text()
    customer = (second / "app/domain/entities/customer.py").read_text()
    assert f"limit: int = Field({PAGE_SIZE_CAP}," in customer
    # the customer's reads and lists embed its invoices, loaded in one more statement (its suite reads them)
    assert "invoices: list[Invoice] = Field(default_factory=list" in customer
    assert (
        'embeds: ClassVar[tuple[str, ...]] = ("invoices",)'
        in (second / "app/infrastructure/tables/customer.py").read_text()
    )
    assert "selectinload(relationship)" in (second / "app/infrastructure/repository.py").read_text()
    unflagged = "\n".join(p.read_text() for p in first.rglob("*.py"))  # without the flag: no eager loading
    assert not any(word in unflagged for word in ("selectinload", "Relationship(", "EMBEDS", "embeds"))
    report = Tester().test(second, timeout_s=600)  # its own suite checks the migrations match the tables
    assert report.ok, report.output
    db = tmp_path / "service.db"
    migrations.upgrade(first, f"sqlite:///{db}")
    migrations.upgrade(second, f"sqlite:///{db}")  # the deployed database gains the index
    with sqlite3.connect(db) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM invoices WHERE tenant_id = 'a' AND due_date = '2026-01-01'"
        ).fetchall()
    assert "ix_invoices_tenant_id_due_date" in str(plan)
    migrations.downgrade(second, f"sqlite:///{db}", "-1")
    with sqlite3.connect(db) as conn:
        names = {row[1] for row in conn.execute("PRAGMA index_list('invoices')")}
    assert "ix_invoices_tenant_id_due_date" not in names
