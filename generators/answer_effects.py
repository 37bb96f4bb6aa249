"""What each answer to an open question does to the analyst's requirements.

`apply_answers` changes a copy of the requirements as the answers say (an entity becomes an
attribute of another or is left out, an attribute becomes an entity, a cardinality flips, a
word keeps or leaves its pattern) and explains each change in the notes; `still_asked` tells
whether an unanswered question still has its subject afterwards. See generators.open_questions.
"""

from __future__ import annotations

from collections.abc import Sequence

from generators.attribute_inference import default_attributes, infer_attribute
from generators.patterns import normalise
from ontology.identifiers import safe_identifier
from ontology.models import (
    Answer,
    EntityNeed,
    OpenQuestion,
    RelationshipNeed,
    Requirements,
)

__all__ = ["apply_answers", "entity_label", "leave_out", "own_word", "short", "still_asked"]

_DETERMINERS = frozenset(
    ["the", "a", "an", "each", "every", "all", "their", "its", "his", "her", "our", "my", "your", "many", "some", "any"]
)


def entity_label(need: EntityNeed) -> str:
    """How an entity is named to people: its label, or its name in words."""
    return short(need.label or need.name.replace("_", " "))


def short(text: str, limit: int = 80) -> str:
    """`text` on one line, cut to `limit` characters: questions quote the intent, never all of it."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def own_word(need: EntityNeed) -> str:
    """The entity name the person's own word makes: 'the hotel guests' -> 'hotel_guest'."""
    words = [w for w in normalise(need.phrase).split() if w not in _DETERMINERS]
    return safe_identifier(" ".join(words)) if words else need.name


_ORDER = {"cardinality": 0, "attribute-or-entity": 1, "entity-or-attribute": 2, "pattern-match": 3}
"""Renames come last, so that every answer finds its entities under the names it asked about."""


def apply_answers(requirements: Requirements, answers: Sequence[Answer]) -> Requirements:
    """The requirements changed as the answers say; each change is explained in the notes."""
    req = requirements.model_copy(deep=True)
    for answer in sorted(answers, key=lambda a: _ORDER[a.question.kind]):
        q, choice = answer.question, answer.choice
        why = f"decided earlier by {answer.decided_by or 'a person'}" if answer.remembered else "answered"
        effect = _APPLY[q.kind](req, q, choice)
        req.notes.append(f"question {q.id} = {choice} ({why}): {effect}")
    return req


def leave_out(requirements: Requirements, questions: Sequence[OpenQuestion]) -> Requirements:
    """The requirements without the entities that unanswered questions leave out by default."""
    req = requirements.model_copy(deep=True)
    for q in questions:
        if _entity(req, q.subject) is not None:
            _drop_entity(req, q.subject)
            req.notes.append(
                f"question {q.id} = ignore (the default: it reads like a word said in passing): {q.subject} is left"
                f" out; answer {q.id}=entity to keep it"
            )
    return req


def _entity(req: Requirements, name: str) -> EntityNeed | None:
    return next((e for e in req.entities if e.name == name), None)


def _drop_entity(req: Requirements, name: str) -> None:
    req.entities = [e for e in req.entities if e.name != name]
    req.relationships = [r for r in req.relationships if name not in (r.source, r.target)]


def _fill_defaults(need: EntityNeed) -> None:
    if not need.attributes and need.pattern is None:
        need.attributes = default_attributes()


def _apply_entity(req: Requirements, q: OpenQuestion, choice: str) -> str:
    need = _entity(req, q.subject)
    if need is None:
        return "no longer applies"
    if choice == "entity":
        return f"{need.name} stays an entity"
    _drop_entity(req, need.name)
    if choice == "ignore":
        return f"{need.name} is left out"
    owner = _entity(req, choice.split(":", 1)[1])
    if owner is None:
        return f"{need.name} is left out: {choice.split(':', 1)[1]} is no longer an entity"
    attribute = infer_attribute(entity_label(need).lower())
    if all(a.name != attribute.name for a in owner.attributes):
        owner.attributes.append(attribute)
    return f"{need.name} is now the attribute {owner.name}.{attribute.name} ({attribute.type})"


def _apply_attribute(req: Requirements, q: OpenQuestion, choice: str) -> str:
    owner_name, _, attribute = q.subject.partition(".")
    owner = _entity(req, owner_name)
    if owner is None or all(a.name != attribute for a in owner.attributes):
        return "no longer applies"
    if choice == "attribute":
        return f"{owner_name}.{attribute} stays an attribute"
    owner.attributes = [a for a in owner.attributes if a.name != attribute]
    _fill_defaults(owner)
    if choice == "ignore":
        return f"{owner_name}.{attribute} is left out"
    name = safe_identifier(normalise(attribute) or attribute)
    if _entity(req, name) is None:
        req.entities.append(EntityNeed(name=name, label=name.replace("_", " ").title(), matched_by="explicit"))
        _fill_defaults(req.entities[-1])
    if not any({r.source, r.target} == {owner_name, name} for r in req.relationships):
        req.relationships.append(
            RelationshipNeed(source=owner_name, target=name, cardinality="one-to-many", verb="has many")
        )
    return f"{name} is an entity; each {owner_name} has many"


def _apply_cardinality(req: Requirements, q: OpenQuestion, choice: str) -> str:
    source, _, target = q.subject.partition("-")
    for i, rel in enumerate(req.relationships):
        if (rel.source, rel.target) == (source, target):
            req.relationships[i] = rel.model_copy(update={"cardinality": choice})
            return f"{source} - {target} is {choice}"
    return "no longer applies"


def _apply_pattern(req: Requirements, q: OpenQuestion, choice: str) -> str:
    word, _, key = q.subject.partition(":")
    need = next((e for e in req.entities if e.pattern == key and own_word(e) == word), None)
    if need is None:
        return "no longer applies"
    if choice == "pattern":
        return f"{need.name} is built from the pattern {key}"
    old = need.name
    if word != old and _entity(req, word) is None:
        need.name, need.label = word, word.replace("_", " ").title()
        req.relationships = [
            r.model_copy(
                update={
                    "source": word if r.source == old else r.source,
                    "target": word if r.target == old else r.target,
                }
            )
            for r in req.relationships
        ]
    if choice == "renamed":
        return f"{old} is named {need.name}, still built from the pattern {key}"
    need.pattern, need.matched_by = None, "noun"
    stated = {a.name for a in need.attributes}  # the pattern gave the rest: the defaults stand in for it
    need.attributes = [a for a in default_attributes() if a.name not in stated] + need.attributes
    return f"{old} is {need.name}, an entity of its own without the pattern {key}"


_APPLY = {
    "entity-or-attribute": _apply_entity,
    "attribute-or-entity": _apply_attribute,
    "cardinality": _apply_cardinality,
    "pattern-match": _apply_pattern,
}


def still_asked(q: OpenQuestion, req: Requirements) -> bool:
    """Whether an unanswered question still has its subject once the answers were applied."""
    if q.kind == "entity-or-attribute":
        return _entity(req, q.subject) is not None
    if q.kind == "attribute-or-entity":
        owner_name, _, attribute = q.subject.partition(".")
        owner = _entity(req, owner_name)
        return owner is not None and any(a.name == attribute for a in owner.attributes)
    if q.kind == "cardinality":
        source, _, target = q.subject.partition("-")
        return any((r.source, r.target) == (source, target) for r in req.relationships)
    word, _, key = q.subject.partition(":")
    return any(e.pattern == key and own_word(e) == word for e in req.entities)
