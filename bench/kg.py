"""Knowledge-graph benchmark: ingest, projection, trace queries, vector search and memory.

    python -m bench.kg                 # 10,000 products, 100,000 vectors (a few minutes)
    python -m bench.kg --quick         # 500 products, 10,000 vectors

Baselines measured in the same run: the engines' own bulk paths over the same data (Oxigraph's bulk
loader reading the N-Quads of every product graph, Kùzu's COPY FROM of the same rows out of Parquet
files; see bench.kg_baselines), which the write goals are ratios of; the same SPARQL trace on rdflib's
in-memory store over a 1,000-product subset and on an Oxigraph server; and exact (brute-force numpy)
search over the same vectors.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rdflib import Dataset, Literal, URIRef

from bench.kg_baselines import kuzu_copy, oxigraph_bulk_load, server_trace
from graph import KnowledgeGraph
from graph.property_graph import PropertyGraph
from graph.samples import SampleProduct, build_facts
from graph.trace import SPARQL_TRACE, SPARQL_TRACE_ACTIVITIES, SPARQL_TRACE_GRAPHS

NOUNS = [
    "customer",
    "invoice",
    "payment",
    "order",
    "product",
    "supplier",
    "shipment",
    "patient",
    "doctor",
    "clinic",
    "ticket",
    "message",
    "project",
    "task",
    "comment",
    "course",
    "lesson",
    "student",
    "event",
    "venue",
    "booking",
    "property",
    "lease",
    "vehicle",
    "driver",
    "employee",
    "department",
    "document",
    "team",
    "plan",
    "subscription",
    "account",
    "contract",
    "asset",
    "warehouse",
    "category",
    "review",
    "coupon",
    "refund",
    "member",
    "loan",
    "book",
]
ATTRIBUTES = ("name", "status", "created_on", "amount", "code", "email", "notes", "priority", "quantity")


def synthetic_product(i: int, tenant: str, rng: random.Random) -> SampleProduct:
    names = rng.sample(NOUNS, 10)
    entities = tuple((n, tuple(rng.sample(ATTRIBUTES, 3))) for n in names)
    links = tuple((names[j], names[j + 1]) for j in range(9))
    return SampleProduct(
        tenant, f"p{i:05d}", f"Product {i}", f"A service that manages {', '.join(names[:4])} and more", entities, links
    )


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def bench_graph(
    folder: Path, products: int, tenants: int, batch: int, queries: int, seed: int
) -> tuple[dict[str, float], Path, list[str], Path, list[tuple[str, str]]]:
    rng = random.Random(seed)
    kg = KnowledgeGraph(folder / "kg", embedder=None)
    per_tenant = max(1, products // tenants)
    traces: list[tuple[str, str]] = []
    quads = rows = 0
    rdf_s = proj_s = 0.0
    with kg.hold(write=True):
        kg.bootstrap()
        for start in range(0, products, batch):
            builds = []
            for i in range(start, min(start + batch, products)):
                tenant = f"t{i // per_tenant:02d}"
                facts = build_facts(synthetic_product(i, tenant, rng), trace_id=f"{rng.getrandbits(128):032x}")
                builds.append(facts)
                traces.append((facts.trace_id, tenant))
            stats = kg.write(*builds)
            quads, rows = quads + stats.quads, rows + stats.rows
            rdf_s, proj_s = rdf_s + stats.rdf_seconds, proj_s + stats.projection_seconds
    figures: dict[str, float] = {
        "products": products,
        "triples": quads,
        "rdf_ingest_triples_per_s": quads / rdf_s,
        "kuzu_projection_rows": rows,
        "kuzu_projection_rows_per_s": rows / proj_s,
    }
    # Tenant by tenant, as a server holding a few tenants' stores open sees them: the session keeps
    # MAX_OPEN_TENANTS Kùzu databases open, and each tenant's first query (untimed) opens its store.
    sample = sorted(rng.sample(traces, min(queries, len(traces))), key=lambda t: t[1])
    with kg.hold(write=False):
        for label, call in (
            ("trace_rdf_admin", lambda t: kg.trace(t[0])),
            ("trace_rdf_tenant", lambda t: kg.trace(t[0], t[1])),
            ("trace_kuzu_tenant", lambda t: kg.trace(t[0], t[1], "kuzu")),
        ):
            lat: list[float] = []
            for _, group in itertools.groupby(sample, key=lambda t: t[1]):
                queries_of_tenant = list(group)
                call(queries_of_tenant[0])
                for t in queries_of_tenant:
                    begin = time.perf_counter()
                    steps = call(t)
                    lat.append(time.perf_counter() - begin)
                    assert len(steps) > 40, (label, len(steps))
            figures[f"{label}_p50_ms"] = percentile(lat, 50) * 1000
            figures[f"{label}_p95_ms"] = percentile(lat, 95) * 1000
    subset_size = min(1000, products)
    keep = {f"p{i:05d}" for i in range(subset_size)}
    # The baseline's subset is streamed through files, not held in memory: it is no part of the factory's stores.
    raw, baseline = folder / "subset.nq", folder / "baseline.nq"
    with kg.hold(write=False), raw.open("wb") as out:
        for tenant in sorted({t for _, t in traces[:subset_size]}):
            kg.export_nquads(out, tenant)
    with raw.open() as source, baseline.open("w") as target:
        target.writelines(line for line in source if line.rsplit(" ", 2)[-2][:-1].rsplit("/", 1)[-1] in keep)
    raw.unlink()
    base_ids = random.Random(seed).sample([t for t, _ in traces[:subset_size]], min(30, subset_size))
    everything = folder / "products.nq"  # every product graph: what the engines' own bulk paths load
    with kg.hold(write=False), everything.open("wb") as out:
        for tenant in sorted({t for _, t in traces}):
            kg.export_nquads(out, tenant)
    return figures, baseline, base_ids, everything, sample


def _count_lines(path: Path) -> int:
    with path.open() as lines:
        return sum(1 for line in lines if line.strip())


def bench_rdflib_baseline(path: Path, trace_ids: list[str]) -> dict[str, float]:
    """The same SPARQL trace (its graph, then its nodes and activities there) on rdflib's in-memory store."""
    ds = Dataset(default_union=True)
    ds.parse(path, format="nquads")
    lat = []
    for tid in trace_ids:
        start = time.perf_counter()
        bound = {"trace": Literal(tid)}
        found = []
        for row in ds.query(SPARQL_TRACE_GRAPHS, initBindings=bound):
            graph = ds.graph(URIRef(str(row.graph)))  # type: ignore[union-attr]
            found += list(graph.query(SPARQL_TRACE, initBindings=bound))
            found += list(graph.query(SPARQL_TRACE_ACTIVITIES))
        lat.append(time.perf_counter() - start)
        assert len(found) > 40
    return {"baseline_rdflib_trace_1k_p50_ms": percentile(lat, 50) * 1000, "baseline_quads": _count_lines(path)}


