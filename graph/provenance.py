"""The provenance writer: each lifecycle stage recorded as a PROV-O activity.

An activity is associated with the agent that did it, `prov:used` what it read and is the
`prov:wasGeneratedBy` of what it made; consecutive stages are linked by `prov:wasInformedBy`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import URIRef

from graph.facts import ProductFacts
from ontology.errors import InvalidInputError
from ontology.namespaces import FAC, ID, PROV

__all__ = ["AGENTS", "STAGES", "AgentRef", "record_activity"]

STAGES: dict[str, tuple[URIRef, URIRef]] = {
    "analysis": (FAC.AnalysisActivity, FAC.AnalystAgent),
    "design": (FAC.DesignActivity, FAC.ArchitectAgent),
    "generation": (FAC.GenerationActivity, FAC.EngineerAgent),
    "validation": (FAC.ValidationActivity, FAC.TesterAgent),
    "release": (FAC.ReleaseActivity, FAC.ReleaseAgent),
    "deployment": (FAC.DeploymentActivity, FAC.DeployerAgent),
    "observation": (FAC.ObservationActivity, FAC.ObserverAgent),
}
"""Lifecycle stage -> (activity class, agent class)."""


@dataclass(frozen=True)
class AgentRef:
    """Who did a stage: an agent's name, version and role."""

    name: str
    version: str
    role: str

    @property
    def iri(self) -> str:
        return str(ID[f"agent/{self.name}/{self.version}"])


AGENTS = {
    "analysis": AgentRef("analyst", "1.0.0", "turns an intent into requirements"),
    "design": AgentRef("architect", "1.0.0", "turns requirements into a blueprint"),
    "generation": AgentRef("engineer", "1.0.0", "renders a blueprint with a template pack"),
    "validation": AgentRef("tester", "1.0.0", "runs the product's tests and linter"),
    "release": AgentRef("release-manager", "1.0.0", "commits and tags the product"),
    "deployment": AgentRef("deployer", "1.0.0", "starts the release and checks its health"),
    "observation": AgentRef("observer", "1.0.0", "collects telemetry and checks objectives"),
}
"""The factory's own agent for each stage; the generator agents carry their own `ref` too."""


def record_activity(
    facts: ProductFacts,
    stage: str,
    agent: AgentRef,
    started: dt.datetime,
    ended: dt.datetime | None,
    used: Iterable[str] = (),
    generated: Iterable[str] = (),
    informed_by: str | None = None,
) -> str:
    """Record one run of `stage` by `agent` in the build's facts; returns the activity IRI."""
    if stage not in STAGES:
        raise InvalidInputError(f"unknown lifecycle stage {stage!r}: use one of {', '.join(STAGES)}")
    activity_cls, agent_cls = STAGES[stage]
    facts.node(
        agent_cls, agent.iri, f"{agent.name} {agent.version}", {FAC.agentVersion: agent.version, FAC.role: agent.role}
    )
    activity = facts.node(
        activity_cls,
        facts.iri("activity", stage),
        f"{stage} of {facts.product}",
        {FAC.stage: stage, PROV.startedAtTime: started, PROV.endedAtTime: ended},
    )
    facts.link(activity, PROV.wasAssociatedWith, agent.iri)
    facts.links(activity, PROV.used, used)
    for entity in generated:
        facts.link(entity, PROV.wasGeneratedBy, activity)
    if informed_by:
        facts.link(activity, PROV.wasInformedBy, informed_by)
    return activity
