"""The first-party import block of each per-entity file, sorted exactly as ruff's isort wants it.

Which modules a file imports depends on the entity's relationships (a parent's router imports
its children's services, a service imports its parents' tables, ...), so the blocks are built
here rather than in the templates; they are placed verbatim after the third-party imports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from generators.context_models import EntityContext
from generators.naming import format_imports, format_module_imports
from ontology.models import Features

__all__ = ["entity_imports"]

_DEFAULT_NEEDS = {"Day(": "Day", "Instant.": "Instant", "Identifier(": "Identifier"}


def _values_of_domain(e: EntityContext, features: Features) -> set[str]:
    names = {"Identifier", "Str"}
    for a in e.attributes:
        names.add(a.read_type)
        names.update(t for t in (a.input_type, a.filter_type) if t and not t.startswith("Literal"))
        for prefix, name in _DEFAULT_NEEDS.items():
            if a.default_expr and a.default_expr.startswith(prefix):
                names.add(name)
    if features.audit_fields:
        names.add("Instant")
    return names


def _table(e: EntityContext, features: Features) -> dict[str, set[str]]:
    values = {"Identifier", "Str", "new_id"} | {a.read_type for a in e.attributes}
    infra = {a.column.split("(")[0] for a in e.attributes} & {"DecimalText", "UTCDateTime"}
    if features.audit_fields:
        values |= {"Instant", "utc_now"}
    if features.audit_fields or features.soft_delete:
        values.add("Instant")
        infra.add("UTCDateTime")
    modules = {"app.domain.values": values}
    if infra:
        modules["app.infrastructure.types"] = infra
    return modules


def _service(e: EntityContext) -> dict[str, set[str]]:
    modules: dict[str, set[str]] = defaultdict(set)
    modules["app.application.service"].add("EntityService")
    modules[f"app.domain.entities.{e.name}"].add(e.cls)
    modules[f"app.infrastructure.repositories.{e.name}"].add(f"{e.cls}Repository")
    modules[f"app.infrastructure.tables.{e.name}"].add(f"{e.cls}Row")
    for r in e.references:
        modules[f"app.infrastructure.tables.{r.parent}"].add(f"{r.parent_cls}Row")
    for end in e.links:
        modules["app.application.service"].add("LinkSpec")
        modules["app.infrastructure.links"].add(end.link_cls)
        modules[f"app.infrastructure.tables.{end.other}"].add(f"{end.other_cls}Row")
        modules[f"app.domain.entities.{end.other}"].add(end.other_cls)
    return modules


def _router(e: EntityContext) -> dict[str, set[str]]:
    modules: dict[str, set[str]] = defaultdict(set)
    modules["app.api.contract"].add("responses")
    modules["app.api.auth"] |= {"PrincipalDep", "allow", "check_query"}
    modules["app.api.access"] |= {"visible", "visible_page"}
    modules["app.api.dependencies"] |= {"RowId", "SessionDep", "TenantDep"}
    modules[f"app.application.services.{e.name}"].add(f"{e.cls}Service")
    modules[f"app.domain.entities.{e.name}"] |= {e.cls, f"{e.cls}Create", f"{e.cls}Filters", f"{e.cls}Update"}
    modules["app.domain.pagination"].add("Page")
    for r in e.children:
        modules["app.domain.pagination"].add("PageParams")
        modules[f"app.application.services.{r.child}"].add(f"{r.child_cls}Service")
        modules[f"app.domain.entities.{r.child}"].add(r.child_cls)
    for end in e.links:
        modules["app.domain.pagination"].add("PageParams")
        modules[f"app.domain.entities.{end.other}"].add(end.other_cls)
        if end.owner:
            modules["app.api.dependencies"].add("OtherRowId")
    return modules


def _test(e: EntityContext, features: Features) -> str:
    aliases = {"samples": f"tests.samples.{e.name}"}
    others: Iterable[str] = [r.parent for r in e.references] + [end.other for end in e.links if end.owner]
    for other in others:
        if other != e.name:
            aliases[f"samples_{other}"] = f"tests.samples.{other}"
    support = {"ServiceClient", "all_ids", "assert_matches", "created"} | ({"as_param"} if e.filterable else set())
    modules: dict[str, set[str]] = {"tests.support": support}
    if features.domain_events:
        modules["app.infrastructure.outbox"] = {"OutboxEvent"}
    return format_module_imports(aliases) + "\n" + format_imports(modules)


def entity_imports(e: EntityContext, features: Features) -> dict[str, str]:
    """Import blocks of `e`'s files by kind: domain, table, repository, service, router, test."""
    return {
        "domain": format_imports(
            {
                "app.domain.pagination": {"PageParams", *(["MAX_LIMIT"] if e.page_size else [])},
                "app.domain.values": _values_of_domain(e, features),
                **{f"app.domain.entities.{r.child}": {r.child_cls} for r in e.embeds},
            }
        ),
        "table": format_imports(_table(e, features)),
        "repository": format_imports(
            {
                "app.infrastructure.repository": {"TenantRepository"},
                f"app.infrastructure.tables.{e.name}": {f"{e.cls}Row"},
            }
        ),
        "service": format_imports(_service(e)),
        "router": format_imports(_router(e)),
        "test": _test(e, features),
    }
