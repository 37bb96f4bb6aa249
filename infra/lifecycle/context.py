"""What a stage function runs with: the product, the factory home and the services under it.

A `StageContext` is made by whoever runs a stage: the Dagster assets (from their resources),
a test (on a temporary home) or any other executor. Heavy services (the knowledge graph with its
embedding model, the planner) are made once per process and home and shared between stages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from generators.agents.engineer import Engineer
from generators.agents.tester import Tester
from generators.packs import list_packs, load_pack
from infra.control import ControlPlane
from infra.gitops import GENERATED_BRANCH, ProductRepository
from infra.insights import load_insights
from infra.lineage import LineageEmitter
from infra.runtime import LocalRuntime
from infra.workspace import ProductWorkspace
from ontology.config import factory_home
from ontology.findings import Finding
from ontology.refs import ProductRef

if TYPE_CHECKING:  # the engines load when a stage first needs them, not when the lifecycle is imported
    from generators.pipeline import Planner
    from graph.embeddings import SentenceEmbedder
    from graph.knowledge_graph import KnowledgeGraph

__all__ = ["StageContext", "StageSettings", "shared_embedder", "shared_knowledge_graph", "shared_planner"]


@cache
def shared_embedder() -> SentenceEmbedder:
    """The embedding model, one per process: it is the same for every home, and loading it takes a while."""
    from graph.embeddings import SentenceEmbedder

    return SentenceEmbedder(cache=factory_home() / "cache" / "embeddings")


@cache
def shared_knowledge_graph(home: Path) -> KnowledgeGraph:
    """The knowledge graph under `home`, one per process and home."""
    from graph.knowledge_graph import KnowledgeGraph

    return KnowledgeGraph(home, embedder=shared_embedder())


@cache
def shared_planner(home: Path) -> Planner:
    """The planner (analyst and architect) over the knowledge graph under `home`, one per process."""
    from generators.pipeline import Planner

    return Planner.from_env(shared_knowledge_graph(home))


@dataclass(frozen=True)
class StageSettings:
    """How stages run: what the Dagster resources configure, with the same defaults."""

    database_url: str = ""
    """A SQLAlchemy URL for the control database; empty: $FACTORY_DATABASE_URL, else SQLite under the home."""
    lineage_url: str = ""
    """Where OpenLineage events go over HTTP; empty: $OPENLINEAGE_URL, else the file under the home."""
    template: str = "fastapi-service"
    template_version: str = ""
    """Empty: the installed version whose products breached SLOs least often in the factory insights
    (then the best pass rate), else the latest."""
    test_timeout_s: float = 300.0
    smoke_rounds: int = 2
    contract_examples: int = 0
    """Examples per operation of the deep contract run; 0: $FACTORY_CONTRACT_EXAMPLES, else 100."""


def _ignore(_: str) -> None:
    return None


@dataclass
class StageContext:
    """One product's build under `home`: the services its stages use."""

    home: Path
    tenant: str
    product: str
    run_id: str = ""
    """The id of the run this stage is part of (the Dagster run id); lineage run ids derive from it."""
    settings: StageSettings = field(default_factory=StageSettings)
    log: Callable[[str], None] = _ignore
    knowledge_graph: Callable[[], KnowledgeGraph] | None = None
    """Where the knowledge graph comes from; None: the one shared per process and home."""
    planner_source: Callable[[], Planner] | None = None
    """Where the planner comes from; None: one over `knowledge_graph` if given, else the one shared per process."""
    intent_id: int | None = None
    """The intent this build claimed (the run's `factory/intent` tag); None: the product's latest intent
    (a materialization started from the Dagster UI, which claims nothing)."""

    publish_across_stages: bool = False
    """Whether a publish started beside a stage may go on while the next stages run: only where they run in
    this process, one after another (Dagster's in-process executor); a step of the multiprocess executor
    ends its process with os._exit, which would cut the publish short and leave the graph behind its
    RDF facts. Whoever sets it waits for the product's publishes at the build's end
    (`infra.lifecycle.bookkeeping.settle_publishes`)."""

    control_plane: ControlPlane | None = None
    """The control database to use (a use case passes its own); None: the one the settings name."""
    findings_source: Callable[[KnowledgeGraph, str, str], list[Finding]] | None = None
    """Where the findings of a product's running deployments come from (graph, tenant, product);
    None: infra.lifecycle.findings.findings_for, the knowledge graph's."""

    def __post_init__(self) -> None:
        self.ref = ProductRef(self.tenant, self.product)  # validated once, here

    @property
    def partition(self) -> str:
        """The product as a partition key: `<tenant>.<product>`."""
        return f"{self.tenant}.{self.product}"

    @cached_property
    def control(self) -> ControlPlane:
        return self.control_plane or ControlPlane(self.settings.database_url or None, self.home)

    @cached_property
    def workspace(self) -> ProductWorkspace:
        return ProductWorkspace(self.home, self.tenant, self.product)

    def graph(self) -> KnowledgeGraph:
        return self.knowledge_graph() if self.knowledge_graph else shared_knowledge_graph(self.home)

    def planner(self) -> Planner:
        if self.planner_source:
            return self.planner_source()
        if self.knowledge_graph:
            from generators.pipeline import Planner

            return Planner.from_env(self.knowledge_graph())
        return shared_planner(self.home)

    def has_repository(self) -> bool:
        """Whether the product's repository exists (`repository()` would create it)."""
        return (self.home.resolve() / "repos" / self.tenant / self.product / ".git").is_dir()

    def repository(self) -> ProductRepository:
        return ProductRepository(self.home, self.tenant, self.product)

    def runtime(self) -> LocalRuntime:
        return LocalRuntime(self.home)

    def lineage(self) -> LineageEmitter:
        return LineageEmitter(self.home, self.settings.lineage_url or None)

    def engineer(self) -> Engineer:
        return Engineer()

    def tester(self) -> Tester:
        return Tester()

    def template_pack(self) -> tuple[str, str]:
        """The pack (name, version) to render with: the configured version; else the version the product's last
        release was generated with (a product moves to another version only by `factory upgrade`); else, for a
        new product, the latest installed version not deprecated, unless the factory insights show an older one
        doing better over builds of both (fewer SLO breaches, then more passes)."""
        name = self.settings.template
        if self.settings.template_version:
            return name, self.settings.template_version
        released = self.released_template()
        if released is not None and released[0] == name:
            return released
        latest = load_pack(name).version
        insights = load_insights(self.home)
        if f"{name}@{latest}" not in insights.templates:
            return name, latest
        versions = [p.version for p in list_packs() if p.name == name and not p.deprecated]
        best = insights.best_version(name, versions)
        if best is not None and len(versions) > 1:
            self.log(f"template {name}@{best} chosen; {insights.version_evidence(name, versions)}")
        return name, best or latest

    def released_template(self) -> tuple[str, str] | None:
        """The pack (name, version) of the product's last generated release, or None before its first."""
        if not self.has_repository():
            return None
        repo = self.repository()
        if repo.head(GENERATED_BRANCH) is None:
            return None
        name, sep, version = repo.trailers(GENERATED_BRANCH).get("Template", "").partition("@")
        return (name, version) if sep and name and version else None
