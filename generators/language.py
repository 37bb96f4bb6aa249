"""English for the analyst: cleaning, sentences, tokens, part-of-speech tags and lemmas.

The tags come from Pattern's English tagger (a lexicon, morphology and context rules that ship
inside the TextBlob package), the lemmas and each word's possible parts of speech from
lemminflect's dictionary (also inside its package): nothing is downloaded. On top of them sit
two rules of grammar that a tagger trained on news text misses in the short sentences of an
intent: a noun-or-verb word between a subject and its object is a verb ('guests reserve rooms',
'each visit records treatments'), and a word that closes a list of nouns is a noun ('imports and
selects').
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cache

from lemminflect import getAllLemmas, getInflection, getLemma

from generators.lexicon import HAVE_VERBS, LET_VERBS, MANY_WORDS, PERIODS, RECORDING_VERBS, words

__all__ = [
    "CARDINALITY_TOKENS",
    "Token",
    "clean_intent",
    "in_tagger_lexicon",
    "is_many",
    "is_word",
    "lexicon_tag",
    "proper_name",
    "same_as_participle",
    "sentences",
    "singular",
    "tag",
    "tokenize",
    "unknown_plurals",
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
_WRAPPED = re.compile(r"(?<=[^\s.!?;:])[ \t]*\n[ \t]*(?=[a-z(])|(?<=[,])[ \t]*\n[ \t]*(?=[^\s\-*•\d])")
"""A line break inside a sentence: a wrapped line goes on in lowercase, or after a comma, without a bullet."""
_WRAPPED_AFTER = re.compile(
    r"(?<![\w-])((?i:a|an|the|each|every|and|or|of|with|for|to|in|on|at|by|from|per|its|their|our|my))"
    r"[ \t]*\n[ \t]*(?=[^\s\-*•\d])"
)
"""A line break after a word no sentence ends with ('assign a\nCVSS score'): the sentence goes on."""
_WRAPPED_LONG = re.compile(r"(?m)^(?![ \t]*[-*•\d])([^\n]{70,}[^\s.!?;:,])[ \t]*\n[ \t]*(?=[A-Z][a-z])")
"""A line break after a long line that ends no sentence, before a capitalised word ('see it in my Google\nCalendar'):
prose wrapped at its width, where a list puts each item, short or bulleted, on a line of its own."""


_ABBREVIATED = re.compile(r"\b(e\.g|i\.e|etc|vs|approx|incl|dr|mr|mrs|ms)\.(?=[\s,;:)]|$)", re.IGNORECASE)
"""Abbreviations whose full stop ends no sentence: 'a collection (e.g. Victorian, Sci-Fi)', 'chairs, sofas etc.'"""
_INITIAL = re.compile(r"\b([A-Z])\.(?=\s+[a-z])")
"""A capital's full stop before a lowercase word: 'E. coli'."""


def sentences(text: str) -> list[str]:
    """Split on sentence ends, semicolons, bullets and blank lines; wrapped lines, decimals (99.9) and
    abbreviations ('e.g.', 'E. coli') stay whole."""
    text = _ABBREVIATED.sub(lambda m: m.group(1).replace(".", ""), text)
    text = _INITIAL.sub(r"\1", text)
    text = _WRAPPED_AFTER.sub(r"\1 ", text)
    text = _WRAPPED_LONG.sub(r"\1 ", text)
    return [s.strip() for s in _SENTENCE_END.split(_WRAPPED.sub(" ", text)) if s and s.strip()]


_TOKEN = re.compile(
    r"[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9]+)*(?:['’][A-Za-z]+|(?<=s)['’](?!\w))?|\d+(?:\.\d+)?|[,:()%&/]"
)


_QUOTED = re.compile(r"(?<!\w)['‘]([^'‘’\n]{1,40})['’](?!\w)")
_SHORTHAND = re.compile(r"(?<![\w/])w/(o)?(?=[\s\w])", re.IGNORECASE)
"""'w/' and 'w/o', the shorthand for 'with' and 'without'."""

_ABBREVIATIONS = {
    "appt": "appointment", "appts": "appointments", "hrs": "hours", "txt": "text", "msg": "message",
    "msgs": "messages", "qty": "quantity", "dept": "department", "depts": "departments", "mgr": "manager",
    "acct": "account", "accts": "accounts", "diff": "different", "approx": "about", "reqs": "requests",
}  # fmt: skip
"""Informal shorthand people type ('appt has services', 'log hrs on each job'): the word it stands for."""
_DROPPED = words("etc")
"""A word that closes a list of examples and names nothing ('chairs, sofas etc')."""

_CONTRACTIONS = {"d": "would", "ll": "will", "re": "are", "ve": "have", "m": "am"}
"""What a contracted auxiliary stands for: "we'd", "they'll", "we're", "I've", "I'm"."""
_CONTRACTED = words("it that there here what who where he she let")
"""Words whose 's is 'is' or 'us' ('it's', 'let's'), never a possessive."""


def tokenize(sentence: str) -> list[str]:
    """Words, numbers and the punctuation that matters; a possessive 's is a word of its own ('the member 's
    plan'), a plural's bare apostrophe is dropped; 'check-in' is one word."""
    out = []
    sentence = _unaccented(sentence)  # 'Cafés order bags': one word, as 'cafes'
    sentence = _QUOTED.sub(r"\1", sentence)  # "the 'items' list": quotes, not a possessive
    sentence = _SHORTHAND.sub(lambda m: " without " if m.group(1) else " with ", sentence)  # 'w/ hygienists'
    for raw in _TOKEN.findall(re.sub(r"\s[-–—]+\s", " : ", sentence)):  # 'coffee shop loyalty - customers get
        if raw.lower() == "im":  # 'im a self employed sparky': "I'm" typed without its apostrophe
            out += ["i", "am"]
            continue
        contraction = re.search(r"['’](d|ll|re|ve|m)$", raw, re.IGNORECASE)
        if contraction:  # "We'd like to record ...": the pronoun and its auxiliary
            out += [raw[: contraction.start()], _CONTRACTIONS[contraction.group(1).lower()]]
            continue
        possessive = re.search(r"['’]s?$", raw)
        word = raw[: possessive.start()] if possessive else raw
        word = word.replace("’", "'").replace("-", "_")
        if word.lower() in _DROPPED:
            continue
        word = _ABBREVIATIONS.get(word.lower(), word)
        if word:
            out.append(word)
            if possessive and possessive.group(0)[1:] == "s" and word.lower() not in _CONTRACTED:
                out.append("'s")
            elif possessive and word.lower().endswith("s") and singular(word) != word.lower():
                out.append("'s")  # "members' names": the possessive of a plural
    return out


def _unaccented(text: str) -> str:
    """Letters without their accents ('café' -> 'cafe', 'naïve' -> 'naive'): a word with an accent is still one word."""
    if text.isascii():
        return text
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)


# ---------------------------------------------------------------- lemmas

_SINGULAR_ONLY = words("saas paas iaas analytics kubernetes postgres")
"""Product words that end in -s and that no English dictionary lists."""


@cache
def _parts_of_speech(word: str) -> dict[str, tuple[str, ...]]:
    """lemminflect's lemmas of a word for each part of speech it can be (NOUN, VERB, ADJ, ...)."""
    return dict(getAllLemmas(word))


@cache
def singular(word: str) -> str:
    """The singular of an English noun, lowercase: invoices -> invoice, categories -> category, people -> person."""
    w = word.lower()
    if "_" in w:
        head, _, last = w.rpartition("_")
        return f"{head}_{singular(last)}"
    if w == "people":
        return "person"  # the dictionary lists it as a word of its own
    nouns = _parts_of_speech(w).get("NOUN")
    if nouns:
        return nouns[0]
    if len(w) <= 3 or w in _SINGULAR_ONLY or not w.endswith("s") or w.endswith(("ss", "us", "is")):
        return w
    return getLemma(w, upos="NOUN", lemmatize_oov=True)[0]


@cache
def same_in_plural(word: str) -> bool:
    """Whether a noun's plural is the word itself and ends as plurals do ('series', 'species'; not a mass noun such
    as 'maintenance'): then only a determiner such as 'a' or 'each' says it is one."""
    forms = getInflection(word.lower(), "NNS")
    return word.endswith("s") and bool(forms) and forms[0] == word.lower()


@cache
def _verb_lemma(word: str) -> str:
    return getLemma(word.lower(), upos="VERB", lemmatize_oov=True)[0]


