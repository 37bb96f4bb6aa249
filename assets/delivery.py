"""Lifecycle assets from validated code to knowledge: release, deployment, telemetry, knowledge.

Release commits the rendered tree to the product's git repository (merging people's edits),
deployment runs it on loopback, telemetry drives a smoke workload and measures it against the
blueprint's objectives, and knowledge records the finished build for the next one to learn from.
"""

import datetime as dt
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from assets.design import _COMMON, _output
from assets.resources import ControlPlaneResource, DeliveryResource, KnowledgeGraphResource
from assets.stages import CODE_VERSION, StageRun, fingerprint
from graph.provenance import AGENTS, record_activity
from infra import runtime as local
from infra.telemetry import overall, route_figures, slo_breaches, smoke, wait_for_spans
from ontology.errors import FactoryError

__all__ = ["deployment", "knowledge", "release", "telemetry"]

ENV = "dev"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@asset(**_COMMON)
def release(
    context: AssetExecutionContext,
    intent: dict[str, Any],
    blueprint: dict[str, Any],
    artifacts: dict[str, Any],
    validation: dict[str, Any],
    control: ControlPlaneResource,
    delivery: DeliveryResource,
    knowledge_graph: KnowledgeGraphResource,
) -> Output[dict[str, Any]]:
    """The validated revision committed to the product's git repository, tagged and pushed to `env/dev`.

    Commits carry the trailers Factory-Trace-Id, Blueprint-Hash and Template. Files a person edited
    are merged three-way; a conflict stops the build with a report. Promotion to staging and prod
    is a separate, governed step (factory promote / factory approve).
    """
    stage = StageRun(context, control, delivery, knowledge_graph, ["artifacts", "validation"])
    trace_id = intent["trace_id"]
    repo = delivery.repository(stage.tenant, stage.product)
    fp = fingerprint(CODE_VERSION, artifacts["fingerprint"], artifacts["tree_hash"], validation["fingerprint"])
    with stage.running(trace_id):
        out = stage.previous(fp, lambda old: repo.env_head(ENV) is not None)
        if out is None:
            if not validation["ok"]:
                raise FactoryError("validation failed: the release needs passing tests, clean lint and tenant scoping")
            started = _now()
            result = repo.release(
                stage.workspace.clean_copy(artifacts["files"]),
                trace_id=trace_id,
                blueprint_hash=blueprint["hash"],
                template=artifacts["template"],
                revision=intent["revision"],
            )
            f = stage.workspace.facts(trace_id)
            release_iri = f.release(
                f.iri("product"), f.iri("validation"), intent["revision"], result.commit, result.tag
            )
            record_activity(
                f,
                "release",
                AGENTS["release"],
                started,
                _now(),
                used=[f.iri("validation")],
                generated=[release_iri],
                informed_by=f.iri("activity", "validation"),
            )
            stage.record(f)
            stage.control.upsert_product(stage.tenant, stage.product, repo_path=str(repo.path))
            out = {
                "commit": result.commit,
                "tag": result.tag,
                "created": result.created,
                "branch": result.branch,
                "kept_edits": list(result.merged_paths),
                "repository": str(repo.path),
                "manifests": sorted(p for p in artifacts["files"] if p.startswith("deploy/k8s/")),
                "trace_id": trace_id,
                "fingerprint": fp,
            }
    return _output(
        out,
        commit=out["commit"],
        tag=out["tag"] or "",
        new_commit=out["created"],
        kept_edits=len(out["kept_edits"]),
        repository=MetadataValue.path(out["repository"]),
    )


