"""Print the analyst corpus's counts per split as Markdown (the tables in docs/analyst-corpus.md).

Run from the repository root: python tests/intents/counts.py
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
STYLES = (
    "noun-list",
    "prose",
    "bullets",
    "user-stories",
    "explicit-form",
    "jargon",
    "british",
    "typos",
    "reserved-words",
    "ui-noise",
    "mixed",
)
Records = list[dict[str, Any]]


def load(split: str) -> Records:
    records: Records = yaml.safe_load((HERE / f"{split}.yaml").read_text(encoding="utf-8"))
    return records


def relationships(records: Records, cardinality: str | None = None) -> int:
    return sum(
        1
        for record in records
        for rel in record.get("relationships") or []
        if cardinality is None or rel["cardinality"] == cardinality
    )


def report() -> str:
    test, dev = load("test"), load("dev")
    rows: list[tuple[str, Callable[[Records], int]]] = [
        ("intents", len),
        ("distinct domains", lambda d: len({r["domain"] for r in d})),
        ("expected entities", lambda d: sum(len(r["entities"]) for r in d)),
        ("optional entities", lambda d: sum(len(r.get("optional") or []) for r in d)),
        ("relationships", relationships),
        ("of them many-to-many", lambda d: relationships(d, "many-to-many")),
        ("key attributes", lambda d: sum(len(r.get("attributes") or []) for r in d)),
        ("intents with 10 or more entities", lambda d: sum(len(r["entities"]) >= 10 for r in d)),
    ]
    lines = ["| | test | dev | both |", "|---|---:|---:|---:|"]
    lines += [f"| {label} | {f(test)} | {f(dev)} | {f(test + dev)} |" for label, f in rows]
    lines += ["", "| style | test | dev |", "|---|---:|---:|"]
    lines += [
        f"| {style} | {sum(r['style'] == style for r in test)} | {sum(r['style'] == style for r in dev)} |"
        for style in STYLES
    ]
    test_domains, dev_domains = {r["domain"] for r in test}, {r["domain"] for r in dev}
    shared = sorted(test_domains & dev_domains)
    lines += ["", f"Domains in both splits: {len(shared)} ({', '.join(shared)}).", ""]
    for split, records in (("test", test), ("dev", dev)):
        counts = Counter(r["domain"] for r in records)
        names = ", ".join(d if n == 1 else f"{d} ({n})" for d, n in sorted(counts.items()))
        lines += [f"Domains of the {split} split ({len(counts)}): {names}.", ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(report(), end="")
