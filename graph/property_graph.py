"""The property graph: a Kùzu database per tenant, projected from the RDF facts.

Its node and relationship tables are derived from the ontology: one node table per root
class of the factory ontology (instances of subclasses carry their class in `kind`), with a
column per datatype property; one relationship table per object property, with a FROM/TO
pair for each pair of root classes its domain and range admit. The `Memory` table holds
the sentence embeddings of products and intents behind a vector index, and the `Trace` table a
node per trace id, linked (`hasStep`) to the build's nodes that the trace starts from.

This is the only module that imports kuzu, so that another engine can replace it here.
"""

from __future__ import annotations

import datetime as dt
import threading
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import kuzu
import numpy as np
import polars as pl
from rdflib import URIRef
from rdflib.namespace import XSD

from graph.trace import TRACE_TABLES
from ontology.errors import QueryRefusedError, QueryTimeoutError
from ontology.vocabulary import Property, local_name, vocabulary

__all__ = [
    "EMBEDDING_DIM",
    "MEMORY_TABLE",
    "TRACE_STEP",
    "TRACE_TABLE",
    "NodeRow",
    "Projection",
    "PropertyGraph",
    "Schema",
    "memory_identity",
    "schema",
]

EMBEDDING_DIM = 384
MEMORY_TABLE = "Memory"
MEMORY_INDEX = "memory_index"
ANCHOR_KIND = "~anchor"
BULK_ROWS = 250
"""Groups of at least this many rows are written with COPY; smaller ones with CREATE (see `_copy`)."""
MAX_DB_BYTES = 1 << 38
"""Address space reserved per database (256 GiB, virtual): Kùzu cannot reserve its 8 TiB default here."""
FIXED_COLUMNS = ("key", "iri", "kind", "graph", "product", "label")
TRACE_TABLE = "Trace"
TRACE_STEP = "hasStep"
STEP_COLUMNS = ("iri", "label", "graph")
"""A node per trace id (its key) and its links to the build's nodes of the chain's tables
(`graph.trace.TRACE_TABLES`), each link with its node's STEP_COLUMNS: the Kùzu trace begins with a
primary-key lookup, not a scan of the tables for the trace id. A trace's node belongs to no graph (a build
may span several); a write drops the trace nodes that its deletions left with no links."""

_KUZU_TYPES = {
    XSD.string: "STRING",
    XSD.integer: "INT64",
    XSD.double: "DOUBLE",
    XSD.decimal: "DOUBLE",
    XSD.boolean: "BOOLEAN",
    XSD.dateTime: "TIMESTAMP",
}
_POLARS_TYPES: dict[str, Any] = {
    "STRING": pl.Utf8,
    "INT64": pl.Int64,
    "DOUBLE": pl.Float64,
    "BOOLEAN": pl.Boolean,
    "TIMESTAMP": pl.Datetime("us"),
}


@dataclass(frozen=True)
class NodeTable:
    name: str
    root: URIRef
    columns: dict[str, str]  # column -> Kùzu type, fixed columns first
    properties: dict[URIRef, str]  # datatype property -> column


@dataclass(frozen=True)
class RelTable:
    name: str
    property: URIRef
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Schema:
    """The property-graph schema derived from the ontology."""

    nodes: dict[str, NodeTable]
    rels: dict[str, RelTable]
    table_of_class: dict[URIRef, str]
    rel_of_property: dict[URIRef, str]
    traced: tuple[str, ...]
    """The tables whose nodes are linked from their trace's node (TRACE_STEP)."""

    def ddl(self) -> list[str]:
        stmts = []
        for t in self.nodes.values():
            cols = ", ".join(f"{c} {ty}" for c, ty in t.columns.items())
            stmts.append(f"CREATE NODE TABLE {t.name}({cols}, PRIMARY KEY(key))")
        for r in self.rels.values():
            pairs = ", ".join(f"FROM {a} TO {b}" for a, b in r.pairs)
            stmts.append(f"CREATE REL TABLE {r.name}({pairs})")
        stmts.append(f"CREATE NODE TABLE {TRACE_TABLE}(key STRING, PRIMARY KEY(key))")
        ends = [f"FROM {TRACE_TABLE} TO {t}" for t in self.traced]
        steps = ", ".join([*ends, *(f"{c} STRING" for c in STEP_COLUMNS)])
        stmts.append(f"CREATE REL TABLE {TRACE_STEP}({steps})")
        stmts.append(
            f"CREATE NODE TABLE {MEMORY_TABLE}(key STRING, iri STRING, kind STRING, graph STRING, "
            f"product STRING, text STRING, embedding FLOAT[{EMBEDDING_DIM}], PRIMARY KEY(key))"
        )
        return stmts


