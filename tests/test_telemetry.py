"""The smoke workload drives a running generated service through its OpenAPI with the factory trace
id, and the figures computed from the spans it wrote are right."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from generators.agents.engineer import Engineer
from infra.runtime import LocalRuntime, ServiceProcess, stop
from infra.telemetry import (
    RouteFigure,
    SmokeResult,
    SpanRecord,
    WorkloadError,
    overall,
    percentile,
    read_spans,
    route_figures,
    slo_breaches,
    smoke,
    wait_for_spans,
)
from ontology.errors import InvalidInputError
from tests.product_blueprints import clinic

DEPLOY_TRACE = "0123456789abcdef0123456789abcdef"
SMOKE_TRACE = "fedcba9876543210fedcba9876543210"
CRUD = [
    ("POST", "/{r}"),
    ("GET", "/{r}"),
    ("GET", "/{r}/{{id}}"),
    ("PATCH", "/{r}/{{id}}"),
    ("DELETE", "/{r}/{{id}}"),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The clinic product, rendered and running under the local runtime for the whole module."""
    root = tmp_path_factory.mktemp("telemetry")
    Engineer().render(clinic(), root / "clinic", DEPLOY_TRACE, pack=("fastapi-service", "1.0.0"))
    running = LocalRuntime(root / "home").start(root / "clinic", name="clinic", trace_id=DEPLOY_TRACE)
    yield running
    stop(running.pid, running.workdir, timeout_s=5)


@pytest.fixture(scope="module")
def workload(service: ServiceProcess) -> tuple[SmokeResult, list[SpanRecord]]:
    """Two smoke rounds, and the spans they left in the service's telemetry file."""
    headers = LocalRuntime(service.workdir.parent / "home").tokens(service.name).headers("acme")
    result = smoke(service.url, tenant="acme", trace_id=SMOKE_TRACE, rounds=2, headers=headers)
    spans = wait_for_spans(service.telemetry_path, trace_id=SMOKE_TRACE, count=result.requests, timeout_s=10)
    return result, spans


def test_the_smoke_workload_gets_only_expected_answers(workload: tuple[SmokeResult, list[SpanRecord]]) -> None:
    result, spans = workload
    assert result.unexpected == []
    assert result.skipped == []
    assert result.ok
    assert sorted(result.exercised) == ["/appointments", "/doctors", "/patients"]
    assert len(spans) == result.requests
    assert {s.trace_id for s in spans} == {SMOKE_TRACE}  # the traceparent was continued
    assert {s.factory_trace_id for s in spans} == {DEPLOY_TRACE}
    assert {s.tenant for s in spans} == {"acme", ""}  # "" for the OpenAPI document and the refused probes
    seen = {(s.method, s.route) for s in spans}
    for route in ("patients", "doctors", "appointments"):
        assert {(m, p.format(r=route)) for m, p in CRUD} <= seen
    # relationship lists and the many-to-many link were followed
    assert {("GET", "/patients/{id}/appointments"), ("PUT", "/doctors/{id}/patients/{other_id}")} <= seen
    statuses = {(s.method, s.route, s.status_code) for s in spans}
    assert ("POST", "/patients", 422) in statuses  # the empty body
    assert ("GET", "/patients/{id}", 404) in statuses  # the unknown id
    assert any(s.status_code == 401 and s.tenant == "" for s in spans)  # no token
    assert any(s.status_code == 403 and s.tenant == "" for s in spans)  # a tenant header the token does not grant


def test_figures_per_route(workload: tuple[SmokeResult, list[SpanRecord]]) -> None:
    _, spans = workload
    figures = {(f.method, f.route): f for f in route_figures(spans)}
    assert sum(f.count for f in figures.values()) == len(spans)
    for route in ("patients", "doctors", "appointments"):
        for method, pattern in CRUD:
            figure = figures[(method, pattern.format(r=route))]
            assert figure.count >= 2
            assert 0 < figure.p50_ms <= figure.p95_ms
            assert figure.error_rate == 0
        assert figures[("POST", f"/{route}")].client_error_rate == pytest.approx(1 / 3)  # 2 created, 1 refused
        assert figures[("GET", f"/{route}/{{id}}")].client_error_rate > 0  # read after delete, unknown id
    total = overall(spans)
    assert (total.method, total.route, total.count) == ("*", "*", len(spans))
    assert total.p50_ms <= total.p95_ms <= max(s.duration_ms for s in spans)
    assert total.error_rate == 0 and 0 < total.client_error_rate < 1


def test_slo_breaches(workload: tuple[SmokeResult, list[SpanRecord]]) -> None:
    _, spans = workload
    figures = route_figures(spans)
    tiny = slo_breaches(figures, p95_latency_ms=0.001, error_rate=0.0)
    assert len(tiny) == len(figures)
    assert all(" p95 " in line and line.endswith("> 0.001 ms objective") for line in tiny)
    assert slo_breaches(figures, p95_latency_ms=60_000, error_rate=0.01) == []

    failing = [SpanRecord("t", "s", "", "GET", "/x", code, 5.0, "f", "acme") for code in (200, 500, 503, 404)]
    [figure] = route_figures(failing)
    assert (figure.error_rate, figure.client_error_rate) == (0.5, 0.25)
    assert slo_breaches([figure], p95_latency_ms=100, error_rate=0.1) == ["GET /x error rate 50.0% > 10.0% objective"]


def test_read_spans_tolerates_a_partly_written_file(service: ServiceProcess, tmp_path: Path) -> None:
    text = service.telemetry_path.read_text()
    whole = read_spans(service.telemetry_path)
    server = [line for line in text.splitlines() if '"kind": "span"' in line and '"http.route"' in line]
    assert len(whole) == len(server)  # the SQL spans are children of these, and not server spans
    copy = tmp_path / "spans.jsonl"
    copy.write_text("not json at all\n" + text + text.splitlines()[-1][:40])  # a garbage line and a cut one
    assert read_spans(copy) == whole
    assert read_spans(copy, trace_id="00000000000000000000000000000001") == []
    assert len(read_spans(copy, trace_id=SMOKE_TRACE)) < len(whole)  # the runtime's health polls are not the smoke's
    assert read_spans(copy, since="2999-01-01T00:00:00+00:00") == []
    assert read_spans(copy, since=whole[0].start) == whole
    assert read_spans(tmp_path / "missing.jsonl") == []


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(10, 0, -1)]
    assert percentile(values, 50) == 5.0
    assert percentile(values, 95) == 10.0
    assert percentile(values, 10) == 1.0
    assert percentile([], 95) == 0.0
    assert overall([]) == RouteFigure("*", "*", 0, 0.0, 0.0, 0.0, 0.0)


def test_smoke_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="trace id"):
        smoke("http://127.0.0.1:9", tenant="acme", trace_id="xyz")
    with pytest.raises(WorkloadError, match=r"openapi\.json"):
        smoke("http://127.0.0.1:9", tenant="acme", trace_id=SMOKE_TRACE, timeout_s=1)
