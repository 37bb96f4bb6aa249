"""Pydantic models that mirror the ontology's main classes.

Each model names its ontology class in `rdf_class` and maps its scalar fields to the
ontology's datatype properties in `rdf_fields`; a test proves both exist in the ontology.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from rdflib import URIRef

from ontology.namespaces import FAC

__all__ = [
    "DATA_TYPES",
    "Attribute",
    "Blueprint",
    "BoundedContext",
    "Cardinality",
    "DataType",
    "DomainPattern",
    "Entity",
    "Intent",
    "OntologyModel",
    "Relationship",
    "Requirement",
]

DataType = Literal[
    "string", "text", "int", "decimal", "money", "bool", "date", "datetime", "email", "url", "uuid", "enum"
]
DATA_TYPES: tuple[str, ...] = DataType.__args__
Cardinality = Literal["one-to-many", "many-to-one", "many-to-many"]
RequirementKind = Literal["entity", "attribute", "relationship", "feature", "objective"]

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _identifier(value: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a safe identifier: use 1-63 lowercase letters, digits and '_', starting with a letter"
        )
    return value


class OntologyModel(BaseModel):
    """A model with an ontology class and a field-to-property mapping."""

    model_config = ConfigDict(extra="forbid", frozen=False)
    rdf_class: ClassVar[URIRef]
    rdf_fields: ClassVar[dict[str, URIRef]] = {}


class Attribute(OntologyModel):
    rdf_class: ClassVar[URIRef] = FAC.Attribute
    rdf_fields: ClassVar[dict[str, URIRef]] = {
        "name": FAC.attributeName,
        "type": FAC.dataType,
        "required": FAC.isRequired,
        "unique": FAC.isUnique,
        "pii": FAC.isPii,
    }

    name: str
    label: str = ""
    type: DataType = "string"
    required: bool = False
    unique: bool = False
    pii: bool = False
    enum_values: list[str] = Field(default_factory=list)

    _check_name = field_validator("name")(_identifier)


class Relationship(OntologyModel):
    rdf_class: ClassVar[URIRef] = FAC.Relationship
    rdf_fields: ClassVar[dict[str, URIRef]] = {
        "cardinality": FAC.cardinality,
        "source_role": FAC.sourceRole,
        "target_role": FAC.targetRole,
    }

    source: str
    target: str
    cardinality: Cardinality = "one-to-many"
    source_role: str
    target_role: str

    _check_names = field_validator("source", "target", "source_role", "target_role")(_identifier)


class Entity(OntologyModel):
    rdf_class: ClassVar[URIRef] = FAC.Entity
    rdf_fields: ClassVar[dict[str, URIRef]] = {"name": FAC.entityName}

    name: str
    label: str = ""
    context: str | None = None
    pattern: str | None = None
    attributes: list[Attribute] = Field(min_length=1)

    _check_name = field_validator("name")(_identifier)


class BoundedContext(OntologyModel):
    rdf_class: ClassVar[URIRef] = FAC.BoundedContext
    name: str
    label: str = ""

    _check_name = field_validator("name")(_identifier)


class Requirement(OntologyModel):
    rdf_class: ClassVar[URIRef] = FAC.Requirement
    rdf_fields: ClassVar[dict[str, URIRef]] = {"kind": FAC.requirementKind, "statement": FAC.statement}

    kind: RequirementKind
    statement: str = Field(min_length=1, max_length=2000)


class Intent(OntologyModel):
    rdf_class: ClassVar[URIRef] = FAC.Intent
    rdf_fields: ClassVar[dict[str, URIRef]] = {"text": FAC.intentText}

    text: str = Field(min_length=1, max_length=20_000)
    tenant: str
    product: str


class Blueprint(OntologyModel):
    rdf_class: ClassVar[URIRef] = FAC.Blueprint
    rdf_fields: ClassVar[dict[str, URIRef]] = {"hash": FAC.blueprintHash}

    name: str = Field(min_length=1, max_length=200)
    slug: str
    tenant: str
    description: str = ""
    hash: str = ""
    contexts: list[BoundedContext] = Field(default_factory=list)
    entities: list[Entity] = Field(min_length=1)
    relationships: list[Relationship] = Field(default_factory=list)


class DomainPattern(OntologyModel):
    rdf_class: ClassVar[URIRef] = FAC.DomainPattern
    rdf_fields: ClassVar[dict[str, URIRef]] = {"key": FAC.patternKey}

    key: str
    label: str
    comment: str = ""
    synonyms: list[str] = Field(default_factory=list)
    attributes: list[Attribute] = Field(default_factory=list)
    relationships: list[Relationship] = Field(default_factory=list)

    _check_key = field_validator("key")(_identifier)
