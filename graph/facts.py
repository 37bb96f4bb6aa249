"""Facts about one product build: a builder of quads in the product's named graph.

Every node it records carries its class, its label and the build's trace id, so that
`trace(trace_id)` can walk the chain and the property graph can project it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyoxigraph as ox
from rdflib import URIRef

from graph.names import node_iri, product_graph
from graph.rdf_store import Value, literal, read_nquads, to_nquads
from ontology.errors import InvalidInputError
from ontology.models import Attribute, Blueprint, Intent, OntologyModel, Relationship, Requirement
from ontology.namespaces import FAC, ID, PAT, RDF, RDFS
from ontology.packs import PackSeal
from ontology.refs import check_trace_id

__all__ = ["ContractFinding", "ProductFacts", "person_iri", "policy_iri", "template_iri"]

ContractFinding = tuple[str, str, int | None]
"""A failure of a contract run: (the request line that reproduces it, the check that failed, the status answered)."""

_TYPE = ox.NamedNode(str(RDF.type))
_LABEL = ox.NamedNode(str(RDFS.label))
_TRACE = ox.NamedNode(str(FAC.traceId))
_USER = re.compile(r"[^A-Za-z0-9_.-]")


def person_iri(user: str) -> str:
    """The IRI of a person, from their user name (anything outside [A-Za-z0-9_.-] becomes '_')."""
    name = " ".join(str(user).split())
    if not name or len(name) > 200:
        raise InvalidInputError(f"invalid user name {name[:60]!r}: give 1-200 characters")
    return str(ID[f"person/{_USER.sub('_', name)}"])


def template_iri(name: str, version: str) -> str:
    """The IRI of a template pack version, the same in every product's graph and in the catalog."""
    return str(ID[f"template/{name}/{version}"])


def policy_iri(digest: str) -> str:
    """The IRI of the policy whose text has SHA-256 `digest` (the same text is the same policy everywhere)."""
    return str(ID[f"policy/{digest}"])


