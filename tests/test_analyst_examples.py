"""The intents of issue 14, read as a new user would type them, with the embedding model the factory uses."""

from __future__ import annotations

import pytest

from generators.agents.analyst import Analyst
from graph.embeddings import SentenceEmbedder
from tests.test_analyst import cardinality, entity, names


@pytest.fixture(scope="module")
def analyst(embedder: SentenceEmbedder) -> Analyst:
    return Analyst(embedder=embedder)


def test_a_noun_list_gives_every_noun(analyst: Analyst) -> None:
    req = analyst.analyse("CRM with contacts, companies and deals.")
    assert names(req) == {"contact", "company", "deal"}


def test_veterinary_practice_keeps_the_users_words_and_drops_the_heading(analyst: Analyst) -> None:
    req = analyst.analyse(
        "Veterinary practice management: pet owners register their pets, book visits with veterinarians, and "
        "each visit records treatments and prescriptions. Owners receive invoices for visits."
    )
    assert names(req) == {"pet_owner", "pet", "visit", "veterinarian", "treatment", "prescription", "invoice"}
    vet = entity(req, "veterinarian")
    assert vet.pattern == "doctor" and vet.phrase == "veterinarians"  # the pattern is recorded, never substituted
    assert cardinality(req, "pet_owner", "pet") == "one-to-many"
    assert cardinality(req, "visit", "prescription") == "one-to-many"
    assert cardinality(req, "pet_owner", "invoice") == "one-to-many"


def test_grant_management_has_no_verbs_in_names(analyst: Analyst) -> None:
    req = analyst.analyse(
        "Grant management platform: applicants submit applications to funding programs, reviewers score "
        "applications, approved applications become grants with disbursements."
    )
    assert names(req) == {"applicant", "application", "funding_program", "reviewer", "grant", "disbursement"}
    assert cardinality(req, "applicant", "application") == "one-to-many"
    assert cardinality(req, "grant", "disbursement") == "one-to-many"


def test_warehouses_hold_bins_is_a_relationship_and_compounds_stay_whole(analyst: Analyst) -> None:
    req = analyst.analyse(
        "Warehouse inventory: warehouses hold bins, bins contain stock items of products; purchase orders from "
        "suppliers replenish stock."
    )
    assert {"warehouse", "bin", "stock_item", "product", "purchase_order", "supplier"} <= names(req)
    assert not names(req) & {"purchase", "warehouse_inventory", "inventory"}
    assert cardinality(req, "warehouse", "bin") == "one-to-many"
    assert cardinality(req, "bin", "stock_item") == "one-to-many"
    assert cardinality(req, "supplier", "purchase_order") == "one-to-many"
    assert all(a.name != "bins" for a in entity(req, "warehouse").attributes)


def test_reserved_words_are_kept_with_safe_names(analyst: Analyst) -> None:
    req = analyst.analyse("Track orders, groups, users, classes, imports and selects for a school admin office.")
    assert {"order", "group", "user", "class_item", "import_item", "select"} <= names(req)
    assert entity(req, "class_item").label == "Class" and entity(req, "import_item").label == "Import"


def test_a_bullet_list_is_read_line_by_line(analyst: Analyst) -> None:
    req = analyst.analyse("- students enrol in courses\n- teachers teach courses\n- each course has many lessons")
    assert names(req) == {"student", "course", "teacher", "lesson"}
    assert cardinality(req, "student", "course") == "many-to-many"
    assert cardinality(req, "course", "lesson") == "one-to-many"


@pytest.mark.parametrize(
    ("intent", "expected", "not_expected"),
    [
        ("Hotel front desk: guests reserve rooms.", {"guest", "room"}, {"attendee", "booking", "desk", "front_desk"}),
        (
            "Field service: dispatchers create work orders for customer sites, technicians complete work orders.",
            {"dispatcher", "work_order", "customer_site", "technician"},
            {"task", "venue"},
        ),
        ("Participants attend workshops at conferences.", {"participant", "workshop", "conference"}, {"attendee"}),
        ("Cooks publish recipes and readers rate them.", {"cook", "recipe", "reader"}, {"publish_recipe"}),
        (
            "Issue tracker: projects, issues, comments, labels, users",
            {"project", "issue", "comment", "label", "user"},
            {"support_ticket", "issue_tracker"},
        ),
    ],
)
def test_the_users_word_is_the_entity_name(
    analyst: Analyst, intent: str, expected: set[str], not_expected: set[str]
) -> None:
    req = analyst.analyse(intent)
    assert expected <= names(req), req.notes
    assert not names(req) & not_expected


def test_ui_and_infrastructure_words_are_not_entities(analyst: Analyst) -> None:
    req = analyst.analyse(
        "A booking platform with a customer portal, an admin dashboard and a mobile app: customers book "
        "appointments with stylists; the front desk management system sends reminders."
    )
    assert {"customer", "appointment", "stylist"} <= names(req)
    found = {w for n in names(req) for w in n.split("_")}
    assert not found & {"platform", "portal", "dashboard", "app", "desk", "management", "system"}
