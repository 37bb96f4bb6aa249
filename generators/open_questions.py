"""What the analyst is unsure about, asked as questions, and the answers that settle them.

The analyst's requirements say how each finding was made (`EntityNeed.matched_by`, `pattern`,
`phrase`; `RelationshipNeed.verb`). From them come four kinds of open question, each with a
default (what the proposal does when nobody answers) and alternatives:

* entity-or-attribute: a noun with no pattern may be an entity, an attribute of a related
  entity, or nothing the service manages ('deal': entity / attribute:company / ignore); an
  entity of any kind whose learned confidence is under one half (generators.entity_confidence)
  is asked too, with `ignore` as its default ('head_office': ignore / entity / attribute:owner);
* attribute-or-entity: a named attribute that is also the name of a pattern or of another
  entity may be an entity of its own ('warehouse.bins': attribute / entity / ignore);
* cardinality: a verb without a cardinality word ('students enrol in courses') left the
  cardinality to a rule ('student-course': many-to-many / one-to-many / many-to-one);
* pattern-match: a word that is not a pattern's own name was read as that pattern ('guests'
  as attendee): use the pattern, or keep the word as an entity of its own.

A question's id is derived from what it asks about, so the same intent always asks the same
ids. Answers (given now, or a tenant's past decisions) are applied to the requirements, so
the architect's blueprint is rebuilt from them. Deterministic: no randomness, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from generators.answer_effects import apply_answers, entity_label, leave_out, own_word, short, still_asked
from generators.entity_confidence import THRESHOLD
from generators.patterns import PatternLibrary, normalise
from ontology.errors import InvalidInputError
from ontology.identifiers import plural, safe_identifier
from ontology.models import (
    INVERSE_CARDINALITY,
    Answer,
    Cardinality,
    EntityNeed,
    OpenQuestion,
    PastDecision,
    RelationshipNeed,
    Requirements,
)

__all__ = ["apply_answers", "find_questions", "own_word", "parse_answers", "settle"]

CARDINALITIES: tuple[Cardinality, ...] = ("one-to-many", "many-to-one", "many-to-many")
CARDINALITY_WORDS = frozenset(
    [
        "many",
        "one",
        "single",
        "multiple",
        "several",
        "each",
        "every",
        "belong",
        "belongs",
        "has",
        "have",
        "own",
        "owns",
        "contain",
        "contains",
    ]
)
"""Words in a relationship's verb that state its cardinality: no question is asked then."""
UNSURE_SOURCES = frozenset({"noun", "llm"})
"""How an entity was found when nothing but the noun itself (or a model's say) makes it one."""
MAX_OWNERS = 5


# ---------------------------------------------------------------- asking


def find_questions(requirements: Requirements, library: PatternLibrary) -> list[OpenQuestion]:
    """The questions the analyst's findings raise, in a fixed order: entities, attributes, links."""
    entities = requirements.entities
    names = {e.name for e in entities}
    questions: list[OpenQuestion] = []
    unlikely = {e.name for e in entities if e.confidence is not None and e.confidence < THRESHOLD}
    if unlikely >= names:
        unlikely = set()  # a proposal keeps at least its likeliest entities
    for need in entities:
        if need.name in unlikely or (need.matched_by in UNSURE_SOURCES and need.pattern is None):
            questions.append(_entity_question(need, requirements, unlikely=need.name in unlikely))
        elif need.pattern is not None:
            asked = _pattern_question(need, library)
            if asked is not None:
                questions.append(asked)
    for need in entities:
        for attr in need.attributes:
            word = safe_identifier(normalise(attr.name) or attr.name)
            if word != need.name and (word in names or library.find(attr.name) is not None):
                questions.append(_attribute_question(need, attr.name, word))
    for rel in requirements.relationships:
        if not _stated(rel, requirements, library):
            questions.append(_cardinality_question(rel, requirements))
    seen: set[str] = set()
    unique = []
    for q in questions:  # ids are unique: a rare clash takes the kind as a prefix
        if q.id in seen:
            q = q.model_copy(update={"id": f"{q.kind}:{q.id}"})
        seen.add(q.id)
        unique.append(q)
    return unique


