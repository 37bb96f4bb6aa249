"""The factory's single Dagster entry point (named in pyproject.toml under [tool.dagster])."""

from __future__ import annotations

from dagster import Definitions

from assets.resources import KnowledgeGraphResource
from assets.vocabulary import ontology, pattern_library

defs = Definitions(
    assets=[ontology, pattern_library],
    resources={"knowledge_graph": KnowledgeGraphResource()},
)