def _verb_form(word: str) -> bool:
    """Whether the dictionary knows a word only as a verb's form and never as a noun: 'has', 'have', 'fired',
    'employed' ('the alert that fired', 'one client, has signed terms'). The -s forms of verbs are left out: a noun
    the dictionary lacks ('templates', 'logs', 'overrides') is spelt the same."""
    readings = _parts_of_speech(word)
    verb = "AUX" in readings or ("VERB" in readings and word.endswith("ed"))
    return verb and "NOUN" not in readings


def _can_be(word: str, upos: str) -> bool:
    return upos in _parts_of_speech(word)


def is_word(word: str, upos: str = "") -> bool:
    """Whether the dictionary knows the word (as the part of speech `upos`, when one is given)."""
    return _can_be(word, upos) if upos else bool(_parts_of_speech(word))


# ---------------------------------------------------------------- tags


@dataclass(frozen=True)
class Token:
    """One word of a sentence with its coarse tag, its lemma and its Penn Treebank tag.

    Tags: DET, MANY, ADJ, ADV, PREP, PART, CONJ, REL, PRON, AUX, NEG, TO, VERB, NOUN, NUM,
    CARD (a cardinality such as one_to_many), POS (a possessive 's), COMMA, COLON, PUNCT.
    """

    text: str
    lower: str
    tag: str
    lemma: str
    penn: str = ""

    @property
    def plural(self) -> bool:
        return self.tag == "NOUN" and self.lemma != self.lower


_PENN = {
    "CC": "CONJ",
    "CD": "NUM",
    "DT": "DET",
    "PDT": "DET",
    "PRP$": "DET",
    "WP$": "DET",
    "EX": "PRON",
    "PRP": "PRON",
    "WP": "REL",
    "WDT": "REL",
    "WRB": "REL",
    "MD": "AUX",
    "TO": "TO",
    "IN": "PREP",
    "RP": "PART",
    "JJ": "ADJ",
    "JJR": "ADJ",
    "JJS": "ADJ",
    "RB": "ADV",
    "RBR": "ADV",
    "RBS": "ADV",
    "UH": "ADV",
}
_NEGATIONS = words("not never cannot without n't dont don't doesnt doesn't")
_RELATIVE_PRONOUNS = words("that which who")
_SUBORDINATORS = words("if because while once so when whenever where whether unless until")
_QUANTITY_PRONOUNS = words(
    "everyone everybody anyone anybody someone somebody nobody something anything everything nothing what ones"
)
_DETERMINER_WORDS = words("each every all any some no both either neither another other own")
_AUXILIARY_LEMMAS = words("be do")
_GET = words("get gets got")
_DURATION = re.compile(
    r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|fifty|hundred|half)"
    r"_(year|month|week|day|night|hour|minute|second|mile|metre|meter|kilometre|km|litre|person|seat|bed|room)s?"
)
"""A number joined to a unit by a hyphen: 'ten-year', '3-day', 'two-night', '5-seat'."""
_BE_FORMS = words("is are was were be been being")
_NOUN_ADJ = ("NOUN", "ADJ")
_NOUN_PHRASE_START = frozenset({"DET", "NOUN", "ADJ", "PRON", "NUM", "MANY"})
_WHEN = PERIODS | words("season morning evening")
"""Periods after 'each' or 'every' that say when: 'each quarter citizens are picked', 'every morning cleaners ...'."""


def _coarse(lower: str, penn: str, previous: str | None) -> str:
    """The coarse tag of a word from its Penn tag, with the function words an intent's grammar needs apart."""
    if lower in CARDINALITY_TOKENS:
        return "CARD"
    if lower in (",", ":"):
        return "COMMA" if lower == "," else "COLON"
    if lower == "'s":
        return "POS"
    if not lower[0].isalnum():
        return "PUNCT"
    if _DURATION.fullmatch(lower):
        return "ADJ"  # 'a ten-year guarantee', 'two-week seasons': how long, not a kind of thing
    if lower[0].isdigit():
        return "NUM"
    if lower in MANY_WORDS:
        return "MANY"
    if lower in _NEGATIONS:
        return "NEG"
    if lower == "that":
        return "REL" if previous in ("NOUN", "PRON") else "DET"
    if lower in _SUBORDINATORS:
        return "REL"
    if lower == "eg":
        return "PREP"  # 'stages (e.g. draft, review)': 'e.g.' leads examples, as 'such as' and 'including' do
    if lower in _QUANTITY_PRONOUNS:
        return "PRON"
    if lower in _DETERMINER_WORDS:
        return "DET"
    if penn.startswith("VB"):
        return "AUX" if lower in _GET or _verb_lemma(lower) in _AUXILIARY_LEMMAS else "VERB"
    return _PENN.get(penn, "NOUN")


def tag(words: list[str]) -> list[Token]:
    """Tag the words of one sentence: Pattern's tagger, then the two rules of grammar in the module's docstring."""
    from textblob.en import parser  # Pattern's English lexicon and rules; read on first use

    shouted = 2 * sum(w.isupper() and len(w) > 1 for w in words) > len(words)
    # 'PLM analysis gives a fibre type or NADIS': a word in capitals is an abbreviation or a name, not a typo
    lowers = [w.lower() if w.isupper() and len(w) > 1 and not shouted else _spelled(w.lower()) for w in words]
    penn = [t for _, t in parser.find_tags(list(lowers))] if lowers else []
    tags: list[str] = []
    for lower, p in zip(lowers, penn, strict=True):
        tags.append(_coarse(lower, p, tags[-1] if tags else None))
    _proper_nouns(words, lowers, tags)
    for i in range(len(tags)):
        after_noun = i and tags[i - 1] == "NOUN" and i + 2 < len(tags) and tags[i + 2] in ("DET", "PRON")
        # 'I want participants to sign up for sessions': a particle after the word makes it a verb
        after_noun = after_noun or (i and tags[i - 1] == "NOUN" and i + 2 < len(tags) and lowers[i + 2] in _PARTICLES)
        wanted = i and _verb_lemma(lowers[i - 1]) in LET_VERBS and _next(tags, i) == "ADJ"  # 'want to complete'
        infinitive = (after_noun or (i and tags[i - 1] in ("VERB", "AUX", "PRON"))) and _next(tags, i) == "NOUN"
        infinitive = infinitive or wanted
        objected = i + 2 < len(tags) and tags[i + 2] in _NOUN_PHRASE_START | {"PREP"}
        plural = i + 1 < len(penn) and penn[i + 1] == "NNS"  # 'stewards are allocated to rings for each day'
        if tags[i] == "TO" and infinitive and objected and not plural and _can_be(lowers[i + 1], "VERB"):
            tags[i + 1] = "VERB"  # 'I want to sign the consent form'
        wants = i and tags[i] == "TO" and _verb_lemma(lowers[i - 1]) in ("want", "need", "like", "wish")
        if wants and i + 1 < len(tags) and tags[i + 1] == "NOUN" and _can_be(lowers[i + 1], "VERB"):
            tags[i + 1] = "VERB"  # 'I want to book walks for my dogs': 'want to' is followed by a verb
        if lowers[i] == "to" and tags[i] == "TO" and _next(tags, i) not in ("VERB", "AUX"):
            tags[i] = "PREP"
        if lowers[i] in ("per", "each", "every") and _next(tags, i) == "ADV" and _can_be(lowers[i + 1], "NOUN"):
            tags[i + 1] = "NOUN"  # 'a daily report per well': what 'per' counts is a thing
        if _DURATION.fullmatch(lowers[i]) and _next(tags, i) == "VERB" and _can_be(lowers[i + 1], "NOUN"):
            tags[i + 1] = "NOUN"  # 'guests book two-night stays': what the duration measures is a thing
    _repair(lowers, tags)
    _imperative(lowers, tags)
    _one_verb_per_clause(lowers, tags)
    _compound_nouns(lowers, tags)
    if tags and lowers[-1] in _FREQUENCIES:
        tags[-1] = "ADV"  # '... and pays monthly'
    for i in range(1, len(tags) - 1):
        if lowers[i] == "there" and tags[i + 1] == "NOUN" and tags[i - 1] in ("VERB", "PREP"):
            lowers[i], tags[i] = "their", "DET"  # 'artists upload there designs': the possessive, misspelt
        if lowers[i - 1] == "(" and tags[i] == "VERB" and tags[i + 1] == "COMMA" and _can_be(lowers[i], "NOUN"):
            tags[i] = "NOUN"  # 'every contact attempt (call, letter, SMS)': a parenthesis that opens a list of nouns
        if lowers[i] in _FREQUENCIES and tags[i + 1] not in ("NOUN", "ADJ"):
            tags[i] = "ADV"  # 'clients settle up monthly': how often, not a thing
        _word_repairs(lowers, tags, penn, i)
        wanting = lowers[i] in ("need", "needs", "want", "wants") and i >= 2
        if wanting and tags[i - 1] == "COMMA" and tags[i - 2] == "NOUN":
            tags[i] = "VERB"  # 'dog grooming salon, need booking system': the writer's verb without its 'we'
    _heading(tags, penn)
    _persona(lowers, tags)
    _verb_forms(lowers, tags)
    _acronyms(words, tags)
    _idioms(lowers, tags)
    out = []
    for word, lower, t, p in zip(words, lowers, tags, penn, strict=True):
        lemma = singular(lower) if t == "NOUN" else _verb_lemma(lower) if t in ("VERB", "AUX") else lower
        if t == "NOUN" and re.fullmatch(r"[A-Z]{2,}s", word):
            lemma = lower[:-1]  # an acronym's plural: 'POs', 'RFQs', 'SLAs'
        out.append(Token(word, lower, t, lemma, p))
    return out


