"""Each Studio page, run with Streamlit's AppTest against a real factory home (Oxigraph, Kùzu, SQLite, git)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from graph import KnowledgeGraph
from graph.embeddings import SentenceEmbedder
from graph.samples import DEMO_PRODUCTS, build_facts
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from infra.lifecycle.use_cases import stop
from infra.workspace import ProductWorkspace
from studio import seeding

APP = Path(__file__).resolve().parent.parent / "studio" / "app.py"
INVOICING, HELPDESK, CLINIC = DEMO_PRODUCTS
TELEMETRY = {
    "requests": 6,
    "overall": {"p50_ms": 10.0, "p95_ms": 30.0, "error_rate": 0.0},
    "breaches": [],
    "routes": [
        {"method": "GET", "route": "/invoices", "count": 3, "p50_ms": 9.0, "p95_ms": 20.0, "error_rate": 0.0},
        {"method": "POST", "route": "/invoices", "count": 3, "p50_ms": 12.0, "p95_ms": 30.0, "error_rate": 0.0},
    ],
}


def _seed(home: Path, embedder: SentenceEmbedder | None) -> dict[str, str]:
    """Three demo products in two tenants; acme/invoicing released twice and on staging."""
    kg = KnowledgeGraph(home, embedder=embedder)
    kg.bootstrap()
    facts = [build_facts(p) for p in DEMO_PRODUCTS]
    kg.write(*facts)
    control = ControlPlane(None, home)
    traces = {f.product: f.trace_id for f in facts}
    for sample, f in zip(DEMO_PRODUCTS, facts, strict=True):
        seeding.record_build(control, sample, f.trace_id, passed=sample is not CLINIC)
    bp = seeding.blueprint_of(INVOICING)
    seeding.release_sample(home, control, bp, traces["invoicing"], 1)
    changed = bp.model_copy(update={"description": "Invoices, line items and card payments."})
    head = seeding.release_sample(home, control, changed, traces["invoicing"], 2)
    ProductRepository(home, "acme", "invoicing").promote("staging")
    ws = ProductWorkspace(home, "acme", "invoicing")
    ws.save_output("telemetry", TELEMETRY)
    deep = {"depth": "deep", "base_url": "http://127.0.0.1:1", "cases": 2400, "duration_s": 40.0}
    ws.save_output("contract", {"commit": head, "examples": 100, "report": deep, "checks": {}, **_stored(traces)})
    ws.save_output(
        "validation",
        {
            "ok": True,
            "passed": 48,
            "failed": 0,
            "errors": 0,
            "skipped": 0,
            "duration_s": 3.5,
            "checks": {"tests_pass": [], "lint_clean": [], "contract_holds": ["`POST /invoices` answered 500"]},
            "lint": [],
            "contract": {"depth": "shallow", "base_url": "http://127.0.0.1:1", "cases": 80, "failures": [CRASH]},
        },
    )
    return traces


CRASH = {
    "check": "not_a_server_error",
    "code": "ST100",
    "title": "Server error",
    "message": "",
    "operation": "POST /invoices",
    "method": "POST",
    "path": "/invoices",
    "body": {"number": "x"},
    "status_code": 500,
}


def _stored(traces: dict[str, str]) -> dict[str, str]:
    return {"trace_id": traces["invoicing"], "fingerprint": "seeded"}


@pytest.fixture(scope="session")
def studio_home(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceEmbedder) -> tuple[Path, dict[str, str]]:
    """A seeded home the read-only page tests share: never write to it."""
    home = tmp_path_factory.mktemp("studio") / "home"
    return home, _seed(home, embedder)


def _app(home: Path, monkeypatch: pytest.MonkeyPatch, tenant: str | None = "acme", **params: str) -> AppTest:
    monkeypatch.setenv("FACTORY_HOME", str(home))
    at = AppTest.from_file(str(APP), default_timeout=120)
    if tenant is not None:
        at.query_params["tenant"] = tenant
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _texts(at: AppTest, kind: str) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, _texts(at, "error")


def test_overview_shows_only_the_selected_tenants_products(studio_home, monkeypatch) -> None:
    home, traces = studio_home
    at = _app(home, monkeypatch)
    _clean(at)
    table = at.dataframe[0].value
    assert sorted(table["product"]) == ["helpdesk", "invoicing"]
    assert traces["invoicing"] in "".join(str(t) for t in table["trace"])
    assert [m.value for m in at.metric][:3] == ["2", "2", "100%"]
    at.selectbox(key="_tenant_widget").set_value("globex").run()
    assert list(at.dataframe[0].value["product"]) == ["clinic"]
    assert [m.value for m in at.metric][2] == "0%"
    at.session_state["tenant"] = "(all tenants — factory admin)"  # AppTest drops the sidebar after a rerun
    at.run()
    assert len(at.dataframe[0].value) == 3


def test_empty_home_and_bad_tenant_get_messages_not_tracebacks(tmp_path, monkeypatch) -> None:
    at = _app(tmp_path / "empty", monkeypatch, tenant=None)
    assert not at.exception
    assert any("No products" in i for i in _texts(at, "info"))
    at = _app(tmp_path / "empty", monkeypatch, tenant="../../etc")
    assert not at.exception
    assert any("invalid tenant" in e for e in _texts(at, "error"))


def test_product_page_shows_blueprint_files_releases_and_telemetry(studio_home, monkeypatch) -> None:
    home, traces = studio_home
    at = _app(home, monkeypatch, product="invoicing")
    at.switch_page("pages/product.py").run()
    _clean(at)
    assert at.selectbox(key="product_choice").value == "acme/invoicing"
    assert len(at.get("graphviz_chart")) == 1
    codes = _texts(at, "code")
    assert any("app/" in c and "README.md" in c for c in codes)  # the file tree
    assert any(c.startswith("diff --git") and "Invoices, line items and card payments." in c for c in codes)
    tables = [d.value for d in at.dataframe]
    failures = next(t for t in tables if "request" in t.columns)  # the Validation tab's contract failures
    assert list(failures["request"]) == ["POST /invoices"] and list(failures["status"]) == [500]
    runs = next(t for t in tables if "holds" in t.columns)
    assert list(runs["depth"]) == ["shallow", "deep"] and list(runs["holds"]) == [False, True]
    releases = next(t for t in tables if "tags" in t.columns)
    assert list(releases["tags"][:2]) == ["r2", "r1"] and set(releases["trace"][:2]) == {traces["invoicing"]}
    assert "Requests" in [m.label for m in at.metric]
    at.selectbox(key="product_choice").set_value("acme/helpdesk").run()
    _clean(at)
    assert any("Not released yet" in i for i in _texts(at, "info"))


def test_product_page_refuses_another_tenants_product(studio_home, monkeypatch) -> None:
    at = _app(studio_home[0], monkeypatch, product="clinic")
    at.switch_page("pages/product.py").run()
    assert not at.exception
    assert any("has no product 'clinic'" in e for e in _texts(at, "error"))


def test_trace_page_draws_the_chain_and_keeps_tenants_apart(studio_home, monkeypatch) -> None:
    home, traces = studio_home
    at = _app(home, monkeypatch, trace=traces["invoicing"])
    at.switch_page("pages/trace.py").run()
    _clean(at)
    assert any("acme/invoicing" in m and "8 stages" in m for m in _texts(at, "markdown"))
    assert len(at.get("graphviz_chart")) == 1
    at.text_input(key="trace_input").set_value(traces["clinic"]).run()  # globex's build, seen from acme
    assert any("No build with trace id" in w for w in _texts(at, "warning"))
    assert not at.get("graphviz_chart")
    at.text_input(key="trace_input").set_value("not-a-trace'; DROP").run()
    assert not at.exception
    assert any("invalid trace id" in e for e in _texts(at, "error"))


def test_knowledge_consoles_and_search(studio_home, monkeypatch) -> None:
    at = _app(studio_home[0], monkeypatch)
    at.switch_page("pages/knowledge.py").run()
    at.button(key="sparql_run").click().run()
    _clean(at)
    assert set(at.dataframe[0].value["product"]) == {"invoicing", "helpdesk"}
    assert len(at.get("graphviz_chart")) == 1
    at.text_area(key="sparql_text").set_value("DELETE WHERE { ?s ?p ?o }").run()
    at.button(key="sparql_run").click().run()
    assert any("read-only" in e for e in _texts(at, "error"))
    at.text_area(key="sparql_text").set_value("SELECT ?x WHERE {").run()
    at.button(key="sparql_run").click().run()
    assert any("syntax error" in e for e in _texts(at, "error"))
    at.text_area(key="sparql_text").set_value("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }").run()
    at.button(key="sparql_run").click().run()  # billions of rows: the first 10,000 are read, and it says so
    _clean(at)
    assert any("only the first 10,000 were read" in c for c in _texts(at, "caption"))
    at.button(key="cypher_run").click().run()
    assert not at.exception
    assert set(at.dataframe[-1].value["product"]) == {"invoicing", "helpdesk"}
    at.text_input(key="search_text").set_value("patients booking doctors").run()
    at.button(key="search_run").click().run()
    found = at.dataframe[-1].value
    assert len(found) and all(p.startswith("acme/") for p in found["product"])  # never globex's clinic
    at.text_input(key="search_text").set_value("   ").run()
    at.button(key="search_run").click().run()
    assert any("empty search text" in e for e in _texts(at, "error"))


def test_templates_page_shows_packs_with_tenant_outcomes(studio_home, monkeypatch) -> None:
    at = _app(studio_home[0], monkeypatch)
    at.switch_page("pages/templates.py").run()
    _clean(at)
    packs = at.dataframe[0].value
    row = packs[packs["pack"] == "fastapi-service"].iloc[0]
    assert (row["version"], row["builds"], row["passed"]) == ("1.0.0", 2, 2)


def test_governance_approves_with_a_reason_and_promotes(tmp_path, monkeypatch) -> None:
    home = tmp_path / "home"
    _seed(home, None)
    try:
        at = _app(home, monkeypatch)
        at.switch_page("pages/governance.py").run()
        _clean(at)
        assert list(at.dataframe[0].value["product"]) == ["invoicing"]  # pending for prod
        at.button[1].click().run()  # promote to staging (the default) needs no approval
        assert any("Promoted invoicing to staging" in s for s in _texts(at, "success"))
        at.radio[1].set_value("prod")  # form widgets take their values when the form is submitted
        at.button[1].click().run()
        assert any("needs an approval" in e for e in _texts(at, "error"))
        at.button[0].click().run()  # a decision without a reason
        assert any("give a reason" in e for e in _texts(at, "error"))
        at.text_input(key="decide_reason").set_value("reviewed the diff")
        at.button[0].click().run()
        assert any("approved invoicing" in s for s in _texts(at, "success"))
        at.radio[1].set_value("prod")
        at.button[1].click().run()
        assert any("Promoted invoicing to prod" in s for s in _texts(at, "success"))
        actions = list(at.dataframe[-1].value["action"])
        assert actions[:4] == ["promote", "approve", "promote", "promote"]
        control = ControlPlane(None, home)
        assert control.approvals("acme")[0].reason == "reviewed the diff"
        running = {d.env: d.commit for d in control.deployments("acme", status="running")}
        assert running["staging"] == running["prod"] == ProductRepository(home, "acme", "invoicing").env_head("prod")
    finally:  # the promotions started staging and prod services
        stop(ControlPlane(None, home), actor="test")


def test_new_product_proposes_a_blueprint_to_edit(tmp_path, monkeypatch) -> None:
    at = _app(tmp_path / "home", monkeypatch, tenant=None)
    at.switch_page("pages/new_product.py").run()
    at.button[0].click().run()  # propose with nothing typed
    assert not at.exception and any("invalid tenant" in e for e in _texts(at, "error"))
    at.text_input(key="np_tenant").set_value("acme").run()
    at.button[0].click().run()
    assert any("the intent is empty" in e for e in _texts(at, "error"))
    at.text_area(key="np_intent").set_value(INVOICING.intent).run()
    at.button[0].click().run()
    _clean(at)
    yaml_text = at.text_area(key="np_yaml").value
    assert "tenant: acme" in yaml_text and "name: invoice" in yaml_text
    assert len(at.get("graphviz_chart")) == 1
    at.text_area(key="np_yaml").set_value(yaml_text.replace("tenant: acme", "tenant: Not A Slug")).run()
    assert any("not valid" in e and "tenant" in e for e in _texts(at, "error"))
    assert not at.get("graphviz_chart")
    at.text_area(key="np_yaml").set_value("entities: [").run()
    assert any("not valid YAML" in e for e in _texts(at, "error"))
    at.button[1].click().run()  # build with a broken blueprint
    assert any("fix the blueprint first" in e for e in _texts(at, "error"))
    assert ControlPlane(None, tmp_path / "home").intents(None) == []


def test_new_product_asks_the_open_questions_and_rebuilds_from_the_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generators.blueprint import load_blueprint
    from graph.decisions import past_decisions

    home = tmp_path / "home"
    at = _app(home, monkeypatch, tenant=None)
    at.switch_page("pages/new_product.py").run()
    at.text_input(key="np_tenant").set_value("acme").run()
    at.text_area(key="np_intent").set_value("Guests reserve rooms at hotels; participants attend workshops").run()
    at.button[0].click().run()
    _clean(at)
    assert "Open questions" in _texts(at, "subheader")
    radios = {r.key.rsplit("_", 1)[-1]: r for r in at.radio if r.key and r.key.startswith("np_q_")}
    assert {"hotel", "room", "guest"} <= set(radios)
    assert radios["guest"].value == "pattern"  # 'guests' matched a pattern by synonym: asked, own word kept
    assert radios["room"].value == "entity" and radios["room"].options[-1] == "not part of the service: leave it out"
    assert "name: guest" in str(at.text_area(key="np_yaml").value)
    radios["guest"].set_value("own")
    radios["room"].set_value("attribute:hotel")
    next(b for b in at.button if "Rebuild" in b.label).click().run()
    _clean(at)
    bp = load_blueprint(str(at.text_area(key="np_yaml").value))
    names = {e.name for e in bp.entities}
    assert "hotel" in names and "guest" in names and "room" not in names
    assert "room" in {a.name for a in bp.entity("hotel").attributes}
    assert bp.entity("guest").pattern is None
    decided = {d.subject: d.choice for d in past_decisions(KnowledgeGraph(home, embedder=None), "acme")}
    assert decided["guest:attendee"] == "own" and decided["room"] == "attribute:hotel"
    assert "Settled questions" in _texts(at, "subheader")  # every question was answered: nothing is open
    assert {r.value for r in at.radio if r.key and r.key.endswith("_room")} == {"attribute:hotel"}
    # the table beside the YAML: an edit rewrites the YAML and the diagram follows
    (table,) = at.data_editor
    assert list(table.value.columns) == ["entity", "attribute", "type", "required", "unique", "pii", "values"]
    assert table.key is not None
    at.session_state[table.key] = {
        "edited_rows": {},
        "added_rows": [{"entity": "invoice", "attribute": "total", "type": "money"}],
        "deleted_rows": [],
    }
    at.run()
    _clean(at)
    edited = str(at.text_area(key="np_yaml").value)
    assert "name: invoice" in edited and "type: money" in edited
    assert len(at.get("graphviz_chart")) == 1


def test_product_page_rebuild_is_refused_while_another_build_holds_the_intent(tmp_path, monkeypatch) -> None:
    from infra.lifecycle.claims import new_claim

    home = tmp_path / "home"
    _seed(home, None)
    control = ControlPlane(None, home)
    latest = control.latest_intent("acme", "invoicing")
    assert latest is not None and latest.id is not None
    assert control.claim_intent(latest.id, new_claim("intake")) is not None  # the sensor's run holds it
    at = _app(home, monkeypatch, product="invoicing")
    at.switch_page("pages/product.py").run()
    _clean(at)
    at.button(key="rebuild").click().run()
    assert any("acme/invoicing revision 1 is already queued (claimed by intake" in e for e in _texts(at, "error"))
    assert not (home / "logs").exists()  # no build process was started
    assert control.intent(latest.id).claim.startswith("intake:")  # type: ignore[union-attr]


def test_webhooks_page_adds_rotates_replays_and_deletes_an_endpoint(tmp_path, monkeypatch) -> None:
    from infra import webhooks
    from infra.records import WebhookDelivery

    home = tmp_path / "home"
    control = ControlPlane(None, home)
    control.upsert_product("acme", "shop", status="new")
    monkeypatch.setenv(webhooks.ALLOW_PRIVATE_ENV, "1")  # the receiver's address is loopback
    at = _app(home, monkeypatch)
    at.switch_page("pages/webhooks.py").run()
    _clean(at)
    at.text_input(key="webhook_url").set_value("http://127.0.0.1:9/hook")
    next(b for b in at.button if b.label == "Add").click().run()
    _clean(at)
    assert any("Endpoint 1 added" in s for s in _texts(at, "success"))
    first = at.code[0].value
    assert first.startswith("whsec_") and list(at.dataframe[0].value["url"]) == ["http://127.0.0.1:9/hook"]
    at.run()  # the secret is shown once
    assert not at.code
    at.button(key="webhook_rotate").click().run()
    assert at.code[0].value.startswith("whsec_") and at.code[0].value != first
    with control._session(write=True) as session:  # a delivery that used up its schedule
        session.add(WebhookDelivery(endpoint_id=1, event_seq=1, tenant="acme", status="dead", attempts=8))
    at.run()
    at.button(key="webhook_replay").click().run()
    assert any("1 deliveries set to go out again" in s for s in _texts(at, "success"))
    assert not webhooks.dead_letters(control, "acme")
    at.checkbox(key="webhook_delete_sure").check().run()
    at.button(key="webhook_delete").click().run()
    _clean(at)
    assert any("Endpoint 1 deleted" in s for s in _texts(at, "success")) and not webhooks.list_webhooks(control, "acme")
    actions = [e.action for e in control.audit_log("acme") if e.action.startswith("webhook.")]
    assert actions == ["webhook.remove", "webhook.replay", "webhook.rotate", "webhook.add"]


def test_marketplace_page_lists_pack_versions_with_their_products_and_outcomes(studio_home, monkeypatch) -> None:
    at = _app(studio_home[0], monkeypatch)
    at.switch_page("pages/marketplace.py").run()
    _clean(at)
    rows = at.dataframe[0].value
    row = rows[rows["pack"] == "fastapi-service"].iloc[0]
    assert (row["version"], row["verification"], row["trusted"], row["products"]) == ("1.0.0", "built-in", "yes", 2)
    assert row["pass rate"] == 1.0 and row["digest"].startswith("sha256:")
    assert any("acme/invoicing" in str(m.value) for m in at.markdown)  # the products, acme's only
    assert not any("globex" in str(m.value) for m in at.markdown)
    # the graph says the seeded builds used 1.0.0, but acme/invoicing's release is on 1.1.0 (its repository):
    # the upgrade form offers what the upgrade would start from, so nothing (tests/test_upgrade.py upgrades some)
    assert any("nothing to upgrade" in c for c in _texts(at, "caption")) and not at.get("form")


def test_product_page_generates_the_typed_client_sdk_of_the_release(studio_home, monkeypatch) -> None:
    at = _app(studio_home[0], monkeypatch, product="invoicing")
    at.switch_page("pages/product.py").run()
    _clean(at)
    assert not at.get("download_button")  # rendered on demand only
    at.button(key="sdk_generate").click().run()
    _clean(at)
    assert any(s.startswith("invoicing_client: ") and "typed methods" in s for s in _texts(at, "success"))
    methods = next(d.value for d in at.dataframe if "signature" in d.value.columns)
    row = methods[methods["request"] == "POST /invoices"].iloc[0]
    assert row["signature"].startswith(f"{row['method']}(body: ") and row["signature"].endswith("-> Invoice")
    assert any(
        "/{id}" in r and "if_match: str | None = None" in s
        for r, s in zip(methods["request"], methods["signature"], strict=True)
    )
    assert any("from invoicing_client import Client" in str(m.value) for m in at.markdown)  # the usage snippet
    assert any("class Client:" in c for c in _texts(at, "code"))
    (download,) = at.get("download_button")
    assert "invoicing_client-" in str(download.proto.label) and ".zip" in str(download.proto.label)
