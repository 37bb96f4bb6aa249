"""What every stage does around its work: lineage events, its status and time, its facts, and reuse.

A stage's result carries a `fingerprint` of everything it was made from (the code version and
its inputs). When the stored result of the same product has the same fingerprint (and is still
valid), the stage reuses it and does no work: this is what makes a rebuild of an unchanged
product a no-op (no new commit, no restart).

Why not Dagster's data versions alone: a run that materializes an asset always executes its
body, whatever the versions say (they mark staleness in the UI and drive automation, they do not
skip a step that was asked for), and some results are reusable only while the world still
matches them (the rendered tree on disk, the env branch in git, the process still answering),
which no version of the inputs can tell. So the stage decides; the asset reports the fingerprint
as its data version, so Dagster's staleness view agrees with what the stage did.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from graph.facts import ProductFacts
from graph.recorder import BuildRecorder
from infra.lifecycle.context import StageContext
from infra.lifecycle.results import StageResult
from infra.lineage import run_id as lineage_run_id
from ontology.lifecycle import stage as stage_row
from ontology.refs import ProductRef

__all__ = ["CODE_VERSION", "StageRun", "fingerprint", "now", "settle_publishes"]

CODE_VERSION = "1"
"""Part of every fingerprint: raise it when a stage's work changes so that stored results are redone."""

R = TypeVar("R", bound=StageResult)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_PUBLISHER = ThreadPoolExecutor(1, thread_name_prefix="publish")
"""Where publishes beside a stage run. Its thread is joined when the interpreter exits, so a publish left
running for the next stages is finished by then (unless the process ends with os._exit: see
`StageContext.publish_across_stages`)."""
_RUNNING: dict[ProductRef, Future[None]] = {}
"""A publish a stage left running for the stages after it, by product (at most one each)."""
_RUNNING_LOCK = threading.Lock()


def settle_publishes(ref: ProductRef, log: Callable[[str], None] = lambda _: None) -> None:
    """Wait for the publish a stage of product `ref` left running, if any. One that failed is only logged:
    the next publish writes every fact again."""
    with _RUNNING_LOCK:
        running = _RUNNING.pop(ref, None)
    if running is None:
        return
    try:
        running.result()
    except Exception as error:
        log(f"{ref}: the facts published beside the deployment were not written yet: {error}")


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class StageRun:
    """One stage of one product's build: lineage START/COMPLETE/FAIL, its status and time in the control
    database, its facts (kept per stage, published after the stages the table says), and reuse."""

    def __init__(self, context: StageContext, name: str) -> None:
        self.context = context
        self.name = name
        self.row = stage_row(name)

    def recorder(self, trace_id: str) -> BuildRecorder:
        """A recorder over empty facts for this stage of build `trace_id`."""
        return BuildRecorder(self.context.workspace.facts(trace_id))

    def record(self, facts: ProductFacts) -> None:
        """Keep this stage's facts (replacing an earlier run's); the graph gets them after the last stage of the
        stage's job (the table's `publishes`), or earlier when a stage fails or a blocking check stops the build."""
        self.context.workspace.save_facts(self.name, facts)
        if self.row.publishes:
            self.publish(facts.trace_id)

    def publish(self, trace_id: str) -> None:
        """Replace the product's graph with every stage's facts recorded so far (after any publish still
        running beside an earlier stage)."""
        settle_publishes(self.context.ref, self.context.log)
        self._write(trace_id)

    def _write(self, trace_id: str) -> None:
        self.context.workspace.publish(self.context.graph(), trace_id)

    @contextmanager
    def publishing_beside(self, trace_id: str) -> Iterator[None]:
        """Publish the facts recorded so far in a thread while the block runs.

        For a stage that mostly waits on another process (a service starting): the graph takes the build's
        facts meanwhile, so the publish after the last stage writes only what the stages after this one
        added. Where the stages after this one run in this process (`StageContext.publish_across_stages`),
        the publish goes on while they run, and the next publish of the product (or the end of the build)
        waits for it; elsewhere the block's end waits for it. A publish that fails is only logged, since
        the next one writes every fact again."""
        ref = self.context.ref
        settle_publishes(ref, self.context.log)
        with _RUNNING_LOCK:
            _RUNNING[ref] = _PUBLISHER.submit(self._write, trace_id)
        try:
            yield
        finally:
            if not self.context.publish_across_stages:
                settle_publishes(ref, self.context.log)

    def previous(self, fp: str, model: type[R], still_valid: Callable[[R], bool] = lambda _: True) -> R | None:
        """The stored result of this stage if it was made from the same inputs (and is still valid)."""
        stored = self.context.workspace.load_output(self.name)
        if stored is None or stored.get("fingerprint") != fp:
            return None
        try:
            old = model.model_validate(stored)
        except ValueError:
            return None  # stored by an older version of the stage: redo it
        if not still_valid(old):
            return None
        self.context.log(f"{self.name}: unchanged inputs, reusing the stored result")
        return self.keep(old.model_copy(update={"reused": True}))

    def keep(self, result: R) -> R:
        """Store the stage's result in the product's workspace (where the next stages and surfaces read it).

        A result whose blocking checks found issues stops the build: the chain so far goes into the graph."""
        self.context.workspace.save_output(self.name, result.model_dump(mode="json"))
        found = {name: issues for name, issues in result.check_issues().items() if issues}
        if found:
            ctx = self.context
            checks = {name: issues[:20] for name, issues in found.items()}
            ctx.control.emit("check.failed", ctx.tenant, ctx.product, trace_id=result.trace_id,
                             data={"stage": self.name, "checks": checks})  # fmt: skip
            self.publish(result.trace_id)
        return result

    @contextmanager
    def running(self, trace_id: str) -> Iterator[None]:
        """Wrap the stage's work: lineage events, stage status and duration, failures recorded."""
        ctx = self.context
        lineage = ctx.lineage()
        common: dict[str, Any] = {
            "job": self.name,
            "run_id": lineage_run_id(ctx.run_id, self.name, ctx.partition),
            "tenant": ctx.tenant,
            "product": ctx.product,
            "trace_id": trace_id,
            "inputs": list(self.row.lineage_inputs),
            "outputs": [self.name],
            "dagster_run_id": ctx.run_id,
        }
        lineage.emit("START", **common)
        self._status("running", None, trace_id)
        started = time.perf_counter()
        try:
            yield
        except BaseException as exc:
            lineage.emit("FAIL", **common, error=f"{type(exc).__name__}: {exc}"[:2000])
            self._status("failed", time.perf_counter() - started, trace_id)
            if isinstance(exc, Exception):
                try:  # the chain so far goes into the graph; the stage's own error is what gets reported
                    self.publish(trace_id)
                except Exception as publish_error:
                    ctx.log(f"{self.name}: the facts so far were not written: {publish_error}")
            raise
        lineage.emit("COMPLETE", **common)
        self._status("done", time.perf_counter() - started, trace_id)

    def _status(self, status: str, seconds: float | None, trace_id: str) -> None:
        duration = None if seconds is None else round(seconds, 3)
        ctx = self.context
        ctx.control.set_stage(ctx.tenant, ctx.product, self.name, status, duration, trace_id=trace_id)
