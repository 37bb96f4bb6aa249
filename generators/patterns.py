"""The domain pattern library as typed models, with the lookups the analyst and architect need.

Loaded once per process from ontology/patterns.ttl. A phrase finds its pattern by key
("line item"), synonym ("client"), plural ("categories", "people") or, when nothing matches
exactly, by meaning: the nearest pattern name in sentence-embedding space above a threshold.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS

from generators.language import singular
from ontology.models import Attribute, DomainPattern, Relationship
from ontology.namespaces import FAC
from ontology.vocabulary import PATTERNS_PATH, load_turtle

__all__ = [
    "Embedder",
    "PatternHit",
    "PatternLibrary",
    "SimilarPattern",
    "normalise",
    "pattern_library",
]

Embedder = Callable[[Sequence[str]], Any]
"""Texts -> unit vectors (one row per text), e.g. graph.embeddings.SentenceEmbedder."""

DEFAULT_THRESHOLD = 0.75
"""Cosine a phrase must reach to take a pattern's name: below it, role nouns drift to what they act on."""
_DERIVATION = re.compile(r"(holders?|ers?|ors?|ees?|ists?|ations?|itions?|ments?|ings?|ships?|als?|s)$")


def normalise(phrase: str) -> str:
    """Lowercase singular words joined by spaces: 'Line_Items' or 'LineItems' -> 'line item', 'People' -> 'person'."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", phrase.replace("_", " "))
    words = re.findall(r"[a-z0-9]+", spaced.lower())
    return " ".join(singular(w) for w in words)


@dataclass(frozen=True)
class PatternHit:
    """A run of words [start, end) of a phrase that names a pattern."""

    key: str
    how: Literal["pattern", "synonym"]
    name: str
    start: int
    end: int


@dataclass(frozen=True)
class SimilarPattern:
    """The pattern nearest in meaning to a phrase, with the name it was nearest to."""

    pattern: DomainPattern
    score: float
    name: str


class PatternLibrary:
    """The domain patterns, indexed by every name they go by."""

    def __init__(self, patterns: Sequence[DomainPattern]) -> None:
        self.patterns: tuple[DomainPattern, ...] = tuple(patterns)
        self._by_key = {p.key: p for p in self.patterns}
        self._names: dict[str, tuple[str, Literal["pattern", "synonym"]]] = {}
        for p in self.patterns:
            for name in (p.key, p.label):
                self._names.setdefault(normalise(name), (p.key, "pattern"))
        for p in self.patterns:
            for name in p.synonyms:
                self._names.setdefault(normalise(name), (p.key, "synonym"))
        self.max_words = max(len(n.split()) for n in self._names)
        self.pattern_words: frozenset[str] = frozenset(w for n in self._names for w in n.split())
        """Every word used in a pattern name (singular), for telling nouns from verbs."""
        self._heads: dict[str, list[str]] = {}
        for name, (key, _) in self._names.items():
            words = name.split()
            if len(words) > 1 and key not in self._heads.get(words[-1], []):
                self._heads.setdefault(words[-1], []).append(key)
        self._vectors: dict[int, tuple[Embedder, np.ndarray, list[str], list[str]]] = {}
        self._nearest: dict[int, dict[str, tuple[str, float, str]]] = {}
        """Per embedder: each phrase already embedded -> (nearest key, cosine, name)."""
        self._phrases: dict[int, dict[str, np.ndarray]] = {}
        """Per embedder: the vectors of phrases embedded lately, for the analyst's other readings of them."""
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path = PATTERNS_PATH) -> PatternLibrary:
        """Read a pattern library Turtle file (the shipped one by default)."""
        return cls(_read_patterns(load_turtle(path), path.read_text(encoding="utf-8")))

    def __len__(self) -> int:
        return len(self.patterns)

    def get(self, key: str) -> DomainPattern | None:
        """The pattern with this key, or None."""
        return self._by_key.get(key)

    def lookup(self, phrase: str) -> tuple[DomainPattern, Literal["pattern", "synonym"]] | None:
        """The pattern a whole phrase names and whether it was its key/label or a synonym."""
        found = self._names.get(normalise(phrase))
        return None if found is None else (self._by_key[found[0]], found[1])

    def find(self, phrase: str) -> DomainPattern | None:
        """The pattern a whole phrase names (key, label, synonym, any plural), or None."""
        found = self.lookup(phrase)
        return None if found is None else found[0]

    def match(self, lemmas: Sequence[str]) -> list[PatternHit]:
        """Pattern names inside a run of singular words, longest first, scanning from the last word back."""
        hits: list[PatternHit] = []
        end = len(lemmas)
        while end > 0:
            for size in range(min(self.max_words, end), 0, -1):
                name = " ".join(lemmas[end - size : end])
                found = self._names.get(name)
                if found is not None:
                    hits.append(PatternHit(found[0], found[1], name, end - size, end))
                    end -= size
                    break
            else:
                end -= 1
        return hits[::-1]

    def head_candidates(self, lemma: str) -> list[str]:
        """Patterns with a multi-word name ending in this word: 'ticket' -> event_ticket, support_ticket."""
        return list(self._heads.get(lemma, []))

    def related(self, a: str, b: str) -> Relationship | None:
        """The library's relationship between two patterns, in either direction."""
        for source, target in ((a, b), (b, a)):
            pattern = self._by_key.get(source)
            if pattern is not None:
                for rel in pattern.relationships:
                    if rel.target == target:
                        return rel
        return None

    def embed_index(self) -> tuple[list[str], list[str]]:
        """(keys, texts) to embed for similarity: each pattern's label, each synonym, and its description."""
        keys: list[str] = []
        texts: list[str] = []
        for p in self.patterns:
            names = [p.label, *p.synonyms]
            for name in names:
                keys.append(p.key)
                texts.append(name)
            keys.append(p.key)
            texts.append(f"{p.label} ({', '.join(p.synonyms)}): {p.comment}")
        return keys, texts

    def prepare(self, embedder: Embedder) -> None:
        """Encode the library's names with `embedder` now (or read them from its cache), rather than when a
        phrase first needs them: a process pays it on its first analysis, whatever the intent."""
        self._matrix(embedder)

    def _matrix(self, embedder: Embedder) -> tuple[np.ndarray, list[str], list[str]]:
        with self._lock:
            cached = self._vectors.get(id(embedder))
            if cached is None or cached[0] is not embedder:
                keys, texts = self.embed_index()
                fixed = getattr(embedder, "fixed", None)  # an embedder that keeps fixed texts' vectors on disk
                matrix = np.asarray(fixed(texts) if fixed is not None else embedder(texts), dtype=np.float32)
                cached = (embedder, matrix, keys, texts)
                self._vectors[id(embedder)] = cached
        return cached[1], cached[2], cached[3]

    def nearest(
        self,
        phrase: str,
        embedder: Embedder,
        threshold: float = DEFAULT_THRESHOLD,
        exclude: frozenset[str] = frozenset(),
    ) -> SimilarPattern | None:
        """The pattern whose names are nearest in meaning to `phrase`, if its cosine reaches `threshold`.

        No match when the nearest is a pattern in `exclude` (what the phrase names as a modifier:
        an 'invoice recipient' is not an invoice) or a name that is the phrase with another ending
        ('renter' is not a 'rent', 'card' is not a 'cardholder'): those are different things.
        """
        return self.nearest_many([(phrase, exclude)], embedder, threshold)[0]

    def embed(self, phrases: Sequence[str], embedder: Embedder) -> dict[str, np.ndarray]:
        """The unit vector of each phrase, embedding in one batch only those not embedded lately."""
        cache = self._phrases.setdefault(id(embedder), {})
        found = {p: cache[p] for p in phrases if p in cache}
        new = sorted({p for p in phrases if p not in found})
        if new:
            if len(cache) > 20_000:
                cache.clear()  # a long-running process keeps at most this many vectors (30 MB)
            for text, vector in zip(new, np.asarray(embedder(new), dtype=np.float32), strict=True):
                cache[text] = found[text] = vector
        return found

    def nearest_many(
        self, phrases: Sequence[tuple[str, frozenset[str]]], embedder: Embedder, threshold: float = DEFAULT_THRESHOLD
    ) -> list[SimilarPattern | None]:
        """`nearest` for many (phrase, exclude) pairs, embedding the phrases not seen before in one batch."""
        matrix, keys, texts = self._matrix(embedder)
        cache = self._nearest.setdefault(id(embedder), {})
        new = sorted({p for p, _ in phrases if p.strip() and p not in cache})
        if new:
            if len(cache) > 50_000:
                cache.clear()  # a long-running process keeps at most this many phrases
            vectors = self.embed(new, embedder)
            for text in new:
                scores = vectors[text] @ matrix.T
                best = int(np.argmax(scores))
                cache[text] = (keys[best], float(scores[best]), texts[best])
        out: list[SimilarPattern | None] = []
        for phrase, exclude in phrases:
            hit = cache.get(phrase)
            if hit is None or hit[1] < threshold or hit[0] in exclude or _derived(phrase, hit[2]):
                out.append(None)
            else:
                out.append(SimilarPattern(self._by_key[hit[0]], round(hit[1], 4), hit[2]))
        return out


