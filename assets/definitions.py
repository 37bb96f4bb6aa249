"""The factory's single Dagster entry point (named in pyproject.toml under [tool.dagster])."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, JobDefinition, define_asset_job

from assets.catalog import factory_insights, template_catalog
from assets.resources import ControlPlaneResource, DeliveryResource, GeneratorsResource, KnowledgeGraphResource
from assets.sensors import build_failures, intake
from assets.stages import LIFECYCLE_ASSETS
from assets.vocabulary import ontology, pattern_library

__all__ = ["LIFECYCLE", "defs", "lifecycle_job"]

LIFECYCLE = list(LIFECYCLE_ASSETS.values())
"""The lifecycle assets in the order a build materializes them (the stage table's order)."""

lifecycle = define_asset_job(
    "lifecycle",
    selection=AssetSelection.assets(*LIFECYCLE),
    description="Build one product: intent to requirements, blueprint, code, validation, release, deployment, "
    "telemetry, the deep contract run and knowledge.",
)
refresh = define_asset_job(
    "factory_refresh",
    selection=AssetSelection.assets(template_catalog, factory_insights),
    description="Recompute the template catalog and the factory insights from every build so far.",
)


def resources(home: str = "") -> dict[str, object]:
    """The resources every asset needs, all rooted at `home` (default: $FACTORY_HOME)."""
    return {
        "knowledge_graph": KnowledgeGraphResource(home=home),
        "control": ControlPlaneResource(home=home),
        "generators": GeneratorsResource(home=home),
        "delivery": DeliveryResource(home=home),
    }


defs = Definitions(
    assets=[ontology, pattern_library, template_catalog, factory_insights, *LIFECYCLE],
    jobs=[lifecycle, refresh],
    sensors=[intake, build_failures],
    resources=resources(),
)


def lifecycle_job() -> JobDefinition:
    """The lifecycle job with its resources, for `reconstructable` (the multiprocess executor needs it)."""
    return defs.resolve_job_def("lifecycle")


def refresh_job() -> JobDefinition:
    return defs.resolve_job_def("factory_refresh")
