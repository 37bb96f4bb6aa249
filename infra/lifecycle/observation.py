"""The observation stages: telemetry measured against the blueprint's objectives, and the finished
build recorded as knowledge (the product's graph, the control database's build record)."""

from __future__ import annotations

from pathlib import Path

from infra.insights import refresh_insights
from infra.lifecycle.bookkeeping import CODE_VERSION, StageRun, fingerprint, now
from infra.lifecycle.context import StageContext
from infra.lifecycle.delivery import ENV
from infra.lifecycle.results import (
    ArtifactsResult,
    BlueprintResult,
    DeploymentResult,
    IntentResult,
    KnowledgeResult,
    ReleaseResult,
    TelemetryResult,
    ValidationResult,
)
from infra.service_tokens import service_name
from infra.telemetry import overall, route_figures, slo_breaches, smoke, wait_for_spans

__all__ = ["knowledge", "telemetry"]


def telemetry(ctx: StageContext, blueprint: BlueprintResult, deployment: DeploymentResult) -> TelemetryResult:
    """Latency and error figures per route from a smoke workload against the running service.

    Create, list, get, update and delete for every entity plus invalid requests; the spans the
    service exported give p50/p95 latency and error rate per route, measured against the SLOs.
    """
    stage = StageRun(ctx, "telemetry")
    trace_id = deployment.trace_id
    rounds = ctx.settings.smoke_rounds
    fp = fingerprint(CODE_VERSION, deployment.fingerprint, deployment.pid, rounds)
    with stage.running(trace_id):
        old = stage.previous(fp, TelemetryResult)
        if old is not None:
            return old
        started = now()
        headers = ctx.runtime().tokens(service_name(ctx.tenant, ctx.product, ENV)).headers(ctx.tenant)
        result = smoke(deployment.url, tenant=ctx.tenant, trace_id=trace_id, rounds=rounds, headers=headers)
        spans = wait_for_spans(
            Path(deployment.telemetry_file), trace_id=trace_id, count=result.requests, since=result.started_at
        )
        routes = route_figures(spans)
        total = overall(spans)
        slo = blueprint.blueprint.slo
        breaches = slo_breaches([*routes, total], slo.p95_latency_ms, slo.error_rate)
        signals = []
        for i, fig in enumerate([total, *routes]):
            label = fig.route if fig.route == "*" else f"{fig.method} {fig.route}"
            for metric, value in (
                ("requests", fig.count),
                ("latency_p50_ms", fig.p50_ms),
                ("latency_p95_ms", fig.p95_ms),
                ("error_rate", fig.error_rate),
            ):
                signals.append((metric, label, float(value), f"{i}-{metric}"))
        rec = stage.recorder(trace_id)
        rec.telemetry(ENV, signals, started, now())
        stage.record(rec.facts)
        return stage.keep(
            TelemetryResult(
                requests=result.requests,
                unexpected=list(result.unexpected),
                spans=len(spans),
                routes=routes,
                overall=total,
                breaches=breaches,
                objectives=slo,
                trace_id=trace_id,
                fingerprint=fp,
            )
        )


def knowledge(
    ctx: StageContext,
    intent: IntentResult,
    blueprint: BlueprintResult,
    artifacts: ArtifactsResult,
    validation: ValidationResult,
    release: ReleaseResult,
    deployment: DeploymentResult,
    telemetry: TelemetryResult,
) -> KnowledgeResult:
    """The finished build in the knowledge graph and the control database: the whole traced chain.

    The product's graph holds every stage's facts (the shallow contract run's failures with their
    requests among them; the deep contract run, after the build, adds its own); the build's outcome
    (tests, build time, SLO figures, patterns used) feeds the factory insights the architect reads for
    the next product, which this stage recomputes.
    """
    stage = StageRun(ctx, "knowledge")
    trace_id = intent.trace_id
    fp = fingerprint(CODE_VERSION, telemetry.fingerprint, release.commit)
    with stage.running(trace_id):
        result = stage.previous(fp, KnowledgeResult)
        if result is None:
            stage.publish(trace_id)
            chain = ctx.graph().trace(trace_id, ctx.tenant)
            record = ctx.control.product(ctx.tenant, ctx.product)
            seconds = round(sum((record.duration_map() if record else {}).values()), 3)
            patterns = sorted({e.pattern for e in blueprint.blueprint.entities if e.pattern})
            ctx.control.record_build(
                tenant=ctx.tenant,
                product=ctx.product,
                revision=intent.revision,
                trace_id=trace_id,
                template=artifacts.template,
                patterns=",".join(patterns),
                passed=validation.ok,
                tests_passed=validation.passed,
                tests_failed=validation.failed + validation.errors,
                lint_findings=len(validation.lint),
                duration_s=seconds,
                p95_ms=telemetry.overall.p95_ms,
                error_rate=telemetry.overall.error_rate,
                slo_breaches=len(telemetry.breaches),
            )
            ctx.control.upsert_product(
                ctx.tenant,
                ctx.product,
                revision=intent.revision,
                trace_id=trace_id,
                status="built",
                service_url=deployment.url,
            )
            refresh_insights(ctx.home, ctx.control)  # what the architect reads when it plans the next product
            result = stage.keep(
                KnowledgeResult(
                    stages=sorted({step.stage for step in chain}),
                    facts=len(chain),
                    patterns=patterns,
                    build_seconds=seconds,
                    trace_id=trace_id,
                    fingerprint=fp,
                )
            )
    # only now, with every stage done, does a follower see the build as built
    ctx.control.set_intent_status(intent.intent_id, "built", trace_id=trace_id)
    return result