def bench_vectors(folder: Path, count: int, queries: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    dim = 384
    centers = rng.normal(size=(max(1, count // 100), dim)).astype(np.float32)
    data = centers[rng.integers(0, len(centers), count)] + 0.5 * rng.normal(size=(count, dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    # Written by a writer and searched by a reader, with the factory's own settings, as `similar` is.
    pg = PropertyGraph(folder / "vectors.kz", read_only=False)
    rows = [
        {"key": f"v{i}", "iri": f"urn:vector:{i}", "kind": "Intent", "graph": "g", "product": "p", "text": ""}
        for i in range(count)
    ]
    start = time.perf_counter()
    pg.add_vectors(rows, data)
    pg.close()
    load_s = time.perf_counter() - start
    pg = PropertyGraph(folder / "vectors.kz", read_only=True)
    probes = data[rng.integers(0, count, queries)] + 0.1 * rng.normal(size=(queries, dim)).astype(np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    lat, recall, exact_lat = [], [], []
    for q in probes:
        start = time.perf_counter()
        found = pg.nearest(q, 10)
        lat.append(time.perf_counter() - start)
        start = time.perf_counter()
        truth = np.argpartition(-(data @ q), 10)[:10]
        exact_lat.append(time.perf_counter() - start)
        got = {int(r["iri"].rsplit(":", 1)[1]) for r, _ in found}
        recall.append(len(got & set(truth.tolist())) / 10)
    pg.close()
    return {
        "vectors": count,
        "vector_load_and_index_s": load_s,
        "vector_top10_p50_ms": percentile(lat, 50) * 1000,
        "vector_top10_p95_ms": percentile(lat, 95) * 1000,
        "vector_recall_at_10": float(np.mean(recall)),
        "baseline_exact_top10_p50_ms": percentile(exact_lat, 50) * 1000,
        "vector_speedup_vs_exact": percentile(exact_lat, 50) / percentile(lat, 50),
    }


GOALS: list[tuple[str, str, float]] = [
    ("rdf_ingest_vs_oxigraph_bulk_load", ">=", 0.9),
    ("kuzu_projection_vs_kuzu_copy", ">=", 0.5),
    ("trace_rdf_admin_p50_ms", "<=", 10),
    ("trace_rdf_tenant_p50_ms", "<=", 10),
    ("trace_kuzu_tenant_p50_ms", "<=", 10),
    ("vector_top10_p50_ms", "<=", 10),
    ("vector_recall_at_10", ">=", 0.95),
    ("peak_memory_mib", "<=", 2048),
]


def report(figures: dict[str, float]) -> str:
    out = [f"{'figure':36} {'value':>14}   goal"]
    goals = {name: (op, value) for name, op, value in GOALS}
    for name, value in figures.items():
        goal = ""
        if name in goals:
            op, target = goals[name]
            met = value >= target if op == ">=" else value <= target
            goal = f"{op} {target:g}  {'met' if met else 'MISSED'}"
        out.append(f"{name:36} {value:>14,.2f}   {goal}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=500)  # builds per kg.write, one tenant at a time
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="500 products and 10,000 vectors")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.products, args.vectors, args.queries = 500, 10_000, 100
    with tempfile.TemporaryDirectory(prefix="bench-kg-") as tmp:
        folder = Path(tmp)
        figures, baseline, trace_ids, everything, sample = bench_graph(
            folder, args.products, args.tenants, args.batch, args.queries, args.seed
        )
        figures |= bench_vectors(folder, args.vectors, args.queries, args.seed)
        # peak memory of the factory's own stores, before the in-memory baseline is loaded
        figures["peak_memory_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        figures |= bench_rdflib_baseline(baseline, trace_ids)
        figures |= oxigraph_bulk_load(folder, everything)
        figures |= kuzu_copy(folder, everything)
        figures |= server_trace(folder, everything, sample)
    figures["trace_speedup_vs_rdflib"] = figures["baseline_rdflib_trace_1k_p50_ms"] / figures["trace_rdf_tenant_p50_ms"]
    figures["rdf_ingest_vs_oxigraph_bulk_load"] = (
        figures["rdf_ingest_triples_per_s"] / figures["baseline_oxigraph_bulk_triples_per_s"]
    )
    figures["kuzu_projection_vs_kuzu_copy"] = (
        figures["kuzu_projection_rows_per_s"] / figures["baseline_kuzu_copy_rows_per_s"]
    )
    figures["trace_server_vs_embedded"] = figures["trace_rdf_tenant_server_p50_ms"] / figures["trace_rdf_tenant_p50_ms"]
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
