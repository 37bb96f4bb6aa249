"""Trains the analyst's entity-confidence model (generators/entity_confidence.py) from the dev split.

    python -m bench.entity_confidence                  # cross-validate, train on the dev split, write the weights
    python -m bench.entity_confidence --dry-run        # cross-validate and train; write nothing
    python -m bench.entity_confidence --exclude -14    # leave the intents whose ids end in -14 out of it all

Each dev intent goes through the analyst (with the embedding model the factory uses); every entity it
proposes is labelled by the corpus's scorer: one it expected (1), one it did not and did not allow
(0), an optional one (not used). A logistic regression over the entities' evidence features and the
meanings of their names (the embedding model's vector of the name's words; none with --no-embedder)
learns the difference. Before training on all of it, each batch of the split (the intents sharing an id
suffix, written together) is held out in turn: the model trained on the others weighs its entities,
its proposals are settled as the factory settles them (generators.open_questions), and the figures
with and without that are printed, so the gain is measured on intents the model did not see.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.analyst import CORPUS, corpus_path, embedding_model
from bench.analyst_scoring import Case, CaseScore, Found, found_in, load_corpus, score_case, summarise
from generators.agents.analyst import Analyst
from generators.entity_confidence import FEATURES, MODEL_PATH, ConfidenceModel
from generators.open_questions import settle
from generators.patterns import Embedder, pattern_library
from ontology.errors import FactoryError
from ontology.models import Requirements

REGULARISATION = 1.0
"""The inverse strength of the L2 penalty (scikit-learn's C)."""


@dataclass
class Proposed:
    """One intent's proposal as the rules make it, each entity's features and label (None: optional)."""

    case: Case
    requirements: Requirements
    features: dict[str, dict[str, float]] = field(default_factory=dict)
    labels: dict[str, int | None] = field(default_factory=dict)
    meanings: dict[str, np.ndarray] = field(default_factory=dict)


def propose(cases: Sequence[Case], embedder: Embedder | None) -> list[Proposed]:
    """The analyst's proposal for each case, its entities labelled by the scorer."""
    analyst = Analyst(embedder, library=pattern_library())
    out = []
    for case in cases:
        try:
            requirements, features, meanings = analyst.weigh(case.intent)
        except FactoryError:
            continue
        found = found_in(requirements)
        invented = set(score_case(case, found).invented)
        expected = case.expected_keys
        labels: dict[str, int | None] = {
            f.name: 0 if f.name in invented else 1 if f.keys & expected else None for f in found.entities
        }
        out.append(Proposed(case, requirements, features, labels, meanings))
    return out


def _row(proposal: Proposed, name: str) -> list[float]:
    """An entity's features, then the meaning of its name where the proposal has one."""
    meaning = proposal.meanings.get(name)
    return [proposal.features[name][n] for n in FEATURES] + ([] if meaning is None else [float(v) for v in meaning])


def fit(proposals: Sequence[Proposed]) -> ConfidenceModel:
    """A logistic regression over the labelled entities of `proposals` (and the meanings of their names, when
    every proposal has them)."""
    from sklearn.linear_model import LogisticRegression

    named = [(p, name, label) for p in proposals for name, label in p.labels.items() if label is not None]
    if len({label for _, _, label in named}) < 2:
        raise ValueError("training needs both entities the corpus expects and entities it does not")
    rows = [_row(p, name) for p, name, _ in named]
    if len({len(row) for row in rows}) > 1:
        raise ValueError("the meanings of some entities are missing: train with the embedding model or without")
    regression = LogisticRegression(C=REGULARISATION, max_iter=5000)
    regression.fit(rows, [label for _, _, label in named])
    coefficients = [float(c) for c in regression.coef_[0]]
    meaning_weights = tuple(coefficients[len(FEATURES) :])
    mean = float(np.mean([np.dot(meaning_weights, row[len(FEATURES) :]) for row in rows])) if meaning_weights else 0.0
    return ConfidenceModel(
        dict(zip(FEATURES, coefficients[: len(FEATURES)], strict=True)),
        float(regression.intercept_[0]),
        meaning_weights,
        mean,
    )


def settled(proposal: Proposed, model: ConfidenceModel) -> Found:
    """What the proposal becomes when `model` weighs its entities and nobody answers its questions."""
    requirements = proposal.requirements.model_copy(deep=True)
    for need in requirements.entities:
        need.confidence = round(model.probability(proposal.features[need.name], proposal.meanings.get(need.name)), 3)
    return found_in(settle(requirements, pattern_library()))


def batch(case_id: str) -> str:
    """The batch an intent was written in: its id's last part ('vet-01' -> '01')."""
    return case_id.rsplit("-", 1)[-1]


def cross_validate(proposals: Sequence[Proposed]) -> tuple[str, str]:
    """Figures without and with the model, each batch judged by a model trained on the others."""
    before, after = [], []
    for held in sorted({batch(p.case.id) for p in proposals}):
        others = [p for p in proposals if batch(p.case.id) != held]
        model = fit(others)
        for p in proposals:
            if batch(p.case.id) == held:
                before.append(score_case(p.case, found_in(p.requirements)))
                after.append(score_case(p.case, settled(p, model)))
    return _line(before), _line(after)


def _line(scores: Sequence[CaseScore]) -> str:
    t = summarise(scores)
    return (
        f"entity P {t.entity_precision:.3f} R {t.entity_recall:.3f} F1 {t.entity_f1:.3f}; "
        f"relationship F1 {t.relationship_f1:.3f} (P {t.relationship_precision:.3f} R {t.relationship_recall:.3f})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder holding dev.yaml")
    parser.add_argument("--exclude", action="append", default=[], help="leave out intents whose ids end so")
    parser.add_argument("--output", type=Path, default=MODEL_PATH, help="where the weights are written")
    parser.add_argument("--dry-run", action="store_true", help="write nothing")
    parser.add_argument("--no-embedder", action="store_true", help="analyse without the embedding model")
    args = parser.parse_args(argv)
    try:
        cases = [c for c in load_corpus(corpus_path("dev", args.corpus)) if not c.id.endswith(tuple(args.exclude))]
    except FactoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    embedder = embedding_model(not args.no_embedder)
    proposals = propose(cases, embedder)
    labels = [label for p in proposals for label in p.labels.values() if label is not None]
    try:
        without, with_model = cross_validate(proposals)
        model = fit(proposals)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(proposals)} intents, {len(labels)} labelled entities, {labels.count(0)} of them not expected")
    print(f"held out by batch, as proposed:      {without}")
    print(f"held out by batch, unlikely left out: {with_model}")
    if not args.dry_run:
        provenance = {
            "split": "dev",
            "intents": len(proposals),
            "entities": len(labels),
            "not_expected": labels.count(0),
            "excluded": list(args.exclude),
            "regularisation": REGULARISATION,
            "embedder": embedder is not None,
            "meaning": bool(model.meaning_weights),
        }
        try:
            args.output.write_text(model.to_json(provenance), encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write the weights to {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"weights written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
