"""The analyst reads real intents into requirements: entities, attributes, relationships, features, objectives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generators.agents.analyst import MAX_INTENT_CHARS, Analyst
from graph.embeddings import SentenceEmbedder
from graph.knowledge_graph import KnowledgeGraph
from graph.samples import DEMO_PRODUCTS, build_facts
from ontology.errors import InvalidInputError
from ontology.models import INVERSE_CARDINALITY, EntityNeed, Requirements


@pytest.fixture(scope="module")
def analyst() -> Analyst:
    return Analyst()


def names(req: Requirements) -> set[str]:
    return {e.name for e in req.entities}


def entity(req: Requirements, name: str) -> EntityNeed:
    return next(e for e in req.entities if e.name == name)


def cardinality(req: Requirements, a: str, b: str) -> str | None:
    """The cardinality of the relationship between a and b, read from a's side; None when there is none."""
    for r in req.relationships:
        if (r.source, r.target) == (a, b):
            return r.cardinality
        if (r.source, r.target) == (b, a):
            return INVERSE_CARDINALITY[r.cardinality]
    return None


# ---------------------------------------------------------------- ten domains

DOMAINS = [
    pytest.param(
        "A multi-tenant invoicing service where customers receive invoices with line items and pay them by card. "
        "Each payment belongs to an invoice.",
        {"customer", "invoice", "line_item", "payment"},
        [
            ("customer", "invoice", "one-to-many"),
            ("invoice", "line_item", "one-to-many"),
            ("payment", "invoice", "many-to-one"),
        ],
        id="invoicing",
    ),
    pytest.param(
        "A clinic booking app where patients book appointments with doctors. "
        "Doctors record visits, and each visit records treatments.",
        {"patient", "appointment", "doctor", "visit", "treatment"},
        [
            ("patient", "appointment", "one-to-many"),
            ("doctor", "appointment", "one-to-many"),
            ("doctor", "visit", "one-to-many"),
            ("visit", "treatment", "one-to-many"),
        ],
        id="clinic-booking",
    ),
    pytest.param(
        "A project management tool where teams run projects. Projects have many tasks, "
        "and members log time entries against tasks and leave comments on tasks.",
        {"team", "project", "task", "member", "time_entry", "comment"},
        [
            ("team", "project", "one-to-many"),
            ("project", "task", "one-to-many"),
            ("task", "time_entry", "one-to-many"),
            ("task", "comment", "one-to-many"),
            ("member", "time_entry", "one-to-many"),
        ],
        id="project-management",
    ),
    pytest.param(
        "A subscription billing platform where customers hold subscriptions to plans. "
        "Each subscription generates invoices every month, and customers can redeem coupons.",
        {"customer", "subscription", "plan", "invoice", "coupon"},
        [
            ("customer", "subscription", "one-to-many"),
            ("plan", "subscription", "one-to-many"),
            ("subscription", "invoice", "one-to-many"),
            ("customer", "coupon", "one-to-many"),
        ],
        id="subscriptions",
    ),
    pytest.param(
        "An e-learning platform where instructors teach courses made of lessons. "
        "Students have many enrollments, and each enrollment belongs to a course.",
        {"instructor", "course", "lesson", "student", "enrollment"},
        [
            ("instructor", "course", "one-to-many"),
            ("course", "lesson", "one-to-many"),
            ("student", "enrollment", "one-to-many"),
            ("enrollment", "course", "many-to-one"),
        ],
        id="e-learning",
    ),
    pytest.param(
        "A fleet maintenance tracker: drivers are assigned to vehicles, vehicles have many maintenance records, "
        "and drivers record trips.",
        {"driver", "vehicle", "maintenance_record", "trip"},
        [
            ("driver", "vehicle", "many-to-one"),
            ("vehicle", "maintenance_record", "one-to-many"),
            ("driver", "trip", "one-to-many"),
        ],
        id="fleet-maintenance",
    ),
    pytest.param(
        "An event ticketing service where organisers create events at venues and sell tickets to attendees. "
        "Each ticket belongs to an event.",
        {"event", "venue", "ticket", "attendee"},
        [
            ("venue", "event", "one-to-many"),
            ("event", "ticket", "one-to-many"),
            ("attendee", "ticket", "one-to-many"),
        ],
        id="event-ticketing",
    ),
    pytest.param(
        "A car rental service: customers make rentals of vehicles, each rental has a start date, an end date "
        "and a daily rate, and payments belong to rentals.",
        {"customer", "rental", "vehicle", "payment"},
        [
            ("customer", "rental", "one-to-many"),
            ("vehicle", "rental", "one-to-many"),
            ("rental", "payment", "one-to-many"),
        ],
        id="rentals",
    ),
    pytest.param(
        "A restaurant ordering system where diners place orders with order items chosen from menu items. "
        "Each order belongs to a table reservation.",
        {"order", "order_item", "menu_item", "table_reservation"},
        [
            ("order", "order_item", "one-to-many"),
            ("menu_item", "order_item", "one-to-many"),
            ("table_reservation", "order", "one-to-many"),
        ],
        id="restaurant-orders",
    ),
    pytest.param(
        "A helpdesk where customers open support tickets, agents answer tickets with messages, "
        "and tickets can be escalated to other agents.",
        {"customer", "ticket", "agent", "message"},  # 'tickets' is written more often than 'support tickets'
        [
            ("customer", "ticket", "one-to-many"),
            ("agent", "ticket", "one-to-many"),
            ("ticket", "message", "one-to-many"),
        ],
        id="helpdesk",
    ),
]


