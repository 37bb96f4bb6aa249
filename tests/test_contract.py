"""Generated services keep the contract their OpenAPI document states, under schemathesis, and the
tester's contract run catches a service that does not, with the request that shows it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from generators.agents.contract import ContractDepth, check_contract
from generators.agents.engineer import Engineer
from generators.agents.tester import Tester
from infra import migrations
from infra.service_tokens import ServiceTokens
from ontology.errors import InvalidInputError
from ontology.models import Blueprint
from tests.product_blueprints import clinic, invoicing, warehouse

TRACE = "fedcba9876543210fedcba9876543210"

BROKEN_SERVICE = """
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

app = FastAPI()


class Thing(BaseModel):
    name: str


@app.get("/things")
def list_things(colour: str = "red") -> list[Thing]:
    return JSONResponse({"detail": "a teapot"}, status_code=418)  # not in the document


@app.post("/things", status_code=201)
def create_thing(thing: Thing) -> Thing:
    raise RuntimeError("boom")  # an unhandled error: 500
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(folder: Path, app: str, env: dict[str, str], ready: str) -> Iterator[str]:
    """uvicorn serving `app` from `folder` on a free loopback port, until the block ends.

    Its output goes to a file: a pipe nobody reads fills up under a fuzzer's thousands of requests
    and stops the service in the middle of a write.
    """
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    if app.endswith("create_app"):
        command.insert(3, "--factory")
    log_path = folder / f"uvicorn-{port}.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + ready, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log_path.read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a request still in flight holds uvicorn's graceful shutdown
            server.kill()
            server.wait(timeout=30)


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYTEST_"))}
    env.pop("PYTHONPATH", None)
    env.update(PYTHONDONTWRITEBYTECODE="1", DATABASE_URL=f"sqlite:///{tmp_path / 'service.db'}")
    return env


@contextmanager
def _product(tmp_path: Path, bp: Blueprint) -> Iterator[tuple[str, dict[str, str]]]:
    """The product served on loopback, and the headers of a request for its tenant (a token with every role)."""
    product = tmp_path / "product"
    Engineer().render(bp, product, TRACE)
    tokens = ServiceTokens(tmp_path / "runtime", bp.slug)
    env = {**_environment(tmp_path), **tokens.service_env(product)}
    migrations.upgrade(product, env["DATABASE_URL"])  # the service starts only on a migrated database
    with _serving(product, "app.main:create_app", env, "/health") as base:
        yield base, tokens.headers(bp.tenant)


PRODUCTS: list[tuple[Callable[..., Blueprint], dict[str, bool]]] = [
    (warehouse, {"audit_fields": True, "soft_delete": True, "search": True, "domain_events": True}),
    (clinic, {"audit_fields": False, "soft_delete": False, "search": False, "domain_events": False}),
    (invoicing, {}),
]


@pytest.mark.parametrize(("make", "features"), PRODUCTS, ids=["warehouse-all-features", "clinic-none", "invoicing"])
def test_generated_products_hold_their_contract_at_the_shallow_depth(
    tmp_path: Path, make: Callable[..., Blueprint], features: dict[str, bool]
) -> None:
    bp = make(**features)
    with _product(tmp_path, bp) as (base, headers):
        report = Tester().contract(base, "shallow", headers=headers)
    assert report.failures == (), "\n".join(f"{f.code} {f.check} {f.request_line()} {f.body}" for f in report.failures)
    assert report.errors == ()
    assert report.ok
    assert report.depth is ContractDepth.SHALLOW
    assert report.cases >= 3 * len(bp.entities)  # a few examples for each operation
    assert report.phases["fuzzing"] == "success" and report.phases["stateful"] == "skip"
    assert report.summary().startswith("contract (shallow): ")


def _notes() -> Blueprint:
    """Folders of notes: a small product for the deep run."""
    return Blueprint.model_validate(
        {
            "name": "Notes",
            "slug": "notes",
            "tenant": "acme",
            "entities": [
                {"name": "folder", "attributes": [{"name": "name", "type": "string", "required": True}]},
                {
                    "name": "note",
                    "attributes": [
                        {"name": "title", "type": "string", "required": True},
                        {"name": "price", "type": "money"},
                        {"name": "remind_at", "type": "datetime"},
                        {"name": "pinned", "type": "bool", "default": False},
                    ],
                },
            ],
            "relationships": [
                {
                    "source": "folder",
                    "target": "note",
                    "cardinality": "one-to-many",
                    "source_role": "notes",
                    "target_role": "folder",
                }
            ],
        }
    )


@pytest.mark.slow
def test_a_small_product_holds_its_contract_at_the_deep_depth_stateful_phase_included(tmp_path: Path) -> None:
    with _product(tmp_path, _notes()) as (base, headers):
        report = Tester().contract(base, ContractDepth.DEEP, headers=headers, seed=20240101, timeout_s=600)
    assert report.failures == (), "\n".join(f"{f.code} {f.check} {f.request_line()} {f.body}" for f in report.failures)
    assert report.ok
    assert report.phases == dict.fromkeys(("examples", "coverage", "fuzzing", "stateful"), "success")
    assert report.cases >= 100 * 5  # at least 100 examples for each of the folder's operations


def _example(schema: dict[str, Any]) -> dict[str, Any]:
    """A body made of the document's example of each field."""
    return {field: body["examples"][0] for field, body in schema["properties"].items()}


