"""Sample product builds: the facts a whole lifecycle records, for the demo, tests and benchmarks.

They go through the same models, facts builder and provenance writer as real builds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from graph.facts import ProductFacts
from graph.provenance import AGENTS, record_activity
from ontology.models import Attribute, Blueprint, Entity, Intent, Relationship, Requirement
from ontology.namespaces import FAC
from ontology.refs import new_trace_id

__all__ = ["DEMO_PRODUCTS", "SampleProduct", "build_facts"]


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
    product = f.product_node(sample.name, sample.intent, 1)
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
    pack = f.template_pack("fastapi-service", "1.0.0")
    files = f.artifacts(
        (
            (f"app/module_{i:03d}.py", hashlib.sha256(f"{trace}{i}".encode()).hexdigest(), 1000 + i)
            for i in range(artifacts)
        ),
        bp,
        pack,
    )
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
    report = f.validation(bp, True, 4 * len(entities), 0, 0)
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
    release = f.release(product, report, 1, commit, "r1")
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
    deployment = f.deployment(release, "dev", "http://127.0.0.1:8000", "running")
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
    signals = [
        f.signal(deployment, metric, "*", value, metric)
        for metric, value in (("latency_p95_ms", 12.5), ("error_rate", 0.0), ("requests", 120.0))
    ]
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