@pytest.mark.parametrize(("intent", "core", "relationships"), DOMAINS)
def test_each_domain_gives_its_core_entities_and_relationships(
    analyst: Analyst, intent: str, core: set[str], relationships: list[tuple[str, str, str]]
) -> None:
    req = analyst.analyse(intent)
    assert core <= names(req), req.notes
    for a, b, card in relationships:
        assert cardinality(req, a, b) == card, (a, b, req.relationships)
    for e in req.entities:
        if e.name in core:  # the user's word names the entity; the pattern it matched is recorded beside it
            assert e.pattern is not None and e.matched_by in ("pattern", "synonym")
            assert e.pattern == e.name or e.name in e.phrase.lower().replace(" ", "_")
    assert all(r.source in names(req) and r.target in names(req) for r in req.relationships)
    assert req.description.startswith(intent[:40])
    assert any(s.kind == "relationship" for s in req.statements())


def test_product_names_come_from_the_words_that_name_the_service(analyst: Analyst) -> None:
    assert analyst.analyse(str(DOMAINS[0].values[0])).product_name == "Invoicing Service"
    assert analyst.analyse(str(DOMAINS[4].values[0])).product_name == "E-learning Platform"
    assert analyst.analyse(str(DOMAINS[5].values[0])).product_name == "Fleet Maintenance Tracker"
    assert analyst.analyse("Customers place orders.").product_name == "Customer Service"
    assert analyst.analyse("Customers place orders.", product_name="  Acme   Shop ").product_name == "Acme Shop"
    with pytest.raises(InvalidInputError):
        analyst.analyse("Customers place orders.", product_name="   ")


# ---------------------------------------------------------------- explicit forms


@pytest.mark.parametrize(
    "intent",
    ["Invoice has number, amount and due date", "Invoices have a number, an amount and a due date."],
)
def test_has_lists_name_attributes_with_types_from_their_names(analyst: Analyst, intent: str) -> None:
    req = analyst.analyse(intent)
    invoice = entity(req, "invoice")
    assert [(a.name, a.type) for a in invoice.attributes] == [
        ("number", "string"),
        ("amount", "money"),
        ("due_date", "date"),
    ]
    assert invoice.matched_by == "pattern" and req.relationships == []
    assert any("attribute invoice.due_date (date)" in n for n in req.notes)