@cache
def _spelled(word: str) -> str:
    """A word no dictionary knows, corrected where the typo is one letter left out, one typed twice, two letters
    swapped ('prodcuts', 'bussiness', 'purchse') or, in a word of eight letters or more, one vowel for another
    ('ingrediant'), and exactly one English word of lemminflect's dictionary is that close.
    Anything else (jargon, names) is kept as written."""
    if not 5 <= len(word) <= 30 or not word.isalpha() or getAllLemmas(word) or in_tagger_lexicon(word, nouns=False):
        return word  # 'three' is no typo of 'there': the tagger's own lexicon knows it (as more than a noun)
    if word.endswith("s") and getAllLemmas(word[:-1]):
        return word  # 'tastings': the plural of a word it knows ('tasting'), which the dictionary lacks
    if _agent_of_a_verb(word):
        agent = re.sub(r"er(s?)$", r"or\1", word)
        return agent if getAllLemmas(agent) else word  # 'puppy raisers' raise puppies; 'instructers' are instructors
    inserted = {word[:k] + c + word[k:] for k in range(len(word) + 1) for c in "abcdefghijklmnopqrstuvwxyz"}
    swapped = {word[:k] + word[k + 1] + word[k] + word[k + 2 :] for k in range(len(word) - 1)}
    known = [c for c in inserted | swapped if getAllLemmas(c)]
    if not known:  # 'bussiness', 'loyality': a letter typed twice, or a vowel too many
        known = list(
            {
                word[:k] + word[k + 1 :]
                for k in range(1, len(word))
                if word[k] == word[k - 1] or (word[k] in "aeiou" and len(word) > 6)
            }
        )
        known = [c for c in known if getAllLemmas(c)]
    if not known and len(word) >= 8:  # 'ingrediant', 'maintenence': a vowel written as it sounds, in a long word
        vowels = "aeiou"
        known = [
            c
            for c in {word[:k] + v + word[k + 1 :] for k in range(len(word)) if word[k] in vowels for v in vowels}
            if c != word and getAllLemmas(c)
        ]
    return known[0] if len(known) == 1 else word


def _agent_of_a_verb(word: str) -> bool:
    """Whether a word no dictionary knows is who does a verb it knows: 'raiser(s)', 'befriender(s)', 'sorter'."""
    w = word.removesuffix("s")
    return w.endswith("er") and (_can_be(w[:-1], "VERB") or _can_be(w[:-2], "VERB"))


def lexicon_tag(word: str) -> str | None:
    """The Penn tag Pattern's English lexicon (the tagger's) gives a word, as written; None when it lacks it."""
    from textblob.en import parser

    found: str | None = parser.lexicon.get(word)
    return found


def proper_name(word: str) -> bool:
    """Whether Pattern's English lexicon holds the capitalised word as a proper noun: 'Slack', 'Google', 'Power'."""
    return lexicon_tag(word) == "NNP"


def in_tagger_lexicon(word: str, nouns: bool = True) -> bool:
    """Whether Pattern's English lexicon (the tagger's) holds the word: number words and others lemminflect lacks.
    With `nouns` False, a word it tags as a common noun does not count: the lexicon, read from text, holds typos
    such as 'materals' as nouns."""
    found = lexicon_tag(word)
    return found is not None and (nouns or found not in ("NN", "NNS"))


def _proper_nouns(words: list[str], lowers: list[str], tags: list[str]) -> None:
    """A capitalised word inside a sentence that no dictionary knows ('a salon in Harrogate', 'already on Shopify')
    is a name: a proper noun, never a verb, whatever its ending made the tagger guess."""
    for i in range(1, len(words)):
        word = words[i]
        capitalised = word[:1].isupper() and word.isalpha() and not word.isupper()
        if tags[i] == "VERB" and capitalised and not is_word(lowers[i]) and not in_tagger_lexicon(lowers[i]):
            tags[i] = "NOUN"


def _word_repairs(lowers: list[str], tags: list[str], penn: list[str], i: int) -> None:
    """Repairs of the word at i (neither the first nor the last) by its neighbours: a preposition's word after 'a'
    qualifies ('an outside lab'); a noun, its -s verb and an object ('every alert pages an engineer'); a gerund that
    heads a compound ('a temperature reading every 5 minutes'); two words before one noun ('a start and end time');
    a time after 'each' ('each quarter citizens are picked'); an object's head ('sell entertainment passes for');
    a second verb after 'and' ('is for one commission and happens at one cemetery')."""
    if tags[i - 1] == "DET" and tags[i] == "PREP" and tags[i + 1] == "NOUN" and lowers[i - 1] in _SINGLE_DETERMINERS:
        tags[i] = "ADJ"  # 'from an outside lab': after 'a', a preposition's word qualifies the noun
    agent = (
        i >= 2
        and tags[i - 2] == "DET"
        and tags[i - 1] == "ADJ"
        and tags[i] == "NOUN"
        and _can_be(lowers[i - 1], "NOUN")
    )
    if agent and _third_person(lowers[i]) and _can_be(lowers[i], "VERB") and tags[i + 1] in ("DET", "NUM"):
        tags[i - 1], tags[i] = "NOUN", "VERB"  # 'every alert pages an engineer'
    compound = i >= 2 and tags[i - 2] == "DET" and tags[i - 1] == "NOUN" and tags[i] == "VERB"
    compound = compound and lowers[i].endswith("ing") and _can_be(lowers[i], "NOUN")
    if compound and (tags[i + 1] in ("PREP", "CONJ", "COMMA", "PUNCT") or lowers[i + 1] in ("each", "every")):
        tags[i] = "NOUN"  # 'loggers send a temperature reading every 5 minutes': a compound's head
    # 'a start and end time': two words that are each a noun or a verb, before one singular noun
    paired = i >= 3 and tags[i - 3] == "DET" and tags[i - 2] == "NOUN" and lowers[i - 1] in ("and", "or")
    paired = paired and _can_be(lowers[i - 2], "VERB") and singular(lowers[i - 2]) == lowers[i - 2]
    paired = paired and singular(lowers[i + 1]) == lowers[i + 1]
    paired = paired and _verb_lemma(lowers[i]) == lowers[i] and _can_be(lowers[i], "NOUN")
    if paired and tags[i] == "VERB" and tags[i + 1] == "NOUN":
        tags[i] = "NOUN"
    timed = lowers[i - 1] in ("each", "every") and lowers[i] in _WHEN and tags[i + 1] == "NOUN"
    if timed and singular(lowers[i + 1]) != lowers[i + 1]:
        tags[i - 1], tags[i] = "ADV", "ADV"  # 'each quarter citizens are picked': a time, then the subject
    gerund = i >= 2 and tags[i - 2] == "AUX" and penn[i - 2] == "VBG"  # 'doing hawk walks and ...'
    object_head = i >= 2 and (tags[i - 2] == "VERB" or gerund) and tags[i - 1] == "NOUN" and tags[i] == "VERB"
    object_head = object_head and _third_person(lowers[i]) and _can_be(lowers[i], "NOUN")
    if object_head and tags[i + 1] in ("PREP", "CONJ", "COMMA", "PUNCT"):
        tags[i] = "NOUN"  # 'we sell entertainment passes for the clubhouse': the object's head, no verb
    if i >= 2 and lowers[i - 1] == "and" and tags[i] == "NOUN" and _second_predicate(lowers, tags, i):
        tags[i] = "VERB"  # 'an appointment is for one commission and happens at one cemetery'


