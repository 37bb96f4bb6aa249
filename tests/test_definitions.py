"""The Dagster definitions load, and the vocabulary assets fill the knowledge graph."""

from __future__ import annotations

from pathlib import Path

from dagster import materialize

from assets.definitions import defs
from assets.resources import KnowledgeGraphResource
from assets.vocabulary import ontology, pattern_library
from graph import KnowledgeGraph


def test_definitions_load() -> None:
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"ontology", "pattern_library"} <= keys


def test_vocabulary_assets_load_the_shared_graphs(tmp_path: Path) -> None:
    result = materialize(
        [ontology, pattern_library], resources={"knowledge_graph": KnowledgeGraphResource(home=str(tmp_path))}
    )
    assert result.success
    triples = {
        m.asset_key.to_user_string(): m.metadata["triples"].value
        for m in (e.materialization for e in result.get_asset_materialization_events())
    }
    kg = KnowledgeGraph(tmp_path, embedder=None)
    query = (
        "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT (COUNT(?p) AS ?n) WHERE { ?p a fac:DomainPattern }"
    )
    patterns = kg.sparql(query, tenant="anyone").rows[0][0]
    assert patterns >= 40
    assert triples["pattern_library"] > patterns
    assert triples["ontology"] > 100
