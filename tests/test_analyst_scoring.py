"""The analyst benchmark's scorer, on hand-made cases whose figures are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.analyst_scoring import (
    Case,
    ExpectedAttribute,
    ExpectedEntity,
    Found,
    FoundEntity,
    load_corpus,
    score_case,
    summarise,
)
from ontology.errors import InvalidInputError

CASE = Case(
    id="vet",
    intent="Owners register pets; pets have a name; vets treat pets.",
    entities=(ExpectedEntity("owner"), ExpectedEntity("pet"), ExpectedEntity("veterinarian", ("vet",))),
    relationships=(("owner", "pet", "one-to-many"), ("veterinarian", "pet", "many-to-many")),
    attributes=(ExpectedAttribute("pet", "name"), ExpectedAttribute("pet", "birth_date", ("date_of_birth",))),
    optional=("clinic",),
)


def test_a_perfect_answer_scores_one() -> None:
    found = Found(
        (FoundEntity("owner"), FoundEntity("pet", attributes=frozenset({"name", "date_of_birth"})), FoundEntity("vet")),
        (("pet", "owner", "many-to-one"), ("pet", "vet", "many-to-many")),
    )
    score = score_case(CASE, found)
    assert (score.entity_tp, score.missed, score.invented) == (3, [], [])
    assert (score.rel_tp, score.rel_missed, score.rel_invented) == (2, [], [])
    totals = summarise([score])
    assert (totals.entity_f1, totals.relationship_f1, totals.attribute_recall) == (1.0, 1.0, 1.0)


def test_misses_inventions_and_wrong_cardinality_are_counted() -> None:
    found = Found(
        (FoundEntity("owner"), FoundEntity("doctor"), FoundEntity("practice_management")),
        (("owner", "doctor", "one-to-many"), ("owner", "pet", "many-to-many")),
    )
    score = score_case(CASE, found)
    assert score.missed == ["pet", "veterinarian"]
    assert score.invented == ["doctor", "practice_management"]
    assert score.rel_tp == 0
    assert sorted(score.rel_missed) == ["owner one-to-many pet", "veterinarian many-to-many pet"]
    assert len(score.rel_invented) == 2
    assert score.attr_missed == ["pet.name", "pet.birth_date"]
    totals = summarise([score])
    assert totals.entity_precision == pytest.approx(1 / 3)
    assert totals.entity_recall == pytest.approx(1 / 3)
    assert totals.entity_f1 == pytest.approx(1 / 3)
    assert totals.relationship_f1 == 0.0
    assert totals.attribute_recall == 0.0


def test_optional_entities_neither_count_nor_cost() -> None:
    found = Found((FoundEntity("owner"), FoundEntity("pet"), FoundEntity("vet"), FoundEntity("clinic")))
    score = score_case(CASE, found)
    assert (score.entity_tp, score.invented) == (3, [])
    found = Found((FoundEntity("owner"), FoundEntity("pet"), FoundEntity("vet")), (("clinic", "pet", "one-to-many"),))
    assert score_case(CASE, found).rel_invented == []


def test_safe_renames_labels_and_phrases_match_the_users_word() -> None:
    case = Case(
        "school",
        "Track classes, imports and people.",
        (ExpectedEntity("class"), ExpectedEntity("import"), ExpectedEntity("person")),
    )
    found = Found(
        (FoundEntity("class_item"), FoundEntity("data_import", label="Import"), FoundEntity("member", phrase="persons"))
    )
    assert score_case(case, found).entity_tp == 3


def test_micro_averages_weigh_every_entity_alike() -> None:
    small = Case("a", "x", (ExpectedEntity("a"),))
    large = Case("b", "y", tuple(ExpectedEntity(n) for n in "bcdefghij"))
    scores = [score_case(small, Found()), score_case(large, Found(tuple(FoundEntity(n) for n in "bcdefghij")))]
    assert summarise(scores).entity_recall == pytest.approx(9 / 10)


def test_the_corpus_loads_and_a_malformed_entry_is_one_line(tmp_path: Path) -> None:
    good = tmp_path / "dev.yaml"
    good.write_text(
        "- id: crm\n  intent: CRM with contacts and deals\n  entities: [{name: contact}, {name: deal, aliases: [opportunity]}]\n"
        "  relationships: [{source: contact, target: deal, cardinality: one-to-many}]\n"
        "  attributes: [{entity: deal, name: amount}]\n",
        encoding="utf-8",
    )
    (case,) = load_corpus(good)
    assert case.entities[1] == ExpectedEntity("deal", ("opportunity",))
    assert case.relationships == (("contact", "deal", "one-to-many"),)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- id: x\n  intent: y\n  relationships: [{source: a, target: b, cardinality: lots}]\n", encoding="utf-8"
    )
    with pytest.raises(InvalidInputError, match="entry 1 is malformed"):
        load_corpus(bad)
