"""Semantic search over past products and intents ranks the obviously nearest first."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph import KnowledgeGraph
from graph.embeddings import SentenceEmbedder
from graph.samples import DEMO_PRODUCTS, build_facts
from ontology.errors import InvalidInputError


def test_billing_finds_invoicing_before_the_clinic(demo_kg: tuple[KnowledgeGraph, list]) -> None:
    kg, _ = demo_kg
    matches = kg.similar("billing", k=5)
    assert matches[0].product == "invoicing"
    order = [m.product for m in matches]
    assert order.index("invoicing") < order.index("clinic")
    assert all(0 < m.score <= 1 for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_medical_words_find_the_clinic(demo_kg: tuple[KnowledgeGraph, list]) -> None:
    kg, _ = demo_kg
    assert kg.similar("doctor appointments for sick people", k=1)[0].product == "clinic"


def test_search_is_scoped_to_the_tenant(demo_kg: tuple[KnowledgeGraph, list]) -> None:
    kg, _ = demo_kg
    assert {m.tenant for m in kg.similar("billing", k=10, tenant="globex")} == {"globex"}
    assert {m.product for m in kg.similar("billing", k=10, tenant="acme")} == {"invoicing", "helpdesk"}


def test_search_still_works_after_a_tenants_only_product_is_rebuilt(tmp_path: Path, embedder: SentenceEmbedder) -> None:
    kg = KnowledgeGraph(tmp_path / "kg", embedder=embedder)
    kg.write(build_facts(DEMO_PRODUCTS[2]))  # replaces all of globex's memories at once
    kg.write(build_facts(DEMO_PRODUCTS[2]))
    assert [m.product for m in kg.similar("clinic", k=2, tenant="globex")] == ["clinic", "clinic"]


@pytest.mark.parametrize(("text", "k"), [("", 3), ("   ", 3), ("x" * 10_001, 3), ("billing", 0), ("billing", 5000)])
def test_bad_search_input(demo_kg: tuple[KnowledgeGraph, list], text: str, k: int) -> None:
    kg, _ = demo_kg
    with pytest.raises(InvalidInputError):
        kg.similar(text, k)
