"""The RDF store: Oxigraph on disk, one named graph per product build.

Only this module and the exchange code touch pyoxigraph directly; the rest of the
factory goes through the KnowledgeGraph facade.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO

import pyoxigraph as ox

__all__ = ["RdfStore", "Term"]

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
BULK_QUADS = 100_000


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
        parts = [f"DROP SILENT GRAPH <{g}>" for g in graphs]
        inserts = " ".join(
            f"GRAPH <{g}> {{ {' '.join(f'{q.subject} {q.predicate} {q.object} .' for q in quads)} }}"
            for g, quads in graphs.items()
            if quads
        )
        if inserts:
            parts.append(f"INSERT DATA {{ {inserts} }}")
        self._store.update(" ;\n".join(parts))

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
        substitutions: Mapping[str, Term] | None = None,
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        """Run a SPARQL query; `graphs` restricts the dataset (None: every graph, for admins)."""
        subs = {ox.Variable(k): v for k, v in (substitutions or {}).items()}
        if graphs is None:
            return self._store.query(query, use_default_graph_as_union=True, substitutions=subs)
        named: list[ox.NamedNode | ox.BlankNode] = [ox.NamedNode(g) for g in graphs]
        default: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = list(named)
        return self._store.query(query, default_graph=default, named_graphs=named, substitutions=subs)

    def dump(self, out: IO[bytes], graphs: Iterable[str]) -> int:
        """Write the quads of the given graphs as N-Quads; returns how many were written."""
        written = 0
        for g in graphs:
            for quad in self.quads(g):
                out.write(f"{quad} .\n".encode())
                written += 1
        return written
