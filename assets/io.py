"""Where lifecycle asset values live: JSON files in each product's workspace under $FACTORY_HOME."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableIOManager, Failure, InputContext, OutputContext

from assets.stages import split_key
from infra.lifecycle.results import RESULTS, StageResult
from infra.workspace import ProductWorkspace
from ontology.config import factory_home

__all__ = ["WorkspaceIOManager"]


class WorkspaceIOManager(ConfigurableIOManager):
    """Reads each product's stage result from `<home>/products/<tenant>/<product>/outputs/<asset>.json`
    (where the stage function stored it) back into the stage's result model."""

    home: str = ""

    def _workspace(self, partition: str) -> ProductWorkspace:
        tenant, product = split_key(partition)
        return ProductWorkspace(Path(self.home).resolve() if self.home else factory_home(), tenant, product)

    def handle_output(self, context: OutputContext, obj: StageResult) -> None:
        self._workspace(context.asset_partition_key).save_output(
            context.asset_key.path[-1], obj.model_dump(mode="json")
        )

    def load_input(self, context: InputContext) -> StageResult:
        name = context.asset_key.path[-1]
        value = self._workspace(context.asset_partition_key).load_output(name)
        if value is None:
            raise Failure(f"{name} of product {context.asset_partition_key} is not materialized yet: build it first")
        return RESULTS[name].model_validate(value)
