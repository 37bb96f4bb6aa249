"""The analyst: turns a business intent in plain English into requirements.

Offline and deterministic: the same intent always gives the same requirements. It matches the
pattern library (keys, synonyms, plurals, multi-word names), falls back to similarity in
embedding space for phrases with no exact match (when given an embedder), reads explicit forms
("Invoice has number, amount and due date", "customers have many invoices", "pets belong to
owners") and verbs between entities ("owners register pets"), and promotes other clear domain
nouns to entities. Every finding is explained in `Requirements.notes`. Each entity then gets
a confidence from a model learned from the labelled dev split (generators.entity_confidence).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from generators.agents.base import Agent
from generators.attribute_inference import default_attributes, infer_attribute
from generators.entity_confidence import Evidence, entity_features, meaning_text
from generators.entity_confidence import model as confidence_model
from generators.entity_resolution import WEAK_ROLES, Referent, Resolver, noun_words, one_value
from generators.intent_parser import HasList, Link, NounPhrase, ParsedIntent, parse_intent
from generators.intent_signals import read_features, read_objectives, read_product_name
from generators.language import clean_intent, is_word
from generators.lexicon import RECORDING_VERBS, TITLE_NOUNS
from generators.patterns import DEFAULT_THRESHOLD, Embedder, PatternLibrary, pattern_library
from generators.relationship_rules import Decision, RelationshipSet, decide, person_noun
from ontology.errors import FactoryError, InvalidInputError
from ontology.identifiers import label_of, safe_identifier
from ontology.lifecycle import ANALYST
from ontology.models import Attribute, EntityNeed, RelationshipNeed, Requirements

if TYPE_CHECKING:
    from graph.knowledge_graph import KnowledgeGraph

__all__ = ["MAX_INTENT_CHARS", "Analyst"]

MAX_INTENT_CHARS = 5_000
BUILT_IN_COLUMNS = frozenset({"id", "tenant_id", "created_at", "updated_at", "deleted_at"})
ACTION_SIMILARITY = 0.7
"""How near in meaning a verb and a noun must be for the noun to name what the verb does ('borrow' and 'loan' are
0.72 apart in the embedding model, 'buy' and 'sale' 0.71; 'book' and 'rental' 0.32, 'pay' and 'invoice' 0.47)."""
ATTRIBUTE_LIKE = frozenset({"comment", "message", "notification", "document", "order"})
"""Patterns that a has-list names in the singular as a field ('a review has a comment', 'a page has an order'), not as
a link."""


def _typed_value(item: NounPhrase) -> bool:
    """Whether one of a plural item is a typed value ('prices', 'response deadlines', 'sizes'): a field
    of its owner, not a thing of its own as 'line items' or 'documents' are."""
    if infer_attribute(item.text.lower()).type == "text":
        return True  # 'notes'
    one = (" ".join(item.lemmas).lower(), item.head)  # 'response deadlines': a deadline is a date
    labels = ("name", "title", "email", "phone")  # 'the members' names and emails'
    return any(infer_attribute(w).type not in ("string", "text") or infer_attribute(w).name in labels for w in one if w)


def _chosen(item: NounPhrase) -> bool:
    """Whether a has-list item is one value chosen from a few ('a question has ... a category'): a field."""
    return not (item.plural or item.many) and infer_attribute(" ".join(item.lemmas).lower()).type == "enum"


def _counted_one(item: NounPhrase) -> bool:
    """Whether a has-list item is counted by 'one' ('each class has one judge and a class number'): a thing one
    counts, not a value, which a plain 'a' leads."""
    return item.one and not item.generic and not _typed_value(item) and not _chosen(item)


def _same_thing(item: NounPhrase, elsewhere: set[tuple[str, ...]], bare_heads: set[str]) -> bool:
    """Whether a has-list item names a thing the intent names elsewhere by its head word: 'a room has beds ... beds'
    or 'an order has order lines ... lines', but not 'a start time' where only 'chip times' are named."""
    words = tuple(noun_words(item))
    return len(words) < 2 or words in elsewhere or item.head in bare_heads


def _holders(parsed: ParsedIntent) -> set[int]:
    """The phrases that hold many things: 'a playlist of tracks', 'a squad of players' (not 'a list of dates'), and
    those that hang on another thing: 'nurses record each test result against the appointment'."""
    return {
        k.source.id
        for k in parsed.links
        if (k.verb == "against" or (k.verb == "of" and k.target.plural)) and not _valued(k.target)
    }


def _valued(phrase: NounPhrase) -> bool:
    """Whether a phrase's words name a typed value ('dates', 'names'): the contents of a list, not things."""
    return infer_attribute(" ".join(phrase.lemmas).lower()).type not in ("string", "text") or phrase.head == "name"


