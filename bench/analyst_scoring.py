"""Scores the analyst's findings against a labelled intent corpus (tests/intents/<split>.yaml).

An entry names the entities an intent should give (the user's own word, with aliases), the
relationships between them (two ends and a cardinality) and a few key attributes. A found
entity matches an expected one by its name, its label or the phrase it came from, so the safe
rename of a reserved word ('class' -> 'class_item') and a recorded phrase both count.
Relationships match on the unordered pair of ends and the cardinality, with many-to-one A->B
the same as one-to-many B->A.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ontology.errors import InvalidInputError
from ontology.identifiers import safe_identifier
from ontology.models import Blueprint, Requirements

__all__ = [
    "Case",
    "CaseScore",
    "ExpectedAttribute",
    "ExpectedEntity",
    "Found",
    "FoundEntity",
    "Totals",
    "found_in",
    "labelled_as_found",
    "load_corpus",
    "score_case",
    "summarise",
]

CARDINALITIES = ("one-to-many", "many-to-one", "many-to-many", "one-to-one")


@dataclass(frozen=True)
class ExpectedEntity:
    name: str
    aliases: tuple[str, ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(k for n in (self.name, *self.aliases) for k in _keys(n))


@dataclass(frozen=True)
class ExpectedAttribute:
    entity: str
    name: str
    aliases: tuple[str, ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(k for n in (self.name, *self.aliases) for k in _keys(n, kind="attribute"))


@dataclass(frozen=True)
class Case:
    """One labelled intent of the corpus."""

    id: str
    intent: str
    entities: tuple[ExpectedEntity, ...]
    relationships: tuple[tuple[str, str, str], ...] = ()
    attributes: tuple[ExpectedAttribute, ...] = ()
    optional: tuple[str, ...] = ()
    domain: str = ""
    style: str = ""

    @property
    def expected_keys(self) -> frozenset[str]:
        """Every word an expected entity of this intent is matched by."""
        return frozenset().union(*(e.keys for e in self.entities))


@dataclass(frozen=True)
class FoundEntity:
    name: str
    label: str = ""
    phrase: str = ""
    attributes: frozenset[str] = frozenset()
    aliases: tuple[str, ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(k for n in (self.name, self.label, self.phrase, *self.aliases) if n for k in _keys(n))


@dataclass(frozen=True)
class Found:
    """What the analyst found for one intent."""

    entities: tuple[FoundEntity, ...] = ()
    relationships: tuple[tuple[str, str, str], ...] = ()


@dataclass
class CaseScore:
    """Counts for one intent, with the names behind each miss and each invention."""

    id: str
    entity_tp: int = 0
    missed: list[str] = field(default_factory=list)
    invented: list[str] = field(default_factory=list)
    rel_tp: int = 0
    rel_missed: list[str] = field(default_factory=list)
    rel_invented: list[str] = field(default_factory=list)
    attr_found: int = 0
    attr_missed: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def mistakes(self) -> int:
        return (
            len(self.missed)
            + len(self.invented)
            + len(self.rel_missed)
            + len(self.rel_invented)
            + len(self.attr_missed)
            + (5 if self.error else 0)
        )


@dataclass(frozen=True)
class Totals:
    """Micro-averaged figures over a list of intents."""

    intents: int
    entity_precision: float
    entity_recall: float
    entity_f1: float
    relationship_precision: float
    relationship_recall: float
    relationship_f1: float
    attribute_recall: float


# ---------------------------------------------------------------- reading the corpus


def load_corpus(path: Path) -> list[Case]:
    """The labelled intents of one YAML file; InvalidInputError names the first entry that is malformed."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"{path}: cannot read the corpus: {exc}") from None
    if not isinstance(data, list):
        raise InvalidInputError(f"{path}: the corpus must be a YAML list of intents")
    cases = []
    for number, entry in enumerate(data, 1):
        try:
            cases.append(_case(entry))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInputError(f"{path}: entry {number} is malformed: {exc}") from None
    return cases


def _case(entry: dict[str, Any]) -> Case:
    def aliases(item: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(a) for a in item.get("aliases") or ())

    relationships = []
    for rel in entry.get("relationships") or ():
        if rel["cardinality"] not in CARDINALITIES:
            raise ValueError(f"unknown cardinality {rel['cardinality']!r}")
        relationships.append((str(rel["source"]), str(rel["target"]), str(rel["cardinality"])))
    return Case(
        id=str(entry["id"]),
        intent=str(entry["intent"]),
        entities=tuple(ExpectedEntity(str(e["name"]), aliases(e)) for e in entry.get("entities") or ()),
        relationships=tuple(relationships),
        attributes=tuple(
            ExpectedAttribute(str(a["entity"]), str(a["name"]), aliases(a)) for a in entry.get("attributes") or ()
        ),
        optional=tuple(str(o) for o in entry.get("optional") or ()),
        domain=str(entry.get("domain", "")),
        style=str(entry.get("style", "")),
    )


