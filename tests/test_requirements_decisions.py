"""The requirements stage re-plans when the tenant decides an open question, and applies the decision.

The stages are plain calls on a temporary home with a real knowledge graph (no embedding model);
the decision is recorded as `factory blueprint --answer` records it.
"""

from __future__ import annotations

from pathlib import Path

from graph import KnowledgeGraph
from graph.decisions import record_decisions
from infra.control import ControlPlane
from infra.lifecycle import StageContext, design
from ontology.models import Answer

BULLETS = "- students enrol in courses\n- teachers teach courses"


def test_a_new_decision_makes_the_requirements_stage_run_again_and_apply_it(tmp_path: Path) -> None:
    ControlPlane(None, tmp_path).submit_intent("acme", "school", BULLETS)
    graph = KnowledgeGraph(tmp_path, embedder=None)
    ctx = StageContext(tmp_path, "acme", "school", knowledge_graph=lambda: graph)
    intent = design.intent(ctx)
    first = design.requirements(ctx, intent)
    assert first.requirements is not None and not first.reused
    question = next(q for q in first.requirements.open_questions if q.id == "student-course")
    assert question.default == "many-to-many" and not first.requirements.answers
    assert design.requirements(ctx, intent).reused  # nothing changed: reused

    record_decisions(graph, "acme", [Answer(question=question, choice="one-to-many")], user="dana")
    second = design.requirements(ctx, intent)
    assert not second.reused and second.fingerprint != first.fingerprint
    assert second.requirements is not None
    answers = {a.question.id: a for a in second.requirements.answers}
    assert answers["student-course"].choice == "one-to-many" and answers["student-course"].remembered
    assert answers["student-course"].decided_by == "dana"
    assert design.requirements(ctx, intent).reused  # and that decision is now part of what it was made from
