"""Pydantic models that mirror the ontology's main classes.

Each model names its ontology class in `rdf_class` and maps its scalar fields to the
ontology's datatype properties in `rdf_fields`; a test proves both exist in the ontology.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from rdflib import URIRef

from ontology.errors import InvalidInputError
from ontology.identifiers import check_no_path, label_of, safe_identifier
from ontology.namespaces import FAC

__all__ = [
    "ACCESS_ACTIONS",
    "DATA_TYPES",
    "DEFAULT_GRANTS",
    "DEFAULT_ROLES",
    "INVERSE_CARDINALITY",
    "QUESTION_KINDS",
    "Access",
    "AccessAction",
    "AccessGrant",
    "Answer",
    "Attribute",
    "Blueprint",
    "BoundedContext",
    "Cardinality",
    "DataType",
    "DomainPattern",
    "Entity",
    "EntityNeed",
    "Features",
    "Intent",
    "Objectives",
    "OntologyModel",
    "OpenQuestion",
    "PastDecision",
    "QuestionKind",
    "Relationship",
    "RelationshipNeed",
    "Requirement",
    "Requirements",
]

DataType = Literal[
    "string", "text", "int", "decimal", "money", "bool", "date", "datetime", "email", "url", "uuid", "enum"
]
DATA_TYPES: tuple[str, ...] = get_args(DataType)
Cardinality = Literal["one-to-many", "many-to-one", "many-to-many"]
INVERSE_CARDINALITY: dict[str, Cardinality] = {
    "one-to-many": "many-to-one",
    "many-to-one": "one-to-many",
    "many-to-many": "many-to-many",
}
"""The same relationship read from its other end."""
RequirementKind = Literal["entity", "attribute", "relationship", "feature", "objective"]
QuestionKind = Literal[
    "entity-or-attribute",
    "attribute-or-entity",
    "cardinality",
    "pattern-match",
    # asked by the architect from what a running deployment showed (generators.finding_rules)
    "optional-attribute",
    "validation-rule",
    "entity-removal",
]
QUESTION_KINDS: tuple[str, ...] = get_args(QuestionKind)

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")  # \Z: "$" would let a final "\n" in
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


def _identifier(value: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a safe identifier: use 1-63 lowercase letters, digits and '_', starting with a letter"
        )
    return value


def _optional_identifier(value: str | None) -> str | None:
    return None if value is None else _identifier(value)


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError(f"{value[:60]!r} is not a slug: use lowercase letters, digits and inner hyphens")
    return value


def _normalise_name(data: Any, kind: str) -> Any:
    """Turn a typed name into a safe identifier, keeping what was typed as the label."""
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        raw = data["name"]
        try:
            check_no_path(raw, f"{kind} name")
            ident = safe_identifier(raw, kind=kind)
        except InvalidInputError as exc:
            raise ValueError(str(exc)) from None
        if ident != raw:
            data = {**data, "name": ident, "label": data.get("label") or label_of(raw)}
    return data


class OntologyModel(BaseModel):
    """A model with an ontology class and a field-to-property mapping."""

    model_config = ConfigDict(extra="forbid")
    rdf_class: ClassVar[URIRef]
    rdf_fields: ClassVar[dict[str, URIRef]] = {}


Scalar = str | bool | int | float


class Attribute(OntologyModel):
    """A typed field of an entity."""

    rdf_class: ClassVar[URIRef] = FAC.Attribute
    rdf_fields: ClassVar[dict[str, URIRef]] = {
        "name": FAC.attributeName,
        "type": FAC.dataType,
        "required": FAC.isRequired,
        "unique": FAC.isUnique,
        "pii": FAC.isPii,
        "default_text": FAC.defaultValue,
        "renamed_from": FAC.renamedFrom,
    }

    name: str = Field(description="Safe identifier (snake_case); any typed text is turned into one.")
    label: str = Field("", max_length=200, description="Readable name shown to people.")
    type: DataType = "string"
    required: bool = False
    unique: bool = False
    pii: bool = Field(False, description="Holds personally identifiable information.")
    default: Scalar | None = None
    enum_values: list[str] = Field(default_factory=list, max_length=100, description="Allowed values of an enum.")
    renamed_from: str | None = Field(
        None,
        description="The name this attribute had in the previous revision: its column is renamed and keeps its values.",
    )
    indexed: bool = Field(False, description="A database index on its column, so that lists filtered by it stay fast.")

    _check_name = field_validator("name")(_identifier)
    _check_renamed_from = field_validator("renamed_from")(_optional_identifier)

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        data = _normalise_name(data, "attribute")
        if isinstance(data, dict) and isinstance(data.get("enum_values"), list):
            values = []
            for v in data["enum_values"]:
                if not isinstance(v, str):
                    raise ValueError(f"enum value {v!r} is not text")
                values.append(safe_identifier(v, kind="value") if not IDENTIFIER.match(v) else v)
            data = {**data, "enum_values": values}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Attribute:
        if self.type == "enum" and not self.enum_values:
            raise ValueError("an enum attribute needs enum_values")
        if self.type != "enum" and self.enum_values:
            raise ValueError(f"enum_values only apply to enum attributes, not {self.type}")
        if len(set(self.enum_values)) != len(self.enum_values):
            raise ValueError("enum_values repeat a value")
        if self.default is not None:
            _check_default(self)
        if self.renamed_from == self.name:
            raise ValueError(f"renamed_from names the attribute itself ({self.name!r})")
        return self

    @property
    def default_text(self) -> str | None:
        return None if self.default is None else str(self.default)


def _check_default(attr: Attribute) -> None:
    value, kind = attr.default, attr.type
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "decimal": isinstance(value, int | float) and not isinstance(value, bool),
        "money": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "enum": value in attr.enum_values,
    }.get(kind, isinstance(value, str))
    if not ok:
        raise ValueError(f"default {value!r} does not fit type {kind}")


class Relationship(OntologyModel):
    """An association between two entities, named on both ends."""

    rdf_class: ClassVar[URIRef] = FAC.Relationship
    rdf_fields: ClassVar[dict[str, URIRef]] = {
        "cardinality": FAC.cardinality,
        "source_role": FAC.sourceRole,
        "target_role": FAC.targetRole,
    }

    source: str = Field(description="Entity the relationship starts from.")
    target: str = Field(description="Entity it points to.")
    cardinality: Cardinality = "one-to-many"
    source_role: str = Field(description="Name on the source side, e.g. 'invoices' for customer -> invoices.")
    target_role: str = Field(description="Name on the target side, e.g. 'customer'.")
    eager: bool = Field(
        False, description="Lists of the 'one' side load the related rows in one more query, never one per row."
    )

    _check_names = field_validator("source", "target", "source_role", "target_role")(_identifier)


class Entity(OntologyModel):
    """A business object: a table, a resource and its routes in the generated service."""

    rdf_class: ClassVar[URIRef] = FAC.Entity
    rdf_fields: ClassVar[dict[str, URIRef]] = {"name": FAC.entityName}

    name: str
    label: str = Field("", max_length=200)
    description: str = Field("", max_length=2000)
    context: str | None = None
    pattern: str | None = Field(None, description="Key of the domain pattern it was built from.")
    attributes: list[Attribute] = Field(min_length=1, max_length=200)
    page_size: int | None = Field(
        None, ge=1, le=200, description="How many rows its lists answer when the client names no limit (None: 50)."
    )
    order_indexed: bool = Field(
        False, description="An index on (tenant_id, its list order): a page of its list without sorting every row."
    )

    _check_name = field_validator("name")(_identifier)

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        return _normalise_name(data, "entity")


class BoundedContext(OntologyModel):
    rdf_class: ClassVar[URIRef] = FAC.BoundedContext
    name: str
    label: str = ""

    _check_name = field_validator("name")(_identifier)

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        return _normalise_name(data, "context")


AccessAction = Literal["read", "create", "update", "delete", "pii"]
ACCESS_ACTIONS: tuple[str, ...] = get_args(AccessAction)
DEFAULT_ROLES: tuple[str, ...] = ("viewer", "editor", "admin")
DEFAULT_GRANTS: dict[str, tuple[AccessAction, ...]] = {
    "viewer": ("read",),
    "editor": ("read", "create", "update"),
    "admin": ("read", "create", "update", "delete", "pii"),
}
"""What each default role may do on every entity: only an admin deletes and reads personal data."""


class AccessGrant(OntologyModel):
    """Actions a role may take on one entity (or on every entity: `*`); `pii` lets it read personal data."""

    rdf_class: ClassVar[URIRef] = FAC.AccessGrant
    rdf_fields: ClassVar[dict[str, URIRef]] = {
        "role": FAC.grantRole,
        "entity": FAC.grantEntity,
        "actions_text": FAC.grantActions,
    }

    role: str = Field(description="A role of the access section.")
    entity: str = Field("*", description="An entity name, or '*' for every entity.")
    actions: list[AccessAction] = Field(min_length=1, max_length=len(ACCESS_ACTIONS))

    _check_role = field_validator("role")(_identifier)

    @field_validator("entity")
    @classmethod
    def _entity_or_all(cls, value: str) -> str:
        return value if value == "*" else _identifier(value)

    @field_validator("actions")
    @classmethod
    def _distinct(cls, value: list[AccessAction]) -> list[AccessAction]:
        if len(set(value)) != len(value):
            raise ValueError("actions repeat an action")
        return value

    @property
    def actions_text(self) -> str:
        return " ".join(self.actions)


def _default_grants(roles: list[str]) -> list[AccessGrant]:
    return [AccessGrant(role=r, actions=list(DEFAULT_GRANTS[r])) for r in DEFAULT_ROLES if r in roles]


class Access(BaseModel):
    """Who may do what in the generated service: the roles a token can carry and what each may do.

    Without grants, the default roles keep their safe defaults (viewer reads, editor also creates and
    changes, admin also deletes and reads personal data); other roles may do nothing until granted."""

    model_config = ConfigDict(extra="forbid")
    roles: list[str] = Field(default_factory=lambda: list(DEFAULT_ROLES), min_length=1, max_length=50)
    grants: list[AccessGrant] = Field(default_factory=lambda: _default_grants(list(DEFAULT_ROLES)), max_length=1000)

    @field_validator("roles")
    @classmethod
    def _safe_distinct_roles(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("roles repeat a role")
        return [_identifier(v) for v in values]

    @model_validator(mode="before")
    @classmethod
    def _default_grants_for_default_roles(cls, data: Any) -> Any:
        if isinstance(data, dict) and "grants" not in data and isinstance(data.get("roles"), list):
            roles = [r for r in data["roles"] if isinstance(r, str)]
            data = {**data, "grants": [g.model_dump() for g in _default_grants(roles)]}
        return data

    def allowed(self, entity: str, action: str) -> tuple[str, ...]:
        """The roles granted `action` on `entity`, in the order of `roles`."""
        granted = {g.role for g in self.grants if g.entity in (entity, "*") and action in g.actions}
        return tuple(r for r in self.roles if r in granted)


class Features(BaseModel):
    """Optional behaviour of the generated service; multi-tenancy is always on."""

    model_config = ConfigDict(extra="forbid")
    audit_fields: bool = True
    soft_delete: bool = False
    search: bool = False
    domain_events: bool = True


class Objectives(BaseModel):
    """Service-level objectives the deployed product is measured against."""

    model_config = ConfigDict(extra="forbid")
    p95_latency_ms: float = Field(300.0, gt=0, le=60_000)
    error_rate: float = Field(0.01, ge=0, le=1)


class Requirement(OntologyModel):
    rdf_class: ClassVar[URIRef] = FAC.Requirement
    rdf_fields: ClassVar[dict[str, URIRef]] = {"kind": FAC.requirementKind, "statement": FAC.statement}

    kind: RequirementKind
    statement: str = Field(min_length=1, max_length=2000)


class EntityNeed(BaseModel):
    """An entity the analyst found in an intent, with what the intent says about it."""

    model_config = ConfigDict(extra="forbid")
    name: str
    label: str = ""
    pattern: str | None = Field(None, description="Matched domain pattern key, if any.")
    matched_by: Literal["pattern", "synonym", "similarity", "explicit", "noun", "llm"] = "noun"
    attributes: list[Attribute] = Field(default_factory=list, description="Attributes the intent names explicitly.")
    phrase: str = Field("", description="The words of the intent it came from.")
    confidence: float | None = Field(
        None, ge=0, le=1, description="How likely the person meant it, by the analyst's learned model of its evidence."
    )

    _check_name = field_validator("name")(_identifier)

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        return _normalise_name(data, "entity")


class RelationshipNeed(BaseModel):
    """A relationship the intent states between two entities."""

    model_config = ConfigDict(extra="forbid")
    source: str
    target: str
    cardinality: Cardinality = "one-to-many"
    verb: str = Field("", description="The verb or phrase that stated it, e.g. 'register' or 'have many'.")

    _check_names = field_validator("source", "target")(_identifier)


class OpenQuestion(OntologyModel):
    """Something the analyst is unsure about, for a person to settle: a default and the alternatives.

    `id` is derived from what it asks about (the same question on the same intent has the same id);
    `labels` reads each choice for people ('attribute:company' -> 'an attribute of Company').
    """

    rdf_class: ClassVar[URIRef] = FAC.OpenQuestion
    rdf_fields: ClassVar[dict[str, URIRef]] = {
        "id": FAC.questionId,
        "kind": FAC.questionKind,
        "subject": FAC.questionSubject,
        "text": FAC.questionText,
        "default": FAC.defaultChoice,
    }

    id: str = Field(min_length=1, max_length=200, pattern=r"^[a-z0-9][a-z0-9_.:-]*$")
    kind: QuestionKind
    subject: str = Field(min_length=1, max_length=200, description="What it asks about: a term, 'a-b', 'x.attr'.")
    text: str = Field(min_length=1, max_length=500, description="The question in a sentence.")
    default: str = Field(description="The choice the proposal takes when nobody answers.")
    alternatives: list[str] = Field(min_length=1, max_length=50, description="The other choices.")
    labels: dict[str, str] = Field(default_factory=dict, description="A readable label per choice.")
    evidence: str = Field("", max_length=500, description="The words of the intent it comes from.")

    @model_validator(mode="after")
    def _choices_differ(self) -> OpenQuestion:
        if self.default in self.alternatives or len(set(self.alternatives)) != len(self.alternatives):
            raise ValueError(f"question {self.id}: the default and the alternatives must all differ")
        return self

    @property
    def choices(self) -> list[str]:
        """The default first, then the alternatives."""
        return [self.default, *self.alternatives]

    def label(self, choice: str) -> str:
        return self.labels.get(choice, choice)


class Answer(OntologyModel):
    """The choice a person made for an open question: now, or earlier for the same tenant (`remembered`)."""

    rdf_class: ClassVar[URIRef] = FAC.Answer
    rdf_fields: ClassVar[dict[str, URIRef]] = {"choice": FAC.choice}

    question: OpenQuestion
    choice: str
    remembered: bool = Field(False, description="Taken from the tenant's past decisions, not answered now.")
    decided_by: str = Field("", max_length=200, description="Who decided, for a remembered answer.")

    @model_validator(mode="after")
    def _a_choice_of_the_question(self) -> Answer:
        if self.choice not in self.question.choices:
            raise ValueError(f"{self.choice!r} is not a choice of question {self.question.id}")
        return self


class PastDecision(BaseModel):
    """A decision a tenant's person took on an earlier question, as the knowledge graph remembers it."""

    model_config = ConfigDict(extra="forbid")
    kind: QuestionKind
    subject: str
    choice: str
    person: str = ""
    decided_at: str = ""


