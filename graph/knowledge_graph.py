"""The KnowledgeGraph facade: the one door to the RDF store, the property graph and vector memory.

Layout under `$FACTORY_HOME/graph/`: `rdf/` (Oxigraph), `kuzu/<tenant>.kz` (one Kùzu
database per tenant), `pending.json` (graphs whose projection a crashed writer left undone)
and the lock files. Writers hold the lock only while they write; readers wait for them.
"""

from __future__ import annotations

import ctypes
import io
import json
import shutil
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from graph import query_guard
from graph.facts import ProductFacts
from graph.files import FileLock, write_atomically
from graph.names import (
    ONTOLOGY_GRAPH,
    PATTERNS_GRAPH,
    SHARED_GRAPHS,
    decisions_graph,
    graph_tenant,
    insights_graph,
    insights_tenant,
    parse_graph,
    tenant_graph_prefix,
)
from graph.projection import Embedder, project
from graph.property_graph import TRACE_TABLE, Projection, PropertyGraph, memory_identity
from graph.rdf_store import Quad, RdfStore, Value, read_nquads, read_turtle
from graph.remote_store import RemoteRdfStore
from graph.trace import (
    APPROVAL,
    CYPHER_TRACE,
    CYPHER_TRACE_AGENTS,
    CYPHER_TRACE_APPROVALS,
    CYPHER_TRACE_FEEDBACK,
    CYPHER_TRACE_GENERATIONS,
    CYPHER_TRACE_REQUESTERS,
    SPARQL_TRACE,
    SPARQL_TRACE_ACTIVITIES,
    SPARQL_TRACE_APPROVALS,
    SPARQL_TRACE_FEEDBACK,
    SPARQL_TRACE_GRAPHS,
    STAGE_OF_CLASS,
    STAGE_OF_TABLE,
    TraceStep,
)
from ontology.config import factory_home, sparql_url
from ontology.errors import InvalidInputError, NotFoundError, QueryRefusedError, QueryTimeoutError
from ontology.refs import check_slug, check_trace_id
from ontology.vocabulary import ONTOLOGY_PATH, PATTERNS_PATH

__all__ = [
    "KnowledgeGraph",
    "Match",
    "QueryResult",
    "WriteStats",
]

_DEFAULT = object()
SHARED_SOURCES = {"ontology": (ONTOLOGY_GRAPH, ONTOLOGY_PATH), "patterns": (PATTERNS_GRAPH, PATTERNS_PATH)}


def _stopped(timeout_s: float | None) -> str:
    return f"the query ran longer than {timeout_s:g} s and was stopped: narrow it (more specific patterns, a LIMIT)"


@dataclass
class QueryResult:
    """Columns and rows of a query; `boolean` is set for SPARQL ASK; `truncated` when rows were left out."""

    columns: list[str]
    rows: list[list[Any]]
    boolean: bool | None = None
    truncated: bool = False

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class WriteStats:
    """What a write stored: quads into the RDF store, rows into the property graph, and the time of each."""

    quads: int
    rows: int
    rdf_seconds: float
    projection_seconds: float


@dataclass(frozen=True)
class Match:
    """A product or intent found by semantic search, with its cosine similarity."""

    score: float
    kind: str
    iri: str
    tenant: str
    product: str
    text: str


MAX_OPEN_TENANTS = 3
"""Tenant databases a session keeps open at once (the least recently used one closes first): each
open Kùzu database holds about 200 MiB with the ontology's 35 node tables, mostly their primary-key
indexes (four open ones took a 10,000-product write past 2 GiB)."""


def _return_freed_memory() -> None:
    """Hand freed memory back to the system (glibc's allocator keeps it otherwise)."""
    if sys.platform.startswith("linux"):
        with suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


