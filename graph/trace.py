"""The trace of one build: intent → requirements → blueprint → artifacts → validation → release →
deployment → telemetry, as far as it exists, with the activity and agent behind each step."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rdflib import URIRef

from graph.provenance import STAGES
from ontology.lifecycle import LIFECYCLE
from ontology.namespaces import FAC
from ontology.vocabulary import local_name

__all__ = [
    "ACTIVITY_CLASSES",
    "CHAIN",
    "CYPHER_TRACE",
    "CYPHER_TRACE_AGENTS",
    "CYPHER_TRACE_APPROVALS",
    "CYPHER_TRACE_FEEDBACK",
    "CYPHER_TRACE_GENERATIONS",
    "CYPHER_TRACE_REQUESTERS",
    "SPARQL_TRACE",
    "SPARQL_TRACE_ACTIVITIES",
    "SPARQL_TRACE_APPROVALS",
    "SPARQL_TRACE_FEEDBACK",
    "SPARQL_TRACE_GRAPHS",
    "STAGE_OF_CLASS",
    "STAGE_OF_TABLE",
    "TRACE_TABLES",
    "TraceStep",
]

CHAIN: dict[URIRef, str] = {s.trace_class: s.name for s in LIFECYCLE if s.trace_class is not None}
"""The classes on a trace, in lifecycle order, with the stage each stands for (from the stage table)."""

STAGE_ORDER: dict[str, float] = {stage: i for i, stage in enumerate(CHAIN.values())}
APPROVAL = "approval"
"""The trace step of a person's decision on a promotion: it sorts with the deployments, as it happened."""
STAGE_ORDER[APPROVAL] = STAGE_ORDER["deployment"]
FEEDBACK_STAGES = {"finding": "blueprint", "decision": "blueprint", "changed file": "artifacts", "window": "telemetry"}
"""The feedback loop's steps and the stage each sorts after (a finding before the design that used it): the
findings the design used, what it decided from each, the files each decision changed, and the telemetry
windows of the build's running deployments."""
for _step, _stage in FEEDBACK_STAGES.items():
    STAGE_ORDER[_step] = STAGE_ORDER[_stage] + (-0.5 if _step == "finding" else 0.5)

SPARQL_TRACE_GRAPHS = (
    "PREFIX fac: <https://softwarefactory.dev/ontology#>\n"
    "SELECT DISTINCT ?trace ?graph WHERE { GRAPH ?graph { ?node fac:traceId ?trace } }"
)
"""The graphs that hold a build's facts (one, unless a build was split); found through the object index."""

ACTIVITY_CLASSES = (FAC.LifecycleActivity, *(activity for activity, _ in STAGES.values()))
"""The classes of the activities a trace reports (the lifecycle activity and its stage subclasses)."""

