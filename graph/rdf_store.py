"""The RDF store: Oxigraph on disk, one named graph per product build.

This module, `graph/remote_store.py` (the same store on a SPARQL server) and `graph/facts.py` are the
only ones that touch pyoxigraph (a test walks the
tree to keep it so). Facts builds its quads as Oxigraph terms directly, because a build's
facts are minted at ingest speed and converting them from a neutral form would cost a second
pass over every quad. Everything else reaches the store through the KnowledgeGraph facade
with plain values: an IRI is an `rdflib.URIRef` (the vocabulary's constants are), any other
value is a literal, and query results come back as Python values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox
from rdflib import URIRef
from rdflib.namespace import XSD

__all__ = [
    "Answer",
    "Quad",
    "RdfStore",
    "Value",
    "bulk_load_nquads",
    "literal",
    "python_value",
    "quad",
    "read_nquads",
    "read_turtle",
    "replacing_update",
    "statements",
    "term",
    "to_nquads",
]

Quad = ox.Quad
"""One statement in a named graph, as the store holds it."""
Value = str | bool | int | float | Decimal | dt.datetime
"""What a literal is written from, and what a query parameter may be (a `URIRef` is an IRI)."""
BULK_QUADS = 100_000

_XSD = {
    bool: ox.NamedNode(str(XSD.boolean)),
    int: ox.NamedNode(str(XSD.integer)),
    float: ox.NamedNode(str(XSD.double)),
    Decimal: ox.NamedNode(str(XSD.decimal)),
}
_DATETIME = ox.NamedNode(str(XSD.dateTime))


def literal(value: Value) -> ox.Literal:
    """An RDF literal of the XSD type that matches the Python value."""
    if isinstance(value, str):
        return ox.Literal(value)
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false", datatype=_XSD[bool])
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return ox.Literal(stamp.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"), datatype=_DATETIME)
    if isinstance(value, int | float | Decimal):
        return ox.Literal(str(value), datatype=_XSD[type(value)])
    raise TypeError(f"no RDF literal for {type(value).__name__}")


def quad(subject: str, predicate: str, value: Value, graph: str) -> ox.Quad:
    """One statement: `subject` `predicate` `value` (an IRI for a `URIRef`, else a literal) in `graph`."""
    return ox.Quad(ox.NamedNode(subject), ox.NamedNode(predicate), term(value), ox.NamedNode(graph))


def term(value: Value) -> ox.NamedNode | ox.Literal:
    """The RDF term of a plain value: an IRI for a `URIRef`, a literal for anything else."""
    if isinstance(value, URIRef):
        return ox.NamedNode(str(value))
    return literal(value)


def python_value(node: Any) -> Any:
    """A query result's term as a Python value: numbers and booleans typed, IRIs and strings as str."""
    if node is None:
        return None
    if isinstance(node, ox.Literal):
        dtype = node.datatype.value
        if dtype.endswith("#integer") or dtype.endswith("#int") or dtype.endswith("#long"):
            return int(node.value)
        if dtype.endswith("#double") or dtype.endswith("#decimal") or dtype.endswith("#float"):
            return float(node.value)
        if dtype.endswith("#boolean"):
            return node.value == "true"
        return node.value
    if isinstance(node, ox.NamedNode):
        return node.value
    return str(node)


def statements(quads: Iterable[ox.Quad]) -> Iterator[tuple[str, str, str, bool]]:
    """(subject, predicate, object, object is a literal) of each quad whose subject is an IRI and
    whose object is an IRI or a literal: what the property-graph projection reads."""
    for q in quads:
        s, o = q.subject, q.object
        if not isinstance(s, ox.NamedNode):
            continue
        if isinstance(o, ox.Literal):
            yield s.value, q.predicate.value, o.value, True
        elif isinstance(o, ox.NamedNode):
            yield s.value, q.predicate.value, o.value, False


def read_turtle(path: Path, graph: str) -> list[ox.Quad]:
    """The triples of a Turtle file, placed in the named graph `graph`."""
    g = ox.NamedNode(graph)
    return [ox.Quad(t.subject, t.predicate, t.object, g) for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]


def read_nquads(source: IO[bytes] | Path) -> Iterator[tuple[str, ox.Quad]]:
    """Each quad of an N-Quads stream or file with its graph's IRI ("" for the default graph).

    Malformed input raises SyntaxError when its line is reached.
    """
    quads = (
        ox.parse(path=str(source), format=ox.RdfFormat.N_QUADS)
        if isinstance(source, Path)
        else ox.parse(source, format=ox.RdfFormat.N_QUADS)
    )
    for quad in quads:
        g = quad.graph_name
        yield (g.value if isinstance(g, ox.NamedNode) else ""), quad


def to_nquads(quads: list[ox.Quad]) -> bytes:
    """The quads as N-Quads text (empty for none)."""
    return (ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"") if quads else b""


