"""`factory blueprint`: an intent (as text, a pasted bullet list, a file or standard input) to a proposed
blueprint, with the analyst's open questions and the answers that settle them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from graph.files import replacing
from ontology.errors import InvalidInputError
from ontology.models import Requirements
from studio.intent_input import IntentArg, IntentCommand, IntentFileOpt, intent_text

__all__ = ["IntentCommand", "blueprint", "question_lines"]


def _intent_text(intent: str | None, file: Path | None) -> str:
    text = intent_text(intent, file)
    if text is None:
        raise InvalidInputError(
            "give an intent in quotes, --file FILE, '-' to read it from standard input (or --schema)"
        )
    return text


def question_lines(requirements: Requirements) -> list[str]:
    """The open questions (default marked '*', then the alternatives) and the answers that settled others."""
    lines: list[str] = []
    if requirements.open_questions:
        lines.append("Open questions (the proposal took each default '*'; answer with --answer ID=CHOICE):")
        for q in requirements.open_questions:
            lines.append(f"  {q.id}: {q.text}")
            width = max(len(c) for c in q.choices)
            for choice in q.choices:
                mark = "*" if choice == q.default else " "
                lines.append(f"    {mark} {choice.ljust(width)}  {q.label(choice)}")
    if requirements.answers:
        lines.append("Settled:")
        for a in requirements.answers:
            how = f"decided earlier by {a.decided_by or 'a person'}" if a.remembered else "answered now"
            lines.append(f"  {a.question.id} = {a.choice}: {a.question.label(a.choice)} ({how})")
    return lines


def _envelope(proposal: Any, recorded: int) -> dict[str, Any]:
    requirements = proposal.requirements
    return {
        "blueprint": proposal.blueprint.model_dump(mode="json"),
        "open_questions": [q.model_dump(mode="json") for q in requirements.open_questions],
        "answers": [
            {
                "question": a.question.id,
                "kind": a.question.kind,
                "choice": a.choice,
                "remembered": a.remembered,
                "decided_by": a.decided_by,
            }
            for a in requirements.answers
        ],
        "recorded_decisions": recorded,
        "notes": proposal.notes,
    }


def blueprint(
    intent: IntentArg = None,
    file: IntentFileOpt = None,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant the product is for.")] = None,
    product: Annotated[str | None, typer.Option("--product", help="Product slug (default: from the intent).")] = None,
    answer: Annotated[
        list[str] | None,
        typer.Option(
            "--answer",
            "-a",
            help="Settle an open question: ID=CHOICE (repeat it), e.g. deal=entity or student-course=many-to-many.",
        ),
    ] = None,
    remember: Annotated[
        bool, typer.Option("--remember/--no-remember", help="Record the answers as the tenant's decisions.")
    ] = True,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the blueprint here.")] = None,
    schema: Annotated[bool, typer.Option("--schema", help="Print the blueprint JSON Schema and exit.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: the blueprint, open questions, answers and notes.")
    ] = False,
) -> None:
    """Propose a blueprint for an intent, with the analyst's open questions (or print the JSON Schema)."""
    from generators.blueprint import dump_blueprint, json_schema
    from generators.open_questions import parse_answers
    from generators.pipeline import Planner
    from graph import KnowledgeGraph
    from graph.decisions import record_decisions
    from ontology.refs import check_slug

    if schema:
        sys.stdout.write(json_schema() + "\n")
        return
    if not tenant:
        raise InvalidInputError("give --tenant T: the tenant the product is for")
    check_slug(tenant, "tenant")
    answers = parse_answers(answer or [])
    text = _intent_text(intent, file)
    kg = KnowledgeGraph()
    proposal = Planner.from_env(kg).propose(text, tenant, product, answers)
    bp = proposal.blueprint
    body = json.dumps(bp.model_dump(mode="json"), indent=2) + "\n" if as_json else dump_blueprint(bp)
    questions = question_lines(proposal.requirements)
    if output is not None:
        _write_text(output, body)
    recorded = len(record_decisions(kg, tenant, proposal.requirements.answers)) if answers and remember else 0
    if as_json:
        sys.stdout.write(json.dumps(_envelope(proposal, recorded), indent=2, ensure_ascii=False) + "\n")
    elif output is None:
        sys.stdout.write(body + "".join(f"# {line}\n" for line in questions))  # comments: the YAML stays valid
    else:
        sys.stdout.write(f"blueprint for {bp.name} written to {output}\n" + "".join(f"{q}\n" for q in questions))
    for note in proposal.notes:
        print(f"note: {note}", file=sys.stderr)
    if recorded:
        print(f"recorded {recorded} decision(s) for tenant {tenant}: its next intents use them", file=sys.stderr)


def _write_text(path: Path, text: str) -> None:
    try:
        with replacing(path) as out:
            out.write(text.encode())
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror}") from None
