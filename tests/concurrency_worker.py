"""The writer or the reader process of the concurrency test.

Both use the knowledge graph in $FACTORY_HOME. `python -m tests.concurrency_worker write FIRST COUNT`
writes builds FIRST..FIRST+COUNT-1 and prints what it wrote as JSON. `python -m tests.concurrency_worker
read READY STOP` queries in a loop, touching READY after its first answer, until STOP exists: SPARQL
and Cypher alternately, and now and then both in one read session; it prints a JSON summary of the
queries and of every failure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from graph import KnowledgeGraph
from graph.samples import SampleProduct, build_facts

TENANT = "acme"
SPARQL = "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT (COUNT(?p) AS ?n) WHERE { ?p a fac:Product }"
CYPHER = "MATCH (p:Product) RETURN count(p)"


def product(i: int) -> SampleProduct:
    return SampleProduct(
        TENANT,
        f"shop-{i}",
        f"Shop {i}",
        f"Shop number {i} sells products to customers",
        (("customer", ("name", "email")), ("order", ("number", "total")), ("product", ("name",))),
        (("customer", "order"),),
    )


def write(first: int, count: int) -> None:
    kg = KnowledgeGraph(embedder=None, lock_timeout_s=120)
    quads = 0
    slugs = []
    for i in range(first, first + count):
        facts = build_facts(product(i), artifacts=10)
        kg.write(facts)
        quads += len(facts.quads)
        slugs.append(facts.product)
    print(json.dumps({"writes": count, "quads": quads, "products": slugs}))


MIN_ANSWERS = 20  # the reader answers at least this many, however slow the machine


def read(ready: Path, stop: Path) -> None:
    kg = KnowledgeGraph(embedder=None, lock_timeout_s=120)
    ok = failed = 0
    errors: list[str] = []
    sparql_seen: list[int] = []
    cypher_seen: list[int] = []
    out_of_step: list[tuple[int, int]] = []
    i = 0
    while not stop.exists() or ok < MIN_ANSWERS:  # the last answers may come after the writer is done
        try:
            if i % 5 == 4:  # both engines inside one read session must agree: the projection is in step
                with kg.hold():
                    n, m = kg.sparql(SPARQL, TENANT).rows[0][0], kg.cypher(CYPHER, TENANT).rows[0][0]
                if n != m:
                    out_of_step.append((n, m))
                ok += 2
            elif i % 2 == 0:
                sparql_seen.append(kg.sparql(SPARQL, TENANT).rows[0][0])
                ok += 1
            else:
                cypher_seen.append(kg.cypher(CYPHER, TENANT).rows[0][0])
                ok += 1
        except Exception as exc:  # every failure is counted, whatever it is
            failed += 1
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
        if ok and not ready.exists():
            ready.touch()
        i += 1
    summary = {
        "ok": ok,
        "failed": failed,
        "errors": errors[:5],
        "out_of_step": out_of_step[:5],
        "sparql_seen": sparql_seen,
        "cypher_seen": cypher_seen,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(int(sys.argv[2]), int(sys.argv[3]))
    else:
        read(Path(sys.argv[2]), Path(sys.argv[3]))
