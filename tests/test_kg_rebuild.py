"""`factory kg rebuild`: a tenant's property graph and vectors come back from the RDF store, the source of truth."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graph import KnowledgeGraph, ProductFacts
from graph.embeddings import SentenceEmbedder
from graph.remote_store import local_server
from ontology.errors import NotFoundError

QUERIES = (
    "MATCH (p:Product) RETURN p.iri, p.slug, p.label ORDER BY p.iri",
    "MATCH (a:Artifact) RETURN a.iri, a.key, a.product ORDER BY a.iri",
    "MATCH (e:Entity)-[:hasAttribute]->(x:Attribute) RETURN e.iri, x.iri ORDER BY e.iri, x.iri",
    "MATCH (n)-[r:wasGeneratedBy]->(a) RETURN n.iri, a.iri, a.startedAtTime ORDER BY n.iri, a.iri",
    "MATCH (m:Memory) WHERE m.iri <> '' RETURN m.kind, m.iri, m.text ORDER BY m.iri",
)


def answers(kg: KnowledgeGraph, tenant: str) -> dict[str, list[list[object]]]:
    found = {q: kg.cypher(q, tenant).rows for q in QUERIES}
    assert all(found.values()), found  # every query finds something to compare
    return found


def test_a_second_machine_rebuilds_a_tenant_from_the_sparql_server(
    tmp_path: Path, embedder: SentenceEmbedder, demo_builds: list[ProductFacts]
) -> None:
    acme_quads = sum(len(b.quads) for b in demo_builds if b.tenant == "acme")
    with local_server() as url:
        first = KnowledgeGraph(tmp_path / "one", embedder=embedder, sparql=url)
        first.bootstrap()
        first.write(*demo_builds)
        before = answers(first, "acme")
        near = first.similar("send invoices and take card payments", 3, "acme")
        trace = first.trace(demo_builds[0].trace_id, "acme", engine="kuzu")

        second = KnowledgeGraph(tmp_path / "two", embedder=embedder, sparql=url)  # nothing on its disk
        with pytest.raises(NotFoundError):
            second.cypher(QUERIES[0], "acme")
        done = second.rebuild_tenant("acme")
        assert (done.quads, done.rows > 0) == (acme_quads, True)
        assert answers(second, "acme") == before
        assert second.similar("send invoices and take card payments", 3, "acme") == near
        assert second.trace(demo_builds[0].trace_id, "acme", engine="kuzu") == trace
        assert sorted(p.name for p in (second.folder / "kuzu").glob("*.kz")) == ["acme.kz"]  # one tenant only

        shutil.rmtree(first.folder / "kuzu")  # the first machine loses its disk's property graphs
        first.rebuild_tenant("acme")
        assert answers(first, "acme") == before
        with pytest.raises(NotFoundError, match="initech"):
            first.rebuild_tenant("initech")


def test_kg_rebuild_on_the_command_line_restores_a_deleted_database(
    tmp_path: Path, embedder: SentenceEmbedder, demo_builds: list[ProductFacts]
) -> None:
    home = tmp_path / "home"
    kg = KnowledgeGraph(home, embedder=None, sparql=None)
    kg.write(*(b for b in demo_builds if b.tenant == "globex"))
    before = {q: kg.cypher(q, "globex").rows for q in QUERIES[:4]}
    for path in (home / "graph" / "kuzu").glob("globex.kz*"):
        path.unlink()
    env = {**os.environ, "FACTORY_HOME": str(home)}
    env.pop("FACTORY_SPARQL_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "studio", "kg", "rebuild", "--tenant", "globex"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "rebuilt tenant globex" in done.stdout
    assert {q: kg.cypher(q, "globex").rows for q in QUERIES[:4]} == before
    searched = KnowledgeGraph(home, embedder=embedder, sparql=None).similar("patients book appointments", 1, "globex")
    assert searched[0].product == "clinic"  # the vectors came back too
