"""Read-only guards for SPARQL and Cypher text.

Queries reach the stores only after these checks: anything that writes, loads files,
reaches another endpoint or attaches another database is refused with a clear message.
The stores add a second wall: SPARQL goes through the query (never the update) entry
point with a tenant-restricted dataset, and Cypher runs on a read-only database that
holds one tenant's facts only.
"""

from __future__ import annotations

import re

from ontology.errors import QueryRefusedError

__all__ = ["MAX_QUERY_CHARS", "USER_QUERY_ROWS", "USER_QUERY_TIMEOUT_S", "check_cypher", "check_sparql"]

MAX_QUERY_CHARS = 100_000
USER_QUERY_ROWS = 10_000
"""The most rows a person's query returns (the command line's `--limit`); the result says when it has more."""
USER_QUERY_TIMEOUT_S = 60.0
"""How long a person's query may run (the command line's `--timeout`)."""

_SPARQL_STRIP = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''  # strings
    r"|<[^<>\"{}|^`\\\x00-\x20]*>"  # IRIs
    r"|#[^\n]*"  # comments
    r"|[?$][A-Za-z0-9_]+"  # variables
    r"|[A-Za-z_][\w.-]*:[\w.%-]*|:[\w.%-]+"  # prefixed names
)
_SPARQL_WRITES = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}

_CYPHER_STRIP = re.compile(
    r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'  # strings and quoted names
    r"|//[^\n]*|/\*[\s\S]*?\*/"  # comments
    r"|\$[A-Za-z0-9_]+"  # parameters
)
_CYPHER_WRITES = {
    "CREATE",
    "MERGE",
    "SET",
    "DELETE",
    "DETACH",
    "REMOVE",
    "DROP",
    "ALTER",
    "COPY",
    "LOAD",
    "INSTALL",
    "ATTACH",
    "USE",
    "EXPORT",
    "IMPORT",
    "CHECKPOINT",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "TRUNCATE",
    "RENAME",
}
_CYPHER_NAMES = re.compile(r"\b([A-Za-z_]\w*)(?:\.[A-Za-z_]\w*)+|(?<=[{,])\s*[A-Za-z_]\w*\s*(?=:)")
"""Property names (`r.commit`) and map keys (`{commit: $c}`): names of columns, never keywords."""
_CYPHER_CALLS = {"SHOW_TABLES", "TABLE_INFO", "SHOW_CONNECTION", "QUERY_VECTOR_INDEX", "SHOW_INDEXES"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_size(text: str, language: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise QueryRefusedError(f"empty {language} query: give a query to run")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefusedError(f"{language} query too long: {len(text):,} characters, at most {MAX_QUERY_CHARS:,}")


def check_sparql(query: str) -> None:
    """Refuse SPARQL that would write, load or call another endpoint."""
    _check_size(query, "SPARQL")
    words = {w.upper() for w in _WORD.findall(_SPARQL_STRIP.sub(" ", query))}
    writes = sorted(words & _SPARQL_WRITES)
    if writes:
        raise QueryRefusedError(f"SPARQL {writes[0]} refused: the query interface is read-only")
    if "SERVICE" in words:
        raise QueryRefusedError("SPARQL SERVICE refused: queries cannot reach other endpoints")


def check_cypher(query: str) -> None:
    """Refuse Cypher that would write, read files, attach databases or change settings."""
    _check_size(query, "Cypher")
    stripped = _CYPHER_STRIP.sub(" ", query)
    words = [w.upper() for w in _WORD.findall(_CYPHER_NAMES.sub(r" \1 ", stripped))]
    writes = sorted(set(words) & _CYPHER_WRITES)
    if writes:
        raise QueryRefusedError(f"Cypher {writes[0]} refused: the query interface is read-only")
    for call in re.finditer(r"\bCALL\s+([A-Za-z_][A-Za-z0-9_]*)\s*(\(|=)?", stripped, re.IGNORECASE):
        name, follower = call.group(1).upper(), call.group(2)
        if follower != "(" or name not in _CYPHER_CALLS:
            raise QueryRefusedError(
                f"Cypher CALL {call.group(1)} refused: only {', '.join(sorted(_CYPHER_CALLS))} may be called"
            )
