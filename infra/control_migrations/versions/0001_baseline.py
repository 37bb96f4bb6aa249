"""The control database as it stood when migrations began: intake, products, builds, governance, accounts.

A database made before migrations (by `create_all` and the column patches that came after it) holds
some or all of these tables already: those are kept with their rows, the columns added since then
(`intentrecord.claim`, the audit chain's `prev_hash` and `hash`) are added where missing, and the
database is then at this revision like a new one.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TEXT = sa.String()
_TIME = sa.DateTime(timezone=True)


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer(), nullable=False, primary_key=True)


def _tables() -> list[tuple[str, list[Any], list[tuple[str, bool]]]]:
    """(name, columns and constraints, indexed columns with uniqueness) of every table of this revision."""
    return [
        ("intentrecord", [
            _id(), sa.Column("tenant", _TEXT, nullable=False), sa.Column("product", _TEXT, nullable=False),
            sa.Column("text", sa.Text(), nullable=False), sa.Column("blueprint_yaml", sa.Text(), nullable=True),
            sa.Column("revision", sa.Integer(), nullable=False), sa.Column("status", _TEXT, nullable=False),
            sa.Column("trace_id", _TEXT, nullable=True), sa.Column("run_id", _TEXT, nullable=True),
            sa.Column("claim", _TEXT, nullable=True), sa.Column("detail", sa.Text(), nullable=True),
            sa.Column("submitted_at", _TIME, nullable=False), sa.Column("updated_at", _TIME, nullable=False),
            sa.Column("actor", _TEXT, nullable=False),
            sa.UniqueConstraint("tenant", "product", "revision"),
        ], [("product", False), ("status", False), ("tenant", False)]),
        ("productrecord", [
            _id(), sa.Column("tenant", _TEXT, nullable=False), sa.Column("product", _TEXT, nullable=False),
            sa.Column("revision", sa.Integer(), nullable=False), sa.Column("trace_id", _TEXT, nullable=True),
            sa.Column("status", _TEXT, nullable=False), sa.Column("repo_path", _TEXT, nullable=True),
            sa.Column("service_url", _TEXT, nullable=True), sa.Column("updated_at", _TIME, nullable=False),
            sa.Column("stages", sa.JSON(), nullable=False), sa.Column("durations", sa.JSON(), nullable=False),
            sa.UniqueConstraint("tenant", "product"),
        ], [("tenant", False)]),
        ("buildrecord", [
            _id(), sa.Column("tenant", _TEXT, nullable=False), sa.Column("product", _TEXT, nullable=False),
            sa.Column("revision", sa.Integer(), nullable=False), sa.Column("trace_id", _TEXT, nullable=False),
            sa.Column("template", _TEXT, nullable=False), sa.Column("patterns", _TEXT, nullable=False),
            sa.Column("passed", sa.Boolean(), nullable=False), sa.Column("tests_passed", sa.Integer(), nullable=False),
            sa.Column("tests_failed", sa.Integer(), nullable=False),
            sa.Column("lint_findings", sa.Integer(), nullable=False),
            sa.Column("duration_s", sa.Float(), nullable=False), sa.Column("p95_ms", sa.Float(), nullable=True),
            sa.Column("error_rate", sa.Float(), nullable=True), sa.Column("slo_breaches", sa.Integer(), nullable=False),
            sa.Column("finished_at", _TIME, nullable=False),
        ], [("tenant", False)]),
        ("approvalrecord", [
            _id(), sa.Column("tenant", _TEXT, nullable=False), sa.Column("product", _TEXT, nullable=False),
            sa.Column("env", _TEXT, nullable=False), sa.Column("commit", _TEXT, nullable=False),
            sa.Column("decision", _TEXT, nullable=False), sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("actor", _TEXT, nullable=False), sa.Column("at", _TIME, nullable=False),
        ], [("tenant", False)]),
        ("auditevent", [
            _id(), sa.Column("at", _TIME, nullable=False), sa.Column("actor", _TEXT, nullable=False),
            sa.Column("action", _TEXT, nullable=False), sa.Column("outcome", _TEXT, nullable=False),
            sa.Column("tenant", _TEXT, nullable=True), sa.Column("product", _TEXT, nullable=True),
            sa.Column("detail", sa.Text(), nullable=False), sa.Column("prev_hash", _TEXT, nullable=True),
            sa.Column("hash", _TEXT, nullable=True),
            sa.UniqueConstraint("prev_hash"),
        ], [("tenant", False)]),
        ("deploymentrecord", [
            _id(), sa.Column("tenant", _TEXT, nullable=False), sa.Column("product", _TEXT, nullable=False),
            sa.Column("env", _TEXT, nullable=False), sa.Column("url", _TEXT, nullable=True),
            sa.Column("port", sa.Integer(), nullable=True), sa.Column("pid", sa.Integer(), nullable=True),
            sa.Column("revision", sa.Integer(), nullable=True), sa.Column("commit", _TEXT, nullable=True),
            sa.Column("trace_id", _TEXT, nullable=True), sa.Column("workdir", _TEXT, nullable=True),
            sa.Column("status", _TEXT, nullable=False), sa.Column("started_at", _TIME, nullable=False),
            sa.UniqueConstraint("tenant", "product", "env"),
        ], [("tenant", False)]),
        ("environmentrelease", [
            _id(), sa.Column("tenant", _TEXT, nullable=False), sa.Column("product", _TEXT, nullable=False),
            sa.Column("env", _TEXT, nullable=False), sa.Column("commit", _TEXT, nullable=False),
            sa.Column("revision", sa.Integer(), nullable=True), sa.Column("trace_id", _TEXT, nullable=True),
            sa.Column("status", _TEXT, nullable=False), sa.Column("deployed_at", _TIME, nullable=False),
        ], [("tenant", False)]),
        ("userrecord", [
            _id(), sa.Column("name", _TEXT, nullable=False), sa.Column("kind", _TEXT, nullable=False),
            sa.Column("password_hash", _TEXT, nullable=True), sa.Column("factory_admin", sa.Boolean(), nullable=False),
            sa.Column("disabled", sa.Boolean(), nullable=False), sa.Column("created_at", _TIME, nullable=False),
            sa.Column("created_by", _TEXT, nullable=False),
            sa.UniqueConstraint("name"),
        ], []),
        ("membershiprecord", [
            _id(), sa.Column("user", _TEXT, nullable=False), sa.Column("tenant", _TEXT, nullable=False),
            sa.Column("role", _TEXT, nullable=False),
            sa.UniqueConstraint("user", "tenant", "role"),
        ], [("tenant", False), ("user", False)]),
        ("tokenrecord", [
            _id(), sa.Column("user", _TEXT, nullable=False), sa.Column("label", _TEXT, nullable=False),
            sa.Column("digest", _TEXT, nullable=False), sa.Column("created_at", _TIME, nullable=False),
            sa.Column("expires_at", _TIME, nullable=False), sa.Column("revoked_at", _TIME, nullable=True),
            sa.Column("last_used_at", _TIME, nullable=True),
            sa.UniqueConstraint("digest"),
        ], [("user", False)]),
    ]  # fmt: skip


_ADDED_LATER = {"intentrecord": ("claim",), "auditevent": ("prev_hash", "hash")}
"""Columns that databases made before migrations may lack: added, nullable, where missing."""


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    present = set(inspector.get_table_names())
    for name, parts, indexed in _tables():
        if name not in present:
            op.create_table(name, *parts)
            for column, unique in indexed:
                op.create_index(op.f(f"ix_{name}_{column}"), name, [column], unique=unique)
            continue
        have = {column["name"] for column in inspector.get_columns(name)}
        for column in _ADDED_LATER.get(name, ()):
            if column not in have:
                op.add_column(name, sa.Column(column, _TEXT, nullable=True))
    if "auditevent" in present:
        _audit_chain_unique(inspector)


def _audit_chain_unique(inspector: sa.Inspector) -> None:
    """An older audit table gets the chain's uniqueness as an index (SQLite cannot add a constraint in place)."""
    unique: set[tuple[str | None, ...]] = {
        tuple(u["column_names"]) for u in inspector.get_unique_constraints("auditevent")
    }
    unique |= {tuple(i["column_names"]) for i in inspector.get_indexes("auditevent") if i.get("unique")}
    if ("prev_hash",) not in unique:
        op.create_index("ix_auditevent_prev_hash_chain", "auditevent", ["prev_hash"], unique=True)


def downgrade() -> None:
    for name, _parts, _indexed in reversed(_tables()):
        op.drop_table(name)
