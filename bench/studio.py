"""Studio benchmark: how long each page takes to render with 1,000 products in the graph.

    python -m bench.studio                  # 1,000 products over 10 tenants, with vectors
    python -m bench.studio --products 200   # a quicker run

Every page is run with Streamlit's AppTest (the same script the browser gets, without the
network), once to warm up and then `--repeat` times; the figure is the median. The baseline,
measured in the same run, is the same page over an empty factory home. Goal: ≤ 2 s per page.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bench.synthetic import builds, chunks, facts_of
from graph import KnowledgeGraph
from graph.embeddings import SentenceEmbedder
from infra.control import ControlPlane
from studio import seeding

APP = Path(__file__).resolve().parent.parent / "studio" / "app.py"
GOAL_S = 2.0
Action = Callable[[AppTest], AppTest]


def seed(home: Path, products: int, tenants: int, vectors: bool) -> tuple[float, str]:
    """Write `products` synthetic builds into the graph and the control database; returns seconds and a trace id."""
    started = time.perf_counter()
    kg = KnowledgeGraph(home, embedder=SentenceEmbedder() if vectors else None)
    control = ControlPlane(None, home)
    items = builds(products, tenants, seed=7)
    with kg.hold(write=True):
        kg.bootstrap()
        for batch in chunks(items, 100):
            kg.write(*(facts_of(b) for b in batch))
    for b in items:
        seeding.record_build(control, b.sample, b.trace_id, passed=b.index % 10 != 0, seconds=30.0 + b.index % 20)
    return time.perf_counter() - started, items[0].trace_id


def pages(trace_id: str) -> dict[str, tuple[str, dict[str, str], Action]]:
    """Page → (script, query parameters, what a person does there)."""

    def run_sparql(at: AppTest) -> AppTest:
        return at.button(key="sparql_run").click().run()

    def render(at: AppTest) -> AppTest:
        return at.run()

    return {
        "overview": ("pages/overview.py", {}, render),
        "new product": ("pages/new_product.py", {}, render),
        "product": ("pages/product.py", {}, render),
        "trace": ("pages/trace.py", {"trace": trace_id}, render),
        "knowledge (run SPARQL)": ("pages/knowledge.py", {}, run_sparql),
        "governance": ("pages/governance.py", {}, render),
        "templates": ("pages/templates.py", {}, render),
    }


def quiet_streamlit() -> None:
    """Silence AppTest's bare-mode warnings (Streamlit resets its loggers' levels when its config loads)."""
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("streamlit")]:
        logging.getLogger(name).setLevel(logging.ERROR)


def measure(home: Path, tenant: str, script: str, params: dict[str, str], action: Action, repeat: int) -> float:
    """Median seconds of `action` on the page, after one warm-up."""
    os.environ["FACTORY_HOME"] = str(home)
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.query_params["tenant"] = tenant
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    quiet_streamlit()
    at.switch_page(script).run()
    action(at)
    if at.exception:
        raise RuntimeError(f"{script} raised: {at.exception[0].value}")
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action(at)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-vectors", action="store_true", help="Skip the embeddings (faster seeding).")
    args = parser.parse_args()
    quiet_streamlit()
    with tempfile.TemporaryDirectory(prefix="bench-studio-") as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        seconds, trace_id = seed(full, args.products, args.tenants, not args.no_vectors)
        print(f"seeded {args.products:,} products over {args.tenants} tenants in {seconds:.1f} s")
        print(f"{'page':<24}{'empty home':>12}{'one tenant':>12}{'all tenants':>13}{'ratio':>8}  goal ≤ {GOAL_S:.0f} s")
        worst = 0.0
        for name, (script, params, action) in pages(trace_id).items():
            base = measure(empty, "tenant-00", script, params, action, args.repeat)
            tenant = measure(full, "tenant-00", script, params, action, args.repeat)
            admin = measure(full, "(all tenants — factory admin)", script, params, action, args.repeat)
            slowest = max(tenant, admin)
            worst = max(worst, slowest)
            print(
                f"{name:<24}{base * 1000:>10.0f}ms{tenant * 1000:>10.0f}ms{admin * 1000:>11.0f}ms"
                f"{slowest / base if base else 0:>7.1f}x  {'ok' if slowest <= GOAL_S else 'SLOW'}"
            )
        print(
            f"slowest page with {args.products:,} products: {worst:.2f} s ({'within' if worst <= GOAL_S else 'over'} "
            f"the {GOAL_S:.0f} s goal)"
        )


if __name__ == "__main__":
    main()
