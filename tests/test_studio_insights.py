"""The Studio shows what running services showed: findings on the Product page and the Insights page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from graph import KnowledgeGraph
from graph.facts import ProductFacts
from graph.findings import WindowFigures, record_window
from graph.samples import DEMO_PRODUCTS, build_facts
from infra.control import ControlPlane
from infra.telemetry_collector import refresh_graph_insights
from ontology.findings import Finding
from studio import seeding
from tests.test_studio_pages import _app, _clean, _texts

INVOICING, HELPDESK, CLINIC = DEMO_PRODUCTS
START = dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)
END = START + dt.timedelta(minutes=5)


def _finding(kind: str, **fields: object) -> Finding:
    values: dict[str, object] = {
        "tenant": INVOICING.tenant, "product": INVOICING.product, "revision": 1, "kind": kind,
        "window_start": START, "window_end": END, "metric": "p95_ms", "value": 900.0, "threshold": 300.0,
        "requests": 40, "summary": f"{kind} seen",
    }  # fmt: skip
    values.update(fields)
    return Finding.model_validate(values)


@pytest.fixture
def observed_home(tmp_path: Path) -> Path:
    """Two demo products; acme/invoicing's running deployment showed a slow filter and an SLO breach."""
    home = tmp_path / "home"
    kg = KnowledgeGraph(home, embedder=None)
    kg.bootstrap()
    builds = [build_facts(p) for p in DEMO_PRODUCTS]
    kg.write(*builds)
    control = ControlPlane(None, home)
    for sample, facts in zip(DEMO_PRODUCTS, builds, strict=True):
        seeding.record_build(control, sample, facts.trace_id)
    window = ProductFacts(INVOICING.tenant, INVOICING.product, builds[0].trace_id)
    found = [
        _finding("slow_filter", route="GET /invoices", entity="invoice", attribute="status",
                 summary="GET /invoices filtered by status took 900 ms at p95"),
        _finding("slo_breach", route="GET /invoices", metric="latency_burn_rate", value=20.0, threshold=14.4,
                 summary="GET /invoices burnt its latency budget 20.0x too fast"),
    ]  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    record_window(window, "dev", 1, START, END, WindowFigures(80, 900.0, 0.0), found, (now, now))
    kg.write(window, replace=False)
    refresh_graph_insights(kg, control)
    return home


def test_the_product_page_lists_the_findings(observed_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(observed_home, monkeypatch, product="invoicing")
    at.switch_page("pages/product.py").run()
    _clean(at)
    table = next(d.value for d in at.dataframe if "finding" in d.value.columns)
    assert sorted(table["kind"]) == ["slo_breach", "slow_filter"]
    assert list(table[table["kind"] == "slow_filter"]["attribute"]) == ["status"]
    assert any("burnt its latency budget" in w for w in _texts(at, "warning"))


def test_the_insights_page_shows_insights_and_findings_per_tenant(
    observed_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(observed_home, monkeypatch)
    at.switch_page("pages/insights.py").run()
    _clean(at)
    insights = at.dataframe[0].value
    subjects = set(zip(insights["kind"], insights["subject"], strict=True))
    assert ("slow_filter", "attribute status") in subjects
    assert ("template_outcome", "fastapi-service@1.0.0") in subjects
    assert any(d.value.shape[0] == 2 and "finding" in d.value.columns for d in at.dataframe)
    at = _app(observed_home, monkeypatch, tenant="globex")  # globex has no findings of its own
    at.switch_page("pages/insights.py").run()
    _clean(at)
    assert any("No findings" in c for c in _texts(at, "caption"))
