"""Small, deterministic English helpers: cleaning, sentences, tokens, lemmas and word tags.

No model and no download: a handful of rules and the word lists of generators.lexicon are
enough for the short, plain sentences people write as intents. Unknown words read as nouns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generators.lexicon import (
    AUXILIARIES,
    CONJUNCTIONS,
    DETERMINERS,
    IRREGULAR_PAST,
    MANY_WORDS,
    NEGATIONS,
    NOT_PARTICIPLES,
    NOUNISH_VERBS,
    PREPOSITIONS,
    PRONOUNS,
    RELATIVES,
    VERBS,
    words,
)

__all__ = [
    "CARDINALITY_TOKENS",
    "Token",
    "clean_intent",
    "is_many",
    "sentences",
    "singular",
    "tag",
    "tokenize",
    "verb_base",
]

_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_CARDINALITY = re.compile(r"\b(one|many)[\s-]+to[\s-]+(one|many)\b", re.IGNORECASE)
CARDINALITY_TOKENS = {"one_to_many": "one-to-many", "many_to_one": "many-to-one", "many_to_many": "many-to-many"}
_MULTI_TENANT = re.compile(r"\bmulti[\s-]*tenan(t|cy|ted)\b", re.IGNORECASE)


def clean_intent(text: str) -> tuple[str, int]:
    """The intent with template syntax blanked out (it is never evaluated) and the number of spans removed."""
    cleaned, removed = _TEMPLATE.subn(" ", text)
    cleaned = cleaned.replace("{", " ").replace("}", " ")
    cleaned = _CARDINALITY.sub(lambda m: f" {m.group(1).lower()}_to_{m.group(2).lower()} ", cleaned)
    cleaned = _MULTI_TENANT.sub(" multitenant ", cleaned)
    return cleaned, removed


_SENTENCE_END = re.compile(r"(?<!\d)[.!?;]+(?!\d)|[.!?;]+(?=\s|$)|\n+")


def sentences(text: str) -> list[str]:
    """Split on sentence ends, semicolons and line breaks; decimals such as 99.9 stay whole."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:['’][A-Za-z]+)?|\d+(?:\.\d+)?|[,:()%&/]")


def tokenize(sentence: str) -> list[str]:
    """Words, numbers and the punctuation that matters; possessive 's is dropped, hyphens split words."""
    out = []
    for raw in _TOKEN.findall(sentence.replace("-", " ")):
        word = re.sub(r"['’]s$", "", raw)
        word = word.replace("’", "'")
        out.append(word)
    return out


# ---------------------------------------------------------------- lemmas

_IRREGULAR_SINGULAR = {
    "people": "person",
    "children": "child",
    "men": "man",
    "women": "woman",
    "feet": "foot",
    "teeth": "tooth",
    "mice": "mouse",
    "geese": "goose",
    "criteria": "criterion",
    "analyses": "analysis",
    "diagnoses": "diagnosis",
    "crises": "crisis",
    "theses": "thesis",
    "heroes": "hero",
    "potatoes": "potato",
    "tomatoes": "tomato",
    "echoes": "echo",
    "wives": "wife",
    "knives": "knife",
    "lives": "life",
    "shelves": "shelf",
    "halves": "half",
    "wolves": "wolf",
    "thieves": "thief",
    "loaves": "loaf",
    "calves": "calf",
    "quizzes": "quiz",
    "indices": "index",
    "caches": "cache",
    "niches": "niche",
    "movies": "movie",
    "cookies": "cookie",
    "calories": "calorie",
    "selfies": "selfie",
    "hoodies": "hoodie",
    "brownies": "brownie",
    "smoothies": "smoothie",
    "zombies": "zombie",
    "rookies": "rookie",
}
_UNCOUNTABLE = words(
    "news series species data information equipment software hardware feedback staff sms gps saas paas iaas "
    "chaos kudos ethos cosmos lens canvas atlas alias bias gas analytics logistics physics mathematics "
    "economics electronics goods premises this its was has does is us yes plus thus always perhaps whereas "
    "his hers ours yours"
)


def singular(word: str) -> str:
    """The singular of an English noun (lowercase): invoices -> invoice, categories -> category, people -> person."""
    w = word.lower()
    if w in _IRREGULAR_SINGULAR:
        return _IRREGULAR_SINGULAR[w]
    if len(w) <= 3 or w in _UNCOUNTABLE or not w.endswith("s") or w.endswith(("ss", "us", "is")):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("sses") or w.endswith(("xes", "ches", "shes", "zzes")):
        return w[:-2]
    if w.endswith("uses") and w[-5] not in "aeiou":
        return w[:-2]
    return w[:-1]


def verb_base(word: str) -> str | None:
    """The base form of a known verb in any of its forms (registers, booked, paying -> register, book, pay)."""
    w = word.lower()
    if w in VERBS:
        return w
    if w in IRREGULAR_PAST:
        return IRREGULAR_PAST[w]
    if w in ("has", "having"):
        return "have"
    candidates: list[str] = []
    if w.endswith("ies"):
        candidates.append(w[:-3] + "y")
    if w.endswith("es"):
        candidates.append(w[:-2])
    if w.endswith("s"):
        candidates.append(w[:-1])
    if w.endswith("ied"):
        candidates.append(w[:-3] + "y")
    if w.endswith("ed"):
        candidates += [w[:-1], w[:-2], w[:-3]]
    if w.endswith("ing"):
        candidates += [w[:-3], w[:-3] + "e", w[:-4]]
    for c in candidates:
        if c in VERBS:
            return c
    return None


def _is_third_person(word: str) -> bool:
    return word.endswith("s") and not word.endswith("ss")


