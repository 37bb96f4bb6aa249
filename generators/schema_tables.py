"""The database tables a blueprint gives a generated service, as data a migration can be computed from.

The names come from the render context (`generators.render_context`), so they are exactly the
tables, columns, constraints and indexes the service's SQLModel tables declare. Every table and
column also has a `key` that stays the same across revisions while its name may change (a foreign
key column `customer_id` that becomes `customer_ref_id`, an attribute renamed with `renamed_from`),
so two revisions' tables can be compared column by column.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from generators.context_models import EntityContext, LinkContext, ProductContext
from ontology.models import Attribute, Blueprint

__all__ = ["Column", "Table", "schema_tables"]

INFRA_TYPES = ("DecimalText", "UTCDateTime")
"""Column types of the service's app.infrastructure.types; the others are sqlalchemy's (`sa.`)."""


@dataclass(frozen=True)
class Column:
    """One column: its identity across revisions, its name, its type and its constraints."""

    key: str  # "attr:<name>", "ref:<role>:<parent>", "svc:<name>", "link:<side>"
    name: str
    type: str  # the SQLAlchemy type expression a migration writes: "sa.String(255)", "DecimalText(2)"
    kind: str  # the blueprint data type, or what a service column holds ("id", "tenant", "instant", "ref")
    nullable: bool
    primary_key: bool = False
    index: bool = False
    tenant_index: bool = False  # an index on (tenant_id, this column): what a tenant's filtered lists use
    references: str | None = None  # the key of the table a foreign key points to
    ondelete: str | None = None
    renamed_from: str | None = None  # the key this column had in the previous revision
    fill: str | None = None  # a Python expression of the value rows stored before get when the column arrives
    label: str = ""  # how a message names it: "invoice.notes"


@dataclass(frozen=True)
class Table:
    """One table: its identity across revisions, its name, its columns and its unique constraints."""

    key: str  # "entity:<name>", "link:<source>.<role>", "outbox"
    name: str
    label: str  # how a message and allow_data_loss name it: "invoice", "patient.treatments", "outbox"
    columns: tuple[Column, ...]
    unique: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (constraint name, column names)
    indexes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (index name, column names) beyond the columns' own

    def column(self, key: str) -> Column | None:
        for c in self.columns:
            if c.key == key:
                return c
        return None

    def column_key(self, name: str) -> str:
        for c in self.columns:
            if c.name == name:
                return c.key
        raise KeyError(name)


def _type(column: str) -> str:
    """The migration's expression of a type fragment of generators.type_map ("String(255)" -> "sa.String(255)")."""
    return column if column.split("(")[0] in INFRA_TYPES else f"sa.{column}"


def fill_literal(attr: Attribute) -> str | None:
    """A Python expression (stdlib names only) of an attribute's default, for rows stored before it existed."""
    value = attr.default
    if value is None:
        return None
    if attr.type in ("decimal", "money"):
        return f"Decimal({str(value)!r})"
    if attr.type == "date":
        return f"date.fromisoformat({str(value)!r})"
    if attr.type == "datetime":
        return f"datetime.fromisoformat({str(value)!r})"
    if attr.type == "uuid":
        return f"UUID({str(value)!r})"
    return repr(value)


_NOW = "datetime.now(UTC)"


def _service_columns(product: ProductContext, label: str) -> list[Column]:
    columns = [
        Column("svc:id", "id", "sa.Uuid()", "id", nullable=False, primary_key=True),
        Column("svc:tenant_id", "tenant_id", "sa.String(63)", "tenant", nullable=False, index=True),
    ]
    if product.audit_fields:
        for name in ("created_at", "updated_at"):
            columns.append(
                Column(f"svc:{name}", name, "UTCDateTime()", "instant", False, fill=_NOW, label=f"{label}.{name}")
            )
    if product.soft_delete:
        deleted = Column("svc:deleted_at", "deleted_at", "UTCDateTime()", "instant", nullable=True, index=True)
        columns.append(replace(deleted, label=f"{label}.deleted_at"))
    return columns


def _entity_table(product: ProductContext, entity: EntityContext, attributes: dict[str, Attribute]) -> Table:
    columns = _service_columns(product, entity.name)
    for a in entity.attributes:
        attr = attributes[a.name]
        columns.append(
            Column(
                f"attr:{a.name}",
                a.name,
                _type(a.column),
                a.type,
                nullable=not a.required,
                tenant_index=a.indexed,
                renamed_from=f"attr:{attr.renamed_from}" if attr.renamed_from else None,
                fill=fill_literal(attr),
                label=f"{entity.name}.{a.name}",
            )
        )
    for r in entity.references:
        columns.append(
            Column(
                f"ref:{r.child_role}:{r.parent}",
                r.column,
                "sa.Uuid()",
                "ref",
                nullable=True,
                index=True,
                references=f"entity:{r.parent}",
                ondelete="SET NULL",
                label=f"{entity.name}.{r.column}",
            )
        )
    unique = tuple((f"uq_{entity.table}_{a.name}", ("tenant_id", a.name)) for a in entity.unique)
    order = ((f"ix_{entity.table}_{'_'.join(entity.order_index)}", entity.order_index),) if entity.order_index else ()
    return Table(f"entity:{entity.name}", entity.table, entity.name, tuple(columns), unique, order)


def _link_table(link: LinkContext) -> Table:
    ends = (("source", link.source_column, link.source), ("target", link.target_column, link.target))
    columns = [
        Column(f"link:{side}", name, "sa.Uuid()", "ref", False, True, references=f"entity:{entity}", ondelete="CASCADE")
        for side, name, entity in ends
    ]
    columns.append(Column("svc:tenant_id", "tenant_id", "sa.String(63)", "tenant", nullable=False, index=True))
    name = f"{link.source}.{link.source_role}"
    return Table(f"link:{name}", link.table, name, tuple(columns))


def _outbox_table() -> Table:
    def col(name: str, type_: str, kind: str, nullable: bool = False, index: bool = False) -> Column:
        return Column(f"svc:{name}", name, type_, kind, nullable, name == "id", index, label=f"outbox.{name}")

    columns = (
        col("id", "sa.Uuid()", "id"),
        col("tenant_id", "sa.String(63)", "tenant", index=True),
        col("name", "sa.String(200)", "string", index=True),
        col("entity", "sa.String(63)", "string"),
        col("entity_id", "sa.Uuid()", "uuid", index=True),
        col("payload", "sa.Text()", "text"),
        col("occurred_at", "UTCDateTime()", "instant", index=True),
        col("published_at", "UTCDateTime()", "instant", nullable=True),
    )
    return Table("outbox", "outbox_events", "outbox", columns)


def schema_tables(blueprint: Blueprint, product: ProductContext) -> tuple[Table, ...]:
    """Every table of the service rendered from `blueprint` (whose render context is `product`), sorted by key."""
    tables = []
    for entity in product.entities:
        attributes = {a.name: a for a in blueprint.entity(entity.name).attributes}
        tables.append(_entity_table(product, entity, attributes))
    tables.extend(_link_table(link) for link in product.links)
    if product.domain_events:
        tables.append(_outbox_table())
    return tuple(sorted(tables, key=lambda t: t.key))
