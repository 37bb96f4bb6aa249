"""Plain-Python views the Studio pages show: tables and figures assembled from the core's records.

Nothing here imports Streamlit, so every view is tested on its own; the pages only draw them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from generators.agents.contract import ContractReport
from generators.packs import TemplatePack
from graph import QueryResult, TraceStep
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from infra.insights import FactoryInsights, compute_insights
from infra.records import AuditEvent, BuildRecord, IntentRecord, ProductRecord
from infra.workspace import ProductWorkspace
from ontology.lifecycle import BUILD, STAGE_NAMES

__all__ = [
    "STAGES",
    "ContractView",
    "FileView",
    "Promotion",
    "audit_rows",
    "contract_view",
    "factory_figures",
    "file_tree",
    "latest_intents",
    "overview_rows",
    "promotions",
    "query_rows",
    "read_product_file",
    "stage_progress",
    "telemetry_rows",
    "template_rows",
    "tenants",
    "timeline_rows",
    "trace_rows",
]

STAGES = STAGE_NAMES
"""The lifecycle's stages, in order, as the stage table (and so the control database) names them."""

MAX_FILE_BYTES = 300_000


def tenants(control: ControlPlane) -> list[str]:
    """Every tenant the factory knows: those with products and those that only submitted intents."""
    return sorted({p.tenant for p in control.products(None)} | {i.tenant for i in control.intents(None)})


def latest_intents(intents: Iterable[IntentRecord]) -> dict[tuple[str, str], IntentRecord]:
    """The newest intent of each (tenant, product)."""
    latest: dict[tuple[str, str], IntentRecord] = {}
    for record in intents:
        key = (record.tenant, record.product)
        if key not in latest or record.revision > latest[key].revision:
            latest[key] = record
    return latest


def overview_rows(
    products: Sequence[ProductRecord], intents: Iterable[IntentRecord], dagster_url: str
) -> list[dict[str, Any]]:
    """One row per product: status, every stage's status, trace id and links to its trace, Dagster run and service."""
    latest = latest_intents(intents)
    rows = []
    for p in products:
        intent = latest.get((p.tenant, p.product))
        stages = p.stage_map()
        trace = p.trace_id or (intent.trace_id if intent else None)
        rows.append(
            {
                "tenant": p.tenant,
                "product": p.product,
                "revision": p.revision,
                "status": intent.status if intent and intent.status in ("building", "queued") else p.status,
                **{stage: stages.get(stage, "") for stage in STAGES},
                "trace": f"trace?trace={trace}&tenant={quote(p.tenant)}" if trace else None,
                "dagster run": f"{dagster_url}/runs/{intent.run_id}" if intent and intent.run_id else None,
                "service": p.service_url,
                "updated": p.updated_at,
            }
        )
    return rows


def factory_figures(builds: Sequence[BuildRecord], products: int) -> dict[str, Any]:
    """The factory's headline figures: products, builds, pass rate and median build time."""
    insights = compute_insights(builds)
    return {
        "products": products,
        "builds": insights.builds,
        "pass rate": insights.pass_rate,
        "median build s": insights.median_build_s,
    }


@dataclass(frozen=True)
class StageProgress:
    """How far a build has come: finished stages out of all, the running one, failed ones."""

    done: int
    total: int
    running: str | None
    failed: list[str]

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


def stage_progress(stages: dict[str, str]) -> StageProgress:
    """Progress of a build (the stages of the `lifecycle` job; the deep contract run follows it) from a
    product's stage map."""
    done = sum(1 for s in BUILD if stages.get(s) in ("done", "skipped", "reused"))
    running = next((s for s in BUILD if stages.get(s) == "running"), None)
    failed = [s for s in BUILD if stages.get(s) == "failed"]
    return StageProgress(done, len(BUILD), running, failed)


# ---------------------------------------------------------------------------------------- trace


def trace_rows(steps: Sequence[TraceStep]) -> list[dict[str, Any]]:
    """The trace as a table: stage, what was made, by which activity and agent, for (or by) which person, when."""
    return [
        {
            "stage": s.stage,
            "label": s.label,
            "node": s.node,
            "activity": _local(s.activity),
            "agent": _local(s.agent, 2),
            "person": s.person,
            "started": s.started,
            "ended": s.ended,
        }
        for s in steps
    ]


