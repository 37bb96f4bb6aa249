"""Noun phrases from tagged tokens: runs of adjectives and nouns ending in a noun, with what leads them.

"many line items", "each blast hole", "date of birth" and "episode of care" are one phrase each; "rentals of
vehicles" is two. The phrase objects are made by the caller (generators.intent_parser), which numbers them.
"""

from __future__ import annotations

from typing import Protocol

from generators.intent_phrases import NounPhrase
from generators.language import Token, is_many
from generators.lexicon import SINGLE_WORDS, words

__all__ = ["Item", "PhraseMaker", "chunk"]

Item = NounPhrase | Token
_KINDS = words("kind type sort")
"""Heads that say what their 'of' phrase is a kind of: 'caravans and tents are kinds of unit'."""
_MEASURES = words("number count amount quantity total")
"""Heads that keep a plural after 'of' in their phrase: 'number of seats'."""
_TIMES_OF = words("morning afternoon evening night day weekday weekend summer winter spring autumn")
"""Nouns that say when a thing happens and may be joined before it: 'morning and afternoon shifts'."""


class PhraseMaker(Protocol):
    def __call__(
        self, tokens: list[Token], position: int, *, many: bool = ..., single: bool = ..., pronoun: str = ...
    ) -> NounPhrase: ...


def chunk(tokens: list[Token], phrase_of: PhraseMaker) -> list[Item]:
    """Group runs of adjectives and nouns ending in a noun (with the determiners before them) into phrases."""
    items: list[Item] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and (
            tokens[j].tag in ("DET", "MANY", "NUM")
            or _between_counts(tokens, j)
            or _of(tokens, i, j)
            or _bound(tokens, i, j)
            or _any_number(tokens, i, j)
            or _more_than(tokens, i, j)
        ):
            j += 1
        k = _joined_modifiers(tokens, j)
        while k < len(tokens) and tokens[k].tag == "ADJ":
            k += 1
        while k < len(tokens) and tokens[k].tag == "NOUN":
            k += 1
        while k > j and tokens[k - 1].tag != "NOUN":
            k -= 1
        if k > j:
            lead = tokens[i:j]
            # "date of birth", "episode of care", "number of seats": one phrase; "rentals of vehicles" two
            while k + 1 < len(tokens) and tokens[k].lower == "of" and tokens[k + 1].tag == "NOUN":
                if tokens[k - 1].lemma in _KINDS:
                    break  # 'kinds of unit', 'a type of room': the kind and the thing are two phrases
                end = k + 1
                while end < len(tokens) and tokens[end].tag == "NOUN":
                    end += 1
                if tokens[end - 1].plural and tokens[k - 1].lemma not in _MEASURES:
                    break
                k = end
            words = tokens[j:k]
            # 'one of the two signal boxes': the count before 'of' is how many, not the count of the whole
            counting = lead[: next((m for m, t in enumerate(lead) if t.lower == "of"), len(lead))]
            # 'one of our rooms', 'a single supplier'; not 'one or more rooms', 'one to three rooms'
            ranged = any(t.lower in ("or", "to", "more") for t in lead)
            single = _single(lead + words[:1]) and not ranged
            phrase = phrase_of(words, j, many=is_many(counting), single=single)
            phrase.each = any(t.lower in ("each", "every") for t in lead)
            phrase.one = any(t.lower in ("one", "single") for t in lead) and not ranged
            phrase.ours = any(t.lower == "our" for t in lead)
            phrase.mine = any(t.lower == "my" for t in lead)
            phrase.theirs = any(t.lower in ("their", "his", "her", "its") for t in lead)
            # 'the council's parking team': what a possessive owns is a definite thing, as after 'the'
            phrase.definite = any(t.lower == "the" for t in lead) or (i > 0 and tokens[i - 1].tag == "POS")
            phrase.other = any(t.lower in ("other", "another") for t in lead)
            items.append(phrase)
            i = k
        elif tokens[i].tag == "PRON":
            items.append(phrase_of([], i, pronoun=tokens[i].lower))
            i += 1
        else:
            items.append(tokens[i])
            i += 1
    return items


