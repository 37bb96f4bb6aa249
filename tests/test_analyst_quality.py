"""The analyst's measured quality holds: floors on entity F1, relationship F1 and attribute recall per split.

The corpus is tests/intents/<split>.yaml (see bench/analyst.py). Each split runs through the same
deterministic Planner and embedding model as `python -m bench.analyst`, so a regression of the
analyst fails here with the figures and the worst intents in the message.
"""

from __future__ import annotations

import os

import pytest

from bench.analyst import corpus_path, figures, measure, planner_run
from bench.analyst_scoring import load_corpus
from generators.pipeline import Planner
from graph.embeddings import SentenceEmbedder

Floors = dict[str, float]

DEV_FLOORS: Floors = {"entity_f1": 0.925, "relationship_f1": 0.69, "attribute_recall": 0.85}
"""A little under what the analyst reaches on the dev split (docs/analyst.md has the figures)."""

TEST_FLOORS: Floors = {"entity_f1": 0.845, "relationship_f1": 0.49, "attribute_recall": 0.62}
"""Held-out split, never tuned on: a little under its latest measured run (entity F1 0.851, relationship
F1 0.498, attribute recall 0.628, after issue 14's seventh round of rules). The attribute floor was lowered once,
from 0.58 to 0.56, when the second round cost the held-out split 0.025 of attribute recall (docs/analyst.md);
the fourth round raised it past both. Raise them as the analyst improves; never lower them to pass."""


@pytest.fixture(scope="module")
def planner(embedder: SentenceEmbedder) -> Planner:
    return Planner(embedder)


@pytest.mark.parametrize(("split", "floors"), [("dev", DEV_FLOORS), ("test", TEST_FLOORS)])
def test_the_analyst_holds_its_floors(planner: Planner, split: str, floors: Floors) -> None:
    path = corpus_path(split)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"the labelled corpus {path} is missing")
        pytest.skip(f"no corpus at {path}")
    cases = load_corpus(path)
    assert cases, f"{path} holds no intents"
    scores, seconds = measure(cases, planner_run(planner))
    measured = figures(scores, seconds)
    below = {k: round(measured[k], 3) for k, floor in floors.items() if measured[k] < floor}
    assert not below, f"{split}: below the floors {floors}: {below}; worst intents: {measured['worst']}"