def _is_participle(word: str) -> bool:
    return (word.endswith("ed") and word not in NOT_PARTICIPLES and len(word) > 4) or word in IRREGULAR_PAST


# ---------------------------------------------------------------- tags


@dataclass(frozen=True)
class Token:
    """One word of a sentence with its coarse tag and lemma.

    Tags: DET, MANY, PREP, CONJ, REL, PRON, AUX, NEG, VERB, NOUN, NUM, CARD (a cardinality such as
    one_to_many), COMMA, COLON, PUNCT.
    """

    text: str
    lower: str
    tag: str
    lemma: str

    @property
    def plural(self) -> bool:
        return self.tag == "NOUN" and self.lemma != self.lower


def _closed_class(w: str) -> str | None:
    if w in CARDINALITY_TOKENS:
        return "CARD"
    if w == ",":
        return "COMMA"
    if w == ":":
        return "COLON"
    if not w[0].isalnum():
        return "PUNCT"
    if w[0].isdigit():
        return "NUM"
    for tag_name, members in (
        ("MANY", MANY_WORDS),
        ("DET", DETERMINERS),
        ("NEG", NEGATIONS),
        ("AUX", AUXILIARIES),
        ("CONJ", CONJUNCTIONS),
        ("REL", RELATIVES),
        ("PRON", PRONOUNS),
        ("PREP", PREPOSITIONS),
    ):
        if w in members:
            return tag_name
    return None


def tag(words: list[str], pattern_words: frozenset[str] = frozenset()) -> list[Token]:
    """Tag the words of one sentence; `pattern_words` are words the pattern library uses as nouns.

    A word that can be a verb is read as one where English needs a verb: after a noun that agrees
    with it ('owners register', 'a visit records'), after a modal or 'to', or after 'and' in a
    sentence that already has a verb of the same form, and before what could be its object.
    """
    lowers = [w.lower() for w in words]
    tags: list[str | None] = [_closed_class(w) for w in lowers]
    # "that" after a noun starts a clause; elsewhere it is a determiner
    for i, w in enumerate(lowers):
        if w == "that" and (i == 0 or tags[i - 1] is not None):
            tags[i] = "DET"
        if w == "to" and i + 1 < len(lowers) and tags[i + 1] is None and lowers[i + 1] in VERBS:
            tags[i] = "TO"
    out: list[Token] = []
    seen_verb_forms: set[str] = set()
    for i, w in enumerate(lowers):
        t = tags[i]
        if t is not None:
            out.append(Token(words[i], w, t, w))
            continue
        base = verb_base(w)
        if base is not None and _reads_as_verb(i, w, base, out, lowers, tags, pattern_words, seen_verb_forms):
            form = "s" if _is_third_person(w) and w != base else ("ed" if _is_participle(w) else "base")
            seen_verb_forms.add(form)
            out.append(Token(words[i], w, "VERB", base))
            continue
        out.append(Token(words[i], w, "NOUN", singular(w)))
    return out


def _object_follows(i: int, lowers: list[str], tags: list[str | None]) -> bool:
    if i + 1 >= len(lowers):
        return False
    nxt = tags[i + 1]
    return nxt in (None, "DET", "MANY", "PREP", "NUM", "PRON", "CARD") or lowers[i + 1] in ("up", "out")


def _reads_as_verb(
    i: int,
    w: str,
    base: str,
    before: list[Token],
    lowers: list[str],
    tags: list[str | None],
    pattern_words: frozenset[str],
    seen_forms: set[str],
) -> bool:
    ambiguous = base in NOUNISH_VERBS or w in pattern_words or singular(w) in pattern_words
    prev = before[-1] if before else None
    third, participle, gerund = _is_third_person(w) and w != base, _is_participle(w), w.endswith("ing")
    if participle and prev is not None and prev.tag == "AUX":
        return True
    if not _object_follows(i, lowers, tags) and (ambiguous or prev is None or prev.tag in ("DET", "PREP")):
        return False
    if prev is None:
        return not ambiguous and not third
    if prev.tag in ("AUX", "TO", "NEG"):
        return not third or prev.lower in ("does",)
    if prev.tag == "REL":
        return True
    if prev.tag == "PRON":
        return prev.lower not in ("what",)
    if prev.tag == "NOUN":
        if third:
            return not prev.plural
        if gerund:
            return prev.plural and not ambiguous
        if participle:
            return not ambiguous or _object_follows(i, lowers, tags)
        return prev.plural or prev.lower in ("who",)
    if prev.tag in ("CONJ", "COMMA"):
        form = "s" if third else ("ed" if participle else "base")
        if gerund:
            return not ambiguous
        compound = ambiguous and i + 2 < len(lowers) and tags[i + 1] is None and tags[i + 2] is None
        if compound and verb_base(lowers[i + 2]) is not None:
            return False  # "and invoice recipients pay ...": a compound subject, not a verb
        return bool(seen_forms) and form in seen_forms and (not ambiguous or _next_is_noun(i, lowers, tags))
    if prev.tag == "PREP":
        return gerund and prev.lower in ("for", "by", "of", "about")
    return False


def _next_is_noun(i: int, lowers: list[str], tags: list[str | None]) -> bool:
    return i + 1 < len(lowers) and tags[i + 1] in (None, "DET", "MANY", "PRON")


def is_many(tokens: list[Token]) -> bool:
    """Whether a quantifier in these tokens says 'many': many, multiple, several, one or more."""
    text = " ".join(t.lower for t in tokens)
    return any(t.tag == "MANY" for t in tokens) or "or more" in text or "any number" in text
