"""Decides which noun phrases of an intent are entities, and which pattern each one is.

In order: an exact pattern name at the head of the phrase ("line items", "clients"); a word
that several patterns end in ("tickets": support or event?) settled by the other entities of
the intent; the nearest pattern by meaning for a promotable phrase with no exact match; and
last, the phrase itself as a new entity, when it is clearly a domain object (subject or object
of a verb, an item of a list, the owner of attributes) and not a generic word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from generators.attribute_inference import infer_attribute
from generators.intent_parser import NounPhrase, ParsedIntent
from generators.lexicon import GENERIC_NOUNS, PRODUCT_HEADS, WEEKDAYS
from generators.patterns import Embedder, PatternLibrary
from ontology.errors import InvalidInputError
from ontology.identifiers import safe_identifier

__all__ = ["PROMOTABLE_ROLES", "WEAK_ROLES", "Referent", "Resolver", "one_value"]

How = Literal["pattern", "synonym", "similarity", "explicit", "noun"]
PROMOTABLE_ROLES = frozenset({"subject", "object", "listed", "owner"})
WEAK_ROLES = frozenset({"product", "audience", "aside"})


@dataclass
class Referent:
    """What one noun phrase refers to: an entity name (pattern key or new noun) and how it was found."""

    phrase: NounPhrase
    name: str | None = None
    pattern: str | None = None
    how: How = "noun"
    matched: str = ""
    score: float = 0.0
    candidates: list[tuple[str, int]] = field(default_factory=list)
    modifiers: list[str] = field(default_factory=list)
    promotable: bool = False

    @property
    def strong(self) -> bool:
        """Whether this phrase makes its entity part of the product (a synonym needs a grammatical role)."""
        if self.name is None or self.phrase.role in WEAK_ROLES or self.phrase.unit or self.phrase.operator:
            return False  # 'We run a pest control business': the organisation, even where its word names a pattern
        if self.how == "synonym" and self.phrase.role == "listed" and self.phrase.tokens:
            # 'SSO login, analytics and email reminders': a list of the platform's own words names no entity
            nouns = [t.lemma for t in self.phrase.tokens if t.tag == "NOUN"]
            return not nouns or not all(n in GENERIC_NOUNS for n in nouns)
        return self.how != "synonym" or self.phrase.role != "other"


class Resolver:
    """Resolves every noun phrase of a parsed intent against one pattern library."""

    def __init__(self, library: PatternLibrary, embedder: Embedder | None, threshold: float) -> None:
        self.library = library
        self.embedder = embedder
        self.threshold = threshold

    def first_pass(self, parsed: ParsedIntent) -> dict[int, Referent]:
        """Exact matches only; phrases that need context or similarity keep their candidates."""
        out: dict[int, Referent] = {}
        for p in parsed.phrases:
            if p.tokens:
                out[p.id] = self._exact(p)
        return out

    def _exact(self, p: NounPhrase) -> Referent:
        ref = Referent(p, promotable=p.role in PROMOTABLE_ROLES and not p.generic)
        lemmas = p.lemmas
        hits = self.library.match(lemmas)
        head = hits[-1] if hits and hits[-1].end == len(lemmas) else None
        ref.modifiers = [h.key for h in hits if h is not head]
        heads = self.library.head_candidates(lemmas[-1])
        if head is not None:
            single_word = head.end - head.start == 1
            if head.how == "synonym" and single_word and heads:
                ref.candidates = [(head.key, 1)] + [(k, 0) for k in heads if k != head.key]
                ref.matched = head.name
            else:
                ref.name, ref.pattern, ref.how, ref.matched = head.key, head.key, head.how, head.name
        elif heads:
            ref.candidates = [(k, 0) for k in heads]
            ref.matched = lemmas[-1]
        return ref

    def settle(self, refs: dict[int, Referent], parsed: ParsedIntent, order: list[int]) -> None:
        """Choose among candidate patterns by the entities around them; then similarity; then nouns."""
        known = {r.pattern for r in refs.values() if r.pattern and r.strong}
        mentioned = (
            known | {m for r in refs.values() for m in r.modifiers} | {r.pattern for r in refs.values() if r.pattern}
        )
        linked: dict[int, set[str]] = {}
        for link in parsed.links:
            for a, b in ((link.source, link.target), (link.target, link.source)):
                other = refs.get(b.id)
                if other is not None and other.pattern:
                    linked.setdefault(a.id, set()).add(other.pattern)
        for pid in order:
            ref = refs[pid]
            if ref.name is None and ref.candidates:
                self._by_context(ref, known, mentioned, linked.get(pid, set()))
                if ref.pattern and ref.strong:
                    known.add(ref.pattern)
        self._by_similarity([refs[pid] for pid in order if refs[pid].name is None and refs[pid].promotable])
        # 'each page is of a template type', 'each load is recorded as a haul cycle': what a thing is, not a value
        named = {k.target.id for k in parsed.links if k.verb.startswith("be ") or k.verb.endswith(" as")}
        for pid in order:
            ref = refs[pid]
            if ref.name is None and ref.promotable and (pid in named or not one_value(ref.phrase)):
                self._as_noun(ref)
        nouns = {r.name for r in refs.values() if r.how == "noun" and r.name}
        for pid in order:
            ref = refs[pid]
            if ref.name is None and ref.phrase.role not in ("item", "product", "audience"):
                words = noun_words(ref.phrase)
                name = "_".join(words)
                if name in nouns:
                    ref.name, ref.how, ref.matched = name, "noun", " ".join(words)

    def _by_context(self, ref: Referent, known: set[str], mentioned: set[str], linked: set[str]) -> None:
        best: tuple[int, int, int] | None = None
        choice = ""
        for index, (key, exact) in enumerate(ref.candidates):
            related = sum(1 for k in known if k != key and self.library.related(key, k) is not None)
            direct = sum(1 for k in linked if self.library.related(key, k) is not None)
            score = related + direct + (1 if key in mentioned else 0)
            rank = (score, exact, -index)
            if best is None or rank > best:
                best, choice = rank, key
        if best is None or (best[0] == 0 and best[1] == 0):
            return
        ref.name = ref.pattern = choice
        ref.how = "synonym" if best[1] else "pattern"
        ref.score = float(best[0])
        ref.matched = f"{ref.matched} (by context)" if best[0] else ref.matched

    def _by_similarity(self, refs: list[Referent]) -> None:
        """The nearest pattern by meaning for each phrase, all phrases embedded in one batch."""
        asked = [(r, " ".join(noun_words(r.phrase))) for r in refs]
        asked = [(r, phrase) for r, phrase in asked if phrase]
        if self.embedder is None or not asked:
            return
        found = self.library.nearest_many(
            [(phrase, frozenset(r.modifiers)) for r, phrase in asked], self.embedder, self.threshold
        )
        for (ref, _), hit in zip(asked, found, strict=True):
            if hit is not None:
                ref.name = ref.pattern = hit.pattern.key
                ref.how, ref.score, ref.matched = "similarity", hit.score, hit.name

    def _as_noun(self, ref: Referent) -> None:
        """The phrase's own words as a new entity; not a value ('a trip runs at a scheduled departure time')."""
        words = noun_words(ref.phrase)
        one_of_many = (ref.phrase.each or ref.phrase.one) and not ref.phrase.generic  # 'each lot', 'one report'
        vague = words and words[-1] in GENERIC_NOUNS and not ref.phrase.specific and not one_of_many
        vague = vague and not ref.phrase.kept_product_word  # 'for one or more services'
        nouns = [t for t in ref.phrase.tokens if t.tag == "NOUN"]
        written_short = bool(nouns) and re.fullmatch(r"[A-Z]{2}s?", nouns[-1].text) is not None  # 'CLs', 'a PR'
        if not words or vague or (len(words[-1]) < 3 and not written_short):
            return
        if words[-1] in PRODUCT_HEADS and not ref.phrase.plural and not ref.phrase.each:
            return  # 'a booking app' is the product; 'applicants submit applications' are things it keeps
        try:
            ref.name = safe_identifier(" ".join(words))
        except InvalidInputError:
            return
        ref.how = "noun"
        ref.matched = " ".join(words)


