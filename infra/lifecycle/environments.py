"""Staging and prod as running deployments: a promotion deploys the exact commit, a rollback returns to the one before.

Every environment runs the same way as dev (`delivery.swap`): its own service and database
(`<tenant>-<product>-<env>`), the release's migrations first, then the health check and a smoke
workload before it takes the traffic; a release that fails any of them is stopped and the running one
keeps the traffic and its record. The releases an environment ran are kept in the control database
(`EnvironmentRelease`), and what runs there is written to the product's graph as a deployment of that
release, with the trace id of the build that made it, so `factory trace` runs from the intent to prod.
The people are there too: who asked for each promotion or rollback, and each approval or rejection as a
PROV activity of the person who gave it, under the policy in force (`fac:Policy`, known by its SHA-256).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from graph.files import FileLock
from graph.recorder import BuildRecorder
from infra import governance
from infra import migrations as schema
from infra import runtime as local
from infra.access import policy_text
from infra.gitops import ENVIRONMENTS, ProductRepository, previous_env
from infra.lifecycle.bookkeeping import now
from infra.lifecycle.context import StageContext
from infra.lifecycle.delivery import release_dir, swap
from infra.records import ApprovalRecord, DeploymentRecord, EnvironmentRelease
from infra.service_tokens import service_name
from ontology.errors import FactoryError, InvalidInputError

__all__ = ["PROMOTED", "RollbackRefused", "deploy", "promote", "record_approval", "rollback"]

PROMOTED = ENVIRONMENTS[1:]
"""The environments a promotion reaches (dev follows the builds)."""

SMOKE_ROUNDS = 1
_TAG = re.compile(r"^r(\d+)(?:\.\d+)?\Z")


class RollbackRefused(governance.GovernanceError):
    """A rollback that cannot be done as asked; nothing was changed."""


def _release_of(repo: ProductRepository, commit: str) -> tuple[int, str, str]:
    """The revision, tag and trace id of a factory release commit."""
    tag = repo.tag_at(commit)
    trace_id = repo.trailers(commit).get("Factory-Trace-Id")
    match = _TAG.match(tag or "")
    if tag is None or match is None or not trace_id:
        raise FactoryError(
            f"commit {commit[:7]} of {repo.name} is not a factory release (no r<revision> tag or Factory-Trace-Id "
            "trailer): release it with `factory rebuild` first"
        )
    return int(match[1]), tag, trace_id


def _running(record: DeploymentRecord | None, commit: str) -> bool:
    return (
        record is not None
        and record.status == "running"
        and record.commit == commit
        and bool(record.pid and record.workdir and record.url)
        and local.alive(record.pid or 0, Path(record.workdir or "."))
        and local.healthy(record.url or "")
    )


def deploy(
    ctx: StageContext,
    env: str,
    commit: str,
    *,
    after: str | None,
    smoke_rounds: int = SMOKE_ROUNDS,
    rolled_back: bool = False,
    undo: Callable[[], object] | None = None,
    actor: str | None = None,
    approvals: Sequence[str] = (),
) -> DeploymentRecord:
    """Run release `commit` in `env` (blue/green, migrations, health and smoke gated), record it and write its facts.

    `after` names the environment it was promoted from (None for a rollback); `undo` runs when the release
    does not take the traffic. The release already running and answering there is left as it is. The facts
    name the person who asked for it (`actor`), the `approvals` (their keys) that let it through and the policy
    in force."""
    repo = ctx.repository()
    revision, tag, trace_id = _release_of(repo, commit)
    current = ctx.control.deployment(ctx.tenant, ctx.product, env)
    if current is not None and _running(current, commit):
        return current
    started = now()
    try:
        service = swap(
            ctx, current, commit, trace_id, revision, env, smoke_rounds=max(1, smoke_rounds), rolled_back=rolled_back
        )
    except FactoryError:
        if undo is not None:
            undo()
        raise
    facts = ctx.workspace.facts(trace_id)
    BuildRecorder(facts).promotion(
        revision, commit, tag, env, service.url, "running", started, now(), after,
        requested_by=actor, approvals=approvals, policy=(ctx.tenant, policy_text(ctx.home, ctx.tenant)),
    )  # fmt: skip
    ctx.workspace.save_environment_facts(env, facts)
    ctx.workspace.publish(ctx.graph(), trace_id)
    record = ctx.control.deployment(ctx.tenant, ctx.product, env)
    assert record is not None
    return record


def _one_at_a_time(ctx: StageContext, env: str) -> AbstractContextManager[None]:
    """One promotion or rollback of an environment at a time, across processes."""
    folder = ctx.home / "runtime" / "releases"
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(folder / f".{service_name(ctx.tenant, ctx.product, env)}.lock", what=f"{ctx.ref} {env}").exclusive()


def promote(ctx: StageContext, env: str, *, actor: str, smoke_rounds: int = SMOKE_ROUNDS) -> DeploymentRecord:
    """Promote the previous environment's commit to `env` and run it there (governed: prod needs an approval).

    `env/<env>` moves only once the release runs and passed its checks; a failed one is audited as failed."""
    source = previous_env(env)
    with _one_at_a_time(ctx, env):
        governance.promote(
            ctx.control,
            ctx.repository(),
            env,
            actor=actor,
            deploy=lambda commit: deploy(
                ctx, env, commit, after=source, smoke_rounds=smoke_rounds, actor=actor,
                approvals=_approvals(ctx, env, commit),
            ),
        )  # fmt: skip
    record = ctx.control.deployment(ctx.tenant, ctx.product, env)
    assert record is not None
    return record


def _approvals(ctx: StageContext, env: str, commit: str) -> list[str]:
    """The keys of the approvals a promotion of `commit` to `env` takes: each person's latest decision, if approved."""
    latest = governance.latest_decisions(ctx.control, ctx.tenant, ctx.product, env, commit)
    return [_approval_key(r) for r in latest if r.decision == "approved"]