def _second_predicate(lowers: list[str], tags: list[str], i: int) -> bool:
    """Whether the -s word after 'and' is a second verb of the clause's subject: a verb came before, the word before
    'and' (or its comma) is a singular noun (no list of plurals, as 'owners and pets') or a determiner follows the
    word, and an object or a preposition follows."""
    before = i - 3 if tags[i - 2] == "COMMA" else i - 2  # '..., is made by one customer, and lists the passengers'
    singular_before = before > 0 and tags[before] == "NOUN" and singular(lowers[before]) == lowers[before]
    verb_before = any(t in ("VERB", "AUX") for t in tags[:before])
    third = _third_person(lowers[i]) and _can_be(lowers[i], "VERB")
    # 'is between two members and records the frames': a determiner right after it ends no list of nouns
    determined = before > 0 and tags[before] == "NOUN" and _next(tags, i) == "DET"
    return (singular_before or determined) and verb_before and third and _next(tags, i) in _PREDICATE_NEXT


_PREDICATE_NEXT = ("PREP", "DET", "NUM", "ADJ", "NOUN")


def _acronyms(words: list[str], tags: list[str]) -> None:
    """A word in capitals inside a sentence that is not shouted is a name or an abbreviation, never a preposition,
    a conjunction or a determiner: 'a Power BI dashboard'."""
    capitals = [w.isupper() and len(w) > 1 and w.isalpha() for w in words]
    if 2 * sum(capitals) > len(words):
        return
    for i, capital in enumerate(capitals):
        if capital and tags[i] in ("PREP", "CONJ", "DET"):
            tags[i] = "NOUN"


_TAKE_FORMS = words("take takes took taken taking")


def _idioms(lowers: list[str], tags: list[str]) -> None:
    """Fixed phrases whose words are no things: 'the rest are rented' (a pronoun), 'self employed' (one adjective),
    'takes place' (one verb), 'members of the public' (the public)."""
    for i in range(len(lowers) - 1):
        after = tags[i + 1]
        if lowers[i] == "rest" and i > 0 and lowers[i - 1] == "the" and after in ("AUX", "VERB", "PREP", "MANY"):
            tags[i] = "PRON"
        elif lowers[i] == "self" and (lowers[i + 1].endswith("ed") or after == "ADJ"):
            tags[i], tags[i + 1] = "ADJ", "ADJ"
        elif lowers[i] in ("member", "members") and lowers[i + 1 : i + 4] == ["of", "the", "public"]:
            tags[i : i + 3] = ["ADJ", "ADJ", "ADJ"]  # 'a member of the public': the public, whom no service keeps
        elif lowers[i] in _TAKE_FORMS and lowers[i + 1] == "place":
            tags[i], tags[i + 1] = "VERB", "PREP"  # read as a particle: 'takes place at one cemetery' is 'take at'


def _verb_forms(lowers: list[str], tags: list[str]) -> None:
    """A word tagged as a noun that the dictionary never knows as a noun: an adjective before a number or before
    what it qualifies ('the top six entries', 'unpaid work'); a verb's form as an auxiliary ('one client, has signed
    terms'), a verb ('the alert that fired') or, before a noun or after a determiner, a modifier ('guided walks',
    'a saved select')."""
    for i, lower in enumerate(lowers):
        if tags[i] != "NOUN":
            continue
        readings = _parts_of_speech(lower)
        qualified = _next(tags, i) == "NUM" or (_next(tags, i) in ("NOUN", "ADJ") and "VERB" not in readings)
        if readings and "NOUN" not in readings and "ADJ" in readings and qualified:
            tags[i] = "ADJ"  # 'the top six entries', 'unpaid work': a word never a noun, before what it qualifies
            continue
        if not _verb_form(lower):
            continue
        if _can_be(lower, "AUX"):
            tags[i] = "AUX"
            continue
        after_determiner = i > 0 and tags[i - 1] in ("DET", "ADJ", "NUM")
        if _next(tags, i) == "NOUN" or after_determiner or _can_be(lower, "ADJ"):
            tags[i] = "ADJ"
        else:
            tags[i] = "VERB"


def _next(tags: list[str], i: int) -> str:
    return tags[i + 1] if i + 1 < len(tags) else ""


def _one_verb_per_clause(lowers: list[str], tags: list[str]) -> None:
    """A subject, a verb and a compound object have one verb: 'we repair washing machines', 'drivers complete
    delivery runs' ('runs' ends the object) and 'maintainers review pull requests' ('review' after the plural subject
    is the verb)."""
    for i in range(1, len(tags) - 1):
        said = lowers[i - 1] in ("we", "i", "they", "you") and (i < 2 or tags[i - 2] in ("COMMA", "CONJ", "REL"))
        if said and tags[i] == "NOUN" and _next(tags, i) in _NOUN_PHRASE_START and _can_be(lowers[i], "VERB"):
            tags[i] = "VERB"  # 'we repair washing machines': the word after the writer's 'we' is what they do
    for i in range(2, len(tags)):
        if tags[i] != "VERB" or tags[i - 1] != "NOUN":
            continue
        nxt = _next(tags, i)
        ends = nxt not in _NOUN_PHRASE_START and not (i + 1 < len(tags) and lowers[i + 1] in _PARTICLES)
        if tags[i - 2] == "VERB" and ends and _third_person(lowers[i]) and _can_be(lowers[i], "NOUN"):
            tags[i] = "NOUN"  # 'complete delivery runs'
            continue
        opens = i < 3 or tags[i - 3] in ("COMMA", "CONJ", "COLON", "PUNCT", "REL")
        subject = singular(lowers[i - 2]) != lowers[i - 2] and opens
        compound_object = nxt == "NOUN" and not _third_person(lowers[i]) and _can_be(lowers[i], "NOUN")
        if tags[i - 2] == "NOUN" and subject and compound_object and _can_be(lowers[i - 1], "VERB"):
            tags[i - 1], tags[i] = "VERB", "NOUN"  # 'maintainers review pull requests'


def _third_person(lower: str) -> bool:
    return lower.endswith("s") and _verb_lemma(lower) != lower


def _clause_start(tags: list[str], i: int) -> int:
    j = i
    while j > 0 and tags[j - 1] not in ("COMMA", "CONJ", "REL", "COLON"):
        j -= 1
    return j


_ASPECT_VERBS = words("stop start begin keep quit avoid finish")
"""Verbs followed by another verb's -ing form: 'stop taking bookings'."""
_FREQUENCIES = words("hourly daily nightly weekly fortnightly monthly quarterly yearly annually")
"""How often, when no noun follows: 'clients settle up monthly'."""
_PARTICLES = words("up out off")
_VERB_PARTICLES = words("in up out off over back down")
"""Particles of phrasal verbs: 'hand in', 'fill in', 'sign up', 'drop off'."""
_SUBORDINATING_PREPS = words("after before until till since as once")
"""Prepositions that also open a clause: 'after a contract ends' ends with its verb."""
_SINGLE_DETERMINERS = words("a an each every")
_ONE_DETERMINERS = _SINGLE_DETERMINERS | {"one"}
_SUBJECT_WORDS = words("i we you they he she")
_MODALS = words("can could may might must shall should will would")


def same_as_participle(word: str) -> bool:
    """Whether a verb's past participle is the word itself ('split', 'put', 'set'): 'tested and split into'."""
    return _participle_is_itself(word)


@cache
def _participle_is_itself(word: str) -> bool:
    """Whether a verb's past participle is the word itself: split, put, set, cut, run."""
    return _can_be(word, "VERB") and getInflection(_verb_lemma(word), "VBN")[:1] == (word,)


def _names_a_kind(lowers: list[str], tags: list[str], i: int) -> bool:
    """After a preposition of place or purpose, a gerund before a noun names a kind ('at docking stations', 'for
    tutoring packages'); after 'by', 'before', 'after' ... it is an action ('by choosing a tier')."""
    if i == 0 or tags[i - 1] != "PREP":
        return False
    return lowers[i - 1] in _KIND_PREPS or (_can_be(lowers[i], "NOUN") and lowers[i - 1] != "by")


_KIND_PREPS = words("at for in into on onto with to of per")


def _last_verb_of_clause(tags: list[str], i: int) -> bool:
    """Whether no verb follows items[i] in its clause: 'every hearing ends with a result' (ends is the verb), not
    'the customer orders for each store are shipped'."""
    for t in tags[i + 1 :]:
        if t in ("COMMA", "CONJ", "REL", "COLON"):
            return True
        if t in ("VERB", "AUX"):
            return False
    return True


