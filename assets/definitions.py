"""The factory's single Dagster entry point (named in pyproject.toml under [tool.dagster])."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, JobDefinition, define_asset_job

from assets.catalog import factory_insights, template_catalog
from assets.jobs import BUILD, deep_contract, lifecycle
from assets.resources import ControlPlaneResource, DeliveryResource, GeneratorsResource, KnowledgeGraphResource
from assets.sensors import after_build, build_failures, event_delivery, intake
from assets.stages import LIFECYCLE_ASSETS
from assets.telemetry import service_telemetry, telemetry_collection, telemetry_schedule
from assets.vocabulary import ontology, pattern_library
from ontology.lifecycle import DEEP_CONTRACT

__all__ = ["LIFECYCLE", "deep_contract_job", "defs", "lifecycle_job"]

LIFECYCLE = BUILD
"""The assets a build materializes, in the order it does (the stage table's `lifecycle` rows)."""

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
    assets=[
        ontology,
        pattern_library,
        template_catalog,
        factory_insights,
        service_telemetry,
        *LIFECYCLE_ASSETS.values(),
    ],
    jobs=[lifecycle, deep_contract, refresh, telemetry_collection],
    schedules=[telemetry_schedule],
    sensors=[intake, build_failures, after_build, event_delivery],
    resources=resources(),
)


def lifecycle_job() -> JobDefinition:
    """The lifecycle job with its resources, for `reconstructable` (the multiprocess executor needs it)."""
    return defs.resolve_job_def("lifecycle")


def deep_contract_job() -> JobDefinition:
    """The deep contract run's job with its resources, for `reconstructable`."""
    return defs.resolve_job_def(DEEP_CONTRACT)


def refresh_job() -> JobDefinition:
    return defs.resolve_job_def("factory_refresh")
