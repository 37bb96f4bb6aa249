"""The pattern library as models, and finding a pattern by key, synonym, plural or multi-word name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdflib.namespace import RDF

from generators.patterns import PatternLibrary, normalise, pattern_library
from graph.embeddings import SentenceEmbedder
from ontology.models import DomainPattern
from ontology.namespaces import FAC
from ontology.vocabulary import PATTERNS_PATH, load_turtle


@pytest.fixture(scope="module")
def library() -> PatternLibrary:
    return pattern_library()


def test_every_pattern_of_the_turtle_file_is_loaded_as_a_model(library: PatternLibrary) -> None:
    keys_in_file = {str(o) for o in load_turtle(PATTERNS_PATH).objects(None, FAC.patternKey)}
    assert len(list(load_turtle(PATTERNS_PATH).subjects(RDF.type, FAC.DomainPattern))) == len(library) == 65
    assert {p.key for p in library.patterns} == keys_in_file
    assert all(isinstance(p, DomainPattern) and p.attributes and p.label for p in library.patterns)
    assert pattern_library() is library  # parsed once per process


def test_attributes_keep_the_order_and_flags_written_in_the_file(library: PatternLibrary) -> None:
    customer = library.get("customer")
    assert customer is not None
    assert [a.name for a in customer.attributes] == ["name", "email", "phone", "billing_address", "status"]
    email = customer.attributes[1]
    assert (email.type, email.required, email.unique, email.pii) == ("email", True, True, True)
    status = customer.attributes[-1]
    assert status.type == "enum" and status.enum_values == ["active", "inactive", "prospect"]
    assert customer.synonyms[:2] == ["client", "buyer"]
    assert customer.comment.startswith("A person or organization")


def test_relationships_point_from_the_pattern_to_their_target_key(library: PatternLibrary) -> None:
    invoice = library.get("invoice")
    assert invoice is not None
    line_items = next(r for r in invoice.relationships if r.target == "line_item")
    assert (line_items.source, line_items.cardinality, line_items.source_role, line_items.target_role) == (
        "invoice",
        "one-to-many",
        "line_items",
        "invoice",
    )
    targets = {r.target for p in library.patterns for r in p.relationships}
    assert targets <= {p.key for p in library.patterns}
    # related() answers in either direction
    assert library.related("line_item", "invoice") == line_items
    assert library.related("invoice", "pet") is None


@pytest.mark.parametrize(
    ("phrase", "key"),
    [
        ("invoice", "invoice"),
        ("Invoice", "invoice"),
        ("invoices", "invoice"),
        ("categories", "category"),
        ("companies", "company"),
        ("addresses", None),
        ("line item", "line_item"),
        ("line items", "line_item"),
        ("Line_Items", "line_item"),
        ("LineItem", "line_item"),
        ("purchase orders", "purchase_order"),
        ("support tickets", "support_ticket"),
        ("time entries", "time_entry"),
        ("order items", "order_item"),
        ("menu items", "menu_item"),
        ("maintenance records", "maintenance_record"),
        ("client", "customer"),
        ("clients", "customer"),
        ("patrons", "member"),
        ("vets", "doctor"),
        ("classes", "course"),
        ("statuses", None),
        ("work orders", "maintenance_record"),
        ("point of contact", "contact"),
        ("staff", "employee"),
        ("unicorn", None),
        ("", None),
    ],
)
def test_find_matches_keys_synonyms_plurals_and_multi_word_names(
    library: PatternLibrary, phrase: str, key: str | None
) -> None:
    found = library.find(phrase)
    assert (found.key if found else None) == key


def test_lookup_says_whether_a_key_or_a_synonym_matched(library: PatternLibrary) -> None:
    assert library.lookup("invoices") == (library.get("invoice"), "pattern")
    assert library.lookup("shoppers") == (library.get("customer"), "synonym")
    assert library.lookup("nothing like it") is None


def test_normalise_makes_singular_lowercase_words() -> None:
    assert normalise("Line_Items") == "line item"
    assert normalise("People") == "person"
    assert normalise("CATEGORIES") == "category"
    assert normalise("boxes and buses") == "box and bus"
    assert normalise("statuses, analyses, addresses") == "status analysis address"


def test_match_finds_the_longest_names_inside_a_phrase(library: PatternLibrary) -> None:
    hits = library.match(["customer", "invoice", "line", "item"])
    assert [(h.key, h.start, h.end) for h in hits] == [("customer", 0, 1), ("invoice", 1, 2), ("line_item", 2, 4)]
    assert [h.key for h in library.match(["event", "ticket"])] == ["event_ticket"]
    assert library.match(["garden", "plot"]) == []


def test_head_candidates_list_the_patterns_a_bare_word_may_mean(library: PatternLibrary) -> None:
    assert set(library.head_candidates("ticket")) == {"support_ticket", "event_ticket"}
    assert {"line_item", "order_item", "menu_item"} <= set(library.head_candidates("item"))
    assert library.head_candidates("invoice") == []


def test_a_library_can_be_read_from_another_turtle_file(tmp_path: Path) -> None:
    path = tmp_path / "mini.ttl"
    path.write_text(
        """@prefix fac: <https://softwarefactory.dev/ontology#> .
@prefix pat: <https://softwarefactory.dev/patterns/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
pat:hive a fac:DomainPattern ; rdfs:label "Hive" ; fac:patternKey "hive" ; fac:synonyms "beehive|colony" ;
    fac:typicalAttribute pat:hive.name .
pat:hive.name a fac:Attribute ; rdfs:label "Name" ; fac:attributeName "name" ; fac:dataType "string" ;
    fac:isRequired true ; fac:isUnique false ; fac:isPii false .
""",
        encoding="utf-8",
    )
    mini = PatternLibrary.load(path)
    assert [p.key for p in mini.patterns] == ["hive"]
    found = mini.find("colonies")
    assert found is not None and found.key == "hive"
    assert found.attributes[0].required and found.relationships == []


def test_fixed_texts_are_encoded_once_and_read_back_by_a_new_embedder(
    tmp_path: Path, embedder: SentenceEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["invoice", "customer (client, account holder): a person or company that buys"]
    first = SentenceEmbedder(cache=tmp_path)
    first._model = embedder._load()  # the session's model, not a second copy
    vectors = first.fixed(texts)
    assert np.allclose(vectors, embedder(texts), atol=1e-5)
    assert len(list(tmp_path.glob("vectors-*.npy"))) == 1
    fresh = SentenceEmbedder(cache=tmp_path)  # as in a new process: nothing loaded

    def no_model() -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(fresh, "_load", no_model)
    assert np.array_equal(fresh.fixed(texts), vectors)
    with pytest.raises(AssertionError, match="model was loaded"):
        fresh.fixed([*texts, "supplier"])  # other texts are another entry
    (next(tmp_path.glob("vectors-*.npy"))).write_bytes(b"not an array")  # a damaged entry is encoded again
    first.fixed(texts)
    assert np.array_equal(fresh.fixed(texts), vectors)
