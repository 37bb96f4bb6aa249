"""Safe identifiers from whatever people type: keywords, reserved words, unicode, digits, clashes.

A name becomes a lowercase snake_case identifier that is valid in Python, in SQL (the
generated tables are plural and quoted), in URLs and as a file name; the readable text
is kept as a label. Path tricks are never silently repaired: they are an error.
"""

from __future__ import annotations

import hashlib
import keyword
import re
import unicodedata

from ontology.errors import InvalidInputError

__all__ = [
    "FRAMEWORK_NAMES",
    "RESERVED_ATTRIBUTES",
    "check_no_path",
    "label_of",
    "pascal",
    "plural",
    "safe_identifier",
    "unique_identifiers",
]

MAX_IDENTIFIER = 63

RESERVED_ATTRIBUTES = frozenset(
    {
        "id",
        "tenant_id",
        "created_at",
        "updated_at",
        "deleted_at",
        "metadata",
        "registry",
        "model_config",
        "model_fields",
        "self",
        "cls",
        "session",
        "query",
        "request",
        "response",
        "limit",
        "offset",
    }
)
"""Attribute names the generated service uses itself; a clashing attribute gets a suffix."""

FRAMEWORK_NAMES = frozenset(
    {
        "Session",
        "SQLModel",
        "Field",
        "Relationship",
        "FastAPI",
        "APIRouter",
        "Depends",
        "Query",
        "Request",
        "Response",
        "HTTPException",
        "Header",
        "Path",
        "Body",
        "Optional",
        "List",
        "Any",
        "Decimal",
        "Enum",
        "UUID",
        "Date",
        "Datetime",
        "Base",
        "Settings",
        "Page",
        "Outbox",
        "OutboxEvent",
        "DomainEvent",
        "Health",
        "App",
        "Column",
        "Select",
        "Engine",
        "BaseModel",
        "Literal",
        "Annotated",
        "Exception",
        "Error",
        "Tenant",
        "Router",
    }
)
"""Class names that the generated code already uses; an entity with such a name gets a suffix."""

_PATH = re.compile(r"[/\\]|\.\.|\x00")


def check_no_path(text: str, where: str) -> None:
    """Refuse names with path separators, '..' or NUL: they are never turned into anything."""
    if _PATH.search(text):
        raise InvalidInputError(f"{where}: {text[:60]!r} contains a path separator or '..'; give a plain name")


def label_of(text: str) -> str:
    """A readable label: whitespace collapsed, at most 80 characters."""
    flat = " ".join(str(text).split())
    return flat[:80]


def _ascii_words(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = decomposed.encode("ascii", "ignore").decode()
    # split camelCase before lowering: "LineItem" -> "Line Item"
    ascii_text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", ascii_text)
    return re.findall(r"[a-z0-9]+", ascii_text.lower())


def safe_identifier(text: str, *, kind: str = "entity") -> str:
    """The snake_case identifier for `text`; raises InvalidInputError when nothing usable is left."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(f"empty {kind} name")
    words = _ascii_words(text)
    if not words:
        # nothing ASCII in it (e.g. only CJK): a stable identifier from its hash, the label keeps the text
        words = [kind, hashlib.sha256(text.encode()).hexdigest()[:8]]
    ident = "_".join(words)
    if ident[0].isdigit():
        ident = f"n{ident}"
    ident = ident[:MAX_IDENTIFIER].rstrip("_")
    if (
        keyword.iskeyword(ident)
        or keyword.issoftkeyword(ident)
        or (kind == "attribute" and ident in RESERVED_ATTRIBUTES)
    ):
        ident = f"{ident}_{'value' if kind == 'attribute' else 'item'}"
    return ident


def unique_identifiers(names: list[str]) -> list[str]:
    """Make identifiers unique by numbering repeats: ['task', 'task'] -> ['task', 'task_2']."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        n = seen.get(name, 0) + 1
        seen[name] = n
        candidate = name if n == 1 else f"{name[: MAX_IDENTIFIER - 4]}_{n}"
        while candidate in seen and candidate != name:
            n += 1
            candidate = f"{name[: MAX_IDENTIFIER - 4]}_{n}"
        seen.setdefault(candidate, 1)
        out.append(candidate)
    return out


_IRREGULAR = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "staff": "staff",
    "equipment": "equipment",
    "series": "series",
    "data": "data",
    "information": "information",
}


def plural(word: str) -> str:
    """English plural of a snake_case identifier's last word: line_item -> line_items, category -> categories."""
    head, _, last = word.rpartition("_")
    prefix = f"{head}_" if head else ""
    if last in _IRREGULAR:
        return prefix + _IRREGULAR[last]
    if re.search(r"[^aeiou]y$", last):
        return prefix + last[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", last):
        return prefix + last + "es"
    return prefix + last + "s"


def pascal(ident: str) -> str:
    """PascalCase class name of an identifier, suffixed when it clashes with a framework name."""
    name = "".join(part.capitalize() for part in ident.split("_") if part) or "Item"
    if name in FRAMEWORK_NAMES:
        name += "Entity"
    return name
