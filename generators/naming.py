"""Collision-free names for generated code: classes, tables, routes and columns.

Blueprint identifiers are already safe snake_case, but two different identifiers can still
meet in generated code: `a1` and `a_1` give the same class name, `bus` and `buse` the same
table, an attribute `customer_id` the same column as the foreign key of a `customer` role, an
entity `doc` the route of the API docs. A registry hands out each name once, in a fixed
order, adding a number on a clash, so the same blueprint always gets the same names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ontology.identifiers import FRAMEWORK_NAMES

__all__ = [
    "CLASS_SUFFIXES",
    "RESERVED_CLASSES",
    "RESERVED_COLUMNS",
    "RESERVED_TABLES",
    "NameRegistry",
    "camel",
    "export_key",
    "format_imports",
    "format_module_imports",
    "member_key",
    "natural",
]

TEMPLATE_NAMES = frozenset(
    {
        # app.domain.values: value objects and plain annotations
        "ShortText",
        "LongText",
        "WholeNumber",
        "Amount",
        "Money",
        "Flag",
        "Day",
        "CalendarDay",
        "QueryWholeNumber",
        "QueryFlag",
        "Moment",
        "EmailAddress",
        "WebAddress",
        "Identifier",
        "Str",
        "Int",
        "Bool",
        "Number",
        "Instant",
        # SQL column types and helpers used by the table modules
        "String",
        "Text",
        "BigInteger",
        "Boolean",
        "Uuid",
        "DecimalText",
        "UTCDateTime",
        "UniqueConstraint",
        "ConfigDict",
        "Generic",
        "TypeVar",
        "ClassVar",
        "Iterator",
        "Mapping",
        "ServiceClient",
        "TenantRepository",
        "LinkRepository",
        "EntityService",
        "TenantDep",
        "SessionDep",
        "PageParams",
        "NotFound",
        "Conflict",
        "InvalidReference",
        "UTC",
    }
)
"""Class-like names that the templates bind at module level besides ontology's FRAMEWORK_NAMES."""

RESERVED_CLASSES = FRAMEWORK_NAMES | TEMPLATE_NAMES
CLASS_SUFFIXES = ("", "Create", "Update", "Filters", "Row", "Repository", "Service")
"""Each entity owns one class per suffix: the read model, the inputs, the table and its layers."""

RESERVED_TABLES = frozenset({"outbox_events", "health", "docs", "redoc", "metrics", "openapi"})
"""Table names (and so route prefixes) the service uses itself."""

RESERVED_COLUMNS = frozenset({"id", "tenant_id", "created_at", "updated_at", "deleted_at"})


def camel(ident: str) -> str:
    """CamelCase of a snake_case identifier, without any clash handling: line_item -> LineItem."""
    return "".join(part.capitalize() for part in ident.split("_") if part)


class NameRegistry:
    """Hands out names once; a taken name gets the first free numbered form (Name2, name_2, ...)."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._taken: set[str] = set(reserved)

    def free(self, name: str) -> bool:
        """Whether `name` has not been handed out (nor reserved)."""
        return name not in self._taken

    def claim(self, base: str, *, sep: str = "") -> str:
        """`base`, or `base{sep}2`, `base{sep}3`, ... — whichever is free first; it is then taken."""
        return self.claim_family(base, ("",), sep=sep)

    def claim_family(self, base: str, suffixes: Iterable[str], *, sep: str = "") -> str:
        """A stem such that stem+suffix is free for every suffix; all of them are then taken."""
        ends = tuple(suffixes)
        stem, n = base, 2
        while any(stem + end in self._taken for end in ends):
            stem, n = f"{base}{sep}{n}", n + 1
        self._taken.update(stem + end for end in ends)
        return stem


def natural(text: str) -> tuple[str | int, ...]:
    """Natural sort key: digit runs compare as numbers (a9 < a10), as isort does."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def member_key(name: str) -> tuple[int, tuple[str | int, ...], tuple[str | int, ...]]:
    """isort's order-by-type member order, as ruff applies it: CONSTANTS, Classes, then functions."""
    cased = [ch for ch in name if ch.isalpha()]
    if len(name) > 1 and cased and all(ch.isupper() for ch in cased):
        kind = 0
    elif name[0].isupper():
        kind = 1
    else:
        kind = 2
    return kind, natural(name.lower()), natural(name)


def export_key(name: str) -> tuple[int, tuple[str | int, ...]]:
    """The order ruff (RUF022) wants in `__all__`: CONSTANTS, Classes, then the rest, each naturally sorted."""
    return member_key(name)[0], natural(name)


def format_imports(modules: Mapping[str, Iterable[str]], line_length: int = 120) -> str:
    """`from module import names` lines sorted as ruff's isort sorts them, wrapped when too long."""
    lines = []
    for module in sorted(modules, key=lambda m: (natural(m.lower()), natural(m))):
        names = sorted(set(modules[module]), key=member_key)
        if not names:
            continue
        line = f"from {module} import {', '.join(names)}"
        if len(line) > line_length:
            line = f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
        lines.append(line)
    return "\n".join(lines)


def format_module_imports(modules: Mapping[str, str]) -> str:
    """`import module as alias` lines (alias -> module) sorted by module."""
    pairs = sorted(modules.items(), key=lambda kv: (natural(kv[1].lower()), natural(kv[1]), kv[0]))
    return "\n".join(f"import {module} as {alias}" for alias, module in pairs)