_PREFIXES = (
    "PREFIX fac: <https://softwarefactory.dev/ontology#>\n"
    "PREFIX prov: <http://www.w3.org/ns/prov#>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)

SPARQL_TRACE = (
    _PREFIXES + "SELECT ?trace ?node ?type ?label ?activity WHERE {\n"
    f"  VALUES ?type {{ {' '.join(f'<{c}>' for c in CHAIN)} }}\n"
    "  ?node a ?type ; fac:traceId ?trace .\n"
    "  OPTIONAL { ?node rdfs:label ?label }\n"
    "  OPTIONAL { ?node prov:wasGeneratedBy ?activity }\n"
    "}"
)
"""The trace's nodes within one graph, with the activity that generated each; `?trace` is bound to the
trace id, never spliced into the text. Starting from the few nodes of each chain class (rather than from
every node carrying the trace id) keeps the index lookups few."""

SPARQL_TRACE_ACTIVITIES = (
    _PREFIXES + "SELECT ?activity ?agent ?started ?ended ?person WHERE {\n"
    f"  VALUES ?class {{ {' '.join(f'<{c}>' for c in ACTIVITY_CLASSES)} }}\n"
    "  ?activity a ?class .\n"
    "  OPTIONAL { ?activity prov:wasAssociatedWith ?agent }\n"
    "  OPTIONAL { ?activity prov:startedAtTime ?started }\n"
    "  OPTIONAL { ?activity prov:endedAtTime ?ended }\n"
    "  OPTIONAL { ?activity fac:requestedBy/fac:userName ?person }\n"
    "}"
)
"""The lifecycle activities of one graph with their agent, times and the person who asked for them (a
promotion, a rollback): looked up once each, not once per node they generated, and joined to the nodes by
`activity`."""

SPARQL_TRACE_APPROVALS = (
    _PREFIXES + "SELECT ?trace ?node ?label ?activity ?agent ?person ?started ?ended WHERE {\n"
    "  ?node a fac:Approval ; fac:traceId ?trace ; prov:wasGeneratedBy ?activity .\n"
    "  ?activity a fac:ApprovalActivity ; prov:wasAssociatedWith ?agent ; prov:startedAtTime ?started .\n"
    "  ?agent fac:userName ?person .\n"
    "  OPTIONAL { ?node rdfs:label ?label }\n"
    "  OPTIONAL { ?activity prov:endedAtTime ?ended }\n"
    "}"
)
"""The people's decisions on promoting the build's release within one graph (`?trace` bound), with who took
each and when."""

SPARQL_TRACE_FEEDBACK = (
    _PREFIXES + "SELECT DISTINCT ?trace ?kind ?node ?label ?activity ?about WHERE {\n"
    "  { ?design a fac:DesignActivity ; fac:traceId ?trace ; prov:used ?node . ?node a fac:Finding .\n"
    '    OPTIONAL { ?node prov:wasGeneratedBy ?activity } BIND("finding" AS ?kind) }\n'
    "  UNION { ?node a fac:Finding ; fac:traceId ?trace . OPTIONAL { ?node prov:wasGeneratedBy ?activity }\n"
    '    BIND("finding" AS ?kind) }\n'
    "  UNION { ?node a fac:DesignChange ; fac:traceId ?trace ; fac:decidedFrom ?about .\n"
    '    OPTIONAL { ?node prov:wasGeneratedBy ?activity } BIND("decision" AS ?kind) }\n'
    "  UNION { ?node a fac:Artifact ; fac:traceId ?trace ; fac:changedBy ?about .\n"
    '    OPTIONAL { ?node prov:wasGeneratedBy ?activity } BIND("changed file" AS ?kind) }\n'
    "  UNION { ?node a fac:TelemetryWindow ; fac:traceId ?trace .\n"
    '    OPTIONAL { ?node prov:wasGeneratedBy ?activity } BIND("window" AS ?kind) }\n'
    "  OPTIONAL { ?node rdfs:label ?label }\n"
    "}"
)
"""The feedback loop on one build's trace within one graph (`?trace` bound): the findings its design used
(`prov:used`, recorded by an earlier build's observation) and those its own deployments showed, each design
change with the finding it was decided from (`?about`), each generated file a change made differ (`?about`: the
change), and its deployments' telemetry windows."""

TRACE_TABLES = tuple(local_name(c) for c in CHAIN)
"""The chain's tables in the property graph. Their nodes are linked from their trace's node (the `Trace`
table, keyed by trace id) when they are projected, and each link carries what the trace shows of its node
(IRI, label, graph): the trace finds its chain with one primary-key lookup and the links' own columns, where
it scanned the eight tables (30,000 artifacts on a 1,000-product tenant) for the trace id before."""

_CHAIN_LABELS = ":".join(TRACE_TABLES)

CYPHER_TRACE = (
    f"MATCH (:Trace {{key: $trace}})-[s:hasStep]->(n:{_CHAIN_LABELS}) "
    "RETURN label(n) AS kind, id(n) AS id, s.iri AS node, s.label AS label, s.graph AS graph"
)
"""The trace's nodes in one tenant's property graph: the links from its trace's node, found by key. Reading
the nodes' own columns instead would cost Kùzu a masked scan of each table (1.8 ms against 0.7 ms on a
500-product tenant); the other queries start from the build's activities, whose table is a tenth of the
chain's and which Kùzu scans faster than it follows links (0.9 ms against 1.5 ms for the generations)."""

CYPHER_TRACE_GENERATIONS = (
    f"MATCH (n:{_CHAIN_LABELS})-[:wasGeneratedBy]->(a:LifecycleActivity) WHERE a.traceId = $trace "
    "RETURN id(n) AS id, id(a) AS activity_id, a.iri AS activity, a.startedAtTime AS started, "
    "a.endedAtTime AS ended"
)
"""The activity that generated each node of the trace, found from the build's few activities (which carry
its trace id, as every node of a build does); joined to the nodes by internal id."""

CYPHER_TRACE_AGENTS = (
    "MATCH (a:LifecycleActivity)-[:wasAssociatedWith]->(g:FactoryAgent) WHERE a.traceId = $trace "
    "RETURN id(a) AS activity_id, g.iri AS agent"
)
"""The agent of each of the build's activities. Kùzu runs these three small queries in about half the time
of one that follows every node's optional activity and agent (the optional matches cost most), and
faster still side by side, each on a connection of its own."""

CYPHER_TRACE_REQUESTERS = (
    "MATCH (a:LifecycleActivity)-[:requestedBy]->(p:Person) WHERE a.traceId = $trace "
    "RETURN id(a) AS activity_id, p.userName AS person"
)
"""The person who asked for each of the build's activities that a person asked for (promotions, rollbacks)."""

CYPHER_TRACE_APPROVALS = (
    "MATCH (n:Approval)-[:wasGeneratedBy]->(a:ApprovalActivity)-[:wasAssociatedWith]->(p:Person) "
    "WHERE n.traceId = $trace RETURN n.iri AS node, n.label AS label, n.graph AS graph, a.iri AS activity, "
    "p.iri AS agent, p.userName AS person, a.startedAtTime AS started, a.endedAtTime AS ended"
)
"""The people's decisions on promoting the build's release, in one tenant's property graph."""

_FEEDBACK_MADE_BY = (
    " WITH n, about OPTIONAL MATCH (n)-[:wasGeneratedBy]->(a:LifecycleActivity)"
    " OPTIONAL MATCH (a)-[:wasAssociatedWith]->(g:FactoryAgent)"
    " RETURN n.iri AS node, n.label AS label, n.graph AS graph, a.iri AS activity, g.iri AS agent,"
    " a.startedAtTime AS started, a.endedAtTime AS ended, about"
)
_FEEDBACK_STEPS: dict[str, tuple[tuple[str, str], ...]] = {
    "finding": (
        ("MATCH (d:LifecycleActivity)-[:used]->(n:Finding) WHERE d.traceId = $trace", "NULL"),
        ("MATCH (n:Finding) WHERE n.traceId = $trace", "NULL"),
    ),
    "decision": (("MATCH (n:DesignChange)-[:decidedFrom]->(f:Finding) WHERE n.traceId = $trace", "f.iri"),),
    "changed file": (("MATCH (n:Artifact)-[:changedBy]->(c:DesignChange) WHERE n.traceId = $trace", "c.iri"),),
    "window": (("MATCH (n:TelemetryWindow) WHERE n.traceId = $trace", "NULL"),),
}
CYPHER_TRACE_FEEDBACK: list[tuple[str, str, str]] = [
    (kind, f"{match} RETURN count(*)", f"{match} WITH n, {about} AS about{_FEEDBACK_MADE_BY}")
    for kind, steps in _FEEDBACK_STEPS.items()
    for match, about in steps
]
"""The feedback loop's steps in one tenant's property graph, as SPARQL_TRACE_FEEDBACK finds them, as (kind of
step, probe, query): the query finds the step's nodes, each with the activity that generated it and that
activity's agent; the probe only counts the nodes. Kùzu plans a query's optional matches over the whole
activity table even where no node matched (2.5–6 ms each on a 1,000-product tenant, against 0.3–1.5 ms for
a probe), and most builds have no such steps, so the trace runs a query only where its probe found nodes."""

STAGE_OF_CLASS = {str(c): stage for c, stage in CHAIN.items()}
"""The stage each chain class (a node's type IRI in the RDF store) stands for."""

STAGE_OF_TABLE = {local_name(c): stage for c, stage in CHAIN.items()}
"""The stage each chain table (a node's label in the property graph) stands for."""


@dataclass(frozen=True)
class TraceStep:
    stage: str
    node: str
    label: str
    graph: str
    tenant: str
    product: str
    activity: str | None
    agent: str | None
    started: str | None
    ended: str | None
    person: str | None = None
    """The person behind the step: who asked for a promotion or rollback, who approved or rejected one."""
    about: str | None = None
    """What a feedback step acted on: a decision's finding, a changed file's decision."""

    @property
    def order(self) -> tuple[float, str, str, str]:
        """Lifecycle order; within a stage, as it happened (the dev, then the staging, then the prod deployment)."""
        return (STAGE_ORDER[self.stage], str(self.started or ""), self.label, self.node)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
