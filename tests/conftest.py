"""Shared fixtures: a private FACTORY_HOME for every test (and a small deep contract run), one embedding model
per run, demo graphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph import KnowledgeGraph, ProductFacts
from graph.embeddings import SentenceEmbedder
from graph.samples import DEMO_PRODUCTS, build_facts


@pytest.fixture(autouse=True)
def factory_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own FACTORY_HOME, so nothing is written in the repository."""
    home = tmp_path / "factory-home"
    monkeypatch.setenv("FACTORY_HOME", str(home))
    # the builds' deep contract run sends 2 examples per operation here (every phase still runs), not 100
    monkeypatch.setenv("FACTORY_CONTRACT_EXAMPLES", "2")
    return home


@pytest.fixture(scope="session")
def embedder() -> SentenceEmbedder:
    """The real all-MiniLM-L6-v2 model, loaded once for the whole run."""
    return SentenceEmbedder()


@pytest.fixture
def kg(tmp_path: Path) -> KnowledgeGraph:
    """An empty knowledge graph with the ontology and patterns loaded, without vectors."""
    graph = KnowledgeGraph(tmp_path / "kg", embedder=None)
    graph.bootstrap()
    return graph


@pytest.fixture(scope="session")
def demo_builds() -> list[ProductFacts]:
    """One build of each demo product: acme/invoicing, acme/helpdesk and globex/clinic."""
    return [build_facts(p) for p in DEMO_PRODUCTS]


@pytest.fixture(scope="session")
def shared_kg(tmp_path_factory: pytest.TempPathFactory, demo_builds: list[ProductFacts]) -> KnowledgeGraph:
    """The demo builds in two tenants, without vectors, for tests that only read: never write to it."""
    graph = KnowledgeGraph(tmp_path_factory.mktemp("shared") / "kg", embedder=None)
    graph.bootstrap()
    graph.write(*demo_builds)
    return graph


@pytest.fixture(scope="session")
def demo_kg(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceEmbedder) -> KnowledgeGraph:
    """The demo products with their vectors, for semantic search: never write to it."""
    graph = KnowledgeGraph(tmp_path_factory.mktemp("demo") / "kg", embedder=embedder)
    graph.bootstrap()
    graph.write(*(build_facts(p) for p in DEMO_PRODUCTS))
    return graph
