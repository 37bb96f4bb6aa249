"""Turns the RDF facts of product graphs into property-graph rows (nodes, edges, memories)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pyoxigraph as ox
from rdflib import URIRef

from graph.names import parse_graph
from graph.property_graph import NodeRow, Projection, group_edges, schema
from ontology.namespaces import FAC, RDF, RDFS
from ontology.vocabulary import local_name, vocabulary

__all__ = ["Embedder", "project"]

Embedder = Callable[[Sequence[str]], np.ndarray]
"""Maps texts to unit-length embedding vectors, one row per text."""

_TYPE = str(RDF.type)
_LABEL = str(RDFS.label)
_MEMORY_TEXT = {"Product": (_LABEL, str(FAC.description)), "Intent": (str(FAC.intentText),)}


def _convert(lit: ox.Literal, kuzu_type: str) -> Any:
    text = lit.value
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


def project(graph_quads: Mapping[str, Sequence[ox.Quad]], embed: Embedder | None) -> Projection:
    """Rows for the given product graphs; edges whose ends are not typed nodes are skipped."""
    sch = schema()
    voc = vocabulary()
    depth = {str(c): len(voc.ancestors(c)) for c in voc.classes}
    rel_of = {str(k): v for k, v in sch.rel_of_property.items()}
    out = Projection()
    edges: list[tuple[str, str, str, str, str]] = []
    memory_texts: list[str] = []
    for graph, quads in graph_quads.items():
        name = parse_graph(graph)
        product = name.product if name else ""
        types: dict[str, str] = {}
        literals: dict[str, list[tuple[str, ox.Literal]]] = {}
        links: list[tuple[str, str, str]] = []
        for q in quads:
            s, p, o = q.subject, q.predicate.value, q.object
            if not isinstance(s, ox.NamedNode):
                continue
            if p == _TYPE and isinstance(o, ox.NamedNode):
                if o.value in depth and depth[o.value] > depth.get(types.get(s.value, ""), 0):
                    types[s.value] = o.value
            elif isinstance(o, ox.Literal):
                literals.setdefault(s.value, []).append((p, o))
            elif isinstance(o, ox.NamedNode) and p in rel_of:
                links.append((s.value, p, o.value))
        tables: dict[str, str] = {}
        for iri, cls in types.items():
            table = sch.table_of_class[URIRef(cls)]
            tables[iri] = table
            node = sch.nodes[table]
            cols = {str(k): v for k, v in node.properties.items()}
            values: dict[str, Any] = {
                "key": f"{product}|{iri}",
                "iri": iri,
                "kind": local_name(cls),
                "graph": graph,
                "product": product,
            }
            texts: dict[str, str] = {}
            for p, lit in sorted(literals.get(iri, ()), key=lambda pl: (pl[0], pl[1].value)):
                if p == _LABEL:
                    values.setdefault("label", lit.value)
                elif p in cols and cols[p] not in values:
                    values[cols[p]] = _convert(lit, node.columns[cols[p]])
                texts.setdefault(p, lit.value)
            out.nodes.append(NodeRow(table, values))
            if embed is not None and values["kind"] in _MEMORY_TEXT:
                text = ". ".join(t for t in (texts.get(p, "") for p in _MEMORY_TEXT[values["kind"]]) if t)
                out.memories.append({k: values[k] for k in ("key", "iri", "kind", "graph", "product")} | {"text": text})
                memory_texts.append(text)
        for subject, prop, target in links:
            rel = rel_of[prop]
            src, dst = tables.get(subject), tables.get(target)
            if src is None or dst is None or (src, dst) not in sch.rels[rel].pairs:
                out.skipped_edges += 1
                continue
            edges.append((rel, src, dst, f"{product}|{subject}", f"{product}|{target}"))
    out.edges = group_edges(edges)
    if embed is not None and memory_texts:
        vectors = embed(memory_texts)
        for memory, vector in zip(out.memories, vectors, strict=True):
            memory["embedding"] = vector
    return out
