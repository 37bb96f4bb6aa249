"""Inbound push hooks of products: the secret a git host signs pushes with, and the upstream to fetch.

Revision ID: 0004
Revises: 0003
Created: 2026-12-05 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "git_hook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("product", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("upstream", sa.Text(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant", "product"),
    )
    with op.batch_alter_table("git_hook", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_git_hook_tenant"), ["tenant"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("git_hook", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_git_hook_tenant"))

    op.drop_table("git_hook")
