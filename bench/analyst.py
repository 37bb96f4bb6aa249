"""Analyst benchmark: how well intents become entities, relationships and attributes, and how fast.

    python -m bench.analyst                    # the dev split
    python -m bench.analyst --split all        # every split in tests/intents/
    python -m bench.analyst --llm              # the same corpus through FACTORY_LLM_URL as well
    python -m bench.analyst --json             # the figures as one JSON object
    python -m bench.analyst --split test --second tests/intents/second
                                               # a second labeller's labels as a column of their own

Each intent goes through the deterministic Planner (the analyst, then the architect) with the
embedding model the factory uses, loaded once before timing. Printed per split: entity
precision, recall and F1 (micro over all intents; optional entities neither count nor cost),
relationship F1 (ends and cardinality), attribute recall, the median and p95 latency of
intent -> blueprint, and the ten intents with the most mistakes, with what was missed or invented.

--second FOLDER scores a second, independent labelling (FOLDER/<split>.yaml, some of the split's
intents) against the corpus the way the analyst is scored, on those intents only: how far two
labellers agree, the ceiling any analyst can be measured against.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.analyst_scoring import (
    Case,
    CaseScore,
    Found,
    Totals,
    found_in,
    labelled_as_found,
    load_corpus,
    score_case,
    summarise,
)
from generators.patterns import Embedder
from generators.pipeline import Planner
from ontology.errors import FactoryError, InvalidInputError

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "intents"
SPLITS = ("dev", "test")

Run = Callable[[str], Found]


def corpus_path(split: str, folder: Path = CORPUS) -> Path:
    return folder / f"{split}.yaml"


def measure(cases: Sequence[Case], run: Run) -> tuple[list[CaseScore], list[float]]:
    """Score every case with `run`; a case the planner refuses scores as nothing found."""
    scores, seconds = [], []
    for case in cases:
        start = time.perf_counter()
        try:
            found = run(case.intent)
            error = ""
        except FactoryError as exc:
            found, error = Found(), str(exc)
        elapsed = time.perf_counter() - start
        score = score_case(case, found)
        score.error, score.seconds = error, elapsed
        scores.append(score)
        seconds.append(elapsed)
    return scores, seconds


def embedding_model(wanted: bool = True) -> Embedder | None:
    """The embedding model the factory uses (loaded from its package, offline), or None where it is not wanted."""
    if not wanted:
        return None
    from graph.embeddings import SentenceEmbedder

    return SentenceEmbedder()


def planner_run(planner: Planner, tenant: str = "bench") -> Run:
    """Intent -> requirements -> blueprint, as `factory blueprint` does it."""

    def run(intent: str) -> Found:
        analysis = planner.analyse(intent, tenant)
        try:
            blueprint = planner.design(analysis, tenant).blueprint
        except (FactoryError, ValueError):
            blueprint = None  # no entity at all: the analyst's (empty) findings are scored
        return found_in(analysis.requirements, blueprint)

    return run


def second_run(first: Sequence[Case], second: Sequence[Case]) -> Run:
    """A second labelling read as what an analyst found, intent by intent."""
    firsts, seconds = {c.intent: c for c in first}, {c.intent: c for c in second}

    def run(intent: str) -> Found:
        return labelled_as_found(seconds[intent], firsts[intent])

    return run


def paired(cases: list[Case], path: Path) -> tuple[list[Case], list[Case]]:
    """The split's cases that a second labelling covers, and that labelling; InvalidInputError when it disagrees."""
    second = load_corpus(path)
    by_id = {c.id: c for c in cases}
    for case in second:
        if case.id not in by_id:
            raise InvalidInputError(f"{path}: {case.id} is not an intent of the split")
        if case.intent != by_id[case.id].intent:
            raise InvalidInputError(f"{path}: {case.id} has another text than the split's intent")
    return [by_id[c.id] for c in second], second


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def figures(scores: list[CaseScore], seconds: list[float]) -> dict[str, Any]:
    totals: Totals = summarise(scores)
    return {
        **asdict(totals),
        "median_ms": statistics.median(seconds) * 1000 if seconds else 0.0,
        "p95_ms": percentile(seconds, 0.95) * 1000,
        "errors": sum(1 for s in scores if s.error),
        "worst": [
            {
                "id": s.id,
                "missed": s.missed,
                "invented": s.invented,
                "relationships_missed": s.rel_missed,
                "relationships_invented": s.rel_invented,
                "attributes_missed": s.attr_missed,
                "error": s.error,
            }
            for s in sorted(scores, key=lambda s: -s.mistakes)[:10]
            if s.mistakes
        ],
    }


