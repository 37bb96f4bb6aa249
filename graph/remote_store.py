"""The RDF store on a SPARQL server: the methods of `RdfStore` over the SPARQL 1.1 Protocol and Graph Store Protocol.

Selected by `FACTORY_SPARQL_URL` (see ontology.config.sparql_url), the base URL of an Oxigraph server
(`oxigraph serve --location DIR --bind HOST:PORT`): queries go to `/query`, updates to `/update`, graphs
are read from `/store`. A build's graphs are replaced by one update request (`DROP SILENT GRAPH` and
`INSERT DATA`), which the server runs in one transaction. Tenant scoping is the protocol's dataset
(`default-graph-uri` and `named-graph-uri`), which the server puts in place of any FROM the query names.

Query parameters are bound as a `VALUES` block at the head of the query's WHERE group, written from RDF
terms (never from raw text); the query is first prepared on an empty local store with the same bindings,
so a syntax error or a parameter the query does not select is refused the same way as on disk.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pyoxigraph as ox

from graph.rdf_store import Answer, Value, python_value, replacing_update, term
from ontology.errors import FactoryError, QueryRefusedError, QueryTimeoutError

__all__ = ["RemoteRdfStore", "SparqlServerError", "bind_values", "local_server"]

EMPTY_DATASET = "urn:factory:no-graph"
"""The one graph of an empty dataset: the protocol reads no graph IRIs at all as "the whole store"."""
_JSON = "application/sparql-results+json"
_NTRIPLES = "application/n-triples"
_NQUADS = "application/n-quads"
_clients: dict[tuple[str, int], httpx.Client] = {}
_clients_lock = threading.Lock()

# what in a query's text can hide a "WHERE" or a brace: strings, IRIs and comments
_OPAQUE = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
    r"|<[^<>\"{}|^`\\\x00-\x20]*>|#[^\n]*"
)
_WHERE = re.compile(r"(?<![\w?$:])WHERE(?![\w:])", re.IGNORECASE)


class SparqlServerError(FactoryError):
    """The SPARQL server did not answer, or answered with an error that is not the query's fault."""


def _client(url: str) -> httpx.Client:
    """One connection pool per server and process (a forked worker opens its own)."""
    key = (url, os.getpid())
    with _clients_lock:
        if key not in _clients:
            _clients[key] = httpx.Client(base_url=url, timeout=httpx.Timeout(300.0, connect=10.0))
        return _clients[key]


def bind_values(query: str, bindings: Mapping[str, ox.NamedNode | ox.Literal]) -> str:
    """`query` with a VALUES block for `bindings` placed first in its WHERE group."""
    if not bindings:
        return query
    masked = _OPAQUE.sub(lambda m: " " * len(m.group(0)), query)
    where = _WHERE.search(masked)
    brace = masked.find("{", where.end() if where else 0)
    if brace < 0:
        raise QueryRefusedError("SPARQL query has no WHERE group to bind its parameters in")
    names = " ".join(f"?{name}" for name in bindings)
    row = " ".join(str(value) for value in bindings.values())  # N-Triples forms, escaped by Oxigraph
    return f"{query[: brace + 1]} VALUES ({names}) {{ ({row}) }} {query[brace + 1 :]}"