def _approval_key(record: ApprovalRecord) -> str:
    return f"decision-{record.id}"


def record_approval(ctx: StageContext, record: ApprovalRecord) -> str:
    """Write a person's decision on a promotion into the product's graph (kept through every later build): an
    approval activity of that person, under the policy in force now, on the release of the decided commit."""
    revision, tag, trace_id = _release_of(ctx.repository(), record.commit)
    facts = ctx.workspace.facts(trace_id)
    key = _approval_key(record)
    at = record.at if record.at.tzinfo else record.at.replace(tzinfo=dt.UTC)
    approval = BuildRecorder(facts).approval(
        key, revision, record.commit, tag, record.env, record.decision, record.reason, record.actor,
        (ctx.tenant, policy_text(ctx.home, ctx.tenant)), at,
    )  # fmt: skip
    ctx.workspace.save_governance_facts(key, facts)
    ctx.workspace.publish(ctx.graph(), trace_id)
    return approval


def _previous(control_releases: list[EnvironmentRelease], commit: str) -> EnvironmentRelease | None:
    """The newest release before the running one that a rollback did not take back, of another commit."""
    return next((r for r in control_releases if r.status == "replaced" and r.commit != commit), None)


def _copy_database(database: Path, target: Path) -> None:
    """A consistent copy of a service's SQLite database, even while the service writes to it."""
    source, copy = sqlite3.connect(database), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()


