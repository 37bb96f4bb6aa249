"""One process writes in a loop while another queries in a loop: no failed query, no lost fact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from graph import KnowledgeGraph
from graph.property_graph import PropertyGraph
from graph.rdf_store import RdfStore
from graph.samples import build_facts
from tests.concurrency_worker import CYPHER, TENANT, product

ROOT = Path(__file__).resolve().parents[1]
WRITES = 12


def test_a_reader_process_never_fails_while_a_writer_process_writes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    kg = KnowledgeGraph(home, embedder=None)
    shared = kg.load_shared("ontology") + kg.load_shared("patterns")
    first = build_facts(product(0), artifacts=10)
    kg.write(first)  # the tenant's property graph exists before the reader starts
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    env = {**os.environ, "FACTORY_HOME": str(home), "PYTHONPATH": str(ROOT)}
    worker = [sys.executable, "-m", "tests.concurrency_worker"]
    reader = subprocess.Popen(
        [*worker, "read", str(ready), str(stop)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and reader.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the reader never answered a query"
        writer = subprocess.run(
            [*worker, "write", "1", str(WRITES)], capture_output=True, text=True, env=env, timeout=240
        )
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=120)
    assert writer.returncode == 0, writer.stderr
    assert reader.returncode == 0, err
    wrote, read = json.loads(writer.stdout), json.loads(out)

    # the reader: no failure, always in step, and it saw the writes land one by one
    assert read["failed"] == 0, read["errors"]
    assert read["out_of_step"] == []
    for seen in (read["sparql_seen"], read["cypher_seen"]):
        assert seen == sorted(seen), seen  # a product once seen never disappears: no half-written state
        assert seen[0] >= 1 and seen[-1] <= WRITES + 1
    assert len(set(read["sparql_seen"]) | set(read["cypher_seen"])) >= 3, read

    # zero lost facts: everything both processes wrote is there, once
    stats = kg.stats()
    assert stats["products"] == WRITES + 1
    assert stats["triples"] == shared + len(first.quads) + wrote["quads"]
    slugs = kg.sparql("PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT ?s WHERE { ?p fac:slug ?s }", TENANT)
    assert sorted(s for (s,) in slugs.rows) == sorted([first.product, *wrote["products"]])
    assert kg.cypher(CYPHER, TENANT).rows == [[WRITES + 1]]
    assert kg.cypher("MATCH (a:Artifact) RETURN count(a)", TENANT).rows == [[10 * (WRITES + 1)]]


def test_a_writers_stores_are_closed_before_its_lock_is_released(kg: KnowledgeGraph) -> None:
    """The next process may open the stores the moment the lock is free: nothing of the writer may linger.

    RocksDB (under Oxigraph) deletes compacted files in the background until it is closed; a store
    still open after the lock was released once failed a reader with "No such file ... .sst".
    """
    kg.write(build_facts(product(0), artifacts=2))
    with kg._session(write=True) as session:
        session.pg(TENANT)
    # `session` is still referenced here, after the lock was released: its stores must already be closed
    assert session.write
    other = RdfStore(kg.folder / "rdf", read_only=False)  # RocksDB refuses a second open of an open store
    triples = other.count()
    del other
    assert triples == kg.stats()["triples"] > 0
    PropertyGraph(kg.folder / "kuzu" / f"{TENANT}.kz", read_only=False).close()