_COMMANDS = RECORDING_VERBS | HAVE_VERBS | words("need manage")
"""Verbs a list of requirements opens with: 'Track unit holdings per fund', 'need a due date and a reminder'."""


def _imperative(lowers: list[str], tags: list[str]) -> None:
    """'Track votes per reviewer', 'store the check date': a sentence that opens with a verb of keeping or needing and
    has no verb of its own is a command, not a noun phrase."""
    if len(tags) < 2 or lowers[0] not in _COMMANDS or tags[0] not in ("NOUN", "ADJ"):
        return
    clause = next((k for k, t in enumerate(tags) if t in ("COMMA", "COLON", "PUNCT", "REL")), len(tags))
    # 'Track votes per reviewer': a plural the tagger read as the verb is the command's object
    plural = tags[1] == "VERB" and _third_person(lowers[1]) and _can_be(lowers[1], "NOUN")
    if (tags[1] in _NOUN_PHRASE_START - {"PRON"} or plural) and not {"VERB", "AUX"} & set(tags[2:clause]):
        tags[0], tags[1] = "VERB", "NOUN" if plural else tags[1]


def _repair(lowers: list[str], tags: list[str]) -> None:
    """Verbs the tagger read as nouns between a subject and its object, and nouns it read as verbs in a list."""
    verb_forms: set[bool] = set()
    last_form: bool | None = None  # the form of the last verb: a verb coordinated with it shares it
    depth = 0  # how many parentheses are open before the word
    for i, lower in enumerate(lowers):
        depth += (lowers[i - 1] == "(") - (lowers[i - 1] == ")") if i else 0
        t, prev, nxt = tags[i], tags[i - 1] if i else "", _next(tags, i)
        one_subject = i >= 2 and prev == "NOUN" and singular(lowers[i - 1]) == lowers[i - 1] and tags[i - 2] == "DET"
        particle = nxt == "PREP" and lowers[i + 1] in _VERB_PARTICLES and _next(tags, i + 1) in ("DET", "NOUN")
        clause = nxt == "REL" and lowers[i + 1] in ("whether", "what", "which", "how", "if")
        if t == "NOUN" and one_subject and _third_person(lower) and _can_be(lower, "VERB") and (particle or clause):
            tags[i] = t = "VERB"  # 'the carer ticks off the tasks', 'the fixer records whether it was repaired'
        counted_subject = i >= 2 and prev == "NOUN" and singular(lowers[i - 1]) == lowers[i - 1]
        counted_subject = counted_subject and _determined_by_one(lowers, tags, i - 1)
        # 'a legal entity holds bank accounts', 'an invoice lists line items': one thing, its -s verb, its object
        compound = nxt == "VERB" and _can_be(lowers[i + 1], "NOUN") and _next(tags, i + 1) == "NOUN"
        if t == "NOUN" and counted_subject and _third_person(lower) and _can_be(lower, "VERB") and nxt == "NOUN":
            tags[i] = t = "VERB"
        elif t == "NOUN" and counted_subject and _third_person(lower) and _can_be(lower, "VERB") and compound:
            tags[i], tags[i + 1] = t, nxt = "VERB", "NOUN"
        opens = i == 0 or prev in ("COMMA", "COLON", "PUNCT")
        if t == "VERB" and opens and nxt == "VERB" and _verb_lemma(lowers[i + 1]) == "have" and _can_be(lower, "NOUN"):
            tags[i] = t = "NOUN"  # 'quote has line items': what opens a sentence before 'has' is its subject
        if i >= 2 and lowers[i - 1] == "then" and tags[i - 2] in ("CONJ", "COMMA") and _can_be(lower, "VERB"):
            tags[i] = t = "VERB"  # 'open an account and then place hire contracts': 'then' leads the next verb
            if nxt == "VERB" and _can_be(lowers[i + 1], "NOUN") and _next(tags, i + 1) == "NOUN":
                tags[i + 1] = nxt = "NOUN"  # 'hire contracts' is its object
        third = _third_person(lower)
        singular_noun = prev == "NOUN" and singular(lowers[i - 1]) == lowers[i - 1]
        base = not third and _verb_lemma(lower) == lower and not lower.endswith(("ed", "ing"))
        if t == "VERB" and singular_noun and base and _can_be(lower, "NOUN") and nxt not in _NOUN_PHRASE_START:
            tags[i] = t = "NOUN"  # 'a rate lock with an expiry date': one thing does not 'lock'
        objected = i >= 3 and tags[i - 3] == "VERB" and _verb_lemma(lowers[i - 3]) not in LET_VERBS
        counted = i >= 2 and lowers[i - 2] in _SINGLE_DETERMINERS and (_clause_start(tags, i) == i - 2 or objected)
        if t == "VERB" and singular_noun and base and counted and _can_be(lower, "NOUN") and nxt != "DET":
            tags[i] = t = "NOUN"  # 'every delivery run visits many customers': one delivery would 'runs'
        modal = i - 1
        while modal > 0 and tags[modal] in ("ADV", "NEG"):
            modal -= 1  # 'members can also rent a locker': adverbs between the modal and its verb
        if t in ("NOUN", "ADJ") and tags[modal] == "AUX" and lowers[modal] in _MODALS and _can_be(lower, "VERB"):
            tags[i] = t = "VERB"  # 'members can place holds on books': a modal is followed by its verb
        opened = i >= 3 and tags[i - 2] == "VERB" and tags[i - 3] == "CONJ" and _can_be(lowers[i - 2], "NOUN")
        opened = opened and not _third_person(lowers[i - 2]) and singular(lowers[i - 1]) != lowers[i - 1]
        if opened and t == "NOUN" and prev == "NOUN" and base and _can_be(lower, "VERB") and nxt in _NOUN_PHRASE_START:
            rest = tags[i + 1 :]
            end = next((k for k, x in enumerate(rest) if x in ("COMMA", "CONJ", "REL", "COLON")), len(rest))
            if not any(x in ("VERB", "AUX") and (k == 0 or rest[k - 1] != "DET") for k, x in enumerate(rest[:end])):
                tags[i - 2], tags[i] = "NOUN", "VERB"  # 'and ride operators log downtime': the verb follows the plural
                t = "VERB"
        said = i - 1
        while said > 0 and tags[said] == "ADV":
            said -= 1  # 'we also need to track'
        # 'when they book': a subject pronoun's verb may end the clause
        ending = nxt in ("", "COMMA", "PUNCT") and not _third_person(lower)
        pronoun = tags[said] == "PRON" and lowers[said] in _SUBJECT_WORDS
        pronoun = pronoun and (nxt in _NOUN_PHRASE_START | {"PREP", "TO"} or ending)
        # 'members who lose something request a card': after a pronoun object, a word before its own object
        pronoun = pronoun or (tags[said] == "PRON" and lowers[said] in _QUANTITY_PRONOUNS and nxt == "DET")
        if t == "NOUN" and pronoun and _can_be(lower, "VERB"):
            tags[i] = t = "VERB"  # 'they contact the passenger': a subject pronoun is followed by its verb
        opening = i == _clause_start(tags, i) or prev in ("", "CONJ", "PUNCT")
        then_verb = nxt == "VERB" and not _third_person(lowers[i + 1]) and not lowers[i + 1].endswith(("ed", "ing"))
        if t == "VERB" and opening and third and then_verb and _can_be(lower, "NOUN") and singular(lower) != lower:
            tags[i] = t = "NOUN"  # 'finds come from a context': a plural before its verb opens the clause
        plural_before = prev == "NOUN" and singular(lowers[i - 1]) != lowers[i - 1] and _third_person(lowers[i - 1])
        base_here = not third and _verb_lemma(lower) == lower and _can_be(lower, "VERB")
        plural_after = nxt == "VERB" and _third_person(lowers[i + 1]) and _can_be(lowers[i + 1], "NOUN")
        ends_after = i + 2 >= len(tags) or tags[i + 2] in ("PREP", "DET", "COMMA", "CONJ", "PUNCT")
        if t == "NOUN" and plural_before and base_here and plural_after and ends_after:
            tags[i] = t = "VERB"  # 'skippers land catches at the harbour': the plural's verb, then its object
            tags[i + 1] = "NOUN"
        clause_after = nxt == "PRON" and lowers[i + 1] in _SUBJECT_WORDS and _next(tags, i + 1) in ("VERB", "AUX")
        if t == "VERB" and clause_after and prev in ("NOUN", "ADJ") and _can_be(lower, "NOUN"):
            tags[i] = t = "NOUN"  # 'the guided walks we organise': a clause without 'that' follows its noun
        subject_pronoun = tags[said] == "PRON" and lowers[said] in _SUBJECT_WORDS
        after = tags[i + 2] if i + 2 < len(tags) else ""
        plural_object = nxt == "VERB" and _third_person(lowers[i + 1]) and _can_be(lowers[i + 1], "NOUN")
        plural_object = plural_object and after in ("", "PREP", "CONJ", "COMMA", "PUNCT")
        if t == "NOUN" and subject_pronoun and plural_object and _can_be(lower, "VERB") and not _third_person(lower):
            tags[i] = t = "VERB"  # 'we record feeds per tank': the verb, then its object
            tags[i + 1] = "NOUN"
        listed = prev == "VERB" and _verb_lemma(lowers[i - 1]) == "have" and nxt in ("COMMA", "CONJ")
        if t == "VERB" and listed and base and _can_be(lower, "NOUN") and not _participle_is_itself(lower):
            tags[i] = t = "NOUN"  # 'each appliance has make, model and serial number': a list of what it has
        relative = i >= 2 and lowers[i - 1] in ("that", "which", "who") and tags[i - 2] == "NOUN" and third
        relative = relative and t in ("NOUN", "VERB") and _can_be(lower, "VERB") and nxt in _NOUN_PHRASE_START
        if relative:
            tags[i] = t = "VERB"  # 'a casting that fails inspection': a relative pronoun's verb, not a compound noun
        paired = i >= 2 and prev == "CONJ" and tags[i - 2] == "VERB" and _third_person(lowers[i - 2]) and third
        if t == "NOUN" and paired and _can_be(lower, "VERB") and nxt in ("", "COMMA", "PUNCT", "DET"):
            tags[i] = t = "VERB"  # 'the driver accepts or declines': a verb joined to a verb of the same form
        participle = lower.endswith("ing") and prev in ("NOUN", "COMMA", "") and nxt in ("DET", "REL", "PRON")
        if t == "NOUN" and participle and (_can_be(lower[:-3], "VERB") or _can_be(lower[:-3] + "e", "VERB")):
            tags[i] = t = "VERB"  # 'a certificate listing my doses': a participle takes its object as a verb
        if t == "ADV" and prev == "DET" and lowers[i - 1] in _SINGLE_DETERMINERS and _can_be(lower, "NOUN"):
            tags[i] = t = "NOUN"  # 'each well is drilled by one rig': what a determiner leads is a noun
        counted_word = prev == "NUM" and nxt in ("", "PREP", "COMMA", "CONJ", "PUNCT") and lower != "more"
        if t == "ADV" and counted_word and _can_be(lower, "NOUN"):
            tags[i] = t = "NOUN"  # 'distilled in one still from one recipe': what a number counts is a noun
        floating = lower in ("each", "all") and prev == "NOUN" and singular(lowers[i - 1]) != lowers[i - 1]
        floating = floating and i + 2 < len(tags) and tags[i + 2] in _NOUN_PHRASE_START | {"PREP"}
        verb_after = floating and _can_be(lowers[i + 1], "VERB") and not _third_person(lowers[i + 1])
        if verb_after and not lowers[i + 1].endswith(("ed", "ing")):
            # 'the sessions each have a capacity', 'assets each sit in one catchment': 'each' after the plural
            tags[i], tags[i + 1] = "ADV", "VERB"
        passive_aux = prev == "AUX" and lowers[i - 1] in _BE_FORMS | _GET
        if t == "AUX" and lower in ("done", "did") and passive_aux and nxt == "PREP":
            tags[i] = t = "VERB"  # 'each round is done (gets done) by one cleaner': a passive's participle
        if t == "AUX" and lower in _GET and nxt in ("DET", "NOUN", "NUM", "MANY"):
            tags[i] = t = "VERB"  # 'each specimen gets a barcode': 'get' before its object is a verb, not a passive
        if t == "MANY" and lower == "lots" and (i + 1 >= len(lowers) or lowers[i + 1] != "of"):
            tags[i] = t = "NOUN"  # 'Lots age in barrels': 'lots' is a quantifier only in 'lots of'
        if t == "DET" and lower == "own" and prev == "NOUN" and nxt in ("NOUN", "ADJ", "DET"):
            tags[i] = t = "VERB"  # 'leaseholders own flats': 'own' after a noun is the verb
        compound = nxt == "VERB" or (
            prev in ("NOUN", "") and nxt == "NOUN" and "VERB" not in tags[_clause_start(tags, i) : i]
        )
        if (
            t == "VERB"
            and third
            and compound
            and not counted_subject
            and not relative
            and _can_be(lower, "NOUN")
            and i + 2 < len(lowers)
        ):
            after = lowers[i + 1]
            base = not _third_person(after) and _verb_lemma(after) == after and not after.endswith(("ed", "ing"))
            if base and _can_be(after, "VERB") and tags[i + 2] in _NOUN_PHRASE_START:
                tags[i] = t = "NOUN"  # 'bottling runs turn a lot into cases': the verb is the base form after it
                tags[i + 1] = nxt = "VERB"
        if t == "ADJ" and prev == "PREP" and nxt in ("", "COMMA", "CONJ", "PUNCT") and _can_be(lower, "NOUN"):
            tags[i] = t = "NOUN"  # 'service charges per flat,': a preposition's object closing a phrase
        if t == "VERB" and third and prev == "NOUN" and i >= 2 and tags[i - 2] == "PREP" and nxt in ("CONJ", "COMMA"):
            tags[i] = t = "NOUN"  # 'with email alerts and an app': a noun after a preposition, not a verb
        if t == "VERB" and third and prev == "NOUN" and nxt in ("", "COMMA", "PUNCT") and _can_be(lower, "NOUN"):
            run = i - 1
            while run > 0 and tags[run - 1] in ("NOUN", "ADJ"):
                run -= 1
            clause = lowers[run - 2] in _SUBORDINATING_PREPS if run >= 2 else False  # 'after a contract ends'
            if run >= 2 and tags[run - 1] == "DET" and tags[run - 2] == "PREP" and not clause:
                tags[i] = t = "NOUN"  # 'delivered on one of our van runs': what a preposition governs ends its clause
        if t == "VERB" and prev == "POS" and _can_be(lower, "NOUN"):
            tags[i] = t = "NOUN"  # "each day's call sheet": a possessive is followed by what it owns
        base_after = prev == "PREP" and lowers[i - 1] != "to" and nxt == "NOUN" and not lower.endswith(("ing", "ed"))
        if t == "VERB" and base_after and not third and _can_be(lower, "NOUN"):
            tags[i] = t = "NOUN"  # 'with push notifications': a preposition governs a noun phrase, not a verb
        if t == "VERB" and third and prev == "NOUN" and i >= 2 and tags[i - 2] == "NOUN" and _can_be(lower, "NOUN"):
            plural_verb = _third_person(lowers[i - 1]) and _can_be(lowers[i - 1], "VERB")
            one = singular(lowers[i - 2]) == lowers[i - 2] and "VERB" not in tags[_clause_start(tags, i) : i]
            if plural_verb and one and nxt in _NOUN_PHRASE_START | {"PREP"}:
                tags[i - 1] = "VERB"  # "the camera department logs takes per scene"
                tags[i] = t = "NOUN"
        opens = i < 2 or tags[i - 2] in ("DET", "MANY", "NUM", "COMMA", "CONJ", "COLON")
        if prev == "ADJ" and t == "VERB" and opens and not lower.endswith(("ed", "ing")):
            tags[i] = t = "NOUN"  # 'each new hire gets a plan': an adjective is followed by a noun
        # 'wines (red, white), each bought from one importer': a participle after ', each' is a verb of the plural
        distributed = i >= 2 and lowers[i - 1] in ("each", "every") and tags[i - 2] == "COMMA" and nxt == "PREP"
        if distributed and _can_be(lower, "VERB") and _verb_lemma(lower) != lower and not _third_person(lower):
            tags[i] = t = "VERB"
        elif (
            prev in ("DET", "MANY", "NUM")
            and t == "VERB"
            and not (lower.endswith("ed") and nxt == "NOUN")
            and not relative
        ):
            tags[i] = t = "NOUN"  # 'a start time', 'a finding has': nothing after a determiner is a verb
        elif (
            (prev == "DET" or (prev == "NUM" and _can_be(lower, "NOUN")))
            and t == "ADJ"
            and nxt not in _NOUN_ADJ
            and not (nxt == "VERB" and _can_be(lowers[i + 1], "NOUN"))  # 'the best run': the adjective of a noun
            and not (nxt == "VERB" and lowers[i + 1].endswith("ed") and _next(tags, i + 1) == "NOUN")  # 'a last
            # inspected date'
        ):
            tags[i] = t = "NOUN"  # 'a total, a quantity', 'by one cleaner': an adjective used as a noun
        elif prev == "NOUN" and t == "ADJ" and nxt == "NOUN" and not _can_be(lower, "VERB"):
            tags[i] = t = "NOUN"  # 'car rental service': a noun inside a compound
        after_be = prev == "AUX" and lowers[i - 1] in _BE_FORMS and lower.endswith("ed")
        if t in ("NOUN", "ADJ") and after_be and _can_be(lower, "VERB") and not _can_be(lower, "NOUN"):
            tags[i] = t = "VERB"  # 'secrets are scoped per environment': a participle after 'be'
        own_participle = i and lowers[i - 1] in _BE_FORMS and _participle_is_itself(lower)
        # 'each donation is tested and split into components': coordinated with a participle after 'be'
        own_participle = own_participle or (
            i >= 3
            and prev == "CONJ"
            and tags[i - 2] == "VERB"
            and lowers[i - 2].endswith(("ed", "en"))
            and lowers[i - 3] in _BE_FORMS
            and _participle_is_itself(lower)
        )
        if t in ("NOUN", "ADJ") and own_participle and nxt == "PREP":
            tags[i] = t = "VERB"  # 'each specimen is split into aliquots': a participle the same as its base form
        owned = i and _verb_lemma(lowers[i - 1]) in HAVE_VERBS  # 'sites have charging stations'
        # 'I want to flag missing pieces': a verb's object, not a second verb, when a plural noun follows
        objected_by = prev == "VERB" and i + 1 < len(lowers) and singular(lowers[i + 1]) != lowers[i + 1]
        # 'we want to stop taking bookings in a diary': after 'stop', 'start' or 'keep' an -ing word is the verb
        objected_by = objected_by and _verb_lemma(lowers[i - 1]) not in _ASPECT_VERBS
        # 'beds, containers, potting records, customers': a gerund and its noun between commas are one list item
        listed = prev == "COMMA" and (i + 2 >= len(tags) or tags[i + 2] in ("COMMA", "CONJ", "PUNCT"))
        objected_by = objected_by or listed
        if (
            t == "VERB"
            and lower.endswith("ing")
            and nxt == "NOUN"
            and (prev in ("", "DET", "ADJ") or singular_noun or owned or _names_a_kind(lowers, tags, i) or objected_by)
        ):
            tags[i] = t = "NOUN"  # a gerund that names a kind: 'an ordering system', 'funding programs'
        # 'and check returned toys': a participle before a noun leads the object like an adjective
        described = nxt == "VERB" and lowers[i + 1].endswith("ed") and _next(tags, i + 1) == "NOUN"
        if (
            t in ("NOUN", "ADJ")
            and _can_be(lower, "VERB")
            and i
            and (nxt in _NOUN_PHRASE_START | {"PREP"} or described)
        ):
            start = _clause_start(tags, i)
            no_verb_yet = "VERB" not in tags[start:i]
            run = i - 1
            while run > 0 and tags[run - 1] == "NOUN":
                run -= 1  # 'each table session logs the games': the determiner before the whole noun run
            before = tags[run - 1] if run else ""
            # 'and invoice recipients pay', 'and room inspections are carried out'
            subject = nxt == "NOUN" and i + 2 < len(tags) and tags[i + 2] in ("VERB", "AUX")
            subject_plural = prev == "PRON" or (prev == "NOUN" and singular(lowers[i - 1]) != lowers[i - 1])
            gap = [lowers[k] for k in range(start, run) if tags[k] == "PREP"]
            plural_next = nxt != "NOUN" or singular(lowers[i + 1]) != lowers[i + 1]  # not 'a credit card number'
            if prev == "NOUN" and not third and not subject_plural and gap and "with" not in gap and plural_next:
                # 'users from each group book instruments': the subject is the plural before the preposition
                first = tags.index("NOUN", start) if "NOUN" in tags[start:run] else -1
                while 0 <= first < run and tags[first + 1] == "NOUN":
                    first += 1
                subject_plural = first >= 0 and tags[first + 1] == "PREP" and singular(lowers[first]) != lowers[first]
            if no_verb_yet and not third and subject_plural:
                tags[i] = "VERB"  # 'guests reserve rooms'
            elif (
                no_verb_yet
                and third
                and prev == "NOUN"
                and (nxt != "PREP" or _last_verb_of_clause(tags, i))
                and (before in ("DET", "ADJ", "POS") or start == run)
            ):
                tags[i] = "VERB"  # 'each visit records treatments'
            elif (
                prev in ("COMMA", "CONJ")
                and depth <= 0  # '(food, a host, party bags)': a list
                and third == last_form  # 'owners have dogs, each dog has breed, coat type': 'coat' follows 'has'
                and (nxt in _NOUN_PHRASE_START or described)
                and not subject
            ):
                tags[i] = "VERB"  # 'owners register pets, book visits'
            elif (
                prev == "CONJ"
                and third in verb_forms
                and nxt == "PREP"
                and lowers[i + 1] in _VERB_PARTICLES
                and _next(tags, i + 1) in _NOUN_PHRASE_START
                and _verb_lemma(lower) == lower
            ):
                tags[i] = "VERB"  # 'divers register with a level and hand in a form': a phrasal verb after 'and'
            elif prev == "CONJ" and third and nxt == "NOUN" and not subject and _after_singular_aux(lowers, tags, i):
                tags[i] = "VERB"  # 'a reporter is assigned to each story and files drafts': it agrees with 'is'
        elif t == "VERB" and third and prev in ("COMMA", "CONJ") and nxt not in _NOUN_PHRASE_START:
            if i >= 2 and tags[i - 2] == "NOUN" and third not in verb_forms:
                tags[i] = "NOUN"  # 'imports and selects for a school'
        elif t == "VERB" and prev in ("", "DET", "COMMA", "CONJ", "PREP") and nxt == "NOUN" and lower.endswith("ed"):
            tags[i] = "ADJ"  # 'approved applications become grants'
        disagrees = bool(verb_forms) and third not in verb_forms and not lower.endswith(("ed", "ing"))
        # 'track members' names, emails and join dates': a word closing a list of nouns before any verb
        disagrees = disagrees or (
            not verb_forms and i >= 2 and tags[i - 2] == "NOUN" and not _verb_in_list(lowers, tags, i)
        )
        if t == "VERB" and prev in ("COMMA", "CONJ") and nxt == "NOUN" and disagrees and _can_be(lower, "NOUN"):
            tags[i] = t = "NOUN"  # 'each lease records the rent and start date': coordinated verbs share a form
        plural_noun = third and _can_be(lower, "NOUN") and singular(lower) != lower
        after_verb = prev == "VERB" and _verb_lemma(lowers[i - 1]) not in LET_VERBS
        if t == "VERB" and after_verb and plural_noun and nxt not in _NOUN_PHRASE_START:
            tags[i] = "NOUN"  # 'salespeople handle leads from prospects': the object of a verb is a noun
        relative = prev == "REL" and lowers[i - 1] in _RELATIVE_PRONOUNS and nxt in _NOUN_PHRASE_START | {"PREP"}
        if tags[i] in ("NOUN", "ADJ") and relative and _can_be(lower, "VERB"):
            tags[i] = "VERB"  # 'menu items that point to pages': a relative pronoun is followed by its verb
        closing = nxt in ("", "PUNCT", "COMMA", "CONJ") and not lower.endswith("ing")  # 'a deposit on file.'
        closing = closing and lowers[i - 1] not in _VERB_PARTICLES  # 'clients settle up monthly'
        governed = prev == "PREP" and lowers[i - 1] != "to" and (third or closing) and _can_be(lower, "NOUN")
        adverb = nxt == "ADJ" and _next(tags, i + 1) not in ("NOUN", "ADJ")  # 'pay for walks monthly by invoice'
        if tags[i] == "VERB" and governed and (nxt not in _NOUN_PHRASE_START or adverb):
            tags[i] = "NOUN"  # 'a playlist of tracks': a preposition governs a noun, not a verb's -s form
        listed = prev in ("", "COLON", "COMMA") and nxt == "COMMA" and _can_be(lower, "NOUN")
        if tags[i] == "VERB" and listed and third:
            tags[i] = "NOUN"  # 'Podcast hosting: shows, episodes, hosts': a verb has no comma before its object
        opening = prev in ("", "COLON") and nxt == "PREP" and i + 2 < len(tags) and tags[i + 2] in _NOUN_PHRASE_START
        if tags[i] == "VERB" and opening and third and _can_be(lower, "NOUN") and singular(lower) != lower:
            tags[i] = "NOUN"  # '...: alerts from monitors open incidents': no clause opens with a verb's -s form
        before_aux = nxt == "AUX" and prev in ("", "COMMA", "CONJ", "COLON") and singular(lower) != lower
        if tags[i] == "VERB" and before_aux and third and _can_be(lower, "NOUN"):
            tags[i] = "NOUN"  # 'and rejects are booked against it': a plural before its auxiliary is the subject
        if tags[i] == "VERB" and depth <= 0:  # '(e.g. prod, staging)': a verb in a parenthesis is not the clause's
            verb_forms.add(third)
            last_form = third
        elif tags[i] == "COLON":
            verb_forms.clear()  # 'Podcast hosting: shows, ...': the words after a heading agree among themselves
            last_form = None
    compound = len(tags) > 2 and tags[1] == "NOUN" and singular(lowers[1]) != lowers[1] and tags[2] == "AUX"
    if tags and tags[0] == "VERB" and compound and _can_be(lowers[0], "NOUN"):
        tags[0] = "NOUN"  # 'Recall letters are sent': an imperative's object is not followed by 'are'
    if len(tags) > 1 and tags[0] == "VERB" and tags[1] == "AUX" and _can_be(lowers[0], "NOUN"):
        tags[0] = "NOUN"  # 'offers can have conditions': an imperative is never followed by an auxiliary
    if len(tags) > 2 and tags[0] == "NOUN" and _can_be(lowers[0], "VERB") and _verb_lemma(lowers[0]) == lowers[0]:
        listed = tags[1] == "NOUN" and singular(lowers[1]) != lowers[1] and tags[2] in ("COMMA", "CONJ", "POS")
        if (listed and "VERB" not in tags[1:]) or tags[1] in ("DET", "PRON"):
            tags[0] = "VERB"  # an imperative: 'track orders, groups and classes'


