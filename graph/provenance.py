"""The provenance writer: each lifecycle stage recorded as a PROV-O activity.

An activity is associated with the agent that did it, `prov:used` what it read and is the
`prov:wasGeneratedBy` of what it made; consecutive stages are linked by `prov:wasInformedBy`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from rdflib import URIRef

from graph.facts import ProductFacts
from ontology.errors import InvalidInputError
from ontology.lifecycle import ACTIVITIES, AgentRef
from ontology.lifecycle import AGENTS as LIFECYCLE_AGENTS
from ontology.namespaces import FAC, PROV

__all__ = ["AGENTS", "STAGES", "AgentRef", "record_activity"]

STAGES: dict[str, tuple[URIRef, URIRef]] = {
    name: (s.activity_class, s.agent_class)
    for name, s in ACTIVITIES.items()
    if s.activity_class is not None and s.agent_class is not None
}
"""Lifecycle activity -> (activity class, agent class), read from the stage table (ontology.lifecycle)."""

AGENTS: dict[str, AgentRef] = dict(LIFECYCLE_AGENTS)
"""The agent of each activity, as the stage table and the agent classes name it."""


def record_activity(
    facts: ProductFacts,
    stage: str,
    agent: AgentRef,
    started: dt.datetime,
    ended: dt.datetime | None,
    used: Iterable[str] = (),
    generated: Iterable[str] = (),
    informed_by: str | None = None,
    key: str | None = None,
) -> str:
    """Record one run of `stage` by `agent` in the build's facts; returns the activity IRI.

    `key` tells apart runs of the same stage in one build (a deployment to each environment)."""
    if stage not in STAGES:
        raise InvalidInputError(f"unknown lifecycle stage {stage!r}: use one of {', '.join(STAGES)}")
    activity_cls, agent_cls = STAGES[stage]
    if not facts.recorded(agent.iri):
        values = {FAC.agentVersion: agent.version, FAC.role: agent.role}
        facts.node(agent_cls, agent.iri, f"{agent.name} {agent.version}", values)
    activity = facts.node(
        activity_cls,
        facts.iri("activity", stage, *([key] if key else [])),
        f"{stage} of {facts.product}" + (f" ({key})" if key else ""),
        {FAC.stage: stage, PROV.startedAtTime: started, PROV.endedAtTime: ended},
    )
    facts.link(activity, PROV.wasAssociatedWith, agent.iri)
    facts.links(activity, PROV.used, used)
    for entity in generated:
        facts.link(entity, PROV.wasGeneratedBy, activity)
    if informed_by:
        facts.link(activity, PROV.wasInformedBy, informed_by)
    return activity
