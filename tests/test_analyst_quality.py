"""The analyst's measured quality holds: floors on entity F1, relationship F1 and attribute recall per split.

The corpus is tests/intents/<split>.yaml (see bench/analyst.py). Each split runs through the same
deterministic Planner and embedding model as `python -m bench.analyst`, so a regression of the
analyst fails here with the figures and the worst intents in the message.
"""

from __future__ import annotations

import os

import pytest

from bench.analyst import corpus_path, figures, measure, planner_run
from bench.analyst_scoring import CaseScore, load_corpus
from generators.pipeline import Planner
from graph.embeddings import SentenceEmbedder

Floors = dict[str, float]

DEV_FLOORS: Floors = {"entity_f1": 0.93, "relationship_f1": 0.71, "attribute_recall": 0.855}
"""A little under what the analyst reaches on the dev intents of the first seven rounds (the 137 whose ids do not end in
-08 to -18: 0.934, 0.714, 0.859 after the fourteenth round, 0.940, 0.719, 0.859 after the fifteenth, 0.943, 0.723, 0.864
after the sixteenth, 0.944, 0.723, 0.864 after the eighteenth; docs/analyst.md has the figures). Lowered from 0.935 and 0.715 in the twelfth round: the learned
entity confidence leaves out a few expected entities of these intents (0.939 and 0.718 before it) for far fewer invented
ones on intents the analyst has not seen."""

DEV_SPLIT_FLOORS: Floors = {"entity_f1": 0.90, "relationship_f1": 0.66, "attribute_recall": 0.57}
"""A little under what the analyst reaches on the whole dev split (403 intents: 0.897, 0.654, 0.579 after the fourteenth
round, 0.911, 0.667, 0.578 after the fifteenth, 0.913, 0.671, 0.579 after the sixteenth, 0.913, 0.673, 0.579 after the
seventeenth, 0.914, 0.676, 0.583 after the eighteenth, the entity confidence trained on all of them), the batches of the eighth to the fourteenth rounds (ids
ending in -08 to -18, each written before the analyst was run on them) included. The attribute floor went from 0.605 to
0.59 when the -17 batch joined the split and to 0.57 when the -18 batch did: each was held back to its round's end, and
names attributes in prose that the analyst finds few of (0.384 and 0.287); the 379 before -18 reach 0.901, 0.657,
0.605."""

TEST_FLOORS: Floors = {"entity_f1": 0.88, "relationship_f1": 0.555, "attribute_recall": 0.67}
"""Held-out split, never tuned on: a little under its latest measured runs (entity F1 0.871, relationship F1 0.535,
attribute recall 0.677 after issue 14's thirteenth round; 0.881, 0.551, 0.677 after the fourteenth, whose rules of
naming and tagging carried to it; 0.879, 0.558, 0.677 after the fifteenth, whose confidence weighs what names mean;
0.883, 0.559, 0.683 after the sixteenth; 0.883, 0.565, 0.683 after the seventeenth; 0.886, 0.566, 0.683 after the
eighteenth, when the entity and relationship floors went from 0.875 and 0.55 to 0.88 and 0.555). The attribute floor
was lowered once, from 0.58 to 0.56, when the second round cost the held-out split 0.025 of attribute recall
(docs/analyst.md); the fourth round raised it past both. Raise them as the analyst improves; never lower them without saying why."""

LATER_ROUNDS = ("-08", "-09", "-10", "-11", "-12", "-13", "-14", "-15", "-16", "-17", "-18")
"""The id endings of the dev intents added in the eighth to the fourteenth rounds: DEV_FLOORS were first set before
them."""


@pytest.fixture(scope="module")
def planner(embedder: SentenceEmbedder) -> Planner:
    return Planner(embedder)


@pytest.fixture(scope="module")
def scored(planner: Planner) -> dict[str, list[CaseScore]]:
    """Each split scored once: the dev split holds two sets of floors."""
    out: dict[str, list[CaseScore]] = {}
    for split in ("dev", "test"):
        path = corpus_path(split)
        if not path.exists():
            continue
        cases = load_corpus(path)
        assert cases, f"{path} holds no intents"
        out[split] = measure(cases, planner_run(planner))[0]
    return out


@pytest.mark.parametrize(
    ("split", "floors", "earlier_only"),
    [("dev", DEV_FLOORS, True), ("dev", DEV_SPLIT_FLOORS, False), ("test", TEST_FLOORS, False)],
)
def test_the_analyst_holds_its_floors(
    scored: dict[str, list[CaseScore]], split: str, floors: Floors, earlier_only: bool
) -> None:
    if split not in scored:
        if os.environ.get("CI"):
            pytest.fail(f"the labelled corpus {corpus_path(split)} is missing")
        pytest.skip(f"no corpus at {corpus_path(split)}")
    scores = [s for s in scored[split] if not (earlier_only and s.id.endswith(LATER_ROUNDS))]
    measured = figures(scores, [s.seconds for s in scores])
    below = {k: round(measured[k], 3) for k, floor in floors.items() if measured[k] < floor}
    assert not below, f"{split}: below the floors {floors}: {below}; worst intents: {measured['worst']}"