def _determined_by_one(lowers: list[str], tags: list[str], i: int) -> bool:
    """Whether the noun at i is led by 'a', 'an', 'each', 'every' or 'one', with only adjectives between."""
    k = i - 1
    while k >= 0 and tags[k] == "ADJ":
        k -= 1
    return k >= 0 and lowers[k] in _ONE_DETERMINERS


def _compound_nouns(lowers: list[str], tags: list[str]) -> None:
    """Nouns the tagger read as verbs where English has no verb: a plural opening a clause before its auxiliary
    ('Heats are logged per cow'), the first word of a compound right after a verb ('link pull requests', 'report
    missed collections', read as a participle that describes, as after a count: 'one registered keeper'), and a
    plural after a determiner and a noun before a verb ('my DNA matches imported from Ancestry')."""
    for i in range(len(lowers) - 1):
        t, nxt, lower = tags[i], tags[i + 1], lowers[i]
        prev = tags[i - 1] if i else ""
        plural = _third_person(lower) and singular(lower) != lower and _can_be(singular(lower), "NOUN")
        opening = i == _clause_start(tags, i) or prev in ("", "CONJ", "PUNCT")
        if t == "VERB" and plural and opening and nxt == "AUX":
            tags[i] = "NOUN"
        # after a verb in its base or -s form, which takes an object ('defects found raise cards' has two verbs)
        before = lowers[i - 1] if i else ""
        present = _verb_lemma(before) == before or _third_person(before)
        after_verb = prev == "VERB" and present and _verb_lemma(before) not in _LINKING_LEMMAS
        base = _verb_lemma(lower) == lower and not _third_person(lower) and not lower.endswith(("ed", "ing"))
        if t == "VERB" and after_verb and nxt == "NOUN" and base and _can_be(lower, "NOUN"):
            tags[i] = "NOUN"
        elif t == "VERB" and (after_verb or prev in ("MANY", "NUM")) and nxt == "NOUN" and _described_by(lower):
            tags[i] = "ADJ"  # 'report missed collections', 'one registered keeper'
        described = i >= 2 and tags[i - 2] == "DET" and prev == "NOUN" and nxt in ("VERB", "AUX")
        if t == "VERB" and described and plural and lowers[i - 2] not in _ONE_DETERMINERS:
            tags[i] = "NOUN"


