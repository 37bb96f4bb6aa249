"""The lifecycle core: the stage table's functions, one typed result per stage, and the use cases.

A stage function `run(context, **inputs) -> Result` does its stage's work, records its facts and
provenance through the build recorder, writes the control database and reuses its stored result
when its inputs did not change. It needs no Dagster: the assets in `assets/` are a thin shell
generated from the table (`ontology.lifecycle`), and tests call the functions directly on a
temporary home. The use cases (`infra.lifecycle.use_cases`) are what every surface calls.

The public names load their modules on first use (PEP 562), so a command that only needs the use
cases refuses bad input before the stages' engines are imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ontology.lazy import lazy_exports

if TYPE_CHECKING:
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

_HOME = {
    "RESULTS": "infra.lifecycle.results",
    "STAGES": "infra.lifecycle.stages",
    "BoundStage": "infra.lifecycle.stages",
    "StageContext": "infra.lifecycle.context",
    "StageResult": "infra.lifecycle.results",
    "StageSettings": "infra.lifecycle.context",
    "run_stage": "infra.lifecycle.stages",
    "run_stored": "infra.lifecycle.stages",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOME)
