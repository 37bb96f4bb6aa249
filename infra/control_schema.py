"""The control database's schema, managed by Alembic migrations (`infra/control_migrations/versions`).

`upgrade` brings a database to the newest revision: a new one gets every table, one made before
migrations (by the earlier `create_all`) keeps its rows and is brought level by the baseline. Processes
that open the same database at once take turns (SQLite's write lock, a PostgreSQL advisory lock), and
a database already at the newest revision costs one query. The revision is kept in its own table
(`factory_control_version`), so the control tables may share a PostgreSQL database with Dagster's.

A new table or column: declare the SQLModel class, list it in `infra.control.CONTROL_TABLES`, then
`python -m infra.control_schema revision "what changed"` writes the next revision from the difference
between the migrated schema and the classes; review it and commit it (see docs/scaling.md).
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, MetaData, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from ontology.errors import FactoryError

__all__ = [
    "SCRIPTS",
    "VERSION_TABLE",
    "SchemaError",
    "SchemaState",
    "current",
    "differences",
    "head",
    "migration_options",
    "revision",
    "state",
    "target_metadata",
    "upgrade",
]

SCRIPTS = Path(__file__).resolve().parent / "control_migrations"
VERSION_TABLE = "factory_control_version"
_UPGRADE_LOCK = 0x5F_A0D1_7C4A_1B
"""The PostgreSQL advisory lock an upgrade holds until its transaction ends."""


class SchemaError(FactoryError):
    """The control database cannot be brought to, or is not at, the schema this factory expects."""


@dataclass(frozen=True)
class SchemaState:
    """Where a control database stands: its revision and the newest one this factory knows."""

    current: str | None
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def target_metadata() -> MetaData:
    """The control tables as the SQLModel classes declare them (what autogenerate compares against)."""
    from infra.control import control_tables

    metadata = MetaData()
    for table in control_tables():
        table.to_metadata(metadata)
    return metadata


def migration_options(metadata: MetaData) -> dict[str, Any]:
    """How Alembic compares and renders the control tables (the migrations' env.py and `differences` agree)."""

    def ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        return type_ != "table" or name in metadata.tables  # a database may hold other tables beside them

    return {
        "target_metadata": metadata,
        "version_table": VERSION_TABLE,
        "render_as_batch": True,  # SQLite alters a table by copying it: new revisions must work there too
        "compare_type": True,
        "include_object": ours,
    }


def differences(connection: Connection) -> list[Any]:
    """What the SQLModel classes declare that the database does not have (empty when a revision covers it)."""
    context = MigrationContext.configure(connection, opts=migration_options(target_metadata()))
    return list(compare_metadata(context, context.opts["target_metadata"]))


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision of the control database's migrations; several heads are refused."""
    heads = _scripts().get_heads()
    if len(heads) != 1:
        raise SchemaError(f"the control migrations have {len(heads)} heads ({', '.join(heads)}): merge them first")
    return heads[0]


def current(connection: Connection) -> str | None:
    """The revision the database is at, None for one no migration has touched (new, or made before them)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    heads = context.get_current_heads()
    return heads[0] if heads else None


def state(engine: Engine) -> SchemaState:
    """The database's revision beside the newest; SchemaError when the database cannot be read."""
    try:
        with engine.connect() as connection:
            return SchemaState(current(connection), head())
    except SQLAlchemyError as error:
        raise SchemaError(f"cannot read the control database's revision: {_first_line(error)}") from None


def upgrade(engine: Engine) -> SchemaState:
    """Bring the database to the newest revision, in one transaction that other openers wait for.

    SQLite answers "database is locked" at once, without its busy wait, to a process that opens a new
    database while another switches it to WAL: such an opener tries again a few times."""
    for attempt in range(_LOCKED_TRIES):
        try:
            return _upgrade(engine)
        except SchemaError as error:
            locked = engine.dialect.name == "sqlite" and "database is locked" in str(error)
            if not locked or attempt == _LOCKED_TRIES - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


_LOCKED_TRIES = 5


def _upgrade(engine: Engine) -> SchemaState:
    newest = head()
    try:
        with engine.connect() as connection:
            if current(connection) == newest:
                connection.rollback()
                return SchemaState(newest, newest)
            if engine.dialect.name == "sqlite":
                connection.rollback()
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            elif engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
            at = current(connection)
            if at is not None and at != newest and _unknown(at):
                raise SchemaError(
                    f"the control database is at revision {at}, which this factory does not know: "
                    "a newer factory upgraded it; run that version"
                )
            if at != newest:  # another process may have upgraded it while this one waited
                command.upgrade(_config(connection), "head")
            connection.commit()
            return SchemaState(current(connection), newest)
    except (SQLAlchemyError, CommandError) as error:
        raise SchemaError(f"cannot upgrade the control database: {_first_line(error)}") from None


def revision(message: str, rev_id: str | None = None) -> Path:
    """Write the next revision: what the SQLModel classes declare beyond a database migrated to the head.

    The comparison runs on a fresh in-memory SQLite database; the script renders batch operations, so
    it runs on SQLite and PostgreSQL alike. Review the file before committing it."""
    from sqlalchemy.pool import StaticPool

    engine = create_engine("sqlite://", poolclass=StaticPool)
    upgrade(engine)
    number = rev_id or f"{int(head()) + 1:04d}"
    with engine.connect() as connection:
        script = command.revision(_config(connection), message=message, autogenerate=True, rev_id=number)
    if script is None or isinstance(script, list):
        raise SchemaError("alembic wrote no single revision")
    _scripts.cache_clear()
    path = Path(script.path)
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(path)], check=False, timeout=60)
    return path


def _unknown(revision_id: str) -> bool:
    try:
        return _scripts().get_revision(revision_id) is None
    except CommandError:
        return True


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.control_schema", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("revision", help="write the next migration from the SQLModel classes")
    new.add_argument("message")
    args = parser.parse_args(argv)
    if args.command == "revision":
        print(revision(args.message))
    return 0


if __name__ == "__main__":
    sys.exit(main())
