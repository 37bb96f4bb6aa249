"""Relationships from the links an intent states, with a cardinality for each pair of entities.

Explicit words win ('belongs to', 'many-to-many', 'has many'); a verb by which many take part in a
thing that exists on its own ('members attend events', 'guests reserve rooms') is many-to-many; a
verb or a preposition between two patterns takes the direction and cardinality the pattern library
gives that pair; otherwise a verb reads one-to-many from its subject ('owners register pets'), a verb with a preposition
many-to-many ('students enroll in courses'). Two one-to-many links in opposite directions
between the same pair ('X have many Y and Y have many X') make one many-to-many.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from generators.intent_parser import Link
from generators.lexicon import CHOICE_VERBS, MEMBER_VERBS, MOTION_VERBS, PERSON_NOUNS, SHARING_VERBS, words
from generators.patterns import PatternLibrary
from ontology.models import INVERSE_CARDINALITY, Cardinality, RelationshipNeed

__all__ = ["RelationshipSet", "decide", "person_noun"]


@dataclass(frozen=True)
class Decision:
    source: str
    target: str
    cardinality: Cardinality
    verb: str
    why: str
    default: bool = False
    """Whether only a default reading gave the cardinality ('a single one', 'subject of the verb has many'):
    such a reading never turns an earlier statement about the pair into many-to-many."""
    counted: str = ""
    """The end that 'many' or 'several' counts ('a stop can be on many routes': the routes), if any."""


def decide(
    link: Link, source: str, target: str, patterns: tuple[str | None, str | None], library: PatternLibrary
) -> Decision:
    """The relationship one stated link makes between two resolved entities."""
    counted = target if link.target.many and not link.source.many else ""
    verb_words = link.verb.split()
    first, last = (verb_words[0], verb_words[-1]) if verb_words else ("", "")
    becoming = len(verb_words) == 2 and first in _BECOMING_VERBS and last == "into"
    if becoming and link.kind in ("verb", "passive"):
        # 'each referral is turned into one procedure', 'an accepted quote is converted into an order': what exists
        # first holds the key of what it became, as after 'become'
        return Decision(source, target, "one-to-many", link.verb, f"'{link.verb}' says what it becomes")
    if link.cardinality is not None:
        card = cast(Cardinality, link.cardinality)
        return Decision(source, target, card, link.verb, f"'{link.verb}' says so", counted=counted)
    if link.kind == "verb" and (link.target.mine or link.target.theirs) and not link.target.one:
        # 'as a kid I want to save my projects', 'parents enrol their children': the subject's own, one-to-many
        return Decision(source, target, "one-to-many", link.verb, f"'{link.verb}' the subject's own", counted=counted)
    if link.kind == "verb" and link.target.many and not link.source.many:
        # 'a maintenance contract covers many buildings', 'a story can appear in several sections': never just one
        shared = " " in link.verb or first in SHARING_VERBS | CHOICE_VERBS | MEMBER_VERBS
        card = "many-to-many" if shared else "one-to-many"
        return Decision(source, target, card, link.verb, f"'{link.verb}' many", counted=counted)
    if link.kind == "verb" and " " not in link.verb and link.target.one and not link.target.plural:
        # 'a rule targets one segment', 'each slot holds one product': one of the object for each of the subject
        return Decision(source, target, "many-to-one", link.verb, f"'{link.verb}' one")
    if link.kind == "verb" and first in SHARING_VERBS:
        one_each = link.source.each and not link.source.plural
        if one_each and not (link.target.plural or link.target.many or link.target.each):
            # 'each brew follows a recipe': each of many takes one of a thing that exists on its own
            return Decision(source, target, "many-to-one", link.verb, f"each '{link.verb}' one")
        return Decision(source, target, "many-to-many", link.verb, f"'{link.verb}' shares its object among many")
    if link.kind == "verb" and link.verb in CHOICE_VERBS:
        # 'each pledge chooses a reward tier': many take one of a thing that exists on its own
        many = link.target.plural or link.target.many
        return Decision(
            source, target, "many-to-many" if many else "many-to-one", link.verb, f"'{link.verb}' takes one"
        )
    if link.kind == "verb" and link.verb in MEMBER_VERBS and link.target.plural and not link.target.single:
        # 'visitors join virtual queues for rides': a member of many, each with many members
        return Decision(source, target, "many-to-many", link.verb, f"'{link.verb}' many")
    if link.kind == "verb" and link.verb.endswith(" in") and first in _HANDING_IN:
        # 'divers hand in a form', 'passengers fill in a claim': 'in' finishes the verb; each writes many over time
        return Decision(source, target, "one-to-many", link.verb, f"'{link.verb}' hands in one at a time")
    if link.kind == "verb" and (first in MEMBER_VERBS or link.verb.endswith(" in")):
        return Decision(source, target, "many-to-one", link.verb, f"'{link.verb}' makes the subject a member of one")
    a, b = patterns
    known = library.related(a, b) if a and b else None
    if known is not None:
        flipped = known.source != a
        return Decision(
            source,
            target,
            INVERSE_CARDINALITY[known.cardinality] if flipped else known.cardinality,
            link.verb,
            f"cardinality from the pattern library ({known.source}.{known.source_role}: {known.cardinality})",
        )
    if link.kind == "with":
        people = link.target.plural and not link.target.many and person_noun(link.target.head, b)
        if link.verb == "with" and people and not person_noun(link.source.head, a):
            # 'appointments with hygienists', 'contracts with vendors': each is with one of the people
            return Decision(source, target, "many-to-one", link.verb, "'with' people")
        if link.verb == "with" and (link.target.plural or link.target.many):
            return Decision(source, target, "one-to-many", link.verb, "'with' and a plural", default=True)
        served = link.target.each and not (link.target.plural or link.source.plural or link.source.each)
        if link.verb == "to" and served:
            # 'we assign a stenographer to each deposition': one of the thing serves each of the other
            return Decision(source, target, "one-to-many", link.verb, "one 'to each'", default=True)
        if link.target.plural and (link.verb == "into" or (link.verb == "of" and not link.source.plural)):
            # 'a gallery of proofs', 'split projects into milestones': each one holds many
            return Decision(source, target, "one-to-many", link.verb, "one thing 'of' a plural", default=True)
        return Decision(source, target, "many-to-one", link.verb, f"'{link.verb}' a single one", default=True)
    one_each = link.source.each and not link.source.plural
    placed = last in _PLACES and link.target.single
    if " " in link.verb and one_each and placed and not (link.target.plural or link.target.many):
        # 'each machine sits at a location', 'every dog stays in a kennel': each of many in one place
        return Decision(source, target, "many-to-one", link.verb, "each with a single one")
    if " " in link.verb and link.target.each and not link.source.plural:
        # 'a judge presides over each hearing': one of the subject for each of the objects
        return Decision(source, target, "one-to-many", link.verb, "a verb with a preposition and 'each'")
    if first in MOTION_VERBS and last in ("from", "to") and not link.target.many:
        # 'finds come from a context', 'menu items point to pages': each comes from, or goes to, one
        return Decision(source, target, "many-to-one", link.verb, "each goes to or comes from one")
    if " " in link.verb and link.target.one and not (link.target.plural or link.target.many):
        # 'a trip runs on one route': one of the preposition's object for each of the subject
        return Decision(source, target, "many-to-one", link.verb, "a verb with a preposition and 'one'")
    if " " in link.verb:
        return Decision(source, target, "many-to-many", link.verb, "a verb with a preposition")
    return Decision(source, target, "one-to-many", link.verb, "subject of the verb has many", default=True)


_BECOMING_VERBS = words("turn convert change")
"""Verbs that with 'into' say what a thing becomes: 'each enquiry turns into a booking'."""

_HANDING_IN = words("hand fill send turn key type write pencil end result bring drop")
"""Verbs whose 'in' finishes them ('hand in a form', 'fill in a claim', 'bring in books', 'end in a decision'),
where 'work in a team' makes the subject a member of one."""

_PLACES = words("in at on inside within under near beside along")
"""Prepositions of place: 'each machine sits at a location' puts each machine in one place."""


def person_noun(head: str, pattern: str | None = None) -> bool:
    """Whether a noun names people: a noun for people, or a pattern that is one, or a word for a practitioner
    ('hygienist', 'optometrist'; not a 'checklist')."""
    return (
        head in PERSON_NOUNS
        or (pattern or "") in PERSON_NOUNS
        or (head.endswith("ist") and not head.endswith("list") and len(head) > 5)
    )


class RelationshipSet:
    """Relationships merged by pair of entities, first statement first."""

    def __init__(self) -> None:
        self._items: dict[frozenset[str], RelationshipNeed] = {}
        self._defaults: set[frozenset[str]] = set()  # pairs whose reading so far is only a default one
        self.notes: list[str] = []

    def add(self, d: Decision, evidence: str) -> None:
        pair = frozenset((d.source, d.target))
        new = RelationshipNeed(source=d.source, target=d.target, cardinality=d.cardinality, verb=d.verb)
        old = self._items.get(pair)
        verb = d.verb or "has"
        stated = f"relationship {d.source} -{verb}-> {d.target} ({d.cardinality}): {d.why}; from {evidence!r}"
        if old is None:
            self._items[pair] = new
            if d.default:
                self._defaults.add(pair)
            self.notes.append(stated)
            return
        if pair in self._defaults and not (d.default or d.counted) and new.cardinality != "many-to-many":
            # 'officers covering sites ... each officer is assigned to one site': a statement overrules what a plain
            # verb was read as by default ('borrowers take out loans ... each loan has many borrowers' counts many)
            self._items[pair] = new
            self._defaults.discard(pair)
            self.notes.append(stated)
            return
        if new.cardinality == "many-to-many" and d.counted and d.counted == _one_side(old):
            # 'a route has many stops ... a stop can be on many routes': each side is said to have many of the other
            self._items[pair] = old.model_copy(update={"cardinality": "many-to-many"})
            self.notes.append(f"relationship {old.source} - {old.target} is many-to-many: {d.verb} many {d.counted}")
            return
        if old.cardinality == "many-to-many" or new.cardinality == "many-to-many" or _one_side(old) == _one_side(new):
            return  # the first statement stands unless each side is said to have many of the other
        if d.default:
            return  # 'plot holders rent plots ... holders of untidy plots': a default reading says nothing more
        self._items[pair] = old.model_copy(update={"cardinality": "many-to-many"})
        self.notes.append(
            f"relationship {old.source} - {old.target} is many-to-many: each side has many of the other "
            f"({old.verb or 'has'} / {d.verb or 'has'})"
        )

    def items(self) -> list[RelationshipNeed]:
        return list(self._items.values())


def _one_side(r: RelationshipNeed) -> str | None:
    """The entity on the 'one' side of a relationship; None when both sides are many."""
    if r.cardinality == "one-to-many":
        return r.source
    if r.cardinality == "many-to-one":
        return r.target
    return None
