"""The delivery stages: the release in the product's git repository and its deployment on loopback.

A deployment replaces the running revision blue/green: the new one starts beside the old one,
is health-checked, becomes the recorded deployment, and only then is the old one stopped.
"""

from __future__ import annotations

import re
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
from infra.telemetry import WorkloadError, smoke
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
        old = stage.previous(
            fp, ReleaseResult, lambda kept: repo.env_head(ENV) is not None and repo.head() == kept.commit
        )
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


def release_dir(ctx: StageContext, commit: str, env: str = ENV) -> Path:
    """Where release `commit` of the product runs from in `env`."""
    return ctx.home / "runtime" / "releases" / f"{service_name(ctx.tenant, ctx.product, env)}-{commit[:12]}"


def _smoke_gate(ctx: StageContext, service: ServiceProcess, trace_id: str, rounds: int) -> None:
    """Refuse a started release whose smoke workload does not get the expected answers (it is stopped)."""
    try:
        headers = ctx.runtime().tokens(service.name).headers(ctx.tenant)
        result = smoke(service.url, tenant=ctx.tenant, trace_id=trace_id, rounds=rounds, headers=headers)
        why = "; ".join(result.unexpected[:2])  # an answer that was not the expected one
    except WorkloadError as error:
        why = str(error)
    if why:
        local.stop(service.pid, service.workdir)
        raise local.DeploymentError(f"{service.name} at {service.url} failed its smoke test: {why[:400]}")


def swap(
    ctx: StageContext,
    current: DeploymentRecord | None,
    commit: str,
    trace_id: str,
    revision: int | None,
    env: str = ENV,
    *,
    smoke_rounds: int = 0,
    rolled_back: bool = False,
) -> ServiceProcess:
    """Start release `commit` in `env` beside the running one (`current`), record it, then stop the old one.

    The new release runs its migrations and must answer its health check (and, with `smoke_rounds`, a smoke
    workload) before it is recorded: one that fails is stopped and `current` keeps the traffic and its record.
    The same release that no longer answers is restarted in place.
    """
    workdir = release_dir(ctx, commit, env)
    for pid in local.serving_from(workdir):  # the recorded one, or one whose starter was killed before recording it
        local.stop(pid, workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    ctx.repository().export(commit, workdir)
    service = ctx.runtime().start(workdir, name=service_name(ctx.tenant, ctx.product, env), trace_id=trace_id)
    if smoke_rounds:
        _smoke_gate(ctx, service, trace_id, smoke_rounds)
    ctx.control.upsert_deployment(
        ctx.tenant,
        ctx.product,
        env,
        url=service.url,
        port=service.port,
        pid=service.pid,
        revision=revision,
        commit=commit,
        trace_id=trace_id,
        workdir=str(workdir),
        status="running",
    )
    ctx.control.record_release(
        ctx.tenant, ctx.product, env, commit, revision=revision, trace_id=trace_id, rolled_back=rolled_back
    )
    if current is not None and current.pid and current.pid != service.pid and current.workdir:
        local.stop(current.pid, Path(current.workdir))  # the old revision goes once the new one is healthy
    for folder in _other_releases(ctx, commit, env):  # and one whose record a killed swap had replaced
        for pid in local.serving_from(folder):
            local.stop(pid, folder)
    return service


def _other_releases(ctx: StageContext, commit: str, env: str) -> list[Path]:
    """The folders of the product's other releases in `env` (`<service>-<commit[:12]>` beside this one)."""
    mine = release_dir(ctx, commit, env)
    prefix = mine.name[:-12]
    if not mine.parent.is_dir():
        return []
    return [
        f for f in mine.parent.iterdir()
        if f != mine and f.name.startswith(prefix) and re.fullmatch(r"[0-9a-f]{12}", f.name[len(prefix):])
    ]  # fmt: skip


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
        with stage.publishing_beside(trace_id):  # while the release migrates and starts
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