@dataclass
class _Session:
    rdf: RdfStore | RemoteRdfStore
    kuzu_dir: Path
    write: bool
    pgs: dict[str, PropertyGraph] = field(default_factory=dict)  # in order of use, the latest last

    def pg(self, tenant: str) -> PropertyGraph:
        if tenant in self.pgs:
            self.pgs[tenant] = self.pgs.pop(tenant)
            return self.pgs[tenant]
        while len(self.pgs) >= MAX_OPEN_TENANTS:
            self.pgs.pop(next(iter(self.pgs))).close()
        path = self.kuzu_dir / f"{tenant}.kz"
        try:
            self.pgs[tenant] = PropertyGraph(path, read_only=not self.write)
        except FileNotFoundError:
            raise NotFoundError(f"tenant {tenant!r} has no products in the knowledge graph yet") from None
        return self.pgs[tenant]

    def tenants(self) -> list[str]:
        return sorted(p.stem for p in self.kuzu_dir.glob("*.kz"))

    def close(self) -> None:
        for pg in self.pgs.values():
            pg.close()
        self.pgs.clear()
        if self.write:
            self.rdf.flush()
        # Close Oxigraph now, while the lock is still held (dropping the last reference closes RocksDB,
        # which waits for its background compactions): a compaction that finished after the lock was
        # released would delete files under the next process's read-only open.
        del self.rdf
        _return_freed_memory()  # what the closed databases and a write's rows held (about 0.1 ms)