def test_attribute_types_pii_and_enum_values_are_inferred(analyst: Analyst) -> None:
    req = analyst.analyse(
        "Customers have an email, a phone number, a date of birth, a website, notes, a status and a priority. "
        "Each order has a total, a quantity, a placed_at, an is_paid flag, a description and a created_at."
    )
    customer = {a.name: a for a in entity(req, "customer").attributes}
    assert {n: a.type for n, a in customer.items()} == {
        "email": "email",
        "phone_number": "string",
        "date_of_birth": "date",
        "website": "url",
        "notes": "text",
        "status": "enum",
        "priority": "enum",
    }
    assert customer["email"].pii and customer["phone_number"].pii and customer["date_of_birth"].pii
    assert not customer["website"].pii
    assert customer["priority"].enum_values == ["low", "medium", "high", "urgent"]
    order = {a.name: a.type for a in entity(req, "order").attributes}
    assert order == {
        "total": "money",
        "quantity": "int",
        "placed_at": "datetime",
        "is_paid": "bool",
        "description": "text",
    }
    assert any("created_at" in n and "built in" in n for n in req.notes)
    assert "comment" not in names(req)  # "notes" in a has-list is a field, not the comment pattern


def test_has_many_belongs_to_and_records_give_relationships(analyst: Analyst) -> None:
    req = analyst.analyse("Customers have many invoices. Pets belong to owners. Each visit records treatments.")
    assert cardinality(req, "customer", "invoice") == "one-to-many"
    assert cardinality(req, "pet", "owner") == "many-to-one"
    assert cardinality(req, "visit", "treatment") == "one-to-many"
    verbs = {(r.source, r.target): r.verb for r in req.relationships}
    assert verbs[("customer", "invoice")] == "has many"
    assert verbs[("pet", "owner")] == "belongs to"
    assert verbs[("visit", "treatment")] == "record"


@pytest.mark.parametrize(
    ("intent", "a", "b"),
    [
        ("Students have many courses and courses have many students.", "student", "course"),
        ("Students and courses are many-to-many.", "student", "course"),
        ("There is a many to many relationship between products and categories.", "product", "category"),
        ("Each tag belongs to many products.", "tag", "product"),
    ],
)
def test_many_to_many_phrasings(analyst: Analyst, intent: str, a: str, b: str) -> None:
    req = analyst.analyse(intent)
    assert cardinality(req, a, b) == "many-to-many"
    assert len(req.relationships) == 1


def test_a_named_attribute_that_its_pattern_knows_takes_the_pattern_definition(analyst: Analyst) -> None:
    req = analyst.analyse("Invoices have a number, a status and a discount code.")
    invoice = {a.name: a for a in entity(req, "invoice").attributes}
    assert invoice["status"].enum_values == ["draft", "sent", "paid", "overdue", "void"]
    assert invoice["number"].required and invoice["number"].unique
    assert invoice["discount_code"].type == "string"
    assert any("typed as in its pattern" in n for n in req.notes)


def test_a_singular_part_in_a_has_list_is_a_many_to_one_link(analyst: Analyst) -> None:
    req = analyst.analyse("Each event has a name, a start time and a venue.")
    assert cardinality(req, "event", "venue") == "many-to-one"
    assert [a.name for a in entity(req, "event").attributes] == ["name", "start_time"]


# ---------------------------------------------------------------- verbs between entities


@pytest.mark.parametrize(
    ("intent", "subject", "obj", "verb"),
    [
        ("Owners register pets.", "owner", "pet", "register"),
        ("Members borrow books.", "member", "book", "borrow"),
        ("Patients book appointments.", "patient", "appointment", "book"),
        ("Doctors treat patients.", "doctor", "patient", "treat"),
        ("A driver completes trips.", "driver", "trip", "complete"),
        ("Pets are registered by owners.", "owner", "pet", "register"),
        ("The app lets owners register pets.", "owner", "pet", "register"),
    ],
)
def test_a_verb_between_two_entities_is_a_relationship(
    analyst: Analyst, intent: str, subject: str, obj: str, verb: str
) -> None:
    req = analyst.analyse(intent)
    assert names(req) == {subject, obj}
    (rel,) = req.relationships
    assert (rel.source, rel.target, rel.verb) == (subject, obj, verb)
    assert cardinality(req, subject, obj) == "one-to-many"


def test_coordinated_verbs_share_their_subject(analyst: Analyst) -> None:
    req = analyst.analyse("Owners register pets and book visits, and vets record treatments.")
    assert cardinality(req, "owner", "pet") == "one-to-many"
    assert cardinality(req, "owner", "visit") == "one-to-many"
    assert cardinality(req, "vet", "treatment") == "one-to-many"
    assert entity(req, "vet").pattern == "doctor"
    assert cardinality(req, "pet", "visit") is None


