"""Reads the sentences of an intent into noun phrases and the links the sentences state between them.

The parser knows grammar, not the domain: it says "owners -register-> pets", "an invoice has
[number, amount, due date]", "pets belong to owners", "invoices with line items", and which
noun phrases are subjects, objects or list items. The analyst decides which phrases are entities.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from generators.attribute_inference import infer_attribute
from generators.intent_phrases import GENERIC_PRONOUNS, HasList, Link, LinkKind, NounPhrase, ParsedIntent, Role
from generators.language import (
    CARDINALITY_TOKENS,
    Token,
    in_tagger_lexicon,
    is_word,
    proper_name,
    same_as_participle,
    sentences,
    tag,
    tokenize,
    unknown_plurals,
)
from generators.lexicon import (
    CALENDAR_NAMES,
    CHOICE_VERBS,
    GATHERING_VERBS,
    HAVE_VERBS,
    LET_VERBS,
    PERIODS,
    PERSON_NOUNS,
    PRODUCT_HEADS,
    RECORDING_VERBS,
    SHARING_VERBS,
    SOFTWARE_HEADS,
    words,
)
from generators.phrase_chunks import chunk

__all__ = ["HasList", "Link", "NounPhrase", "ParsedIntent", "parse_intent"]


_BE = words("is are was were be been being get gets got")
_ATTACH_PREPS = words("with for of in on at from against to per into along within inside near")
_TIME_PREPS = words("after before during")
"""Prepositions of time that tie a thing to each of another: 'participants give feedback after each workshop'."""
_OWN_PREPS = words("with for of at from to per on in into")
"""Prepositions whose noun is a thing of its own ('invoices with line items', 'dates per matter')."""
_PLACE_PREPS = words("in into inside within at to from under onto")
"""Prepositions that put the subject in one place, source or destination: 'classes are held in classrooms'."""
_SCOPE_PREPS = words("for in on at during per within inside")
"""Prepositions that, fronted, set the scope of the clause after them: 'for each order', 'within an episode'."""
_SUBJECT_PRONOUNS = words("they he she")
_PLACE_TIME_PREPS = words("in at on during")
"""Prepositions of a place or a time, which after a passive's agent say where or when the subject is."""
_AFTER_AGENT_PREPS = _PLACE_TIME_PREPS | words("to from for")
"""What follows a passive's agent and says where, when, whence or for whom the subject is: 'each parcel is delivered by
a driver to an address', 'every weld is done by one welder to one WPS'."""
_RUN_VERBS = words("run operate own manage")
"""Verbs by which the writer names the organisation it runs: 'We run a tutoring agency'."""
_RECEIVE_VERBS = words("get receive")
"""Verbs by which the subject comes to have their object: a value after them is the subject's attribute."""
_PARTICLES = words("up off out down away back")
"""Adverb particles of phrasal verbs: with nothing after them but the object, they are no preposition."""
_PLACES = words("in at inside within")
"""Prepositions of place that two coordinated things share: 'cabinets or cages in a data hall'."""
_REPLACING_VERBS = words("replace digitise digitize retire")
"""Verbs by which the service takes the place of the old way: 'we want to replace our spreadsheets'."""
_USING_VERBS = words("use fit install consume")
"""Verbs by which things kept in stock are put to use: 'the parts fitted on each job' (and on other jobs)."""
_REQUIRING = words("need require")
"""Verbs that let their object act ('we need drivers to log trips') or, with no verb after it, require it."""
_UNITS = words(
    "tonne ton kg kilo kilogram gram litre liter metre meter kilometre kilometer km mile foot inch gallon pound "
    "ounce kwh kilowatt watt unit"
)
"""Units of measure: 'charged per tonne', 'priced per kilogram' name how a price is counted, no thing."""
_BLANK = Token("", "", "", "")


def _is_value(phrase: NounPhrase) -> bool:
    """Whether a phrase names a value (a name, a date, an amount) rather than a thing: by its inferred type."""
    words = " ".join(phrase.lemmas).lower()
    if phrase.pronoun or not any(c.isalnum() for c in words):
        return False  # 'them', 'it': a pronoun stands for a thing
    attribute = infer_attribute(words)
    label = attribute.name.rsplit("_", 1)[-1] in ("name", "title", "email", "phone")  # 'a model name'
    # 'a registration number'; 'the customer's address': a person's details are values too (a 'birthday party' or
    # 'insurance cover' is a thing named after one)
    personal = attribute.pii and infer_attribute(words.rsplit(" ", 1)[-1]).type != "string"
    personal = personal or (attribute.pii and words.rsplit(" ", 1)[-1] in _DETAIL_WORDS)
    return attribute.type not in ("string", "text") or label or attribute.unique or personal


_DETAIL_WORDS = words("number name address id code details detail phone mobile surname ssn passport iban dob")
"""Last words by which a phrase with a personal word names a value: 'a passport number', 'the home address'."""

_PLACE_NAME_PREPS = words("in on at across around near from throughout")
"""Prepositions after which a proper name is where the business is: 'two marinas on the Llangollen Canal'."""

_MANNER_PREPS = words("in on off before after until")
"""Prepositions after which a bare singular said once is a manner or a time: 'in bulk', 'off paper', 'before
release'."""

_ISSUING_VERBS = words("invoice quote")
"""Verbs by which the business issues a document of the verb's name: 'we invoice each customer monthly'."""

_GIVING_VERBS = words("send give issue offer email pay charge show lend sell grant award hand quote bill text post")
"""Verbs that take a recipient and a thing given: 'we send each customer an invoice'."""

_KIND_NOUNS = words("kind type sort form category variety")
"""Nouns by which a copula says its subject names kinds of another thing: 'tents are kinds of unit'."""

_GROUP_NOUNS = words("group set collection team list pool bundle series crowd party")
"""Nouns by which a copula says what its subject is made of: 'segments are groups of users'."""

_MEASURE_NOUNS = words(
    "record list log note kind type sort range variety selection catalogue catalog maximum minimum handful bunch dozen"
)
"""Nouns that, before 'of', only measure or write down what follows: 'a record of the products used'."""


_COLLECTIVE_NOUNS = words("crew band rota roster panel programme program agenda schedule set series")
"""Nouns that, before 'of', only gather what follows: 'each plan has a schedule of instalments', 'a panel of judges'."""


def _measure(phrase: NounPhrase) -> bool:
    """Whether a phrase is one measure or collective word ('a record', 'a crew') before 'of' and what it holds."""
    one_word = len(phrase.tokens) == 1 and not (phrase.plural or phrase.each)
    return one_word and phrase.head in _MEASURE_NOUNS | _COLLECTIVE_NOUNS


def parse_intent(text: str, pattern_words: frozenset[str] = frozenset()) -> ParsedIntent:
    """Noun phrases, links and has-lists of every sentence of an (already cleaned) intent."""
    parsed = ParsedIntent()
    all_sentences = sentences(text)
    tagged = unknown_plurals([tag(tokenize(sentence)) for sentence in all_sentences])
    parsed.sentences = tagged
    nouns = Counter(t.lemma for tokens in tagged for t in tokens if t.tag == "NOUN")
    for number, (sentence, tokens) in enumerate(zip(all_sentences, tagged, strict=True)):
        parser = _SentenceParser(parsed, tokens, number, sentence, pattern_words, more=len(all_sentences) > 1)
        parser.nouns = nouns
        parser.run()
    _the_organisation(parsed)
    _issued_documents(parsed, set(nouns))
    for p in parsed.phrases:
        full = parsed.abbreviations.get(p.tokens[0].lemma) if len(p.tokens) == 1 else None
        if full is not None and p.role != "aside":
            p.tokens = list(full.tokens)  # 'mud checks are logged against the DDR': the daily drilling report
    return parsed


def _issued_documents(parsed: ParsedIntent, nouns: set[str]) -> None:
    """'we invoice each developer monthly', 'we quote for jobs': a verb by which the business issues a document
    names that document, one of many for whom or what it is issued, where the intent never names it (`nouns`: the
    lemmas of its nouns) as a noun."""
    for n, tokens in enumerate(parsed.sentences):
        for k, verb in enumerate(tokens):
            if verb.tag != "VERB" or verb.lemma not in _ISSUING_VERBS or verb.lemma in nouns:
                continue
            # the first thing right after the verb, or after its preposition: 'invoice the customer', 'quote for jobs'
            after = [p for p in parsed.phrases if p.sentence == n and k < p.position <= k + 3]
            recipient = min(after, key=lambda p: p.position, default=None)
            if recipient is not None and _is_value(recipient):
                continue  # 'each referral quotes the crime reference': a value is cited, no document issued
            nouns.add(verb.lemma)
            word = replace(verb, tag="NOUN", lower=verb.lemma)
            document = NounPhrase(len(parsed.phrases), [word], n, k, role="object")
            parsed.phrases.append(document)
            if recipient is not None and recipient.tokens:
                evidence = " ".join(t.text for t in tokens)
                parsed.links.append(Link(recipient, document, "with", verb.lemma, "one-to-many", evidence))


