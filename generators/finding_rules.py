"""What running services showed, turned into the next revision's blueprint: one rule per kind of finding.

The architect applies these rules after it designed a blueprint. Each rule changes the blueprint
(an index, a capped page size, eager loading) or raises an open question for the owner (an
attribute that could be optional, a validation that rejects many real requests, an entity nobody
uses); a finding no rule can act on changes nothing. Every finding that changed something is
returned with the change, so that the design activity records `prov:used` of it.

* slow_filter on a list route's attribute -> an index on (tenant_id, attribute), with its migration; on no
  attribute (or its order, created_at) -> an index on the list's order (tenant_id, created_at, id);
* large_page (an unfiltered list that is slow) -> its order indexed and its default page size capped at
  `PAGE_SIZE_CAP`;
* n_plus_one on a nested route (parent, role) -> the relationship is loaded eagerly: the parent's read model
  embeds the related rows, which its repository loads with selectinload (one statement, never one per row);
* always_empty on a required attribute -> proposed as optional (question `optional-attribute`);
* validation_rejects -> a question to the owner (`validation-rule`); the validation is never relaxed here;
* unused_entity -> flagged for removal (question `entity-removal`); never removed here.

A decision the tenant recorded on such a question (graph.decisions) is honoured: 'required' keeps an
attribute required, 'relax' makes a rejecting attribute optional, 'keep' stops flagging an entity.
Findings of other products of the same tenant carry over to a new product (`carry_over`): to the entity
with the same pattern first, else the one with the same name. Deterministic: no clock, no randomness.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graph.names import finding_iri
from graph.recorder import ChangeFacts
from ontology.findings import Finding
from ontology.models import Blueprint, OpenQuestion, PastDecision

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "PAGE_SIZE_CAP",
    "Applied",
    "Change",
    "FindingEffects",
    "apply_findings",
    "carry_over",
    "changed_files",
]

DEFAULT_PAGE_SIZE = 50
"""The default limit of a generated list (app.domain.pagination.PageParams)."""
PAGE_SIZE_CAP = 20
"""The default limit a list gets when its large pages were slow."""
ORDER_COLUMNS = (None, "created_at", "id")
"""What a slow_filter names when the list was slow in its default order (no filter): its sort columns."""


@dataclass(frozen=True)
class Applied:
    """A finding and the entity of this blueprint it is about (another product's entity, once carried over)."""

    finding: Finding
    entity: str | None

    @property
    def carried(self) -> bool:
        return self.entity != self.finding.entity


@dataclass(frozen=True)
class Change:
    """What one finding changed: the rule that fired, on what, in a sentence."""

    finding: Finding
    rule: str  # "index", "page_size", "eager", "optional", "validation", "removal"
    subject: str  # "order.status", "order", "customer.orders"
    summary: str

    @property
    def iri(self) -> str:
        return finding_iri(self.finding)

    @property
    def entity(self) -> str:
        """The entity of this blueprint the change is about."""
        return self.subject.split(".", 1)[0]

    @property
    def facts(self) -> ChangeFacts:
        """The change as the design activity records it (graph.recorder)."""
        return ChangeFacts(self.iri, self.finding.id, self.rule, self.subject, self.summary)


@dataclass
class FindingEffects:
    """The blueprint after the rules, what changed and the questions for the owner."""

    blueprint: Blueprint
    changes: list[Change] = field(default_factory=list)
    questions: list[OpenQuestion] = field(default_factory=list)

    @property
    def used(self) -> list[str]:
        """The IRIs of the findings that changed something, once each, in order."""
        return list(dict.fromkeys(c.iri for c in self.changes))

    @property
    def notes(self) -> list[str]:
        return [c.summary for c in self.changes]


def changed_files(changes: Sequence[Change], paths: Iterable[str]) -> dict[str, list[str]]:
    """Which change made each of `paths` (files that differ from the render without the findings) differ: the
    changes about the entity the file is named after (`tables/order.py`, `test_api_order.py`), else every change
    (a migration, a module every entity shares). Keys are the findings' ids, as `Change.facts` records them."""
    found: dict[str, list[str]] = {}
    for path in paths:
        stem = path.rsplit("/", 1)[-1].split(".", 1)[0]
        named = [c for c in changes if stem == c.entity or stem.endswith(f"_{c.entity}")]
        found[path] = list(dict.fromkeys(c.finding.id for c in named or changes))
    return found


def carry_over(
    past: Iterable[Finding],
    tenant: str,
    product: str,
    entities: Iterable[tuple[str, str | None]],
    patterns: Mapping[tuple[str, str], str | None] | None = None,
) -> list[Applied]:
    """Findings of other products of `tenant`, mapped onto the new product's `entities` (name, pattern).

    `patterns` gives the pattern of each past (product, entity). A finding maps to the entity with the
    same pattern, else to the one with the same name; other tenants' findings, the product's own and
    findings about no entity are left out. Same-pattern matches come first.
    """
    patterns = patterns or {}
    entities = list(entities)
    by_pattern = {pattern: name for name, pattern in entities if pattern}
    names = {name for name, _ in entities}
    ranked: list[tuple[int, Applied]] = []
    for f in past:
        if f.tenant != tenant or f.product == product or f.entity is None:
            continue
        pattern = patterns.get((f.product, f.entity))
        if pattern and pattern in by_pattern:
            ranked.append((0, Applied(f, by_pattern[pattern])))
        elif f.entity in names:
            ranked.append((1, Applied(f, f.entity)))
    ranked.sort(key=lambda pair: (pair[0], pair[1].finding.product, pair[1].finding.id))
    return [applied for _, applied in ranked]


def apply_findings(
    blueprint: Blueprint,
    findings: Sequence[Finding | Applied],
    decisions: Sequence[PastDecision] = (),
) -> FindingEffects:
    """`blueprint` changed by the rules each finding triggers (see the module), with the changes and questions."""
    data = blueprint.model_dump(mode="json")
    entities = {e["name"]: e for e in data["entities"]}
    decided: dict[tuple[str, str], str] = {
        (d.kind, d.subject): d.choice for d in decisions
    }  # latest decision on a subject wins
    effects = FindingEffects(blueprint)
    asked: set[str] = set()
    seen: set[tuple[str, str | None, str | None]] = set()
    for item in findings:
        applied = item if isinstance(item, Applied) else Applied(item, item.entity)
        f, name = applied.finding, applied.entity
        entity = entities.get(name) if name else None
        if entity is None or (f.kind, name, f.attribute) in seen:
            continue  # about nothing this blueprint has (or already acted on): no rule fires
        seen.add((f.kind, name, f.attribute))
        where = f" (carried over from {f.product})" if applied.carried else ""
        rule = _RULES.get(f.kind)
        done = rule(_Target(f, entity, data["relationships"], decided)) if rule else None
        if done is None:
            continue
        effects.changes.append(Change(f, done.rule, done.subject, f"{done.summary}{where}: {f.summary}"))
        if done.question is not None and done.question.id not in asked:
            asked.add(done.question.id)
            effects.questions.append(done.question)
    if effects.changes:
        effects.blueprint = Blueprint.model_validate(data)
    return effects


@dataclass(frozen=True)
class _Effect:
    """What a rule did: its name, on what, in a sentence, and the question it asks the owner (if any)."""

    rule: str
    subject: str
    summary: str
    question: OpenQuestion | None = None


@dataclass(frozen=True)
class _Target:
    """What a rule acts on: the finding, its entity in the blueprint being changed (a dict, changed in place),
    the blueprint's relationships, and the tenant's decisions on earlier questions."""

    finding: Finding
    entity: dict[str, Any]
    relationships: list[dict[str, Any]]
    decided: Mapping[tuple[str, str], str]

    @property
    def name(self) -> str:
        return str(self.entity["name"])

    @property
    def attribute(self) -> dict[str, Any] | None:
        """The finding's attribute of the entity (None: it names none, or one the entity lacks)."""
        wanted = self.finding.attribute
        return next((a for a in self.entity["attributes"] if a["name"] == wanted), None) if wanted else None

    def subject(self, attribute: Mapping[str, Any] | None) -> str:
        return f"{self.name}.{attribute['name']}" if attribute else self.name

    def ask(self, kind: str, subject: str, text: str, default: str, other: str, labels: dict[str, str]) -> OpenQuestion:
        """The question `kind` about `subject` for the owner, with the finding as its evidence."""
        return OpenQuestion(
            id=f"{kind}:{subject}", kind=kind, subject=subject, text=text, default=default, alternatives=[other],
            labels=labels, evidence=self.finding.summary[:500],
        )  # fmt: skip


def _index(t: _Target) -> _Effect | None:
    if t.finding.attribute in ORDER_COLUMNS:  # slow in its default order: index the order
        if t.entity.get("order_indexed"):
            return None
        t.entity["order_indexed"] = True
        return _Effect("order_index", t.name, f"{t.name}: its list order indexed, the list read every row to sort them")
    attr = t.attribute
    if attr is None or attr["indexed"] or attr["unique"]:
        return None  # nothing to filter on, or already backed by an index (a unique constraint has one)
    attr["indexed"] = True
    return _Effect("index", t.subject(attr), f"{t.subject(attr)} indexed: the list filtered by it was slow")


def _page_size(t: _Target) -> _Effect | None:
    """An unfiltered list that is slow: its default order gets an index and its default page is capped."""
    done = []
    if not t.entity.get("order_indexed"):
        t.entity["order_indexed"] = True
        done.append("its list order indexed")
    current = t.entity.get("page_size") or DEFAULT_PAGE_SIZE
    if current > PAGE_SIZE_CAP:
        t.entity["page_size"] = PAGE_SIZE_CAP
        done.append(f"default page size capped at {PAGE_SIZE_CAP} (was {current})")
    if not done:
        return None
    return _Effect("page_size", t.name, f"{t.name}: {' and '.join(done)}: its unfiltered list was slow")


def _eager(t: _Target) -> _Effect | None:
    hits = []
    for rel in t.relationships:
        if rel["cardinality"] == "many-to-many" or rel["source"] == rel["target"]:
            continue  # a link table's list is one query already; a row never embeds rows of its own entity
        one_to_many = rel["cardinality"] == "one-to-many"
        one_side, role = (rel["source"], rel["source_role"]) if one_to_many else (rel["target"], rel["target_role"])
        if one_side == t.name and t.finding.attribute in (None, role) and not rel["eager"]:
            rel["eager"] = True
            hits.append(f"{t.name}.{role}")
    if not hits:
        return None
    summary = f"{', '.join(hits)} loaded eagerly (selectinload): the nested route read one row at a time"
    return _Effect("eager", hits[0], summary)


def _optional(t: _Target) -> _Effect | None:
    attr = t.attribute
    if attr is None or not attr["required"]:
        return None
    subject = t.subject(attr)
    if t.decided.get(("optional-attribute", subject)) == "required":
        return _Effect("optional", subject, f"{subject} kept required (the owner decided so)")
    attr["required"] = False
    question = t.ask(
        "optional-attribute", subject, f"Clients send {subject} empty in nearly every write: may it be optional?",
        "optional", "required", {"optional": "optional (clients may leave it out)", "required": "keep it required"},
    )  # fmt: skip
    return _Effect("optional", subject, f"{subject} proposed as optional", question)


def _validation(t: _Target) -> _Effect | None:
    attr = t.attribute
    subject = t.subject(attr)
    if t.decided.get(("validation-rule", subject)) == "relax" and attr is not None and attr["required"]:
        attr["required"] = False
        return _Effect("validation", subject, f"{subject} made optional (the owner decided to relax its validation)")
    question = t.ask(
        "validation-rule", subject,
        f"The validation of {subject} rejects {t.finding.value:.0%} of real writes: is the rule right?", "keep",
        "relax", {"keep": "keep the rule (clients must send valid values)", "relax": "make it optional"},
    )  # fmt: skip
    return _Effect("validation", subject, f"{subject}: its validation rejects many writes, asked the owner", question)


def _removal(t: _Target) -> _Effect | None:
    if t.decided.get(("entity-removal", t.name)) == "keep":
        return None  # the owner keeps it: not flagged again
    question = t.ask(
        "entity-removal", t.name,
        f"Nobody read or wrote {t.name} in production over the window: remove it from the product?", "keep",
        "remove", {"keep": "keep it", "remove": "remove it (edit the blueprint and allow the data loss)"},
    )  # fmt: skip
    return _Effect("removal", t.name, f"{t.name} flagged for removal (kept until the owner decides)", question)


_RULES: dict[str, Callable[[_Target], _Effect | None]] = {
    "slow_filter": _index,
    "large_page": _page_size,
    "n_plus_one": _eager,
    "always_empty": _optional,
    "validation_rejects": _validation,
    "unused_entity": _removal,
}
"""Finding kind -> its rule; `slo_breach` has none of its own: the findings that explain it do."""
