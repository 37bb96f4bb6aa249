"""N-Quads export and import: a lossless round trip, per tenant or whole, with the projection and vectors rebuilt."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from graph import KnowledgeGraph, ProductFacts
from graph.embeddings import SentenceEmbedder
from graph.names import SHARED_GRAPHS, product_graph, tenant_graph_prefix
from graph.samples import DEMO_PRODUCTS, build_facts
from ontology.errors import InvalidInputError, NotFoundError

PER_PRODUCT = "MATCH (a:Artifact)-[:generatedFrom]->(b:Blueprint) RETURN a.product, count(a) ORDER BY a.product"


def lines(data: bytes) -> set[str]:
    return set(data.decode().splitlines())


def test_whole_graph_round_trip_is_lossless(shared_kg: KnowledgeGraph, tmp_path: Path) -> None:
    dump = shared_kg.export_bytes()
    assert len(dump.splitlines()) == len(lines(dump)) == shared_kg.stats()["triples"]
    other = KnowledgeGraph(tmp_path / "other", embedder=None)
    assert other.import_nquads(io.BytesIO(dump)) == len(dump.splitlines())
    assert lines(other.export_bytes()) == lines(dump)
    # the property graph is rebuilt from the imported facts
    assert other.stats()["tenants"] == shared_kg.stats()["tenants"]
    for tenant in ("acme", "globex"):
        assert other.cypher(PER_PRODUCT, tenant).rows == shared_kg.cypher(PER_PRODUCT, tenant).rows


def test_a_trace_survives_the_round_trip(
    shared_kg: KnowledgeGraph, demo_builds: list[ProductFacts], tmp_path: Path
) -> None:
    other = KnowledgeGraph(tmp_path / "other", embedder=None)
    other.import_nquads(io.BytesIO(shared_kg.export_bytes("globex")), tenant="globex")
    build = demo_builds[2]
    assert other.trace(build.trace_id, "globex", engine="kuzu") == shared_kg.trace(build.trace_id, "globex")
    assert other.trace(build.trace_id) == shared_kg.trace(build.trace_id)


def test_tenant_export_holds_only_that_tenants_graphs(shared_kg: KnowledgeGraph) -> None:
    dump = shared_kg.export_bytes("globex").decode().splitlines()
    prefix = tenant_graph_prefix("globex")
    assert dump and all(line.endswith(f"<{prefix}clinic> .") for line in dump)
    assert not any(g in line for line in dump for g in SHARED_GRAPHS)
    acme = shared_kg.export_bytes("acme").decode().splitlines()
    assert {line.rsplit(" ", 2)[1] for line in acme} == {
        f"<{product_graph('acme', 'helpdesk')}>",
        f"<{product_graph('acme', 'invoicing')}>",
    }
    assert (
        len(acme) + len(dump) + sum(1 for line in shared_kg.export_bytes().splitlines() if b"/graph/shared/" in line)
        == (shared_kg.stats()["triples"])
    )
    with pytest.raises(NotFoundError):
        shared_kg.export_bytes("nobody")


def test_import_rebuilds_vectors_so_search_works(tmp_path: Path, embedder: SentenceEmbedder) -> None:
    source = KnowledgeGraph(tmp_path / "source", embedder=None)
    source.write(*(build_facts(p) for p in DEMO_PRODUCTS))
    target = KnowledgeGraph(tmp_path / "target", embedder=embedder)
    target.import_nquads(io.BytesIO(source.export_bytes()))
    stats = target.stats()["tenants"]
    assert {t: s["memories"] for t, s in stats.items()} == {"acme": 4, "globex": 2}  # a product and an intent each
    assert target.similar("billing", 1)[0].product == "invoicing"
    assert target.similar("doctor appointments", 1, "globex")[0].product == "clinic"
    for tenant in ("acme", "globex"):
        assert target.cypher(PER_PRODUCT, tenant).rows == source.cypher(PER_PRODUCT, tenant).rows


def test_import_of_another_tenants_graphs_is_refused_and_loses_nothing(
    shared_kg: KnowledgeGraph, tmp_path: Path
) -> None:
    target = KnowledgeGraph(tmp_path / "target", embedder=None)
    target.write(build_facts(DEMO_PRODUCTS[2]))
    before = (target.export_bytes(), target.stats())
    for dump in (shared_kg.export_bytes("acme"), shared_kg.export_bytes()):
        with pytest.raises(InvalidInputError, match="not one of tenant 'globex'") as caught:
            target.import_nquads(io.BytesIO(dump), tenant="globex")
        assert "\n" not in str(caught.value)
    # a file that mixes the tenant's own graph with another's is refused as a whole
    mixed = shared_kg.export_bytes("globex") + shared_kg.export_bytes("acme")
    with pytest.raises(InvalidInputError):
        target.import_nquads(io.BytesIO(mixed), tenant="globex")
    assert (target.export_bytes(), target.stats()) == before
    assert target.tenant_graphs("acme") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<urn:a> <urn:b> <urn:c> <urn:g> .\n", "not a factory graph"),
        (b"<urn:a> <urn:b> <urn:c> .\n", "not a factory graph"),
        (b"<urn:a> <urn:b> <urn:c> <https://softwarefactory.dev/graph/tenant/../product/x> .\n", "not a factory graph"),
        (b"this is not n-quads\n", "not valid N-Quads"),
        (b'<urn:a> <urn:b> "unterminated .\n', "not valid N-Quads"),
        (b"<urn:a> <urn:b> .\n", "not valid N-Quads"),
        (b"\xff\xfe binary \x00 junk\n", "not valid N-Quads"),
        (b"", "holds no quads"),
        (b"# only a comment\n\n", "holds no quads"),
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
    assert kg.cypher(PER_PRODUCT, "acme").rows == [["helpdesk", 30], ["invoicing", 3]]
    assert kg.trace(rebuilt.trace_id)
    assert kg.stats()["products"] == 3
