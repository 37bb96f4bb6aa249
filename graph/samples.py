"""Sample product builds: the facts a whole lifecycle records, for the demo, tests and benchmarks.

They are written through the same recorder (graph.recorder) as the stages of a real build.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from graph.facts import ProductFacts
from graph.provenance import AGENTS
from graph.recorder import BuildRecorder
from ontology.models import Attribute, Blueprint, Entity, Relationship, Requirement
from ontology.refs import new_trace_id

__all__ = ["AGENTS", "DEMO_PRODUCTS", "SampleProduct", "build_facts"]


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

    def at(i: int) -> dt.datetime:
        return t0 + dt.timedelta(seconds=i)

    f = ProductFacts(sample.tenant, sample.product, trace)
    record = BuildRecorder(f)
    record.intent(sample.name, sample.intent, 1)
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
    record.requirements(requirements, at(0), at(1))
    blueprint = Blueprint(
        name=sample.name,
        slug=sample.product,
        tenant=sample.tenant,
        description=sample.intent,
        entities=entities,
        relationships=rels,
    )
    record.blueprint(blueprint, at(1), at(2))
    files = [
        (f"app/module_{i:03d}.py", hashlib.sha256(f"{trace}{i}".encode()).hexdigest(), 1000 + i)
        for i in range(artifacts)
    ]
    record.artifacts(files, "fastapi-service", "1.0.0", at(2), at(3))
    operations = 6 * len(entities)  # list, create, read, change, delete and a nested list, about
    record.validation(True, 4 * len(entities), 0, 0, artifacts, at(3), at(4), (3 * operations, True, []))
    record.release(1, hashlib.sha1(trace.encode()).hexdigest(), "r1", at(4), at(5))
    record.deployment(1, "dev", "http://127.0.0.1:8000", "running", at(5), at(6))
    figures = (("latency_p95_ms", 12.5), ("error_rate", 0.0), ("requests", 120.0))
    record.telemetry("dev", [(metric, "*", value, metric) for metric, value in figures], at(6), at(7))
    record.contract(1, (100 * operations, True, []), at(7), at(8))
    return f