def _of(tokens: list[Token], i: int, j: int) -> bool:
    """'one of our treatment rooms', 'each of the players': 'of' after a count leads the phrase with it."""
    counted = j > i and tokens[j - 1].tag in ("NUM", "MANY", "DET") and tokens[j - 1].lower not in ("a", "an", "the")
    return counted and tokens[j].lower == "of" and j + 1 < len(tokens) and tokens[j + 1].tag in ("DET", "ADJ", "NOUN")


def _single(lead: list[Token]) -> bool:
    return any(t.lower in SINGLE_WORDS for t in lead)


_COUNTS = ("MANY", "NUM")


def _between_counts(tokens: list[Token], j: int) -> bool:
    """'one or more proofs', 'two to four players': a range of counts leads one phrase."""
    return (
        tokens[j].lower in ("or", "to")
        and 0 < j < len(tokens) - 1
        and tokens[j - 1].tag in _COUNTS
        and tokens[j + 1].tag in _COUNTS
    )


_BOUNDS = words("least most")


def _bound(tokens: list[Token], i: int, j: int) -> bool:
    """'at least two jurors', 'at most three guests', 'up to four players': a bound on a count leads its phrase."""
    if j + 2 < len(tokens) and (tokens[j].lower, tokens[j + 1].lower) == ("up", "to"):
        return tokens[j + 2].tag in _COUNTS
    if j > i and (tokens[j - 1].lower, tokens[j].lower) == ("up", "to"):
        return j + 1 < len(tokens) and tokens[j + 1].tag in _COUNTS
    if j + 2 < len(tokens) and tokens[j].lower == "at" and tokens[j + 1].lower in _BOUNDS:
        return tokens[j + 2].tag in _COUNTS
    if j > i and tokens[j].lower in _BOUNDS and tokens[j - 1].lower == "at":
        return j + 1 < len(tokens) and tokens[j + 1].tag in _COUNTS
    return False


def _more_than(tokens: list[Token], i: int, j: int) -> bool:
    """'used on more than one course', 'fewer than ten seats': a comparison with a count leads its phrase."""
    compared = j > i and tokens[j].lower == "than" and tokens[j - 1].lower in ("more", "fewer", "less")
    return compared and j + 1 < len(tokens) and tokens[j + 1].tag in _COUNTS


def _any_number(tokens: list[Token], i: int, j: int) -> bool:
    """'join any number of societies': 'any number of' counts the plural after it, as 'many' does."""
    if j > i and tokens[j].lower == "number" and tokens[j - 1].lower == "any":
        return j + 2 < len(tokens) and tokens[j + 1].lower == "of" and tokens[j + 2].tag in ("NOUN", "ADJ", "DET")
    return j > i + 1 and tokens[j].lower == "of" and tokens[j - 1].lower == "number" and tokens[j - 2].lower == "any"


def _joined_modifiers(tokens: list[Token], j: int) -> int:
    """Where a noun's qualifying words go on when two are joined by 'and' or 'or' before it: 'early and late shifts',
    'morning and afternoon shifts' are shifts. Other nouns before 'and' are things of their own ('customers and staff
    members'). Else j."""
    k = j
    while k < len(tokens) and tokens[k].tag == "ADJ":
        k += 1
    if k == j and not (k < len(tokens) and tokens[k].tag == "NOUN" and tokens[k].lower in _TIMES_OF):
        return j
    after = k + (k == j)  # past the adjectives, or past the one time word
    if after + 2 >= len(tokens) or tokens[after].lower not in ("and", "or"):
        return j
    second = tokens[after + 1]
    joined = second.tag == "ADJ" if k > j else second.tag == "NOUN" and second.lower in _TIMES_OF
    then_noun = tokens[after + 2].tag in ("ADJ", "NOUN")
    return after + 1 if joined and then_noun else j
