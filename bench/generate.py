"""Generation benchmark: intent -> blueprint, blueprint -> files, and the generated test suite's run.

    python -m bench.generate            # 20 repeats of each step

Baseline measured in the same run: the same blueprint rendered cold (a fresh Engineer and
template cache), against the warm render the factory does after its first product.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from generators.agents.engineer import Engineer
from generators.agents.tester import Tester
from generators.pipeline import Planner
from graph.embeddings import SentenceEmbedder
from infra.runtime import LocalRuntime
from ontology.refs import new_trace_id

INTENT = (
    "A multi-tenant invoicing service where customers receive invoices with line items and pay them by card. "
    "Each payment belongs to an invoice, and products appear on line items."
)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    embedder = SentenceEmbedder()
    embedder(["warm up"])  # the model is loaded once per process; the goal is for a loaded model
    planner = Planner(embedder)
    plans = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        proposal = planner.propose(INTENT, "acme", "invoicing")
        plans.append(time.perf_counter() - start)
    bp = proposal.blueprint
    entities = len(bp.entities)
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        folder = Path(tmp)
        cold_start = time.perf_counter()
        Engineer().render(bp, folder / "cold", new_trace_id())
        cold = time.perf_counter() - cold_start
        renders = []
        for i in range(args.repeat):
            start = time.perf_counter()
            result = Engineer().render(bp, folder / f"p{i}", new_trace_id())
            renders.append(time.perf_counter() - start)
        lines = sum(len((result.out_dir / f.path).read_text(encoding="utf-8").splitlines()) for f in result.files)
        report = Tester().test(result.out_dir, timeout_s=600)
        runtime = LocalRuntime(folder / "home")
        service = runtime.start(result.out_dir, name=bp.slug, trace_id=new_trace_id())
        try:
            contract = Tester().contract(service.url, "shallow", headers=runtime.tokens(bp.slug).headers(bp.tenant))
        finally:
            runtime.stop(service)
    rows = [
        ("entities in the blueprint", f"{entities}", ""),
        ("intent -> blueprint, median", f"{median_ms(plans):.1f} ms", "<= 200 ms"),
        ("blueprint -> files, median (warm)", f"{median_ms(renders):.1f} ms", "<= 300 ms"),
        ("blueprint -> files, first render (baseline)", f"{cold * 1000:.1f} ms", ""),
        ("warm vs first render", f"{cold / statistics.median(renders):.1f}x faster", ""),
        ("files produced", f"{len(result.files)}", ""),
        ("lines produced", f"{lines:,}", ""),
        ("generated test suite", f"{report.passed} passed, {report.failed} failed in {report.duration_s:.1f} s", ""),
        ("lint findings in generated code", f"{len(report.lint)}", "0"),
        (
            "contract (schemathesis, shallow)",
            f"{contract.cases} cases, {len(contract.failures)} failures in {contract.duration_s:.1f} s",
            "0 failures, ~5 s",
        ),
    ]
    for name, value, goal in rows:
        print(f"{name:44} {value:>28}   {goal}")


if __name__ == "__main__":
    main()
