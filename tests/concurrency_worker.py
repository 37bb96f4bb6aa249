"""A writer or a reader process for the concurrency test: `python -m tests.concurrency_worker write|read HOME N`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from graph import KnowledgeGraph
from graph.samples import SampleProduct, build_facts


def product(i: int) -> SampleProduct:
    return SampleProduct(
        "acme",
        f"shop-{i}",
        f"Shop {i}",
        f"Shop number {i} sells products to customers",
        (("customer", ("name", "email")), ("order", ("number", "total")), ("product", ("name",))),
        (("customer", "order"),),
    )


def write(home: Path, count: int) -> None:
    kg = KnowledgeGraph(home, embedder=None, lock_timeout_s=120)
    written = 0
    for i in range(1, count + 1):
        facts = build_facts(product(i), artifacts=10)
        kg.write(facts)
        written += len(facts.quads)
    print(json.dumps({"writes": count, "quads": written}))


def read(home: Path, stop: Path) -> None:
    kg = KnowledgeGraph(home, embedder=None, lock_timeout_s=120)
    ok = failed = 0
    errors: list[str] = []
    sparql = "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT (COUNT(?p) AS ?n) WHERE { ?p a fac:Product }"
    seen = 0
    while not stop.exists() or ok < 20:
        try:
            n = kg.sparql(sparql, "acme").rows[0][0]
            m = kg.cypher("MATCH (p:Product) RETURN count(p)", "acme").rows[0][0]
            ok += 2
            seen = max(seen, n, m)
        except Exception as exc:  # every failure is counted, whatever it is
            failed += 1
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
        time.sleep(0.005)
    print(json.dumps({"ok": ok, "failed": failed, "errors": errors[:5], "max_products_seen": seen}))


if __name__ == "__main__":
    role, home = sys.argv[1], Path(sys.argv[2])
    write(home, int(sys.argv[3])) if role == "write" else read(home, Path(sys.argv[3]))
