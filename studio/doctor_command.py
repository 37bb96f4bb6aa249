"""`factory doctor`: which backend each part of the factory uses, and one line for each problem."""

from __future__ import annotations

import typer

from infra.doctor import diagnose
from studio.output import console, error

__all__ = ["doctor"]


def doctor() -> None:
    """Show the profile and each part's backend (control database, Dagster storage, runs, broker, SPARQL
    store, Kùzu, embeddings model), check that each answers; exit 1 when any does not."""
    checks = diagnose()
    for check in checks:
        mark = "ok" if check.ok else "!!"
        console.print(f"{mark} {check.part}: {check.backend}", markup=False, highlight=False, soft_wrap=True)
    problems = [c for c in checks if not c.ok]
    for check in problems:
        error(f"{check.part}: {check.problem}")
    if problems:
        raise typer.Exit(1)
