"""The lifecycle core: the stage table, one typed result per stage, plain stage functions.

A stage function `run(context, **inputs) -> Result` does its stage's work, records its facts and
provenance through the build recorder, writes the control database and reuses its stored result
when its inputs did not change. It needs no Dagster: the assets in `assets/` are a thin shell
generated from the table, and tests call the functions directly on a temporary home.
"""

from infra.lifecycle.context import StageContext, StageSettings
from infra.lifecycle.results import RESULTS, StageResult
from infra.lifecycle.stages import STAGES, BoundStage, run_stage, run_stored

__all__ = [
    "RESULTS",
    "STAGES",
    "BoundStage",
    "StageContext",
    "StageResult",
    "StageSettings",
    "run_stage",
    "run_stored",
]
