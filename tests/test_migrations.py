"""A product's schema migrations: generated from the difference between two blueprints, run before each
deployment, keeping the rows a service stored across a new revision, on SQLite and on PostgreSQL.

Real renders, real Alembic runs in subprocesses (infra.migrations), real services on loopback and a
real PostgreSQL server (a fresh database per test; skipped without a server, failed in CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from generators.agents.engineer import Engineer
from generators.agents.tester import Tester
from generators.migrations import DataLossError, PreviousRevision, plan_migrations, read_previous
from generators.rendering import ANSWERS_PATH
from infra import migrations
from infra.runtime import LocalRuntime, ServiceProcess
from ontology.models import Blueprint
from tests.product_blueprints import invoicing

TRACE = "0123456789abcdef0123456789abcdef"


def _changed(bp: Blueprint, change: Any) -> Blueprint:
    data = bp.model_dump(mode="json")
    change(data)
    return Blueprint.model_validate(data)


def _entity(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in data["entities"] if e["name"] == name)


def _attribute(data: dict[str, Any], entity: str, name: str) -> dict[str, Any]:
    return next(a for a in _entity(data, entity)["attributes"] if a["name"] == name)


def _next_revision(data: dict[str, Any]) -> None:
    """The blueprint gains an attribute, an entity, a relationship between entities it had, and a rename."""
    _entity(data, "customer")["attributes"].append({"name": "phone", "type": "string"})
    _attribute(data, "invoice", "number").update(name="code", renamed_from="number")
    data["entities"].append({"name": "note", "attributes": [{"name": "body", "type": "text", "required": True}]})
    data["relationships"] += [
        {"source": "customer", "target": "note", "cardinality": "one-to-many", "source_role": "notes",
         "target_role": "customer"},
        {"source": "customer", "target": "payment", "cardinality": "one-to-many", "source_role": "payments",
         "target_role": "payer"},
    ]  # fmt: skip


def _previous(bp: Blueprint) -> PreviousRevision:
    return PreviousRevision(bp, plan_migrations(bp, None))


# ---------------------------------------------------------------------------------------------- planning


def test_the_first_revision_creates_every_table_and_later_ones_chain_after_it() -> None:
    v1 = invoicing()
    first = plan_migrations(v1, None)
    assert len(first) == 1 and next(iter(first)).startswith("migrations/versions/0001_")
    assert plan_migrations(v1, _previous(v1)) == first  # nothing changed in the tables: nothing new
    v2 = _changed(v1, _next_revision)
    both = plan_migrations(v2, _previous(v1))
    assert plan_migrations(v2, _previous(v1)) == both  # derived from the blueprints, never random
    (path, script), = ((p, d.decode()) for p, d in both.items() if p not in first)  # fmt: skip
    revision = path.rsplit("_", 1)[1].removesuffix(".py")
    assert f'revision = "{revision}"' in script
    assert f'down_revision = "{PreviousRevision(v1, first).head}"' in script
    for change in ("create table notes", "customers: add column phone", "payments: add column payer_id",
                   "invoices: rename column number to code"):  # fmt: skip
        assert f"* {change}\n" in script
    assert 'batch_op.alter_column("number", new_column_name="code")' in script
    assert "drop_column" not in script.split("def downgrade")[0]  # nothing is lost going up


def test_a_change_that_would_lose_data_stops_the_build_until_the_blueprint_allows_it() -> None:
    v1 = invoicing()

    def lossy(data: dict[str, Any]) -> None:
        _entity(data, "invoice")["attributes"] = [
            a for a in _entity(data, "invoice")["attributes"] if a["name"] != "notes"
        ]
        _attribute(data, "customer", "website").update(type="email")  # 2083 characters narrowed to 254
        data["entities"] = [e for e in data["entities"] if e["name"] != "payment"]
        data["relationships"] = [r for r in data["relationships"] if "payment" not in (r["source"], r["target"])]

    v2 = _changed(v1, lossy)
    with pytest.raises(DataLossError) as refused:
        plan_migrations(v2, _previous(v1))
    message = str(refused.value)
    assert "\n" not in message
    for loss in ("invoice.notes (dropped)", "customer.website (url narrowed to email)",
                 "payment (dropped with its rows)"):  # fmt: skip
        assert loss in message
    assert "allow_data_loss: [" in message
    allowed = _changed(v2, lambda d: d.update(allow_data_loss=["customer.website", "invoice.notes", "payment"]))
    script = next(d.decode() for p, d in plan_migrations(allowed, _previous(v1)).items() if "/0002_" in p)
    assert 'batch_op.drop_column("notes")' in script and 'op.drop_table("payments")' in script
    assert "customers: replace column website (url -> email, values dropped)" in script


def test_a_new_required_attribute_needs_a_default_for_the_rows_stored_before() -> None:
    v1 = invoicing()
    needed = _changed(v1, lambda d: _entity(d, "customer")["attributes"].append({"name": "vat", "type": "string",
                                                                                   "required": True}))  # fmt: skip
    with pytest.raises(DataLossError, match=r"customer\.vat is required and has no default"):
        plan_migrations(needed, _previous(v1))
    defaulted = _changed(needed, lambda d: _attribute(d, "customer", "vat").update(default="none"))
    script = b"".join(plan_migrations(defaulted, _previous(v1)).values()).decode()
    assert """.values({"vat": 'none'})""" in script


def test_renamed_from_must_name_an_attribute_that_is_gone() -> None:
    from generators.blueprint import blueprint_issues

    bp = _changed(invoicing(), lambda d: _attribute(d, "invoice", "notes").update(renamed_from="number"))
    assert blueprint_issues(bp) == [
        "entities[1].attributes[4].renamed_from: 'number' is still an attribute of 'invoice'"
    ]


# ---------------------------------------------------------------------------------------------- running them


def test_infra_migrations_refuse_a_release_without_migrations_and_report_a_failure_in_one_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "app").mkdir()
    assert not migrations.has_migrations(tmp_path)
    with pytest.raises(migrations.MigrationError, match=r"carries no alembic\.ini"):
        migrations.upgrade(tmp_path, "sqlite://")
    product = tmp_path / "product"
    Engineer().render(invoicing(), product, TRACE)
    with pytest.raises(migrations.MigrationError) as failed:
        migrations.upgrade(product, "sqlite:///" + str(tmp_path / "db.sqlite"), "no-such-revision")
    assert "no-such-revision" in str(failed.value) and "\n" not in str(failed.value)


class _Service:
    """Starts revisions of one product on one database with the local runtime; stops what it started."""

    def __init__(self, home: Path, database_url: str) -> None:
        self.runtime = LocalRuntime(home)
        self.env = {"DATABASE_URL": database_url}
        self.running: ServiceProcess | None = None

    def start(self, source: Path) -> httpx.Client:
        self.stop()
        self.running = self.runtime.start(source, name="acme-invoicing", trace_id=TRACE, extra_env=self.env)
        headers = self.runtime.tokens("acme-invoicing").headers("acme")  # a token with every role
        return httpx.Client(base_url=self.running.url, headers=headers, timeout=10)

    def stop(self) -> None:
        if self.running is not None:
            self.runtime.stop(self.running)
            self.running = None


@pytest.fixture
def service_on(tmp_path: Path) -> Iterator[Any]:
    started: list[_Service] = []

    def make(database_url: str) -> _Service:
        started.append(_Service(tmp_path / "home", database_url))
        return started[-1]

    yield make
    for service in started:
        service.stop()


def _write_rows(api: httpx.Client) -> dict[str, dict[str, Any]]:
    """A customer, an invoice, a payment and a line item with values at the edges of their types."""
    customer = api.post("/customers", json={"name": "N" * 255, "email": "ada@example.com", "active": False})
    assert customer.status_code == 201, customer.text
    invoice = api.post("/invoices", json={
        "number": "INV-0001", "status": "sent", "total": "123456789012.50", "due_date": "2024-02-29",
        "notes": "long text " * 900, "customer_id": customer.json()["id"],
    })  # fmt: skip
    assert invoice.status_code == 201, invoice.text
    payment = api.post("/payments", json={
        "amount": "0.10", "paid_at": "2024-03-01T12:30:45.123456+02:00", "method": "card",
        "reference": "00000000-0000-4000-8000-000000000042", "invoice_id": invoice.json()["id"],
    })  # fmt: skip
    assert payment.status_code == 201, payment.text
    item = api.post("/line-items", json={
        "description": "hours", "quantity": 2**53 - 1, "unit_price": "-0.01", "tax_rate": "0.123456",
        "invoice_id": invoice.json()["id"],
    })  # fmt: skip
    assert item.status_code == 201, item.text
    rows = {"customers": customer, "invoices": invoice, "payments": payment, "line-items": item}
    return {name: response.json() for name, response in rows.items()}


def _values(row: dict[str, Any]) -> dict[str, Any]:
    """A row without what differs between two databases' copies: ids and the times of writing."""
    return {k: v for k, v in row.items() if not k.endswith("id") and k not in ("created_at", "updated_at")}