def _entity_question(need: EntityNeed, requirements: Requirements, *, unlikely: bool = False) -> OpenQuestion:
    """Entity, attribute of a related entity, or nothing; left out by default when the analyst finds it unlikely."""
    owners: list[str] = []
    for rel in requirements.relationships:
        other = rel.target if rel.source == need.name else rel.source if rel.target == need.name else None
        if other and other != need.name and other not in owners:
            owners.append(other)
    if not owners:
        owners = [e.name for e in requirements.entities if e.name != need.name]
    owners = owners[:MAX_OWNERS]
    labels = {e.name: entity_label(e) for e in requirements.entities}
    alternatives = [f"attribute:{o}" for o in owners]
    if len(requirements.entities) > 1:
        alternatives.append("ignore")
    if not alternatives:  # the only entity, with nothing to hang it on: nothing to ask
        alternatives = ["ignore"]
    text = f"Is {entity_label(need)!r} something the service manages on its own, or a detail of another entity?"
    default = "entity"
    if unlikely:  # 'in our Leeds depot', 'such as lamps': read as a word said in passing unless a person keeps it
        text += f" It reads like a word said in passing (confidence {need.confidence:.2f}), so it is left out."
        default, alternatives = "ignore", ["entity", *(a for a in alternatives if a != "ignore")]
    return OpenQuestion(
        id=need.name,
        kind="entity-or-attribute",
        subject=need.name,
        text=text,
        default=default,
        alternatives=alternatives,
        labels={
            "entity": f"an entity of its own ({need.name})",
            **{f"attribute:{o}": f"an attribute of {labels[o]}" for o in owners},
            "ignore": "not part of the service: leave it out",
        },
        evidence=need.phrase[:500],
    )


def _pattern_question(need: EntityNeed, library: PatternLibrary) -> OpenQuestion | None:
    pattern = library.get(need.pattern or "")
    if pattern is None or not need.phrase.strip():
        return None
    word = own_word(need)
    if word == pattern.key:
        return None
    how = {"similarity": "by similarity of meaning", "synonym": "as a synonym", "llm": "by the language model"}
    reading = how.get(need.matched_by, "by its name")
    labels = {
        "pattern": f"use the pattern {pattern.key}, named {need.name}",
        "own": f"{word}, an entity of its own without the pattern",
    }
    alternatives = ["own"]
    if need.name != word:
        labels["renamed"] = f"use the pattern {pattern.key}, named {word}"
        alternatives = ["renamed", "own"]
    return OpenQuestion(
        id=word,
        kind="pattern-match",
        subject=f"{word}:{pattern.key}",
        text=f"{short(need.phrase)!r} was read as the pattern {pattern.label} ({reading}): is it one?",
        default="pattern",
        alternatives=alternatives,
        labels=labels,
        evidence=need.phrase[:500],
    )


def _attribute_question(need: EntityNeed, attribute: str, word: str) -> OpenQuestion:
    subject = f"{need.name}.{attribute}"
    return OpenQuestion(
        id=subject,
        kind="attribute-or-entity",
        subject=subject,
        text=f"Is {attribute.replace('_', ' ')!r} of {entity_label(need)} a plain value, or an entity of its own?",
        default="attribute",
        alternatives=["entity", "ignore"],
        labels={
            "attribute": f"an attribute of {entity_label(need)}",
            "entity": f"an entity of its own ({word}); each {need.name} has many",
            "ignore": "not part of the service: leave it out",
        },
        evidence=need.phrase[:500],
    )


def _stated(rel: RelationshipNeed, requirements: Requirements, library: PatternLibrary) -> bool:
    """Whether the cardinality was said in words or is what the pattern library knows of the pair."""
    if CARDINALITY_WORDS & set(re.findall(r"[a-z]+", rel.verb.lower())):
        return True
    patterns = {e.name: e.pattern for e in requirements.entities}
    a, b = patterns.get(rel.source), patterns.get(rel.target)
    known = library.related(a, b) if a and b else None
    if known is None:
        return False
    return (known.cardinality if known.source == a else INVERSE_CARDINALITY[known.cardinality]) == rel.cardinality


