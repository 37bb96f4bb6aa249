"""Graphviz DOT for the Studio's diagrams: a blueprint's entities, a build's trace, a query's results.

Every text that reaches a diagram is escaped, so a name typed by someone cannot break (or script) it.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence

from graph import QueryResult, TraceStep
from ontology.models import Blueprint

__all__ = ["STAGE_COLOURS", "blueprint_dot", "result_dot", "trace_dot"]

STAGE_COLOURS = {
    "intent": "#fde68a",
    "requirements": "#fef3c7",
    "blueprint": "#bfdbfe",
    "artifacts": "#dbeafe",
    "validation": "#bbf7d0",
    "release": "#ddd6fe",
    "deployment": "#fbcfe8",
    "telemetry": "#fecaca",
}
MAX_NODES_PER_STAGE = 6


def _q(text: object, limit: int = 80) -> str:
    """A DOT double-quoted string."""
    value = str(text)
    value = value if len(value) <= limit else value[: limit - 1] + "…"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _h(text: object, limit: int = 60) -> str:
    value = str(text)
    return html.escape(value if len(value) <= limit else value[: limit - 1] + "…")


def blueprint_dot(bp: Blueprint) -> str:
    """Entities as tables of their attributes, relationships as labelled edges with their cardinality."""
    lines = [
        "digraph blueprint {",
        "  graph [rankdir=LR, fontname=Helvetica, bgcolor=transparent];",
        "  node [shape=plain, fontname=Helvetica, fontsize=11];",
        '  edge [fontname=Helvetica, fontsize=10, color="#475569"];',
    ]
    for entity in bp.entities:
        rows = "".join(
            f'<tr><td align="left">{_h(a.name)}</td><td align="left"><font color="#64748b">{_h(a.type)}'
            f"{'*' if a.required else ''}{' 🔒' if a.pii else ''}</font></td></tr>"
            for a in entity.attributes
        )
        title = _h(entity.label or entity.name)
        lines.append(
            f'  {_q(entity.name)} [label=<<table border="1" cellborder="0" cellspacing="0" cellpadding="3">'
            f'<tr><td colspan="2" bgcolor="#bfdbfe"><b>{title}</b></td></tr>{rows}</table>>];'
        )
    for rel in bp.relationships:
        ends = {"one-to-many": ("1", "*"), "many-to-one": ("*", "1"), "many-to-many": ("*", "*")}[rel.cardinality]
        lines.append(
            f"  {_q(rel.source)} -> {_q(rel.target)} [label={_q(rel.source_role)}, "
            f"taillabel={_q(ends[0])}, headlabel={_q(ends[1])}];"
        )
    lines.append("}")
    return "\n".join(lines)


def trace_dot(steps: Sequence[TraceStep], expand: str | None = None) -> str:
    """The build's chain: stages in lifecycle order, what each made, and the activity and agent behind it.

    A stage with many outputs (artifacts, telemetry) is folded into one node unless it is `expand`.
    """
    lines = [
        "digraph trace {",
        "  graph [rankdir=LR, fontname=Helvetica, bgcolor=transparent, compound=true, nodesep=0.25];",
        "  node [fontname=Helvetica, fontsize=10, style=filled, shape=box];",
        '  edge [fontname=Helvetica, fontsize=9, color="#64748b"];',
    ]
    by_stage: dict[str, list[TraceStep]] = {}
    for step in steps:
        by_stage.setdefault(step.stage, []).append(step)
    anchors: list[str] = []
    agents: dict[str, str] = {}
    for agent in dict.fromkeys(s.agent for s in steps if s.agent):  # declared first: outside every cluster
        agents[agent] = f"g{len(agents)}"
        label = "/".join(agent.rstrip("/").split("/")[-2:])
        lines.append(f'  {agents[agent]} [label={_q(label)}, shape=house, fillcolor="#e2e8f0"];')
    for index, (stage, items) in enumerate(by_stage.items()):
        colour = STAGE_COLOURS.get(stage, "#e5e7eb")
        lines.append(f'  subgraph cluster_{index} {{ label={_q(stage)}; style=rounded; color="#94a3b8";')
        shown = items if stage == expand or len(items) <= MAX_NODES_PER_STAGE else items[: MAX_NODES_PER_STAGE - 1]
        for j, step in enumerate(shown):
            lines.append(f"    n{index}_{j} [label={_q(step.label or step.node, 48)}, fillcolor={_q(colour)}];")
        if len(shown) < len(items):
            more = len(items) - len(shown)
            lines.append(f"    n{index}_more [label={_q(f'… {more} more')}, fillcolor={_q(colour)}, style=dashed];")
        activity = next((s.activity for s in items if s.activity), None)
        if activity:
            name = activity.rstrip("/").rsplit("/", 1)[-1]
            lines.append(f'    a{index} [label={_q(name)}, shape=ellipse, fillcolor="#f1f5f9"];')
            for j in range(len(shown)):
                lines.append(f'    n{index}_{j} -> a{index} [label="wasGeneratedBy", style=dotted];')
            by = next((s.agent for s in items if s.agent), None)
            if by:
                lines.append(f'    a{index} -> {agents[by]} [label="wasAssociatedWith", style=dotted];')
        lines.append("  }")
        anchors.append(f"n{index}_0")
    for left, right in itertools.pairwise(anchors):
        lines.append(f'  {left} -> {right} [penwidth=2, color="#0f172a"];')
    lines.append("}")
    return "\n".join(lines)


def result_dot(result: QueryResult, limit: int = 150) -> str:
    """A query's rows as a graph: (s, p, o) rows as edges, other rows as the first column linked to the rest."""
    lines = [
        "digraph result {",
        "  graph [rankdir=LR, fontname=Helvetica, bgcolor=transparent];",
        '  node [fontname=Helvetica, fontsize=10, shape=box, style="rounded,filled", fillcolor="#e0f2fe"];',
        '  edge [fontname=Helvetica, fontsize=9, color="#64748b"];',
    ]
    ids: dict[str, str] = {}

    def node(value: object) -> str:
        key = str(value)
        if key not in ids:
            ids[key] = f"v{len(ids)}"
            short = key.rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1] if "://" in key else key
            lines.append(f"  {ids[key]} [label={_q(short or key, 40)}, tooltip={_q(key, 300)}];")
        return ids[key]

    triples = [c.lower() for c in result.columns[:3]] in (["s", "p", "o"], ["subject", "predicate", "object"])
    edges: set[tuple[str, str, str]] = set()
    for row in result.rows[:limit]:
        if triples and len(row) >= 3:
            if row[0] is not None and row[2] is not None:
                label = str(row[1]).rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1]
                edges.add((node(row[0]), node(row[2]), label))
            continue
        if not row or row[0] is None:
            continue
        head = node(row[0])
        for column, value in zip(result.columns[1:], row[1:], strict=False):
            if value is not None and value != "":
                edges.add((head, node(value), column))
    for left, right, label in sorted(edges):
        lines.append(f"  {left} -> {right} [label={_q(label, 40)}];")
    lines.append("}")
    return "\n".join(lines)
