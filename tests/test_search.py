"""Semantic search over past products and intents ranks the obviously nearest first, within its tenant."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from graph import KnowledgeGraph, ProductFacts
from graph.embeddings import SentenceEmbedder
from graph.samples import DEMO_PRODUCTS, build_facts
from ontology.errors import InvalidInputError


def test_billing_finds_invoicing_before_the_clinic(demo_kg: KnowledgeGraph) -> None:
    matches = demo_kg.similar("billing", k=3)
    assert len(matches) == 3
    assert (matches[0].tenant, matches[0].product) == ("acme", "invoicing")
    everything = [m.product for m in demo_kg.similar("billing", k=6)]
    assert everything.index("invoicing") < everything.index("clinic")
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)


def test_medical_words_find_the_clinic_and_support_words_the_helpdesk(demo_kg: KnowledgeGraph) -> None:
    assert demo_kg.similar("doctor appointments for sick people", k=1)[0].product == "clinic"
    assert demo_kg.similar("customer support tickets", k=1)[0].product == "helpdesk"


def test_matches_say_what_they_are(demo_kg: KnowledgeGraph) -> None:
    found = demo_kg.similar("invoices with line items paid by card", k=6)
    assert {m.kind for m in found} == {"Product", "Intent"}
    top = found[0]
    assert top.product == "invoicing" and top.iri.startswith("https://softwarefactory.dev/id/acme/invoicing/")
    assert "invoic" in top.text.lower()


def test_search_is_scoped_to_the_tenant(demo_kg: KnowledgeGraph) -> None:
    globex = demo_kg.similar("billing", k=10, tenant="globex")
    assert globex and {m.tenant for m in globex} == {"globex"} and {m.product for m in globex} == {"clinic"}
    acme = demo_kg.similar("doctor appointments", k=10, tenant="acme")
    assert {m.product for m in acme} == {"invoicing", "helpdesk"}  # never the clinic, however close it is
    assert demo_kg.similar("doctor appointments", k=10, tenant=None)[0].product == "clinic"


def test_search_still_works_after_a_tenants_only_product_is_rebuilt(tmp_path: Path, embedder: SentenceEmbedder) -> None:
    kg = KnowledgeGraph(tmp_path / "kg", embedder=embedder)
    kg.write(build_facts(DEMO_PRODUCTS[2]))
    kg.write(build_facts(DEMO_PRODUCTS[2]))  # replaces all of globex's memories at once
    found = kg.similar("clinic", k=5, tenant="globex")
    assert [m.product for m in found] == ["clinic", "clinic"]  # the product and its intent, once each
    assert kg.stats()["tenants"]["globex"]["memories"] == 2


@pytest.mark.parametrize(
    ("text", "k", "message"),
    [
        ("", 3, "empty"),
        ("   ", 3, "empty"),
        ("x" * 10_001, 3, "too long"),
        ("billing", 0, "k must be"),
        ("billing", -1, "k must be"),
        ("billing", 5000, "k must be"),
    ],
)
def test_bad_search_input_is_refused(demo_kg: KnowledgeGraph, text: str, k: int, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        demo_kg.similar(text, k)
    assert "\n" not in str(caught.value)


def test_search_without_an_embedder_says_so(shared_kg: KnowledgeGraph) -> None:
    with pytest.raises(InvalidInputError, match="embedder"):
        shared_kg.similar("billing", 3)


def test_a_rebuild_with_vectors_keeps_the_property_graph_in_step(tmp_path: Path, embedder: SentenceEmbedder) -> None:
    # A rebuild's first write holds only its first stages: it changes every node (a new trace id),
    # drops the old build's later stages and replaces the intent's memory, all in one write.
    kg = KnowledgeGraph(tmp_path / "kg", embedder=embedder)
    kg.bootstrap()
    sample = DEMO_PRODUCTS[1]
    kg.write(build_facts(sample))
    again = build_facts(replace(sample, intent=sample.intent + " Agents also see how long each ticket waited."))
    first_stages = ProductFacts(again.tenant, again.product, again.trace_id)
    first_stages.quads = again.quads[: next(i for i, q in enumerate(again.quads) if "/artifact/" in str(q.subject))]
    kg.write(first_stages)
    rdf = kg.trace(again.trace_id, tenant=sample.tenant)
    assert [s.stage for s in rdf][:3] == ["intent", "requirements", "requirements"]
    assert kg.trace(again.trace_id, tenant=sample.tenant, engine="kuzu") == rdf
    nodes = kg.cypher("MATCH (p:Product)-[:hasIntent]->(i:Intent) RETURN p.traceId, i.traceId", sample.tenant)
    assert nodes.rows == [[again.trace_id, again.trace_id]]
    assert kg.similar("ticket waiting times", k=1, tenant=sample.tenant)[0].product == sample.product
