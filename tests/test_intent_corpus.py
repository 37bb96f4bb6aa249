"""Structure of the analyst's labelled evaluation corpus (tests/intents/*.yaml).

These checks read the real files: a malformed record, a duplicated id, a relationship whose end is not
one of the intent's entities, or an intent repeated across the two splits makes them fail.
The labelling rules are written down in docs/analyst-corpus.md.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.intents.counts import STYLES as CORPUS_STYLES

CORPUS = Path(__file__).parent / "intents"
SPLITS = ("test", "dev")
STYLES = set(CORPUS_STYLES)
CARDINALITIES = {"one-to-many", "many-to-one", "many-to-many"}
RECORD_KEYS = {"id", "domain", "style", "intent", "entities", "optional", "relationships", "attributes"}
REQUIRED_KEYS = {"id", "domain", "style", "intent", "entities", "relationships"}
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
DOMAIN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# Product, organisation and UI words the rules say are never entities.
NOT_ENTITIES = {
    "management",
    "platform",
    "portal",
    "app",
    "application_become",
    "dashboard",
    "front_desk",
    "back_office",
    "admin_panel",
    "website",
    "crm",
    "api",
    "microservice",
    "software",
    "tool",
}
# Phrases of the intents quoted in issue 14 that the dev split must hold.
ISSUE_EXAMPLES = (
    "CRM with contacts, companies and deals.",
    "pet owners register their pets, book visits with veterinarians",
    "applicants submit applications to funding programs, reviewers",
    "warehouses hold bins, bins contain stock items of products; purchase orders from",
    "Track orders, groups, users, classes, imports and selects for a school admin office.",
    "- students enrol in courses\n- teachers teach courses",
    "guests reserve rooms",
    "work orders at customer sites",
    "participants",
    "Issue tracker: projects, issues, comments, labels, users",
)
MIN_INTENTS_PER_SPLIT = 64
MIN_DOMAINS = 40
MIN_USES_PER_STYLE = 2


def load(split: str) -> list[dict[str, Any]]:
    records = yaml.safe_load((CORPUS / f"{split}.yaml").read_text(encoding="utf-8"))
    assert isinstance(records, list), f"{split}.yaml must hold a list of records"
    return records


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[dict[str, Any]]]:
    return {split: load(split) for split in SPLITS}


def names_of(record: dict[str, Any]) -> tuple[list[str], list[str]]:
    entities = [entity["name"] for entity in record["entities"]]
    optional = list(record.get("optional") or [])
    return entities, optional


def record_problems(record: dict[str, Any]) -> list[str]:
    """Every structural fault of one record, as readable lines (empty when it is sound)."""
    problems: list[str] = []
    rid = record.get("id", "?")
    keys = set(record)
    if missing := REQUIRED_KEYS - keys:
        return [f"{rid}: missing keys {sorted(missing)}"]
    if unknown := keys - RECORD_KEYS:
        problems.append(f"{rid}: unknown keys {sorted(unknown)}")
    if record["style"] not in STYLES:
        problems.append(f"{rid}: style {record['style']!r} is not one of the allowed styles")
    if not DOMAIN.match(str(record["domain"])):
        problems.append(f"{rid}: domain {record['domain']!r} is not a short lowercase word")
    if not isinstance(record["intent"], str) or not record["intent"].strip():
        problems.append(f"{rid}: empty intent")
    if not record["entities"]:
        problems.append(f"{rid}: no entities")
    for entity in record["entities"]:
        if set(entity) - {"name", "aliases"}:
            problems.append(f"{rid}: entity keys {sorted(entity)}")
        for name in [entity.get("name"), *(entity.get("aliases") or [])]:
            if not isinstance(name, str) or not SNAKE.match(name):
                problems.append(f"{rid}: entity name {name!r} is not snake_case")
            elif name in NOT_ENTITIES:
                problems.append(f"{rid}: {name!r} is a product or UI word, never an entity")
    entities, optional = names_of(record)
    for name in optional:
        if not isinstance(name, str) or not SNAKE.match(name):
            problems.append(f"{rid}: optional name {name!r} is not snake_case")
    if duplicated := [n for n, c in Counter(entities + optional).items() if c > 1]:
        problems.append(f"{rid}: names listed twice {duplicated}")
    known = set(entities) | set(optional)
    pairs: list[frozenset[str]] = []
    for rel in record["relationships"] or []:
        if set(rel) != {"source", "target", "cardinality"}:
            problems.append(f"{rid}: relationship keys {sorted(rel)}")
            continue
        for end in (rel["source"], rel["target"]):
            if end not in known:
                problems.append(f"{rid}: relationship end {end!r} is not an entity of the intent")
        if rel["cardinality"] not in CARDINALITIES:
            problems.append(f"{rid}: cardinality {rel['cardinality']!r}")
        pairs.append(frozenset((rel["source"], rel["target"])))
    if twice := [sorted(p) for p, c in Counter(pairs).items() if c > 1]:
        problems.append(f"{rid}: the same two entities are related twice {twice}")
    for attribute in record.get("attributes") or []:
        if set(attribute) - {"entity", "name", "aliases"} or not {"entity", "name"} <= set(attribute):
            problems.append(f"{rid}: attribute keys {sorted(attribute)}")
            continue
        if attribute["entity"] not in known:
            problems.append(f"{rid}: attribute of {attribute['entity']!r}, which is not an entity")
        for name in [attribute["name"], *(attribute.get("aliases") or [])]:
            if not isinstance(name, str) or not SNAKE.match(name):
                problems.append(f"{rid}: attribute name {name!r} is not snake_case")
    return problems


@pytest.mark.parametrize("split", SPLITS)
def test_every_record_is_well_formed(corpus: dict[str, list[dict[str, Any]]], split: str) -> None:
    problems = [line for record in corpus[split] for line in record_problems(record)]
    assert problems == []


def test_the_checks_catch_a_broken_record(corpus: dict[str, list[dict[str, Any]]]) -> None:
    record = dict(corpus["test"][0])
    record["entities"] = [*record["entities"], {"name": "Dashboard Item"}, {"name": "portal"}]
    record["relationships"] = [{"source": "patient", "target": "ghost", "cardinality": "one-to-one"}]
    record["style"] = "poetry"
    problems = "\n".join(record_problems(record))
    for expected in ("'Dashboard Item'", "'portal'", "'ghost'", "'one-to-one'", "'poetry'"):
        assert expected in problems


def test_ids_are_unique_across_both_splits(corpus: dict[str, list[dict[str, Any]]]) -> None:
    ids = [record["id"] for split in SPLITS for record in corpus[split]]
    assert [rid for rid, count in Counter(ids).items() if count > 1] == []
    assert all(SNAKE.match(rid.replace("-", "_")) for rid in ids)


def test_no_intent_text_is_in_both_splits(corpus: dict[str, list[dict[str, Any]]]) -> None:
    def text(record: dict[str, Any]) -> str:
        return " ".join(record["intent"].split()).lower()

    test_texts = {text(record) for record in corpus["test"]}
    dev_texts = [text(record) for record in corpus["dev"]]
    assert [t for t in dev_texts if t in test_texts] == []
    for split in SPLITS:
        texts = [text(record) for record in corpus[split]]
        assert len(texts) == len(set(texts)), f"an intent is repeated inside {split}.yaml"


@pytest.mark.parametrize("split", SPLITS)
def test_sizes_domains_and_styles(corpus: dict[str, list[dict[str, Any]]], split: str) -> None:
    records = corpus[split]
    assert len(records) >= MIN_INTENTS_PER_SPLIT
    assert len({record["domain"] for record in records}) >= MIN_DOMAINS
    styles = Counter(record["style"] for record in records)
    assert {style for style in STYLES if styles[style] < MIN_USES_PER_STYLE} == set()


def test_the_dev_split_holds_the_issue_examples(corpus: dict[str, list[dict[str, Any]]]) -> None:
    dev_text = "\n".join(record["intent"] for record in corpus["dev"])
    test_text = "\n".join(record["intent"] for record in corpus["test"])
    assert [phrase for phrase in ISSUE_EXAMPLES if phrase not in dev_text] == []
    quoted = [phrase for phrase in ISSUE_EXAMPLES if len(phrase) > 20]
    assert [phrase for phrase in quoted if phrase in test_text] == []


@pytest.mark.parametrize("split", SPLITS)
def test_the_second_labelling_is_well_formed_and_of_the_split_s_own_intents(
    corpus: dict[str, list[dict[str, Any]]], split: str
) -> None:
    """tests/intents/second/<split>.yaml labels some intents of a split again, independently: same format, same
    rules, and each record carries its intent's id and exact text."""
    second = yaml.safe_load((CORPUS / "second" / f"{split}.yaml").read_text(encoding="utf-8"))
    texts = {record["id"]: record["intent"] for record in corpus[split]}
    assert len(second) >= MIN_INTENTS_PER_SPLIT
    assert [line for record in second for line in record_problems(record)] == []
    assert [r["id"] for r in second if texts.get(r["id"]) != r["intent"]] == []
    assert len({r["id"] for r in second}) == len(second)
