"""The stage table bound to what runs it: each stage's row, its stage function, its result model and checks.

The rows themselves (name, asset key, PROV activity and agent, inputs, whether the graph is
published after it, the job that runs it) are `ontology.lifecycle.LIFECYCLE`, data every layer can
read; this module adds the executable side. The Dagster assets are generated from `STAGES`; any
other executor runs a build by calling `run_stage` (or `run_stored`) in table order for the
`lifecycle` rows (`ontology.lifecycle.BUILD`), and the deep contract run after it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.lifecycle import contract, delivery, design, generation, observation
from infra.lifecycle.context import StageContext
from infra.lifecycle.results import RESULTS, StageResult
from ontology.errors import NotFoundError
from ontology.lifecycle import LIFECYCLE, Stage

__all__ = ["STAGES", "BoundStage", "run_stage", "run_stored", "stored_inputs"]

StageFunction = Callable[..., StageResult]
"""`run(context, **inputs) -> Result`: each input is keyword-named after the stage whose result it is."""


@dataclass(frozen=True)
class BoundStage:
    """A row of the stage table with its function, its result model and its blocking checks."""

    row: Stage
    run: StageFunction
    result: type[StageResult]
    checks: Mapping[str, str]
    """Blocking checks: name -> what it checks (the result's `check_issues()` says what each found)."""

    @property
    def name(self) -> str:
        return self.row.name

    @property
    def doc(self) -> str:
        return self.run.__doc__ or ""


_FUNCTIONS: dict[str, StageFunction] = {
    "intent": design.intent,
    "requirements": design.requirements,
    "blueprint": design.blueprint,
    "artifacts": generation.artifacts,
    "validation": generation.validation,
    "release": delivery.release,
    "deployment": delivery.deployment,
    "telemetry": observation.telemetry,
    "contract": contract.contract,
    "knowledge": observation.knowledge,
}
_CHECKS: dict[str, Mapping[str, str]] = {
    "blueprint": design.BLUEPRINT_CHECKS,
    "validation": generation.VALIDATION_CHECKS,
    "contract": contract.CONTRACT_CHECKS,
}

STAGES: tuple[BoundStage, ...] = tuple(
    BoundStage(row, _FUNCTIONS[row.name], RESULTS[row.name], _CHECKS.get(row.name, {})) for row in LIFECYCLE
)
"""Every stage of the lifecycle, in the order a build runs them."""

BY_NAME = {s.name: s for s in STAGES}


def run_stage(context: StageContext, name: str, inputs: Mapping[str, Any]) -> StageResult:
    """Run stage `name` with the results of its inputs (by stage name)."""
    bound = BY_NAME[name]
    return bound.run(context, **{key: inputs[key] for key in bound.row.inputs})


def stored_inputs(context: StageContext, name: str) -> dict[str, StageResult]:
    """The results of stage `name`'s inputs, as the earlier stages stored them in the product's workspace."""
    found: dict[str, StageResult] = {}
    for key in BY_NAME[name].row.inputs:
        value = context.workspace.load_output(key)
        if value is None:
            raise NotFoundError(f"{key} of {context.ref} is not built yet: build the product first")
        found[key] = RESULTS[key].model_validate(value)
    return found


def run_stored(context: StageContext, name: str) -> StageResult:
    """Run stage `name` on its inputs' stored results: how an executor that passes nothing between the
    stages (the Dagster assets, a queue worker) runs one."""
    return run_stage(context, name, stored_inputs(context, name))
