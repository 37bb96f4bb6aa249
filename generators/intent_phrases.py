"""What the intent parser finds in a sentence: noun phrases, the links between them and has-lists.

Plain data with the few properties the analyst asks of a phrase (its head, whether it is plural,
generic or narrowed by a domain noun); the parsing itself is in generators.intent_parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from generators.language import Token, same_in_plural
from generators.lexicon import GENERIC_NOUNS, PRODUCT_HEADS, SOFTWARE_HEADS, WEEKDAYS, words

__all__ = ["GENERIC_PRONOUNS", "HasList", "Link", "LinkKind", "NounPhrase", "ParsedIntent", "Role"]

Role = Literal["subject", "object", "listed", "owner", "item", "attached", "aside", "product", "audience", "other"]
LinkKind = Literal["verb", "belongs", "passive", "with", "card"]
GENERIC_PRONOUNS = words("we you i us everyone everybody anyone anybody someone")
_NEVER_ONE_OF_MANY = (
    words(
        "time day week fortnight month quarter year hour minute morning afternoon evening night weekend weekday "
        "period date tenant multitenant data information info detail thing stuff way"
    )
    | WEEKDAYS
)
"""Generic words that stay generic even after 'each': 'every day', 'each tenant', 'every detail'."""


_UNITS = words("team department office desk unit")
"""Units of an organisation: 'the maintenance team reconciles ...' names who does the work, not a record."""


@dataclass
class NounPhrase:
    """A run of nouns with what came just before it ('many', 'a', 'each') and its place in the sentence."""

    id: int
    tokens: list[Token]
    sentence: int
    position: int
    many: bool = False
    single: bool = False
    role: Role = "other"
    pronoun: str = ""
    each: bool = False
    """Whether 'each' or 'every' leads it: then it is one of many things, never the product itself."""
    one: bool = False
    """Whether 'one' or 'single' counts it: 'for one candidate', 'a single supplier'."""
    ours: bool = False
    """Whether 'our' leads it: 'our counselling practice', 'our catalogue'."""
    mine: bool = False
    """Whether 'my' leads it: in a user story, 'download deliverables for my sites' names the role's own things."""
    theirs: bool = False
    """Whether 'their', 'his' or 'her' leads it: 'parents enrol their children' names the subject's own things."""
    definite: bool = False
    """Whether 'the' leads it: 'the maintenance team' is a unit of the organisation that runs the service."""
    other: bool = False
    """Whether 'other' or 'another' leads it: 'users follow other users' relates a thing to its own kind."""
    operator: bool = False
    """Whether it names the organisation that runs the service ('We are a small law practice', 'Our
    counselling practice sees clients'): like the product, never an entity."""
    named_by_pattern: bool = False
    """Whether its head word is used by a pattern name (then 'users' or 'teams' are domain words)."""

    @property
    def place_name(self) -> bool:
        """Whether it is a proper name written inside a sentence: 'the Cotswolds', 'the Llangollen Canal', 'Leeds'
        (every word capitalised, none all capitals as 'GP' or 'MOT' are)."""
        words = [t.text for t in self.tokens]
        return bool(words) and self.position > 0 and all(w[:1].isupper() and not w.isupper() for w in words)

    @property
    def lemmas(self) -> list[str]:
        return [t.lemma for t in self.tokens]

    @property
    def text(self) -> str:
        return " ".join(t.text for t in self.tokens)

    @property
    def plural(self) -> bool:
        head = self._head_token
        if head is not None and head.tag == "NOUN" and same_in_plural(head.lower):
            return not (self.single or self.each or self.one)  # 'each collection has series'
        return head is not None and head.plural

    @property
    def head(self) -> str:
        head = self._head_token
        return head.lemma if head is not None else ""

    @property
    def _head_token(self) -> Token | None:
        """The last noun, or the last before 'of' ('a number of guests' is one number)."""
        lowers = [t.lower for t in self.tokens]
        words = self.tokens[: lowers.index("of")] if "of" in lowers[1:] else self.tokens
        return words[-1] if words else None

    @property
    def generic(self) -> bool:
        """The platform, its audience or a pronoun such as 'we': never the subject of a domain relationship."""
        if self.operator:
            return True
        if self.unit:
            return True
        if self.pronoun:
            return self.pronoun in GENERIC_PRONOUNS
        if self.head in PRODUCT_HEADS and not self.plural and not self.each:
            return True  # 'a booking app' is the product; 'applicants submit applications' are not
        if self.kept_product_word:
            return False  # 'mechanics carry out services and repairs': things the product keeps
        if (self.each or self.one) and self.head not in PRODUCT_HEADS and self.head not in _NEVER_ONE_OF_MANY:
            return False  # 'each lot has a reserve price', 'produces one report': one of many things
        return self.head in GENERIC_NOUNS and not self.named_by_pattern and not self.specific

    @property
    def kept_product_word(self) -> bool:
        """A product word in the plural or counted, not software: 'services', 'one or more services', 'our sites'."""
        plural = self.plural or self.many
        return plural and self.head in PRODUCT_HEADS and self.head not in SOFTWARE_HEADS and not self.pronoun

    @property
    def unit(self) -> bool:
        """'the finance team', 'our service department': a unit of the operator (its people), not a record."""
        return (self.definite or self.ours) and not self.plural and self.head in _UNITS and len(self.tokens) > 1

    @property
    def specific(self) -> bool:
        """Whether a noun before the head narrows it to a thing of the domain: 'consent form', 'credit report'."""
        return any(t.tag == "NOUN" and t.lemma not in GENERIC_NOUNS for t in self.tokens[:-1])


@dataclass(frozen=True)
class Link:
    """A relationship the sentence states: source -verb-> target, with a cardinality when the words give one."""

    source: NounPhrase
    target: NounPhrase
    kind: LinkKind
    verb: str
    cardinality: str | None
    evidence: str


@dataclass(frozen=True)
class HasList:
    """'X has a, b and c': the owner and the items, which may be attributes or parts."""

    owner: NounPhrase
    items: tuple[NounPhrase, ...]
    verb: str
    evidence: str


@dataclass
class ParsedIntent:
    phrases: list[NounPhrase] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    has_lists: list[HasList] = field(default_factory=list)
    abbreviations: dict[str, NounPhrase] = field(default_factory=dict)
    """'a daily drilling report (DDR)': the phrase each abbreviation in a parenthesis stands for."""
    sentences: list[list[Token]] = field(default_factory=list)
    """The tagged words of each sentence, in order: a phrase's `sentence` and `position` index them."""
