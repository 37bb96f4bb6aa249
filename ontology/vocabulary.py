"""Reads the ontology's Turtle files and answers questions about their classes and properties.

Everything else that needs the schema (the property-graph tables, the agreement tests)
derives it from here, so the Turtle files stay the single source of the vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from ontology.namespaces import FAC

__all__ = [
    "ONTOLOGY_PATH",
    "PATTERNS_PATH",
    "SHAPES_PATH",
    "Property",
    "Vocabulary",
    "load_turtle",
    "vocabulary",
]

_HERE = Path(__file__).resolve().parent
ONTOLOGY_PATH = _HERE / "factory.ttl"
SHAPES_PATH = _HERE / "shapes.ttl"
PATTERNS_PATH = _HERE / "patterns.ttl"


@cache
def load_turtle(path: Path) -> Graph:
    """Parse one of the ontology's Turtle files (cached: they never change at run time)."""
    graph = Graph()
    graph.parse(path, format="turtle")
    return graph


@dataclass(frozen=True)
class Property:
    """A property of the ontology with its (single) domain and range; domain None means any node."""

    iri: URIRef
    domain: URIRef | None
    range: URIRef

    @property
    def name(self) -> str:
        return local_name(self.iri)


def local_name(iri: str) -> str:
    """The part of an IRI after its last '#' or '/'."""
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


class Vocabulary:
    """Classes and properties of the factory ontology, with the class hierarchy resolved."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._parents: dict[URIRef, set[URIRef]] = {}
        for child, parent in graph.subject_objects(RDFS.subClassOf):
            self._parents.setdefault(URIRef(str(child)), set()).add(URIRef(str(parent)))
        self.classes: list[URIRef] = sorted(
            URIRef(str(c)) for c in graph.subjects(RDF.type, OWL.Class) if str(c).startswith(str(FAC))
        )
        self.datatype_properties = self._properties(OWL.DatatypeProperty)
        self.object_properties = self._properties(OWL.ObjectProperty)

    def _properties(self, kind: URIRef) -> list[Property]:
        found = []
        for iri in graph_subjects(self.graph, kind):
            domain = self.graph.value(iri, RDFS.domain)
            rng = self.graph.value(iri, RDFS.range)
            if rng is None:
                raise ValueError(f"ontology property {iri} has no rdfs:range")
            found.append(Property(iri, URIRef(str(domain)) if domain else None, URIRef(str(rng))))
        return sorted(found, key=lambda p: str(p.iri))

    def ancestors(self, cls: URIRef) -> list[URIRef]:
        """The class itself and every class above it, nearest first."""
        seen: list[URIRef] = [cls]
        frontier = [cls]
        while frontier:
            nxt = []
            for c in frontier:
                for parent in sorted(self._parents.get(c, ())):
                    if parent not in seen:
                        seen.append(parent)
                        nxt.append(parent)
            frontier = nxt
        return seen

    def is_subclass(self, cls: URIRef, of: URIRef) -> bool:
        return of in self.ancestors(cls)

    def root(self, cls: URIRef) -> URIRef:
        """The topmost factory class above `cls`: the property-graph table its instances go in."""
        fac_ancestors = [c for c in self.ancestors(cls) if c in self.classes]
        return fac_ancestors[-1]

    @property
    def roots(self) -> list[URIRef]:
        return sorted({self.root(c) for c in self.classes})

    def roots_under(self, cls: URIRef) -> list[URIRef]:
        """Root classes whose instances are also instances of `cls`."""
        return [r for r in self.roots if self.is_subclass(r, cls)]

    def label(self, iri: URIRef) -> str:
        value = self.graph.value(iri, RDFS.label)
        return str(value) if value is not None else local_name(iri)

    def properties_of(self, root: URIRef) -> list[Property]:
        """Datatype properties an instance of `root` (or of any class below it) may carry."""
        below = [c for c in self.classes if self.root(c) == root]
        above = {a for c in below for a in self.ancestors(c)}
        return [p for p in self.datatype_properties if p.domain is not None and p.domain in above]

    @property
    def common_properties(self) -> list[Property]:
        """Datatype properties without a domain: every node may carry them."""
        return [p for p in self.datatype_properties if p.domain is None]


def graph_subjects(graph: Graph, kind: URIRef) -> list[URIRef]:
    return [URIRef(str(s)) for s in graph.subjects(RDF.type, kind)]


@cache
def vocabulary() -> Vocabulary:
    """The factory ontology's vocabulary, parsed once per process."""
    return Vocabulary(load_turtle(ONTOLOGY_PATH))