def _column(prop: Property) -> tuple[str, str]:
    kuzu_type = _KUZU_TYPES.get(prop.range)
    if kuzu_type is None:
        raise ValueError(f"ontology property {prop.iri} has a range with no property-graph type: {prop.range}")
    return prop.name, kuzu_type


@cache
def schema() -> Schema:
    """Derive the node and relationship tables from the ontology (once per process)."""
    voc = vocabulary()
    nodes: dict[str, NodeTable] = {}
    table_of_class: dict[URIRef, str] = {}
    for root in voc.roots:
        name = local_name(root)
        columns = dict.fromkeys(FIXED_COLUMNS, "STRING")
        props: dict[URIRef, str] = {}
        for prop in [*voc.common_properties, *voc.properties_of(root)]:
            col, ty = _column(prop)
            if col in columns:
                raise ValueError(f"ontology property {prop.iri} clashes with column {col!r} of {name}")
            columns[col] = ty
            props[prop.iri] = col
        nodes[name] = NodeTable(name, root, columns, props)
    for cls in voc.classes:
        table_of_class[cls] = local_name(voc.root(cls))
    rels: dict[str, RelTable] = {}
    rel_of_property: dict[URIRef, str] = {}
    for prop in voc.object_properties:
        if prop.name in rels or prop.name in nodes:
            raise ValueError(f"ontology property {prop.iri} clashes with another table named {prop.name!r}")
        sources = voc.roots_under(prop.domain) if prop.domain is not None else voc.roots
        targets = voc.roots_under(prop.range)
        pairs = tuple((local_name(a), local_name(b)) for a in sources for b in targets)
        if not pairs:
            raise ValueError(f"ontology property {prop.iri} has no projected domain/range")
        rels[prop.name] = RelTable(prop.name, prop.iri, pairs)
        rel_of_property[prop.iri] = prop.name
    if TRACE_TABLE in nodes or TRACE_STEP in rels:
        raise ValueError(f"the ontology names a table {TRACE_TABLE!r} or {TRACE_STEP!r}, which the trace's links use")
    if missing := [t for t in TRACE_TABLES if t not in nodes]:
        raise ValueError(f"the trace starts from tables the ontology does not have: {missing}")
    return Schema(nodes, rels, table_of_class, rel_of_property, TRACE_TABLES)


def edge_frame(projection: Projection, rel: str, dst: str, pairs: Sequence[tuple[str, str]]) -> pl.DataFrame:
    """The rows to COPY into a relationship table: its ends' keys and, for a trace's links, its nodes' STEP_COLUMNS
    (from the projection's node rows, or its `steps`)."""
    columns: dict[str, list[Any]] = {"from": [p[0] for p in pairs], "to": [p[1] for p in pairs]}
    if rel == TRACE_STEP:
        shown = {(r.table, r.values["key"]): r.values for r in projection.nodes if r.table == dst}
        shown.update(projection.steps)
        values = [shown[(dst, key)] for _, key in pairs]
        columns |= {c: [v.get(c) for v in values] for c in STEP_COLUMNS}
    return pl.DataFrame(columns, schema={c: pl.Utf8 for c in columns})


def copy_options(rel: str, src: str, dst: str) -> str:
    """The options a COPY into a relationship table with several FROM/TO pairs needs (none for one pair)."""
    several = rel == TRACE_STEP or len(schema().rels[rel].pairs) > 1
    return f"(from='{src}', to='{dst}')" if several else ""


