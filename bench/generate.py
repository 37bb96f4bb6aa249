"""Generation benchmark: intent -> blueprint, blueprint -> files, the generated test suite's and contract runs,
and whole builds of 5-entity products through the lifecycle.

    python -m bench.generate              # 20 repeats of each step, 3 builds
    python -m bench.generate --builds 0   # the steps only

A build's figures: its wall time, the validation stage (test suite and shallow contract run side by side),
the shallow run's own time, and the deep contract stage after the deployment (its examples per operation
are $FACTORY_CONTRACT_EXAMPLES, else 100), with the build's time without it.

Baseline measured in the same run: the same blueprint rendered cold (a fresh Engineer and
template cache), against the warm render the factory does after its first product.
"""

from __future__ import annotations

import argparse
import os
import shutil
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


def builds(count: int) -> list[tuple[str, str, str]]:
    """Build `count` 5-entity products through the lifecycle in a temporary home; rows for the report."""
    from assets.builds import run_deep_contract
    from bench import lifecycle
    from infra.lifecycle.outcome import BuildResults
    from infra.workspace import ProductWorkspace

    run = lifecycle.Run(Path(tempfile.mkdtemp(prefix="bench-generate-builds-")))
    done: list[lifecycle.Build] = []
    shallow: list[float] = []
    deep: list[float] = []
    try:
        home = lifecycle.use_home(run.root / "home")
        for product, text in lifecycle.PRODUCTS[:count]:
            built = lifecycle.build(home, product, text, "in_process")
            if not built.success:
                raise SystemExit(f"the build of {product} failed: {built.error}")
            done.append(built)
            validation = BuildResults.load(ProductWorkspace(home, lifecycle.TENANT, product)).validation
            if validation is not None and validation.contract is not None:
                shallow.append(validation.contract.duration_s)
            started = time.perf_counter()  # the deep contract run, after the build (its own Dagster job)
            outcome = run_deep_contract(lifecycle.TENANT, product, home=home)
            if not outcome.success:
                raise SystemExit(f"the deep contract run of {product} failed: {outcome.error}")
            deep.append(time.perf_counter() - started)
    finally:
        lifecycle.stop_services(run)
        shutil.rmtree(run.root, ignore_errors=True)
    whole = [b.seconds for b in done]
    validation_s = [b.durations.get("validation", 0.0) for b in done]
    examples = os.environ.get("FACTORY_CONTRACT_EXAMPLES") or "100"
    return [
        (f"builds of 5-entity products ({len(done)})", f"{statistics.median(whole):.1f} s median", "<= 15 s"),
        ("  validation stage (tests + shallow contract)", f"{statistics.median(validation_s):.1f} s median", ""),
        ("  shallow contract run inside it", f"{statistics.median(shallow or [0.0]):.1f} s median", "~5 s"),
        (f"deep contract run after each ({examples} examples/op)", f"{statistics.median(deep):.1f} s median", ""),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--builds", type=int, default=3, help="5-entity products built through the lifecycle (0-3)")
    args = parser.parse_args()
    if not 0 <= args.builds <= 3:
        parser.error("--builds takes 0 to 3 products")
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
        suite_start = time.perf_counter()
        report = Tester().test(result.out_dir, timeout_s=600)
        suite_s = time.perf_counter() - suite_start
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
        ("test suite and lint, alone (baseline)", f"{suite_s:.1f} s", ""),
    ]
    if args.builds:
        rows += builds(args.builds)
    for name, value, goal in rows:
        print(f"{name:44} {value:>28}   {goal}")


if __name__ == "__main__":
    main()
