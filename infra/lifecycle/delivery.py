"""The delivery stages: the release in the product's git repository and its deployment on loopback.

A deployment replaces the running revision blue/green: the new one starts beside the old one,
is health-checked, becomes the recorded deployment, and only then is the old one stopped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from infra import runtime as local
from infra.lifecycle.bookkeeping import CODE_VERSION, StageRun, fingerprint, now
from infra.lifecycle.context import StageContext
from infra.lifecycle.results import (
    ArtifactsResult,
    BlueprintResult,
    DeploymentResult,
    IntentResult,
    ReleaseResult,
    ValidationResult,
)
from infra.records import DeploymentRecord
from infra.runtime import ServiceProcess
from infra.service_tokens import service_name
from ontology.errors import FactoryError

__all__ = ["ENV", "deployment", "release", "release_dir", "swap"]

ENV = "dev"
"""The environment a build deploys to; staging and prod are reached by promotion."""


def release(
    ctx: StageContext,
    intent: IntentResult,
    blueprint: BlueprintResult,
    artifacts: ArtifactsResult,
    validation: ValidationResult,
) -> ReleaseResult:
    """The validated revision committed to the product's git repository, tagged and pushed to `env/dev`.

    Commits carry the trailers Factory-Trace-Id, Blueprint-Hash and Template. Files a person edited
    are merged three-way; a conflict stops the build with a report. Promotion to staging and prod
    is a separate, governed step (factory promote / factory approve).
    """
    stage = StageRun(ctx, "release")
    trace_id = intent.trace_id
    repo = ctx.repository()
    fp = fingerprint(CODE_VERSION, artifacts.fingerprint, artifacts.tree_hash, validation.fingerprint)
    with stage.running(trace_id):
        old = stage.previous(fp, ReleaseResult, lambda _: repo.env_head(ENV) is not None)
        if old is not None:
            return old
        if not validation.ok:
            raise FactoryError("validation failed: the release needs passing tests, clean lint and tenant scoping")
        started = now()
        result = repo.release(
            ctx.workspace.clean_copy(artifacts.files),
            trace_id=trace_id,
            blueprint_hash=blueprint.hash,
            template=artifacts.template,
            revision=intent.revision,
        )
        rec = stage.recorder(trace_id)
        rec.release(intent.revision, result.commit, result.tag, started, now())
        stage.record(rec.facts)
        ctx.control.upsert_product(ctx.tenant, ctx.product, repo_path=str(repo.path))
        return stage.keep(
            ReleaseResult(
                commit=result.commit,
                tag=result.tag,
                created=result.created,
                branch=result.branch,
                kept_edits=list(result.merged_paths),
                repository=str(repo.path),
                manifests=sorted(p for p in artifacts.files if p.startswith("deploy/k8s/")),
                trace_id=trace_id,
                fingerprint=fp,
            )
        )


def _still_running(current: DeploymentRecord | None, old: DeploymentResult) -> bool:
    return (
        current is not None
        and current.pid == old.pid
        and current.status == "running"
        and local.alive(old.pid, Path(old.workdir))
        and local.healthy(old.url)
    )


def release_dir(ctx: StageContext, commit: str) -> Path:
    """Where release `commit` of the product runs from."""
    return ctx.home / "runtime" / "releases" / f"{ctx.tenant}-{ctx.product}-{ENV}-{commit[:12]}"


def swap(
    ctx: StageContext, current: DeploymentRecord | None, commit: str, trace_id: str, revision: int
) -> ServiceProcess:
    """Start release `commit` beside the running revision (`current`), record it, then stop the old one.

    The same release that no longer answers is restarted in place.
    """
    name = service_name(ctx.tenant, ctx.product, ENV)
    workdir = release_dir(ctx, commit)
    if current is not None and current.workdir == str(workdir) and current.pid:
        local.stop(current.pid, workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    ctx.repository().export(commit, workdir)
    service = ctx.runtime().start(workdir, name=name, trace_id=trace_id)
    ctx.control.upsert_deployment(
        ctx.tenant,
        ctx.product,
        ENV,
        url=service.url,
        port=service.port,
        pid=service.pid,
        revision=revision,
        commit=commit,
        trace_id=trace_id,
        workdir=str(workdir),
        status="running",
    )
    if current is not None and current.pid and current.pid != service.pid and current.workdir:
        local.stop(current.pid, Path(current.workdir))  # the old revision goes once the new one is healthy
    return service


def deployment(ctx: StageContext, intent: IntentResult, release: ReleaseResult) -> DeploymentResult:
    """The release running as a local service on a loopback port, health-checked.

    A new revision starts next to the old one and replaces it once healthy, so there is no gap;
    an unchanged release that is still healthy is left running.
    """
    stage = StageRun(ctx, "deployment")
    trace_id = intent.trace_id
    current = ctx.control.deployment(ctx.tenant, ctx.product, ENV)
    fp = fingerprint(CODE_VERSION, release.commit, trace_id)
    with stage.running(trace_id):
        old = stage.previous(fp, DeploymentResult, lambda o: _still_running(current, o))
        if old is not None:
            return old
        started = now()
        service = swap(ctx, current, release.commit, trace_id, intent.revision)
        rec = stage.recorder(trace_id)
        rec.deployment(intent.revision, ENV, service.url, "running", started, now())
        stage.record(rec.facts)
        ctx.control.upsert_product(ctx.tenant, ctx.product, service_url=service.url)
        return stage.keep(
            DeploymentResult(
                url=service.url,
                pid=service.pid,
                port=service.port,
                workdir=str(release_dir(ctx, release.commit)),
                log=str(service.log_path),
                telemetry_file=str(service.telemetry_path),
                commit=release.commit,
                environment=ENV,
                trace_id=trace_id,
                fingerprint=fp,
            )
        )