def test_other_domain_nouns_are_promoted_with_default_attributes(analyst: Analyst) -> None:
    req = analyst.analyse("Beekeepers inspect hives. Each hive has a name, a location and a queen age.")
    assert names(req) == {"beekeeper", "hive"}
    beekeeper, hive = entity(req, "beekeeper"), entity(req, "hive")
    assert beekeeper.pattern is None and beekeeper.matched_by == "noun"
    assert [a.name for a in beekeeper.attributes] == ["name", "description", "status"]
    assert beekeeper.attributes[0].pii  # a beekeeper is a person
    assert hive.matched_by == "noun" and [(a.name, a.type) for a in hive.attributes] == [
        ("name", "string"),
        ("location", "string"),
        ("queen_age", "int"),
    ]
    assert cardinality(req, "beekeeper", "hive") == "one-to-many"
    assert any("domain noun" in n for n in req.notes)


def test_generic_words_and_tenants_never_become_entities(analyst: Analyst) -> None:
    req = analyst.analyse(
        "A multi-tenant platform where tenants manage customers. The system stores data and information "
        "for each tenant in a dashboard, and the app sends emails."
    )
    assert names(req) == {"customer"}
    quiet = analyst.analyse("The service keeps its data in one place for every tenant.")
    assert quiet.entities == [] and any("no entities found" in n for n in quiet.notes)


def test_plurals_and_multi_word_names(analyst: Analyst) -> None:
    req = analyst.analyse(
        "Suppliers receive purchase orders, employees log time entries, and customers raise support tickets. "
        "Order items belong to orders, and products have categories."
    )
    assert {
        "supplier",
        "purchase_order",
        "employee",
        "time_entry",
        "customer",
        "support_ticket",
        "order_item",
        "order",
        "product",
        "category",
    } <= names(req)
    assert cardinality(req, "order_item", "order") == "many-to-one"
    assert entity(req, "time_entry").phrase == "time entries"


def test_a_bare_word_is_read_by_the_entities_around_it(analyst: Analyst) -> None:
    events = analyst.analyse("Organisers sell tickets for concerts at venues.")
    assert entity(events, "ticket").pattern == "event_ticket"
    helpdesk = analyst.analyse("Customers open tickets and agents answer them.")
    assert entity(helpdesk, "ticket").pattern == "support_ticket"


# ---------------------------------------------------------------- similarity fallback


def test_a_phrase_with_no_exact_match_falls_back_to_the_nearest_pattern(embedder: SentenceEmbedder) -> None:
    intent = "Owners register puppies and book checkups."
    offline = Analyst().analyse(intent)
    assert "puppy" in names(offline) and entity(offline, "puppy").matched_by == "noun"
    req = Analyst(embedder=embedder).analyse(intent)
    assert names(req) == {"owner", "puppy", "checkup"}  # the user's words, with the patterns they are nearest to
    puppy = entity(req, "puppy")
    assert (puppy.matched_by, puppy.pattern, puppy.phrase) == ("similarity", "pet", "puppies")
    assert entity(req, "checkup").pattern == "visit"
    assert cardinality(req, "owner", "puppy") == "one-to-many"
    assert any("nearest pattern by meaning is pet" in n for n in req.notes)


def test_similarity_does_not_turn_a_role_into_what_it_acts_on(embedder: SentenceEmbedder) -> None:
    req = Analyst(embedder=embedder).analyse("Renters sign leases, and invoice recipients pay invoices.")
    assert {"renter", "lease", "invoice_recipient", "invoice"} == names(req), req.notes
    assert all(e.matched_by != "similarity" for e in req.entities)


def test_similar_past_products_are_evidence_only(embedder: SentenceEmbedder, tmp_path: Path) -> None:
    sample = DEMO_PRODUCTS[0]
    kg = KnowledgeGraph(tmp_path, embedder=embedder)
    kg.write(build_facts(sample))
    with_graph = Analyst(embedder=embedder, knowledge_graph=kg, tenant=sample.tenant).analyse(sample.intent)
    alone = Analyst(embedder=embedder).analyse(sample.intent)
    assert any(n.startswith("similar past") and f"{sample.tenant}/{sample.product}" in n for n in with_graph.notes)
    assert with_graph.model_dump(exclude={"notes"}) == alone.model_dump(exclude={"notes"})
    no_vectors = KnowledgeGraph(tmp_path, embedder=None)
    req = Analyst(knowledge_graph=no_vectors, tenant=sample.tenant).analyse(sample.intent)
    assert any("not consulted" in n for n in req.notes) and "invoice" in names(req)