def _brand_led(phrase: NounPhrase, before: Token) -> bool:
    """Whether a phrase inside a sentence opens with a product's or company's name: a capitalised word no dictionary
    knows ('our Wix site', 'Xero sync for invoicing'), a proper noun of the tagger's lexicon that names no day, month
    or feast ('Slack alerts', 'a Power BI dashboard'; not 'the Saturday sessions', 'Christmas pre-orders'), or
    capitalised words after a preposition ('in my Google Calendar'). What such a name qualifies is a feature of
    another product, not a thing kept here."""
    first, second = phrase.tokens[0].text, phrase.tokens[1].text
    if not (first[:1].isupper() and first[1:].islower() and len(first) > 1) or before.tag == "COLON":
        return False
    if not (is_word(first.lower()) or in_tagger_lexicon(first)):
        return True
    if proper_name(first) and first.lower() not in CALENDAR_NAMES and before.tag != "VERB":
        return True
    return before.tag == "PREP" and all(t.text[:1].isupper() for t in phrase.tokens) and second[:1].isupper()


def _without_comments(tokens: list[Token]) -> list[Token]:
    """The sentence without the writer's comments: a parenthesis that opens with 'we' or 'I' ('every bird (we have
    23 of them: owls, hawks) has a name') names no things of the service, and the clause around it goes on."""
    out: list[Token] = []
    k = 0
    while k < len(tokens):
        if tokens[k].lower == "(" and k + 1 < len(tokens) and tokens[k + 1].lower in ("we", "i"):
            end = next((m for m in range(k + 1, len(tokens)) if tokens[m].lower == ")"), None)
            if end is not None:
                k = end + 1
                continue
        out.append(tokens[k])
        k += 1
    return out


def _only_described(phrase: NounPhrase) -> bool:
    """Whether a phrase is its head word with adjectives at most: 'list', 'an ordered list', not 'a price list'."""
    return all(t.tag == "ADJ" for t in phrase.tokens[:-1])


def _one_named(phrase: NounPhrase) -> bool:
    """Whether a phrase is led by 'a' or 'an' alone: after 'is', another name for the subject ('is a seed lot')."""
    return phrase.single and not (phrase.one or phrase.many or phrase.plural)


def _abbreviation(phrase: NounPhrase) -> bool:
    """Whether a phrase is one word in capitals: 'DDR', 'BOLs'."""
    word = phrase.tokens[0].text if len(phrase.tokens) == 1 else ""
    return len(word) > 1 and word.rstrip("s").isupper()


def _the_organisation(parsed: ParsedIntent) -> None:
    """'Archery club - archers join the club': 'the club' or 'our yard' after a heading or an opening that
    names the organisation with the same head word is that organisation again, not a thing it keeps."""
    heads = {p.head for p in parsed.phrases if (p.role == "product" or p.operator) and p.tokens}
    for p in parsed.phrases:
        again = (p.definite or p.ours) and not (p.plural or p.each or p.many or p.one or p.pronoun)
        if again and p.head in heads and len(p.tokens) == 1 and p.role not in ("product", "owner", "subject"):
            p.role = "product"