@asset(**_COMMON)
def deployment(
    context: AssetExecutionContext,
    intent: dict[str, Any],
    release: dict[str, Any],
    control: ControlPlaneResource,
    delivery: DeliveryResource,
    knowledge_graph: KnowledgeGraphResource,
) -> Output[dict[str, Any]]:
    """The release running as a local service on a loopback port, health-checked.

    A new revision starts next to the old one and replaces it once healthy, so there is no gap;
    an unchanged release that is still healthy is left running.
    """
    stage = StageRun(context, control, delivery, knowledge_graph, ["release"])
    trace_id = intent["trace_id"]
    runtime = delivery.runtime()
    current = stage.control.deployment(stage.tenant, stage.product, ENV)
    fp = fingerprint(CODE_VERSION, release["commit"], trace_id)

    def still_running(old: dict[str, Any]) -> bool:
        return (
            current is not None
            and current.pid == old["pid"]
            and current.status == "running"
            and local.alive(old["pid"], Path(old["workdir"]))
            and local.healthy(old["url"])
        )

    with stage.running(trace_id):
        out = stage.previous(fp, still_running)
        if out is None:
            started = _now()
            repo = delivery.repository(stage.tenant, stage.product)
            name = f"{stage.tenant}-{stage.product}-{ENV}"
            workdir = delivery.root / "runtime" / "releases" / f"{name}-{release['commit'][:12]}"
            if current is not None and current.workdir == str(workdir) and current.pid:
                local.stop(current.pid, workdir)  # the same release, not answering: restart it in place
            if workdir.exists():
                shutil.rmtree(workdir)
            repo.export(release["commit"], workdir)
            service = runtime.start(workdir, name=name, trace_id=trace_id)
            stage.control.upsert_deployment(
                stage.tenant,
                stage.product,
                ENV,
                url=service.url,
                port=service.port,
                pid=service.pid,
                revision=intent["revision"],
                commit=release["commit"],
                trace_id=trace_id,
                workdir=str(workdir),
                status="running",
            )
            if current is not None and current.pid and current.pid != service.pid and current.workdir:
                local.stop(current.pid, Path(current.workdir))  # the old revision goes once the new one is healthy
            f = stage.workspace.facts(trace_id)
            dep_iri = f.deployment(f.iri("release", str(intent["revision"])), ENV, service.url, "running")
            record_activity(
                f,
                "deployment",
                AGENTS["deployment"],
                started,
                _now(),
                used=[f.iri("release", str(intent["revision"]))],
                generated=[dep_iri],
                informed_by=f.iri("activity", "release"),
            )
            stage.record(f)
            stage.control.upsert_product(stage.tenant, stage.product, service_url=service.url)
            out = {
                "url": service.url,
                "pid": service.pid,
                "port": service.port,
                "workdir": str(workdir),
                "log": str(service.log_path),
                "telemetry_file": str(service.telemetry_path),
                "commit": release["commit"],
                "environment": ENV,
                "trace_id": trace_id,
                "fingerprint": fp,
            }
    return _output(out, url=MetadataValue.url(out["url"]), pid=out["pid"], port=out["port"], commit=out["commit"])


@asset(**_COMMON)
def telemetry(
    context: AssetExecutionContext,
    blueprint: dict[str, Any],
    deployment: dict[str, Any],
    control: ControlPlaneResource,
    delivery: DeliveryResource,
    knowledge_graph: KnowledgeGraphResource,
) -> Output[dict[str, Any]]:
    """Latency and error figures per route from a smoke workload against the running service.

    Create, list, get, update and delete for every entity plus invalid requests; the spans the
    service exported give p50/p95 latency and error rate per route, measured against the SLOs.
    """
    stage = StageRun(context, control, delivery, knowledge_graph, ["deployment"])
    trace_id = deployment["trace_id"]
    fp = fingerprint(CODE_VERSION, deployment["fingerprint"], deployment["pid"], delivery.smoke_rounds)
    with stage.running(trace_id):
        out = stage.previous(fp)
        if out is None:
            started = _now()
            result = smoke(deployment["url"], tenant=stage.tenant, trace_id=trace_id, rounds=delivery.smoke_rounds)
            spans = wait_for_spans(
                Path(deployment["telemetry_file"]), trace_id=trace_id, count=result.requests, since=result.started_at
            )
            routes = route_figures(spans)
            total = overall(spans)
            slo = blueprint["blueprint"]["slo"]
            breaches = slo_breaches([*routes, total], slo["p95_latency_ms"], slo["error_rate"])
            f = stage.workspace.facts(trace_id)
            dep_iri = f.iri("deployment", "dev")
            signals = []
            for i, fig in enumerate([total, *routes]):
                label = fig.route if fig.route == "*" else f"{fig.method} {fig.route}"
                for metric, value in (
                    ("requests", fig.count),
                    ("latency_p50_ms", fig.p50_ms),
                    ("latency_p95_ms", fig.p95_ms),
                    ("error_rate", fig.error_rate),
                ):
                    signals.append(f.signal(dep_iri, metric, label, value, f"{i}-{metric}"))
            record_activity(
                f,
                "observation",
                AGENTS["observation"],
                started,
                _now(),
                used=[dep_iri],
                generated=signals,
                informed_by=f.iri("activity", "deployment"),
            )
            stage.record(f)
            out = {
                "requests": result.requests,
                "unexpected": list(result.unexpected),
                "spans": len(spans),
                "routes": [asdict(fig) for fig in routes],
                "overall": asdict(total),
                "breaches": breaches,
                "objectives": slo,
                "trace_id": trace_id,
                "fingerprint": fp,
            }
    return _output(
        out,
        requests=out["requests"],
        p50_ms=out["overall"]["p50_ms"],
        p95_ms=out["overall"]["p95_ms"],
        error_rate=out["overall"]["error_rate"],
        slo_breaches=len(out["breaches"]),
        routes=MetadataValue.md(_routes_table(out["routes"])),
    )