def _described_by(lower: str) -> bool:
    """Whether a word is a past participle ('missed', 'registered'), which can describe the noun after it."""
    return lower.endswith("ed") and _verb_lemma(lower) != lower


_LINKING_LEMMAS = words("be have get do let help make go come want need like")
"""Verbs after which another verb is one of their own ('have completed', 'help build', 'want processed')."""


def _after_singular_aux(lowers: list[str], tags: list[str], i: int) -> bool:
    """Whether a singular subject's auxiliary ('is', 'was', 'has') and a participle come before items[i] in its
    sentence, with no verb of another form between: the -s word after 'and' is the same subject's next verb."""
    aux = [k for k in range(i) if tags[k] == "AUX" and lowers[k] in ("is", "was", "has")]
    if not aux or any(tags[k] == "VERB" and not lowers[k].endswith(("ed", "en", "s")) for k in range(aux[-1], i)):
        return False
    return any(tags[k] == "VERB" for k in range(aux[-1] + 1, i))


def _verb_in_list(lowers: list[str], tags: list[str], i: int) -> bool:
    """Whether a verb outside parentheses comes between the last colon (or the sentence's start) and items[i]."""
    depth = 0
    for k in range(_after_colon(tags, i), i):
        depth += (lowers[k] == "(") - (lowers[k] == ")")
        if depth <= 0 and tags[k] == "VERB":
            return True
    return False


