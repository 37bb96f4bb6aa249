"""Dagster resources: thin, swappable wrappers over the factory's core packages."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from graph import KnowledgeGraph, factory_home

__all__ = ["KnowledgeGraphResource"]


class KnowledgeGraphResource(ConfigurableResource):
    """The knowledge graph under `home` (default: $FACTORY_HOME, else ./.factory)."""

    home: str = ""

    def open(self) -> KnowledgeGraph:
        return KnowledgeGraph(Path(self.home) if self.home else factory_home())