_VALUE_TYPES = frozenset({"date", "datetime", "time", "decimal", "enum", "bool"})
"""Types of values that are measured or chosen, never kept as things of their own in the singular."""


def one_value(p: NounPhrase) -> bool:
    """Whether a phrase names one value ('a scheduled departure time', 'their certification level', 'setting
    depth'): singular, not one of many ('each level' is a thing), its words typed as a date, time, measure or
    choice. A plural ('tee times', 'levels') or counted one can still be a thing of its own."""
    if p.plural or p.many or p.each or p.one or p.pronoun or not p.tokens or p.role in ("owner", "subject"):
        return False  # 'a review cycle has a start date', 'each review belongs to one review cycle': things
    return infer_attribute(" ".join(p.lemmas).lower()).type in _VALUE_TYPES


def noun_words(p: NounPhrase) -> list[str]:
    """The naming words of a phrase: its nouns in the singular, without adjectives or numbers; at most two."""
    tokens = p.tokens
    joined = [n for n, t in enumerate(tokens) if t.lower in ("and", "or")]
    if joined:
        tokens = tokens[joined[-1] + 2 :]  # 'morning and afternoon shifts': the joined words qualify the shifts
    words = [t.lemma for t in tokens if t.tag == "NOUN" and re.fullmatch(r"[a-z][a-z_]*", t.lemma)]
    lowers = [t.lower for t in tokens]
    if "of" in lowers and words:  # 'episode of care', 'bill of lading': the words from the last noun before 'of'
        first = lowers.index("of")
        before = [t.lemma for t in tokens[:first] if t.tag == "NOUN"]
        after = [t.lemma for t in tokens[first + 1 :] if t.tag == "NOUN"]
        return [*before[-1:], "of", *after[-2:]] if before and after else words[-2:]
    if len(words) > 1 and words[0] in WEEKDAYS:
        words = words[1:]  # 'the Saturday sessions' are sessions held on a day
    return words[-2:]
