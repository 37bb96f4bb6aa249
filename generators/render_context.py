"""Everything the templates need, computed in Python from a blueprint: names, types, routes,
foreign keys, link tables and test samples.

Templates stay simple and safe: they loop over these frozen records and place identifiers
and ready-made code fragments; blueprint text (labels, descriptions) only reaches a file
through a language filter. Entities, attributes and relationships come in a fixed order
(entities and relationships sorted by name, attributes as declared), so the same blueprint
always gives the same context.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from generators.context_models import (
    AttributeContext,
    EntityContext,
    LinkContext,
    LinkEnd,
    ProductContext,
    ReferenceContext,
)
from generators.filters import py
from generators.imports import entity_imports
from generators.naming import (
    CLASS_SUFFIXES,
    RESERVED_CLASSES,
    RESERVED_COLUMNS,
    RESERVED_TABLES,
    NameRegistry,
    camel,
)
from generators.type_map import SAMPLE_CAPACITY, TYPES, default_literal, enum_literal, invalid_enum_value
from ontology.identifiers import plural
from ontology.models import ACCESS_ACTIONS, Attribute, Blueprint, Entity, Relationship

__all__ = [
    "AttributeContext",
    "EntityContext",
    "LinkContext",
    "LinkEnd",
    "ProductContext",
    "ReferenceContext",
    "build_context",
]

MAX_TEST_ROWS = 3
PRODUCT_VERSION = "0.1.0"


def _segment(ident: str) -> str:
    return ident.replace("_", "-")


def _attribute(attr: Attribute, where: str) -> AttributeContext:
    info = TYPES[attr.type]
    values = tuple(attr.enum_values)
    default = default_literal(attr, where)
    input_type, filter_type, sample, invalid = info.input_type, info.filter_type, info.sample, info.invalid
    if attr.type == "enum":
        input_type = filter_type = enum_literal(values)
        sample = f"{py(list(values))}[n % {len(values)}]"
        invalid = (py(invalid_enum_value(values)),)
    sample = sample.replace("{name}", attr.name)
    return AttributeContext(
        name=attr.name,
        label=attr.label or attr.name.replace("_", " ").capitalize(),
        type=attr.type,
        required=attr.required,
        needed=attr.required and default is None,
        unique=attr.unique,
        pii=attr.pii,
        enum_values=values,
        input_type=input_type,
        read_type=info.read_type,
        filter_type=filter_type,
        column=info.column,
        default_expr=default[0] if default else None,
        default_json=default[1] if default else None,
        sample=sample,
        example=py(_row_one(sample)),
        invalid=invalid,
        filterable=info.filterable,
        searchable=info.searchable,
        compare=info.compare,
        indexed=attr.indexed,
    )


def _row_one(sample: str) -> Any:
    """The value `sample` gives row 1: the attribute's example in the OpenAPI document, so a client (and the
    contract run, which otherwise draws a value for every attribute without one) sees a valid value. The
    expression is the type table's own, with only the attribute's checked name and the blueprint's enum
    values (as Python literals) put in, and runs without builtins."""
    return eval(sample, {"__builtins__": {}}, {"n": 1})


def _capacity(attrs: tuple[AttributeContext, ...]) -> int:
    rows = MAX_TEST_ROWS
    for a in attrs:
        if a.unique:
            rows = min(rows, len(a.enum_values) if a.type == "enum" else SAMPLE_CAPACITY.get(a.type, rows))
    return max(rows, 1)


@dataclass
class _Draft:
    """An entity while its relationships are being attached."""

    entity: Entity
    cls: str
    table: str
    attributes: tuple[AttributeContext, ...]
    columns: NameRegistry
    references: list[ReferenceContext] = field(default_factory=list)
    children: list[ReferenceContext] = field(default_factory=list)
    links: list[LinkEnd] = field(default_factory=list)


def _drafts(bp: Blueprint, classes: NameRegistry, tables: NameRegistry) -> dict[str, _Draft]:
    drafts: dict[str, _Draft] = {}
    order = {e.name: i for i, e in enumerate(bp.entities)}
    for ent in sorted(bp.entities, key=lambda e: e.name):
        i = order[ent.name]
        base = camel(ent.name) or "Item"
        if base in RESERVED_CLASSES:
            base += "Entity"
        attrs = tuple(_attribute(a, f"entities[{i}].attributes[{j}]") for j, a in enumerate(ent.attributes))
        columns = NameRegistry(RESERVED_COLUMNS | {a.name for a in attrs})
        cls = classes.claim_family(base, CLASS_SUFFIXES)
        drafts[ent.name] = _Draft(ent, cls, tables.claim(plural(ent.name), sep="_"), attrs, columns)
    return drafts


def _link(rel: Relationship, src: _Draft, dst: _Draft, classes: NameRegistry, tables: NameRegistry) -> LinkContext:
    cls = classes.claim(f"{src.cls}{camel(rel.source_role)}Link")
    table = tables.claim(f"{rel.source}_{rel.source_role}", sep="_")
    s_col = f"{rel.source}_id"
    t_col = f"{rel.target}_id" if rel.target != rel.source else f"related_{rel.target}_id"
    s_seg, t_seg = _segment(rel.source_role), _segment(rel.target_role)
    src.links.append(
        LinkEnd(rel.source_role, s_seg, s_col, t_col, rel.target, dst.cls, "/" + _segment(dst.table), cls, True, t_seg)
    )
    dst.links.append(
        LinkEnd(rel.target_role, t_seg, t_col, s_col, rel.source, src.cls, "/" + _segment(src.table), cls, False, s_seg)
    )
    return LinkContext(
        cls=cls,
        table=table,
        source=rel.source,
        source_table=src.table,
        source_column=s_col,
        source_role=rel.source_role,
        target=rel.target,
        target_table=dst.table,
        target_column=t_col,
        target_role=rel.target_role,
    )


def _relationships(
    bp: Blueprint, drafts: dict[str, _Draft], classes: NameRegistry, tables: NameRegistry
) -> list[LinkContext]:
    links: list[LinkContext] = []
    for rel in sorted(bp.relationships, key=lambda r: (r.source, r.source_role, r.target, r.target_role)):
        src, dst = drafts[rel.source], drafts[rel.target]
        if rel.cardinality == "many-to-many":
            links.append(_link(rel, src, dst, classes, tables))
            continue
        if rel.cardinality == "one-to-many":
            parent, child, parent_role, child_role = src, dst, rel.source_role, rel.target_role
        else:
            parent, child, parent_role, child_role = dst, src, rel.target_role, rel.source_role
        ref = ReferenceContext(
            child=child.entity.name,
            child_cls=child.cls,
            column=_fk_column(child.columns, child_role),
            child_role=child_role,
            parent=parent.entity.name,
            parent_cls=parent.cls,
            parent_table=parent.table,
            parent_route="/" + _segment(parent.table),
            parent_role=parent_role,
            segment=_segment(parent_role),
            eager=rel.eager and _embeddable(drafts, parent.entity.name, child.entity.name),
        )
        child.references.append(ref)
        parent.children.append(ref)
    return links


def _embeddable(drafts: dict[str, _Draft], parent: str, child: str) -> bool:
    """Whether `parent`'s read model can embed `child` rows: never itself, nor a row that embeds it (a cycle)."""
    reached, todo = set(), [child]
    while todo:
        name = todo.pop()
        if name == parent:
            return False
        reached.add(name)
        todo += [r.child for r in drafts[name].children if r.eager and r.child not in reached]
    return True