def feedback_rows(steps: Sequence[TraceStep]) -> list[dict[str, Any]]:
    """The feedback loop on a trace, one row per design decision: the finding it was decided from, the decision,
    the generated files it changed, and how many telemetry windows the build's deployments showed since."""
    labels = {s.node: s.label for s in steps if s.stage == "finding"}
    files: dict[str, list[str]] = {}
    for s in steps:
        if s.stage == "changed file" and s.about:
            files.setdefault(s.about, []).append(s.label)
    windows = len({s.node for s in steps if s.stage == "window"})
    return [
        {
            "finding": labels.get(s.about or "", s.about),
            "decision": s.label,
            "files": ", ".join(sorted(files.get(s.node, []))),
            "windows after": windows,
        }
        for s in steps
        if s.stage == "decision"
    ]


def timeline_rows(steps: Sequence[TraceStep]) -> list[dict[str, Any]]:
    """One row per activity of the trace (start, end, seconds), in the order they ran."""
    seen: dict[str, dict[str, Any]] = {}
    for s in steps:
        if not s.activity or not s.started or s.activity in seen:
            continue
        seen[s.activity] = {
            "stage": s.stage,
            "activity": _local(s.activity),
            "agent": _local(s.agent, 2),
            "started": s.started,
            "ended": s.ended or s.started,
            "outputs": 0,
        }
    for s in steps:
        if s.activity in seen:
            seen[s.activity]["outputs"] += 1
    rows = sorted(seen.values(), key=lambda r: str(r["started"]))
    for row in rows:
        row["seconds"] = round(_seconds(row["started"], row["ended"]), 3)
    return rows


def _seconds(start: str, end: str) -> float:
    from datetime import datetime

    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return 0.0


def _local(iri: str | None, parts: int = 1) -> str:
    if not iri:
        return ""
    return "/".join(iri.rstrip("/").split("/")[-parts:])


# ---------------------------------------------------------------------------------------- knowledge


def query_rows(result: QueryResult, limit: int = 5000) -> list[dict[str, Any]]:
    """A query's rows as records for a table (at most `limit`), values made printable."""
    return [
        {column: _cell(value) for column, value in zip(result.columns, row, strict=True)} for row in result.rows[:limit]
    ]


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, default=str) if isinstance(value, list | dict) else str(value)


# ---------------------------------------------------------------------------------------- product


def file_tree(paths: Sequence[str]) -> str:
    """The file listing drawn as an indented tree."""
    lines: list[str] = []
    shown: set[tuple[str, ...]] = set()
    for path in sorted(paths):
        parts = tuple(path.split("/"))
        for depth in range(len(parts) - 1):
            folder = parts[: depth + 1]
            if folder not in shown:
                shown.add(folder)
                lines.append("    " * depth + folder[-1] + "/")
        lines.append("    " * (len(parts) - 1) + parts[-1])
    return "\n".join(lines)


@dataclass(frozen=True)
class FileView:
    """A rendered file's text and the language to highlight it with."""

    path: str
    text: str
    language: str | None


_LANGUAGES = {".py": "python", ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".md": "markdown", ".toml": "toml"}


def read_product_file(workspace: ProductWorkspace, listing: Sequence[str], path: str) -> FileView:
    """One file of the product's render; only listed files inside the render folder are read."""
    from ontology.errors import InvalidInputError, NotFoundError

    if path not in listing:
        raise InvalidInputError(f"{path[:100]!r} is not one of the product's files")
    root = workspace.render_dir.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise NotFoundError(f"{path} is not in the render folder any more: rebuild the product")
    if target.stat().st_size > MAX_FILE_BYTES:
        return FileView(path, f"({target.stat().st_size:,} bytes: too large to show)", None)
    text = target.read_bytes().decode("utf-8", errors="replace")
    language = "dockerfile" if target.name == "Dockerfile" else _LANGUAGES.get(target.suffix)
    return FileView(path, text, language)


