"""How likely a proposed entity is one the person meant: a small learned model over what the analyst saw.

The analyst's rules propose an entity for every noun phrase with a grammatical role that is not a
generic word; on intents it has never seen, a third of them are words used in passing (a place, an
example, a value, the organisation's own words). What such words look like is learned from the
labelled dev split (`tests/intents/dev.yaml`): each proposed entity is described by the evidence
the analyst had for it (how it was matched, its roles, how often and where it is mentioned, how many
relationships and attributes it took part in, whether only a heading names it, the words just
before it, the part of speech the tagger's lexicon gives its head word) and by what its name means (the
embedding model's vector of its words, when the analyst has the model), and a logistic regression over
those gives the probability that the person meant it. Below `THRESHOLD` the entity
becomes an open question whose default is to leave it out (generators.open_questions): a person can
keep it, and a tenant's decision to keep it stands.

The weights live in `generators/entity_confidence.json`; `python -m bench.entity_confidence`
trains them again from the dev split and prints the cross-validated figures. Deterministic: the
same evidence always gives the same probability, and nothing is downloaded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from generators.attribute_inference import infer_attribute
from generators.intent_phrases import NounPhrase, Role
from generators.language import Token, lexicon_tag

__all__ = [
    "FEATURES",
    "MODEL_PATH",
    "THRESHOLD",
    "ConfidenceModel",
    "Evidence",
    "entity_features",
    "meaning_text",
    "model",
]

MODEL_PATH = Path(__file__).with_name("entity_confidence.json")
THRESHOLD = 0.5
"""Below this probability a proposed entity is left out by default (an open question asks about it)."""

_HOWS = ("pattern", "synonym", "similarity", "explicit", "noun")
_ROLES: tuple[Role, ...] = ("subject", "object", "listed", "owner", "item", "attached", "aside", "other")
_FLAGS = ("plural", "each", "many", "definite", "ours", "theirs", "one", "place_name")
_EXAMPLE_WORDS = frozenset({"such", "as", "e.g", "eg", "like", "including"})
_PREPOSITIONS = frozenset({"in", "at", "on", "from", "to", "across", "for", "with", "by", "of"})
FEATURES: tuple[str, ...] = (
    *(f"how_{h}" for h in _HOWS),
    *(f"role_{r}" for r in _ROLES),
    *_FLAGS,
    "mentions",
    "first_sentence",
    "heading_only",
    "one_sentence",
    "first_place",
    "opens_sentence",
    "relationships",
    "no_relationship",
    "attributes",
    "words",
    "pattern",
    "entities",
    "capitalised",
    "after_example_word",
    "after_parenthesis",
    "after_preposition",
    "head_noun",
    "head_unknown",
    "head_adjective",
    "head_verb",
    "valued",
    "text_valued",
)


@dataclass(frozen=True)
class Evidence:
    """What the analyst had for one proposed entity."""

    name: str
    how: str
    pattern: str | None
    mentions: Sequence[NounPhrase]
    relationships: int
    attributes: int


def entity_features(evidence: Evidence, sentences: Sequence[Sequence[Token]], entities: int) -> dict[str, float]:
    """The features of one proposed entity, by name (see FEATURES); each 0 or 1, or a small count."""
    phrases = sorted(evidence.mentions, key=lambda p: (p.sentence, p.position))
    first = phrases[0] if phrases else None
    before: list[str] = []
    if first is not None and first.sentence < len(sentences):
        before = [t.lower for t in sentences[first.sentence][max(0, first.position - 3) : first.position]]
    head = evidence.name.rsplit("_", 1)[-1]
    tag = lexicon_tag(head) or ""
    typed = infer_attribute(evidence.name.replace("_", " ")).type
    found: dict[str, float] = {
        f"how_{evidence.how}": 1.0,
        **{f"role_{p.role}": 1.0 for p in phrases},
        **{flag: 1.0 for flag in _FLAGS if any(getattr(p, flag) for p in phrases)},
        "mentions": math.log1p(len(phrases)),
        "first_sentence": float(first is not None and first.sentence == 0),
        "heading_only": float(len(sentences) > 1 and bool(phrases) and all(p.sentence == 0 for p in phrases)),
        "one_sentence": float(len(sentences) == 1),
        "first_place": first.sentence / max(1, len(sentences)) if first is not None else 0.0,
        "opens_sentence": float(first is not None and first.position == 0),
        "relationships": math.log1p(evidence.relationships),
        "no_relationship": float(evidence.relationships == 0),
        "attributes": math.log1p(evidence.attributes),
        "words": float(len(evidence.name.split("_"))),
        "pattern": float(evidence.pattern is not None),
        "entities": math.log1p(entities),
        "capitalised": float(any(t.text[:1].isupper() for p in phrases if p.position > 0 for t in p.tokens)),
        "after_example_word": float(bool(_EXAMPLE_WORDS.intersection(before))),
        "after_parenthesis": float("(" in before),
        "after_preposition": float(bool(before) and before[-1] in _PREPOSITIONS),
        "head_noun": float(not tag or tag.startswith("NN")),
        "head_unknown": float(not tag),
        "head_adjective": float(tag.startswith("JJ")),
        "head_verb": float(tag.startswith("VB")),
        "valued": float(typed not in ("string", "text")),
        "text_valued": float(typed == "text"),
    }
    return {name: found.get(name, 0.0) for name in FEATURES}


@dataclass(frozen=True)
class ConfidenceModel:
    """A logistic regression over FEATURES and the meaning of the entity's name: the probability that a proposed
    entity is one the person meant.

    The meaning is the embedding model's unit vector of the name's words ('head office', 'dashboard' read as words
    for places and screens, 'invoice' as a record); `meaning_weights` weigh it. Without an embedding model the
    term is `meaning_mean`, what it added on average to the entities it was trained on."""

    weights: Mapping[str, float]
    intercept: float
    meaning_weights: Sequence[float] = ()
    meaning_mean: float = 0.0

    def probability(self, features: Mapping[str, float], meaning: np.ndarray | Sequence[float] | None = None) -> float:
        z = self.intercept + sum(w * features.get(name, 0.0) for name, w in self.weights.items())
        if self.meaning_weights:
            if meaning is not None and len(meaning) == len(self.meaning_weights):
                z += float(np.dot(self.meaning_weights, meaning))
            else:
                z += self.meaning_mean
        return 1.0 / (1.0 + math.exp(-z))

    def to_json(self, provenance: Mapping[str, object]) -> str:
        data = {
            "features": list(FEATURES),
            "weights": [round(self.weights.get(f, 0.0), 5) for f in FEATURES],
            "intercept": round(self.intercept, 5),
            "meaning_weights": [round(float(w), 5) for w in self.meaning_weights],
            "meaning_mean": round(self.meaning_mean, 5),
            "trained": dict(provenance),
        }
        return json.dumps(data, indent=1) + "\n"


def meaning_text(name: str) -> str:
    """The words of an entity's name as the embedding model reads them: 'head_office' -> 'head office'."""
    return name.replace("_", " ")


@cache
def model(path: Path = MODEL_PATH) -> ConfidenceModel:
    """The shipped weights; a feature the file does not weigh counts nothing."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return ConfidenceModel(
        dict(zip(data["features"], data["weights"], strict=True)),
        float(data["intercept"]),
        tuple(float(w) for w in data.get("meaning_weights", ())),
        float(data.get("meaning_mean", 0.0)),
    )
