"""The analyst's learned confidence in each entity: a word said in passing is left out by default, a person or a
tenant's decision keeps it, and the weights are trained from the dev split by bench.entity_confidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bench.entity_confidence import main as train
from generators.agents.analyst import Analyst
from generators.entity_confidence import FEATURES, MODEL_PATH, THRESHOLD, model
from generators.open_questions import find_questions, settle
from generators.patterns import pattern_library
from generators.pipeline import Planner
from graph.embeddings import SentenceEmbedder
from ontology.models import EntityNeed, PastDecision, Requirements

KENNELS = (
    "Kennel booking system: owners book stays for their dogs, each stay has a kennel, feeding notes and a vet contact;"
    " staff log walks and medication rounds for each dog; owners pay deposits. Reports are emailed to the Operations"
    " Manager at head office."
)


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner(None)


def test_a_word_said_in_passing_is_left_out_and_asked_about(planner: Planner) -> None:
    requirements = planner.analyse(KENNELS, "acme").requirements
    names = {e.name for e in requirements.entities}
    assert {"owner", "stay", "dog", "deposit"} <= names
    assert "head_office" not in names
    assert all(e.confidence is not None and e.confidence >= THRESHOLD for e in requirements.entities)
    question = next(q for q in requirements.open_questions if q.id == "head_office")
    assert question.kind == "entity-or-attribute"
    assert question.default == "ignore"
    assert "entity" in question.alternatives
    assert "said in passing" in question.text
    assert any(n.startswith("question head_office = ignore (the default") for n in requirements.notes)
    assert not requirements.answers  # a default is not a person's decision


def test_a_person_keeps_what_the_analyst_left_out(planner: Planner) -> None:
    requirements = planner.analyse(KENNELS, "acme", {"head_office": "entity"}).requirements
    assert "head_office" in {e.name for e in requirements.entities}
    assert [(a.question.id, a.choice) for a in requirements.answers] == [("head_office", "entity")]
    assert all(q.id != "head_office" for q in requirements.open_questions)


def test_a_tenants_earlier_decision_keeps_it(planner: Planner) -> None:
    analyst_only = planner.analyse(KENNELS, "acme", {"head_office": "entity"}).requirements
    draft = analyst_only.model_copy(update={"answers": [], "open_questions": []})
    kept = PastDecision(kind="entity-or-attribute", subject="head_office", choice="entity", person="ana")
    settled = settle(draft, pattern_library(), past=[kept])
    assert "head_office" in {e.name for e in settled.entities}
    assert settled.answers[0].remembered and settled.answers[0].decided_by == "ana"


def test_a_proposal_never_leaves_out_every_entity() -> None:
    doubtful = Requirements(
        product_name="Doubts",
        entities=[EntityNeed(name="region", confidence=0.2), EntityNeed(name="season", confidence=0.3)],
    )
    questions = find_questions(doubtful, pattern_library())
    assert all(q.default == "entity" for q in questions)
    assert {e.name for e in settle(doubtful, pattern_library()).entities} == {"region", "season"}


def test_the_shipped_weights_weigh_every_feature() -> None:
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert tuple(data["features"]) == FEATURES  # a feature added without training again fails here
    assert data["trained"]["split"] == "dev" and data["trained"]["not_expected"] > 0
    assert 0.0 < model().probability(dict.fromkeys(FEATURES, 0.0)) < 1.0


def test_the_meaning_of_a_name_moves_its_confidence(embedder: SentenceEmbedder) -> None:
    """Two entities with the same evidence: a word for a screen or a place is less likely meant than a record."""
    weights = model()
    assert len(weights.meaning_weights) == embedder.dimension
    same = dict.fromkeys(FEATURES, 0.0) | {"how_noun": 1.0, "role_object": 1.0, "plural": 1.0, "head_noun": 1.0}
    words = ["invoice", "dashboard", "head office"]
    invoice, dashboard, office = (weights.probability(same, m) for m in embedder(words))
    assert invoice > dashboard and invoice > office
    assert weights.probability(same) == pytest.approx(weights.probability(same, None))  # no model: the mean term


def test_the_analyst_weighs_with_the_meanings_it_shares_with_the_pattern_library(embedder: SentenceEmbedder) -> None:
    analyst = Analyst(embedder, library=pattern_library())
    requirements, features, meanings = analyst.weigh(KENNELS)
    assert set(meanings) == set(features) == {e.name for e in requirements.entities}
    assert all(m.shape == (embedder.dimension,) for m in meanings.values())
    assert set(Analyst(None).weigh(KENNELS)[2]) == set()


def _small_corpus(folder: Path, endings: tuple[str, ...], per_batch: int) -> None:
    entries = yaml.safe_load(Path("tests/intents/dev.yaml").read_text(encoding="utf-8"))
    chosen = [e for end in endings for e in [x for x in entries if x["id"].endswith(end)][:per_batch]]
    (folder / "dev.yaml").write_text(yaml.safe_dump(chosen, sort_keys=False), encoding="utf-8")


def test_training_writes_weights_the_analyst_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _small_corpus(tmp_path, ("-12", "-13", "-14"), 6)
    output = tmp_path / "weights.json"
    assert train(["--corpus", str(tmp_path), "--no-embedder", "--output", str(output), "--dry-run"]) == 0
    assert not output.exists()
    assert train(["--corpus", str(tmp_path), "--no-embedder", "--output", str(output), "--exclude", "-14"]) == 0
    printed = capsys.readouterr().out
    assert "12 intents" in printed and "held out by batch, unlikely left out: entity P" in printed
    trained = json.loads(output.read_text(encoding="utf-8"))
    assert trained["trained"]["intents"] == 12 and trained["trained"]["excluded"] == ["-14"]
    assert 0.0 < model(output).probability(dict.fromkeys(FEATURES, 1.0)) < 1.0


def test_training_needs_entities_of_both_kinds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entities = [{"name": "contact"}, {"name": "deal"}]
    entry = {
        "id": "crm-01",
        "domain": "crm",
        "style": "noun-list",
        "intent": "CRM with contacts and deals.",
        "entities": entities,
    }
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump([entry]), encoding="utf-8")
    assert train(["--corpus", str(tmp_path), "--no-embedder", "--dry-run"]) == 2
    assert "needs both" in capsys.readouterr().err


def test_training_says_in_one_line_where_it_cannot_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _small_corpus(tmp_path, ("-12", "-13", "-14"), 6)
    output = tmp_path / "missing" / "weights.json"
    assert train(["--corpus", str(tmp_path), "--no-embedder", "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: cannot write the weights to") and error.count("\n") == 1
    assert not output.parent.exists()
