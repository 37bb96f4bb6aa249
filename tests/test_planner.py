"""Intent to blueprint through the analyst and the architect: ten domains, patterns, past products."""

from __future__ import annotations

from pathlib import Path

import pytest

from generators.agents.architect import Architect
from generators.patterns import pattern_library
from generators.pipeline import Planner
from graph import KnowledgeGraph
from graph.embeddings import SentenceEmbedder
from graph.samples import DEMO_PRODUCTS, build_facts
from ontology.errors import InvalidInputError
from ontology.models import Blueprint, Requirements

TEN_DOMAINS = [
    (
        "A multi-tenant invoicing service where customers receive invoices with line items and pay them by card.",
        {"customer", "invoice", "line_item"},
        [("customer", "invoice"), ("invoice", "line_item")],
    ),
    (
        "Clinic booking: patients book appointments with doctors at clinics.",
        {"patient", "appointment", "doctor", "clinic"},
        [("patient", "appointment"), ("doctor", "appointment")],
    ),
    (
        "Project management where teams run projects; projects have tasks and people leave comments on tasks.",
        {"team", "project", "task", "comment"},
        [("project", "task"), ("task", "comment")],
    ),
    (
        "Subscriptions: customers subscribe to plans and every subscription produces invoices.",
        {"customer", "plan", "subscription", "invoice"},
        [("customer", "subscription"), ("subscription", "invoice")],
    ),
    (
        "An e-learning platform where instructors publish courses made of lessons and students enroll in courses.",
        {"instructor", "course", "lesson", "student"},
        [("course", "lesson")],
    ),
    (
        "Fleet maintenance: vehicles are assigned to drivers and each vehicle has maintenance records.",
        {"vehicle", "driver", "maintenance_record"},
        [("vehicle", "maintenance_record")],
    ),
    (
        "Event ticketing where venues host events and attendees buy tickets for events.",
        {"venue", "event", "ticket"},
        [("venue", "event"), ("event", "ticket")],
    ),
    (
        "Property rentals: landlords list properties, tenants sign leases and pay rent payments.",
        {"property", "lease", "rent_payment"},
        [("lease", "rent_payment")],
    ),
    (
        "Restaurant orders: guests place orders of menu items at tables.",
        {"order", "menu_item"},
        [("order", "menu_item")],
    ),
    (
        "A helpdesk where customers open support tickets and agents answer them with messages.",
        {"customer", "support_ticket", "agent", "message"},
        [("customer", "support_ticket"), ("support_ticket", "message")],
    ),
]


def linked(bp: Blueprint, a: str, b: str) -> bool:
    return any({r.source, r.target} == {a, b} for r in bp.relationships)


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner()


@pytest.mark.parametrize(("intent", "entities", "links"), TEN_DOMAINS, ids=[d[0].split()[0] for d in TEN_DOMAINS])
def test_ten_domains_give_blueprints_with_core_entities_and_links(
    planner: Planner, intent: str, entities: set[str], links: list[tuple[str, str]]
) -> None:
    proposal = planner.propose(intent, "acme")
    bp = proposal.blueprint
    assert entities <= {e.name for e in bp.entities}, [e.name for e in bp.entities]
    for a, b in links:
        assert linked(bp, a, b), (a, b, [(r.source, r.target) for r in bp.relationships])
    assert all(e.attributes for e in bp.entities)
    assert proposal.sources == {"analysis": "deterministic", "design": "deterministic"}
    # what the architect used is recorded: the patterns of the entities it built from
    assert {u.rsplit("/", 1)[-1] for u in proposal.used} >= {e.pattern for e in bp.entities if e.pattern}


def test_proposals_are_deterministic(planner: Planner) -> None:
    intent = TEN_DOMAINS[0][0]
    assert planner.propose(intent, "acme").blueprint.hash == planner.propose(intent, "acme").blueprint.hash


def test_pattern_attributes_and_stated_attributes_are_combined(planner: Planner) -> None:
    bp = planner.propose("Invoices have a number, a currency code and a due date. Customers receive invoices.", "acme")
    invoice = bp.blueprint.entity("invoice")
    names = [a.name for a in invoice.attributes]
    assert {"number", "due_date", "currency_code"} <= set(names)
    assert "status" in names  # from the invoice pattern, not stated
    status = next(a for a in invoice.attributes if a.name == "status")
    assert status.type == "enum" and status.enum_values


def test_entity_without_pattern_gets_default_attributes() -> None:
    reqs = Requirements(product_name="Hives", entities=[{"name": "hive"}])
    bp = Architect(pattern_library()).design(reqs, "acme").blueprint
    assert [a.name for a in bp.entity("hive").attributes] == ["name", "description"]


def test_nothing_to_build_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="names no business objects"):
        Architect(pattern_library()).design(Requirements(product_name="Nothing"), "acme")


def test_similar_past_products_inform_the_design(tmp_path: Path) -> None:
    kg = KnowledgeGraph(tmp_path, embedder=SentenceEmbedder())
    past = build_facts(DEMO_PRODUCTS[0])  # acme invoicing, whose invoice has a 'total' attribute and passed
    kg.write(past)
    proposal = Planner(kg.embedder, kg).propose(DEMO_PRODUCTS[0].intent, "acme", "invoicing-v2")
    assert past.iri("product") in proposal.used
    invoice = proposal.blueprint.entity("invoice")
    assert "total" in [a.name for a in invoice.attributes]  # not in the pattern: borrowed from the past product
    # another tenant's past products are never used
    other = Planner(kg.embedder, kg).propose(DEMO_PRODUCTS[0].intent, "globex", "invoicing")
    assert past.iri("product") not in other.used
