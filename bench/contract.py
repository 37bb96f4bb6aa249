"""Contract benchmark: each hand-written test blueprint rendered, served on loopback, and fuzzed
with schemathesis at one depth; cases, failures and time per product.

    python -m bench.contract                  # deep: 100 examples per operation, every phase
    python -m bench.contract --depth shallow
    python -m bench.contract --only warehouse --show 5
    python -m bench.contract --intents tests/intents/dev.yaml --limit 10 --depth shallow   # planned products
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import yaml

from generators.agents.engineer import Engineer
from generators.agents.tester import Tester
from infra.runtime import LocalRuntime
from ontology.models import Blueprint
from ontology.refs import new_trace_id
from tests.product_blueprints import clinic, hostile, invoicing, warehouse

ALL_ON = {"audit_fields": True, "soft_delete": True, "search": True, "domain_events": True}
PRODUCTS: dict[str, Callable[[], Blueprint]] = {
    "warehouse": lambda: warehouse(**ALL_ON),
    "clinic": lambda: clinic(),
    "invoicing": lambda: invoicing(**ALL_ON),
    "hostile": lambda: hostile(**ALL_ON),
}


def _planned(path: Path, limit: int) -> Iterator[tuple[str, Callable[[], Blueprint]]]:
    """The blueprints the planner proposes for the first `limit` intents of a corpus file."""
    from generators.pipeline import Planner
    from graph.embeddings import SentenceEmbedder

    planner = Planner(SentenceEmbedder())

    def plan(intent: str, slug: str) -> Callable[[], Blueprint]:
        return lambda: planner.propose(intent, "acme", slug).blueprint

    for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or [])[:limit]:
        name = str(entry["id"])
        yield name, plan(str(entry["intent"]), name.replace("_", "-").lower())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depth", choices=["shallow", "deep"], default="deep")
    parser.add_argument("--only", choices=sorted(PRODUCTS), action="append")
    parser.add_argument("--show", type=int, default=3, help="failures shown per product")
    parser.add_argument("--intents", type=Path, help="a corpus file: fuzz the products planned from its intents")
    parser.add_argument("--limit", type=int, default=10, help="intents taken from --intents")
    args = parser.parse_args()
    if args.intents:
        products = dict(_planned(args.intents, args.limit))
    else:
        products = {name: PRODUCTS[name] for name in args.only or list(PRODUCTS)}
    print(f"{'product':14} {'entities':>8} {'operations':>10} {'cases':>8} {'failures':>8} {'time':>9}")
    with tempfile.TemporaryDirectory(prefix="bench-contract-") as tmp:
        runtime = LocalRuntime(Path(tmp) / "home")
        for name, make in products.items():
            bp = make()
            trace = new_trace_id()
            rendered = Engineer().render(bp, Path(tmp) / name, trace)
            service = runtime.start(rendered.out_dir, name=bp.slug, trace_id=trace)
            try:
                spec = httpx.get(f"{service.url}/openapi.json", timeout=10).json()
                operations = sum(len(ops) for ops in spec["paths"].values())
                headers = runtime.tokens(bp.slug).headers(bp.tenant)
                report = Tester().contract(service.url, args.depth, headers=headers)
            finally:
                runtime.stop(service)
            print(
                f"{name:14} {len(bp.entities):>8} {operations:>10} {report.cases:>8} "
                f"{len(report.failures):>8} {report.duration_s:>7.1f} s"
            )
            for error in report.errors:
                print(f"    error: {error}")
            for failure in report.failures[: args.show]:
                print(f"    {failure.code} {failure.check}: {failure.request_line()[:160]} -> {failure.status_code}")
                if failure.body is not None:
                    print(f"        body {str(failure.body)[:160]}")


if __name__ == "__main__":
    main()
