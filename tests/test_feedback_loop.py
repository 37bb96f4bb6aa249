"""The feedback loop: a running generated service's spans (its JSON-lines file, or OTLP exports to the factory's
receiver) become telemetry windows, burn-rate SLO breaches, findings and insights in Oxigraph and Kùzu."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from rdflib import URIRef

from generators.agents.engineer import Engineer
from generators.blueprint import dump_blueprint
from generators.finding_rules import apply_findings
from graph import KnowledgeGraph
from graph.findings import findings_for, insights_for
from graph.names import finding_iri, insights_graph, node_iri, product_graph
from infra.accounts import Accounts
from infra.control import ControlPlane
from infra.otlp import decode_traces, otlp_path
from infra.runtime import LocalRuntime, ServiceProcess, stop
from infra.service_tokens import service_name
from infra.slo import BURN_RULES, burn_rate, route_burns
from infra.telemetry import SpanRecord, SqlSpan, read_window
from infra.telemetry_collector import WindowReport, collect_window, refresh_graph_insights, window_of
from infra.telemetry_findings import Window, derive_findings
from infra.webhooks import list_events
from infra.workspace import ProductWorkspace
from ontology.errors import InvalidInputError
from ontology.models import Objectives
from tests.api_process import factory_api
from tests.product_blueprints import clinic, invoicing

TENANT, PRODUCT, OTLP_PRODUCT = "health-co", "clinic", "clinic-otlp"
DEPLOY_TRACE = "0123456789abcdef0123456789abcdef"
TIGHT = Objectives(p95_latency_ms=0.001, error_rate=0.01)  # every request is too slow: the latency SLO burns


# ---------------------------------------------------------------------------------------------- burn-rate math
def _span(route: str, ms: float, status: int, at: dt.datetime, method: str = "GET") -> SpanRecord:
    return SpanRecord("t", "s", at.isoformat(), method, route, status, ms, DEPLOY_TRACE, TENANT)


def test_burn_rate_is_the_bad_share_over_the_budget() -> None:
    assert burn_rate(5, 100, 0.05) == pytest.approx(1.0)  # spending the budget exactly
    assert burn_rate(100, 100, 0.05) == pytest.approx(20.0)
    assert burn_rate(0, 100, 0.0) == 0.0 and burn_rate(3, 0, 0.05) == 0.0
    assert burn_rate(1, 100, 0.0) == float("inf")


def test_a_rule_fires_only_when_its_long_and_short_windows_both_burn() -> None:
    end = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    slo = Objectives(p95_latency_ms=100, error_rate=0.01)
    # an hour of fast answers, then five minutes of slow ones on /slow; errors on /broken long ago only
    spans = [_span("/slow", 10, 200, end - dt.timedelta(minutes=m)) for m in range(6, 60)]
    spans += [_span("/slow", 500, 200, end - dt.timedelta(seconds=s)) for s in range(10, 250, 10)]
    spans += [_span("/broken", 10, 500, end - dt.timedelta(minutes=50, seconds=s)) for s in range(12)]
    spans += [_span("/broken", 10, 200, end - dt.timedelta(minutes=2, seconds=s)) for s in range(12)]
    burns = {(b.route, b.objective, b.rule.factor): b for b in route_burns(spans, end, slo)}
    fast = burns[("/slow", "latency", 14.4)]
    assert fast.short_rate == pytest.approx(20.0)  # every request of the last five minutes slow
    assert fast.long_rate == pytest.approx(24 / 78 / 0.05)  # 24 slow of 78 in the hour
    assert fast.long_rate >= 6.0 and fast.breached is False  # the long window does not reach 14.4
    slow = burns[("/slow", "latency", 6.0)]  # the slow-burn rule: 6 h and 30 min windows
    assert slow.short_rate == pytest.approx(24 / 49 / 0.05) and slow.breached is True
    broken = burns[("/broken", "errors", 14.4)]
    assert broken.long_rate == pytest.approx(50.0) and broken.short_rate == 0.0 and not broken.breached
    assert [r.factor for r in BURN_RULES] == [14.4, 6.0]


def test_burns_need_enough_requests() -> None:
    end = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    few = [_span("/x", 900, 200, end - dt.timedelta(seconds=s)) for s in range(1, 9)]
    assert not any(b.breached for b in route_burns(few, end, Objectives()))
    many = [_span("/x", 900, 200, end - dt.timedelta(seconds=s)) for s in range(1, 12)]
    assert {(b.route, b.objective) for b in route_burns(many, end, Objectives()) if b.breached} == {
        ("/x", "latency"),
        ("*", "latency"),
    }


def test_a_nested_route_that_runs_one_statement_per_row_is_an_n_plus_one_finding() -> None:
    """Spans as the service writes them: each request to the nested route ran its child read once per invoice."""
    end = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    window = Window(TENANT, "invoicing", 1, end - dt.timedelta(minutes=5), end)
    spans, sql = [], []
    for i in range(6):
        at = end - dt.timedelta(seconds=10 * (i + 1))
        nested = SpanRecord("t", f"n{i}", at.isoformat(), "GET", "/customers/{id}/invoices", 200, 9.0, DEPLOY_TRACE,
                            TENANT, db_queries=14)  # fmt: skip
        flat = SpanRecord("t", f"f{i}", at.isoformat(), "GET", "/customers/{id}/payments", 200, 9.0, DEPLOY_TRACE,
                          TENANT, db_queries=14)  # fmt: skip
        spans += [nested, flat]
        one_by_one = ["SELECT customers.id FROM customers WHERE customers.id = ?"] + [
            "SELECT line_items.id FROM line_items WHERE ? = line_items.invoice_id"
        ] * 13
        distinct = [f"SELECT payments.id FROM payments WHERE payments.kind_{n} = ?" for n in range(14)]
        sql += [SqlSpan("t", f"n{i}", at.isoformat(), "SELECT", text, 0.1) for text in one_by_one]
        sql += [SqlSpan("t", f"f{i}", at.isoformat(), "SELECT", text, 0.1) for text in distinct]
    (found,) = [f for f in derive_findings(window, spans, sql, [], invoicing()) if f.kind == "n_plus_one"]
    assert (found.route, found.entity, found.attribute, found.value) == (
        "GET /customers/{id}/invoices", "customer", "invoices", 13.0
    )  # fmt: skip
    effects = apply_findings(invoicing(), [found])
    assert [(r.source, r.source_role) for r in effects.blueprint.relationships if r.eager] == [("customer", "invoices")]


def test_windows_are_aligned_on_five_minutes() -> None:
    start, end = window_of(dt.datetime(2026, 12, 6, 1, 7, 31, tzinfo=dt.UTC))
    assert (start.minute, end.minute, start.second) == (5, 10, 0)


# ---------------------------------------------------------------------------------------------- a real service
@dataclass
class Loop:
    home: Path
    control: ControlPlane
    kg: KnowledgeGraph
    api: str
    tokens: dict[str, str]
    service: ServiceProcess
    otlp_service: ServiceProcess
    start: dt.datetime
    filter_key: str


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, dict[str, str]]]:
    """`factory api` on a loopback port; alice builds in health-co, vera views it, mallory builds elsewhere."""
    home = tmp_path_factory.mktemp("loop") / "home"
    control = ControlPlane(None, home)
    accounts = Accounts(control)
    roles = {"alice": [(TENANT, "builder")], "vera": [(TENANT, "viewer")], "mallory": [("evil", "builder")]}
    tokens = {}
    for name, granted in roles.items():
        accounts.add_user(name, actor="test", kind="service", roles=granted)
        tokens[name] = accounts.create_token(name, actor="test", days=1)[0]
    with factory_api(home) as url:
        yield home, url, tokens


def _drive(service: ServiceProcess, headers: dict[str, str], filter_key: str) -> None:
    """Patients only (doctors and appointments are never used): creates without the optional fields, creates
    with an invalid email, filtered and plain lists."""
    with httpx.Client(base_url=service.url, headers=headers, timeout=30) as client:
        for i in range(40):
            assert client.post("/patients", json={"full_name": f"p{i}", "email": None}).status_code == 201
        for i in range(15):
            assert client.post("/patients", json={"full_name": f"bad{i}", "email": "not-an-email"}).status_code == 422
        for _ in range(12):
            assert client.get("/patients", params={filter_key: "p1"}).status_code == 200
            assert client.get("/patients").status_code == 200


@pytest.fixture(scope="module")
def loop(api_server: tuple[Path, str, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    """The clinic running twice under the factory's runtime: writing its spans to its file (health-co/clinic)
    and exporting them over OTLP to the factory's receiver (health-co/clinic-otlp); both driven the same way."""
    home, api, tokens = api_server
    control = ControlPlane(None, home)
    source = tmp_path_factory.mktemp("render") / "clinic"
    Engineer().render(clinic(), source, DEPLOY_TRACE, pack=("fastapi-service", "1.0.0"))
    runtime = LocalRuntime(home)
    started: list[ServiceProcess] = []
    try:
        for product in (PRODUCT, OTLP_PRODUCT):
            name = service_name(TENANT, product, "dev")
            extra = {}
            if product == OTLP_PRODUCT:
                extra = {
                    "OTEL_EXPORTER_OTLP_ENDPOINT": f"{api}/v1/tenants/{TENANT}/products/{product}/otlp",
                    "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{tokens['alice']}",
                    "OTEL_BSP_SCHEDULE_DELAY": "100",
                }
            service = runtime.start(source, name=name, trace_id=DEPLOY_TRACE, extra_env=extra)
            started.append(service)
            control.upsert_product(TENANT, product, revision=1, trace_id=DEPLOY_TRACE, status="built")
            control.upsert_deployment(
                TENANT, product, "dev", url=service.url, port=service.port, pid=service.pid, revision=1,
                trace_id=DEPLOY_TRACE, workdir=str(service.workdir), status="running",
            )  # fmt: skip
            ws = ProductWorkspace(home, TENANT, product)
            ws.blueprint_path.parent.mkdir(parents=True, exist_ok=True)
            bp = clinic().model_copy(update={"slug": product, "tenant": TENANT, "slo": TIGHT})
            ws.blueprint_path.write_text(dump_blueprint(bp))
        spec = httpx.get(f"{started[0].url}/openapi.json", timeout=10).json()
        params = spec["paths"]["/patients"]["get"].get("parameters", [])
        filter_key = next(p["name"] for p in params if p["in"] == "query" and p["name"] not in ("limit", "offset"))
        begin = dt.datetime.now(dt.UTC)
        for service, product in zip(started, (PRODUCT, OTLP_PRODUCT), strict=True):
            headers = runtime.tokens(service_name(TENANT, product, "dev")).headers(TENANT)
            _drive(service, headers, filter_key)
        kg = KnowledgeGraph(home, embedder=None)
        kg.bootstrap()
        yield Loop(home, control, kg, api, tokens, started[0], started[1], begin, filter_key)
    finally:
        for service in started:
            stop(service.pid, service.workdir, timeout_s=5)