def _after_colon(tags: list[str], i: int) -> int:
    """Where the text after the last colon before items[i] starts (0 without one): 'Podcast hosting: shows, ...'."""
    colons = [k for k in range(i) if tags[k] == "COLON"]
    return colons[-1] + 1 if colons else 0


def _heading(tags: list[str], penn: list[str]) -> None:
    """'Magistrates court listings: ...': a few nouns before an opening colon name the product, so a word of them
    that the tagger itself read as a noun is one (the repairs above read it as a verb between two nouns)."""
    colon = tags.index("COLON") if "COLON" in tags[:6] else -1
    if colon < 2 or any(t not in ("NOUN", "ADJ", "VERB") for t in tags[:colon]):
        return
    for k in range(1, colon - 1):
        if tags[k] == "VERB" and penn[k].startswith("NN") and tags[k - 1] == tags[k + 1] == "NOUN":
            tags[k] = "NOUN"


def _persona(lowers: list[str], tags: list[str]) -> None:
    """'As a new hire I want ...': the words between 'as a' and the 'I' or 'we' of a user story name its role."""
    if len(lowers) < 4 or lowers[0] != "as" or tags[1] != "DET":
        return
    end = next((k for k in range(2, min(len(lowers), 7)) if lowers[k] in ("i", "we")), 0)
    if end > 2 and all(tags[k] in ("NOUN", "ADJ", "VERB") for k in range(2, end)):
        tags[end - 1] = "NOUN"
        for k in range(2, end - 1):
            tags[k] = "ADJ" if tags[k] == "ADJ" else "NOUN"


def unknown_plurals(sentences: list[list[Token]]) -> list[list[Token]]:
    """The sentences of one intent with each word that no dictionary knows, written both with an -s and without,
    read as one noun: 'Txns come in from the switch ... against the original txn'."""
    lemmas = {t.lemma for tokens in sentences for t in tokens if t.tag == "NOUN"}

    def read(t: Token) -> Token:
        stem = t.lower[:-1]
        unknown = t.tag == "NOUN" and t.lemma == t.lower and not t.lower.endswith("ss") and not getAllLemmas(t.lower)
        return replace(t, lemma=stem) if unknown and t.lower.endswith("s") and stem in lemmas else t

    return [[read(t) for t in tokens] for tokens in sentences]


def is_many(tokens: list[Token]) -> bool:
    """Whether a quantifier in these tokens says 'many': many, multiple, several, one or more, a number over one."""
    text = " ".join(t.lower for t in tokens)
    counted = any(t.tag == "NUM" and t.lower not in _ONE for t in tokens)  # 'between two players', '3 rounds'
    return any(t.tag == "MANY" for t in tokens) or counted or "or more" in text or "any number" in text


_ONE = words("one 1 single zero 0 no")
