"""The architect: requirements to a blueprint, grounded in the pattern library and past products.

It starts each entity from its domain pattern (typical attributes, with their types and pii
flags), adds what the intent said explicitly, adds the typical relationships whose both ends
are in the product, and — when a knowledge graph is at hand — borrows attributes that similar
past products with a passing validation had for the same entities. Last, what the product's
running deployment showed (its findings, and those of similar products carried over) changes the
blueprint by the rules of generators.finding_rules. Everything it drew on is listed in
`Design.used` so the caller can record it as `prov:used`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from rdflib import URIRef

from generators.agents.base import Agent
from generators.blueprint import parse_blueprint
from generators.finding_rules import Applied, Change, apply_findings
from generators.policy import looks_personal
from graph import KnowledgeGraph
from ontology.errors import FactoryError, InvalidInputError
from ontology.findings import Finding
from ontology.identifiers import plural
from ontology.lifecycle import ARCHITECT
from ontology.models import Attribute, Blueprint, DomainPattern, EntityNeed, OpenQuestion, PastDecision, Requirements
from ontology.namespaces import PAT

__all__ = ["Architect", "Design", "PatternSource"]

DEFAULT_ATTRIBUTES = (
    Attribute(name="name", label="Name", type="string", required=True),
    Attribute(name="description", label="Description", type="text"),
)
MIN_SIMILARITY = 0.55

_PAST_ENTITIES = """PREFIX fac: <https://softwarefactory.dev/ontology#>
SELECT ?product ?entity ?attr ?type ?required ?pii WHERE {
  ?p fac:hasBlueprint ?b . ?b fac:hasEntity ?e .
  ?e fac:entityName ?entity ; fac:hasAttribute ?a .
  ?a fac:attributeName ?attr ; fac:dataType ?type .
  OPTIONAL { ?a fac:isRequired ?required } OPTIONAL { ?a fac:isPii ?pii }
  ?report fac:validates ?b ; fac:passed true .
  FILTER(?p = ?product)
}"""


class PatternOutcome(Protocol):
    """How past builds that used a pattern went (the factory insights)."""

    builds: int
    pass_rate: float
    slo_breaches: int


class PatternSource(Protocol):
    def get(self, key: str) -> DomainPattern | None: ...


@dataclass
class Design:
    """The architect's blueprint, what it used, notes for people to review, what findings changed and the
    questions they raise for the owner."""

    blueprint: Blueprint
    used: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    questions: list[OpenQuestion] = field(default_factory=list)
    base: Blueprint | None = None
    """The blueprint before the findings changed it."""


def product_slug(name: str) -> str:
    words = re.findall(r"[a-z0-9]+", name.lower())
    slug = "-".join(words)[:63].strip("-")
    if not slug:
        raise InvalidInputError(f"cannot make a product slug from {name[:60]!r}: give --product")
    return slug


class Architect(Agent):
    name: ClassVar[str] = ARCHITECT.name  # its identity is stated once, in the stage table
    role: ClassVar[str] = ARCHITECT.role
    version: ClassVar[str] = ARCHITECT.version

    def __init__(
        self,
        patterns: PatternSource,
        kg: KnowledgeGraph | None = None,
        outcomes: Mapping[str, PatternOutcome] | None = None,
    ) -> None:
        self.patterns = patterns
        self.kg = kg
        self.outcomes = outcomes or {}

    def design(
        self,
        requirements: Requirements,
        tenant: str,
        product: str | None = None,
        findings: Sequence[Finding | Applied] = (),
        decisions: Sequence[PastDecision] = (),
    ) -> Design:
        """A valid blueprint for `requirements` in `tenant`; raises InvalidInputError if nothing can be built.

        `findings` (the product's own, and those carried over from similar products) change it by the
        rules of generators.finding_rules; `decisions` are the tenant's answers to the questions they raised.
        """
        if not requirements.entities:
            raise InvalidInputError("the intent names no business objects: say what the service manages")
        used: list[str] = []
        notes: list[str] = []
        slug = product or product_slug(requirements.product_name)
        entities = []
        for need in requirements.entities:
            entities.append(self._entity(need, used, notes))
        past = self._past_attributes(requirements, tenant, used, notes)
        for ent in entities:
            have = {a["name"] for a in ent["attributes"]}
            for attr in past.get(ent["name"], []):
                if attr.name not in have and len(ent["attributes"]) < 12:
                    ent["attributes"].append(attr.model_dump())
                    have.add(attr.name)
        relationships = self._relationships(requirements, entities, notes)
        data: dict[str, Any] = {
            "name": requirements.product_name,
            "slug": slug,
            "tenant": tenant,
            "description": requirements.description,
            "contexts": [{"name": "core", "label": requirements.product_name}],
            "entities": [{**e, "context": "core"} for e in entities],
            "relationships": relationships,
            "features": requirements.features.model_dump(),
            "slo": requirements.slo.model_dump(),
        }
        base = parse_blueprint(data)
        effects = apply_findings(base, findings, decisions)
        return Design(
            effects.blueprint, used + effects.used, notes + effects.notes, effects.changes, effects.questions, base
        )

    def _entity(self, need: EntityNeed, used: list[str], notes: list[str]) -> dict[str, Any]:
        pattern = self.patterns.get(need.pattern) if need.pattern else None
        attributes: dict[str, Attribute] = {}
        if pattern is not None:
            used.append(str(PAT[pattern.key]))
            notes.append(f"{need.name}: attributes from pattern {pattern.key}")
            past = self.outcomes.get(pattern.key)
            if past is not None and (past.pass_rate < 1.0 or past.slo_breaches):
                notes.append(
                    f"{need.name}: past products with pattern {pattern.key} passed {past.pass_rate:.0%} of "
                    f"{past.builds} build(s) and breached SLOs {past.slo_breaches} time(s): review before release"
                )
            for attr in pattern.attributes:
                attributes[attr.name] = attr
        for attr in need.attributes:  # what the intent says wins over the pattern
            attributes[attr.name] = attr
        if not attributes:
            notes.append(f"{need.name}: no pattern; default attributes name and description")
            attributes = {a.name: a for a in DEFAULT_ATTRIBUTES}
        flagged = [a.model_copy(update={"pii": True}) if looks_personal(a) else a for a in attributes.values()]
        return {
            "name": need.name,
            "label": need.label or (pattern.label if pattern else need.name.replace("_", " ").title()),
            "pattern": pattern.key if pattern else None,
            "attributes": [a.model_dump() for a in flagged],  # personal data is always flagged (the policy)
        }

    def _relationships(
        self, requirements: Requirements, entities: list[dict[str, Any]], notes: list[str]
    ) -> list[dict[str, Any]]:
        names = {e["name"] for e in entities}
        by_pattern = {e["pattern"]: e["name"] for e in entities if e["pattern"]}
        members = {e["name"]: {a["name"] for a in e["attributes"]} for e in entities}
        pairs: set[frozenset[str]] = set()
        out: list[dict[str, Any]] = []

        def add(source: str, target: str, cardinality: str, source_role: str | None, target_role: str | None) -> None:
            key = frozenset((source, target))
            if source not in names or target not in names or key in pairs:
                return
            pairs.add(key)
            many_src = cardinality in ("many-to-one", "many-to-many")
            many_dst = cardinality in ("one-to-many", "many-to-many")
            s_role = _free(source_role or (plural(target) if many_dst else target), members[source])
            t_role = _free(target_role or (plural(source) if many_src else source), members[target])
            if source == target and s_role == t_role:
                t_role = _free(f"parent_{source}", members[target])
            members[source].add(s_role)
            members[target].add(t_role)
            out.append(
                {
                    "source": source,
                    "target": target,
                    "cardinality": cardinality,
                    "source_role": s_role,
                    "target_role": t_role,
                }
            )

        for need in requirements.relationships:
            add(need.source, need.target, need.cardinality, None, None)
        for ent in entities:
            pattern = self.patterns.get(ent["pattern"]) if ent["pattern"] else None
            if pattern is None:
                continue
            for rel in pattern.relationships:
                target = by_pattern.get(rel.target)
                if target:
                    notes.append(f"{ent['name']} -> {target}: typical relationship of pattern {pattern.key}")
                    add(ent["name"], target, rel.cardinality, rel.source_role, rel.target_role)
        return out

    def _past_attributes(
        self, requirements: Requirements, tenant: str, used: list[str], notes: list[str]
    ) -> dict[str, list[Attribute]]:
        """Attributes that similar past products (whose validation passed) had for the same entities."""
        if self.kg is None or self.kg.embedder is None:
            return {}
        text = requirements.description or requirements.product_name
        try:
            matches = [m for m in self.kg.similar(text, 3, tenant) if m.kind == "Product" and m.score >= MIN_SIMILARITY]
        except FactoryError:
            return {}  # no past products in this tenant yet
        found: dict[str, list[Attribute]] = {}
        for match in matches:
            result = self.kg.sparql(_PAST_ENTITIES, tenant, {"product": URIRef(match.iri)})
            rows = result.records()
            if not rows:
                continue
            used.append(match.iri)
            notes.append(f"similar past product {match.product} (score {match.score:.2f}) informed attributes")
            for r in rows:
                try:
                    attr = Attribute(name=r["attr"], type=r["type"], required=bool(r["required"]), pii=bool(r["pii"]))
                except ValueError:
                    continue
                found.setdefault(r["entity"], []).append(attr)
        return found


def _free(role: str, taken: set[str]) -> str:
    candidate, n = role, 2
    while candidate in taken:
        candidate = f"{role}_{n}"
        n += 1
    return candidate
