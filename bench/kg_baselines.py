"""The engines' own bulk paths, measured in the same run as bench.kg, and the trace over a SPARQL server.

* Oxigraph's bulk loader reading the N-Quads of every product graph the benchmark wrote: the ingest goal
  is a share of its rate.
* Kùzu's `COPY FROM` of the same rows (the projection of those graphs, written to Parquet files first,
  untimed) into fresh databases with the factory's schema, one per tenant as the factory keeps them: the
  projection goal is a share of its rate.
* The SPARQL trace on an Oxigraph server (`oxigraph serve`, loaded with the same N-Quads) through the
  facade, against the same trace on the embedded store.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import kuzu
import polars as pl

from graph import KnowledgeGraph
from graph.names import parse_graph
from graph.projection import project
from graph.property_graph import _POLARS_TYPES, TRACE_TABLE, copy_options, edge_frame, schema
from graph.rdf_store import Quad, bulk_load_nquads, read_nquads
from graph.remote_store import local_server

__all__ = ["kuzu_copy", "oxigraph_bulk_load", "server_trace"]


def oxigraph_bulk_load(folder: Path, nquads: Path) -> dict[str, float]:
    start = time.perf_counter()
    quads = bulk_load_nquads(folder / "oxigraph-bulk", nquads)
    seconds = time.perf_counter() - start
    return {"baseline_oxigraph_bulk_quads": quads, "baseline_oxigraph_bulk_triples_per_s": quads / seconds}


def _tenants(nquads: Path) -> dict[str, dict[str, list[Quad]]]:
    by_tenant: dict[str, dict[str, list[Quad]]] = defaultdict(lambda: defaultdict(list))
    for graph, quad in read_nquads(nquads):
        name = parse_graph(graph)
        if name is not None:
            by_tenant[name.tenant][graph].append(quad)
    return by_tenant


def kuzu_copy(folder: Path, nquads: Path) -> dict[str, float]:
    """The projection's node and edge rows copied by Kùzu from Parquet files; only the COPY statements are timed."""
    sch = schema()
    rows = 0
    seconds = 0.0
    for tenant, graphs in sorted(_tenants(nquads).items()):
        projection = project(graphs, None, vectors=False)
        files = folder / f"copy-{tenant}"
        files.mkdir()
        statements = []
        by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for node in projection.nodes:
            by_table[node.table].append(node.values)
        for table, values in by_table.items():
            columns = sch.nodes[table].columns
            path = files / f"{table}.parquet"
            pl.DataFrame(
                {c: [v.get(c) for v in values] for c in columns},
                schema={c: _POLARS_TYPES[t] for c, t in columns.items()},
            ).write_parquet(path, use_pyarrow=True)  # Kùzu reads pyarrow's timestamp columns
            statements.append(f"COPY {table} FROM '{path}'")
            rows += len(values)
        if projection.traces:  # the traces' nodes, which the trace's links start from
            path = files / f"{TRACE_TABLE}.parquet"
            pl.DataFrame({"key": sorted(projection.traces)}).write_parquet(path)
            statements.append(f"COPY {TRACE_TABLE} FROM '{path}'")
            rows += len(projection.traces)
        for (rel, src, dst), pairs in projection.edges.items():
            path = files / f"{rel}-{src}-{dst}.parquet"
            edge_frame(projection, rel, dst, pairs).write_parquet(path)
            statements.append(f"COPY {rel} FROM '{path}' {copy_options(rel, src, dst)}")
            rows += len(pairs)
        db = kuzu.Database(str(folder / f"copy-{tenant}.kz"))
        conn = kuzu.Connection(db)
        for ddl in sch.ddl():
            conn.execute(ddl)
        start = time.perf_counter()
        for statement in statements:
            conn.execute(statement)
        conn.close()
        db.close()  # the checkpoint on close is part of the write, as it is for the factory's
        seconds += time.perf_counter() - start
    return {"baseline_kuzu_copy_rows": rows, "baseline_kuzu_copy_rows_per_s": rows / seconds}


def server_trace(folder: Path, nquads: Path, sample: list[tuple[str, str]]) -> dict[str, float]:
    """The tenant-scoped SPARQL trace through the facade on an Oxigraph server holding the same graphs."""
    import numpy as np

    with local_server(folder / "oxigraph-server") as url:
        with nquads.open("rb") as body:
            httpx.post(
                f"{url}/store", content=body, headers={"content-type": "application/n-quads"}, timeout=3600
            ).raise_for_status()
        kg = KnowledgeGraph(folder / "kg-server", embedder=None, sparql=url)
        latencies = []
        with kg.hold(write=False):
            kg.trace(*sample[0])  # untimed: the connection opens
            for trace_id, tenant in sample:
                start = time.perf_counter()
                steps = kg.trace(trace_id, tenant)
                latencies.append(time.perf_counter() - start)
                assert len(steps) > 40, len(steps)
    return {"trace_rdf_tenant_server_p50_ms": float(np.percentile(latencies, 50)) * 1000}