def telemetry_rows(telemetry: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Latency and error figures per route from the telemetry stage's output."""
    rows = []
    for r in (telemetry or {}).get("routes", []):
        rows.append(
            {
                "route": f"{r.get('method', '')} {r.get('route', '')}".strip(),
                "requests": r.get("count", 0),
                "p50 ms": r.get("p50_ms", 0.0),
                "p95 ms": r.get("p95_ms", 0.0),
                "error rate": r.get("error_rate", 0.0),
                "client error rate": r.get("client_error_rate", 0.0),
            }
        )
    return rows


@dataclass(frozen=True)
class ContractView:
    """A product's contract runs (the shallow one of its validation, the deep one after its deployment) and
    every failure they found, each with the request that reproduces it."""

    runs: list[dict[str, Any]]
    failures: list[dict[str, Any]]


def contract_view(workspace: ProductWorkspace) -> ContractView:
    """The contract runs stored by the validation and the contract stage, as tables."""
    found: list[tuple[str, ContractReport]] = []
    validation = workspace.load_output("validation") or {}
    deep = workspace.load_output("contract") or {}
    for commit, stored in (("", validation.get("contract")), (str(deep.get("commit", "")), deep.get("report"))):
        if isinstance(stored, dict):
            try:
                found.append((commit, ContractReport.model_validate(stored)))
            except ValueError:
                continue  # stored by another version: nothing to show of it
    runs = [
        {
            "depth": r.depth.value,
            "commit": commit[:12],
            "holds": r.ok,
            "cases": r.cases,
            "failures": len(r.failures),
            "errors": "; ".join(r.errors)[:300],
            "seconds": r.duration_s,
        }
        for commit, r in found
    ]
    failures = [
        {
            "depth": r.depth.value,
            "request": f.request_line(),
            "status": f.status_code,
            "problem": f.title,
            "check": f.check,
            "operation": f.operation,
            "body": json.dumps(f.body)[:300] if f.body is not None else "",
        }
        for _, r in found
        for f in r.failures
    ]
    return ContractView(runs, failures)


# ---------------------------------------------------------------------------------------- governance


@dataclass(frozen=True)
class Promotion:
    """Where one product's release stands on its way to prod."""

    product: str
    dev: str | None
    staging: str | None
    prod: str | None
    decision: str | None

    @property
    def pending(self) -> bool:
        """Staging holds a commit prod does not, and nobody has decided on it yet."""
        return bool(self.staging) and self.staging != self.prod and self.decision is None

    def row(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "dev": (self.dev or "")[:12],
            "staging": (self.staging or "")[:12],
            "prod": (self.prod or "")[:12],
            "decision on staging commit": self.decision or ("pending" if self.pending else ""),
        }


def promotions(control: ControlPlane, home: Path, products: Sequence[ProductRecord]) -> list[Promotion]:
    """Each released product's environment heads and the decision on promoting staging to prod."""
    found = []
    for p in products:
        if not p.repo_path or not (Path(p.repo_path) / ".git").exists():
            continue  # never released: opening its repository would create one
        repo = ProductRepository(home, p.tenant, p.product)
        heads = {env: repo.env_head(env) for env in ("dev", "staging", "prod")}
        staging = heads["staging"]
        approval = control.approval_for(p.tenant, p.product, "prod", staging) if staging else None
        found.append(
            Promotion(p.product, heads["dev"], staging, heads["prod"], approval.decision if approval else None)
        )
    return found


def audit_rows(events: Sequence[AuditEvent]) -> list[dict[str, Any]]:
    """The audit log as a table, newest first."""
    return [
        {
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "outcome": e.outcome,
            "product": f"{e.tenant}/{e.product}" if e.product else e.tenant or "",
            "detail": e.detail,
        }
        for e in events
    ]


# ---------------------------------------------------------------------------------------- templates


def template_rows(packs: Sequence[TemplatePack], insights: FactoryInsights) -> list[dict[str, Any]]:
    """Each template pack version with its parameters, file count and the outcomes of builds that used it."""
    rows = []
    for pack in packs:
        outcome = insights.templates.get(f"{pack.name}@{pack.version}")
        rows.append(
            {
                "pack": pack.name,
                "version": pack.version,
                "description": pack.description,
                "parameters": ", ".join(p.name for p in pack.parameters),
                "files": len(pack.template_paths()),
                "builds": outcome.builds if outcome else 0,
                "passed": outcome.passed if outcome else 0,
                "pass rate": outcome.pass_rate if outcome else None,
                "median build s": outcome.median_build_s if outcome else None,
                "products": len(outcome.products) if outcome else 0,
            }
        )
    return rows
