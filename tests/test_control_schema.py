"""The control database's migrations on real SQLite and PostgreSQL: a new database, one made before migrations,
processes opening it at once, a database from a newer factory, and how a new table gets its revision."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, MetaData, Table, UniqueConstraint, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from infra import control, control_schema
from infra.control import ControlPlane
from infra.control_schema import SchemaError
from infra.lifecycle.claims import new_claim

LATER_COLUMNS = {"intentrecord": ("claim",), "auditevent": ("prev_hash", "hash")}
"""Columns the first control databases were made without."""


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        return control_schema.differences(connection)


def test_a_new_database_gets_exactly_the_tables_the_classes_declare(control_url: str) -> None:
    plane = ControlPlane(control_url)
    assert plane.schema.at_head and plane.schema.current == control_schema.head()
    assert control_schema.state(plane.engine).at_head
    assert _differences(plane.engine) == []  # a class changed without a revision shows up here


BEFORE_MIGRATIONS = frozenset({
    "intentrecord", "productrecord", "buildrecord", "approvalrecord", "auditevent", "deploymentrecord",
    "environmentrelease", "userrecord", "membershiprecord", "tokenrecord",
})  # fmt: skip
"""The tables the factory made with `create_all` before its schema had migrations."""


def _made_before_migrations(url: str, variant: str) -> Engine:
    """A control database as the factory made it before migrations: `create_all`, rows, audit entries."""
    engine = create_engine(url)
    later = LATER_COLUMNS if variant == "before-claims" else {}  # the oldest had neither claims nor the chain
    old = MetaData()
    for table in control.control_tables():
        if table.name not in BEFORE_MIGRATIONS:
            continue  # a table that came with a later revision: no database made before migrations has it
        dropped = later.get(table.name, ())
        columns = [
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable, index=c.index)
            for c in table.columns
            if c.name not in dropped
        ]
        unique = [
            UniqueConstraint(*u.columns.keys())
            for u in table.constraints
            if isinstance(u, UniqueConstraint) and not set(u.columns.keys()) & set(dropped)
        ]
        Table(table.name, old, *columns, *unique)
    with engine.begin() as connection:
        old.create_all(connection)
        connection.execute(text(
            "INSERT INTO intentrecord (tenant, product, text, revision, status, submitted_at, updated_at, actor) "
            "VALUES ('acme', 'billing', 'Invoices for customers.', 1, 'submitted', :at, :at, 'cli')"
        ), {"at": "2026-01-02 03:04:05"})  # fmt: skip
        connection.execute(text(
            "INSERT INTO auditevent (at, actor, action, outcome, tenant, detail) "
            "VALUES (:at, 'cli', 'intent.submit', 'ok', 'acme', 'revision 1')"
        ), {"at": "2026-01-02 03:04:05"})  # fmt: skip
    return engine


@pytest.mark.parametrize("variant", ["before-claims", "latest"])
def test_a_database_made_before_migrations_keeps_its_rows_and_reaches_the_head(control_url: str, variant: str) -> None:
    engine = _made_before_migrations(control_url, variant)
    with engine.connect() as connection:
        assert control_schema.current(connection) is None
    plane = ControlPlane(control_url)
    assert plane.schema.at_head
    columns = {c["name"] for c in inspect(engine).get_columns("intentrecord")}
    assert "claim" in columns
    kept = plane.intent(1)
    assert (kept.tenant, kept.product, kept.text) == ("acme", "billing", "Invoices for customers.")
    won = plane.claim_intent(1, new_claim("cli"))
    assert won is not None and won.status == "queued"
    plane.audit("promote", "ok", tenant="acme", product="billing")
    verdict = plane.verify_audit()
    assert verdict.ok and verdict.unchained == 1 and verdict.entries == 1
    with engine.begin() as connection, pytest.raises(IntegrityError):  # the chain stays unique after the upgrade
        connection.execute(text(
            "INSERT INTO auditevent (at, actor, action, outcome, detail, prev_hash, hash) "
            "SELECT at, actor, action, outcome, detail, prev_hash, 'forged' FROM auditevent WHERE hash IS NOT NULL"
        ))  # fmt: skip
    assert ControlPlane(control_url).schema.at_head  # reopening changes nothing
    engine.dispose()


def test_processes_opening_a_new_database_at_once_upgrade_it_once(control_url: str) -> None:
    start = threading.Barrier(4)
    opened: list[str | None] = []
    errors: list[BaseException] = []

    def open_plane() -> None:
        start.wait()
        try:
            opened.append(ControlPlane(control_url).schema.current)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_plane) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and opened == [control_schema.head()] * 4
    engine = create_engine(control_url)
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT version_num FROM {control_schema.VERSION_TABLE}")).all()
    assert [r[0] for r in rows] == [control_schema.head()]
    engine.dispose()


def test_a_database_from_a_newer_factory_is_refused_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'control.db'}"
    plane = ControlPlane(url)
    with plane.engine.begin() as connection:
        connection.execute(text(f"UPDATE {control_schema.VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="at revision 9999, which this factory does not know"):
        ControlPlane(url)
    assert not control_schema.state(plane.engine).at_head


class ScaleWidget(SQLModel, table=True):
    """A table added after the baseline, as a later change would add one."""

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True)
    label: str = ""


def test_a_new_table_gets_its_revision_from_the_classes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripts = tmp_path / "control_migrations"
    shutil.copytree(control_schema.SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(control_schema, "SCRIPTS", scripts)
    monkeypatch.setattr(control, "CONTROL_TABLES", (*control.CONTROL_TABLES, ScaleWidget))
    control_schema._scripts.cache_clear()
    try:
        url = f"sqlite:///{tmp_path / 'old.db'}"
        ControlPlane(url)  # at the head: no widget table yet
        new = f"{int(control_schema.head()) + 1:04d}"
        written = control_schema.revision("scale widgets")
        assert written.parent == scripts / "versions" and written.name.startswith(f"{new}_")
        source = written.read_text()
        assert '"scalewidget",' in source and 'op.drop_table("scalewidget")' in source  # written, and formatted
        assert control_schema.head() == new
        upgraded = ControlPlane(url)  # an existing database takes the new revision when it is next opened
        assert upgraded.schema.current == new and "scalewidget" in inspect(upgraded.engine).get_table_names()
        assert _differences(upgraded.engine) == []
    finally:
        control_schema._scripts.cache_clear()
