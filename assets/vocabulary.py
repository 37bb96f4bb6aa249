"""Assets of the factory's shared vocabulary: the ontology and the domain pattern library."""

from __future__ import annotations

from dagster import MaterializeResult, asset

from assets.resources import KnowledgeGraphResource

__all__ = ["ontology", "pattern_library"]


@asset(group_name="vocabulary", code_version="1")
def ontology(knowledge_graph: KnowledgeGraphResource) -> MaterializeResult:
    """The factory ontology (OWL, aligned with PROV-O), loaded into its shared graph of the knowledge graph.

    Every fact the factory records uses its classes and properties; the property-graph
    tables are derived from it.
    """
    triples = knowledge_graph.open().load_shared("ontology")
    return MaterializeResult(metadata={"triples": triples})


@asset(group_name="vocabulary", code_version="1", deps=[ontology])
def pattern_library(knowledge_graph: KnowledgeGraphResource) -> MaterializeResult:
    """The domain pattern library: common SaaS concepts with synonyms, typical attributes and relationships.

    The analyst and the architect read it when they turn an intent into a blueprint.
    """
    triples = knowledge_graph.open().load_shared("patterns")
    return MaterializeResult(metadata={"triples": triples})