def _schema_step(ctx: StageContext, env: str, running: Path, previous: Path, what: str) -> tuple[str, str] | None:
    """What the database must be taken down to for `previous` (revision, and the head to go back up to), or
    None when its schema is the one the previous release needs. Refused when no downgrade can get there; the
    downgrade is tried on a copy of the database first."""
    runtime = ctx.runtime()
    name = service_name(ctx.tenant, ctx.product, env)
    old_head, new_head = schema.head(previous), schema.head(running)
    if new_head is None or old_head == new_head:
        return None  # the running release changed no schema through migrations
    if old_head is None:
        raise RollbackRefused(
            f"cannot roll back {what}: that release carries no migrations, so the schema cannot be taken back to "
            "it; nothing was changed: release a fix instead"
        )
    database = runtime.data_dir(name) / "service.db"
    at = schema.current(running, runtime.database_url(name)) if database.exists() else None
    if at == old_head:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        trial = Path(scratch) / "service.db"
        if database.exists():
            _copy_database(database, trial)
        try:
            schema.downgrade(running, f"sqlite:///{trial}", old_head)
        except schema.MigrationError as error:
            last = str(error).rsplit(" | ", 1)[-1].strip()[-200:]
            raise RollbackRefused(
                f"cannot roll back {what}: the schema at {at} has no downgrade to {old_head} ({last}); "
                "nothing was changed: release a fix instead"
            ) from None
    return old_head, new_head


def rollback(ctx: StageContext, env: str, *, actor: str, smoke_rounds: int = SMOKE_ROUNDS) -> DeploymentRecord:
    """Return `env` to the release it ran before the current one: its schema (the running release's downgrade)
    and its code, health and smoke gated; `env/<env>` follows. Refused, with nothing changed, when there is no
    earlier release or the schema cannot be taken back; a previous release that fails to start leaves the
    current one running on its own schema."""
    if env not in PROMOTED:
        raise InvalidInputError(
            f"cannot roll back {str(env)[:40]!r}: roll back one of {', '.join(PROMOTED)} (dev follows the builds)"
        )
    with _one_at_a_time(ctx, env):
        return _rollback(ctx, env, actor=actor, smoke_rounds=smoke_rounds)


def _rollback(ctx: StageContext, env: str, *, actor: str, smoke_rounds: int) -> DeploymentRecord:
    control, ref = ctx.control, ctx.ref

    def refuse(why: str) -> RollbackRefused:
        detail = f"{env}: {why}"
        control.audit("rollback", "refused", tenant=ref.tenant, product=ref.product, actor=actor, detail=detail)
        return RollbackRefused(why)

    current = control.deployment(ref.tenant, ref.product, env)
    if current is None or current.status != "running" or not current.commit or not current.workdir:
        raise refuse(f"{ref} has no running release in {env} to roll back")
    target = _previous(control.releases(ref.tenant, ref.product, env), current.commit)
    if target is None:
        raise refuse(f"{ref} has no earlier release in {env} to return to")
    what = f"{ref} {env} to {target.commit[:7]} (revision {target.revision})"
    running = Path(current.workdir)
    previous = release_dir(ctx, target.commit, env)
    if previous.exists():
        shutil.rmtree(previous)
    ctx.repository().export(target.commit, previous)
    try:
        step = _schema_step(ctx, env, running, previous, what)
    except RollbackRefused as refused:
        raise refuse(str(refused)) from None
    database_url = ctx.runtime().database_url(service_name(ctx.tenant, ctx.product, env))
    try:
        if step is not None:
            schema.downgrade(running, database_url, step[0])
        give_back = None if step is None else (lambda: schema.upgrade(running, database_url, step[1]))
        # a previous release that does not start leaves the current one the traffic: its schema goes back up
        record = deploy(
            ctx, env, target.commit, after=None, smoke_rounds=smoke_rounds, rolled_back=True, undo=give_back,
            actor=actor,
        )  # fmt: skip
        ctx.repository().promote(env, commit=target.commit)
    except FactoryError as error:
        control.audit("rollback", "failed", tenant=ref.tenant, product=ref.product, actor=actor,
                      detail=f"{env} to {target.commit[:7]}: {error}"[:2000])  # fmt: skip
        raise
    schema_note = f", schema {step[1]} -> {step[0]}" if step is not None else ""
    control.audit("rollback", "ok", tenant=ref.tenant, product=ref.product, actor=actor,
                  detail=f"{env} from {current.commit[:7]} to {target.commit[:7]}{schema_note}")  # fmt: skip
    return record