class _SentenceParser:
    def __init__(
        self,
        parsed: ParsedIntent,
        tokens: list[Token],
        number: int,
        sentence: str,
        pattern_words: frozenset[str],
        *,
        more: bool = False,
    ) -> None:
        self.parsed = parsed
        self.more = more
        self.pattern_words = pattern_words
        self.number = number
        self.evidence = " ".join(sentence.split())[:200]
        self.items = chunk(_without_comments(tokens), self._phrase)
        self._shared_heads()
        self.subject: list[NounPhrase] = []
        self.last_group: list[NounPhrase] = []
        self.last_group_end = -1
        self.last_objects: list[NounPhrase] = []
        self.audience: list[NounPhrase] = []
        self.audience_end = -1
        self.seen_verb = False
        self.persona: list[NounPhrase] = []
        self.plural_subjects: list[list[NounPhrase]] = []
        self.value_owner: NounPhrase | None = None
        """The thing whose values a group just named: 'the date and amount of each payment'."""
        self.nouns: Counter[str] = Counter()
        """How often each noun occurs in the whole intent."""
        self.gap: NounPhrase | None = None
        """The noun right before a subject that opens a clause without 'that': the object of its verb."""
        self.passive = False
        """Whether the last verb was a passive: 'is tested and split into components'."""
        self.passive_subject: list[NounPhrase] = []
        """The subject of the passive verb being read: 'every bird is registered to one member with its ring
        number' gives the bird, not the member, what 'its' owns."""
        self.antecedent: NounPhrase | None = None
        """'a show in which pupils perform routines': the noun before a preposition and 'which', whose own things
        the clause after them names."""
        self.relative: tuple[list[NounPhrase], int] | None = None
        """'passengers who lose something fill in a claim': the subject of a relative clause and where it ends."""
        self.shortened: tuple[list[NounPhrase], int] | None = None
        """'snags found at handover are logged against the job': the noun a participle's clause follows, and
        where the clause ends (the verb right after it is the noun's)."""
        self.distributed: tuple[list[NounPhrase], int] | None = None
        """'phases (groundworks, planting), each scheduled for one crew': the things a participle after ', each'
        is about, and where that participle is."""
        self.frame: NounPhrase | None = None
        """'For each order we record ...', 'Within an episode we hold sessions': the thing a fronted
        preposition names holds what the clause after it creates."""

    def _phrase(
        self, tokens: list[Token], position: int, *, many: bool = False, single: bool = False, pronoun: str = ""
    ) -> NounPhrase:
        np_ = NounPhrase(len(self.parsed.phrases), tokens, self.number, position, many, single, pronoun=pronoun)
        np_.named_by_pattern = bool(tokens) and tokens[-1].lemma in self.pattern_words
        self.parsed.phrases.append(np_)
        return np_

    def _shared_heads(self) -> None:
        """'a start and end time', 'pre and post weight': a lone word joined by 'and' or 'or' to a value of two words
        shares that value's head (a start time and an end time)."""
        items = self.items
        for k in range(len(items) - 2):
            first, conj, second = items[k], items[k + 1], items[k + 2]
            if not (isinstance(first, NounPhrase) and isinstance(conj, Token) and isinstance(second, NounPhrase)):
                continue
            before = items[k - 1] if k > 0 else None
            listed = isinstance(before, Token) and before.tag == "COMMA"  # 'make, model and serial number'
            lone = len(first.tokens) == 1 and not (first.plural or first.pronoun or first.each or first.definite)
            lone = lone and not listed
            bare = len(second.tokens) == 2 and not (second.single or second.each or second.definite or second.one)
            bare = bare and not (second.theirs or second.ours or second.mine)  # not 'its price and its served time'
            if conj.lower in ("and", "or") and lone and bare and _is_value(second):
                first.tokens = [*first.tokens, second.tokens[-1]]

    # ------------------------------------------------------------ walking the sentence

    def run(self) -> None:
        items, i = self.items, 0
        cards = [t for t in items if isinstance(t, Token) and t.tag == "CARD"]
        while i < len(items):
            item = items[i]
            if i == 0 and self._heading_end() > 0 and self._fields_heading():
                break  # 'Books: title, ISBN, author': the fields of one thing
            if i == 0 and self._heading_end() > 0:
                i = self._heading_end()  # a heading: 'Warehouse inventory: warehouses hold bins'
                for p in items[:i]:
                    if isinstance(p, NounPhrase):
                        p.role = "product"
                continue
            if self._fronted(i):
                frame = self.items[i + 1]
                assert isinstance(frame, NounPhrase)
                self.frame = frame
                self._mark([frame], "owner")
                i += 2
                continue
            if self._introductory(i):  # 'After the sale, the service department books ...': not the subject
                i = self._introductory(i)
                continue
            if isinstance(item, NounPhrase):
                before = self._item(i - 1)
                # 'record the gift card each participant receives': a clause right after a noun, without 'that'
                self.gap = before if isinstance(before, NounPhrase) and self.seen_verb else None
                start = i
                group, i = self._group(i, as_object=False)
                self.last_group, self.last_group_end = self._resolve(group, as_subject=True), i
                self._mark(self.last_group, "other")
                if i == 2 and self._token(0).lower == "as":
                    self.persona = group  # 'As a creator I want to launch a campaign': I is the creator
                    continue
                needs = self._tag(i) == "COMMA" and self._token(i + 1).lemma in ("need", "want")
                if self.number == 0 and start == 0 and needs and len(group) == 1 and not group[0].plural:
                    group[0].operator = True  # 'dog grooming salon, need booking system': who writes, not a record
                if self.number == 0 and not self.seen_verb and all((p.ours or p.unit) and not p.plural for p in group):
                    for p in group:  # 'Our counselling practice sees clients': the organisation that runs it
                        p.operator = True
                    for k in self.parsed.links:  # "Our local authority's fostering team needs": and whose unit it is
                        if k.verb == "'s" and any(k.target is g for g in group) and k.source.ours:
                            k.source.operator = True
                operator = self._item(i + 1)
                we_are = [p.pronoun for p in group] in (["we"], ["i"]) and self._token(i).lemma == "be"
                # 'We run a tutoring agency.': the first sentence's one organisation that we run is the operator
                we_run = [p.pronoun for p in group] in (["we"], ["i"]) and self._token(i).lemma in _RUN_VERBS
                # '... a plumbing business and want to replace the whiteboard': a second verb of ours ends it too
                ended = self._tag(i + 2) in ("", "PUNCT", "COMMA") or (
                    self._tag(i + 2) == "CONJ" and self._tag(i + 3) in ("VERB", "AUX")
                )
                # 'I run a picture framing shop in Bath.': where it is does not go on the sentence
                # '... a car boot sale on a farm field outside Maidstone every Sunday', '... a falconry centre in the
                # Peak District doing hawk walks': where and when, with no verb of its own after it
                rest = [t for t in self.items[i + 2 :] if isinstance(t, Token)]
                finite = any(t.tag in ("VERB", "AUX") and t.penn != "VBG" for t in rest)
                placed = self._token(i + 2).lower in ("in", "at", "near", "on", "outside") and not finite
                ended = ended or placed
                we_run = we_run and self.number == 0 and ended
                we_are = we_are or (
                    we_run and isinstance(operator, NounPhrase) and operator.single and not operator.plural
                )
                if we_are and isinstance(operator, NounPhrase):  # 'We are a small immigration law practice'
                    operator.operator, operator.role = True, "product"
                if self._introduces_itself(group, i):
                    group[0].operator = True  # 'A car dealership sells new and used vehicles': the business itself
                be = i
                while self._tag(be) in ("AUX", "NEG", "ADV") and self._token(be).lemma != "be":
                    be += 1  # 'a contact can be in many lists': a modal before the copula
                if self._tag(be) == "AUX" and self._token(be).lemma == "be" and self._tag(be + 1) != "VERB":
                    self._mark(self.last_group, "listed")  # ... 'so that every delivery is on time'
                    i = self._copula(be)
                if self.number == 0 and not self.seen_verb:
                    self._product(group)
                continue
            if item.lower == "(" and self._past_examples(i + 1) > i + 1 and self._past_parenthesis(i) > i:
                i = self._past_parenthesis(i)  # 'the waste deposited (such as cardboard or metal)': examples
                continue
            if item.tag == "VERB":
                i = self._verb(i)
                continue
            if self._coordinated_copula(i):
                # 'a stop has a name and can be on many routes': the subject before 'and' is the copula's too
                self.last_group = self.subject
                i = self._copula(i)
                continue
            antecedent = self._item(i - 1)
            relative = item.tag == "PREP" and self._token(i + 1).lower in ("which", "whom")
            if relative and isinstance(antecedent, NounPhrase):
                self.antecedent = antecedent  # 'a summer show in which pupils perform routines': the show's routines
                i += 2
                continue
            owners = self._each_of(i)
            if owners and self._tag(i + 1) in ("VERB", "ADJ") and self._participle(i + 1):
                self.distributed = (owners, i + 1)  # 'layouts in three gauges, each looked after by one member'
                i = self._verb(i + 1)
                continue
            prep = self._token(i + 1).lower
            if owners and self._tag(i + 1) == "PREP" and prep != "with" and isinstance(self._item(i + 2), NounPhrase):
                # 'samples, each from one room', 'guards, each at a price': where each of them is, or its values
                group, i = self._group(i + 2, as_object=True)
                places = [p for p in self._resolve(group) if not _is_value(p)]
                values = tuple(p for p in group if _is_value(p))
                for owner in owners:
                    for target in places:
                        self._link(owner, target, "with", prep, None)
                    if values:
                        self.parsed.has_lists.append(HasList(owner, values, prep, self.evidence))
                self._mark(places, "listed" if prep in _OWN_PREPS else "attached")
                self._mark(list(values), "item")
                continue
            one_per = item.lower == "one" and self._tag(i - 1) == "COMMA" and self._token(i + 1).lower == "per"
            if one_per and isinstance(self._item(i + 2), NounPhrase) and (counted := self._counted_before(i)):
                # 'each work has parts, one per instrument section': each of the parts is for one section
                group, i = self._group(i + 2, as_object=True)
                places = [p for p in self._resolve(group) if not _is_value(p)]
                for target in places:
                    self._link(counted, target, "with", "per", None)
                self._mark(places, "attached")
                continue
            if item.lower in ("each", "every") and self._token(i + 1).lower == "with" and self.last_group:
                # 'claims made of expense lines, each with a category and an amount': a has-list of the last group
                group, i = self._group(i + 2, as_object=True)
                parts, owners = self._resolve(group), [p for p in self.last_group if not p.generic]
                for owner in owners:
                    self.parsed.has_lists.append(HasList(owner, tuple(parts), "with", self.evidence))
                self._mark(owners, "owner")
                self._mark(parts, "item")
                continue
            i += 1
        if cards:
            self._cardinality(CARDINALITY_TOKENS[cards[0].lower])
        if self.persona:
            # 'As a client I want to download deliverables for my sites': the role has many of what is its own
            mine = [p for p in self.parsed.phrases if p.sentence == self.number and p.mine and not p.generic]
            for owner in self.persona:
                for p in mine:
                    if p.head != owner.head:
                        self._link(owner, p, "with", "my", "one-to-many")
            self._mark(mine, "listed")
        mine = [p for p in self.parsed.phrases if p.sentence == self.number and p.tokens]
        opening = self.number == 0 and self.more and not self.seen_verb and mine and not mine[0].plural
        if opening and not any(isinstance(t, Token) and t.tag in ("COMMA", "COLON", "CONJ") for t in self.items):
            # 'A citizen science project for counting garden birds.', 'Cookery school in Yorkshire.': an opening
            # without a verb or a list says what the business is, as a heading does
            self._mark([p for p in mine if p.role in ("other", "listed", "attached")], "product")
        self._names()
        if not self.seen_verb:
            # a sentence without a verb is a list of the things the service keeps: 'projects, issues, labels'
            self._mark([p for p in self.parsed.phrases if p.sentence == self.number and p.role == "other"], "listed")

    def _each_of(self, i: int) -> list[NounPhrase]:
        """', each' after a plural phrase (past a parenthesis): the things the words after 'each' are about, or none."""
        if self._token(i).lower not in ("each", "every") or self._tag(i - 1) != "COMMA":
            return []
        k = i - 2
        while k >= 0:
            item = self.items[k]
            if isinstance(item, Token) and item.lower == ")":
                while k > 0 and self._token(k).lower != "(":
                    k -= 1
            elif isinstance(item, NounPhrase) and item.plural and not item.generic and not _is_value(item):
                return self._resolve([item])
            elif isinstance(item, Token) and item.tag in ("VERB", "AUX", "PUNCT", "COLON"):
                return []
            k -= 1
        return []

    def _counted_before(self, i: int) -> NounPhrase | None:
        """What ', one per X' at items[i] counts: the last plural thing before it in the sentence ('clearance jobs go
        to our contractor via webhook, one per incident'), else the last thing ('a council permit with an expiry
        date, one per order')."""
        things = [p for p in self.items[:i] if isinstance(p, NounPhrase) and not p.generic and not _is_value(p)]
        plural = [p for p in things if p.plural]
        found = plural[-1] if plural else things[-1] if things else None
        resolved = self._resolve([found]) if found is not None else []
        return resolved[0] if resolved else None

    def _participle(self, i: int) -> bool:
        """Whether the word at i is a past participle by its tag or its form ('scoped', 'bought')."""
        token = self._token(i)
        return token.penn in ("VBN", "VBD") or (token.lower.endswith("ed") and token.lemma != token.lower)

    def _coordinated_copula(self, i: int) -> bool:
        """Whether items[i] is a 'be' with a preposition and a noun after 'and' or a comma (and a modal): 'and can be
        on', 'a booking is made by one customer, is for one sailing'."""
        if self._token(i).lemma != "be" or self._tag(i + 1) != "PREP" or not isinstance(self._item(i + 2), NounPhrase):
            return False
        k = i - 1
        while self._tag(k) in ("AUX", "NEG", "ADV"):
            k -= 1
        return self._tag(k) in ("CONJ", "COMMA") and bool(self.subject) and self.seen_verb

    def _names(self) -> None:
        """'hooked up to the door access system and Stripe', 'a cookery school in Yorkshire': a capitalised
        singular word inside a sentence, without a determiner, is the name of one company, place or product,
        not a kind of thing the service keeps (unless the writer capitalises most words)."""
        tokens = [t for it in self.items for t in (it.tokens if isinstance(it, NounPhrase) else [it])]
        words = [t for t in tokens if t.text[:1].isalpha()]
        if 3 * sum(1 for t in words[1:] if t.text[:1].isupper()) > len(words):
            return
        for k, item in enumerate(self.items):
            before = self._item(k - 1)
            if k == 0 or not isinstance(item, NounPhrase) or not isinstance(before, Token):
                continue
            if len(item.tokens) > 1:
                if _brand_led(item, before):
                    item.role = "aside"
                continue
            if not item.tokens:
                continue
            word = item.tokens[0].text
            named = word[:1].isupper() and word[1:].islower() and len(word) > 1 and not item.plural
            counted = item.definite or item.ours or item.mine or item.each or item.single or item.one or item.many
            if named and not counted and before.tag in ("PREP", "CONJ", "VERB"):
                item.role = "aside"
            bare = before.lower in _MANNER_PREPS and not counted and not item.plural and not item.pronoun
            if bare and self.nouns[item.head] == 1 and item.tokens[0].tag == "NOUN" and item.tokens[0].text.islower():
                item.role = "aside"  # 'many stops in order', 'on time', 'before release': a manner, not a thing

    def _introduces_itself(self, group: list[NounPhrase], i: int) -> bool:
        """'A car dealership sells new and used vehicles from stock.', 'A funeral director arranges funerals for
        families.': an intent that opens with one thing (not a person, not counted by 'each') doing something to a
        plural, and never names it again, describes the business that runs the service."""
        if self.number != 0 or not self.more or len(group) != 1 or self.seen_verb or self._heading_end():
            return False
        subject, verb = group[0], self._token(i)
        obj = next((p for p in self.items[i + 1 : i + 5] if isinstance(p, NounPhrase)), None)  # 'new and used cars'
        if i != 1 or subject.plural or subject.each or subject.pronoun or not subject.tokens:
            return False
        if verb.tag != "VERB" or verb.lemma in HAVE_VERBS or obj is None or not obj.plural:
            return False
        return subject.head not in PERSON_NOUNS and self.nouns[subject.head] == 1

    def _business_with(self, head: NounPhrase, group: list[NounPhrase]) -> bool:
        """'Snooker and pool hall with 14 tables.', 'Garden landscaping firm with two crews': an intent that opens,
        before any verb, with one thing never named again 'with' a counted plural names the business by its size."""
        if self.number != 0 or not self.more or self.seen_verb or not group or not group[0].many:
            return False
        if head.plural or head.each or head.pronoun or not head.tokens or head.head in PERSON_NOUNS:
            return False
        return self.nouns[head.head] == 1

    def _fronted(self, i: int) -> bool:
        """Whether items[i] opens the sentence (or follows its heading) with a preposition of scope and one
        thing: 'For each order, ...', 'Within an episode ...', 'Per project: ...'."""
        prep, frame = self._token(i).lower, self._item(i + 1)
        opening = i == 0 or (i == self._heading_end() and i > 0)
        opening = opening or (self._tag(i - 1) == "CONJ" and self._tag(i - 2) == "COMMA")  # ', and at every visit'
        if not opening or not isinstance(frame, NounPhrase) or frame.plural or frame.pronoun:
            return False
        return prep in _SCOPE_PREPS and (frame.each or prep in ("per", "within"))

    def _introductory(self, i: int) -> int:
        """After an opening preposition and its noun ('After the sale,'), where the clause itself starts; else 0."""
        opening = i == 0 or (i == self._heading_end() and i > 0)
        if not opening or self._tag(i) != "PREP" or not isinstance(self._item(i + 1), NounPhrase):
            return 0
        return i + 3 if self._tag(i + 2) == "COMMA" else 0

    def _group(self, i: int, *, as_object: bool) -> tuple[list[NounPhrase], int]:
        """A coordinated list of noun phrases from items[i]: 'customers, invoices and payments'."""
        items, start = self.items, i
        links = len(self.parsed.links)
        paired = False  # whether 'and' without a comma joined two of the group: 'blade and severity'
        group: list[NounPhrase] = []
        valued: list[NounPhrase] = []  # the owners of "the customer's name, email and phone"
        while i < len(items) and isinstance(items[i], NounPhrase):
            head = items[i]
            assert isinstance(head, NounPhrase)
            i += 1
            if valued and self._tag(i) != "POS" and _is_value(head):
                for owner in valued:  # "... and email": one more value of the same owner
                    self.parsed.has_lists.append(HasList(owner, (head,), "'s", self.evidence))
                self._mark([head], "item")
                head = valued[-1]
            while self._tag(i) == "POS" and isinstance(items[i + 1] if i + 1 < len(items) else None, NounPhrase):
                # "the member's investment choice": the group holds the thing owned; each owner has many
                owned = items[i + 1]
                assert isinstance(owned, NounPhrase)
                if head.single and head.plural and not head.each:
                    # "a girls' section", "a men's team": 'a' leads the thing owned; the plural only says which kind
                    self._mark([head], "aside")
                    head, i = owned, i + 2
                    continue
                if _is_value(owned):
                    # "the customer's name and email": values of the owner, who stands in the group for them
                    valued = self._resolve([head])
                    for owner in valued:
                        self.parsed.has_lists.append(HasList(owner, (owned,), "'s", self.evidence))
                    self._mark([owned], "item")
                    i += 2
                    break
                for owner in self._resolve([head]):
                    if not any(p.role == "product" and p.head == owner.head for p in self.parsed.phrases):
                        self._mark([owner], "listed")  # not 'the club's teams' in 'Cricket club: ...'
                    self._link(owner, owned, "with", "'s", "one-to-many")
                head, i = owned, i + 2
            measured = self._item(i + 1)
            while self._token(i).lower == "of" and isinstance(measured, NounPhrase) and _measure(head):
                # 'we keep a record of the products', 'a list of the dates': what is written down is named after 'of'
                self._mark([head], "aside")
                head, i = measured, i + 2
                measured = self._item(i + 1)
            if head not in group:
                group.append(head)
            i = self._attachments(head, i)
            of, self.value_owner = self.value_owner, None
            if of is not None:  # the values before it in the group are the owner's too; it stands for them
                while group and _is_value(group[-1]):
                    value = group.pop()
                    if value is not head:
                        self.parsed.has_lists.append(HasList(of, (value,), "of", self.evidence))
                        self._mark([value], "item")
                group.append(of)
            # 'a package (a price and a number of photos)'; 'rostered to a tower for a shift (a date, a start time)':
            # the values are the phrase's right before the parenthesis
            before = self._item(i - 1)
            i = self._values_in_parenthesis(before if isinstance(before, NounPhrase) else head, i)
            # 'a type (text, image, link)': examples; 'a booking platform (React front end, Node microservices)':
            # how the software is built, whatever the tagger reads in it
            built = head.head in SOFTWARE_HEADS
            past = self._past_parenthesis(i, values=_is_value(head) or built)
            if past != i:
                i = self._attachments(head, past)  # 'a daily drilling report (DDR) per well': the head's still
            i = self._past_examples(i)  # 'treatments such as massages and facials'
            if self._tag(i) == "COMMA" and self._past_examples(i + 1) > i + 1:
                i = self._past_examples(i + 1)  # 'outcomes against each case, e.g. a rent award, with ...'
            j = i
            while self._tag(j) in ("COMMA", "CONJ", "COLON") or (j > i and self._tag(j) == "ADV"):
                j += 1  # 'a stenographer and sometimes a videographer': an adverb after 'and' leaves the list whole
            if j == i or j >= len(items) or not isinstance(items[j], NounPhrase):
                break
            comma = self._tag(i) == "COMMA"
            if as_object and self._starts_clause(j, coordinated=comma):
                break
            if not as_object and "COLON" in (self._tag(k) for k in range(i, j)) and self._starts_clause(j):
                group = []  # '... with email alerts and an iOS app: leaseholders own flats': the subject follows
            elif not as_object and j == i + 1 and comma and self._adverbial(group, start) and self._starts_clause(j):
                group = []  # 'pupils enrol on classes each term, each class is taught by': a new clause's subject
            elif (
                not as_object
                and comma
                and paired
                and self._tag(i + 1) == "CONJ"
                and self._starts_clause(j, coordinated=True)
            ):
                group = []  # '... by blade and severity, and spare parts are drawn': ', and' after 'and' opens a clause
            paired = paired or (self._tag(i) == "CONJ")
            i = j
        last = group[-1] if group else None
        shared = [k for k in self.parsed.links[links:] if k.source is last and k.kind == "with" and k.verb in _PLACES]
        if len(group) == 2 and shared and self._tag(i - 1) != "COMMA":
            # 'cabinets or cages in a data hall': a place after two things joined by 'or' or 'and' is both's
            for k in shared:
                self._link(group[0], k.target, "with", k.verb, None)
        if len(group) > 1 and group[-1].other and group[-1].plural:
            # 'residents report potholes and other defects': the ones before 'other' are kinds of the last
            self._mark(group[:-1], "aside")
            group = group[-1:]
        return group, i

    def _adverbial(self, group: list[NounPhrase], start: int) -> bool:
        """Whether a group is one 'each X' right after another noun phrase: 'enrol on classes each term', a time
        that qualifies the clause before it, not the subject of the next."""
        return len(group) == 1 and group[0].each and isinstance(self._item(start - 1), NounPhrase)

    def _values_in_parenthesis(self, head: NounPhrase, i: int) -> int:
        """After a thing, a parenthesis that lists mostly values is its has-list: 'products (name, price, SKU)'.
        Anything else (examples of a kind: 'a type (text, image, link)') is left to _past_parenthesis."""
        if self._token(i).lower != "(" or head.generic or _is_value(head):
            return i
        values: list[NounPhrase] = []
        for k in range(i + 1, len(self.items)):
            item = self.items[k]
            if isinstance(item, NounPhrase):
                values.append(item)
            elif item.lower == ")":
                if 2 * sum(_is_value(v) for v in values) <= len(values):
                    return i
                self.parsed.has_lists.append(HasList(head, tuple(values), "with", self.evidence))
                self._mark([head], "owner")
                self._mark(values, "item")
                return k + 1
            elif item.tag not in ("COMMA", "CONJ", "DET"):
                return i
        return i

    def _past_parenthesis(self, i: int, *, values: bool = False) -> int:
        """The index after a parenthesis of examples that opens at items[i]; else i. A parenthesis with a verb
        ('(each attempt is scored)') is a clause of its own and is read as one."""
        if self._token(i).lower != "(":
            return i
        # '(such as cardboard, green waste or metal)': a parenthesis that opens with examples is examples throughout
        examples = self._past_examples(i + 1) > i + 1
        for k in range(i + 1, len(self.items)):
            # 'a phone going off': a participle describes an example; after a value, even 'a status (draft, sent, paid)'
            # lists its values
            finite = self._tag(k) == "AUX" or (self._tag(k) == "VERB" and not self._token(k).lower.endswith("ing"))
            if finite and not values and not examples:
                return i
            if self._token(k).lower == ")":
                inside, before = self.items[i + 1 : k], self._item(i - 1)
                abbreviation = inside[0] if len(inside) == 1 and isinstance(inside[0], NounPhrase) else None
                if abbreviation is not None and isinstance(before, NounPhrase) and _abbreviation(abbreviation):
                    # 'a daily drilling report (DDR)': later 'the DDR' is that report
                    self.parsed.abbreviations[abbreviation.tokens[0].lemma] = before
                # 'rental gear (skis, boots, helmet)': examples of a kind, not things of their own
                self._mark([p for p in self.items[i + 1 : k] if isinstance(p, NounPhrase)], "aside")
                return k + 1
        return i

    def _past_examples(self, i: int) -> int:
        """The index after examples that 'such as', 'including', 'like', 'e.g.' or 'for example' give at items[i]
        ('treatments such as massages and facials'): kinds named in passing, not things of their own; else i."""
        first, second = self._token(i).lower, self._token(i + 1).lower
        if first == "such" and second == "as":
            k = i + 2
        elif first in ("including", "e.g.", "eg", "like") or (first == "for" and second in ("example", "instance")):
            k = i + (2 if first == "for" else 1)
            while self._token(k).lower in (".", ","):
                k += 1
        else:
            return i
        examples: list[NounPhrase] = []
        while isinstance(self._item(k), NounPhrase):
            example = self.items[k]
            assert isinstance(example, NounPhrase)
            examples.append(example)
            k += 1
            joined = self._tag(k) == "CONJ" or (self._tag(k) == "COMMA" and self._tag(k + 1) != "CONJ")
            if joined and isinstance(self._item(k + 1), NounPhrase) and not self._starts_clause(k + 1):
                k += 1
                continue
            # 'such as A, B, and C.': an ', and' goes on with the examples only where the list ends with it
            closing = (
                self._tag(k) == "COMMA" and self._tag(k + 1) == "CONJ" and self._tag(k + 3) in ("", "PUNCT", "COMMA")
            )
            if closing and isinstance(self._item(k + 2), NounPhrase):
                k += 2
                continue
            break
        if not examples:
            return i
        self._mark(examples, "aside")
        return k

    def _fields_heading(self) -> bool:
        """'Books: title, ISBN, author, published year' (a sentence of a longer intent): one thing before the
        colon and, after it, a list without a verb of which most are values. Read as that thing's has-list."""
        end = self._heading_end()
        head = [p for p in self.items[:end] if isinstance(p, NounPhrase)]
        rest = self.items[end:]
        fields = [p for p in rest if isinstance(p, NounPhrase)]
        if not self.more or len(head) != 1 or not fields or self._token(end - 1).tag != "COLON":
            return False
        if any(isinstance(t, Token) and t.tag not in ("COMMA", "CONJ", "PUNCT") for t in rest):
            return False
        if 2 * sum(_is_value(p) for p in fields) < len(fields) or _is_value(head[0]):
            return False
        self.parsed.has_lists.append(HasList(head[0], tuple(fields), "have", self.evidence))
        self._mark(head, "owner")
        self._mark(fields, "item")
        self.seen_verb = True
        return True

    def _heading_end(self) -> int:
        """Where a heading ends: the words before a colon that opens a sentence with no verb before it,
        or a whole first sentence that is one noun phrase followed by more ('University admissions')."""
        tags = [it.tag if isinstance(it, Token) and it.penn != "VBG" else "NP" for it in self.items]
        if "COLON" in tags:
            colon = tags.index("COLON")
            # 'Bingo app for our two clubs (Blackpool and Wigan): members, ...': a parenthesis is an aside
            outside, depth = [], 0
            for k, it in enumerate(self.items[:colon]):
                lower = it.lower if isinstance(it, Token) else ""
                depth += (lower == "(") - (lower == ")")
                # 'Error tracking for our teams, self-hosted on the cluster: ...': a participle is no verb of a clause
                if depth == 0 and lower != ")":
                    outside.append("PART" if isinstance(it, Token) and it.penn == "VBN" else tags[k])
            # '... billing exports with alerts to Slack: cloud accounts, cost centres, teams': a bare list after the
            # colon says that a longer heading went before it, in which a word the tagger's lexicon calls a noun is one
            after = tags[colon + 1 :]
            if after.count("NP") >= 3 and set(after) <= {"NP", "COMMA", "CONJ", "PUNCT"}:
                verbs = [it for it in self.items[:colon] if isinstance(it, Token) and it.penn.startswith("VB")]
                if len(outside) <= 30 and not any(it.tag == "VERB" and it.penn != "VBN" for it in verbs):
                    return colon + 1
            if len(outside) <= 12 and "VERB" not in outside and "NP" in outside:
                return colon + 1
        if self.number == 0 and self.more and tags == ["NP"]:
            return 1
        return 0

    def _copula(self, i: int) -> int:
        """'berths are on pontoons', 'each contest is for one district': each of the subject is in one of
        the object (many-to-many when the object is counted: 'a booking is for up to four players')."""
        named = self._item(i + 1)
        subject = bool(self.last_group) and all(not p.generic for p in self.last_group)
        grouped = isinstance(named, NounPhrase) and named.head in _GROUP_NOUNS and _only_described(named)
        kinds = isinstance(named, NounPhrase) and named.head in _KIND_NOUNS and _only_described(named)
        if kinds and self._token(i + 2).lower == "of" and isinstance(self._item(i + 3), NounPhrase):
            # 'caravans, tents and motorhomes are kinds of unit': the subject names values of the thing after 'of'
            assert isinstance(named, NounPhrase)
            for p in [*self.last_group, named]:
                p.role = "aside"  # values, whatever the sentence's opening made of them
            self.last_group = []
            group, end = self._group(i + 3, as_object=True)
            self._mark(self._resolve(group), "listed")
            self.seen_verb = True
            return end
        if grouped and subject and self._token(i + 2).lower == "of" and isinstance(self._item(i + 3), NounPhrase):
            # 'segments are groups of users', 'a crew is a team of rowers': each holds many, each of them in many
            assert isinstance(named, NounPhrase)
            self._mark([named], "aside")
            return self._predicate(i + 3, lambda s, o: self._link(s, o, "passive", "be made of", "many-to-many"))
        if isinstance(named, NounPhrase) and subject and _one_named(named) and self._tag(i + 2) != "PREP":
            self._mark([named], "aside")  # 'each accession is a seed lot': another name for the subject
            return i + 2
        adjective = self._token(i + 1)
        if adjective.tag == "ADJ" and self._tag(i + 2) == "PREP" and isinstance(self._item(i + 3), NounPhrase):
            # 'keepers are responsible for enclosures': an adjective with a preposition reads as a verb of the subject
            return self._predicate(i + 3, lambda s, o: self._link(s, o, "verb", adjective.lemma, None))
        if self._tag(i + 1) != "PREP" or not isinstance(
            self.items[i + 2] if i + 2 < len(self.items) else None, NounPhrase
        ):
            return i
        prep = self._token(i + 1).lower
        first = self.items[i + 2]
        assert isinstance(first, NounPhrase)
        if infer_attribute(" ".join(first.lemmas).lower()).type not in ("string", "text", "enum"):
            return self._copula_values(i + 2)  # 'a booking is from a start time to an end time'
        start = len(self.parsed.links)

        def link(s: NounPhrase, o: NounPhrase) -> None:
            # 'every household is on a collection round for each bin type': one of them for each of another is many
            each = any(k.source is o and k.target.each and k.verb in ("for", "per") for k in self.parsed.links[start:])
            self._link(s, o, "passive", f"be {prep}", "many-to-many" if o.many or each else "many-to-one")

        return self._predicate(i + 2, link)

    def _predicate(self, j: int, link: Callable[[NounPhrase, NounPhrase], None]) -> int:
        """The objects of a copula from items[j], each linked from each of the last group by `link`."""
        mark = len(self.parsed.links)
        group, end = self._group(j, as_object=True)
        objects = self._resolve(group)
        subject = [p for p in self.last_group if not p.generic]
        if len(objects) == 1 and objects[0].one:
            self._one_then_one(subject, objects[0], mark)
        self._mark(subject, "subject")
        self._mark(objects, "object")
        for s in subject:
            for o in objects:
                link(s, o)
        self.subject, self.seen_verb = subject or self.subject, True
        return end

    def _copula_values(self, j: int) -> int:
        """The values a copula gives its subject, with the prepositions between them: a has-list."""
        values: list[NounPhrase] = []
        while j < len(self.items):
            item = self.items[j]
            if isinstance(item, NounPhrase):
                values.append(item)
            elif item.tag not in ("PREP", "TO", "CONJ", "COMMA"):
                break
            j += 1
        for owner in (p for p in self.last_group if not p.generic):
            self.parsed.has_lists.append(HasList(owner, tuple(values), "be", self.evidence))
            self._mark([owner], "owner")
        self._mark(values, "item")
        self.seen_verb = True
        return j

    def _starts_clause(self, j: int, *, coordinated: bool = False) -> bool:
        """Whether the phrase at items[j] is followed by its own verb (a new subject). After a comma the new
        subject may be a list of its own: '... with their hours and cycles, and removals and installations
        are logged per aircraft'."""
        k = j + 1
        while coordinated and self._tag(k) == "CONJ" and isinstance(self._item(k + 1), NounPhrase):
            k += 2
        if self._token(k).lower == "(":  # 'and any incident (a fire alarm, a phone going off) is logged'
            k = next((m + 1 for m in range(k, len(self.items)) if self._token(m).lower == ")"), k)
        while self._tag(k) == "POS" and isinstance(self.items[k + 1] if k + 1 < len(self.items) else None, NounPhrase):
            k += 2  # "and a character's inventory holds items"
        m = k
        while self._tag(m) == "PREP" and isinstance(self._item(m + 1), NounPhrase):
            m += 2
        if m > k and self._tag(m) == "AUX":
            return True  # 'editors work in a group, and every change to a page is kept as a revision'
        aux = k
        while self._tag(k) in ("AUX", "NEG"):
            k += 1
        # '..., and each booking is with one therapist' ('can be in'), '..., and a playlist is a set of songs': a
        # copula with a preposition or a noun phrase is a clause's verb too
        copula = any(self._token(x).lemma == "be" for x in range(aux, k))
        if copula and isinstance(self._item(k), NounPhrase):
            return True
        return self._tag(k) == "VERB" or (
            copula and self._tag(k) == "PREP" and isinstance(self._item(k + 1), NounPhrase)
        )

    def _attachments(self, head: NounPhrase, i: int) -> int:
        """'invoices with line items': a preposition and a noun group right after a noun phrase."""
        items = self.items
        if i + 1 < len(items) and isinstance(items[i], Token) and isinstance(items[i + 1], NounPhrase):
            prep, after = items[i], items[i + 1]
            assert isinstance(prep, Token) and isinstance(after, NounPhrase)
            if prep.lower == "per" and not after.plural:
                # 'a league runs one season per year', 'writes one note per visit': one for each, many over time
                head.one = False
            timed = prep.lower in _TIME_PREPS and after.each
            if prep.tag == "PREP" and (prep.lower in _ATTACH_PREPS or timed):
                product = head.head in PRODUCT_HEADS and prep.lower in ("for", "of")
                value = _is_value(head)  # 'a serial number with its hours': not the product's contents
                if head.generic and (product or prep.lower == "with") and not value:
                    group, end = self._group(i + 1, as_object=True)
                    # 'an app for clinics' names its audience; 'a CRM with contacts and deals' its contents
                    role: Role = "audience" if prep.lower == "for" else "listed"
                    if role == "listed" and 2 * sum(p.generic for p in group) > len(group):
                        role = "aside"  # 'an app with a web portal, a dashboard and push notifications': features
                    self._mark(group, role)
                    if role == "audience":
                        self.audience, self.audience_end = group, end
                    return end
                if prep.lower == "with" and (not head.generic or value):
                    # 'a campaign with a funding goal and reward tiers': a has-list, parts or attributes
                    group, end = self._group(i + 1, as_object=True)
                    if self._business_with(head, group):
                        # 'Snooker and pool hall with 14 tables.': the business, by the size of what it keeps
                        self._mark([p for p in items[:i] if isinstance(p, NounPhrase)], "product")
                        self._mark(group, "listed")
                        return end
                    parts = self._resolve(group)
                    owner = head
                    if group and group[0].theirs and len(self.passive_subject) == 1 and not head.theirs:
                        owner = self.passive_subject[0]  # 'every bird is registered to one member with its ring number'
                    self._mark(parts, "item")
                    self._mark([owner], "owner")
                    self.parsed.has_lists.append(HasList(owner, tuple(parts), "with", self.evidence))
                    return end
                target = items[i + 1]
                assert isinstance(target, NounPhrase)
                if target.place_name and prep.lower in _PLACE_NAME_PREPS:
                    self._mark([target], "aside")  # 'a thatcher in the Cotswolds', 'boats on the Llangollen Canal'
                    return i + 2
                if _is_value(head) and not head.generic and not target.pronoun:
                    if prep.lower == "in":  # 'a weight in kilograms', 'a total in euros': a unit, not a thing
                        self._mark([target], "aside")
                        return i + 2
                    if prep.lower == "of" and not target.generic and not _is_value(target):
                        # 'the date and amount of each payment': values of the thing after 'of'
                        self.parsed.has_lists.append(HasList(target, (head,), "of", self.evidence))
                        self._mark([head], "item")
                        self._mark([target], "owner")
                        self.value_owner = target
                        return self._attachments(target, i + 2)
                owned = self._item(i + 3)
                possessed = self._tag(i + 2) == "POS" and isinstance(owned, NounPhrase) and not head.generic
                # "each test result against the patient's appointment": the one thing the possessive names is what
                # the head hangs on; "the claim against the policy's exclusions" hangs on the policy
                hangs_on = owned if possessed and isinstance(owned, NounPhrase) and not owned.plural else target
                for resolved in self._resolve([hangs_on]):
                    # "data in one place": what hangs off a generic word is no sign of an entity;
                    # "applications to funding programs", "grants with disbursements": things of their own
                    kind: Role = "aside" if head.generic else "listed" if prep.lower in _OWN_PREPS else "attached"
                    self._mark([resolved], kind)
                    self._link(head, resolved, "with", prep.lower, None)
                if possessed and isinstance(owned, NounPhrase):
                    # "check the claim against the policy's exclusions": the owner has many of what it owns
                    for owner in self._resolve([target]):
                        self._link(owner, owned, "with", "'s", "one-to-many")
                    self._mark([owned], "listed")
                    return self._attachments(owned, i + 4)
                # 'a plan for each new hire from a template': after 'each X' the next phrase qualifies the head, as
                # do stacked counts: 'figures per player per match', 'votes for one candidate at one station'
                following = self._item(i + 3)
                stacked = isinstance(following, NounPhrase) and (
                    prep.lower == self._token(i + 2).lower == "per"
                    or (target.one and following.one)
                    or (prep.lower == "of" and target.many)  # 'animals of many species in enclosures'
                )
                return self._attachments(head if (target.each or stacked) and not head.generic else target, i + 2)
        return i

    def _verb(self, i: int) -> int:
        items = self.items
        verb = items[i]
        assert isinstance(verb, Token)
        before = [t for t in items[self.last_group_end : i] if isinstance(t, Token)]
        adjacent = (
            self.last_group
            and self.last_group_end >= 0
            and all(t.tag in ("AUX", "NEG", "TO", "REL", "PREP", "ADV") for t in before)
        )
        back = i - 1
        if self._token(back).lower == ")":  # 'legs (air, sea, road) operated by carriers': past the parenthesis
            while back > 0 and self._token(back).lower != "(":
                back -= 1
            back -= 1
        previous = items[back] if back >= 0 else None
        # 'secrets are scoped per environment': a word the tagger does not know is a participle by its form
        participle = self._participle(i)
        distributed, self.distributed = self.distributed, None
        # 'workshops run by facilitators': a verb whose participle is its base form, read by its agent
        participle = participle or (isinstance(previous, NounPhrase) and self._token(i + 1).lower == "by")
        if isinstance(previous, NounPhrase) and not before and participle:
            subject = self._resolve([previous])  # "order items chosen from menu items"
        elif adjacent and before and before[0].tag == "REL" and self.audience_end == self.last_group_end:
            subject = self.audience  # "a service for clinics that book ..."
        elif adjacent and not (before and before[0].tag == "CONJ"):
            subject = self.last_group
        else:
            subject = self.subject
        antecedent = self._after_comma(i)
        if antecedent is not None:
            subject = self._resolve([antecedent])  # 'a post-mortem, which is carried out by one pathologist'
        relative, self.relative = self.relative, None
        if relative is not None and relative[1] == i and adjacent and not before:
            subject = relative[0]  # 'passengers who lose something fill in a claim': the clause's noun is the subject
        shortened, self.shortened = self.shortened, None
        own_verb = bool(before) and all(t.tag in ("AUX", "NEG", "ADV") for t in before) and adjacent
        if shortened is not None and shortened[1] == self.last_group_end and own_verb:
            subject = shortened[0]  # 'snags found at handover are logged against the job': the snags are logged
        if self.persona and [p.pronoun for p in subject] == ["i"]:
            subject = self.persona
        reduced = isinstance(previous, NounPhrase) and not before and participle  # 'workshops run by facilitators'
        if distributed is not None and distributed[1] == i:
            subject, reduced = distributed[0], True
        # 'each specimen gets a barcode and is split into aliquots': after 'be', a verb whose participle is itself
        passive = reduced or (any(t.lower in _BE for t in before) and (participle or same_as_participle(verb.lower)))
        # 'each donation is tested and split into components': a participle after 'and' shares the passive before it
        coordinated = self.passive and self._token(i - 1).tag == "CONJ"
        passive = passive or (coordinated and (participle or same_as_participle(verb.lower)))
        self.passive = passive
        self.passive_subject = [s for s in subject if not s.generic] if passive else []
        negated = any(t.tag == "NEG" for t in before)
        self.seen_verb = True
        j = i + 1
        prep = ""
        timed = self._item(j)
        counted = isinstance(timed, NounPhrase) and (timed.each or timed.many or timed.one)
        if counted and isinstance(timed, NounPhrase) and timed.head in PERIODS and self._tag(j + 1) == "PREP":
            j += 1  # 'tags are inspected every 7 days by an inspector': a time between a verb and its preposition
        while self._tag(j) in ("PREP", "TO"):
            prep = self._token(j).lower
            j += 1
        if prep in _PARTICLES and all(self._token(k).lower in _PARTICLES for k in range(i + 1, j)):
            prep = ""  # 'owners drop off their dogs', 'cleaners tick off a checklist': a phrasal verb's object
        if prep == "" and self._token(j).lower in ("up", "out"):
            j += 1
        objects: list[NounPhrase] = []
        us = items[j] if j < len(items) else None
        us_for = isinstance(us, NounPhrase) and us.pronoun in ("us", "me") and self._token(j + 1).lower == "for"
        if us_for and not prep and isinstance(self._item(j + 2), NounPhrase):
            j += 2  # 'attorneys book us for depositions': what they book us for is the verb's object
        occasions: list[Link] = []
        if j < len(items) and isinstance(items[j], NounPhrase):
            mark = len(self.parsed.links)
            group, j = self._group(j, as_object=True)
            while prep and self._tag(j) == "CONJ" and self._token(j + 1).lower == prep:
                if not isinstance(self._item(j + 2), NounPhrase):
                    break
                more, j = self._group(j + 2, as_object=True)  # 'directors sit on the board and on committees'
                group += more
            objects = self._resolve(group)
            if prep == "per" and all(o.head in _UNITS | PERIODS and not o.each for o in objects):
                self._mark(objects, "aside")  # 'trade customers pay per tonne': a unit of measure, no thing
                objects = []
            if passive and prep == "by":
                self._after_agent(subject, objects, mark)
            elif len(objects) == 1 and objects[0].one and (prep or not passive):
                self._one_then_one(subject, objects[0], mark, sources=bool(prep))
            elif passive and prep:
                self._per_each(subject, objects, mark)
                occasions = self._each_occasion(objects, mark)
            if verb.lemma in HAVE_VERBS and not passive and not prep and all(p.generic for p in subject):
                self._values_for_each(objects, mark)
            second = self._item(j)
            periodic = isinstance(second, NounPhrase) and (second.head in PERIODS or second.generic)  # 'every hour'
            if verb.lemma in _GIVING_VERBS and not (prep or passive or periodic) and isinstance(second, NounPhrase):
                objects, j = self._given(objects, j)
        antecedent, self.antecedent = self.antecedent, None
        if antecedent is not None and not passive and not antecedent.generic:
            for o in objects:
                if o.head != antecedent.head and not o.generic and not _is_value(o):
                    self._link(antecedent, o, "with", "in which", "one-to-many")
        gap, self.gap = self.gap, None
        if gap is not None and subject is self.last_group and (prep or not objects) and not passive and not negated:
            self._relate(subject, verb.lemma, "", [gap], passive=False, negated=False)
        # 'a job can need several visits': a verb of requiring with no verb after its object is a verb of its own
        plain = verb.lemma in _REQUIRING and any(not o.generic for o in objects) and self._tag(j) not in ("TO", "VERB")
        # 'the council needs to replace the burial register': the old way, whoever wants it replaced
        wanted = self._token(i - 1).lower == "to" and self._token(i - 2).lemma in LET_VERBS
        actor = [] if verb.lemma in _REPLACING_VERBS and wanted else subject
        related = len(self.parsed.links)
        self._relate(actor, verb.lemma, prep, objects, passive=passive, negated=negated, plain=plain)
        if occasions or (passive and prep in _PLACE_PREPS and self.frame is not None):
            self._shared_per_occasion(related, occasions)
        if passive and objects and prep not in ("", "by") and self._token(j).lower == "by":
            # 'a collection is made from one farm by one tanker': the agent after another preposition's object
            agent = self._item(j + 1)
            if isinstance(agent, NounPhrase) and not _is_value(agent):
                mark = len(self.parsed.links)
                agents, j = self._group(j + 1, as_object=True)
                agents = self._resolve(agents)
                self._after_agent(subject, agents, mark)
                self._relate(subject, verb.lemma, "by", agents, passive=True, negated=negated)
        described = [s for s in subject if not s.generic]
        with_after = self._tag(j) == "COMMA" and self._token(j + 1).lower == "with"
        if passive and objects and described and with_after and isinstance(self._item(j + 2), NounPhrase):
            # 'films are submitted by filmmakers, with a runtime and a country': what the subject comes with
            values, j = self._group(j + 2, as_object=True)
            for owner in described:
                self.parsed.has_lists.append(HasList(owner, tuple(values), "with", self.evidence))
            self._mark(described, "owner")
            self._mark(values, "item")
        if adjacent and before and before[-1].tag == "REL" and before[-1].lower in ("who", "that", "which"):
            self.relative = (subject, j)  # the verb right after this clause's object is the subject's too
        if reduced and objects and prep:
            self.shortened = (subject, j)  # a participle's clause after its noun: the next verb may be the noun's
        self.subject = subject
        if any(s.plural for s in subject):
            self.plural_subjects.append(subject)
        if objects:
            self.last_objects = objects
            self.last_group, self.last_group_end = objects, j
        elif verb.lemma in LET_VERBS:
            self.last_group_end = j
        return j

    def _after_comma(self, i: int) -> NounPhrase | None:
        """The phrase a ', which' or ', who' clause before the verb at i stands for: the one just before the comma
        ('one officer, who collects statements', 'a post-mortem, which is carried out by a pathologist')."""
        k = i - 1
        while k > 0 and self._tag(k) in ("AUX", "NEG", "ADV"):
            k -= 1
        if self._tag(k) != "REL" or self._token(k).lower not in ("which", "who") or self._tag(k - 1) != "COMMA":
            return None
        phrase = self._item(k - 2)
        if not isinstance(phrase, NounPhrase) or phrase.generic or phrase.pronoun:
            return None
        return phrase

    def _given(self, recipients: list[NounPhrase], j: int) -> tuple[list[NounPhrase], int]:
        """'we send each customer an invoice', 'send them a quote': a verb of giving with two objects gives the
        second to the first, one of many over time; the second is the verb's own object."""
        group, j = self._group(j, as_object=True)
        given = self._resolve(group)
        for r in recipients:
            for g in given:
                if not (r.generic or g.generic or _is_value(r) or _is_value(g)) and r.head != g.head:
                    self._link(r, g, "with", "given", "one-to-many")
        self._mark([r for r in recipients if not r.generic], "object")
        return given, j

    def _per_each(self, subject: list[NounPhrase], objects: list[NounPhrase], mark: int) -> None:
        """'units are ordered from suppliers per job': 'per' after a passive's preposition and its one object
        counts the subject, not that object."""
        if len(objects) == 1:
            self._to_subject(subject, mark, lambda link: link.verb == "per" and link.source is objects[0])

    def _each_occasion(self, objects: list[NounPhrase], mark: int) -> list[Link]:
        """The links of 'for each' or 'for every' after a passive's object, which name an occasion: 'invigilators are
        assigned to rooms for each session' is made again for every session."""
        return [
            k
            for k in self.parsed.links[mark:]
            if k.kind == "with" and k.verb in ("for", "per") and k.target.each and any(k.source is o for o in objects)
        ]

    def _shared_per_occasion(self, mark: int, occasions: list[Link]) -> None:
        """'stewards are allocated to rings for each day', 'for every session, candidates are seated in a room': an
        assignment made again on each occasion puts each of the subject with many of the object over time; the
        occasion is the assignment's, not the object's."""
        links = self.parsed.links
        shared = False
        for k in range(mark, len(links)):
            link = links[k]
            if link.kind == "passive" and link.cardinality == "many-to-one" and link.source.plural:
                links[k] = Link(link.source, link.target, link.kind, link.verb, "many-to-many", link.evidence)
                shared = True
        if shared:
            links[:] = [k for k in links if not any(k is o for o in occasions)]

    def _values_for_each(self, objects: list[NounPhrase], mark: int) -> None:
        """'we keep a licence number for each hostel', 'we record the name and date of death per burial': the
        values we keep for each of a thing are that thing's attributes, not things linked to it."""
        values = [o for o in objects if _is_value(o) and not o.generic]
        links = self.parsed.links
        for k in range(len(links) - 1, mark - 1, -1):
            link = links[k]
            each = link.target.each or link.verb == "per"
            if link.kind != "with" or link.verb not in ("for", "per") or not each or _is_value(link.target):
                continue
            if not values or not any(link.source is v for v in values):
                continue
            del links[k]
            self.parsed.has_lists.append(HasList(link.target, tuple(values), "keep", self.evidence))
            self._mark(values, "item")
            self._mark([link.target], "owner")
            return

    def _one_then_one(self, subject: list[NounPhrase], counted: NounPhrase, mark: int, sources: bool = True) -> None:
        """'each appointment is with one practitioner in one room', 'every order pays out to one beneficiary from one
        wallet', 'a screening shows one film on one screen': a place counted by 'one' right after an object counted by
        'one' is the subject's, not the object's. Without `sources`, a source stays the object's ('each study gets
        one report from one radiologist')."""
        places = _PLACE_TIME_PREPS | ({"from"} if sources else set())
        self._to_subject(subject, mark, lambda link: link.source is counted and link.target.one and link.verb in places)

    def _to_subject(self, subject: list[NounPhrase], mark: int, moved: Callable[[Link], bool]) -> None:
        """The 'with' links made since `mark` that `moved` picks belong to each thing of the subject instead."""
        things = [s for s in subject if not s.generic]
        links = self.parsed.links
        for k in range(len(links) - 1, mark - 1, -1):
            link = links[k]
            if things and link.kind == "with" and moved(link):
                links[k : k + 1] = [Link(s, link.target, "with", link.verb, None, link.evidence) for s in things]

    def _after_agent(self, subject: list[NounPhrase], agents: list[NounPhrase], mark: int) -> None:
        """'talks are given by speakers in a room at a time slot': a place or time after a passive's agent says
        where or when the subject is, not where the agent is."""
        things = [s for s in subject if not s.generic]
        links, moved = self.parsed.links, list(agents)
        for k in range(mark, len(links)):
            link = links[k]
            if link.kind == "with" and link.verb in _AFTER_AGENT_PREPS and any(link.source is a for a in moved):
                links[k : k + 1] = [Link(s, link.target, "with", link.verb, None, link.evidence) for s in things]
                moved.append(link.target)  # '... in a room at a time slot': the slot is the talk's too

    def _relate(
        self,
        subject: list[NounPhrase],
        verb: str,
        prep: str,
        objects: list[NounPhrase],
        *,
        passive: bool,
        negated: bool,
        plain: bool = False,
    ) -> None:
        domain_subject = [s for s in subject if not s.generic]
        frame = self.frame
        scoped = frame is not None and not domain_subject and not passive and not negated
        if frame is not None and scoped and verb not in LET_VERBS | SHARING_VERBS | CHOICE_VERBS:
            held = [o for o in objects if o is not frame and o.head != frame.head and not o.generic]
            if verb in HAVE_VERBS and held:  # 'for each order we store its total and its items': a has-list
                self.parsed.has_lists.append(HasList(frame, tuple(held), verb, self.evidence))
                self._mark(held, "item")
                return
            for o in held:  # 'for each order we pick the items': each order has many items
                self._link(frame, o, "with", "for each", "one-to-many")
        if frame is not None and domain_subject and verb in RECORDING_VERBS and not passive and not negated:
            # 'at every appointment the physio records the exercises': what is written down is the frame's
            for o in objects:
                if o is not frame and o.head != frame.head and not o.generic and not _is_value(o):
                    self._link(o, frame, "with", "for each", "many-to-one")
        if not domain_subject and verb in _REPLACING_VERBS and not passive:
            # 'we want to replace the whiteboard in the office': what the service replaces is the old way, no thing
            self._mark(objects, "aside")
            return
        if not domain_subject:
            self._mark(objects, "listed")
            return
        if verb in LET_VERBS and not plain:
            self._mark(objects, "listed")  # 'I want participants to sign up': the next verb says what they do
            return
        by_values = passive and prep == "by" and bool(objects) and all(_is_value(o) for o in objects)
        if (passive and prep == "with") or by_values:
            # 'each blast hole is logged with depth and charge', 'vehicles are identified by their plate number'
            for owner in domain_subject:
                self.parsed.has_lists.append(HasList(owner, tuple(objects), verb, self.evidence))
            if by_values:  # 'tracked by serial number with their hours and cycles': the values are the subject's
                lists = self.parsed.has_lists
                for k, h in enumerate(list(lists)):
                    if any(h.owner is o for o in objects) and h.verb == "with":
                        lists[k : k + 1] = [HasList(owner, h.items, h.verb, h.evidence) for owner in domain_subject]
                for o in objects:
                    o.role = "item"  # no longer the owner of the values it was read with
            self._mark(domain_subject, "owner")
            self._mark(objects, "item")
            return
        # 'each invoice shows the amount due'; 'runners get a bib number': a value one receives is one's own
        counted = all(s.each or s.single for s in domain_subject) or verb in _RECEIVE_VERBS
        described = counted and all(_is_value(o) for o in objects)
        if (verb in HAVE_VERBS or (described and objects and not prep)) and not passive:
            # 'each invoice shows the amount due and the VAT': values of a thing are its attributes
            self._mark(domain_subject, "owner")
            self._mark(objects, "item")
            for owner in domain_subject:
                self.parsed.has_lists.append(HasList(owner, tuple(objects), verb, self.evidence))
            return
        self._mark(domain_subject, "subject")
        self._mark(objects, "object")
        if negated:
            return
        for s in domain_subject:
            for o in objects:
                if verb == "belong":
                    self._link(s, o, "belongs", "belongs to", "many-to-many" if o.many else "many-to-one")
                elif passive and prep == "by" and o.one and not o.plural:
                    # 'every callout is attended by one engineer': each of the subject has one agent
                    self._link(o, s, "verb", verb, "one-to-many")
                elif passive and prep == "by" and o.many and not o.single and not _is_value(o):
                    # 'each paper is refereed by at least two reviewers': many agents for each, each agent of many
                    self._link(o, s, "verb", verb, "many-to-many")
                elif passive and prep == "by":
                    self._link(o, s, "verb", verb, None)
                elif passive and prep == "of":
                    # 'courses made of lessons'; 'crews made up of members': people who are in other crews too
                    card = "many-to-many" if o.head in PERSON_NOUNS else "one-to-many"
                    self._link(s, o, "passive", f"{verb} {prep}", card)
                elif passive and prep:
                    # 'students are enrolled on a course' (a verb that shares its object), 'musicians are booked
                    # for concerts' (many for many): many-to-many; 'tasks are assigned to a member', 'classes
                    # are held in classrooms' (a place, a source or a destination): each of many with one
                    # 'the parts fitted on each job', 'the machinery used on every booking': things drawn from a stock
                    # of their own for each of many are shared among them
                    shared = verb in SHARING_VERBS or (verb in _USING_VERBS and s.plural and o.each)
                    shared = shared or (s.plural and o.plural and not o.single and prep not in _PLACE_PREPS)
                    card = "many-to-many" if shared else "many-to-one"
                    if prep == "into" and verb in GATHERING_VERBS:
                        card = "many-to-one"  # 'properties are grouped into estates': many into each
                    elif prep == "into" and (o.plural or o.many) and not o.single:
                        card = "one-to-many"  # 'accessions are split into samples': each is divided into many
                    elif o.each and not (o.plural or s.plural or s.each or shared) and prep not in ("for", "per"):
                        # 'a reporter is assigned to each story', 'the opening played in each match': one of the
                        # subject serves each; 'a deposit is paid for each reservation' is each one's own
                        card = "one-to-many"
                    elif not s.plural and not shared and (o.plural or o.many) and not o.single:
                        # 'a brew is packaged into kegs': one subject with many of the object; 'into' splits it
                        card = "one-to-many" if prep == "into" else "many-to-many"
                    self._link(s, o, "passive", f"{verb} {prep}", card)
                elif not passive:
                    self._link(s, o, "verb", f"{verb} {prep}".strip(), None)

    def _cardinality(self, cardinality: str) -> None:
        """'students and courses are many-to-many': the first two distinct phrases of the sentence."""
        mine = [p for p in self.parsed.phrases if p.sentence == self.number and p.tokens and not p.generic]
        distinct: list[NounPhrase] = []
        for p in mine:
            if p.head not in ("relationship", "relation", "link") and all(p.head != d.head for d in distinct):
                distinct.append(p)
        if len(distinct) >= 2:
            self._mark(distinct[:2], "subject")
            self._link(distinct[0], distinct[1], "card", cardinality.replace("-", " "), cardinality)

    # ------------------------------------------------------------ helpers

    def _token(self, i: int) -> Token:
        """The token at items[i]; a blank token past the end or where a noun phrase stands."""
        item = self.items[i] if 0 <= i < len(self.items) else None
        return item if isinstance(item, Token) else _BLANK

    def _item(self, i: int) -> NounPhrase | Token | None:
        return self.items[i] if 0 <= i < len(self.items) else None

    def _tag(self, i: int) -> str:
        return self._token(i).tag

    def _resolve(self, group: list[NounPhrase], *, as_subject: bool = False) -> list[NounPhrase]:
        """Replace 'them'/'it'/'they' by the phrases they stand for: a subject 'they' or 'he' the last
        subject ('learners take quizzes and pass when they complete a course'), any other the last objects."""
        out: list[NounPhrase] = []
        for p in group:
            if p.pronoun and p.pronoun not in GENERIC_PRONOUNS and p.pronoun not in ("what", "something"):
                order = [self.subject, self.last_objects]
                if not (as_subject and p.pronoun in _SUBJECT_PRONOUNS):
                    order.reverse()
                if p.pronoun in ("they", "them"):  # 'learners take quizzes (each attempt is scored) when they ...'
                    plural = [g for g in order if any(q.plural and not q.generic for q in g)]
                    if p.pronoun == "them" and not plural:
                        plural = self.plural_subjects[-1:]  # 'customers call us, and we send them a quote'
                    if as_subject and p.pronoun == "they":
                        plural = [g for g in plural if g is self.subject] + self.plural_subjects[-1:] + plural
                    order = plural + order
                out += next((g for g in order if g), [])
            else:
                out.append(p)
        return out

    def _link(self, source: NounPhrase, target: NounPhrase, kind: LinkKind, verb: str, card: str | None) -> None:
        self.parsed.links.append(Link(source, target, kind, verb, card, self.evidence))

    @staticmethod
    def _mark(group: list[NounPhrase], role: Role) -> None:
        rank = ("other", "aside", "attached", "audience", "product", "listed", "item", "object", "subject", "owner")
        for p in group:
            weak = p.role in ("product", "audience", "aside")
            if rank.index(role) > rank.index(p.role) or (weak and role not in ("other", "aside")):
                p.role = role

    def _product(self, group: list[NounPhrase]) -> None:
        for p in group:
            if p.head in PRODUCT_HEADS and p.role == "other" and not p.kept_product_word:
                p.role = "product"