# ---------------------------------------------------------------- features and objectives


def test_features_and_objectives_from_words(analyst: Analyst) -> None:
    req = analyst.analyse(
        "Customers receive invoices. Keep an audit history, support soft delete and full-text search, "
        "and notify customers by webhook. p95 under 200 ms and 99.9% availability."
    )
    assert req.features.model_dump() == {
        "audit_fields": True,
        "soft_delete": True,
        "search": True,
        "domain_events": True,
    }
    assert (req.slo.p95_latency_ms, req.slo.error_rate) == (200.0, 0.001)
    assert any("feature soft_delete on" in n for n in req.notes)
    assert names(req) == {"customer", "invoice"}  # "webhook", "history" and "search" are not entities
    other = analyst.analyse(
        "Customers receive invoices, without audit trail. Error rate below 0.5%, latency under 0.25 s."
    )
    assert not other.features.audit_fields and not other.features.soft_delete
    assert (other.slo.p95_latency_ms, other.slo.error_rate) == (250.0, 0.005)


def test_events_of_an_event_business_are_entities_but_domain_events_are_a_feature(analyst: Analyst) -> None:
    req = analyst.analyse("Venues host events. Publish domain events when events sell out.")
    assert {"venue", "event"} <= names(req) and req.features.domain_events


# ---------------------------------------------------------------- determinism and hostile input


def test_the_same_intent_always_gives_the_same_requirements(analyst: Analyst, embedder: SentenceEmbedder) -> None:
    for intent in (str(p.values[0]) for p in DOMAINS):
        first = analyst.analyse(intent).model_dump_json()
        assert analyst.analyse(intent).model_dump_json() == first
        assert Analyst().analyse(intent).model_dump_json() == first
    similar = Analyst(embedder=embedder)
    intent = "Owners register puppies and book checkups."
    assert similar.analyse(intent) == similar.analyse(intent)


@pytest.mark.parametrize("intent", ["", "   \n\t  ", "x" * (MAX_INTENT_CHARS + 1)])
def test_empty_blank_and_oversized_intents_get_a_one_line_error(analyst: Analyst, intent: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        analyst.analyse(intent)
    message = str(caught.value)
    assert message and "\n" not in message
    assert ("empty" in message) if intent.strip() == "" else ("5,000" in message)


def test_an_intent_of_exactly_the_limit_is_read(analyst: Analyst) -> None:
    intent = ("Owners register pets. " * 300)[:MAX_INTENT_CHARS]
    assert names(analyst.analyse(intent)) == {"owner", "pet"}


def test_template_syntax_in_an_intent_is_inert_text(analyst: Analyst) -> None:
    req = analyst.analyse(
        "Owners register pets {{ evil_entity }} and {% include 'secrets.txt' %} book visits {# hidden #}. "
        "{{ 7*7 }} {{ config.__class__ }}"
    )
    assert names(req) == {"owner", "pet", "visit"}
    dumped = json.dumps(req.model_dump(exclude={"description", "notes"}))
    for word in ("evil", "secret", "include", "hidden", "config", "class", "49"):
        assert word not in dumped
    assert any("template" in n for n in req.notes)
    only_template = analyst.analyse("{{ x }}{% for y in z %}{% endfor %}")
    assert only_template.entities == []


def test_odd_and_hostile_text_never_crashes(analyst: Analyst) -> None:
    for intent in (
        "日本語のサービス",
        "!!! ???",
        "../../etc/passwd",
        "class import select from",
        "has many",
        "a" * 4000,
    ):
        req = analyst.analyse(intent)
        assert req.product_name
        assert all(e.name.isidentifier() and "/" not in e.name for e in req.entities)


def test_the_agent_names_itself(analyst: Analyst) -> None:
    assert (Analyst.name, Analyst.role, Analyst.version) == ("analyst", "turns an intent into requirements", "1.0.0")
    assert analyst.ref.name == "analyst" and analyst.ref.version == "1.0.0"