class Requirements(BaseModel):
    """What the analyst understood from an intent: the input of the architect."""

    model_config = ConfigDict(extra="forbid")
    product_name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    entities: list[EntityNeed] = Field(default_factory=list)
    relationships: list[RelationshipNeed] = Field(default_factory=list)
    features: Features = Field(default_factory=Features)
    slo: Objectives = Field(default_factory=Objectives)
    notes: list[str] = Field(default_factory=list, description="How each finding was made, for people to review.")
    open_questions: list[OpenQuestion] = Field(
        default_factory=list, description="What the analyst is unsure about; the default of each is applied."
    )
    answers: list[Answer] = Field(default_factory=list, description="Questions settled by a person, now or earlier.")

    def statements(self) -> list[Requirement]:
        """The requirements as sentences, one per finding, for the knowledge graph."""
        out = [Requirement(kind="entity", statement=f"The service manages {e.label or e.name}.") for e in self.entities]
        out += [
            Requirement(kind="attribute", statement=f"{e.label or e.name} has {a.label or a.name} ({a.type}).")
            for e in self.entities
            for a in e.attributes
        ]
        out += [
            Requirement(
                kind="relationship", statement=f"{r.source} {r.verb or 'relates to'} {r.target} ({r.cardinality})."
            )
            for r in self.relationships
        ]
        enabled = [name for name, on in self.features.model_dump().items() if on]
        if enabled:
            out.append(
                Requirement(kind="feature", statement=f"Features: {', '.join(enabled)}; multi-tenancy always on.")
            )
        out.append(
            Requirement(
                kind="objective",
                statement=(
                    f"p95 latency at most {self.slo.p95_latency_ms:g} ms, error rate at most {self.slo.error_rate:g}."
                ),
            )
        )
        return out


