"""What every lifecycle asset shares: the product partitions, lineage events, stage bookkeeping and reuse.

A stage's output is a JSON-able dict that carries a `fingerprint` of everything it was made
from (its code version and its inputs). When the stored output of the same partition has
the same fingerprint, the stage reuses it and does no work: this is what makes a rebuild of
an unchanged product a no-op (no new commit, no restart).
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dagster import AssetExecutionContext, BetaWarning, DynamicPartitionsDefinition

from assets.resources import ControlPlaneResource, DeliveryResource, KnowledgeGraphResource
from graph.facts import ProductFacts
from infra.lineage import run_id as lineage_run_id
from ontology.errors import InvalidInputError
from ontology.refs import check_slug

__all__ = ["PRODUCTS", "StageRun", "fingerprint", "partition_key", "split_key"]

warnings.filterwarnings("ignore", category=BetaWarning)  # data versions on outputs are what make rebuilds no-ops

PRODUCTS = DynamicPartitionsDefinition(name="product")
"""One partition per product: `<tenant>.<product>`."""

CODE_VERSION = "1"

PUBLISHED_AFTER = frozenset({"blueprint", "validation", "knowledge"})
"""The stages after which the product's graph is rewritten with every stage's facts so far: the ones
a blocking check follows and the last. Any stage that fails rewrites it too, so a build that stops
leaves its chain in the graph, and a build writes the graph three times instead of once per stage."""


def partition_key(tenant: str, product: str) -> str:
    return f"{check_slug(tenant, 'tenant')}.{check_slug(product, 'product')}"


def split_key(key: str) -> tuple[str, str]:
    tenant, sep, product = key.partition(".")
    if not sep:
        raise InvalidInputError(f"invalid product partition {key[:80]!r}: expected <tenant>.<product>")
    return check_slug(tenant, "tenant"), check_slug(product, "product")


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class StageRun:
    """One stage of one product's build: lineage START/COMPLETE/FAIL, its status and time in the control database."""

    def __init__(
        self,
        context: AssetExecutionContext,
        control: ControlPlaneResource,
        delivery: DeliveryResource,
        knowledge_graph: KnowledgeGraphResource,
        upstream: Sequence[str] = (),
    ) -> None:
        self.context = context
        self.asset = context.asset_key.to_user_string()
        self.tenant, self.product = split_key(context.partition_key)
        self.control = control.open()
        self.delivery = delivery
        self.knowledge_graph = knowledge_graph
        self.workspace = delivery.workspace(self.tenant, self.product)
        self.upstream = list(upstream)

    def record(self, facts: ProductFacts) -> None:
        """Keep this stage's facts (its PROV activity and what it made); the graph gets them at the next
        publishing stage (see PUBLISHED_AFTER) or when a stage fails."""
        self.workspace.save_facts(self.asset, facts)
        if self.asset in PUBLISHED_AFTER:
            self.publish(facts.trace_id)

    def publish(self, trace_id: str) -> None:
        """Replace the product's graph with every stage's facts recorded so far."""
        self.workspace.publish(self.knowledge_graph.open(), trace_id)

    def previous(
        self, fp: str, still_valid: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> dict[str, Any] | None:
        """The stored output of this stage if it was made from the same inputs (and is still valid)."""
        old = self.workspace.load_output(self.asset)
        if old is not None and old.get("fingerprint") == fp and still_valid(old):
            self.context.log.info(f"{self.asset}: unchanged inputs, reusing the stored result")
            return {**old, "reused": True}
        return None

    @contextmanager
    def running(self, trace_id: str) -> Iterator[None]:
        """Wrap the stage's work: lineage events, stage status and duration, failures recorded."""
        lineage = self.delivery.lineage()
        run = lineage_run_id(self.context.run_id, self.asset, self.context.partition_key)
        common: dict[str, Any] = {
            "job": self.asset,
            "run_id": run,
            "tenant": self.tenant,
            "product": self.product,
            "trace_id": trace_id,
            "inputs": self.upstream,
            "outputs": [self.asset],
            "dagster_run_id": self.context.run_id,
        }
        lineage.emit("START", **common)
        started = time.perf_counter()
        try:
            yield
        except BaseException as exc:
            lineage.emit("FAIL", **common, error=f"{type(exc).__name__}: {exc}"[:2000])
            self._status("failed", time.perf_counter() - started)
            if isinstance(exc, Exception):
                try:  # the chain so far goes into the graph; the stage's own error is what gets reported
                    self.publish(trace_id)
                except Exception as publish_error:
                    self.context.log.warning(f"{self.asset}: the facts so far were not written: {publish_error}")
            raise
        lineage.emit("COMPLETE", **common)
        self._status("done", time.perf_counter() - started)

    def _status(self, status: str, seconds: float) -> None:
        self.control.set_stage(self.tenant, self.product, self.asset, status, round(seconds, 3))
