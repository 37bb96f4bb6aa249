"""Namespace constants of the factory's vocabulary and of the IRIs it mints."""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import OWL, PROV, RDF, RDFS, SH, XSD

__all__ = ["FAC", "GRAPH", "ID", "OWL", "PAT", "PROV", "RDF", "RDFS", "SH", "XSD"]

FAC = Namespace("https://softwarefactory.dev/ontology#")
"""Classes and properties of the factory ontology."""

PAT = Namespace("https://softwarefactory.dev/patterns/")
"""Concepts of the domain pattern library."""

ID = Namespace("https://softwarefactory.dev/id/")
"""Things the factory records: products, blueprints, artifacts, activities ..."""

GRAPH = Namespace("https://softwarefactory.dev/graph/")
"""Named graphs: one per product inside its tenant, plus the shared ontology and patterns."""
