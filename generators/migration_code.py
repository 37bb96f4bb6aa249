"""The code of a generated migration script: Alembic operations as lines, and the file around them.

`generators.migrations` decides what changes; this module only writes it, with the imports the
lines use and nothing else, so the product's linter finds nothing in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from generators.schema_tables import Column, Table

__all__ = ["Constraints", "Script", "column_code", "constraints", "create_foreign_key", "quote", "script_text"]

_NAMES = re.compile(r"\b(Decimal|UUID|DecimalText|UTCDateTime|date|datetime|sa)\b(?=[(.])|(?<=\()UTC(?=\))")
"""The names a migration's code may use that need an import."""


def quote(text: str) -> str:
    return json.dumps(text)


def column_code(c: Column, nullable: bool | None = None) -> str:
    if c.primary_key:
        return f"sa.Column({quote(c.name)}, {c.type}, primary_key=True)"
    null = c.nullable if nullable is None else nullable
    return f"sa.Column({quote(c.name)}, {c.type}, nullable={null})"


def fk_name(table: str, column: str) -> str:
    return f"fk_{table}_{column}"


def create_foreign_key(name: str, spec: tuple[str, str, str]) -> str:
    column, target, ondelete = (quote(part) for part in spec)
    return f'batch_op.create_foreign_key({quote(name)}, {target}, [{column}], ["id"], ondelete={ondelete})'


def ix_name(table: str, column: str) -> str:
    return f"ix_{table}_{column}"


@dataclass(frozen=True)
class Constraints:
    """A table's named constraints and indexes: name -> what it is."""

    unique: dict[str, tuple[str, ...]]
    index: dict[str, tuple[str, ...]]  # name -> its columns
    foreign: dict[str, tuple[str, str, str]]  # name -> (column, referred table, ondelete)


def constraints(table: Table, names: Mapping[str, str]) -> Constraints:
    return Constraints(
        unique=dict(table.unique),
        index={
            **{ix_name(table.name, c.name): (c.name,) for c in table.columns if c.index},
            **{
                ix_name(table.name, f"tenant_id_{c.name}"): ("tenant_id", c.name)
                for c in table.columns
                if c.tenant_index
            },
            **dict(table.indexes),
        },
        foreign={
            fk_name(table.name, c.name): (c.name, names[c.references], c.ondelete or "")
            for c in table.columns
            if c.references
        },
    )


class Script:
    """Lines of one function body, and the names the file must import."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.uses: set[str] = set()

    def add(self, *lines: str) -> None:
        for line in lines:
            self.lines.append(line)
            self.uses.update(_NAMES.findall(line))

    def batch(self, table: str, ops: list[str]) -> None:
        if ops:
            self.add(f"    with op.batch_alter_table({quote(table)}) as batch_op:", *(f"        {op}" for op in ops))

    def create(self, table: Table, names: Mapping[str, str], defer_keys: bool) -> None:
        rows = [f"        {column_code(c)}," for c in table.columns]
        cons = constraints(table, names)
        for name, (col, target, ondelete) in cons.foreign.items():
            if not defer_keys:
                rows.append(
                    f"        sa.ForeignKeyConstraint([{quote(col)}], [{quote(target + '.id')}], "
                    f"name={quote(name)}, ondelete={quote(ondelete)}),"
                )
        for name, cols in cons.unique.items():
            rows.append(f"        sa.UniqueConstraint({', '.join(quote(c) for c in cols)}, name={quote(name)}),")
        self.add("    op.create_table(", f"        {quote(table.name)},", *rows, "    )")
        for name, cols in cons.index.items():
            self.add(f"    op.create_index({quote(name)}, {quote(table.name)}, [{', '.join(quote(c) for c in cols)}])")


def imports(uses: set[str]) -> str:
    stdlib: list[str] = []
    dt = [name for name in ("UTC", "date", "datetime") if name in uses]
    if "UTC" in uses and "datetime" not in dt:
        dt.append("datetime")
    if dt:
        stdlib.append(f"from datetime import {', '.join(sorted(set(dt), key=lambda n: (n != 'UTC', n)))}")
    if "Decimal" in uses:
        stdlib.append("from decimal import Decimal")
    if "UUID" in uses:
        stdlib.append("from uuid import UUID")
    blocks = ["\n".join(stdlib)] if stdlib else []
    blocks.append("import sqlalchemy as sa\nfrom alembic import op" if "sa" in uses else "from alembic import op")
    app = sorted(name for name in ("DecimalText", "UTCDateTime") if name in uses)
    if app:
        blocks.append(f"from app.infrastructure.types import {', '.join(app)}")
    return "\n\n".join(blocks)


def body(script: Script) -> str:
    return "\n".join(script.lines) if script.lines else "    pass"


def script_text(title: str, changes: list[str], revision: str, down: str | None, up: Script, back: Script) -> str:
    listed = "\n".join(f"* {c}" for c in changes)
    uses = up.uses | back.uses
    return (
        f'"""{title}\n\n{listed}\n\nGenerated by the software factory from the difference of two blueprints."""\n\n'
        f"{imports(uses)}\n\n"
        f"revision = {quote(revision)}\n"
        f"down_revision = {quote(down) if down else 'None'}\n"
        "branch_labels = None\n"
        "depends_on = None\n\n\n"
        f"def upgrade() -> None:\n{body(up)}\n\n\n"
        f"def downgrade() -> None:\n{body(back)}\n"
    )
