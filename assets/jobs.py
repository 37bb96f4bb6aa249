"""The jobs of the lifecycle, generated from the stage table's `job` column: a build and its deep contract run."""

from __future__ import annotations

from dagster import AssetsDefinition, AssetSelection, define_asset_job

from assets.stages import LIFECYCLE_ASSETS
from assets.workers import build_executor
from ontology.lifecycle import DEEP_CONTRACT
from ontology.lifecycle import LIFECYCLE as TABLE

__all__ = ["BUILD", "DEEP_RUN", "deep_contract", "lifecycle"]


def _assets(job: str) -> list[AssetsDefinition]:
    return [LIFECYCLE_ASSETS[row.name] for row in TABLE if row.job == job]


BUILD = _assets("lifecycle")
"""The assets a build materializes, in the order it does (intent to knowledge)."""
DEEP_RUN = _assets(DEEP_CONTRACT)
"""The assets of the deep contract run (the `contract` stage)."""

lifecycle = define_asset_job(
    "lifecycle",
    selection=AssetSelection.assets(*BUILD),
    executor_def=build_executor(),  # Celery workers in the scaled profile with a broker
    description="Build one product: intent to requirements, blueprint, code, validation, release, deployment, "
    "telemetry and knowledge.",
)
deep_contract = define_asset_job(
    DEEP_CONTRACT,
    selection=AssetSelection.assets(*DEEP_RUN),
    description="Fuzz the product's deployed commit deeply (100 examples per operation, stateful phase too): "
    "requested after every successful build, or run now with `factory contract`; staging waits for it.",
)
