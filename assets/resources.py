"""Dagster resources: thin, swappable wrappers over the factory's core packages.

Every resource takes `home` (default: $FACTORY_HOME, else ./.factory); tests point it at a
temporary folder. Heavy objects (the knowledge graph with its embedding model, the planner)
are made once per process and shared between the assets that run in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dagster import ConfigurableResource

from infra.control import ControlPlane
from infra.lifecycle.context import shared_knowledge_graph, shared_planner
from ontology.config import factory_home

if TYPE_CHECKING:  # the engines load when a stage first needs them
    from generators.pipeline import Planner
    from graph.knowledge_graph import KnowledgeGraph

__all__ = [
    "ControlPlaneResource",
    "DeliveryResource",
    "GeneratorsResource",
    "KnowledgeGraphResource",
]


def _home(home: str) -> Path:
    return Path(home).resolve() if home else factory_home()


class KnowledgeGraphResource(ConfigurableResource):
    """The knowledge graph under `home`: RDF facts, property graph and vector memory."""

    home: str = ""

    def open(self) -> KnowledgeGraph:
        return shared_knowledge_graph(_home(self.home))


class ControlPlaneResource(ConfigurableResource):
    """The control database: intake, products, builds, approvals, audit and deployments.

    `url` is a SQLAlchemy URL; empty means $FACTORY_DATABASE_URL, else SQLite under `home`.
    """

    home: str = ""
    url: str = ""

    def open(self) -> ControlPlane:
        return ControlPlane(self.url or None, _home(self.home))


class GeneratorsResource(ConfigurableResource):
    """The agents' settings: the template pack to render with and the time the product's tests may take.

    An empty `template_version` means the installed version with the best pass rate in the factory
    insights, else the latest installed one.
    """

    home: str = ""
    test_timeout_s: float = 300.0
    template: str = "fastapi-service"
    template_version: str = ""

    def planner(self) -> Planner:
        return shared_planner(_home(self.home))


class DeliveryResource(ConfigurableResource):
    """Where products are delivered: their workspaces, repositories, runtime and lineage events live under `home`.

    `lineage_url` sends OpenLineage events over HTTP (e.g. to Marquez); empty means
    $OPENLINEAGE_URL, else the file under `home`/lineage. `smoke_rounds` is how many rounds of
    the smoke workload the telemetry stage drives. `contract_examples` is how many examples per
    operation the deep contract run sends; 0 means $FACTORY_CONTRACT_EXAMPLES, else 100.
    """

    home: str = ""
    lineage_url: str = ""
    smoke_rounds: int = 2
    contract_examples: int = 0

    @property
    def root(self) -> Path:
        return _home(self.home)