def _wait_for_otlp(loop: Loop, count: int) -> None:
    path = otlp_path(loop.home, TENANT, OTLP_PRODUCT, "dev")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        spans, _ = read_window(path, loop.start, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
        if len(spans) >= count:
            return
        time.sleep(0.2)
    pytest.fail(f"the OTLP receiver got fewer than {count} server spans")


@pytest.fixture(scope="module")
def reports(loop: Loop) -> dict[str, WindowReport]:
    _wait_for_otlp(loop, 79)  # 40 + 15 + 24 requests
    end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    found = collect_window(loop.home, loop.control, loop.kg, loop.start, end)
    return {r.product: r for r in found}


def test_the_service_records_request_fields_and_sql_spans(loop: Loop, reports: dict[str, WindowReport]) -> None:
    spans, sql = read_window(loop.service.telemetry_path, loop.start, dt.datetime.now(dt.UTC))
    creates = [s for s in spans if s.method == "POST" and s.status_code == 201]
    assert len(creates) == 40
    assert all(s.fields_sent == ("email", "full_name") and s.fields_empty == ("email",) for s in creates)
    assert {s.fields_rejected for s in spans if s.status_code == 422} == {("email",)}
    assert {s.query_keys for s in spans if s.method == "GET"} == {(loop.filter_key,), ()}
    assert all(s.db_queries >= 1 for s in creates)
    assert sql and {q.operation for q in sql} >= {"INSERT", "SELECT"}
    by_id = {s.span_id for s in spans}
    assert all(q.parent_span_id in by_id for q in sql)  # each statement is a child of its request's span
    assert not any("bad0" in q.statement or "p1" in q.statement.split() for q in sql)  # values never leave


def test_a_window_gives_figures_and_findings(reports: dict[str, WindowReport], loop: Loop) -> None:
    report = reports[PRODUCT]
    assert report.overall.count == 79
    assert report.statuses == {200: 24, 201: 40, 422: 15}
    assert report.mix["POST /patients"] == pytest.approx(55 / 79, abs=1e-4)
    assert report.slow_queries and report.slow_queries[0].count >= 1
    kinds = {(f.kind, f.route, f.entity, f.attribute) for f in report.findings}
    assert ("slo_breach", "POST /patients", "patient", None) in kinds
    assert ("slo_breach", "*", None, None) in kinds
    assert ("slow_filter", "GET /patients", "patient", loop.filter_key) in kinds
    assert ("large_page", "GET /patients", "patient", None) in kinds
    assert ("always_empty", None, "patient", "email") in kinds
    assert ("always_empty", None, "patient", "born_on") in kinds
    assert ("validation_rejects", None, "patient", "email") in kinds
    assert {("unused_entity", None, e, None) for e in ("doctor", "appointment")} <= kinds
    assert ("unused_entity", None, "patient", None) not in kinds
    assert not {k for k in kinds if k[0] == "n_plus_one"}  # flat creates and lists: one read per request
    assert report.new_breaches == sum(f.kind == "slo_breach" for f in report.findings)


def test_the_otlp_receiver_fed_the_same_window(reports: dict[str, WindowReport]) -> None:
    """The second instance exported its spans (protobuf, by the service's own OTLP exporter) to the factory."""
    via_file, via_otlp = reports[PRODUCT], reports[OTLP_PRODUCT]
    assert via_otlp.overall.count == via_file.overall.count
    assert via_otlp.statuses == via_file.statuses
    assert {(f.kind, f.attribute) for f in via_otlp.findings} == {(f.kind, f.attribute) for f in via_file.findings}


def test_findings_are_in_the_graph_with_their_provenance(reports: dict[str, WindowReport], loop: Loop) -> None:
    report = reports[PRODUCT]
    read = findings_for(loop.kg, TENANT, PRODUCT)
    assert sorted(f.id for f in read) == sorted(f.id for f in report.findings)
    assert {f.model_dump_json() for f in read} == {f.model_dump_json() for f in report.findings}
    assert {f.kind for f in findings_for(loop.kg, TENANT, PRODUCT, kinds=["slow_filter"])} == {"slow_filter"}
    assert findings_for(loop.kg, "evil", PRODUCT) == []  # another tenant sees none of them
    finding = finding_iri(report.findings[0])
    assert finding == node_iri(TENANT, PRODUCT, "finding", report.findings[0].id)
    assert findings_for(loop.kg, TENANT, PRODUCT, revision=2) == []
    ask = """PREFIX fac: <https://softwarefactory.dev/ontology#> PREFIX prov: <http://www.w3.org/ns/prov#>
    ASK { GRAPH ?g { ?f fac:observedIn ?w . ?w a fac:TelemetryWindow ; fac:windowOf ?d ; prov:wasGeneratedBy ?a .
          ?a prov:used ?d ; fac:traceId ?trace . ?f prov:wasGeneratedBy ?a } }"""
    assert loop.kg.sparql(ask, TENANT, {"f": URIRef(finding), "trace": DEPLOY_TRACE}).boolean is True
    rows = loop.kg.cypher(
        "MATCH (f:Finding)-[:observedIn]->(w:TelemetryWindow) WHERE f.product = $p "
        "RETURN f.findingKind AS kind, f.findingAttribute AS attribute, w.windowRequests AS requests",
        TENANT,
        {"p": PRODUCT},
    ).records()
    assert {(r["kind"], r["attribute"]) for r in rows} >= {("slow_filter", loop.filter_key), ("always_empty", "email")}
    assert {r["requests"] for r in rows} == {79}


def test_collecting_a_window_again_changes_nothing_and_emits_no_event_twice(
    reports: dict[str, WindowReport], loop: Loop
) -> None:
    first = reports[PRODUCT]
    events = [e for e in list_events(loop.control, TENANT, 0, 1000) if e.type.endswith("slo.breached")]
    assert len(events) == first.new_breaches + reports[OTLP_PRODUCT].new_breaches
    assert {e.data["finding"] for e in events} >= {f.id for f in first.findings if f.kind == "slo_breach"}
    again = collect_window(loop.home, loop.control, loop.kg, first.start, first.end)
    same = next(r for r in again if r.product == PRODUCT)
    assert {f.id for f in same.findings} == {f.id for f in first.findings} and same.new_breaches == 0
    assert len([e for e in list_events(loop.control, TENANT, 0, 1000) if e.type.endswith("slo.breached")]) == len(
        events
    )
    assert len(findings_for(loop.kg, TENANT, PRODUCT)) == len(first.findings)


def test_the_schedule_s_asset_collects_a_window(reports: dict[str, WindowReport], loop: Loop) -> None:
    """The Dagster asset the schedule materializes: one call of the collector for its time partition."""
    from dagster import materialize

    from assets.definitions import defs, resources
    from assets.telemetry import TELEMETRY_WINDOWS, service_telemetry

    schedule = defs.resolve_schedule_def("telemetry_collection_schedule")
    assert schedule.default_status.value == "RUNNING" and schedule.cron_schedule == "*/5 * * * *"
    key = TELEMETRY_WINDOWS.get_last_partition_key()  # the latest window that has ended (the traffic's may not have)
    assert key is not None
    start = dt.datetime.strptime(key, "%Y-%m-%d-%H:%M").replace(tzinfo=dt.UTC)
    expected = collect_window(loop.home, loop.control, loop.kg, start, start + dt.timedelta(minutes=5))
    result = materialize([service_telemetry], partition_key=key, resources=resources(str(loop.home)))
    assert result.success
    metadata = result.asset_materializations_for_node("service_telemetry")[0].metadata
    assert metadata["deployments"].value == len(expected)
    assert metadata["requests"].value == sum(r.overall.count for r in expected)
    assert metadata["insights"].value >= 1  # every tenant's insights were refreshed


def test_insights_sum_up_findings_across_products(reports: dict[str, WindowReport], loop: Loop) -> None:
    insights = refresh_graph_insights(loop.kg, loop.control)
    by_key = {(i.kind, i.subject): i for i in insights}
    assert by_key[("always_empty", "attribute email")].products == {f"{TENANT}/{PRODUCT}", f"{TENANT}/{OTLP_PRODUCT}"}
    rows = insights_for(loop.kg, TENANT)
    seen = {(r["kind"], r["subject"]): r for r in rows}
    assert seen[("always_empty", "attribute email")]["products"] == 2
    drawn = loop.kg.sparql(
        """PREFIX fac: <https://softwarefactory.dev/ontology#>
        SELECT DISTINCT ?graph ?product WHERE {
          GRAPH ?graph { ?i a fac:Insight ; fac:insightKind "always_empty" ; fac:drawnFrom ?f }
          GRAPH ?g { ?f a fac:Finding ; fac:observedIn/fac:windowOf ?d } BIND(STR(?g) AS ?product) }""",
        TENANT,
        {"graph": URIRef(insights_graph(TENANT))},
    ).records()
    assert {r["product"] for r in drawn} == {product_graph(TENANT, PRODUCT), product_graph(TENANT, OTLP_PRODUCT)}
    nodes = loop.kg.cypher(
        "MATCH (i:Insight) RETURN i.insightKind AS kind, i.insightSubject AS subject, i.insightProducts AS products",
        TENANT,
    ).records()
    assert {"kind": "always_empty", "subject": "attribute email", "products": 2} in nodes
    assert any(n["kind"] == "template_outcome" for n in nodes) is False  # no build recorded in this home
    assert insights_for(loop.kg, "evil") == []  # a tenant without products gets no insights graph
    graph = product_graph(TENANT, PRODUCT)
    leak = "SELECT ?graph ?s WHERE { GRAPH ?graph { ?s ?p ?o } }"
    assert loop.kg.sparql(leak, "evil", {"graph": URIRef(graph)}).rows == []
    assert loop.kg.sparql(leak, TENANT, {"graph": URIRef(graph)}).rows  # the owner's query does see it


# ---------------------------------------------------------------------------------------------- the receiver
def _export(span_name: str = "GET /patients") -> dict[str, object]:
    now = time.time_ns()
    attrs = [
        {"key": "http.route", "value": {"stringValue": "/patients"}},
        {"key": "http.request.method", "value": {"stringValue": "GET"}},
        {"key": "http.response.status_code", "value": {"intValue": "200"}},
        {"key": "url.query.keys", "value": {"stringValue": "full_name"}},
    ]
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": span_name,
        "kind": 2,
        "startTimeUnixNano": str(now - 5_000_000),
        "endTimeUnixNano": str(now),
        "attributes": attrs,
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "clinic"}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}