class ProductFacts:
    """Collects the quads of one product build; hand them to KnowledgeGraph to store."""

    def __init__(self, tenant: str, product: str, trace_id: str, *, graph: str | None = None) -> None:
        self.tenant, self.product = tenant, product
        self.trace_id = check_trace_id(trace_id)
        self.graph = graph or product_graph(tenant, product)
        self._g = ox.NamedNode(self.graph)
        self._trace = ox.Literal(trace_id)
        self.quads: list[ox.Quad] = []
        self._nodes: set[str] = set()

    def nquads(self) -> bytes:
        """These facts as N-Quads text, to keep them in a file."""
        return to_nquads(self.quads)

    def add_nquads(self, path: Path) -> None:
        """Add the facts kept in an N-Quads file (as `nquads` wrote them)."""
        self.quads.extend(quad for _, quad in read_nquads(path))

    def iri(self, *parts: str) -> str:
        return node_iri(self.tenant, self.product, *parts)

    def node(
        self,
        cls: URIRef,
        iri: str,
        label: str,
        values: Mapping[URIRef, Value | None] | None = None,
    ) -> str:
        """Record a node of class `cls` with its label, the trace id and datatype values."""
        self._nodes.add(iri)
        s = ox.NamedNode(iri)
        add = self.quads.append
        add(ox.Quad(s, _TYPE, ox.NamedNode(str(cls)), self._g))
        add(ox.Quad(s, _LABEL, ox.Literal(label), self._g))
        add(ox.Quad(s, _TRACE, self._trace, self._g))
        for prop, value in (values or {}).items():
            if value is not None:
                add(ox.Quad(s, ox.NamedNode(str(prop)), literal(value), self._g))
        return iri

    def recorded(self, iri: str) -> bool:
        """Whether these facts already hold the node `iri` (an agent that did two of the build's stages)."""
        return iri in self._nodes

    def link(self, subject: str, prop: URIRef, obj: str) -> None:
        self.quads.append(ox.Quad(ox.NamedNode(subject), ox.NamedNode(str(prop)), ox.NamedNode(obj), self._g))

    def links(self, subject: str, prop: URIRef, objects: Iterable[str]) -> None:
        for obj in objects:
            self.link(subject, prop, obj)

    def values(self, subject: str, prop: URIRef, values: Iterable[Value]) -> None:
        """One datatype value of `prop` per item (a property a node holds several times)."""
        for value in values:
            self.quads.append(ox.Quad(ox.NamedNode(subject), ox.NamedNode(str(prop)), literal(value), self._g))

    def model(self, model: OntologyModel, iri: str, label: str) -> str:
        """Record a pydantic model as a node, through its field-to-property mapping."""
        values = {prop: getattr(model, name) for name, prop in model.rdf_fields.items()}
        return self.node(model.rdf_class, iri, label, values)

    # ------------------------------------------------------------------ the main models
    def intent(self, intent: Intent, requirements: Iterable[Requirement] = ()) -> str:
        iri = self.model(intent, self.iri("intent"), _short(intent.text))
        for i, req in enumerate(requirements):
            self.requirement(iri, i, req)
        return iri

    def requirement(self, intent: str, i: int, requirement: Requirement) -> str:
        """The `i`th requirement read from `intent`."""
        iri = self.model(requirement, self.iri("requirement", str(i)), _short(requirement.statement))
        self.link(intent, FAC.hasRequirement, iri)
        return iri

    def blueprint(self, blueprint: Blueprint) -> str:
        bp = self.model(blueprint, self.iri("blueprint"), blueprint.name)
        contexts = {}
        for ctx in blueprint.contexts:
            contexts[ctx.name] = self.model(ctx, self.iri("context", ctx.name), ctx.label or ctx.name)
            self.link(bp, FAC.hasBoundedContext, contexts[ctx.name])
        entities = {}
        for ent in blueprint.entities:
            e = self.model(ent, self.iri("entity", ent.name), ent.label or ent.name)
            entities[ent.name] = e
            self.link(bp, FAC.hasEntity, e)
            if ent.context in contexts:
                self.link(e, FAC.inContext, contexts[ent.context])
            if ent.pattern:
                self.link(e, FAC.matchesPattern, str(PAT[ent.pattern]))
            for attr in ent.attributes:
                self.link(e, FAC.hasAttribute, self.attribute(attr, self.iri("entity", ent.name, attr.name)))
        for rel in blueprint.relationships:
            r = self.model(rel, self.iri("relationship", rel.source, rel.source_role), _rel_label(rel))
            self.link(bp, FAC.hasRelationship, r)
            self.link(r, FAC.relationshipSource, entities[rel.source])
            self.link(r, FAC.relationshipTarget, entities[rel.target])
        for i, grant in enumerate(blueprint.access.grants):
            label = f"{grant.role}: {grant.actions_text} on {grant.entity}"
            self.link(bp, FAC.hasAccessGrant, self.model(grant, self.iri("grant", str(i)), label))
        return bp

    # ------------------------------------------------------------------ people and governance
    def person(self, user: str) -> str:
        """A person, known by the account name they act under (never a secret: no password, no token)."""
        name = " ".join(str(user).split())
        return self.node(FAC.Person, person_iri(name), name, {FAC.userName: name})

    def policy(self, tenant: str, text: str, version: int | None = None, rule: str | None = None) -> str:
        """The policy in force for `tenant` whose full text is `text`, known by its SHA-256; a version a person
        set carries its number and the tenant's own `rule` text."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        label = f"policy of {tenant} sha256 {digest[:12]}" + (f" (version {version})" if version else "")
        values = {FAC.policyDigest: digest, FAC.policyScope: tenant, FAC.policyVersion: version, FAC.rule: rule}
        # the policy in force is known by its text; a version is one person's setting of it (a text set again
        # is a new version of the same digest)
        iri = policy_iri(digest) if version is None else str(ID[f"{tenant}/_policy/{version}"])
        return self.node(FAC.Policy, iri, label, values)

    def approval(self, key: str, release: str, env: str, decision: str, reason: str) -> str:
        """A person's decision (`approved` or `rejected`) on promoting `release` to `env`; `key` names it."""
        environment = self.node(FAC.Environment, str(ID[f"environment/{env}"]), env, {FAC.environmentName: env})
        approval = self.node(
            FAC.Approval,
            self.iri("approval", key),
            f"{decision} for {env}: {_short(reason, 80)}",
            {FAC.decision: decision, FAC.reason: reason},
        )
        self.link(approval, FAC.approves, release)
        self.link(approval, FAC.targetEnvironment, environment)
        return approval

    # ------------------------------------------------------------------ the later stages
    def product_node(self, name: str, description: str, revision: int) -> str:
        """The product (owned by its tenant) at this build's revision."""
        tenant = self.node(FAC.Tenant, str(ID[self.tenant]), self.tenant)
        product = self.node(
            FAC.Product,
            self.iri("product"),
            name,
            {FAC.slug: self.product, FAC.description: description, FAC.revision: revision},
        )
        self.link(product, FAC.ownedBy, tenant)
        return product

    def template_pack(self, name: str, version: str, seal: PackSeal | None = None) -> str:
        """The pack version (one IRI everywhere, the catalog's too), with its digest and publisher when known."""
        values: dict[URIRef, Value | None] = {FAC.templateName: name, FAC.templateVersion: version}
        if seal is not None:
            values |= {FAC.packDigest: seal.digest, FAC.packPublisher: seal.publisher or None,
                       FAC.packPublisherKey: seal.key or None, FAC.packSource: seal.source}  # fmt: skip
        return self.node(FAC.TemplatePack, template_iri(name, version), f"{name} {version}", values)

    def artifacts(self, files: Iterable[tuple[str, str, int]], blueprint: str, pack: str) -> list[str]:
        """One Artifact per (path, sha256, size), generated from `blueprint` with `pack`."""
        iris = []
        for i, (path, digest, size) in enumerate(sorted(files)):
            a = self.node(
                FAC.Artifact,
                self.iri("artifact", str(i)),
                path,
                {FAC.path: path, FAC.contentHash: digest, FAC.sizeBytes: size},
            )
            self.link(a, FAC.generatedFrom, blueprint)
            self.link(a, FAC.renderedWith, pack)
            iris.append(a)
        return iris

    def validation(self, blueprint: str, passed: bool, tests_passed: int, tests_failed: int, lint: int) -> str:
        report = self.node(
            FAC.ValidationReport,
            self.iri("validation"),
            "validation report",
            {FAC.passed: passed, FAC.testsPassed: tests_passed, FAC.testsFailed: tests_failed, FAC.lintFindings: lint},
        )
        self.link(report, FAC.validates, blueprint)
        return report

    def release(self, product: str, report: str | None, revision: int, commit: str, tag: str | None) -> str:
        release = self.node(
            FAC.Release,
            self.iri("release", str(revision)),
            f"release {tag or revision}",
            {FAC.commit: commit, FAC.tag: tag},
        )
        self.link(release, FAC.releaseOf, product)
        if report is not None:
            self.link(release, FAC.validatedBy, report)
        return release

    def deployment(self, release: str, env: str, url: str, status: str) -> str:
        environment = self.node(FAC.Environment, str(ID[f"environment/{env}"]), env, {FAC.environmentName: env})
        deployment = self.node(
            FAC.Deployment, self.iri("deployment", env), f"{env} deployment", {FAC.url: url, FAC.status: status}
        )
        self.link(deployment, FAC.deploysRelease, release)
        self.link(deployment, FAC.inEnvironment, environment)
        return deployment

    def signal(self, deployment: str, metric: str, route: str, value: float, key: str) -> str:
        """A telemetry figure (`metric` of `route`) observed on `deployment`; `key` names it uniquely."""
        sig = self.node(
            FAC.TelemetrySignal,
            self.iri("telemetry", key),
            f"{metric} {route}",
            {FAC.metric: metric, FAC.route: route, FAC.value: float(value)},
        )
        self.link(sig, FAC.observes, deployment)
        return sig

    def contract_run(self, depth: str, cases: int, holds: bool, failures: Iterable[ContractFinding]) -> str:
        """A contract run of `depth` (shallow or deep) with its failures, each with its reproducing request."""
        run = self.node(
            FAC.ContractRun,
            self.iri("contract", depth),
            f"{depth} contract run",
            {FAC.contractDepth: depth, FAC.contractCases: cases, FAC.contractHolds: holds},
        )
        for i, (request, check, status) in enumerate(failures):
            failure = self.node(
                FAC.ContractFailure,
                self.iri("contract", depth, str(i)),
                _short(f"{check}: {request}"),
                {FAC.requestLine: request, FAC.failedCheck: check, FAC.responseStatus: status},
            )
            self.link(run, FAC.hasContractFailure, failure)
        return run

    def attribute(self, attr: Attribute, iri: str) -> str:
        self.model(attr, iri, attr.label or attr.name)
        if attr.enum_values:
            self.quads.append(
                ox.Quad(
                    ox.NamedNode(iri), ox.NamedNode(str(FAC.enumValues)), literal("|".join(attr.enum_values)), self._g
                )
            )
        return iri


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _rel_label(rel: Relationship) -> str:
    return f"{rel.source} {rel.source_role} ({rel.cardinality}) {rel.target}"