class Intent(OntologyModel):
    rdf_class: ClassVar[URIRef] = FAC.Intent
    rdf_fields: ClassVar[dict[str, URIRef]] = {"text": FAC.intentText}

    text: str = Field(min_length=1, max_length=20_000)
    tenant: str
    product: str


class Blueprint(OntologyModel):
    """The domain model of a product: what the factory generates, validated and hashed."""

    rdf_class: ClassVar[URIRef] = FAC.Blueprint
    rdf_fields: ClassVar[dict[str, URIRef]] = {
        "hash": FAC.blueprintHash,
        "audit_fields": FAC.auditFields,
        "soft_delete": FAC.softDelete,
        "search": FAC.searchEnabled,
        "domain_events": FAC.domainEvents,
        "slo_latency": FAC.sloLatencyP95Ms,
        "slo_error_rate": FAC.sloErrorRate,
        "allowed_loss_text": FAC.allowsDataLoss,
        "access_roles": FAC.accessRoles,
    }

    name: str = Field(min_length=1, max_length=200, description="Product name, as people say it.")
    slug: str = Field(description="Product identifier inside its tenant: lowercase letters, digits, hyphens.")
    tenant: str = Field(description="Tenant slug.")
    description: str = Field("", max_length=5000)
    contexts: list[BoundedContext] = Field(default_factory=list, max_length=50)
    entities: list[Entity] = Field(min_length=1, max_length=100)
    relationships: list[Relationship] = Field(default_factory=list, max_length=500)
    features: Features = Field(default_factory=Features)
    slo: Objectives = Field(default_factory=Objectives)
    allow_data_loss: list[str] = Field(
        default_factory=list,
        max_length=500,
        description=(
            "Changes from the previous revision that may lose stored values, each as the build names it: "
            "'entity' (a dropped entity), 'entity.field' (a dropped or narrowed attribute or reference), "
            "'entity.role' (a dropped many-to-many relationship), 'outbox' (domain events turned off)."
        ),
    )
    access: Access = Field(default_factory=Access, description="Roles and what each may do; safe defaults.")

    _check_slugs = field_validator("slug", "tenant")(_slug)

    @field_validator("allow_data_loss")
    @classmethod
    def _loss_names(cls, values: list[str]) -> list[str]:
        for value in values:
            parts = value.split(".")
            if len(parts) > 2 or not all(IDENTIFIER.match(part) for part in parts):
                raise ValueError(f"{value[:60]!r} is not 'entity' or 'entity.field'")
        return sorted(set(values))

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON form: the same blueprint always has the same hash."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def audit_fields(self) -> bool:
        return self.features.audit_fields

    @property
    def soft_delete(self) -> bool:
        return self.features.soft_delete

    @property
    def search(self) -> bool:
        return self.features.search

    @property
    def domain_events(self) -> bool:
        return self.features.domain_events

    @property
    def slo_latency(self) -> float:
        return self.slo.p95_latency_ms

    @property
    def slo_error_rate(self) -> float:
        return self.slo.error_rate

    @property
    def allowed_loss_text(self) -> str | None:
        return "|".join(self.allow_data_loss) or None

    @property
    def access_roles(self) -> str:
        return " ".join(self.access.roles)

    def entity(self, name: str) -> Entity:
        for e in self.entities:
            if e.name == name:
                return e
        raise KeyError(name)


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
