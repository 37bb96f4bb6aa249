"""A product's working folder under $FACTORY_HOME: rendered files, stage outputs and stage facts.

Each lifecycle stage keeps the facts it recorded in its own N-Quads file, and the product's
graph in the knowledge graph is always replaced by the union of them. Re-running a stage
therefore replaces its facts instead of adding a second copy, and a build killed half-way
leaves a graph of stages that finished, which the next run completes without duplicates.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph.facts import ProductFacts
from graph.files import write_atomically
from ontology.refs import check_slug, check_trace_id

if TYPE_CHECKING:  # the knowledge graph (Kùzu, polars) loads when a stage first publishes, not on import
    from graph.knowledge_graph import KnowledgeGraph, WriteStats

__all__ = ["ProductWorkspace", "tree_digest"]


def tree_digest(root: Path, paths: list[str]) -> str:
    """A digest of the named files' paths and contents under `root` ("missing" when one is gone)."""
    digest = hashlib.sha256()
    for rel in sorted(paths):
        path = root / rel
        if not path.is_file():
            return "missing"
        digest.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class ProductWorkspace:
    """The folder `<home>/products/<tenant>/<product>` and what the lifecycle keeps in it."""

    def __init__(self, home: Path, tenant: str, product: str) -> None:
        self.tenant = check_slug(tenant, "tenant")
        self.product = check_slug(product, "product")
        self.home = home
        self.root = home / "products" / tenant / product

    @property
    def render_dir(self) -> Path:
        """Where the engineer renders the current revision."""
        return self.root / "render"

    @property
    def blueprint_path(self) -> Path:
        return self.root / "blueprint.yaml"

    def reset_render(self) -> Path:
        """An empty render folder (the previous render removed)."""
        if self.render_dir.exists():
            shutil.rmtree(self.render_dir)
        self.render_dir.mkdir(parents=True)
        return self.render_dir

    def clean_copy(self, paths: list[str]) -> Path:
        """A fresh copy of just the rendered files in `paths` (no caches the tests left behind)."""
        target = self.root / "release-source"
        if target.exists():
            shutil.rmtree(target)
        for rel in paths:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.render_dir / rel, dest)
        return target

    # ------------------------------------------------------------------ stage outputs
    def output_path(self, stage: str) -> Path:
        return self.root / "outputs" / f"{check_slug(stage, 'stage')}.json"

    def save_output(self, stage: str, value: dict[str, Any]) -> Path:
        path = self.output_path(stage)
        write_atomically(path, json.dumps(value, indent=2, sort_keys=True, default=str).encode())
        return path

    def load_output(self, stage: str) -> dict[str, Any] | None:
        path = self.output_path(stage)
        return json.loads(path.read_text()) if path.exists() else None

    # ------------------------------------------------------------------ stage facts
    def facts(self, trace_id: str) -> ProductFacts:
        """An empty facts builder for this product's build `trace_id`."""
        return ProductFacts(self.tenant, self.product, trace_id)

    def _facts_dir(self) -> Path:
        return self.root / "facts"

    def save_facts(self, stage: str, facts: ProductFacts) -> None:
        """Keep `stage`'s facts, replacing what an earlier run of the same stage recorded."""
        write_atomically(self._facts_dir() / f"{check_slug(stage, 'stage')}.nq", facts.nquads())

    def clear_facts(self) -> None:
        """Forget every stage's facts (a new revision starts a new build)."""
        for path in self._facts_dir().glob("*.nq"):
            path.unlink()

    def save_environment_facts(self, env: str, facts: ProductFacts) -> None:
        """Keep what runs in a promoted environment (replacing what ran there before); a new build keeps it."""
        write_atomically(self.root / "environments" / f"{check_slug(env, 'environment')}.nq", facts.nquads())

    def save_governance_facts(self, key: str, facts: ProductFacts) -> None:
        """Keep a person's governance decision on the product (an approval or a rejection, an upgrade to another
        pack version); every build keeps it."""
        write_atomically(self.root / "governance" / f"{check_slug(key, 'decision')}.nq", facts.nquads())

    def observations_dir(self) -> Path:
        """Where the telemetry windows of the product's running deployments are kept, one N-Quads file each."""
        return self.root / "observations"

    def save_observation_facts(self, key: str, facts: ProductFacts, keep: int = 288) -> bool:
        """Keep a telemetry window's facts (replacing an earlier collection of the same window) so that every
        build's graph keeps them; only the newest `keep` windows stay. Whether the window was new."""
        folder = self.observations_dir()
        path = folder / f"{check_slug(key, 'window')}.nq"
        new = not path.exists()
        write_atomically(path, facts.nquads())
        for old in sorted(folder.glob("*.nq"))[:-keep]:
            old.unlink(missing_ok=True)
        return new

    def union(self, trace_id: str) -> ProductFacts:
        """The facts of every stage recorded so far, as one build, of what runs in the promoted environments, of
        the decisions people took on its promotions and of what its running deployments showed."""
        merged = self.facts(check_trace_id(trace_id))
        kept = [self._facts_dir(), self.root / "environments", self.root / "governance", self.observations_dir()]
        for path in [p for folder in kept for p in sorted(folder.glob("*.nq"))]:
            merged.add_nquads(path)
        return merged

    def publish(self, kg: KnowledgeGraph, trace_id: str) -> WriteStats | None:
        """Replace the product's graph with the union of every stage's facts recorded so far (if any).

        The facts are read under the graph's write lock: of two publishes of one build, the one that writes
        last has read last, so it never takes back facts the other wrote."""
        with kg.hold(write=True):
            facts = self.union(trace_id)
            return kg.write(facts) if facts.quads else None
