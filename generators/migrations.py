"""A product's schema migrations, computed from the difference between two revisions' blueprints.

The first revision gets one migration that creates every table; each later revision whose tables
differ gets one more, chained after the previous one, rendering Alembic operations: tables created,
renamed and dropped, columns added, renamed (`renamed_from`), widened and dropped, constraints and
indexes following their columns. Its `downgrade()` is the same difference taken backwards.

A change that would lose stored values (a dropped entity, attribute, reference or feature column, a
narrowed type) stops the build with one line naming each, until the blueprint lists them in
`allow_data_loss`; a new required column without a default on a table that may hold rows stops it too.
Revision ids are derived from the two blueprints' tables and the previous revision, never random, so
the same two blueprints always give the same file (and a change of labels or descriptions none).
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from generators.migration_code import (
    Script,
    column_code,
    constraints,
    create_foreign_key,
    quote,
    script_text,
)
from generators.render_context import build_context
from generators.schema_tables import Column, Table, schema_tables
from ontology.errors import InvalidInputError
from ontology.models import Blueprint

__all__ = ["VERSIONS", "DataLossError", "PreviousRevision", "migration_digest", "plan_migrations", "read_previous"]

VERSIONS = "migrations/versions"
"""Where a product keeps its migration scripts (the pack's alembic.ini points there)."""

WIDENINGS = frozenset(
    {("string", "text"), ("email", "text"), ("url", "text"), ("enum", "text"), ("email", "string"), ("enum", "string")}
)
"""(old type, new type) pairs whose new column holds every value of the old one unchanged."""

_TRACE = "0" * 32  # the render context's trace id does not reach the tables


class DataLossError(InvalidInputError):
    """A blueprint change that would lose stored values, or cannot fill the rows stored before it."""


@dataclass(frozen=True)
class PreviousRevision:
    """The product as its last release left it: its blueprint and its migration scripts (path -> bytes)."""

    blueprint: Blueprint
    migrations: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def head(self) -> str | None:
        """The newest migration's revision id (None when there is none)."""
        revisions: dict[str, str | None] = {}
        for path, data in self.migrations.items():
            revision, down = _revision_of(path, data)
            revisions[revision] = down
        heads = set(revisions) - {down for down in revisions.values() if down}
        if len(heads) > 1:
            raise InvalidInputError(f"the previous release's migrations have {len(heads)} heads: {sorted(heads)}")
        return next(iter(heads), None)


def _revision_of(path: str, data: bytes) -> tuple[str, str | None]:
    """The `revision` and `down_revision` a migration script assigns."""
    found: dict[str, str | None] = {}
    try:
        tree = ast.parse(data.decode("utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        raise InvalidInputError(f"{path} is not a readable migration script") from None
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                    value = node.value
                    if isinstance(value, ast.Constant) and (value.value is None or isinstance(value.value, str)):
                        found[target.id] = value.value
    revision = found.get("revision")
    if not revision:
        raise InvalidInputError(f"{path} assigns no revision: it is not a migration script")
    return revision, found.get("down_revision")


def read_previous(root: Path, answers_path: str) -> PreviousRevision | None:
    """The revision rendered in `root` (its answers file's blueprint and its migration scripts), if any."""
    try:
        answers = json.loads((root / answers_path).read_text(encoding="utf-8"))
        blueprint = Blueprint.model_validate(answers["blueprint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    folder = root / VERSIONS
    scripts = sorted(folder.glob("*.py")) if folder.is_dir() else []
    return PreviousRevision(blueprint, {f"{VERSIONS}/{p.name}": p.read_bytes() for p in scripts})


# ---------------------------------------------------------------------------------------------- the difference


@dataclass
class _Diff:
    """What going from one revision's tables to another's takes, and what it would cost."""

    old: dict[str, Table]
    new: dict[str, Table]
    pairs: dict[str, dict[str, str]]  # table key -> new column key -> old column key
    forward: bool = True
    allowed: frozenset[str] = frozenset()
    losses: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    def lose(self, name: str, what: str) -> bool:
        """Whether a loss may happen: going back always may; going forward only when allowed."""
        if not self.forward or name in self.allowed:
            return True
        self.losses.append(f"{name} ({what})")
        return False


def _pairs(old: Mapping[str, Table], new: Mapping[str, Table]) -> dict[str, dict[str, str]]:
    """For each table in both revisions: new column key -> the old column key it continues."""
    out: dict[str, dict[str, str]] = {}
    for key, table in new.items():
        before = old.get(key)
        if before is None:
            continue
        matched: dict[str, str] = {}
        for c in table.columns:
            if before.column(c.key) is not None:
                matched[c.key] = c.key
            elif c.renamed_from and before.column(c.renamed_from) is not None and table.column(c.renamed_from) is None:
                matched[c.key] = c.renamed_from
        out[key] = matched
    return out


def _creation_order(tables: list[Table], existing: set[str]) -> tuple[list[Table], set[str]]:
    """Tables in an order where each one's foreign keys point to tables already there; and the keys whose
    foreign keys must wait until every table exists (the tables of a cycle)."""
    ready, order, deferred = set(existing), [], set()
    waiting = sorted(tables, key=lambda t: t.key)
    while waiting:
        for table in waiting:
            if all(c.references in ready or c.references == table.key for c in table.columns if c.references):
                break
        else:
            table = waiting[0]
            deferred.add(table.key)
        waiting.remove(table)
        order.append(table)
        ready.add(table.key)
    return order, deferred


def _is_widening(old: Column, new: Column) -> bool:
    return (old.kind, new.kind) in WIDENINGS


def _table_changes(d: _Diff, key: str, up: Script, names: Mapping[str, str], old_names: Mapping[str, str]) -> None:
    old, new = d.old[key], d.new[key]
    matched = d.pairs[key]
    olds = {c.key: c for c in old.columns}
    before, after = constraints(old, old_names), constraints(new, names)
    first: list[str] = []  # drops, renames, type changes, new columns
    fills: list[str] = []
    second: list[str] = []  # NOT NULL, constraints, indexes
    replaced: set[str] = set()
    not_null: list[Column] = []
    for col in new.columns:
        prev = olds.get(matched.get(col.key, ""))
        if prev is None or prev.type == col.type:
            continue
        if _is_widening(prev, col) or (not d.forward and _is_widening(col, prev)):
            continue
        if d.forward and not d.lose(col.label, f"{prev.kind} narrowed to {col.kind}"):
            continue
        replaced.add(col.key)
    # 1. constraints and indexes that change or go (or whose column is replaced)
    touched = {c.name for c in new.columns if c.key in replaced}
    gone_unique = {n for n, cols in before.unique.items() if after.unique.get(n) != cols or touched & set(cols)}
    gone_index = {n for n, cols in before.index.items() if after.index.get(n) != cols or touched & set(cols)}
    gone_foreign = {n for n, spec in before.foreign.items() if after.foreign.get(n) != spec or spec[0] in touched}
    first += [f'batch_op.drop_constraint({quote(n)}, type_="unique")' for n in sorted(gone_unique)]
    first += [f"batch_op.drop_index({quote(n)})" for n in sorted(gone_index)]
    first += [f'batch_op.drop_constraint({quote(n)}, type_="foreignkey")' for n in sorted(gone_foreign)]
    # 2. columns that go
    kept = set(matched.values())
    for col in old.columns:
        if col.key in kept:
            continue
        if not d.lose(col.label or f"{old.label}.{col.name}", "dropped"):
            continue
        first.append(f"batch_op.drop_column({quote(col.name)})")
        d.changes.append(f"{old.name}: drop column {col.name}")
    # 3. columns that stay: renamed, retyped, nullability
    for col in new.columns:
        if col.key not in matched:
            continue
        prev = olds[matched[col.key]]
        if prev.name != col.name:
            first.append(f"batch_op.alter_column({quote(prev.name)}, new_column_name={quote(col.name)})")
            d.changes.append(f"{new.name}: rename column {prev.name} to {col.name}")
        if col.key in replaced:
            first.append(f"batch_op.drop_column({quote(col.name)})")
            first.append(f"batch_op.add_column({column_code(col, nullable=True)})")
            d.changes.append(f"{new.name}: replace column {col.name} ({prev.kind} -> {col.kind}, values dropped)")
            if not col.nullable:
                not_null.append(col)
            continue
        if prev.type != col.type:
            first.append(
                f"batch_op.alter_column({quote(col.name)}, type_={col.type}, existing_type={prev.type}, "
                f"existing_nullable={prev.nullable})"
            )
            d.changes.append(f"{new.name}: change column {col.name} from {prev.kind} to {col.kind}")
        if prev.nullable and not col.nullable:
            not_null.append(col)
        elif col.nullable and not prev.nullable:
            first.append(f"batch_op.alter_column({quote(col.name)}, existing_type={col.type}, nullable=True)")
            d.changes.append(f"{new.name}: column {col.name} becomes optional")
    # 4. new columns
    for col in new.columns:
        if col.key in matched:
            continue
        first.append(f"batch_op.add_column({column_code(col, nullable=True)})")
        d.changes.append(f"{new.name}: add column {col.name}")
        if not col.nullable:
            not_null.append(col)
    # 5. values for columns that become NOT NULL, then the constraint
    for col in not_null:
        if col.fill is None:
            if d.forward:
                d.problems.append(
                    f"{col.label} is required and has no default, so the rows stored before have no value for it: "
                    "give it a default or make it optional"
                )
            continue
        quoted = quote(col.name)
        fills += [
            f"    rows = sa.table({quote(new.name)}, sa.column({quoted}, {col.type}))",
            f"    op.execute(rows.update().where(rows.c[{quoted}].is_(None)).values({{{quoted}: {col.fill}}}))",
        ]
        second.append(f"batch_op.alter_column({quote(col.name)}, existing_type={col.type}, nullable=False)")
        d.changes.append(f"{new.name}: column {col.name} is required (rows stored before get {col.fill})")
    for name, cols in after.unique.items():
        if name not in before.unique or name in gone_unique:
            second.append(f"batch_op.create_unique_constraint({quote(name)}, [{', '.join(quote(c) for c in cols)}])")
    for name, cols in after.index.items():
        if name not in before.index or name in gone_index:
            second.append(f"batch_op.create_index({quote(name)}, [{', '.join(quote(c) for c in cols)}])")
    for col in new.columns:  # an index that comes or goes on a column that stays (the finding rules ask for one)
        prev = olds.get(matched.get(col.key, ""))
        if prev is not None and prev.tenant_index != col.tenant_index and col.key not in replaced:
            what = "index tenant_id and column" if col.tenant_index else "drop the index of tenant_id and column"
            d.changes.append(f"{new.name}: {what} {col.name}")
    for name, cols in sorted(set(new.indexes) ^ set(old.indexes)):
        if name not in dict(old.indexes):
            d.changes.append(f"{new.name}: index {', '.join(cols)}")
        elif name not in dict(new.indexes):
            d.changes.append(f"{new.name}: drop the index on {', '.join(cols)}")
    for name, spec in after.foreign.items():
        if name not in before.foreign or name in gone_foreign:
            second.append(create_foreign_key(name, spec))
    up.batch(new.name, first)
    up.add(*fills)
    up.batch(new.name, second)


def _difference(d: _Diff) -> Script:
    """The operations from `d.old` to `d.new`, in an order each database accepts."""
    up = Script()
    names = {key: t.name for key, t in d.new.items()}
    old_names = {key: t.name for key, t in d.old.items()}
    merged_names = {**old_names, **names}
    for key in sorted(set(d.old) & set(d.new)):
        if d.old[key].name != d.new[key].name:
            up.add(f"    op.rename_table({quote(d.old[key].name)}, {quote(d.new[key].name)})")
            d.changes.append(f"rename table {d.old[key].name} to {d.new[key].name}")
    created, deferred = _creation_order([d.new[k] for k in sorted(set(d.new) - set(d.old))], set(d.old) & set(d.new))
    for table in created:
        up.create(table, merged_names, table.key in deferred)
        d.changes.append(f"create table {table.name}")
    for table in created:
        if table.key in deferred:
            foreign = constraints(table, merged_names).foreign
            up.batch(table.name, [create_foreign_key(name, spec) for name, spec in foreign.items()])
    for key in sorted(set(d.old) & set(d.new), key=lambda k: d.new[k].name):
        _table_changes(d, key, up, merged_names, old_names)
    dropped = [d.old[k] for k in sorted(set(d.old) - set(d.new))]
    order, _ = _creation_order(dropped, set(d.old) - {t.key for t in dropped})
    for table in reversed(order):
        if d.lose(table.label, "dropped with its rows"):
            up.add(f"    op.drop_table({quote(table.name)})")
            d.changes.append(f"drop table {table.name}")
    return up


def _tables(blueprint: Blueprint) -> dict[str, Table]:
    return {t.key: t for t in schema_tables(blueprint, build_context(blueprint, _TRACE))}


def _refuse(d: _Diff) -> None:
    parts = []
    if d.losses:
        names = ", ".join(loss.split(" (")[0] for loss in d.losses)
        parts.append(
            f"the blueprint change would lose stored data: {'; '.join(d.losses)}; "
            f"to accept that, list them in the blueprint's allow_data_loss: [{names}]"
        )
    parts.extend(d.problems)
    if parts:
        raise DataLossError("; ".join(parts))


def _digest(tables: Mapping[str, Table]) -> str:
    return hashlib.sha256(repr(sorted(tables.items())).encode()).hexdigest()


def plan_migrations(blueprint: Blueprint, previous: PreviousRevision | None) -> dict[str, bytes]:
    """The product's migration scripts (path -> bytes): the previous release's, plus one for this blueprint's
    changes when its tables differ. Raises DataLossError, naming each change, for a change that would lose data."""
    carried = dict(previous.migrations) if previous else {}
    head = previous.head if previous else None
    new = _tables(blueprint)
    if previous is None or head is None:
        old: dict[str, Table] = {}
        title = "The tables of the product's first revision with migrations."
    else:
        old = _tables(previous.blueprint)
        title = f"The tables' changes after revision {head}."
    pairs = _pairs(old, new)
    forward = _Diff(old, new, pairs, True, frozenset(blueprint.allow_data_loss))
    up = _difference(forward)
    _refuse(forward)
    if not forward.changes:
        return carried
    back_pairs = {key: {o: n for n, o in matched.items()} for key, matched in pairs.items()}
    back = _difference(_Diff(new, old, back_pairs, False))
    # derived from the previous revision and the two blueprints' tables: a change of labels changes nothing
    revision = hashlib.sha256(f"{head or ''}:{_digest(old)}:{_digest(new)}".encode()).hexdigest()[:12]
    number = len(carried) + 1
    path = f"{VERSIONS}/{number:04d}_{revision}.py"
    text = script_text(title, forward.changes, revision, head, up, back)
    return {**carried, path: text.encode("utf-8")}


def migration_digest(files: Iterable[tuple[str, bytes]]) -> str:
    """A digest of migration scripts, for a stage's fingerprint."""
    digest = hashlib.sha256()
    for path, data in sorted(files):
        digest.update(PurePosixPath(path).as_posix().encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()