class KnowledgeGraph:
    """RDF facts in Oxigraph, their Kùzu projection and the vector memory, kept in step."""

    def __init__(
        self,
        home: Path | None = None,
        *,
        embedder: Any = _DEFAULT,
        lock_timeout_s: float = 300.0,
        sparql: str | object | None = _DEFAULT,
    ):
        """`sparql` is the SPARQL server's base URL that holds the RDF store (default: FACTORY_SPARQL_URL;
        None: the embedded store under `home`). The property graph and vectors stay under `home` either way."""
        self.home = (home or factory_home()).resolve()
        self.sparql_url: str | None = sparql_url() if sparql is _DEFAULT else sparql  # type: ignore[assignment]
        self.folder = self.home / "graph"
        locks = self.folder / "locks"
        self._lock = FileLock(
            locks / "graph.lock",
            turnstile=locks / "turnstile.lock",
            timeout_s=lock_timeout_s,
            what="the knowledge graph",
        )
        if embedder is _DEFAULT:
            from graph.embeddings import SentenceEmbedder

            embedder = SentenceEmbedder()
        self.embedder: Embedder | None = embedder
        self._held = threading.local()  # a session `hold` keeps open, for the thread that holds it

    # ------------------------------------------------------------------ sessions
    @contextmanager
    def _session(self, write: bool) -> Iterator[_Session]:
        held: _Session | None = getattr(self._held, "session", None)
        if held is not None and (held.write or not write):
            yield held
            return
        if held is not None:
            raise RuntimeError("a read session is held: release it before writing")
        with self._lock.exclusive() if write else self._lock.shared():
            session = _Session(self._open_rdf(write), self.folder / "kuzu", write)
            try:
                if write:
                    self._finish_pending(session)
                yield session
            finally:
                session.close()

    def _open_rdf(self, write: bool) -> RdfStore | RemoteRdfStore:
        if self.sparql_url is not None:
            return RemoteRdfStore(self.sparql_url, read_only=not write)
        return RdfStore(self.folder / "rdf", read_only=not write)

    @contextmanager
    def hold(self, write: bool = False) -> Iterator[KnowledgeGraph]:
        """Keep the stores open across many calls of this thread (bulk loads, benchmarks, a read-then-write);
        other threads and processes wait meanwhile."""
        with self._session(write) as session:
            self._held.session = session
            try:
                yield self
            finally:
                self._held.session = None

    # ------------------------------------------------------------------ writes
    def bootstrap(self) -> None:
        """Load the ontology and the pattern library into their shared graphs (replacing older copies)."""
        for name in SHARED_SOURCES:
            self.load_shared(name)

    def load_shared(self, name: str) -> int:
        """Replace one shared graph ("ontology" or "patterns") with its Turtle file; returns its triple count."""
        if name not in SHARED_SOURCES:
            raise InvalidInputError(f"unknown shared graph {name!r}: use {' or '.join(SHARED_SOURCES)}")
        graph, path = SHARED_SOURCES[name]
        quads = read_turtle(path, graph)
        with self._session(write=True) as s:
            s.rdf.replace_graphs({graph: quads})
        return len(quads)

    def replace_shared_graph(self, graph: str, quads: list[Quad]) -> None:
        """Replace a shared graph other than the ontology and the patterns (the template catalog) with `quads`."""
        if graph not in SHARED_GRAPHS or graph in {g for g, _ in SHARED_SOURCES.values()}:
            raise InvalidInputError(f"{graph!r} is not a shared graph the factory writes")
        with self._session(write=True) as s:
            s.rdf.replace_graphs({graph: quads})

    def write(self, *builds: ProductFacts, replace: bool = True) -> WriteStats:
        """Store product builds: each build's graph is replaced (or extended) and re-projected atomically."""
        merged: dict[str, dict[Quad, None]] = {}
        for facts in builds:
            merged.setdefault(facts.graph, {}).update(dict.fromkeys(facts.quads))  # a graph is a set of quads
        graphs = {g: list(quads) for g, quads in merged.items()}
        with self._session(write=True) as s:
            self._mark_pending(list(graphs), add=True)
            started = time.perf_counter()
            before = {g: list(s.rdf.quads(g)) for g in graphs if s.rdf.has_graph(g)}  # what the projection holds now
            if replace:
                s.rdf.replace_graphs(graphs)
            else:
                s.rdf.add(q for quads in graphs.values() for q in quads)
            stored = time.perf_counter()
            rows = self._project(s, list(graphs), graphs if replace else None, before)
            self._mark_pending(list(graphs), add=False)
            return WriteStats(
                sum(len(q) for q in graphs.values()), rows, stored - started, time.perf_counter() - stored
            )

    def rebuild_tenant(self, tenant: str) -> WriteStats:
        """Rebuild `tenant`'s property graph and vectors from its graphs in the RDF store, the source of truth.

        The tenant's Kùzu database is removed and written anew, so it works on a fresh disk (a second
        machine reading a shared SPARQL server) and after a lost or damaged one. The graphs stay marked
        pending until the new database is complete: a crash mid-way is finished by the next writer.
        """
        check_slug(tenant, "tenant")
        with self._session(write=True) as s:
            graphs = self._graphs(s, tenant)
            if s.rdf.has_graph(insights_graph(tenant)):
                graphs.append(insights_graph(tenant))
            if not graphs:
                raise NotFoundError(f"tenant {tenant!r} has no products in the RDF store to rebuild from")
            self._mark_pending(graphs, add=True)
            if tenant in s.pgs:
                s.pgs.pop(tenant).close()
            for old in s.kuzu_dir.glob(f"{tenant}.kz*"):  # the database file and its write-ahead log
                if old.name == f"{tenant}.kz" or old.name.startswith(f"{tenant}.kz."):
                    if old.is_dir():
                        shutil.rmtree(old)
                    else:
                        old.unlink()
            started = time.perf_counter()
            quads = {g: list(s.rdf.quads(g)) for g in graphs}
            read = time.perf_counter()
            rows = self._project(s, graphs, quads)
            self._mark_pending(graphs, add=False)
            return WriteStats(sum(map(len, quads.values())), rows, read - started, time.perf_counter() - read)

    def delete_product(self, tenant: str, product: str) -> None:
        """Remove a product's graph and its projection."""
        graph = tenant_graph_prefix(tenant) + check_slug(product, "product")
        with self._session(write=True) as s:
            if not s.rdf.has_graph(graph):
                raise NotFoundError(f"no product {product!r} in tenant {tenant!r}")
            self._mark_pending([graph], add=True)
            s.rdf.drop_graphs([graph])
            self._project(s, [graph])
            self._mark_pending([graph], add=False)

    def import_nquads(self, data: IO[bytes], tenant: str | None = None) -> int:
        """Load N-Quads: every graph in the input replaces the stored one; the projection is rebuilt.

        With `tenant`, every quad must belong to that tenant's product graphs; nothing is
        stored when any does not. Returns how many quads were read.
        """
        prefix = tenant_graph_prefix(tenant) if tenant is not None else None  # "" is a bad name, not "no tenant"
        graphs: dict[str, list[Quad]] = {}
        try:
            for name, quad in read_nquads(data):
                if prefix is not None and graph_tenant(name) != tenant:
                    raise InvalidInputError(
                        f"import refused: graph {name or 'default'!r} is not one of tenant {tenant!r}'s graphs"
                    )
                if name not in SHARED_GRAPHS and graph_tenant(name) is None:
                    raise InvalidInputError(f"import refused: {name or 'the default graph'!r} is not a factory graph")
                graphs.setdefault(name, []).append(quad)
        except SyntaxError as exc:
            raise InvalidInputError(f"not valid N-Quads: {str(exc).splitlines()[0]}") from None
        if not graphs:
            raise InvalidInputError("nothing to import: the input holds no quads")
        with self._session(write=True) as s:
            products = [g for g in graphs if parse_graph(g)]
            self._mark_pending(products, add=True)
            s.rdf.replace_graphs(graphs)
            self._project(s, products, graphs)  # from the quads just stored, not read back
            self._mark_pending(products, add=False)
        return sum(len(q) for q in graphs.values())

    def _project(
        self,
        s: _Session,
        graphs: Sequence[str],
        known: Mapping[str, list[Quad]] | None = None,
        before: Mapping[str, list[Quad]] | None = None,
    ) -> int:
        """Rebuild the property-graph projection of `graphs`; returns the rows written.

        `known` holds the graphs' complete contents when the caller has them (a replace),
        which saves reading them back from the RDF store. `before` holds what the graphs
        held until now, whose projection is what the property graph has: then only the
        difference is written.
        """
        rows = 0
        by_tenant: dict[str, list[str]] = {}
        for g in graphs:
            name = parse_graph(g)
            owner = name.tenant if name else insights_tenant(g)  # an insights graph is projected like a product's
            if owner:
                by_tenant.setdefault(owner, []).append(g)
        for tenant, tgraphs in by_tenant.items():
            if known is not None:
                quads = {g: known[g] for g in tgraphs if known.get(g)}
            else:
                quads = {g: list(s.rdf.quads(g)) for g in tgraphs if s.rdf.has_graph(g)}
            projection = project(quads, self.embedder, vectors=False)
            previous = None
            if before is not None:
                previous = project({g: before[g] for g in tgraphs if before.get(g)}, self.embedder, vectors=False)
            self._embed(projection, previous)
            s.pg(tenant).replace(tgraphs, projection, previous)
            s.pgs.pop(tenant).close()  # a writer touching many tenants keeps one database open at a time
            rows += projection.rows
        return rows

    def _embed(self, projection: Projection, previous: Projection | None) -> None:
        """Embed the memories whose text is new: the ones the property graph already holds keep their vectors."""
        if self.embedder is None or not projection.memories:
            return
        held = {memory_identity(m) for m in previous.memories} if previous is not None else set()
        todo = [m for m in projection.memories if memory_identity(m) not in held]
        if todo:
            for memory, vector in zip(todo, self.embedder([m["text"] for m in todo]), strict=True):
                memory["embedding"] = vector

    def _pending_path(self) -> Path:
        return self.folder / "pending.json"

    def _mark_pending(self, graphs: Sequence[str], *, add: bool) -> None:
        path = self._pending_path()
        current = set(json.loads(path.read_text())) if path.exists() else set()
        current = current | set(graphs) if add else current - set(graphs)
        write_atomically(path, json.dumps(sorted(current)).encode())

    def _finish_pending(self, s: _Session) -> None:
        path = self._pending_path()
        if path.exists():
            pending = json.loads(path.read_text())
            if pending:
                self._project(s, pending)
                self._mark_pending(pending, add=False)

    # ------------------------------------------------------------------ reads
    def tenant_graphs(self, tenant: str | None) -> list[str]:
        """Product graphs visible to `tenant` (every product graph for None, the admin)."""
        with self._session(write=False) as s:
            return self._graphs(s, tenant)

    def _graphs(self, s: _Session, tenant: str | None) -> list[str]:
        graphs = [g for g in s.rdf.graphs() if parse_graph(g)]
        if tenant is None:
            return graphs
        prefix = tenant_graph_prefix(tenant)
        return [g for g in graphs if g.startswith(prefix)]

    def _decisions(self, s: _Session, tenant: str) -> list[str]:
        """The tenant's graphs outside its products, where they exist: its decisions (see graph.decisions)
        and the insights it sees (see graph.findings)."""
        return [g for g in (decisions_graph(tenant), insights_graph(tenant)) if s.rdf.has_graph(g)]

    def sparql(
        self,
        query: str,
        tenant: str | None,
        params: Mapping[str, Value] | None = None,
        *,
        max_rows: int | None = None,
        timeout_s: float | None = None,
    ) -> QueryResult:
        """Run a read-only SPARQL query over `tenant`'s graphs and the shared ones (all graphs for None).

        People's queries are bounded (see USER_QUERY_ROWS): at most `max_rows` rows are read (the rest
        of the evaluation is never done), and a query still giving rows after `timeout_s` is stopped.
        Oxigraph cannot stop a query that computes long before its first row (an aggregate over a huge
        join): the command line ends such a query itself.
        """
        query_guard.check_sparql(query)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._session(write=False) as s:
            graphs = None if tenant is None else [*self._graphs(s, tenant), *self._decisions(s, tenant), *SHARED_GRAPHS]
            try:
                answer = s.rdf.query(query, graphs=graphs, bindings=params, timeout_s=timeout_s)
                if answer.boolean is not None:
                    return QueryResult(answer.columns, list(answer.rows), boolean=answer.boolean)
                columns = answer.columns
                taken: list[list[Any]] = []
                for row in answer.rows:
                    if max_rows is not None and len(taken) == max_rows:
                        return QueryResult(columns, taken, truncated=True)
                    if deadline is not None and time.monotonic() > deadline:
                        raise QueryTimeoutError(_stopped(timeout_s))
                    taken.append(row)
                return QueryResult(columns, taken)
            except SyntaxError as exc:
                raise QueryRefusedError(f"SPARQL syntax error: {str(exc).splitlines()[0]}") from None
            except (OSError, RuntimeError) as exc:  # RuntimeError: e.g. a parameter the query does not select
                raise QueryRefusedError(f"SPARQL query failed: {str(exc).splitlines()[0]}") from None

    def cypher(
        self,
        query: str,
        tenant: str | None,
        params: Mapping[str, Any] | None = None,
        *,
        reuse: bool = False,
        max_rows: int | None = None,
        timeout_s: float | None = None,
    ) -> QueryResult:
        """Run read-only Cypher on `tenant`'s property graph (each tenant's in turn for None, the admin).

        `reuse` keeps the statement prepared for the next run (the factory's own, often-run queries).
        At most `max_rows` rows are read; Kùzu stops a query that runs longer than `timeout_s`."""
        query_guard.check_cypher(query)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._session(write=False) as s:
            tenants = [check_slug(tenant, "tenant")] if tenant is not None else s.tenants()
            result = QueryResult([] if tenant is not None else ["tenant"], [])
            for t in tenants:
                budget = None if max_rows is None else max_rows + 1 - len(result.rows)
                left = None if deadline is None else max(0.001, deadline - time.monotonic())
                try:
                    columns, rows = s.pg(t).execute(query, params, reuse=reuse, max_rows=budget, timeout_s=left)
                except QueryTimeoutError:  # said with the whole query's time, not what was left for this tenant
                    raise QueryTimeoutError(_stopped(timeout_s)) from None
                if tenant is not None:
                    result.columns, result.rows = columns, rows
                else:
                    result.columns = ["tenant", *columns]
                    result.rows.extend([t, *r] for r in rows)
                if max_rows is not None and len(result.rows) > max_rows:
                    del result.rows[max_rows:]
                    result.truncated = True
                    break
            return result

    def trace(self, trace_id: str, tenant: str | None = None, engine: str = "rdf") -> list[TraceStep]:
        """The chain of one build, in lifecycle order, from the RDF store or the property graph."""
        check_trace_id(trace_id)
        steps: list[TraceStep] = []
        if engine == "rdf":
            bound = {"trace": trace_id}
            prefix = tenant_graph_prefix(tenant) if tenant is not None else None
            with self._session(write=False) as s:
                found = s.rdf.query(SPARQL_TRACE_GRAPHS, graphs=None, bindings=bound)
                graphs = sorted(str(r["graph"]) for r in found.records())
                for graph in graphs:
                    name = parse_graph(graph)
                    if name is None or (prefix is not None and not graph.startswith(prefix)):
                        continue  # another tenant's build stays invisible
                    nodes = s.rdf.query(SPARQL_TRACE, graphs=[graph], bindings=bound)
                    activities = s.rdf.query(SPARQL_TRACE_ACTIVITIES, graphs=[graph])
                    details = {
                        a["activity"]: (a["agent"], a["started"], a["ended"], a["person"]) for a in activities.records()
                    }
                    for sol in nodes.records():
                        activity = sol["activity"]
                        agent, started, ended, person = details.get(activity, (None, None, None, None))
                        steps.append(
                            TraceStep(
                                STAGE_OF_CLASS[sol["type"]],
                                sol["node"],
                                sol["label"] or "",
                                graph,
                                name.tenant,
                                name.product,
                                activity,
                                agent,
                                started,
                                ended,
                                person,
                            )
                        )
                    for f in s.rdf.query(SPARQL_TRACE_FEEDBACK, graphs=[graph], bindings=bound).records():
                        agent, started, ended, person = details.get(f["activity"], (None, None, None, None))
                        where = (graph, name.tenant, name.product, f["activity"], agent, started, ended, person)
                        steps.append(TraceStep(f["kind"], f["node"], f["label"] or "", *where, f["about"]))
                    for a in s.rdf.query(SPARQL_TRACE_APPROVALS, graphs=[graph], bindings=bound).records():
                        steps.append(
                            TraceStep(
                                APPROVAL,
                                a["node"],
                                a["label"] or "",
                                graph,
                                name.tenant,
                                name.product,
                                a["activity"],
                                a["agent"],
                                a["started"],
                                a["ended"],
                                a["person"],
                            )
                        )
        elif engine == "kuzu":
            if tenant is None:
                raise InvalidInputError("a trace on the property graph needs --tenant")
            bound_trace = {"trace": trace_id}
            with self._session(write=False) as s:  # internal ids hold within one session's snapshot
                pg = s.pg(check_slug(tenant, "tenant"))
                queries = (CYPHER_TRACE, CYPHER_TRACE_GENERATIONS, CYPHER_TRACE_AGENTS, CYPHER_TRACE_REQUESTERS,
                           CYPHER_TRACE_APPROVALS, *(probe for _, probe, _ in CYPHER_TRACE_FEEDBACK))  # fmt: skip
                try:
                    answered = pg.execute_together([(q, bound_trace) for q in queries])
                except QueryRefusedError as exc:
                    if f"Table {TRACE_TABLE} does not exist" not in str(exc):
                        raise
                    raise QueryRefusedError(  # a database from before the trace's nodes, which a writer adds
                        f"tenant {tenant!r}'s property graph predates the trace's nodes: any write to the tenant, "
                        f"or `factory kg rebuild --tenant {tenant}`, adds them"
                    ) from None
                (_, found_nodes), (_, generations), (_, agents), (_, requesters), (_, approvals) = answered[:5]
                loop = [
                    (kind, query)
                    for (kind, _, query), (_, counted) in zip(CYPHER_TRACE_FEEDBACK, answered[5:], strict=True)
                    if counted[0][0]
                ]  # the feedback steps whose probe found nodes (most builds have none)
                answers = pg.execute_together([(q, bound_trace) for _, q in loop]) if loop else []
            for (kind, _), (_, rows) in zip(loop, answers, strict=True):
                for node, label, graph, activity, agent, started, ended, about in rows:
                    name = parse_graph(graph)
                    where = (graph, tenant, name.product if name else "", activity, agent, started, ended, None)
                    steps.append(TraceStep(kind, node, label or "", *where, about))
            agent_of = {_internal_id(a): agent for a, agent in agents}
            person_of = {_internal_id(a): person for a, person in requesters}
            made_by: dict[tuple[int, int], list[tuple[Any, ...]]] = defaultdict(list)
            for n, a, activity, started, ended in generations:
                key = _internal_id(a)
                made_by[_internal_id(n)].append((activity, agent_of.get(key), started, ended, person_of.get(key)))
            for node, label, graph, activity, agent, person, started, ended in approvals:
                name = parse_graph(graph)
                steps.append(
                    TraceStep(
                        APPROVAL,
                        node,
                        label or "",
                        graph,
                        tenant,
                        name.product if name else "",
                        activity,
                        agent,
                        started,
                        ended,
                        person,
                    )
                )
            for kind, n, node, label, graph in found_nodes:
                name = parse_graph(graph)
                for generation in made_by.get(_internal_id(n)) or [(None, None, None, None, None)]:
                    steps.append(  # as on the RDF side, a step for each activity that generated the node
                        TraceStep(
                            STAGE_OF_TABLE[kind],
                            node,
                            label or "",
                            graph,
                            tenant,
                            name.product if name else "",
                            *generation,
                        )
                    )
        else:
            raise InvalidInputError(f"unknown trace engine {engine!r}: use rdf or kuzu")
        return sorted(set(steps), key=lambda st: st.order)

    def similar(self, text: str, k: int = 5, tenant: str | None = None) -> list[Match]:
        """The products and intents whose descriptions are nearest in meaning to `text`."""
        if not text or not text.strip():
            raise InvalidInputError("empty search text: say what to look for")
        if len(text) > 10_000:
            raise InvalidInputError(f"search text too long: {len(text):,} characters, at most 10,000")
        if not 1 <= k <= 1000:
            raise InvalidInputError(f"k must be between 1 and 1000, not {k}")
        if self.embedder is None:
            raise InvalidInputError("semantic search needs an embedder; this knowledge graph has none")
        vector = self.embedder([text])[0]
        with self._session(write=False) as s:
            tenants = s.tenants() if tenant is None else [check_slug(tenant, "tenant")]
            found = []
            for t in tenants:
                for row, distance in s.pg(t).nearest(vector, k):
                    found.append(
                        Match(round(1.0 - distance, 6), row["kind"], row["iri"], t, row["product"], row["text"])
                    )
        return sorted(found, key=lambda m: (-m.score, m.iri))[:k]

    def export_nquads(self, out: IO[bytes], tenant: str | None = None) -> int:
        """Write one tenant's product graphs, or every graph, as N-Quads; returns the quad count."""
        with self._session(write=False) as s:
            graphs = s.rdf.graphs() if tenant is None else [*self._graphs(s, tenant), *self._decisions(s, tenant)]
            if tenant is not None and not graphs:
                raise NotFoundError(f"tenant {tenant!r} has no products in the knowledge graph")
            return s.rdf.dump(out, graphs)

    def export_bytes(self, tenant: str | None = None) -> bytes:
        buffer = io.BytesIO()
        self.export_nquads(buffer, tenant)
        return buffer.getvalue()

    def stats(self) -> dict[str, Any]:
        """Sizes of the stores: triples, graphs, tenants, products and per-tenant table counts."""
        with self._session(write=False) as s:
            products = [parse_graph(g) for g in s.rdf.graphs()]
            tenants: dict[str, Any] = {}
            for t in s.tenants():
                counts = s.pg(t).counts()
                tenants[t] = {
                    "products": sum(1 for p in products if p and p.tenant == t),
                    "nodes": sum(v for k, v in counts.items() if k[0].isupper() and k != "Memory"),
                    "edges": sum(v for k, v in counts.items() if k[0].islower()),
                    "memories": counts["Memory"],
                }
            return {
                "home": str(self.home),
                "triples": s.rdf.count(),
                "graphs": len(s.rdf.graphs()),
                "products": sum(1 for p in products if p),
                "tenants": tenants,
            }


def _internal_id(value: Mapping[str, int]) -> tuple[int, int]:
    """A Kùzu internal id (as the driver returns it) as a hashable key."""
    return value["table"], value["offset"]
