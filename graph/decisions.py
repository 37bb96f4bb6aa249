"""People's decisions on the analyst's open questions, kept as PROV facts in their tenant's graph.

Each answer is recorded as a `fac:DecisionActivity` associated with the person who took it
(`prov:wasAssociatedWith`, a `fac:Person` known by the operating-system user name until an
identity system names people) that `prov:used` the `fac:OpenQuestion` and generated the
`fac:Answer` (`prov:wasGeneratedBy`, `fac:answers`). They live in the tenant's decisions graph
(`graph/tenant/<t>/decisions`), which a product rebuild never replaces, which the tenant's
SPARQL queries see and its exports carry. The analyst reads them back with `past_decisions`
so that a tenant is not asked the same question twice.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Sequence
from typing import TYPE_CHECKING

from graph.facts import ProductFacts, person_iri
from graph.names import decisions_graph
from ontology.errors import FactoryError
from ontology.models import Answer, PastDecision
from ontology.namespaces import FAC, ID, PROV
from ontology.refs import new_trace_id

if TYPE_CHECKING:  # a caller passes the graph: importing the decisions loads no engine
    from graph.knowledge_graph import KnowledgeGraph

__all__ = [
    "PAST_DECISIONS",
    "POLICY_VERSIONS",
    "DecisionFacts",
    "acting_user",
    "past_decisions",
    "person_iri",
    "record_decisions",
    "record_policy",
]

PAST_DECISIONS = """PREFIX fac: <https://softwarefactory.dev/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?kind ?subject ?choice ?person ?at WHERE {
  ?answer a fac:Answer ; fac:choice ?choice ; fac:answers ?question ; prov:wasGeneratedBy ?decision .
  ?question fac:questionKind ?kind ; fac:questionSubject ?subject .
  ?decision a fac:DecisionActivity ; prov:startedAtTime ?at ; prov:wasAssociatedWith ?who .
  ?who fac:userName ?person .
} ORDER BY ?at ?subject"""
"""A tenant's decisions, oldest first (so that the latest on a subject wins)."""

POLICY_VERSIONS = """PREFIX fac: <https://softwarefactory.dev/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?scope ?version ?digest ?person ?at WHERE {
  ?policy a fac:Policy ; fac:policyScope ?scope ; fac:policyVersion ?version ; fac:policyDigest ?digest ;
          prov:wasGeneratedBy ?change .
  ?change a fac:PolicyActivity ; prov:startedAtTime ?at ; prov:wasAssociatedWith/fac:userName ?person .
} ORDER BY ?version"""
"""The versions of a tenant's policy (`?scope` bound), oldest first, with who put each in force and when."""


def acting_user() -> str:
    """Who acts: the operating-system user name (an identity system replaces this later)."""
    try:
        return getpass.getuser() or "someone"
    except (KeyError, OSError):
        return "someone"


class DecisionFacts(ProductFacts):
    """The quads of one batch of decisions, in the tenant's decisions graph; the batch id is their trace id."""

    def __init__(self, tenant: str, batch: str) -> None:
        super().__init__(
            tenant, "decisions", batch, graph=decisions_graph(tenant)
        )  # "decisions": a placeholder product

    def iri(self, *parts: str) -> str:
        # "_decision" is never a product slug, so these IRIs never meet a product's
        return str(ID["/".join((self.tenant, "_decision", self.trace_id, *parts))])


def record_decisions(
    kg: KnowledgeGraph,
    tenant: str,
    answers: Sequence[Answer],
    user: str | None = None,
    when: dt.datetime | None = None,
) -> list[str]:
    """Record the answers a person gave now as their decisions in `tenant`'s graph; returns the answers' IRIs.

    Remembered answers (taken from earlier decisions) are not recorded again.
    """
    given = [a for a in answers if not a.remembered]
    if not given:
        return []
    user = " ".join((user or acting_user()).split())
    started = when or dt.datetime.now(dt.UTC)
    facts = DecisionFacts(tenant, new_trace_id())
    person = facts.person(user)
    iris = []
    for i, answer in enumerate(given):
        q = answer.question
        question = facts.model(q, facts.iri(str(i), "question"), q.text)
        decision = facts.node(
            FAC.DecisionActivity,
            facts.iri(str(i), "decision"),
            f"{user} decided {q.id} = {answer.choice}",
            {PROV.startedAtTime: started, PROV.endedAtTime: started},
        )
        facts.link(decision, PROV.wasAssociatedWith, person)
        facts.link(decision, PROV.used, question)
        made = facts.model(answer, facts.iri(str(i), "answer"), f"{q.id} = {answer.choice}")
        facts.link(made, FAC.answers, question)
        facts.link(made, PROV.wasGeneratedBy, decision)
        facts.link(made, PROV.wasAttributedTo, person)
        iris.append(made)
    kg.write(facts, replace=False)
    return iris


def record_policy(
    kg: KnowledgeGraph, tenant: str, in_force: str, rule: str, user: str, when: dt.datetime | None = None
) -> int:
    """Record that `user` put `rule` (the tenant's own policy text) in force for `tenant`, so that the policy
    in force is the text `in_force`: a policy change that generated the next version of the tenant's policy,
    known by the SHA-256 of `in_force` (the IRI an approval under it uses). Returns the version number."""
    rows = kg.sparql(POLICY_VERSIONS, tenant, {"scope": tenant}).records()
    version = max((int(row["version"]) for row in rows), default=0) + 1
    started = when or dt.datetime.now(dt.UTC)
    facts = DecisionFacts(tenant, new_trace_id())
    person = facts.person(user)
    change = facts.node(
        FAC.PolicyActivity,
        facts.iri("policy-change"),
        f"{user} set the policy of {tenant} (version {version})",
        {PROV.startedAtTime: started, PROV.endedAtTime: started},
    )
    facts.link(change, PROV.wasAssociatedWith, person)
    policy = facts.policy(tenant, in_force, version, rule)
    facts.link(policy, PROV.wasGeneratedBy, change)
    facts.link(policy, PROV.wasAttributedTo, person)
    kg.write(facts, replace=False)
    return version


def past_decisions(kg: KnowledgeGraph, tenant: str) -> list[PastDecision]:
    """The decisions `tenant`'s people took, oldest first; none when its graph cannot be read yet."""
    try:
        rows = kg.sparql(PAST_DECISIONS, tenant).records()
    except (FactoryError, OSError):
        return []
    found = []
    for row in rows:
        try:
            found.append(
                PastDecision(
                    kind=row["kind"],
                    subject=row["subject"],
                    choice=row["choice"],
                    person=row["person"],
                    decided_at=str(row["at"]),
                )
            )
        except ValueError:  # a kind this version does not know: skipped, never fatal
            continue
    return found