def _routes_table(routes: list[dict[str, Any]]) -> str:
    lines = ["| route | requests | p50 ms | p95 ms | errors |", "|---|---|---|---|---|"]
    lines += [
        f"| {r['method']} {r['route']} | {r['count']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['error_rate']:.1%} |"
        for r in routes
    ]
    return "\n".join(lines)


@asset(**_COMMON)
def knowledge(
    context: AssetExecutionContext,
    intent: dict[str, Any],
    blueprint: dict[str, Any],
    artifacts: dict[str, Any],
    validation: dict[str, Any],
    release: dict[str, Any],
    deployment: dict[str, Any],
    telemetry: dict[str, Any],
    control: ControlPlaneResource,
    delivery: DeliveryResource,
    knowledge_graph: KnowledgeGraphResource,
) -> Output[dict[str, Any]]:
    """The finished build in the knowledge graph and the control database: the whole traced chain.

    The product's graph holds every stage's facts; the build's outcome (tests, build time, SLO
    figures, patterns used) feeds the factory insights the architect reads for the next product.
    """
    stage = StageRun(context, control, delivery, knowledge_graph, ["telemetry"])
    trace_id = intent["trace_id"]
    fp = fingerprint(CODE_VERSION, telemetry["fingerprint"], release["commit"])
    with stage.running(trace_id):
        out = stage.previous(fp)
        if out is None:
            stage.publish(trace_id)
            chain = knowledge_graph.open().trace(trace_id, stage.tenant)
            record = stage.control.product(stage.tenant, stage.product)
            seconds = round(sum((record.duration_map() if record else {}).values()), 3)
            patterns = sorted({e["pattern"] for e in blueprint["blueprint"]["entities"] if e.get("pattern")})
            stage.control.record_build(
                tenant=stage.tenant,
                product=stage.product,
                revision=intent["revision"],
                trace_id=trace_id,
                template=artifacts["template"],
                patterns=",".join(patterns),
                passed=bool(validation["ok"]),
                tests_passed=validation["passed"],
                tests_failed=validation["failed"] + validation["errors"],
                lint_findings=len(validation["lint"]),
                duration_s=seconds,
                p95_ms=telemetry["overall"]["p95_ms"],
                error_rate=telemetry["overall"]["error_rate"],
                slo_breaches=len(telemetry["breaches"]),
            )
            stage.control.upsert_product(
                stage.tenant,
                stage.product,
                revision=intent["revision"],
                trace_id=trace_id,
                status="built",
                service_url=deployment["url"],
            )
            stage.control.set_intent_status(intent["intent_id"], "built", trace_id=trace_id)
            out = {
                "stages": sorted({step.stage for step in chain}),
                "facts": len(chain),
                "patterns": patterns,
                "build_seconds": seconds,
                "trace_id": trace_id,
                "fingerprint": fp,
            }
        else:
            stage.control.set_intent_status(intent["intent_id"], "built", trace_id=trace_id)
    return _output(out, stages=len(out["stages"]), chain_facts=out["facts"], build_seconds=out["build_seconds"])