def _derived(phrase: str, name: str) -> bool:
    """Whether two single words share a stem and differ only in a derivational ending."""
    a, b = phrase.lower().split(), name.lower().split()
    if len(a) != 1 or len(b) != 1 or a == b:
        return False
    stem_a, stem_b = _DERIVATION.sub("", a[0]), _DERIVATION.sub("", b[0])
    short = min(stem_a, stem_b, key=len)
    return len(short) >= 3 and (stem_a.startswith(stem_b) or stem_b.startswith(stem_a))


def _text(graph: Graph, node: Any, prop: URIRef) -> str:
    value = graph.value(node, prop)
    return "" if value is None else str(value)


def _flag(graph: Graph, node: Any, prop: URIRef) -> bool:
    value = graph.value(node, prop)
    return bool(value is not None and value.toPython() is True)


def _position(source: str, iri: Any) -> int:
    """Where a pattern-library IRI first appears in the Turtle text: the order its author listed it in."""
    local = str(iri).rsplit("/", 1)[-1]
    found = re.search(rf"pat:{re.escape(local)}(?![\w.-])", source)
    return found.start() if found else len(source)


def _read_patterns(graph: Graph, source: str) -> list[DomainPattern]:
    patterns = []
    for node in sorted(graph.subjects(RDF.type, FAC.DomainPattern), key=lambda n: _position(source, n)):
        key = _text(graph, node, FAC.patternKey)
        attributes = []
        for attr in sorted(graph.objects(node, FAC.typicalAttribute), key=lambda n: _position(source, n)):
            kind = _text(graph, attr, FAC.dataType) or "string"
            values = [v for v in _text(graph, attr, FAC.enumValues).split("|") if v]
            attributes.append(
                Attribute.model_validate(
                    {
                        "name": _text(graph, attr, FAC.attributeName),
                        "label": _text(graph, attr, RDFS.label),
                        "type": kind,
                        "required": _flag(graph, attr, FAC.isRequired),
                        "unique": _flag(graph, attr, FAC.isUnique),
                        "pii": _flag(graph, attr, FAC.isPii),
                        "enum_values": values if kind == "enum" else [],
                    }
                )
            )
        relationships = []
        for rel in sorted(graph.objects(node, FAC.typicalRelationship), key=lambda n: _position(source, n)):
            relationships.append(
                Relationship.model_validate(
                    {
                        "source": key,
                        "target": _text(graph, graph.value(rel, FAC.patternTarget), FAC.patternKey),
                        "cardinality": _text(graph, rel, FAC.cardinality),
                        "source_role": _text(graph, rel, FAC.sourceRole),
                        "target_role": _text(graph, rel, FAC.targetRole),
                    }
                )
            )
        patterns.append(
            DomainPattern(
                key=key,
                label=_text(graph, node, RDFS.label) or key.replace("_", " ").title(),
                comment=_text(graph, node, RDFS.comment),
                synonyms=[s.strip() for s in _text(graph, node, FAC.synonyms).split("|") if s.strip()],
                attributes=attributes,
                relationships=relationships,
            )
        )
    return patterns


@cache
def pattern_library() -> PatternLibrary:
    """The shipped pattern library, parsed once per process."""
    return PatternLibrary.load()