@dataclass
class Answer:
    """A query's answer as Python values: its columns and its rows, read lazily; `boolean` for ASK."""

    columns: list[str]
    rows: Iterator[list[Any]]
    boolean: bool | None = None

    def records(self) -> Iterator[dict[str, Any]]:
        return (dict(zip(self.columns, row, strict=True)) for row in self.rows)


class RdfStore:
    """An Oxigraph store opened for reading (shared) or for writing (by the one writer)."""

    def __init__(self, path: Path, *, read_only: bool) -> None:
        self.path = path
        if read_only:
            if not path.exists():
                self._store = ox.Store()  # nothing written yet: an empty in-memory view
            else:
                self._store = ox.Store.read_only(str(path))
        else:
            path.mkdir(parents=True, exist_ok=True)
            self._store = ox.Store(str(path))
        self.read_only = read_only

    # ------------------------------------------------------------------ writes
    def replace_graphs(self, graphs: Mapping[str, list[ox.Quad]]) -> None:
        """Replace each named graph with the given quads, all in one transaction."""
        if not graphs:
            return
        existing = [g for g in graphs if self._store.contains_named_graph(ox.NamedNode(g))]
        if not existing:
            quads = [q for batch in graphs.values() for q in batch]
            if len(quads) >= BULK_QUADS:
                # Large loads of new graphs skip the transaction log (about twice as fast); a crash
                # mid-load leaves a partial new graph that the build's next write replaces whole.
                self._store.bulk_extend(quads)
            else:
                self._store.extend(quads)
            return
        self._store.update(replacing_update(graphs))

    def add(self, quads: Iterable[ox.Quad]) -> None:
        """Add quads in one transaction."""
        self._store.extend(quads)

    def drop_graphs(self, graphs: Iterable[str]) -> None:
        names = list(graphs)
        if names:
            self._store.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in names))

    def load_nquads(self, data: IO[bytes]) -> None:
        """Load an N-Quads stream in one transaction."""
        self._store.load(data, format=ox.RdfFormat.N_QUADS)

    def flush(self) -> None:
        self._store.flush()

    # ------------------------------------------------------------------ reads
    def graphs(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def has_graph(self, graph: str) -> bool:
        return bool(self._store.contains_named_graph(ox.NamedNode(graph)))

    def quads(self, graph: str) -> Iterator[ox.Quad]:
        return iter(self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))

    def count(self, graph: str | None = None) -> int:
        if graph is None:
            return len(self._store)
        return sum(1 for _ in self.quads(graph))

    def query(
        self,
        query: str,
        *,
        graphs: list[str] | None,
        bindings: Mapping[str, Value] | None = None,
        timeout_s: float | None = None,
    ) -> Answer:
        """Run a SPARQL query; `graphs` restricts the dataset (None: every graph, for admins).

        `bindings` are plain values bound to the query's variables (a `URIRef` binds an IRI).
        `timeout_s` is for the server store's sake: an embedded query is stopped between rows by the caller.
        """
        subs: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
            ox.Variable(k): term(v) for k, v in (bindings or {}).items()
        }
        if graphs is None:
            result = self._store.query(query, use_default_graph_as_union=True, substitutions=subs)
        else:
            named: list[ox.NamedNode | ox.BlankNode] = [ox.NamedNode(g) for g in graphs]
            default: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = list(named)
            result = self._store.query(query, default_graph=default, named_graphs=named, substitutions=subs)
        if isinstance(result, ox.QueryBoolean):
            return Answer(["ask"], iter([[bool(result)]]), boolean=bool(result))
        if isinstance(result, ox.QuerySolutions):
            columns = [v.value for v in result.variables]
            return Answer(columns, ([python_value(sol[c]) for c in columns] for sol in result))
        return Answer(
            ["subject", "predicate", "object"],
            ([python_value(t.subject), python_value(t.predicate), python_value(t.object)] for t in result),
        )

    def dump(self, out: IO[bytes], graphs: Iterable[str]) -> int:
        """Write the quads of the given graphs as N-Quads; returns how many were written."""
        written = 0
        for g in graphs:
            for quad in self.quads(g):
                out.write(f"{quad} .\n".encode())
                written += 1
        return written


def bulk_load_nquads(folder: Path, source: Path) -> int:
    """Load an N-Quads file into a new Oxigraph store at `folder` with Oxigraph's own bulk loader (what
    the ingest benchmark measures the factory's writes against); returns the store's quad count."""
    store = ox.Store(str(folder))
    store.bulk_load(path=str(source), format=ox.RdfFormat.N_QUADS)
    store.flush()
    count = len(store)
    del store
    return count


def replacing_update(graphs: Mapping[str, list[ox.Quad]]) -> str:
    """One SPARQL Update request that replaces each named graph with its quads (one transaction)."""
    parts = [f"DROP SILENT GRAPH <{g}>" for g in graphs]
    inserts = " ".join(
        f"GRAPH <{g}> {{ {' '.join(f'{q.subject} {q.predicate} {q.object} .' for q in quads)} }}"
        for g, quads in graphs.items()
        if quads
    )
    if inserts:
        parts.append(f"INSERT DATA {{ {inserts} }}")
    return " ;\n".join(parts)
