"""Sample product builds: the facts a whole lifecycle records, for the demo, tests and benchmarks.

They go through the same models, facts builder and provenance writer as real builds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from graph.facts import ProductFacts
from graph.names import new_trace_id
from graph.provenance import AgentRef, record_activity
from ontology.models import Attribute, Blueprint, Entity, Intent, Relationship, Requirement
from ontology.namespaces import FAC

__all__ = ["DEMO_PRODUCTS", "SampleProduct", "build_facts"]

AGENTS = {
    "analysis": AgentRef("analyst", "1.0.0", "turns an intent into requirements"),
    "design": AgentRef("architect", "1.0.0", "turns requirements into a blueprint"),
    "generation": AgentRef("engineer", "1.0.0", "renders a blueprint with a template pack"),
    "validation": AgentRef("tester", "1.0.0", "runs the product's tests and linter"),
    "release": AgentRef("release-manager", "1.0.0", "commits and tags the product"),
    "deployment": AgentRef("deployer", "1.0.0", "starts the release and checks its health"),
    "observation": AgentRef("observer", "1.0.0", "collects telemetry and checks objectives"),
}


@dataclass(frozen=True)
class SampleProduct:
    tenant: str
    product: str
    name: str
    intent: str
    entities: tuple[tuple[str, tuple[str, ...]], ...]  # (entity, attribute names)
    relationships: tuple[tuple[str, str], ...] = ()  # (one side, many side)


DEMO_PRODUCTS = (
    SampleProduct(
        "acme",
        "invoicing",
        "Acme Invoicing",
        "A multi-tenant invoicing service where customers receive invoices with line items and pay them by card",
        (
            ("customer", ("name", "email")),
            ("invoice", ("number", "due_date", "total")),
            ("line_item", ("description", "quantity", "unit_price")),
            ("payment", ("amount", "paid_at")),
        ),
        (("customer", "invoice"), ("invoice", "line_item"), ("invoice", "payment")),
    ),
    SampleProduct(
        "acme",
        "helpdesk",
        "Acme Helpdesk",
        "A helpdesk where customers open support tickets, agents answer with messages and tickets get closed",
        (("support_ticket", ("subject", "status")), ("agent", ("name", "email")), ("message", ("body", "sent_at"))),
        (("support_ticket", "message"), ("agent", "message")),
    ),
    SampleProduct(
        "globex",
        "clinic",
        "Globex Clinic",
        "A clinic booking system where patients book appointments with doctors at clinics",
        (
            ("patient", ("name", "date_of_birth")),
            ("doctor", ("name", "specialty")),
            ("appointment", ("starts_at", "reason")),
            ("clinic", ("name", "address")),
        ),
        (("patient", "appointment"), ("doctor", "appointment"), ("clinic", "doctor")),
    ),
)


def _attr_type(name: str) -> str:
    if name.endswith("_at"):
        return "datetime"
    if name in {"due_date", "date_of_birth"}:
        return "date"
    if name in {"total", "amount", "unit_price"}:
        return "money"
    if name in {"quantity"}:
        return "int"
    return "email" if name == "email" else "string"


def build_facts(
    sample: SampleProduct,
    trace_id: str | None = None,
    artifacts: int = 30,
    started: dt.datetime | None = None,
) -> ProductFacts:
    """The facts of one complete build of `sample`: every lifecycle stage, with its provenance."""
    trace = trace_id or new_trace_id()
    t0 = started or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(seconds=1)
    f = ProductFacts(sample.tenant, sample.product, trace)
    tenant = f.node(FAC.Tenant, f"https://softwarefactory.dev/id/{sample.tenant}", sample.tenant)
    product = f.node(
        FAC.Product,
        f.iri("product"),
        sample.name,
        {FAC.slug: sample.product, FAC.description: sample.intent, FAC.revision: 1},
    )
    f.link(product, FAC.ownedBy, tenant)
    entities = [
        Entity(
            name=e,
            label=e.replace("_", " ").title(),
            pattern=e,
            attributes=[Attribute(name=a, type=_attr_type(a), required=True) for a in attrs],
        )
        for e, attrs in sample.entities
    ]
    rels = [
        Relationship(source=a, target=b, cardinality="one-to-many", source_role=f"{b}s", target_role=a)
        for a, b in sample.relationships
    ]
    requirements = [Requirement(kind="entity", statement=f"The service manages {e.label.lower()}s") for e in entities]
    intent = f.intent(Intent(text=sample.intent, tenant=sample.tenant, product=sample.product), requirements)
    f.link(product, FAC.hasIntent, intent)
    analysis = record_activity(
        f,
        "analysis",
        AGENTS["analysis"],
        t0,
        t0 + step,
        used=[intent],
        generated=[f.iri("requirement", str(i)) for i in range(len(requirements))],
    )
    bp_model = Blueprint(
        name=sample.name,
        slug=sample.product,
        tenant=sample.tenant,
        description=sample.intent,
        entities=entities,
        relationships=rels,
    )
    bp = f.blueprint(bp_model)
    f.link(product, FAC.hasBlueprint, bp)
    design = record_activity(
        f, "design", AGENTS["design"], t0 + step, t0 + 2 * step, used=[intent], generated=[bp], informed_by=analysis
    )
    pack = f.node(
        FAC.TemplatePack,
        "https://softwarefactory.dev/id/template/fastapi-service/1.0.0",
        "fastapi-service 1.0.0",
        {FAC.templateName: "fastapi-service", FAC.templateVersion: "1.0.0"},
    )
    files = []
    for i in range(artifacts):
        path = f"app/module_{i}.py"
        a = f.node(
            FAC.Artifact,
            f.iri("artifact", str(i)),
            path,
            {
                FAC.path: path,
                FAC.contentHash: hashlib.sha256(f"{trace}{i}".encode()).hexdigest(),
                FAC.sizeBytes: 1000 + i,
            },
        )
        f.link(a, FAC.generatedFrom, bp)
        f.link(a, FAC.renderedWith, pack)
        files.append(a)
    generation = record_activity(
        f,
        "generation",
        AGENTS["generation"],
        t0 + 2 * step,
        t0 + 3 * step,
        used=[bp, pack],
        generated=files,
        informed_by=design,
    )
    report = f.node(
        FAC.ValidationReport,
        f.iri("validation"),
        "validation report",
        {FAC.passed: True, FAC.testsPassed: 4 * len(entities), FAC.testsFailed: 0, FAC.lintFindings: 0},
    )
    f.link(report, FAC.validates, bp)
    validation = record_activity(
        f,
        "validation",
        AGENTS["validation"],
        t0 + 3 * step,
        t0 + 4 * step,
        used=files,
        generated=[report],
        informed_by=generation,
    )
    commit = hashlib.sha1(trace.encode()).hexdigest()
    release = f.node(FAC.Release, f.iri("release", "1"), "release 1", {FAC.commit: commit, FAC.tag: "r1"})
    f.link(release, FAC.releaseOf, product)
    f.link(release, FAC.validatedBy, report)
    rel_act = record_activity(
        f,
        "release",
        AGENTS["release"],
        t0 + 4 * step,
        t0 + 5 * step,
        used=[report],
        generated=[release],
        informed_by=validation,
    )
    env = f.node(FAC.Environment, "https://softwarefactory.dev/id/environment/dev", "dev", {FAC.environmentName: "dev"})
    deployment = f.node(
        FAC.Deployment,
        f.iri("deployment", "dev"),
        "dev deployment",
        {FAC.url: "http://127.0.0.1:8000", FAC.status: "running"},
    )
    f.link(deployment, FAC.deploysRelease, release)
    f.link(deployment, FAC.inEnvironment, env)
    dep_act = record_activity(
        f,
        "deployment",
        AGENTS["deployment"],
        t0 + 5 * step,
        t0 + 6 * step,
        used=[release],
        generated=[deployment],
        informed_by=rel_act,
    )
    signals = []
    for metric, value in (("latency_p95_ms", 12.5), ("error_rate", 0.0), ("requests", 120.0)):
        sig = f.node(
            FAC.TelemetrySignal,
            f.iri("telemetry", metric),
            metric,
            {FAC.metric: metric, FAC.route: "*", FAC.value: value},
        )
        f.link(sig, FAC.observes, deployment)
        signals.append(sig)
    record_activity(
        f,
        "observation",
        AGENTS["observation"],
        t0 + 6 * step,
        t0 + 7 * step,
        used=[deployment],
        generated=signals,
        informed_by=dep_act,
    )
    return f
