"""N-Quads export and import: a lossless round trip, per tenant or whole, with the projection rebuilt."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from graph import KnowledgeGraph
from graph.embeddings import SentenceEmbedder
from graph.samples import DEMO_PRODUCTS, build_facts
from ontology.errors import InvalidInputError, NotFoundError


def lines(data: bytes) -> list[str]:
    return sorted(data.decode().splitlines())


def test_whole_graph_round_trip_is_lossless(shared_kg: KnowledgeGraph, tmp_path: Path) -> None:
    dump = shared_kg.export_bytes()
    other = KnowledgeGraph(tmp_path / "other", embedder=None)
    count = other.import_nquads(io.BytesIO(dump))
    assert count == len(dump.splitlines()) == shared_kg.stats()["triples"]
    assert lines(other.export_bytes()) == lines(dump)
    # the property graph is rebuilt from the imported facts
    assert other.stats()["tenants"] == shared_kg.stats()["tenants"]
    query = "MATCH (a:Artifact)-[:generatedFrom]->(b:Blueprint) RETURN a.product, count(a) ORDER BY a.product"
    assert other.cypher(query, "acme").rows == shared_kg.cypher(query, "acme").rows


def test_tenant_export_holds_only_that_tenant(shared_kg: KnowledgeGraph) -> None:
    dump = shared_kg.export_bytes("globex").decode()
    assert dump and all("/graph/tenant/globex/product/" in line for line in dump.splitlines())
    with pytest.raises(NotFoundError):
        shared_kg.export_bytes("nobody")


def test_import_rebuilds_vectors(tmp_path: Path, embedder: SentenceEmbedder) -> None:
    source = KnowledgeGraph(tmp_path / "source", embedder=None)
    source.write(*(build_facts(p) for p in DEMO_PRODUCTS))
    target = KnowledgeGraph(tmp_path / "target", embedder=embedder)
    target.import_nquads(io.BytesIO(source.export_bytes("acme")), tenant="acme")
    assert target.stats()["tenants"]["acme"]["memories"] == 4  # a product and an intent each
    assert target.similar("billing", 1, "acme")[0].product == "invoicing"


def test_import_of_another_tenants_graphs_is_refused_and_loses_nothing(
    shared_kg: KnowledgeGraph, tmp_path: Path
) -> None:
    target = KnowledgeGraph(tmp_path / "target", embedder=None)
    target.write(build_facts(DEMO_PRODUCTS[2]))
    before = target.export_bytes()
    with pytest.raises(InvalidInputError, match="not one of tenant 'globex'"):
        target.import_nquads(io.BytesIO(shared_kg.export_bytes("acme")), tenant="globex")
    assert target.export_bytes() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<urn:a> <urn:b> <urn:c> <urn:g> .\n", "not a factory graph"),
        (b"<urn:a> <urn:b> <urn:c> .\n", "not a factory graph"),
        (b"this is not n-quads\n", "not valid N-Quads"),
        (b'<urn:a> <urn:b> "unterminated .\n', "not valid N-Quads"),
    ],
)
def test_malformed_or_foreign_input_is_refused(tmp_path: Path, data: bytes, message: str) -> None:
    target = KnowledgeGraph(tmp_path / "target", embedder=None)
    target.write(build_facts(DEMO_PRODUCTS[2]))
    before = target.export_bytes()
    with pytest.raises(InvalidInputError, match=message) as caught:
        target.import_nquads(io.BytesIO(data))
    assert "\n" not in str(caught.value)
    assert target.export_bytes() == before


def test_import_replaces_only_the_graphs_it_holds(tmp_path: Path) -> None:
    kg = KnowledgeGraph(tmp_path / "kg", embedder=None)
    kg.write(*(build_facts(p) for p in DEMO_PRODUCTS))
    newer = KnowledgeGraph(tmp_path / "newer", embedder=None)
    rebuilt = build_facts(DEMO_PRODUCTS[0], artifacts=3)
    newer.write(rebuilt)
    kg.import_nquads(io.BytesIO(newer.export_bytes("acme")), tenant="acme")
    assert kg.cypher("MATCH (a:Artifact) RETURN a.product, count(a) ORDER BY a.product", "acme").rows == [
        ["helpdesk", 30],
        ["invoicing", 3],
    ]
    assert kg.trace(rebuilt.trace_id)