_ROWS = (
    ("intents", "intents", "{:.0f}"),
    ("entity precision", "entity_precision", "{:.3f}"),
    ("entity recall", "entity_recall", "{:.3f}"),
    ("entity F1", "entity_f1", "{:.3f}"),
    ("relationship F1", "relationship_f1", "{:.3f}"),
    ("attribute recall", "attribute_recall", "{:.3f}"),
    ("median intent -> blueprint (ms)", "median_ms", "{:.1f}"),
    ("p95 intent -> blueprint (ms)", "p95_ms", "{:.1f}"),
)


def report(split: str, results: dict[str, dict[str, Any]]) -> str:
    """One table per split, a column per backend, then the worst intents of each backend."""
    names = list(results)
    lines = [f"== split {split}", f"{'':34}" + "".join(f"{n:>16}" for n in names)]
    for label, key, fmt in _ROWS:
        lines.append(f"{label:34}" + "".join(f"{fmt.format(results[n][key]):>16}" for n in names))
    for name in names:
        worst = results[name]["worst"]
        lines.append(f"-- worst intents ({name})")
        for w in worst:
            parts = [
                f"{label} {', '.join(w[key])}"
                for label, key in (
                    ("missed", "missed"),
                    ("invented", "invented"),
                    ("rel missed", "relationships_missed"),
                    ("rel invented", "relationships_invented"),
                    ("attr missed", "attributes_missed"),
                )
                if w[key]
            ]
            if w["error"]:
                parts.append(f"error {w['error']}")
            lines.append(f"  {w['id']}: " + "; ".join(parts))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="dev")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder holding <split>.yaml")
    parser.add_argument("--llm", action="store_true", help="also run the corpus through FACTORY_LLM_URL")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-embedder", action="store_true", help="plan without the embedding model")
    parser.add_argument("--second", type=Path, help="folder holding a second labelling, <split>.yaml")
    args = parser.parse_args(argv)
    if args.llm and not os.environ.get("FACTORY_LLM_URL", "").strip():
        print("--llm needs FACTORY_LLM_URL (an OpenAI-compatible endpoint); it is not set", file=sys.stderr)
        return 2
    splits = SPLITS if args.split == "all" else (args.split,)
    corpora: dict[str, list[Case]] = {}
    second_labels: dict[str, list[Case]] = {}
    for split in splits:
        path = corpus_path(split, args.corpus)
        if not path.exists():
            if args.split == "all":
                continue
            print(f"no corpus at {path}", file=sys.stderr)
            return 2
        try:
            corpora[split] = load_corpus(path)
            if args.second is not None:
                corpora[split], second_labels[split] = paired(corpora[split], corpus_path(split, args.second))
        except FactoryError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    embedder = embedding_model(not args.no_embedder)
    backends: dict[str, Planner] = {"deterministic": Planner(embedder)}
    if args.llm:
        backends["llm"] = Planner.from_env()
        backends["llm"].embedder = embedder
    warm = next(iter(corpora.values()), [])
    for planner in backends.values():
        if warm and planner.llm is None:
            planner_run(planner)(warm[0].intent)  # load the parser's data and the model before timing
            if embedder is not None:
                planner.library.nearest("warm up", embedder)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for split, cases in corpora.items():
        out[split] = {}
        runs = {name: planner_run(planner) for name, planner in backends.items()}
        if split in second_labels:
            runs["second labeller"] = second_run(cases, second_labels[split])
        for name, run in runs.items():
            scores, elapsed = measure(cases, run)
            out[split][name] = figures(scores, elapsed)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print("\n\n".join(report(split, results) for split, results in out.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
