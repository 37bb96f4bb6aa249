"""One process writes in a loop while another queries in a loop: no failed query, no lost fact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from graph import KnowledgeGraph
from graph.samples import build_facts
from tests.concurrency_worker import product

ROOT = Path(__file__).resolve().parents[1]
WRITES = 12


def test_writer_and_reader_processes_in_loops(tmp_path: Path) -> None:
    home = tmp_path / "home"
    kg = KnowledgeGraph(home, embedder=None)
    kg.bootstrap()
    first = build_facts(product(0), artifacts=10)
    kg.write(first)  # the tenant's property graph exists before the reader starts
    base = kg.stats()["triples"]
    stop = tmp_path / "stop"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "tests.concurrency_worker"]
    reader = subprocess.Popen(
        [*cmd, "read", str(home), str(stop)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    try:
        writer = subprocess.run(
            [*cmd, "write", str(home), str(WRITES)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=240
        )
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=120)
    assert writer.returncode == 0, writer.stderr
    wrote = json.loads(writer.stdout)
    read = json.loads(out)
    assert read["failed"] == 0, read["errors"]
    assert read["ok"] >= 20
    # zero lost facts: everything both processes wrote is there, once
    stats = kg.stats()
    assert stats["products"] == WRITES + 1
    assert stats["triples"] == base + wrote["quads"]
    assert kg.cypher("MATCH (p:Product) RETURN count(p)", "acme").rows == [[WRITES + 1]]
    assert read["max_products_seen"] >= 1, read