def _head(release: Path) -> str | None:
    previous = read_previous(release, ANSWERS_PATH)
    assert previous is not None
    return previous.head


def _revisions(tmp_path: Path) -> tuple[Path, Path]:
    v1 = invoicing()
    first, second = tmp_path / "r1", tmp_path / "r2"
    Engineer().render(v1, first, TRACE)
    Engineer().render(_changed(v1, _next_revision), second, TRACE, previous=read_previous(first, ANSWERS_PATH))
    return first, second


def test_a_service_keeps_its_rows_across_a_new_revision_on_sqlite_and_on_postgresql(
    tmp_path: Path, postgres_url: str, service_on: Any
) -> None:
    first, second = _revisions(tmp_path)
    seen: dict[str, Any] = {}
    for label, url in (("sqlite", f"sqlite:///{tmp_path / 'service.db'}"), ("postgresql", postgres_url)):
        service = service_on(url)
        api = service.start(first)
        rows = _write_rows(api)
        assert api.get("/payments/" + rows["payments"]["id"]).json()["paid_at"] == "2024-03-01T10:30:45.123456Z"
        assert migrations.current(first, url) == _head(first)
        api = service.start(second)  # the runtime migrates the database before the new revision starts
        assert migrations.current(second, url) == _head(second) != _head(first)
        customer = api.get("/customers/" + rows["customers"]["id"]).json()
        invoice = api.get("/invoices/" + rows["invoices"]["id"]).json()
        payment = api.get("/payments/" + rows["payments"]["id"]).json()
        assert customer == {**rows["customers"], "phone": None}
        expected_invoice = {k: v for k, v in rows["invoices"].items() if k != "number"}
        assert invoice == {**expected_invoice, "code": "INV-0001"}  # renamed, its value kept
        assert payment == {**rows["payments"], "payer_id": None}
        # the new relationships work on the rows stored before
        note = api.post("/notes", json={"body": "called", "customer_id": customer["id"]})
        assert note.status_code == 201, note.text
        linked = api.patch("/payments/" + payment["id"], json={"payer_id": customer["id"]})
        assert linked.status_code == 200, linked.text
        assert [p["id"] for p in api.get(f"/customers/{customer['id']}/payments").json()["items"]] == [payment["id"]]
        assert [n["body"] for n in api.get(f"/customers/{customer['id']}/notes").json()["items"]] == ["called"]
        seen[label] = {name: _values(api.get(f"/{name}/{row['id']}").json()) for name, row in rows.items()}
        service.stop()
    assert seen["sqlite"] == seen["postgresql"]  # money, decimals, times, uuids, long text, enums, flags alike


