"""Four products built at once with the multiprocess executor while another process queries the graph."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from graph import KnowledgeGraph
from graph.samples import DEMO_PRODUCTS, build_facts
from infra import runtime
from infra.control import ControlPlane

pytestmark = pytest.mark.slow(minutes=2)

FACTORY = str(Path(sys.executable).with_name("factory"))
TENANT = "acme"  # the tenant tests.concurrency_worker reads


def blueprint(slug: str) -> dict[str, object]:
    """A one-entity product: the smallest real build."""
    return {
        "name": f"Notes {slug}",
        "slug": slug,
        "tenant": TENANT,
        "description": "Short notes people keep",
        "entities": [
            {
                "name": "note",
                "attributes": [
                    {"name": "title", "type": "string", "required": True},
                    {"name": "body", "type": "text"},
                ],
            }
        ],
    }


def test_four_builds_at_once_while_another_process_queries(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "FACTORY_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    seeded = KnowledgeGraph(home, embedder=None)
    seeded.bootstrap()
    seeded.write(build_facts(DEMO_PRODUCTS[0]))  # acme/invoicing: the reader has a tenant to read from the start
    reader = subprocess.Popen(
        [sys.executable, "-m", "tests.concurrency_worker", "read", str(ready), str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    builds = []
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists(), "the reader never answered"
        for i in range(4):
            path = tmp_path / f"notes-{i}.yaml"
            path.write_text(yaml.safe_dump(blueprint(f"notes-{i}")))
            command = [FACTORY, "build", "--tenant", TENANT, "--blueprint", str(path), "--executor", "multiprocess"]
            builds.append(
                subprocess.Popen(
                    [*command, "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                )
            )
        results = []
        for process in builds:
            out, err = process.communicate(timeout=900)
            assert process.returncode == 0, out[-3000:] or err[-3000:]  # the summary says which check failed
            results.append(json.loads(out))
    finally:
        stop.touch()
        summary = json.loads(reader.communicate(timeout=120)[0])
        for process in builds:
            if process.poll() is None:
                process.kill()
        if (home / "control.db").exists():
            for d in ControlPlane(None, home).deployments(None):
                if d.pid and d.workdir:
                    runtime.stop(d.pid, Path(d.workdir))
    assert summary["failed"] == 0, summary["errors"][:5]
    assert summary["ok"] > 0 and not summary["out_of_step"]
    assert {r["product"] for r in results} == {f"notes-{i}" for i in range(4)}
    assert all(r["success"] and r["stages"]["knowledge"] == "done" for r in results)
    kg = KnowledgeGraph(home, embedder=None)
    assert kg.cypher("MATCH (p:Product) RETURN count(p)", TENANT).rows[0][0] == 5
    for r in results:  # no lost facts: every build's chain is whole
        stages = {step.stage for step in kg.trace(r["trace_id"], TENANT)}
        assert {"intent", "blueprint", "artifacts", "validation", "release", "deployment", "telemetry"} <= stages
    assert len({r["service_url"] for r in results}) == 4
