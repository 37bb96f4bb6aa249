"""Alembic's entry point for the control database: runs on the connection `infra.control_schema` hands it.

Never run `alembic` on these scripts directly: `infra.control_schema.upgrade` holds the lock that makes
processes opening the same database take turns, and `python -m infra.control_schema revision` writes new
revisions against the tables `infra.control.control_tables()` declares.
"""

from __future__ import annotations

from alembic import context

from infra.control_schema import migration_options, target_metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the control database's migrations run through infra.control_schema, not the alembic command")
context.configure(connection=connection, **migration_options(target_metadata()))
with context.begin_transaction():
    context.run_migrations()