def found_in(requirements: Requirements, blueprint: Blueprint | None = None) -> Found:
    """The analyst's entities and relationships; attributes from the requirements and the blueprint."""
    designed = {e.name: {a.name for a in e.attributes} for e in blueprint.entities} if blueprint else {}
    entities = tuple(
        FoundEntity(e.name, e.label, e.phrase, frozenset({a.name for a in e.attributes} | designed.get(e.name, set())))
        for e in requirements.entities
    )
    relationships = tuple((r.source, r.target, r.cardinality) for r in requirements.relationships)
    return Found(entities, relationships)


def labelled_as_found(second: Case, first: Case) -> Found:
    """A second labelling of an intent read as if an analyst had found it, to be scored against the first.

    Each entity carries its aliases, so the two agree wherever the second accepts the first's word. The
    second's optional entities count as found where the first expects them and are left out elsewhere: a
    thing one labeller thought optional is never charged as a miss or an invention.
    """
    attributes: dict[str, set[str]] = {}
    for attribute in second.attributes:
        attributes.setdefault(attribute.entity, set()).update((attribute.name, *attribute.aliases))
    optional = (ExpectedEntity(o) for o in second.optional)
    entities = tuple(
        FoundEntity(e.name, attributes=frozenset(attributes.get(e.name, ())), aliases=e.aliases)
        for e in (*second.entities, *(o for o in optional if o.keys & first.expected_keys))
    )
    return Found(entities, second.relationships)


# ---------------------------------------------------------------- scoring


def score_case(case: Case, found: Found) -> CaseScore:
    """Match what was found against what the case expects."""
    score = CaseScore(case.id)
    canonical: dict[str, str] = {}  # found name -> expected name (or the optional name it matched)
    matched: dict[str, FoundEntity] = {}
    free = list(found.entities)
    for expected in case.entities:
        hit = next((f for f in free if f.keys & expected.keys), None)
        if hit is None:
            score.missed.append(expected.name)
            continue
        free.remove(hit)
        canonical[hit.name] = expected.name
        matched[expected.name] = hit
        score.entity_tp += 1
    optional = [ExpectedEntity(o) for o in case.optional]
    for f in free:
        opt = next((o for o in optional if f.keys & o.keys), None)
        if opt is not None:
            canonical[f.name] = opt.name
        else:
            score.invented.append(f.name)
    _score_relationships(case, found, canonical, score)
    for attribute in case.attributes:
        owner = matched.get(attribute.entity)
        if owner is not None and any(k in attribute.keys for a in owner.attributes for k in _keys(a, "attribute")):
            score.attr_found += 1
        else:
            score.attr_missed.append(f"{attribute.entity}.{attribute.name}")
    return score


def _score_relationships(case: Case, found: Found, canonical: dict[str, str], score: CaseScore) -> None:
    expected = {_rel_key(*r): r for r in case.relationships}
    optional = set(case.optional)
    seen: set[tuple[str, ...]] = set()
    for source, target, cardinality in found.relationships:
        a, b = canonical.get(source, source), canonical.get(target, target)
        key = _rel_key(a, b, cardinality)
        if key in seen:
            continue
        seen.add(key)
        if key in expected:
            score.rel_tp += 1
        elif not ({a, b} & optional):
            score.rel_invented.append(_show(a, b, cardinality))
    score.rel_missed = [_show(*r) for k, r in expected.items() if k not in seen]


def _rel_key(a: str, b: str, cardinality: str) -> tuple[str, ...]:
    if cardinality == "many-to-one":
        a, b, cardinality = b, a, "one-to-many"
    if cardinality == "one-to-many":
        return (cardinality, a, b)
    return (cardinality, *sorted((a, b)))


def _show(a: str, b: str, cardinality: str) -> str:
    return f"{a} {cardinality} {b}"


def summarise(scores: Sequence[CaseScore]) -> Totals:
    """Micro-averaged precision, recall and F1 over all intents; attribute recall."""
    tp = sum(s.entity_tp for s in scores)
    fp = sum(len(s.invented) for s in scores)
    fn = sum(len(s.missed) for s in scores)
    rtp = sum(s.rel_tp for s in scores)
    rfp = sum(len(s.rel_invented) for s in scores)
    rfn = sum(len(s.rel_missed) for s in scores)
    afound = sum(s.attr_found for s in scores)
    aall = afound + sum(len(s.attr_missed) for s in scores)
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    rp, rr = _ratio(rtp, rtp + rfp), _ratio(rtp, rtp + rfn)
    return Totals(len(scores), p, r, _f1(p, r), rp, rr, _f1(rp, rr), _ratio(afound, aall))


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _keys(text: str, kind: str = "entity") -> Iterable[str]:
    """A name as written, as a safe identifier, and with its last word in the singular."""
    plain = "_".join(re.findall(r"[a-z0-9]+", text.lower()))
    if not plain:
        return ()
    keys = {plain}
    with contextlib.suppress(InvalidInputError):
        keys.add(safe_identifier(text, kind=kind))
    head, _, last = plain.rpartition("_")
    singular = _singular(last)
    keys.add(f"{head}_{singular}" if head else singular)
    return keys


def _singular(word: str) -> str:
    from lemminflect import getLemma

    lemmas = getLemma(word, upos="NOUN")
    return lemmas[0] if lemmas else word
