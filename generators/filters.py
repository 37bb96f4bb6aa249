"""Jinja filters that emit a value safely in each target language of a template pack.

Blueprint text (names, labels, descriptions) is data: templates never paste it raw into a
file, they pass it through the filter of the file's language, which turns any text into an
inert literal there — template syntax, quotes, newlines and control characters included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

__all__ = ["FILTERS", "md", "py", "toml_str", "yaml_str"]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#!|~])")
_LINE_BREAKS = {"\u2028", "\u2029", "\x85"}


def _py_str(text: str) -> str:
    """A double-quoted Python string literal: printable characters kept, everything else escaped."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return '"' + "".join(out) + '"'


def py(value: Any) -> str:
    """A Python literal that evaluates to `value` (str, int, float, bool, None, Decimal, or lists/dicts of them)."""
    if isinstance(value, str):
        return _py_str(value)
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"no Python literal for {value!r}")
        return repr(value)
    if isinstance(value, Decimal):
        return f"Decimal({str(value)!r})"
    if isinstance(value, list | tuple):
        inner = ", ".join(py(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(k)}: {py(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"no Python literal for a {type(value).__name__}")


def _quoted(text: str, escapes: dict[str, str], keep: Callable[[str], bool]) -> str:
    out = []
    for ch in text:
        if ch in escapes:
            out.append(escapes[ch])
        elif keep(ch):
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _printable(ch: str) -> bool:
    return ch.isprintable() and ch not in _LINE_BREAKS and not 0xD800 <= ord(ch) <= 0xDFFF


def yaml_str(value: Any) -> str:
    """A double-quoted YAML scalar that loads back as exactly `str(value)` (any line break is escaped)."""
    return _quoted(str(value), {'"': '\\"', "\\": "\\\\"}, _printable)


def toml_str(value: Any) -> str:
    """A TOML basic string that loads back as exactly `str(value)`."""
    return _quoted(str(value), {'"': '\\"', "\\": "\\\\"}, lambda ch: _printable(ch) and ch != "\x7f")


def md(value: Any) -> str:
    """Markdown-safe text on one line: whitespace collapsed, markup characters escaped, HTML neutralised."""
    flat = " ".join("".join(ch if _printable(ch) else " " for ch in str(value)).split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", flat)


def json_value(value: Any) -> str:
    """A JSON literal (also valid YAML) for plain data."""
    return json.dumps(value, ensure_ascii=True, sort_keys=True)


FILTERS: dict[str, Callable[[Any], str]] = {
    "py": py,
    "yaml_str": yaml_str,
    "toml_str": toml_str,
    "md": md,
    "json": json_value,
}
"""The filters every pack's environment gets."""
