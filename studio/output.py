"""How the command line shows results: rich tables for people, JSON for scripts, one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from graph.trace import TraceStep

__all__ = ["console", "error", "print_json", "print_table", "print_trace"]

console = Console()
_err = Console(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(str(c), overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


def error(message: str) -> None:
    """One line on stderr: what was wrong."""
    first = " ".join(str(message).split())
    _err.print(f"[bold red]error:[/] {first}", highlight=False, markup=True, soft_wrap=True)


_ONE_LINE_EACH = ("deployment", "approval", "finding", "decision")


def _who(step: TraceStep) -> str:
    """The agent of a step, and the person who asked for it; a person's decision is theirs."""
    if step.stage == "approval":
        return step.person or "person"
    agent = (step.agent or "person").split("/agent/", 1)[-1]
    return f"{agent} for {step.person}" if step.person else agent


def print_trace(steps: Sequence[TraceStep]) -> None:
    """A build's chain, one line per stage: how many things it made, the first of them, and who made them;
    one line per deployment (dev, staging, prod) and per person's decision on a promotion, with the people."""
    stages: dict[str, list[TraceStep]] = {}
    for step in steps:
        stages.setdefault(step.stage, []).append(step)
    first = steps[0]
    rows = []
    for stage, items in stages.items():
        for group in [[s] for s in items] if stage in _ONE_LINE_EACH else [items]:
            more = f" (+{len(group) - 1} more)" if len(group) > 1 else ""
            rows.append([stage, len(group), group[0].label + more, _who(group[0]), group[0].started or ""])
    print_table(["stage", "items", "first", "agent", "started"], rows, title=f"trace of {first.tenant}/{first.product}")
    from studio.views import feedback_rows

    loop = feedback_rows(steps)
    if loop:
        print_table(list(loop[0]), [list(r.values()) for r in loop], title="feedback: finding -> decision -> files")
