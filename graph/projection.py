"""Turns the RDF facts of product graphs into property-graph rows (nodes, edges, memories)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from graph.names import parse_graph
from graph.property_graph import TRACE_STEP, TRACE_TABLE, NodeRow, Projection, group_edges, schema
from graph.rdf_store import Quad, statements
from ontology.namespaces import FAC, RDF, RDFS
from ontology.vocabulary import local_name, vocabulary

__all__ = ["Embedder", "project"]

Embedder = Callable[[Sequence[str]], np.ndarray]
"""Maps texts to unit-length embedding vectors, one row per text."""

_TYPE = str(RDF.type)
_LABEL = str(RDFS.label)
_MEMORY_TEXT = {"Product": (_LABEL, str(FAC.description)), "Intent": (str(FAC.intentText),)}


def _convert(text: str, kuzu_type: str) -> Any:
    try:
        if kuzu_type == "INT64":
            return int(text)
        if kuzu_type == "DOUBLE":
            return float(text)
        if kuzu_type == "BOOLEAN":
            return text in ("true", "1")
        if kuzu_type == "TIMESTAMP":
            stamp = dt.datetime.fromisoformat(text)
            return stamp.astimezone(dt.UTC).replace(tzinfo=None) if stamp.tzinfo else stamp
    except ValueError:
        return None
    return text


@dataclass(frozen=True)
class _Lookup:
    """The schema keyed by IRI strings, as the quads give them (built once per process)."""

    depth: dict[str, int]  # class -> how many classes it has above it (the most specific one wins)
    table: dict[str, str]  # class -> node table
    kind: dict[str, str]  # class -> its local name
    columns: dict[str, dict[str, tuple[str, str]]]  # table -> datatype property -> (column, Kùzu type)
    rel: dict[str, str]  # object property -> relationship table
    pairs: dict[str, frozenset[tuple[str, str]]]  # relationship table -> (source, target) tables
    traced: frozenset[str]  # the tables whose nodes are linked from their trace's node


@cache
def _lookup() -> _Lookup:
    sch = schema()
    voc = vocabulary()
    return _Lookup(
        depth={str(c): len(voc.ancestors(c)) for c in voc.classes},
        table={str(c): t for c, t in sch.table_of_class.items()},
        kind={str(c): local_name(c) for c in voc.classes},
        columns={
            name: {str(prop): (col, node.columns[col]) for prop, col in node.properties.items()}
            for name, node in sch.nodes.items()
        },
        rel={str(prop): rel for prop, rel in sch.rel_of_property.items()},
        pairs={name: frozenset(r.pairs) for name, r in sch.rels.items()},
        traced=frozenset(sch.traced),
    )


def project(graph_quads: Mapping[str, Sequence[Quad]], embed: Embedder | None, *, vectors: bool = True) -> Projection:
    """Rows for the given product graphs; edges whose ends are not typed nodes are skipped.

    Each node of a traced table (see `Schema.traced`) that carries a trace id is linked from that trace's node.

    Memories are listed when there is an embedder; `vectors=False` lists them without embedding them.
    """
    look = _lookup()
    depth, rel_of = look.depth, look.rel
    out = Projection()
    edges: list[tuple[str, str, str, str, str]] = []
    memory_texts: list[str] = []
    for graph, quads in graph_quads.items():
        name = parse_graph(graph)
        product = name.product if name else ""
        types: dict[str, str] = {}
        literals: dict[str, list[tuple[str, str]]] = {}
        links: list[tuple[str, str, str]] = []
        for subject, p, o, is_literal in statements(quads):
            if is_literal:
                literals.setdefault(subject, []).append((p, o))
            elif p == _TYPE:
                if o in depth and depth[o] > depth.get(types.get(subject, ""), 0):
                    types[subject] = o
            elif p in rel_of:
                links.append((subject, p, o))
        tables: dict[str, str] = {}
        for iri, cls in types.items():
            table = look.table[cls]
            tables[iri] = table
            cols = look.columns[table]
            values: dict[str, Any] = {
                "key": f"{product}|{iri}",
                "iri": iri,
                "kind": look.kind[cls],
                "graph": graph,
                "product": product,
            }
            texts: dict[str, str] = {}
            for p, text in sorted(literals.get(iri, ())):
                if p == _LABEL:
                    values.setdefault("label", text)
                elif p in cols and cols[p][0] not in values:
                    values[cols[p][0]] = _convert(text, cols[p][1])
                texts.setdefault(p, text)
            out.nodes.append(NodeRow(table, values))
            trace = values.get("traceId")
            if trace and table in look.traced:
                out.traces.add(trace)
                edges.append((TRACE_STEP, TRACE_TABLE, table, trace, values["key"]))
            if embed is not None and values["kind"] in _MEMORY_TEXT:
                text = ". ".join(t for t in (texts.get(p, "") for p in _MEMORY_TEXT[values["kind"]]) if t)
                out.memories.append({k: values[k] for k in ("key", "iri", "kind", "graph", "product")} | {"text": text})
                memory_texts.append(text)
        for subject, prop, target in links:
            rel = rel_of[prop]
            src, dst = tables.get(subject), tables.get(target)
            if src is None or dst is None or (src, dst) not in look.pairs[rel]:
                out.skipped_edges += 1
                continue
            edges.append((rel, src, dst, f"{product}|{subject}", f"{product}|{target}"))
    out.edges = group_edges(edges)
    if embed is not None and memory_texts and vectors:
        embedded = embed(memory_texts)
        for memory, vector in zip(out.memories, embedded, strict=True):
            memory["embedding"] = vector
    return out