@dataclass
class NodeRow:
    """One node to project: its table, key and column values."""

    table: str
    values: dict[str, Any]


@dataclass
class Projection:
    """Rows to write into one tenant's property graph for a set of product graphs."""

    nodes: list[NodeRow] = field(default_factory=list)
    edges: dict[tuple[str, str, str], list[tuple[str, str]]] = field(default_factory=dict)
    memories: list[dict[str, Any]] = field(default_factory=list)
    traces: set[str] = field(default_factory=set)
    """The trace ids whose nodes (TRACE_TABLE) the edges link from."""
    steps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """The STEP_COLUMNS of the nodes that a trace links to, by (table, key), when no node row holds them."""
    skipped_edges: int = 0

    @property
    def rows(self) -> int:
        return len(self.nodes) + len(self.traces) + sum(len(v) for v in self.edges.values()) + len(self.memories)


def memory_identity(memory: Mapping[str, Any]) -> tuple[Any, ...]:
    """What makes two memories the same row (the vector follows from the text)."""
    return tuple(memory[c] for c in ("key", "iri", "kind", "graph", "product", "text"))


class PropertyGraph:
    """One tenant's Kùzu database, opened read-only or by the one writer.

    The buffer pool is a ceiling, filled only as pages are read: 512 MiB keeps a tenant with 100,000
    memories (about 190 MB on disk, vectors and index) cached, where 128 MiB made each search reread
    pages (vector top-10 p50 15 ms against 8–10 ms); a small tenant uses a few MiB of it."""

    def __init__(self, path: Path, *, read_only: bool, buffer_pool_mib: int = 512) -> None:
        self.path = path
        self.read_only = read_only
        if read_only and not path.exists():
            raise FileNotFoundError(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = kuzu.Database(
            str(path), read_only=read_only, buffer_pool_size=buffer_pool_mib << 20, max_db_size=MAX_DB_BYTES
        )
        self._conn = kuzu.Connection(self._db)
        self._lanes: list[kuzu.Connection] = []  # more connections, for reads side by side (see execute_together)
        self._indexed = False  # the vector index, once seen, is never dropped
        self._prepared: dict[tuple[int, str], kuzu.PreparedStatement] = {}  # by lane (0: the main connection)
        if not read_only:
            tables = {row[0] for row in self._run(self._conn, "CALL SHOW_TABLES() RETURN name", None)[1]}
            if not tables:
                self._create_schema()  # a new database, or one left by a writer that died before its schema's commit
            else:
                self._add_missing_tables(tables)

    def close(self) -> None:
        for conn in (*self._lanes, self._conn):
            conn.close()
        self._db.close()

    def _add_missing_tables(self, tables: set[str]) -> None:
        """Create the tables a newer ontology added (its new classes and properties) in an older database,
        and add the columns its new datatype properties gave the tables already there."""
        missing = [stmt for stmt in schema().ddl() if stmt.split()[3].split("(")[0] not in tables]
        for table in schema().nodes.values():
            if table.name not in tables:
                continue
            info = self._run(self._conn, f"CALL TABLE_INFO('{table.name}') RETURN name", None)[1]
            known = {row[0] for row in info}
            missing += [f"ALTER TABLE {table.name} ADD {c} {ty}" for c, ty in table.columns.items() if c not in known]
        if missing:
            with self._transaction():
                for stmt in missing:
                    self._conn.execute(stmt)
                if TRACE_TABLE not in tables:
                    self._link_traces()

    def _link_traces(self) -> None:
        """Link the nodes of the traced tables to their trace's node, from their trace id: for a database
        written before the trace had nodes of its own (a write links the nodes it projects)."""
        links = Projection()
        for table in schema().traced:
            _, rows = self._run(
                self._conn,
                f"MATCH (n:{table}) WHERE n.traceId IS NOT NULL RETURN n.traceId, n.key, "
                + ", ".join(f"n.{c}" for c in STEP_COLUMNS),
                None,
            )
            for trace, key, *step in rows:
                links.traces.add(trace)
                links.edges.setdefault((TRACE_STEP, TRACE_TABLE, table), []).append((trace, key))
                links.steps[(table, key)] = dict(zip(STEP_COLUMNS, step, strict=True))
        self._copy(links)

    def _create_schema(self) -> None:
        """The tables and the anchor row, in one transaction: a crash leaves all of it or none."""
        with self._transaction():
            for stmt in schema().ddl():
                self._conn.execute(stmt)
            # Kùzu's HNSW index stops finding anything once its table has been emptied, which a
            # rebuild of a tenant's only product does mid-transaction. An anchor row that no
            # product graph owns keeps the table from ever being empty; searches skip it.
            # The index itself is built after the first memories arrive (see _ensure_index).
            anchor = [1.0] + [0.0] * (EMBEDDING_DIM - 1)
            self._conn.execute(
                f"CREATE (:{MEMORY_TABLE} {{key: $key, iri: '', kind: $kind, graph: '', product: '', text: '', "
                "embedding: $vector})",
                {"key": ANCHOR_KIND, "kind": ANCHOR_KIND, "vector": anchor},
            )

    # ------------------------------------------------------------------ writes
    def replace(self, graphs: Sequence[str], projection: Projection, previous: Projection | None = None) -> None:
        """Make the rows of `graphs` exactly the projection's, in one transaction.

        With `previous` (the projection of what the graphs held before), only what changed is
        written: changed rows are deleted and created again, new rows and edges are created, and
        rows and edges no longer there are deleted. A build that adds a few facts to its graph
        thus touches a few tables, and Kùzu's checkpoint on close stays small. Without it, every
        row of `graphs` is rewritten (recovery, imports).
        """
        with self._transaction():
            if previous is not None:
                delta = self._delta(list(graphs), previous, projection)
            else:
                if graphs:  # one statement per table: a label-less DETACH DELETE can miss nodes in Kùzu 0.11
                    for table in schema().nodes:
                        self._conn.execute(
                            f"MATCH (n:{table}) WHERE n.graph IN $graphs DETACH DELETE n", {"graphs": list(graphs)}
                        )
                delta = projection
            if graphs and (previous is None or previous.traces - projection.traces):
                self._conn.execute(  # the trace nodes whose every linked node is gone
                    f"MATCH (t:{TRACE_TABLE}) WHERE NOT EXISTS {{ MATCH (t)-[:{TRACE_STEP}]->() }} DELETE t"
                )
            self._copy(delta)
        # The memories follow in a transaction of their own: when a transaction that changed other tables
        # also wrote to the vector-indexed table, Kùzu 0.11 lost rows it had created on commit (a rebuild's
        # product, intent and blueprint). A crash between the two leaves the graphs marked pending, and
        # the next writer projects them again.
        with self._transaction():
            self._replace_memories(list(graphs), projection.memories, previous.memories if previous else None)
        if projection.memories:
            self._ensure_index()

    def _replace_memories(
        self, graphs: list[str], memories: list[dict[str, Any]], previous: list[dict[str, Any]] | None
    ) -> None:
        """Make the memories of `graphs` these; with `previous` (what they held), only the changes are written."""
        if previous is None:
            if graphs:
                self._conn.execute(f"MATCH (m:{MEMORY_TABLE}) WHERE m.graph IN $graphs DELETE m", {"graphs": graphs})
            added = memories
        else:
            same = {memory_identity(m) for m in previous} & {memory_identity(m) for m in memories}
            gone = [m["key"] for m in previous if memory_identity(m) not in same]
            if gone:
                self._conn.execute(
                    f"MATCH (m:{MEMORY_TABLE}) WHERE m.graph IN $graphs AND m.key IN $keys DELETE m",
                    {"graphs": graphs, "keys": gone},
                )
            added = [m for m in memories if memory_identity(m) not in same]
        if added and len(added) < BULK_ROWS:
            self._conn.execute(
                f"UNWIND $rows AS r CREATE (:{MEMORY_TABLE} {{key: r.key, iri: r.iri, kind: r.kind, graph: r.graph, "
                f"product: r.product, text: r.text, embedding: CAST(r.embedding AS FLOAT[{EMBEDDING_DIM}])}})",
                {"rows": [{**m, "embedding": [float(x) for x in m["embedding"]]} for m in added]},
            )
        elif added:
            self._copy_memories(added, np.asarray([m["embedding"] for m in added], dtype=np.float32))

    def _delta(self, graphs: list[str], previous: Projection, projection: Projection) -> Projection:
        """Delete what `previous` has and `projection` has not; return what is left to write."""
        old: dict[tuple[str, str], dict[str, Any]] = {(r.table, r.values["key"]): r.values for r in previous.nodes}
        new: dict[tuple[str, str], dict[str, Any]] = {(r.table, r.values["key"]): r.values for r in projection.nodes}
        kept = {ref for ref, values in old.items() if new.get(ref) == values}
        stale: dict[str, list[str]] = defaultdict(list)
        for table, key in old.keys() - kept:
            stale[table].append(key)
        for table, keys in stale.items():
            self._conn.execute(
                f"MATCH (n:{table}) WHERE n.graph IN $graphs AND n.key IN $keys DETACH DELETE n",
                {"graphs": graphs, "keys": keys},
            )

        def edges(p: Projection) -> set[tuple[str, str, str, str, str]]:
            return {(rel, src, dst, a, b) for (rel, src, dst), pairs in p.edges.items() for a, b in pairs}

        def held(table: str, key: str) -> bool:  # a trace's node stays while any node links to it
            return table == TRACE_TABLE or (table, key) in kept

        surviving = {e for e in edges(previous) if held(e[1], e[3]) and held(e[2], e[4])}
        wanted = edges(projection)
        for rel, src, dst, a, b in surviving - wanted:
            self._conn.execute(
                f"MATCH (a:{src} {{key: $a}})-[r:{rel}]->(b:{dst} {{key: $b}}) DELETE r", {"a": a, "b": b}
            )
        delta = Projection(nodes=[NodeRow(t, v) for (t, k), v in new.items() if (t, k) not in kept])
        delta.traces = projection.traces
        traced = set(schema().traced)
        delta.steps = {ref: values for ref, values in new.items() if ref in kept and ref[0] in traced}
        for (rel, src, dst), pairs in projection.edges.items():
            todo = [(a, b) for a, b in pairs if (rel, src, dst, a, b) not in surviving]
            if todo:
                delta.edges[(rel, src, dst)] = todo

        return delta

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            with suppress(RuntimeError):  # a statement that failed has already rolled Kùzu's transaction back
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _has_index(self) -> bool:
        if not self._indexed:
            _, rows = self.execute("CALL SHOW_INDEXES() RETURN index_name")
            self._indexed = [MEMORY_INDEX] in rows
        return self._indexed

    def _ensure_index(self) -> None:
        """Build the vector index once memories exist.

        Building it over rows already loaded is far faster than inserting into it row by row
        (100,000 vectors: minutes instead of most of an hour), and Kùzu 0.11 cannot load rows
        into a table whose index was dropped, so the index is created late and never dropped.
        """
        if not self._has_index():
            self._conn.execute(
                f"CALL CREATE_VECTOR_INDEX('{MEMORY_TABLE}', '{MEMORY_INDEX}', 'embedding', metric := 'cosine')"
            )

    def _copy(self, projection: Projection) -> None:
        """Write the rows: nodes with COPY for bulk groups and CREATE for small ones, edges always with COPY.

        A COPY costs tens of milliseconds whatever its size, so a product build's few hundred
        rows of a table are created instead. Edges are copied however few: created ones (one
        `MATCH ... CREATE` each) made the checkpoint when the database closes rewrite far more
        (a 5-entity product published beside others: 1.1-1.8 s to close, against 0.05 s after
        COPY; the file grew 90-140 MB a product, against 2-5 MB), and the publish took 1.9-2.5 s
        in all against 1.6-2.2 s.
        """
        sch = schema()
        by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in projection.nodes:
            by_table[row.table].append(row.values)
        for table, rows in by_table.items():
            columns = sch.nodes[table].columns
            if len(rows) < BULK_ROWS:
                sets = ", ".join(f"{c}: CAST(r.{c} AS {t})" for c, t in columns.items())
                self._conn.execute(
                    f"UNWIND $rows AS r CREATE (:{table} {{{sets}}})",
                    {"rows": [{c: r.get(c) for c in columns} for r in rows]},
                )
                continue
            frame = pl.DataFrame(
                {c: [r.get(c) for r in rows] for c in columns},
                schema={c: _POLARS_TYPES[t] for c, t in columns.items()},
            )
            self._conn.execute(f"COPY {table} FROM frame")
        if projection.traces:  # merged: a trace's node may be there already (its build's other graph)
            self._conn.execute(
                f"UNWIND $keys AS k MERGE (:{TRACE_TABLE} {{key: k}})", {"keys": sorted(projection.traces)}
            )
        for (rel, src, dst), pairs in projection.edges.items():
            frame = edge_frame(projection, rel, dst, pairs)  # noqa: F841
            self._conn.execute(f"COPY {rel} FROM frame {copy_options(rel, src, dst)}")

    def _copy_memories(self, rows: Sequence[Mapping[str, Any]], vectors: np.ndarray) -> None:
        frame = pl.DataFrame(  # noqa: F841 - the COPY statement reads it by name
            {
                **{c: [r[c] for r in rows] for c in ("key", "iri", "kind", "graph", "product", "text")},
                "embedding": np.asarray(vectors, dtype=np.float32),
            },
            schema_overrides={"embedding": pl.Array(pl.Float32, EMBEDDING_DIM)},
        )
        self._conn.execute(f"COPY {MEMORY_TABLE} FROM frame")

    def add_vectors(self, rows: Sequence[Mapping[str, Any]], vectors: np.ndarray) -> None:
        """Add memories with precomputed embeddings (bulk loads and benchmarks), in one COPY."""
        if len(rows) != len(vectors):
            raise ValueError(f"{len(rows)} rows but {len(vectors)} vectors")
        with self._transaction():
            self._copy_memories(rows, vectors)
        self._ensure_index()

    # ------------------------------------------------------------------ reads
    def execute(
        self,
        cypher: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        reuse: bool = False,
        max_rows: int | None = None,
        timeout_s: float | None = None,
    ) -> tuple[list[str], list[list[Any]]]:
        """Run Cypher; returns column names and rows. Errors become QueryRefusedError.

        `reuse` keeps the statement prepared (parsed and planned) for the next run of the same text
        with parameters of the same types: for the factory's own queries, which run again and again.
        At most `max_rows` rows are read; Kùzu interrupts a query running longer than `timeout_s`
        (raising QueryTimeoutError).
        """
        statement: str | kuzu.PreparedStatement = cypher
        if reuse and parameters:
            try:
                statement = self._prepare(cypher, parameters)
            except RuntimeError as exc:
                raise _refusal(exc) from None
        # set for every query (0: none), so that a bounded query's limit never outlives it on this connection
        self._conn.set_query_timeout(0 if timeout_s is None else max(1, int(timeout_s * 1000)))
        return self._run(self._conn, statement, parameters, max_rows)

    def execute_together(
        self, queries: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[tuple[list[str], list[list[Any]]]]:
        """Run read-only queries side by side, each on a connection of its own and kept prepared; the
        results come in the order of `queries`. For the factory's own reads made of several queries (the
        trace): they take about as long as the slowest one rather than all of them together."""
        while len(self._lanes) < len(queries) - 1:
            self._lanes.append(kuzu.Connection(self._db))
        conns = [self._conn, *self._lanes]
        try:  # prepared here, in this thread: the warnings filter that preparing sets is process-wide
            work = [(conns[i], self._prepare(q, p, lane=i), p) for i, (q, p) in enumerate(queries)]
        except RuntimeError as exc:
            raise _refusal(exc) from None
        results: list[Any] = [None] * len(work)

        def run(i: int) -> None:
            try:
                results[i] = self._run(*work[i])
            except BaseException as exc:  # handed to the caller below
                results[i] = exc

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(1, len(work))]
        for thread in threads:
            thread.start()
        run(0)
        for thread in threads:
            thread.join()
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results

    @staticmethod
    def _run(
        conn: kuzu.Connection,
        statement: str | kuzu.PreparedStatement,
        parameters: Mapping[str, Any] | None,
        max_rows: int | None = None,
    ) -> tuple[list[str], list[list[Any]]]:
        try:
            result = conn.execute(statement, dict(parameters or {}))
        except RuntimeError as exc:
            raise _refusal(exc) from None
        if isinstance(result, list):
            result = result[-1]
        columns = list(result.get_column_names())
        rows: list[list[Any]] = []
        while result.has_next() and (max_rows is None or len(rows) < max_rows):
            rows.append([_plain(v) for v in result.get_next()])
        return columns, rows

    def _prepare(self, cypher: str, parameters: Mapping[str, Any], *, lane: int = 0) -> kuzu.PreparedStatement:
        """The statement prepared for `cypher` on a connection (0: the main one; see execute_together),
        prepared now on its first use there (for parameters of these types)."""
        if (lane, cypher) in self._prepared:
            return self._prepared[(lane, cypher)]
        conn = self._lanes[lane - 1] if lane else self._conn
        with warnings.catch_warnings():  # Kùzu 0.11 calls a separate prepare deprecated; it is its last release
            warnings.simplefilter("ignore", DeprecationWarning)
            statement = conn.prepare(cypher, dict(parameters))
        if not statement.is_success():
            raise RuntimeError(statement.get_error_message())
        self._prepared[(lane, cypher)] = statement
        return statement

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[dict[str, Any], float]]:
        """The k memories nearest to `vector` by cosine distance, nearest first.

        Each returned property costs Kùzu a scan of the stored column around every hit, so the query
        reads only what a match shows, and the few rows are put in order here rather than by the query."""
        if not self._has_index():
            return []  # no memories yet
        _, rows = self.execute(
            f"CALL QUERY_VECTOR_INDEX('{MEMORY_TABLE}', '{MEMORY_INDEX}', $vector, $k) "
            "RETURN node.iri, node.kind, node.product, node.text, distance",
            {"vector": [float(x) for x in vector], "k": int(k) + 1},
            reuse=True,
        )
        keys = ("iri", "kind", "product", "text")
        found = [(dict(zip(keys, r[:4], strict=True)), float(r[4])) for r in rows if r[1] != ANCHOR_KIND]
        return sorted(found, key=lambda match: match[1])[:k]

    def counts(self) -> dict[str, int]:
        sch = schema()
        found: dict[str, int] = {}
        for table in [*sch.nodes, MEMORY_TABLE]:
            found[table] = int(
                self.execute(f"MATCH (n:{table}) WHERE n.kind <> '{ANCHOR_KIND}' RETURN count(n)")[1][0][0]
            )
        for rel in sch.rels:
            found[rel] = int(self.execute(f"MATCH ()-[r:{rel}]->() RETURN count(r)")[1][0][0])
        return found


def _refusal(exc: RuntimeError) -> QueryRefusedError:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else "query failed"
    if message == "Interrupted.":  # what Kùzu says of a query it stopped at its timeout
        return QueryTimeoutError(f"Cypher error: {message}")
    return QueryRefusedError(f"Cypher error: {message}")


_PLAIN_TYPES = frozenset((str, int, float, bool))


def _plain(value: Any) -> Any:
    if value is None or type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        # TIMESTAMP columns hold UTC (see projection): written as the RDF store writes an xsd:dateTime,
        # in UTC and with no trailing zeros in its fraction of a second
        text = value.isoformat()
        return (text.rstrip("0") if value.microsecond else text) + "Z"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def group_edges(edges: Iterable[tuple[str, str, str, str, str]]) -> dict[tuple[str, str, str], list[tuple[str, str]]]:
    """Group (rel, src_table, dst_table, src_key, dst_key) tuples by table triple."""
    grouped: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    for rel, src, dst, a, b in edges:
        grouped[(rel, src, dst)].append((a, b))
    return dict(grouped)
