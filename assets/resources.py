"""Dagster resources: thin, swappable wrappers over the factory's core packages.

Every resource takes `home` (default: $FACTORY_HOME, else ./.factory); tests point it at a
temporary folder. Heavy objects (the knowledge graph with its embedding model, the planner)
are made once per process and shared between the assets that run in it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from dagster import ConfigurableResource

from generators.agents.engineer import Engineer
from generators.agents.tester import Tester
from generators.packs import list_packs, load_pack
from generators.pipeline import Planner
from graph import KnowledgeGraph
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from infra.insights import load_insights
from infra.lineage import LineageEmitter
from infra.runtime import LocalRuntime
from infra.workspace import ProductWorkspace
from ontology.config import factory_home

__all__ = [
    "ControlPlaneResource",
    "DeliveryResource",
    "GeneratorsResource",
    "KnowledgeGraphResource",
]


def _home(home: str) -> Path:
    return Path(home).resolve() if home else factory_home()


@cache
def _knowledge_graph(home: Path) -> KnowledgeGraph:
    return KnowledgeGraph(home)


@cache
def _planner(home: Path) -> Planner:
    return Planner.from_env(_knowledge_graph(home))


class KnowledgeGraphResource(ConfigurableResource):
    """The knowledge graph under `home`: RDF facts, property graph and vector memory."""

    home: str = ""

    def open(self) -> KnowledgeGraph:
        return _knowledge_graph(_home(self.home))


class ControlPlaneResource(ConfigurableResource):
    """The control database: intake, products, builds, approvals, audit and deployments.

    `url` is a SQLAlchemy URL; empty means $FACTORY_DATABASE_URL, else SQLite under `home`.
    """

    home: str = ""
    url: str = ""

    def open(self) -> ControlPlane:
        return ControlPlane(self.url or None, _home(self.home))


class GeneratorsResource(ConfigurableResource):
    """The agents: the planner (analyst and architect), the engineer and the tester."""

    home: str = ""
    test_timeout_s: float = 300.0
    template: str = "fastapi-service"
    template_version: str = ""

    def template_pack(self) -> tuple[str, str]:
        """The pack (name, version) to render with: the configured version, else the installed version
        with the best pass rate in the factory insights, else the latest installed one."""
        if self.template_version:
            return self.template, self.template_version
        versions = [p.version for p in list_packs() if p.name == self.template]
        best = load_insights(_home(self.home)).best_version(self.template, versions)
        return self.template, best or load_pack(self.template).version

    def planner(self) -> Planner:
        return _planner(_home(self.home))

    def engineer(self) -> Engineer:
        return Engineer()

    def tester(self) -> Tester:
        return Tester()


class DeliveryResource(ConfigurableResource):
    """Workspaces, product repositories, the local runtime and lineage emission under `home`.

    `lineage_url` sends OpenLineage events over HTTP (e.g. to Marquez); empty means
    $OPENLINEAGE_URL, else the file under `home`/lineage.
    """

    home: str = ""
    lineage_url: str = ""
    smoke_rounds: int = 2

    @property
    def root(self) -> Path:
        return _home(self.home)

    def workspace(self, tenant: str, product: str) -> ProductWorkspace:
        return ProductWorkspace(self.root, tenant, product)

    def repository(self, tenant: str, product: str) -> ProductRepository:
        return ProductRepository(self.root, tenant, product)

    def runtime(self) -> LocalRuntime:
        return LocalRuntime(self.root)

    def lineage(self) -> LineageEmitter:
        return LineageEmitter(self.root, self.lineage_url or None)