def _cardinality_labels(source: str, target: str) -> dict[str, str]:
    s, t = source.replace("_", " "), target.replace("_", " ")
    return {
        "one-to-many": f"one {s} has many {plural(target).replace('_', ' ')}",
        "many-to-one": f"many {plural(source).replace('_', ' ')} share one {t}",
        "many-to-many": f"many {plural(source).replace('_', ' ')} with many {plural(target).replace('_', ' ')}",
    }


def _cardinality_question(rel: RelationshipNeed, requirements: Requirements) -> OpenQuestion:
    subject = f"{rel.source}-{rel.target}"
    verb = short(rel.verb) or "relates to"
    return OpenQuestion(
        id=subject,
        kind="cardinality",
        subject=subject,
        text=f"'{rel.source} {verb} {rel.target}': how many of each? (no word in the intent said)",
        default=rel.cardinality,
        alternatives=[c for c in CARDINALITIES if c != rel.cardinality],
        labels=_cardinality_labels(rel.source, rel.target),
        evidence=f"{rel.source} {verb} {rel.target}",
    )


# ---------------------------------------------------------------- answering


def parse_answers(pairs: Iterable[str]) -> dict[str, str]:
    """'id=choice' texts (as the command line takes them) as a mapping; a repeated id keeps its last choice."""
    answers: dict[str, str] = {}
    for pair in pairs:
        qid, sep, choice = pair.partition("=")
        qid, choice = qid.strip(), choice.strip()
        if not sep or not qid or not choice:
            raise InvalidInputError(f"bad answer {pair[:60]!r}: write question=choice, e.g. deal=entity")
        answers[qid] = choice
    return answers


def _resolve(question: OpenQuestion, choice: str) -> str:
    if choice in question.choices:
        return choice
    prefixed = [c for c in question.choices if c.startswith(f"{choice}:")]
    if len(prefixed) == 1:  # 'attribute' for the one 'attribute:x' there is
        return prefixed[0]
    raise InvalidInputError(
        f"{choice[:60]!r} is not an answer to question {question.id}: choose one of {', '.join(question.choices)}"
    )


def _remembered(question: OpenQuestion, past: Mapping[tuple[str, str], PastDecision]) -> Answer | None:
    decision = past.get((question.kind, question.subject))
    choice = decision.choice if decision else None
    if decision is None and question.kind == "cardinality":  # decided on the pair the other way round
        a, _, b = question.subject.partition("-")
        decision = past.get((question.kind, f"{b}-{a}"))
        choice = INVERSE_CARDINALITY.get(decision.choice) if decision else None
    if decision is None or choice not in question.choices:
        return None
    return Answer(question=question, choice=choice, remembered=True, decided_by=decision.person)


def settle(
    requirements: Requirements,
    library: PatternLibrary,
    answers: Mapping[str, str] | None = None,
    past: Sequence[PastDecision] = (),
) -> Requirements:
    """The requirements with their questions asked and the answers applied.

    `answers` (question id -> choice) are given now; `past` are the tenant's earlier decisions,
    oldest first, and settle the questions nobody answered now. An entity whose question nobody
    answered and whose default is `ignore` is left out, and its question stays open. Raises InvalidInputError for an
    answer to a question the intent does not raise or with a choice the question does not offer.
    """
    questions = find_questions(requirements, library)
    by_id = {q.id: q for q in questions}
    given: dict[str, Answer] = {}
    for qid, choice in (answers or {}).items():
        question = by_id.get(qid)
        if question is None:
            known = ", ".join(by_id) or "none: this intent raises no questions"
            raise InvalidInputError(f"no open question {qid[:60]!r}: the questions are {known}")
        given[qid] = Answer(question=question, choice=_resolve(question, choice))
    latest: dict[tuple[str, str], PastDecision] = {(d.kind, d.subject): d for d in past}
    settled: list[Answer] = []
    for q in questions:
        answer = given.get(q.id) or _remembered(q, latest)
        if answer is not None:
            settled.append(answer)
    answered = {a.question.id for a in settled}
    left_out = [
        q for q in questions if q.id not in answered and q.kind == "entity-or-attribute" and q.default == "ignore"
    ]
    result = leave_out(apply_answers(requirements, settled), left_out)
    open_questions = [q for q in questions if q.id not in answered and (q in left_out or still_asked(q, result))]
    return result.model_copy(update={"open_questions": open_questions, "answers": settled})
