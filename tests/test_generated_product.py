"""Generated products pass their own test suites and lint, and one of them serves real HTTP on
loopback with its telemetry carrying the build's trace id."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from generators.agents.engineer import Engineer
from generators.agents.tester import Tester
from infra import migrations
from infra.service_tokens import ServiceTokens
from ontology.models import Blueprint
from tests.product_blueprints import clinic, invoicing

TRACE = "fedcba9876543210fedcba9876543210"
ALL_ON = {"audit_fields": True, "soft_delete": True, "search": True, "domain_events": True}
ALL_OFF = {"audit_fields": False, "soft_delete": False, "search": False, "domain_events": False}
TESTS_PER_ENTITY = 12  # CRUD, defaults, unknown fields (3), ids, pagination, bounds (4), isolation at least


@pytest.mark.parametrize(
    ("make", "features"),
    [(invoicing, ALL_ON), (clinic, ALL_OFF), (invoicing, {})],
    ids=["invoicing-all-features", "clinic-no-features", "invoicing-default-features"],
)
def test_the_generated_product_passes_its_own_tests_and_lint(
    tmp_path: Path, make: Callable[..., Blueprint], features: dict[str, bool]
) -> None:
    bp = make(**features)
    Engineer().render(bp, tmp_path / "product", TRACE)
    report = Tester().test(tmp_path / "product", timeout_s=300)
    assert report.failed == 0, report.output
    assert report.errors == 0, report.output
    assert report.passed >= TESTS_PER_ENTITY * len(bp.entities) + 5
    assert report.lint == ()
    assert report.ok
    assert report.duration_s > 0


def test_a_timeout_is_reported_as_a_failure(tmp_path: Path) -> None:
    Engineer().render(clinic(), tmp_path / "product", TRACE)
    report = Tester().test(tmp_path / "product", timeout_s=0.01)
    assert report.timed_out
    assert report.failed == 1
    assert not report.ok
    assert report.summary().endswith(f", timed out after {report.duration_s:g} s")  # the first issue a build names


def test_failing_tests_and_lint_findings_are_reported(tmp_path: Path) -> None:
    product = tmp_path / "product"
    Engineer().render(clinic(), product, TRACE)
    for suite in (product / "tests").glob("test_api_*.py"):
        suite.unlink()  # keep the run short: the service tests and the broken one
    broken = product / "tests" / "test_zz_broken.py"
    broken.write_text("import os\n\n\ndef test_broken() -> None:\n    assert 1 == 2\n", encoding="utf-8")
    report = Tester().test(product, timeout_s=300)
    assert report.failed == 1
    assert report.passed > 0
    assert report.summary() == f"1 failed and 0 errors of {report.passed + 1} tests"
    assert [(f.code, f.path, f.line) for f in report.lint] == [("F401", "tests/test_zz_broken.py", 1)]
    assert not report.ok


def test_a_suite_shared_between_processes_counts_every_test_once(tmp_path: Path) -> None:
    product = tmp_path / "product"
    Engineer().render(clinic(), product, TRACE)
    for suite in sorted((product / "tests").glob("test_api_*.py"))[1:]:
        suite.unlink()  # keep the run short: one entity's suite, the service tests and the broken one
    (product / "tests" / "test_aa_broken.py").write_text("def test_broken() -> None:\n    assert 1 == 2\n")
    alone = Tester().test(product, timeout_s=300, workers=1)
    shared = Tester().test(product, timeout_s=300, workers=3)
    assert (shared.passed, shared.failed, shared.errors) == (alone.passed, alone.failed, alone.errors)
    assert alone.failed == 1 and alone.passed > 10
    assert "test_aa_broken.py" in shared.output  # the failing run's output is kept whichever process ran it
    assert shared.exit_code == 1 and not shared.ok


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, ServiceTokens]]:
    """The invoicing product served by uvicorn on loopback, with telemetry to a JSON-lines file,
    trusting the tokens of a factory key."""
    product = tmp_path / "product"
    Engineer().render(invoicing(**ALL_ON), product, TRACE)
    telemetry = tmp_path / "telemetry.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        PYTHONDONTWRITEBYTECODE="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'service.db'}",
        FACTORY_TELEMETRY_FILE=str(telemetry),
    )
    tokens = ServiceTokens(tmp_path / "runtime", "invoicing")
    env.update(tokens.service_env(product))
    migrations.upgrade(product, env["DATABASE_URL"])  # the service starts only on a migrated database
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--port", str(port)]
    server = subprocess.Popen(command, cwd=product, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.2)
        yield base, telemetry, tokens
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout:
            server.stdout.close()


def test_the_product_serves_http_with_telemetry_carrying_the_trace_id(
    served: tuple[str, Path, ServiceTokens],
) -> None:
    base, telemetry, tokens = served
    acme = tokens.headers("acme")
    with httpx.Client(base_url=base, timeout=10) as client:
        customer = client.post("/customers", json={"name": "Ada", "email": "ada@example.com"}, headers=acme)
        assert customer.status_code == 201, customer.text
        invoice = client.post(
            "/invoices", json={"number": "INV-1", "total": "12.50", "customer_id": customer.json()["id"]}, headers=acme
        )
        assert invoice.status_code == 201, invoice.text
        nested = client.get(f"/customers/{customer.json()['id']}/invoices", headers=acme).json()
        assert [item["number"] for item in nested["items"]] == ["INV-1"]
        assert nested["items"][0]["total"] == "12.50"
        assert client.get("/customers", headers={"X-Tenant-ID": "acme"}).status_code == 401  # no token
        customer_path = f"/customers/{customer.json()['id']}"
        assert client.get(customer_path, headers=tokens.headers("other")).status_code == 404
        assert client.get(customer_path, headers={**tokens.headers("other"), "X-Tenant-ID": "acme"}).status_code == 403
        assert "/customers/{id}/invoices" in client.get("/openapi.json").json()["paths"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "/customers/{id}/invoices" not in telemetry.read_text():
        time.sleep(0.1)
    spans = [json.loads(line) for line in telemetry.read_text().splitlines()]
    spans = [s for s in spans if s["kind"] == "span" and "http.route" in s["attributes"]]  # server spans, not SQL
    routes = {s["attributes"]["http.route"]: s for s in spans}
    assert {"/health", "/customers", "/invoices", "/customers/{id}/invoices"} <= routes.keys()
    for span in spans:
        assert span["resource"]["service.name"] == "invoicing"
        assert span["resource"]["factory.trace_id"] == TRACE
        assert span["attributes"]["factory.trace_id"] == TRACE
    assert routes["/invoices"]["attributes"]["http.response.status_code"] == 201