class _Stream(io.RawIOBase):
    """A response body read as it arrives, so a bounded query stops reading after its rows."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = chunk
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


class RemoteRdfStore:
    """The RDF store on a SPARQL server, opened for reading or for writing (by the one writer)."""

    def __init__(self, url: str, *, read_only: bool) -> None:
        self.url = url
        self.read_only = read_only
        self._http = _client(url)
        self._prepare = ox.Store()  # empty: checks a query's syntax and parameters before it is sent

    # ------------------------------------------------------------------ protocol
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise SparqlServerError(f"the SPARQL server at {self.url} did not answer in time") from None
        except httpx.TransportError as exc:
            raise SparqlServerError(
                f"the SPARQL server at {self.url} does not answer ({exc}): start it, or unset FACTORY_SPARQL_URL"
            ) from None
        if response.status_code >= 400:
            first = (response.text.strip().splitlines() or [response.reason_phrase])[0]
            raise SparqlServerError(f"the SPARQL server refused {method} {path}: {response.status_code} {first}")
        return response

    def _update(self, text: str) -> None:
        if self.read_only:
            raise SparqlServerError("this session is read-only: open the knowledge graph for writing")
        self._send("POST", "/update", content=text.encode(), headers={"content-type": "application/sparql-update"})

    def _select(self, query: str, **params: Any) -> list[ox.QuerySolution]:
        response = self._send("POST", "/query", data={"query": query, **params}, headers={"accept": _JSON})
        result = ox.parse_query_results(response.content, ox.QueryResultsFormat.JSON)
        if not isinstance(result, ox.QuerySolutions):
            raise SparqlServerError(f"the SPARQL server at {self.url} answered a SELECT with a boolean")
        return list(result)

    # ------------------------------------------------------------------ writes
    def replace_graphs(self, graphs: Mapping[str, list[ox.Quad]]) -> None:
        """Replace each named graph with the given quads, in one update request (one transaction)."""
        if not graphs:
            return
        self._update(replacing_update(graphs))

    def add(self, quads: Iterable[ox.Quad]) -> None:
        """Add quads in one update request."""
        body = " ".join(
            f"{q.subject} {q.predicate} {q.object} ."
            if isinstance(q.graph_name, ox.DefaultGraph)
            else f"GRAPH {q.graph_name} {{ {q.subject} {q.predicate} {q.object} }}"
            for q in quads
        )
        if body:
            self._update(f"INSERT DATA {{ {body} }}")

    def drop_graphs(self, graphs: Iterable[str]) -> None:
        names = list(graphs)
        if names:
            self._update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in names))

    def load_nquads(self, data: IO[bytes]) -> None:
        """Load an N-Quads stream in one update request."""
        self.add(q for q in ox.parse(data, format=ox.RdfFormat.N_QUADS))

    def flush(self) -> None:
        """Nothing to do: the server persists each request."""

    # ------------------------------------------------------------------ reads
    def graphs(self) -> list[str]:
        rows = self._select("SELECT ?g WHERE { GRAPH ?g {} }")
        return sorted(g.value for row in rows if isinstance(g := row["g"], ox.NamedNode))

    def has_graph(self, graph: str) -> bool:
        answer = self._send(
            "POST",
            "/query",
            data={"query": f"ASK {{ GRAPH <{ox.NamedNode(graph).value}> {{}} }}"},
            headers={"accept": _JSON},
        )
        return bool(ox.parse_query_results(answer.content, ox.QueryResultsFormat.JSON))

    def quads(self, graph: str) -> Iterator[ox.Quad]:
        name = ox.NamedNode(graph)
        response = self._send("GET", "/store", params={"graph": graph}, headers={"accept": _NTRIPLES})
        return (
            ox.Quad(t.subject, t.predicate, t.object, name)
            for t in ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES)
        )

    def count(self, graph: str | None = None) -> int:
        pattern = (
            "{ ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } }"
            if graph is None
            else f"GRAPH <{ox.NamedNode(graph).value}> {{ ?s ?p ?o }}"
        )
        rows = self._select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}")
        return int(python_value(rows[0]["n"]))

    def query(
        self,
        query: str,
        *,
        graphs: list[str] | None,
        bindings: Mapping[str, Value] | None = None,
        timeout_s: float | None = None,
    ) -> Answer:
        """Run a SPARQL query on the server; `graphs` is the dataset (None: every graph, for admins).

        Rows are read as the server sends them. Syntax errors raise SyntaxError and unselected
        parameters RuntimeError, as on disk."""
        subs = {k: term(v) for k, v in (bindings or {}).items()}
        self._prepare.query(query, substitutions={ox.Variable(k): v for k, v in subs.items()})  # raises as on disk
        params: dict[str, Any] = {"query": bind_values(query, subs)}
        if graphs is None:
            params["union-default-graph"] = "true"
        else:
            names = graphs or [EMPTY_DATASET]
            params["default-graph-uri"] = names
            params["named-graph-uri"] = names
        accept = f"{_JSON}, {_NTRIPLES};q=0.9"
        timeout = httpx.Timeout(timeout_s, connect=10.0) if timeout_s is not None else httpx.USE_CLIENT_DEFAULT
        request = self._http.build_request("POST", "/query", data=params, headers={"accept": accept}, timeout=timeout)
        try:
            response = self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise QueryTimeoutError(f"the query ran longer than {timeout_s:g} s and was stopped") from None
        except httpx.TransportError as exc:
            raise SparqlServerError(f"the SPARQL server at {self.url} does not answer ({exc})") from None
        if response.status_code >= 400:
            text = response.read().decode(errors="replace").strip()
            response.close()
            raise QueryRefusedError(f"SPARQL query failed: {(text.splitlines() or [str(response.status_code)])[0]}")
        body = io.BufferedReader(_Stream(self._chunks(response, timeout_s)))
        if response.headers.get("content-type", "").startswith(_NTRIPLES):
            triples = ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
            return Answer(
                ["subject", "predicate", "object"],
                ([python_value(t.subject), python_value(t.predicate), python_value(t.object)] for t in triples),
            )
        result = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
        if isinstance(result, ox.QueryBoolean):
            response.close()
            return Answer(["ask"], iter([[bool(result)]]), boolean=bool(result))
        columns = [v.value for v in result.variables]
        return Answer(columns, ([python_value(sol[c]) for c in columns] for sol in result))

    @staticmethod
    def _chunks(response: httpx.Response, timeout_s: float | None) -> Iterator[bytes]:
        try:
            yield from response.iter_bytes()
        except httpx.TimeoutException:
            raise QueryTimeoutError(f"the query ran longer than {timeout_s:g} s and was stopped") from None
        finally:
            response.close()

    def dump(self, out: IO[bytes], graphs: Iterable[str]) -> int:
        """Write the quads of the given graphs as N-Quads; returns how many were written."""
        written = 0
        for g in graphs:
            for quad in self.quads(g):
                out.write(f"{quad} .\n".encode())
                written += 1
        return written


def _oxigraph() -> str:
    """The `oxigraph` command of the `oxigraph` package: beside this Python, or on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.exists() else shutil.which("oxigraph")
    if found is None:
        raise SparqlServerError("no oxigraph command: install the factory's dependencies (pip install oxigraph)")
    return found


@contextmanager
def local_server(location: Path | None = None, *, start_timeout_s: float = 30.0) -> Iterator[str]:
    """An Oxigraph SPARQL server on a free loopback port (its data in `location`, else in memory) for as
    long as the block runs; yields its base URL. Tests and benchmarks use it; a deployment runs
    `oxigraph serve --location DIR --bind HOST:PORT` as a service of its own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [_oxigraph(), "serve", "--bind", f"127.0.0.1:{port}"]
    if location is not None:
        command += ["--location", str(location)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if process.poll() is not None:
                error = (process.stderr.read() if process.stderr else b"").decode(errors="replace").strip()
                raise SparqlServerError(f"oxigraph serve stopped at start: {error.splitlines()[-1] if error else '?'}")
            try:
                httpx.get(url + "/", timeout=1.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SparqlServerError(
                        f"oxigraph serve did not answer on {url} in {start_timeout_s:g} s"
                    ) from None
                time.sleep(0.02)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