def test_the_document_states_errors_bounds_formats_and_links_and_the_service_enforces_them(tmp_path: Path) -> None:
    with _product(tmp_path, warehouse()) as (base, acme), httpx.Client(base_url=base, timeout=10) as client:
        spec = client.get("/openapi.json").json()
        paths, schemas = spec["paths"], spec["components"]["schemas"]
        assert set(paths["/bins"]["get"]["responses"]) == {"200", "400", "401", "403", "422"}
        assert set(paths["/bins"]["post"]["responses"]) == {"201", "400", "401", "403", "409", "422"}
        assert set(paths["/bins/{id}"]["get"]["responses"]) == {"200", "400", "401", "403", "404", "422"}
        # 412: a change sent with an If-Match that no longer matches (fastapi-service 1.1.0's conditional requests)
        assert set(paths["/bins/{id}"]["patch"]["responses"]) == {
            "200", "400", "401", "403", "404", "409", "412", "422",
        }  # fmt: skip
        for code in ("401", "403", "404"):
            error = paths["/bins/{id}"]["get"]["responses"][code]["content"]["application/json"]["schema"]
            assert schemas[error["$ref"].rsplit("/", 1)[-1]]["required"] == ["detail"]
        assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": spec["components"]["securitySchemes"]["HTTPBearer"]["description"],
        }
        assert all(
            op["security"] == [{"HTTPBearer": []}]
            for p, item in paths.items()
            if p != "/health"
            for op in item.values()
        )
        links = paths["/bins"]["post"]["responses"]["201"]["links"]
        assert links["read_bin"] == {"operationId": "read_bin", "parameters": {"id": "$response.body#/id"}}
        assert {"update_bin", "delete_bin", "list_counts_of_bin"} <= links.keys()
        query = {p["name"]: p["schema"] for p in paths["/bins"]["get"]["parameters"]}
        assert (query["offset"]["minimum"], query["offset"]["maximum"]) == (0, 1_000_000_000)
        assert (query["limit"]["minimum"], query["limit"]["maximum"]) == (1, 200)
        cost = schemas["ItemCreate"]["properties"]["unit_cost"]
        assert cost["type"] == "string" and cost["pattern"] == r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
        quantity = schemas["StockCountCreate"]["properties"]["quantity"]
        assert (quantity["minimum"], quantity["maximum"]) == (-(2**53 - 1), 2**53 - 1)
        assert schemas["BinCreate"]["properties"]["zone"]["anyOf"][0]["enum"] == ["cold", "dry", "hazmat"]
        for name in ("BinCreate", "BinUpdate", "ItemCreate", "StockCountCreate"):  # every field shows a valid value
            examples = {field: body.get("examples") for field, body in schemas[name]["properties"].items()}
            assert all(examples.values()), (name, examples)
        assert schemas["BinCreate"]["properties"]["zone"]["examples"] == ["dry"]
        assert client.post("/items", json=_example(schemas["ItemCreate"]), headers=acme).status_code == 201
        # and what it states is what it does
        assert client.get("/bins", params={"offset": 10**19}, headers=acme).status_code == 422
        assert client.get("/bins", params={"last_counted_at": "0.5"}, headers=acme).status_code == 422
        assert client.get("/items", params={"unit_cost": "5.5e16"}, headers=acme).status_code == 422
        assert client.get("/items", params={"unit_cost": "12.50"}, headers=acme).status_code == 200
        assert client.get("/bins/not-an-id", headers=acme).status_code == 404
        refused = client.request("OPTIONS", "/bins", headers=acme)
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET, POST")
        bin_ = {"label": "A1", "warehouse_id": "00000000-0000-4000-8000-000000000001"}
        assert client.post("/bins", json=bin_, headers=acme).status_code == 409  # no such warehouse
        count = {"quantity": "5", "counted_at": "2024-01-01T00:00:00Z"}
        assert client.post("/stock-counts", json=count, headers=acme).status_code == 422  # text is no number
        assert client.post("/stock-counts", json={**count, "quantity": 5}, headers=acme).status_code == 201


def test_a_service_that_breaks_its_contract_is_caught_with_the_reproducing_request(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(BROKEN_SERVICE, encoding="utf-8")
    with _serving(tmp_path, "broken:app", _environment(tmp_path), "/openapi.json") as base:
        report = Tester().contract(base, "shallow", headers={"X-Probe": "1"})
    assert not report.ok
    assert report.errors == ()
    teapot = next(f for f in report.failures if f.check == "status_code_conformance")
    assert (teapot.code, teapot.operation, teapot.method, teapot.path) == ("ST103", "GET /things", "GET", "/things")
    assert teapot.status_code == 418
    assert teapot.headers.get("X-Probe") == "1"
    crash = next(f for f in report.failures if f.check == "not_a_server_error")
    assert (crash.method, crash.path, crash.status_code) == ("POST", "/things", 500)
    assert isinstance(crash.body, dict) and "name" in crash.body
    assert crash.request_line() == "POST /things"


def test_a_service_that_is_not_there_is_an_error_not_a_pass(tmp_path: Path) -> None:
    report = check_contract(f"http://127.0.0.1:{_free_port()}", "shallow", timeout_s=60)
    assert not report.ok
    assert report.errors
    assert report.failures == ()


def test_bad_arguments_are_one_line_errors() -> None:
    with pytest.raises(InvalidInputError, match="unknown contract depth"):
        check_contract("http://127.0.0.1:1", "medium")
    with pytest.raises(InvalidInputError, match="no http"):
        check_contract("127.0.0.1:1")
    with pytest.raises(InvalidInputError, match="max_examples must be at least 1"):
        check_contract("http://127.0.0.1:1", "deep", max_examples=0)