def test_migrations_go_down_and_up_again_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    first, second = _revisions(tmp_path)
    migrations.upgrade(second, postgres_url)
    head = migrations.current(second, postgres_url)
    migrations.downgrade(second, postgres_url, "-1")
    assert migrations.current(second, postgres_url) == migrations.current(first, postgres_url) != head
    migrations.downgrade(second, postgres_url, "base")
    assert migrations.current(second, postgres_url) is None
    migrations.upgrade(second, postgres_url)
    assert migrations.current(second, postgres_url) == head


def test_the_products_own_suite_passes_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    bp = invoicing(audit_fields=True, soft_delete=True, search=True, domain_events=True)
    Engineer().render(bp, tmp_path / "product", TRACE)
    report = Tester().test(tmp_path / "product", timeout_s=600, database_url=postgres_url)
    assert report.ok, report.output
    assert report.skipped == 0 and report.passed > 12 * len(bp.entities)


# ---------------------------------------------------------------------------------------------- the lifecycle


@pytest.mark.slow(minutes=4)
def test_a_deployed_product_keeps_its_rows_when_a_new_blueprint_is_built_and_deployed(tmp_path: Path) -> None:
    from generators.blueprint import dump_blueprint
    from graph import KnowledgeGraph
    from infra import runtime
    from infra.control import ControlPlane
    from infra.lifecycle import StageContext, StageResult, run_stage
    from infra.service_tokens import service_name

    home = tmp_path / "home"
    graph = KnowledgeGraph(home, embedder=None)
    control = ControlPlane(None, home)
    v1 = _changed(invoicing(), lambda d: d.update(entities=d["entities"][:2], relationships=d["relationships"][:1]))
    v2 = _changed(
        v1,
        lambda d: (
            _entity(d, "customer")["attributes"].append({"name": "phone", "type": "string", "pii": True}),
            d["entities"].append({"name": "note", "attributes": [{"name": "body", "type": "text"}]}),
            d["relationships"].append(
                {"source": "customer", "target": "note", "source_role": "notes", "target_role": "customer"}
            ),
        ),
    )

    def build(bp: Blueprint) -> dict[str, StageResult]:
        control.submit_intent("acme", "invoicing", "", blueprint_yaml=dump_blueprint(bp))
        ctx = StageContext(home, "acme", "invoicing", run_id=f"run-{bp.hash[:8]}", knowledge_graph=lambda: graph)
        results: dict[str, StageResult] = {}
        for stage in ("intent", "requirements", "blueprint", "artifacts", "validation", "release", "deployment"):
            results[stage] = run_stage(ctx, stage, results)
            if stage == "validation":
                assert results[stage].ok, results[stage].checks  # type: ignore[attr-defined]
        return results

    tokens = runtime.LocalRuntime(home).tokens(service_name("acme", "invoicing", "dev"))
    try:
        first = build(v1)
        headers = tokens.headers("acme")  # a token with every role
        url = first["deployment"].url  # type: ignore[attr-defined]
        customer = httpx.post(f"{url}/customers", json={"name": "Ada", "active": True}, headers=headers, timeout=10)
        assert customer.status_code == 201, customer.text
        invoice = httpx.post(
            f"{url}/invoices",
            json={"number": "INV-1", "total": "19.90", "customer_id": customer.json()["id"]},
            headers=headers,
            timeout=10,
        )
        assert invoice.status_code == 201, invoice.text

        second = build(v2)
        assert second["deployment"].commit != first["deployment"].commit  # type: ignore[attr-defined]
        files = second["artifacts"].files  # type: ignore[attr-defined]
        assert len([p for p in files if p.startswith("migrations/versions/")]) == 2  # the first carried forward
        url = second["deployment"].url  # type: ignore[attr-defined]
        api = httpx.Client(base_url=url, headers=headers, timeout=10)
        assert api.get(f"/customers/{customer.json()['id']}").json() == {**customer.json(), "phone": None}
        assert api.get(f"/invoices/{invoice.json()['id']}").json() == invoice.json()
        note = api.post("/notes", json={"body": "called back", "customer_id": customer.json()["id"]})
        assert note.status_code == 201, note.text
        assert api.get(f"/customers/{customer.json()['id']}/notes").json()["items"] == [note.json()]
    finally:
        for deployment in control.deployments(None):
            if deployment.pid and deployment.workdir:
                runtime.stop(deployment.pid, Path(deployment.workdir))


