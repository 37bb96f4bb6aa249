"""`python -m bench.analyst`: its figures per backend, and --llm against a chat-completions server on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.analyst import main
from tests.llm_server import llm_server

CORPUS = """\
- id: invoicing
  intent: Customers receive invoices.
  entities: [{name: customer}, {name: invoice}]
  relationships: [{source: customer, target: invoice, cardinality: one-to-many}]
- id: library
  intent: Members borrow books.
  entities: [{name: member}, {name: book}]
  relationships: [{source: member, target: book, cardinality: many-to-many}]
"""

# the model answers the first intent right and the second with one wrong entity and no relationship
ANSWERS = {
    "Customers receive invoices.": {
        "product_name": "Invoicing",
        "entities": [{"name": "customer"}, {"name": "invoice"}],
        "relationships": [{"source": "invoice", "target": "customer", "cardinality": "many-to-one"}],
    },
    "Members borrow books.": {"product_name": "Library", "entities": [{"name": "member"}, {"name": "shelf"}]},
}


def reply(body: dict[str, Any]) -> tuple[int, str]:
    system, user = (m["content"] for m in body["messages"])
    if "analyst" not in system:
        return 200, "no design today"  # the architect's answer is refused: its deterministic blueprint stands
    return 200, json.dumps(ANSWERS[json.loads(user)["intent"]])


def test_llm_figures_are_printed_beside_the_deterministic_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dev.yaml").write_text(CORPUS, encoding="utf-8")
    with llm_server(reply) as (url, received):
        monkeypatch.setenv("FACTORY_LLM_URL", url)
        assert main(["--corpus", str(tmp_path), "--llm", "--json", "--no-embedder"]) == 0
    assert len(received) == 4  # analyst and architect, for each of the two intents
    figures = json.loads(capsys.readouterr().out)["dev"]
    llm = figures["llm"]
    assert llm["intents"] == 2
    assert llm["entity_precision"] == pytest.approx(3 / 4)
    assert llm["entity_recall"] == pytest.approx(3 / 4)
    assert llm["relationship_f1"] == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert [w["id"] for w in llm["worst"]] == ["library"]
    assert llm["worst"][0]["missed"] == ["book"] and llm["worst"][0]["invented"] == ["shelf"]
    deterministic = figures["deterministic"]
    assert deterministic["intents"] == 2 and deterministic["entity_f1"] == 1.0


def test_the_text_report_names_each_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dev.yaml").write_text(CORPUS, encoding="utf-8")
    assert main(["--corpus", str(tmp_path), "--no-embedder"]) == 0
    out = capsys.readouterr().out
    assert "== split dev" in out and "deterministic" in out and "entity F1" in out


def test_llm_without_an_endpoint_says_so_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FACTORY_LLM_URL", raising=False)
    assert main(["--corpus", str(tmp_path), "--llm"]) != 0
    err = capsys.readouterr().err
    assert "FACTORY_LLM_URL" in err and len(err.strip().splitlines()) == 1


def test_a_missing_corpus_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--corpus", str(tmp_path), "--no-embedder"]) == 2
    assert "no corpus at" in capsys.readouterr().err


SECOND = """\
- id: library
  intent: Members borrow books.
  entities: [{name: member, aliases: [borrower]}, {name: book}]
  optional: [loan, shelf]
  relationships: [{source: member, target: book, cardinality: one-to-many}]
"""


def test_a_second_labelling_is_scored_against_the_first_on_its_intents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dev.yaml").write_text(CORPUS + "  optional: [loan]\n", encoding="utf-8")
    second = tmp_path / "second"
    second.mkdir()
    (second / "dev.yaml").write_text(SECOND, encoding="utf-8")
    assert main(["--corpus", str(tmp_path), "--second", str(second), "--json", "--no-embedder"]) == 0
    figures = json.loads(capsys.readouterr().out)["dev"]
    assert figures["deterministic"]["intents"] == figures["second labeller"]["intents"] == 1
    labeller = figures["second labeller"]
    # both entities agree (an optional 'shelf' the first never expects is not an invention); the link's cardinality differs
    assert labeller["entity_precision"] == labeller["entity_recall"] == 1.0
    assert labeller["relationship_f1"] == 0.0
    assert labeller["worst"][0]["relationships_missed"] == ["member many-to-many book"]


def test_a_second_labelling_of_another_text_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dev.yaml").write_text(CORPUS, encoding="utf-8")
    second = tmp_path / "second"
    second.mkdir()
    (second / "dev.yaml").write_text(SECOND.replace("Members borrow", "Members lend"), encoding="utf-8")
    assert main(["--corpus", str(tmp_path), "--second", str(second), "--no-embedder"]) == 2
    err = capsys.readouterr().err.strip()
    assert "library has another text" in err and len(err.splitlines()) == 1
