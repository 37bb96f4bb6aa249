"""The engineer: a blueprint to the files of a running service, by rendering a template pack."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from generators.agents.base import Agent
from generators.migrations import PreviousRevision
from generators.packs import load_pack
from generators.rendering import RenderResult, render_pack
from ontology.lifecycle import ENGINEER
from ontology.models import Blueprint

__all__ = ["DEFAULT_PACK", "Engineer"]

DEFAULT_PACK: tuple[str, str | None] = ("fastapi-service", None)


class Engineer(Agent):
    name: ClassVar[str] = ENGINEER.name  # its identity is stated once, in the stage table
    role: ClassVar[str] = ENGINEER.role
    version: ClassVar[str] = ENGINEER.version

    def render(
        self,
        blueprint: Blueprint,
        out_dir: Path | str,
        trace_id: str,
        pack: tuple[str, str | None] = DEFAULT_PACK,
        parameters: dict[str, Any] | None = None,
        previous: PreviousRevision | None = None,
    ) -> RenderResult:
        """Write the product of `blueprint` into `out_dir` with `pack` (name, version or None for the latest).

        `previous` (the last released revision) makes the next migration of the product's schema. The
        same blueprint, previous revision, pack version, trace id and parameters give byte-identical files.
        """
        name, version = pack
        return render_pack(load_pack(name, version), blueprint, Path(out_dir), trace_id, parameters, previous)