def test_a_release_starts_only_on_a_database_at_its_migrations(tmp_path: Path) -> None:
    import subprocess
    import sys

    first, second = _revisions(tmp_path)
    url = f"sqlite:///{tmp_path / 'service.db'}"
    # the service itself refuses a database no migration has touched, saying what to run
    code = "from app.main import create_app; create_app()"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=first, env={"DATABASE_URL": url}, capture_output=True, text=True
    )
    assert run.returncode != 0 and "run `alembic upgrade head`" in run.stderr
    # an older release cannot start on a database a newer one migrated: it must be taken down first
    migrations.upgrade(second, url)
    runtime = LocalRuntime(tmp_path / "home")
    with pytest.raises(migrations.MigrationError, match=r"alembic upgrade head in .* failed"):
        runtime.start(first, name="acme-invoicing", trace_id=TRACE, extra_env={"DATABASE_URL": url})
    migrations.downgrade(second, url, "-1")
    service = runtime.start(first, name="acme-invoicing", trace_id=TRACE, extra_env={"DATABASE_URL": url})
    try:
        headers = runtime.tokens("acme-invoicing").headers("acme")
        assert httpx.get(service.url + "/customers", headers=headers, timeout=10).status_code == 200
    finally:
        runtime.stop(service)


def test_factory_generate_into_an_earlier_render_writes_the_next_migration(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from generators.blueprint import dump_blueprint
    from studio.cli import app

    v1 = invoicing()
    (tmp_path / "v1.yaml").write_text(dump_blueprint(v1), encoding="utf-8")
    (tmp_path / "v2.yaml").write_text(dump_blueprint(_changed(v1, _next_revision)), encoding="utf-8")
    out = tmp_path / "product"
    for name in ("v1.yaml", "v2.yaml"):
        result = CliRunner().invoke(app, ["generate", str(tmp_path / name), "-o", str(out), "--trace-id", TRACE])
        assert result.exit_code == 0, result.output
    scripts = sorted(p.name for p in (out / "migrations" / "versions").glob("*.py"))
    assert [s[:5] for s in scripts] == ["0001_", "0002_"]
    assert scripts[0] in {Path(p).name for p in plan_migrations(v1, None)}  # the first one carried unchanged