class Analyst(Agent):
    """Reads an intent into entities, attributes, relationships, features and objectives."""

    name: ClassVar[str] = ANALYST.name  # its identity is stated once, in the stage table
    role: ClassVar[str] = ANALYST.role
    version: ClassVar[str] = ANALYST.version

    def __init__(
        self,
        embedder: Embedder | None = None,
        knowledge_graph: KnowledgeGraph | None = None,
        tenant: str | None = None,
        *,
        library: PatternLibrary | None = None,
        similarity_threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.library = library or pattern_library()
        self.embedder = embedder
        self.knowledge_graph = knowledge_graph
        self.tenant = tenant
        self.similarity_threshold = similarity_threshold

    def analyse(self, intent_text: str, product_name: str | None = None) -> Requirements:
        """The requirements an intent states; raises InvalidInputError for an empty or oversized intent."""
        return self.weigh(intent_text, product_name)[0]

    def weigh(
        self, intent_text: str, product_name: str | None = None
    ) -> tuple[Requirements, dict[str, dict[str, float]], dict[str, np.ndarray]]:
        """The requirements with the evidence features of each entity (generators.entity_confidence) and the
        meaning of its name (none without an embedding model), by name."""
        text = _checked(intent_text)
        cleaned, removed = clean_intent(text)
        notes: list[str] = []
        if removed:
            notes.append(f"ignored {removed} template expression(s): template syntax in an intent is plain text")
        if self.embedder is not None:
            self.library.prepare(self.embedder)
        parsed = parse_intent(cleaned, self.library.pattern_words)
        resolver = Resolver(self.library, self.embedder, self.similarity_threshold)
        refs = resolver.first_pass(parsed)
        order = sorted(refs, key=lambda pid: (refs[pid].phrase.sentence, refs[pid].phrase.position))
        parts, attributes = self._read_has_lists(parsed, refs)
        resolver.settle(refs, parsed, order)
        _name_by_words(refs, order)

        # 'each hirer pays a deposit on every booking': a value for each of a thing is that thing's
        for_each = {
            k.source.id: k.target for k in parsed.links if k.kind == "with" and k.verb in _EACH_PREPS and k.target.each
        }
        for link in parsed.links:
            # 'divers register with their certification level', 'a trip runs at a scheduled departure time': a value
            # that no has-list names, reached from a thing, is that thing's attribute
            value = refs.get(link.target.id)
            if value is not None and value.name is None and link.target.role != "item" and one_value(link.target):
                attributes.append((link.source, link.target, link.evidence))
        attributes = [(for_each.get(item.id, owner), item, evidence) for owner, item, evidence in attributes]
        entities = self._entities(refs, order, parts, notes)
        if not entities:
            notes.append("no entities found: name the things the service manages, e.g. 'customers receive invoices'")
        named = self._add_attributes(entities, refs, attributes, notes)
        relationships = self._relationships(parsed, refs, parts, entities, notes)
        meanings = self._meanings(list(entities))
        evidence = _weigh(entities, refs, relationships, named, parsed, meanings)
        features, feature_notes = read_features(cleaned)
        slo, slo_notes = read_objectives(cleaned)
        notes += feature_notes + slo_notes
        name = self._product_name(product_name, cleaned, list(entities.values()), notes)
        notes += self._evidence(text)
        requirements = Requirements(
            product_name=name,
            description=" ".join(text.split())[:MAX_INTENT_CHARS],
            entities=list(entities.values()),
            relationships=relationships,
            features=features,
            slo=slo,
            notes=notes,
        )
        return requirements, evidence, meanings

    # ------------------------------------------------------------ explicit has-lists

    def _read_has_lists(
        self, parsed: ParsedIntent, refs: dict[int, Referent]
    ) -> tuple[list[tuple[HasList, NounPhrase]], list[tuple[NounPhrase, NounPhrase, str]]]:
        """Split each has-list into parts (relationships) and attributes."""
        elsewhere_keys = {r.name for r in refs.values() if r.name and r.phrase.role not in ("item", "product")}
        named = [r.phrase for r in refs.values() if r.phrase.role in ("subject", "object", "listed", "owner")]
        elsewhere_heads = {p.head for p in named}
        # 'each race has a start time ... chip times are recorded': another compound of the same head is another thing
        elsewhere_words = {tuple(noun_words(p)) for p in named}
        bare_heads = {p.head for p in named if len(noun_words(p)) < 2}
        # 'an episode has a playlist of tracks': a thing that holds many things is a part, not a value
        holders = _holders(parsed)
        parts: list[tuple[HasList, NounPhrase]] = []
        attributes: list[tuple[NounPhrase, NounPhrase, str]] = []
        for has in parsed.has_lists:
            owner = refs.get(has.owner.id)
            owner_pattern = owner.pattern if owner is not None and owner.how in ("pattern", "synonym") else None
            for item in has.items:
                ref = refs.get(item.id)
                if ref is None:
                    continue
                related = owner_pattern is not None and any(
                    self.library.related(owner_pattern, key) is not None for key, _ in ref.candidates
                )
                is_part = (
                    item.many
                    or item.each  # 'a delivery note with every order': what 'every' counts is a thing
                    or (item.plural and not item.generic and not _typed_value(item))
                    or (ref.how == "pattern" and ref.pattern not in (None, *ATTRIBUTE_LIKE) and not _chosen(item))
                    or (ref.name is not None and ref.name in elsewhere_keys)
                    or (item.head in elsewhere_heads and _same_thing(item, elsewhere_words, bare_heads))
                    or (related and item.plural)
                    or item.id in holders
                    or _names_someone(item, ref.pattern)
                    or _counted_one(item)
                )
                if is_part:
                    parts.append((has, item))
                    ref.promotable = not item.generic
                else:
                    ref.name, ref.pattern, ref.candidates, ref.promotable = None, None, [], False
                    attributes.append((has.owner, item, has.evidence))
        return parts, attributes

    # ------------------------------------------------------------ entities

    def _entities(
        self, refs: dict[int, Referent], order: list[int], parts: list[tuple[HasList, NounPhrase]], notes: list[str]
    ) -> dict[str, EntityNeed]:
        part_ids = {item.id for _, item in parts}
        entities: dict[str, EntityNeed] = {}
        for pid in order:
            ref = refs[pid]
            if not ref.strong or ref.name is None or ref.name in entities:
                continue
            if ref.phrase.role == "item" and pid not in part_ids:
                continue
            how = "explicit" if ref.how == "noun" and ref.phrase.role == "owner" else ref.how
            label = label_of(" ".join(w.capitalize() for w in noun_words(ref.phrase) or ref.name.split("_")))
            entities[ref.name] = EntityNeed(
                name=ref.name, label=label, pattern=ref.pattern, matched_by=how, phrase=ref.phrase.text
            )
            notes.append(f"entity {ref.name}: {_explain(ref, how)}")
        return entities

    def _add_attributes(
        self,
        entities: dict[str, EntityNeed],
        refs: dict[int, Referent],
        attributes: list[tuple[NounPhrase, NounPhrase, str]],
        notes: list[str],
    ) -> dict[str, int]:
        """Each entity's attributes, those the intent names or else its defaults; how many each had named."""
        found: dict[str, list[Attribute]] = {}
        for owner, item, evidence in attributes:
            owner_ref = refs.get(owner.id)
            words = _attribute_words(item)
            if owner_ref is None or owner_ref.name not in entities or not words:
                continue
            if words.replace(" ", "_") in BUILT_IN_COLUMNS:
                notes.append(f"attribute {words!r} of {owner_ref.name}: every entity has it built in")
                continue
            attribute = infer_attribute(words, person=_is_person(owner_ref))
            pattern = self.library.get(entities[owner_ref.name].pattern or "")
            typed = next((a for a in pattern.attributes if a.name == attribute.name), None) if pattern else None
            attribute = typed or attribute  # the pattern knows an invoice's statuses better than a guess
            have = found.setdefault(owner_ref.name, [])
            if all(a.name != attribute.name for a in have):
                have.append(attribute)
                notes.append(
                    f"attribute {owner_ref.name}.{attribute.name} ({attribute.type}{', pii' if attribute.pii else ''}):"
                    f" named in {evidence!r}{'; typed as in its pattern' if typed else ''}"
                )
        for name, entity in entities.items():
            if name in found:
                entity.attributes = found[name]
            elif entity.pattern is None:
                ref = next(r for r in refs.values() if r.name == name)
                entity.attributes = default_attributes(person=_is_person(ref), title=ref.phrase.head in TITLE_NOUNS)
                listed = ", ".join(a.name for a in entity.attributes)
                notes.append(f"attributes of {name}: no pattern and none named, so the defaults {listed}")
        return {name: len(named) for name, named in found.items()}

    # ------------------------------------------------------------ relationships

    def _relationships(
        self,
        parsed: ParsedIntent,
        refs: dict[int, Referent],
        parts: list[tuple[HasList, NounPhrase]],
        entities: dict[str, EntityNeed],
        notes: list[str],
    ) -> list[RelationshipNeed]:
        def entity_of(p: NounPhrase) -> Referent | None:
            ref = refs.get(p.id)
            if ref is None or ref.name not in entities:
                return None
            # "Sites have charging stations ... billed at the site's tariff": a word too generic to make an entity
            # by itself still names one that the intent makes elsewhere
            return ref if ref.strong or p.role not in WEAK_ROLES else None

        stated: list[tuple[tuple[int, int], Decision, str]] = []
        meaning = self._actions_named(parsed, entities)
        things: dict[int, str] = {}  # a verb's link -> the entity that names what it does
        for n, link in enumerate(parsed.links):
            a, b = entity_of(link.source), entity_of(link.target)
            if link.kind != "verb" or a is None or b is None:
                continue
            thing = _named_link(link, entities)
            if thing is None:
                thing = next((t for t in meaning.get(link.verb.split()[0], ()) if t not in (a.name, b.name)), None)
            if thing is not None and thing not in (a.name, b.name):
                things[n] = thing
        # 'parents enrol their children in a lesson group for each term ... every enrolment': where and when the act
        # happens is the named thing's too, not its object's
        settings = {
            m: things[n]
            for n in things
            for m, k in enumerate(parsed.links)
            if k.kind == "with" and k.source is parsed.links[n].target and k.verb in ("in", "at", "on", "for")
        }
        for n, link in enumerate(parsed.links):
            a, b = entity_of(link.source), entity_of(link.target)
            if a is None or b is None or a.name is None or b.name is None:
                continue
            if a.name == b.name and not link.target.other:
                continue  # 'users follow other users', 'a post shared from another post' relate a thing to its kind
            where = (link.source.sentence, min(link.source.position, link.target.position))
            if n in things:
                # 'students enrol in courses ... every enrolment records a grade': the link is a thing; 'parents enrol
                # their children in classes ... every enrolment': the children take part, their parents own them
                owned = link.target.theirs
                if owned:  # the subject's own: the shared rule reads it
                    decision = decide(link, a.name, b.name, (a.pattern, b.pattern), self.library)
                    stated.append((where, decision, link.evidence))
                for end in (b.name,) if owned else (a.name, b.name):
                    why = f"the intent names the link '{link.verb}' as {things[n]}"
                    stated.append((where, Decision(end, things[n], "one-to-many", link.verb, why), link.evidence))
                continue
            if n in settings and not _is_person(b) and b.name != settings[n]:
                why = f"'{link.verb}' says where or when the act named {settings[n]} happens"
                stated.append((where, Decision(b.name, settings[n], "one-to-many", link.verb, why), link.evidence))
                continue
            stated.append((where, decide(link, a.name, b.name, (a.pattern, b.pattern), self.library), link.evidence))
        # 'every animal has a feeding plan with its diet items' describes an owned part; "the customer's address" not
        described = {h.owner.id for h in parsed.has_lists if h.verb != "'s"} | _holders(parsed)
        attached = {k.source.id for k in parsed.links if k.kind in ("with", "passive") and entity_of(k.target)}
        for has, item in parts:
            a, b = entity_of(has.owner), entity_of(item)
            if a is None or b is None or a.name is None or b.name is None:
                continue
            if has.verb in RECORDING_VERBS and _is_person(a) and item.id in attached:
                # 'the vets record health checks for animals': what a person writes down about a thing is the thing's
                notes.append(f"no relationship {a.name} - {b.name}: {a.name} {has.verb}s it for another thing")
                continue
            # 'every animal has a feeding plan with its diet items': a part described by its own
            # has-list is the owner's own, one of its many over time; 'a scene has a location' is shared
            many = item.many or item.plural or (item.id in described and not item.one) or _recurring(item)
            # 'each school has its own kitchen', 'every wound a patient has': the owner's own, one of its many ('a
            # note with each order' is not the note's)
            many = many or item.theirs or (item.each and has.verb != "with")
            verb = "has" if has.verb == "have" else has.verb
            known = self.library.related(a.pattern, b.pattern) if a.pattern and b.pattern and not item.many else None
            if known is not None:
                link = Link(has.owner, item, "with", verb, None, has.evidence)
                decision = decide(link, a.name, b.name, (a.pattern, b.pattern), self.library)
            elif (
                has.verb == "with"
                and item.plural
                and not _is_person(a)
                and (item.one or (not item.many and _is_person(b)))
            ):
                # 'appointments with hygienists', 'contracts with vendors', 'with one of our three podiatrists': each
                # is with one of the people
                decision = Decision(a.name, b.name, "many-to-one", "with", f"'with' people {item.text!r}")
            else:
                decision = Decision(
                    a.name,
                    b.name,
                    "one-to-many" if many else "many-to-one",
                    f"{verb} many" if many and verb == "has" else verb,
                    f"'{has.verb}' with {'many' if many else 'a single'} {item.text!r}",
                    default=not many,
                    counted=b.name if item.many else "",
                )
            stated.append(((has.owner.sentence, has.owner.position), decision, has.evidence))
        rels = RelationshipSet()
        for _, decision, evidence in sorted(stated, key=lambda s: s[0]):
            rels.add(decision, evidence)
        notes += rels.notes
        return rels.items()

    def _meanings(self, names: list[str]) -> dict[str, np.ndarray]:
        """The embedding model's vector of each entity name's words; none without the model."""
        if self.embedder is None or not names:
            return {}
        vectors = self.library.embed([meaning_text(n) for n in names], self.embedder)
        return {n: vectors[meaning_text(n)] for n in names}

    def _actions_named(self, parsed: ParsedIntent, entities: dict[str, EntityNeed]) -> dict[str, list[str]]:
        """Each verb -> the entities whose word means what it does, nearest first: 'members borrow copies ... a
        loan', 'collectors buy artworks ... every sale'. By meaning, with the embedding model when one is given."""
        verbs = sorted({k.verb.split()[0] for k in parsed.links if k.kind == "verb"})
        # a thing, not a person; a pattern matched only by similarity says little ('sale' near 'customer')
        things = [
            n
            for n, e in entities.items()
            if not person_noun(n.rsplit("_", 1)[-1], e.pattern if e.matched_by != "similarity" else None)
            and not ("_" in n and n.rsplit("_", 1)[-1] in verbs)  # 'a seating plan' is not what 'plan' does
            and not _agent_noun(n.rsplit("_", 1)[-1])  # 'swimmers', 'ringers': who does it, not what is done
        ]
        if self.embedder is None or not verbs or not things:
            return {}
        heads = [label_of(n.rsplit("_", 1)[-1]).lower() for n in things]
        vectors = np.asarray(self.embedder(verbs + heads))
        cosines = vectors[: len(verbs)] @ vectors[len(verbs) :].T
        out: dict[str, list[str]] = {}
        for i, verb in enumerate(verbs):
            near = [j for j in np.argsort(-cosines[i]) if cosines[i, j] >= ACTION_SIMILARITY]
            if near:
                out[verb] = [things[j] for j in near]
        return out

    # ------------------------------------------------------------ name and evidence

    def _product_name(self, given: str | None, cleaned: str, entities: list[EntityNeed], notes: list[str]) -> str:
        if given is not None:
            name = " ".join(given.split())[:200]
            if not name:
                raise InvalidInputError("the product name is empty: give a name or leave it out")
            return name
        derived = read_product_name(cleaned)
        if derived:
            notes.append(f"product name {derived!r}: from the words that name the service")
            return derived
        fallback = f"{entities[0].label} Service" if entities else "New Service"
        notes.append(f"product name {fallback!r}: no phrase names the service, so named after its first entity")
        return fallback

    def _evidence(self, text: str) -> list[str]:
        """Similar past products from the knowledge graph, as notes only: never needed to analyse."""
        if self.knowledge_graph is None:
            return []
        try:
            matches = self.knowledge_graph.similar(text, k=3, tenant=self.tenant)
        except (FactoryError, OSError, RuntimeError) as exc:
            return [f"similar past products not consulted: {exc}"]
        return [
            f"similar past {m.kind}: {m.tenant}/{m.product} (cosine {m.score:.2f}) {m.text[:80]!r}" for m in matches
        ]


def _weigh(
    entities: dict[str, EntityNeed],
    refs: dict[int, Referent],
    relationships: list[RelationshipNeed],
    named: dict[str, int],
    parsed: ParsedIntent,
    meanings: Mapping[str, np.ndarray],
) -> dict[str, dict[str, float]]:
    """Each entity's confidence: how likely the person meant it, by the learned model of its evidence; the
    evidence features of each, by name."""
    weights = confidence_model()
    features: dict[str, dict[str, float]] = {}
    for name, need in entities.items():
        evidence = Evidence(
            name,
            need.matched_by,
            need.pattern,
            [r.phrase for r in refs.values() if r.name == name],
            sum(1 for r in relationships if name in (r.source, r.target)),
            named.get(name, 0),
        )
        features[name] = entity_features(evidence, parsed.sentences, len(entities))
        need.confidence = round(weights.probability(features[name], meanings.get(name)), 3)
    return features


def _name_by_words(refs: dict[int, Referent], order: list[int]) -> None:
    """Every entity takes the user's own words, never a pattern's: 'guests' is a guest, its pattern attendee.

    A compound keeps its modifier ('purchase orders', 'stock items'); phrases that found the same
    pattern with the same head word are one entity ('pet owners' and 'owners'), named as first written;
    two words for one pattern stay two entities ('treatments and prescriptions').
    """
    by_pattern: dict[str, str] = {}
    for pid in sorted(order, key=lambda pid: not refs[pid].strong):  # a heading's word never names an entity
        ref = refs[pid]
        words = noun_words(ref.phrase)
        if ref.name is None or not words:
            continue
        try:
            own = safe_identifier(" ".join(words))
        except InvalidInputError:
            continue
        ref.name = own if ref.pattern is None else by_pattern.setdefault(f"{ref.pattern} {words[-1]}", own)
    _bare_heads_refer_back(refs, order)
    _named_as_said_most(refs, order)


def _bare_heads_refer_back(refs: dict[int, Referent], order: list[int]) -> None:
    """'each push triggers a pipeline run ... a run can be approved': a one-word phrase after a compound entity
    with that head word is a short name for it (for the one named first, after two: 'sleep studies ... a home study
    ... each study'), unless the word qualifies another thing ('purchase orders ... order items belong to orders':
    an order is a thing of its own)."""
    compounds: dict[str, set[str]] = {}
    first_said: dict[str, int] = {}
    modifiers = {w for r in refs.values() if r.name and r.strong for w in _modifiers(noun_words(r.phrase))}
    for pid in order:  # in the order of the text
        ref = refs[pid]
        if ref.name is None or not ref.strong:
            continue
        words = noun_words(ref.phrase)
        if len(words) >= 2:  # 'an episode of care ... within an episode': its head is the word before 'of'
            compounds.setdefault(_head_word(words), set()).add(ref.name)
            first_said.setdefault(ref.name, len(first_said))
        elif len(words) == 1 and ref.name == words[0] and compounds.get(words[0]):
            ref.name = ref.name if words[0] in modifiers else min(compounds[words[0]], key=first_said.__getitem__)
        elif len(words) == 1 and ref.name == words[0]:
            # 'gemstones from dealers ... every stone has a carat weight': a closed compound's last word, when
            # it is a noun of its own, is a short name for it as the last word of an open one is
            for k in range(3, len(words[0]) - 3):
                head, tail = words[0][:k], words[0][k:]
                if is_word(head) and is_word(tail, "NOUN"):
                    compounds.setdefault(tail, set()).add(ref.name)
                    first_said.setdefault(ref.name, len(first_said))


def _named_as_said_most(refs: dict[int, Referent], order: list[int]) -> None:
    """'supports victims of crime ... each referral is about one victim ... assigned to each victim': an entity
    whose head word is written alone more often than its compound is named by the head word; the compound's other
    words were said in passing ('Welding shop job tracking ... A job is for one customer ... Jobs are invoiced')."""
    said: dict[str, Counter[str]] = {}
    for pid in order:
        ref = refs[pid]
        words = noun_words(ref.phrase)
        if ref.name and ref.strong and words:
            said.setdefault(ref.name, Counter())["_".join(words)] += 1
    taken = set(said)
    for name, forms in said.items():
        head = _head_word(name.split("_"))
        short = safe_identifier(head)
        if "_" in name and short not in taken and forms[head] > forms[name]:
            taken.add(short)
            for ref in refs.values():
                if ref.name == name:
                    ref.name = short


def _head_word(words: list[str]) -> str:
    """The word a compound names a kind of: 'work order' -> order, 'episode of care' -> episode."""
    return words[words.index("of") - 1] if "of" in words[1:] else words[-1]


def _modifiers(words: list[str]) -> list[str]:
    """The words of a compound that qualify its head: 'work' of 'work order', 'care' of 'episode of care'."""
    return [w for w in words if w not in (_head_word(words), "of")]


_EACH_PREPS = frozenset({"on", "for", "per", "with"})
"""Prepositions by which a value belongs to each of a thing: 'a deposit on every booking'."""

_RECURRING = frozenset(
    {"annual", "yearly", "monthly", "weekly", "daily", "nightly", "quarterly", "periodic", "regular"}
)
"""Words by which one thing comes again and again: 'each carer has an annual review' has many over the years."""


def _recurring(item: NounPhrase) -> bool:
    return not item.one and any(t.lower in _RECURRING for t in item.tokens)


_RECORD_ROLES = frozenset({"author", "creator", "sender", "submitter", "reporter", "assignee"})
"""Who made or handles a record: 'feedback has an author' is a field of the feedback."""


def _names_someone(item: NounPhrase, pattern: str | None) -> bool:
    """Whether a has-list item is a person, who is someone of their own and not a value: 'a show has a presenter',
    'a child has a social worker', 'eye examinations with an optometrist' (but 'a contact name' is a value)."""
    return person_noun(item.head, pattern) and item.head not in _RECORD_ROLES


def _agent_noun(noun: str) -> bool:
    """Whether a noun names who does a verb: 'ringer', 'swimmer', 'dancer', 'inspector'."""
    if not noun.endswith(("er", "or")) or len(noun) < 5:
        return False
    stems = (noun[:-2], noun[:-1], noun[:-3] if noun[-3] == noun[-4] else noun[:-2])
    return any(is_word(stem, "VERB") for stem in stems)


def _named_link(link: Link, entities: dict[str, EntityNeed]) -> str | None:
    """The entity that names what a verb does, when the intent has one: reserve -> reservation, enrol -> enrolment."""
    verb = link.verb.split()[0]
    stems = {verb, verb[:-1] if verb.endswith("e") else verb, verb[:-1] + "i" if verb.endswith("y") else verb}
    endings = ("ment", "ation", "ion", "ing", "al", "ance", "ence", "ication", "cation", "ration", "ition")
    nouns = {stem + end for stem in stems for end in endings} | {verb + verb[-1] + "ing"}
    if verb.endswith("er"):
        nouns.add(verb[:-2] + "ration")  # 'register' -> 'registration', 'administer' -> 'administration'
    if verb.endswith("it"):
        nouns.add(verb[:-1] + "ssion")  # 'films are submitted ... each submission', 'admit' -> 'admission'
    # 'researchers request files ... every request has a status': the verb's own noun, when the intent names it
    return next((name for name in entities if name.rsplit("_", 1)[-1] in nouns or name == verb), None)


def _checked(intent_text: str) -> str:
    if not isinstance(intent_text, str) or not intent_text.strip():
        raise InvalidInputError("the intent is empty: describe the service in a sentence or two")
    if len(intent_text) > MAX_INTENT_CHARS:
        raise InvalidInputError(
            f"the intent is {len(intent_text):,} characters long; at most {MAX_INTENT_CHARS:,} are read: shorten it"
        )
    return intent_text


_FILLER = frozenset({"flag", "field", "attribute", "column", "property", "value"})


def _attribute_words(item: NounPhrase) -> str:
    """The name an attribute is written as: 'an is_paid flag' -> 'is_paid', 'a date of birth' -> 'date of birth'."""
    words = [t.lower for t in item.tokens if re.fullmatch(r"[a-z0-9_]+", t.lower)]
    while len(words) > 1 and words[-1] in _FILLER:
        if words[-1] == "value" and infer_attribute(" ".join(words[:-1])).type == "string":
            break  # 'a replacement value' is a value of its own; 'a status value' is the status
        words.pop()
    return " ".join(words)


def _is_person(ref: Referent) -> bool:
    words = noun_words(ref.phrase)
    return person_noun(words[-1] if words else "", ref.pattern)


def _explain(ref: Referent, how: str) -> str:
    phrase = ref.phrase.text
    if how == "similarity":
        return (
            f"{phrase!r} has no exact match; nearest pattern by meaning is {ref.pattern} "
            f"via {ref.matched!r} (cosine {ref.score:.2f})"
        )
    if how == "synonym":
        return f"{phrase!r} is a synonym of pattern {ref.pattern} ({ref.matched!r})"
    if how == "pattern":
        return f"{phrase!r} names pattern {ref.pattern} ({ref.matched!r})"
    role = {"owner": "owner of named attributes", "subject": "subject of a verb", "object": "object of a verb"}
    return f"{phrase!r} is a domain noun ({role.get(ref.phrase.role, 'listed item')}) with no pattern"