def test_the_receiver_takes_json_exports_from_an_authorized_token(loop: Loop) -> None:
    url = f"{loop.api}/v1/tenants/{TENANT}/products/{PRODUCT}/otlp/v1/traces"
    bearer = {"Authorization": f"Bearer {loop.tokens['alice']}"}
    answer = httpx.post(url, json=_export(), headers=bearer, timeout=10)
    assert answer.status_code == 200, answer.text
    path = otlp_path(loop.home, TENANT, PRODUCT, "dev")
    spans, _ = read_window(path, loop.start, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5))
    got = [s for s in spans if s.trace_id == "5b8efff798038103d269b633813fc60c"]
    assert len(got) == 1 and got[0].query_keys == ("full_name",) and got[0].duration_ms == pytest.approx(5.0, abs=0.01)


@pytest.mark.parametrize(
    ("who", "product", "body", "status"),
    [
        (None, PRODUCT, "json", 401),  # no token
        ("vera", PRODUCT, "json", 403),  # a viewer may not send telemetry
        ("mallory", PRODUCT, "json", 403),  # a builder of another tenant
        ("alice", "unknown-product", "json", 404),
        ("alice", PRODUCT, "garbage", 422),  # not an export
        ("alice", PRODUCT, "text", 422),  # an unsupported content type
    ],
)
def test_the_receiver_refuses(loop: Loop, who: str | None, product: str, body: str, status: int) -> None:
    url = f"{loop.api}/v1/tenants/{TENANT}/products/{product}/otlp/v1/traces"
    headers = {"Authorization": f"Bearer {loop.tokens[who]}"} if who else {}
    path = otlp_path(loop.home, TENANT, PRODUCT, "dev")
    before = path.read_bytes() if path.exists() else b""
    if body == "json":
        answer = httpx.post(url, json=_export("refused"), headers=headers, timeout=10)
    elif body == "garbage":
        answer = httpx.post(url, content=b"[1, 2", headers={**headers, "content-type": "application/json"}, timeout=10)
    else:
        answer = httpx.post(url, content=b"hello", headers={**headers, "content-type": "text/plain"}, timeout=10)
    assert answer.status_code == status, answer.text
    assert (path.read_bytes() if path.exists() else b"") == before  # nothing kept


def test_decoding_refuses_what_is_not_an_export() -> None:
    with pytest.raises(InvalidInputError, match="not an OTLP trace export"):
        decode_traces(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{}]}]}]}).encode(), "application/json")
    with pytest.raises(InvalidInputError, match="not an OTLP trace export"):
        decode_traces(b"\xff\xff\xff", "application/x-protobuf")
    assert decode_traces(b"{}", "application/json; charset=utf-8") == []
