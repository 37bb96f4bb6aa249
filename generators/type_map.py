"""How each blueprint data type appears in a generated service: Python annotations, SQL column,
filters, search, default literals, and the valid and invalid sample values of the generated tests.

Everything here is computed in Python from identifiers and constants, so templates only place
ready-made, safe code fragments. Sample values are functions of a row number `n` (1, 2, 3, ...),
distinct per row, so unique attributes stay unique and filters can tell rows apart.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from generators.filters import py
from ontology.errors import InvalidInputError
from ontology.models import Attribute

__all__ = ["TYPES", "TypeInfo", "default_literal", "enum_literal", "invalid_enum_value"]


@dataclass(frozen=True)
class TypeInfo:
    """The fragments of one data type. `{name}` in `sample` is replaced by the attribute name."""

    input_type: str  # annotation in the create and update models (app.domain.values)
    read_type: str  # annotation in the read model and the table model
    filter_type: str  # annotation of the equality filter in the list's query parameters
    column: str  # SQLAlchemy column type expression
    sample: str  # Python expression of `n`: a valid JSON value for row n
    invalid: tuple[str, ...]  # Python expressions: JSON values the API must refuse with 422
    filterable: bool = True
    searchable: bool = False
    compare: str = "exact"  # how tests compare a sent and a returned value: exact | decimal


TYPES: dict[str, TypeInfo] = {
    "string": TypeInfo(
        "ShortText", "Str", "Str", "String(255)", 'f"{name}-{n}"', ('"x" * 256', "123"), searchable=True
    ),
    "text": TypeInfo(
        "LongText", "Str", "Str", "Text()", 'f"{name} text {n}"', ('"x" * 10_001',), filterable=False, searchable=True
    ),
    "int": TypeInfo("WholeNumber", "Int", "QueryWholeNumber", "BigInteger()", "n", ('"not-a-number"', "1.5", "2**63")),
    "decimal": TypeInfo(
        "Amount", "Number", "Amount", "DecimalText(6)", 'f"{n}.25"', ('"not-a-number"',), compare="decimal"
    ),
    "money": TypeInfo(
        "Money", "Number", "Money", "DecimalText(2)", 'f"{n}.50"', ('"1.234"', '"not-a-number"'), compare="decimal"
    ),
    "bool": TypeInfo("Flag", "Bool", "QueryFlag", "Boolean()", "n % 2 == 1", ('"not-a-flag"',)),
    "date": TypeInfo("CalendarDay", "Day", "CalendarDay", "Date()", 'f"2024-01-{n % 28 + 1:02d}"', ('"2024-13-45"',)),
    "datetime": TypeInfo(
        "Moment", "Instant", "Moment", "UTCDateTime()", 'f"2024-01-01T00:00:{n % 60:02d}Z"', ('"not-a-time"',)
    ),
    "email": TypeInfo(
        "EmailAddress",
        "Str",
        "Str",
        "String(254)",
        'f"{name}{n}@example.com"',
        ('"not-an-email"', '"a@b"'),
        searchable=True,
    ),
    "url": TypeInfo(
        "WebAddress",
        "Str",
        "Str",
        "String(2083)",
        'f"https://example.com/{name}/{n}"',
        ('"not a url"', '"ftp://example.com/x"'),
        searchable=True,
    ),
    "uuid": TypeInfo(
        "Identifier", "Identifier", "Identifier", "Uuid()", 'f"00000000-0000-4000-8000-{n:012d}"', ('"not-a-uuid"',)
    ),
    "enum": TypeInfo("", "Str", "", "String(64)", "", ()),
}
"""One entry per blueprint data type (ontology.models.DATA_TYPES)."""

SAMPLE_CAPACITY = {"bool": 2}
"""How many rows can hold distinct sample values, for types with few values (enums: their count)."""


def enum_literal(values: tuple[str, ...]) -> str:
    """The `Literal[...]` annotation of an enum's values."""
    return f"Literal[{', '.join(py(v) for v in values)}]"


def invalid_enum_value(values: tuple[str, ...]) -> str:
    """A value that is not one of `values`."""
    candidate, n = "not_a_value", 2
    while candidate in values:
        candidate, n = f"not_a_value_{n}", n + 1
    return candidate


def _bad(where: str, value: object, kind: str) -> InvalidInputError:
    return InvalidInputError(f"{where}.default: {value!r} is not a valid {kind}")


def default_literal(attr: Attribute, where: str) -> tuple[str, object] | None:
    """The default as (Python expression, JSON form the API returns), or None without a default.

    Raises InvalidInputError naming the place when the default does not parse as its type.
    """
    value = attr.default
    if value is None:
        return None
    kind = attr.type
    if kind in ("decimal", "money"):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise _bad(where, value, kind) from None
        if not number.is_finite():
            raise _bad(where, value, kind)
        return f"Decimal({py(str(number))})", str(number)
    if kind == "date":
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            raise _bad(where, value, "date (YYYY-MM-DD)") from None
        return f"Day({day.year}, {day.month}, {day.day})", day.isoformat()
    if kind == "datetime":
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise _bad(where, value, "datetime (ISO 8601)") from None
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        text = moment.isoformat()
        return f"Instant.fromisoformat({py(text)})", text.replace("+00:00", "Z")
    if kind == "uuid":
        try:
            ident = uuid.UUID(str(value))
        except ValueError:
            raise _bad(where, value, "uuid") from None
        return f"Identifier({py(str(ident))})", str(ident)
    if kind in ("int", "bool"):
        return py(value), value
    return py(str(value)), str(value)
