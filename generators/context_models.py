"""The records a template pack renders from: product, entities, attributes, references, links.

They are frozen and hold only identifiers, ready-made code fragments and the blueprint's text
(which templates pass through a language filter); `generators.render_context` builds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generators.naming import export_key, format_imports, natural

__all__ = [
    "INFRA_TYPES",
    "AttributeContext",
    "EntityContext",
    "LinkContext",
    "LinkEnd",
    "ProductContext",
    "ReferenceContext",
]

INFRA_TYPES = ("DecimalText", "UTCDateTime")
"""Column types of app.infrastructure.types (the others come from sqlalchemy)."""


@dataclass(frozen=True)
class AttributeContext:
    """One attribute: its column, its annotations, its default and its test samples."""

    name: str
    label: str
    type: str
    required: bool  # must never be null
    needed: bool  # must be sent on create (required without a default)
    unique: bool
    pii: bool
    enum_values: tuple[str, ...]
    input_type: str
    read_type: str
    filter_type: str
    column: str
    default_expr: str | None
    default_json: Any
    sample: str
    example: str  # the sample of row 1 as a Python literal: the attribute's example in the OpenAPI document
    invalid: tuple[str, ...]
    filterable: bool
    searchable: bool
    compare: str
    indexed: bool = False  # the blueprint asks for an index on (tenant_id, its column)


@dataclass(frozen=True)
class ReferenceContext:
    """A foreign key: `child.column` points to a `parent` row of the same tenant."""

    child: str
    child_cls: str
    column: str
    child_role: str  # the name of the parent on the child, e.g. "customer"
    parent: str
    parent_cls: str
    parent_table: str
    parent_route: str
    parent_role: str  # the name of the children on the parent, e.g. "invoices"
    segment: str  # the nested route under the parent, e.g. "invoices" in /customers/{id}/invoices
    eager: bool = False  # the parent's read model embeds these children, loaded with selectinload

    @property
    def label(self) -> str:
        return self.child_role.replace("_", " ").capitalize()


@dataclass(frozen=True)
class LinkEnd:
    """One side of a many-to-many link as seen from an entity: its role and the entity at the other end."""

    role: str
    segment: str
    own_column: str
    other_column: str
    other: str
    other_cls: str
    other_route: str
    link_cls: str
    owner: bool  # the source side, which creates and removes links
    back_segment: str  # the route of the other side's role, back to this entity


@dataclass(frozen=True)
class LinkContext:
    """A many-to-many link table between two entities of the same tenant."""

    cls: str
    table: str
    source: str
    source_table: str
    source_column: str
    source_role: str
    target: str
    target_table: str
    target_column: str
    target_role: str


@dataclass(frozen=True)
class EntityContext:
    """One entity with all the names its files use."""

    name: str
    label: str
    description: str
    cls: str
    table: str
    route: str
    attributes: tuple[AttributeContext, ...]
    references: tuple[ReferenceContext, ...]  # foreign keys this entity holds
    children: tuple[ReferenceContext, ...]  # foreign keys of other entities pointing here
    links: tuple[LinkEnd, ...]  # many-to-many roles on this entity
    search_param: str | None
    rows: int  # how many rows the tests can create with distinct samples
    page_size: int | None = None  # the default limit of its lists when the blueprint caps it (None: 50)
    order_index: tuple[str, ...] = ()  # the columns of an index on its list order, when the blueprint asks for one
    imports: Mapping[str, str] = field(default_factory=dict)  # first-party import block per file kind
    access: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # action -> roles granted it

    @property
    def embeds(self) -> tuple[ReferenceContext, ...]:
        """The children its read model embeds (a relationship loaded eagerly), each under its role's name."""
        return tuple(r for r in self.children if r.eager)

    def denied(self, action: str, roles: tuple[str, ...]) -> tuple[str, ...]:
        """The roles of `roles` not granted `action` on this entity."""
        return tuple(r for r in roles if r not in self.access.get(action, ()))

    @property
    def pii_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes if a.pii)

    @property
    def needed(self) -> tuple[AttributeContext, ...]:
        return tuple(a for a in self.attributes if a.needed)

    @property
    def unique(self) -> tuple[AttributeContext, ...]:
        return tuple(a for a in self.attributes if a.unique)

    @property
    def indexed(self) -> tuple[AttributeContext, ...]:
        """Attributes with an index on (tenant_id, attribute): what a tenant's lists filtered by them use."""
        return tuple(a for a in self.attributes if a.indexed)

    @property
    def filterable(self) -> tuple[AttributeContext, ...]:
        return tuple(a for a in self.attributes if a.filterable)

    @property
    def searchable_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes if a.searchable) if self.search_param else ()

    @property
    def defaults(self) -> tuple[AttributeContext, ...]:
        return tuple(a for a in self.attributes if a.default_expr is not None)

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes if a.required)

    @property
    def owned_links(self) -> tuple[LinkEnd, ...]:
        return tuple(end for end in self.links if end.owner)

    @property
    def uses_decimal(self) -> bool:
        return any(a.default_expr.startswith("Decimal(") for a in self.defaults if a.default_expr)

    @property
    def uses_literal(self) -> bool:
        return any(a.type == "enum" for a in self.attributes)

    @property
    def sql_imports(self) -> tuple[str, ...]:
        """The sqlalchemy names its table module uses, in isort order."""
        names = {a.column.split("(")[0] for a in self.attributes} | {"String"}
        names -= set(INFRA_TYPES)
        if self.references:
            names.add("Uuid")
        if self.unique:
            names.add("UniqueConstraint")
        if self.indexed or self.order_index:
            names.add("Index")
        return tuple(sorted(names))


@dataclass(frozen=True)
class ProductContext:
    """The whole product: what every template receives as `product`."""

    name: str
    slug: str
    tenant: str
    description: str
    version: str
    blueprint_hash: str
    trace_id: str
    entities: tuple[EntityContext, ...]
    links: tuple[LinkContext, ...]
    audit_fields: bool
    soft_delete: bool
    search: bool
    domain_events: bool
    p95_latency_ms: float
    error_rate: float
    roles: tuple[str, ...] = ()  # the roles a token can carry, from the blueprint's access section

    @property
    def eager(self) -> bool:
        """Whether any entity embeds related rows (loaded eagerly)."""
        return any(e.embeds for e in self.entities)

    def entity(self, name: str) -> EntityContext:
        for e in self.entities:
            if e.name == name:
                return e
        raise KeyError(name)

    @property
    def table_classes(self) -> tuple[str, ...]:
        """Every table class, in the order app.infrastructure.schema imports them."""
        names = [f"{e.cls}Row" for e in self.entities] + [link.cls for link in self.links]
        if self.domain_events:
            names.append("OutboxEvent")
        return tuple(sorted(names, key=export_key))

    @property
    def schema_imports(self) -> str:
        modules: dict[str, set[str]] = {f"app.infrastructure.tables.{e.name}": {f"{e.cls}Row"} for e in self.entities}
        if self.links:
            modules["app.infrastructure.links"] = {link.cls for link in self.links}
        if self.domain_events:
            modules["app.infrastructure.outbox"] = {"OutboxEvent"}
        return format_imports(modules)

    @property
    def router_imports(self) -> str:
        lines = [f"from app.api.routers.{e.name} import router as {e.name}_router" for e in self.entities]
        return "\n".join(sorted(lines, key=lambda line: natural(line.split()[1])))