def _fk_column(columns: NameRegistry, role: str) -> str:
    """`{role}_id`, or `{role}_ref_id` when an attribute or the service already uses that name."""
    plain = f"{role}_id"
    return columns.claim(plain if columns.free(plain) else f"{role}_ref_id", sep="_")


def _search_param(attrs: tuple[AttributeContext, ...], enabled: bool) -> str | None:
    if not enabled or not any(a.searchable for a in attrs):
        return None
    names = {a.name for a in attrs}
    return NameRegistry(names).claim("q", sep="_")


def _entity(d: _Draft, search: bool, audit_fields: bool) -> EntityContext:
    return EntityContext(
        name=d.entity.name,
        label=d.entity.label or d.entity.name.replace("_", " ").capitalize(),
        description=d.entity.description,
        cls=d.cls,
        table=d.table,
        route="/" + _segment(d.table),
        attributes=d.attributes,
        references=tuple(d.references),
        children=tuple(sorted(d.children, key=lambda r: (r.child, r.column))),
        links=tuple(sorted(d.links, key=lambda e: e.role)),
        search_param=_search_param(d.attributes, search),
        rows=_capacity(d.attributes),
        page_size=d.entity.page_size,
        order_index=(("tenant_id", "created_at", "id") if audit_fields else ("tenant_id", "id"))
        if d.entity.order_indexed
        else (),
    )


def build_context(bp: Blueprint, trace_id: str) -> ProductContext:
    """The render context of `bp` for a build with `trace_id`; raises InvalidInputError on an unusable default."""
    classes = NameRegistry(RESERVED_CLASSES)
    tables = NameRegistry(RESERVED_TABLES)
    drafts = _drafts(bp, classes, tables)
    links = _relationships(bp, drafts, classes, tables)
    features = bp.features
    entities = [_entity(d, features.search, features.audit_fields) for d in drafts.values()]
    entities = [
        replace(
            e,
            imports=entity_imports(e, features),
            access={action: bp.access.allowed(e.name, action) for action in ACCESS_ACTIONS},
        )
        for e in entities
    ]
    return ProductContext(
        name=bp.name,
        slug=bp.slug,
        tenant=bp.tenant,
        description=bp.description,
        version=PRODUCT_VERSION,
        blueprint_hash=bp.hash,
        trace_id=trace_id,
        entities=tuple(entities),
        links=tuple(links),
        audit_fields=features.audit_fields,
        soft_delete=features.soft_delete,
        search=features.search,
        domain_events=features.domain_events,
        p95_latency_ms=bp.slo.p95_latency_ms,
        error_rate=bp.slo.error_rate,
        roles=tuple(bp.access.roles),
    )
