"""Governance of promotions: prod takes only a commit a person approved, and every decision is audited."""

from __future__ import annotations

from collections.abc import Callable

from infra.control import ControlPlane
from infra.gitops import ProductRepository, previous_env
from infra.records import ApprovalRecord
from ontology.errors import FactoryError

__all__ = ["APPROVAL_REQUIRED", "GovernanceError", "approve", "latest_decisions", "promote"]

APPROVAL_REQUIRED = frozenset({"prod"})


class GovernanceError(FactoryError):
    """A promotion the factory's rules do not allow (yet)."""


def promote(
    control: ControlPlane,
    repo: ProductRepository,
    env: str,
    *,
    actor: str,
    deploy: Callable[[str], object] | None = None,
) -> str:
    """Promote the previous environment's commit to `env`; prod needs an approval of exactly that commit.

    `deploy(commit)` runs once the promotion is allowed and before `env/<env>` moves: when it fails, the
    branch stays where it was and the failure is audited."""
    where = f"{repo.tenant}/{repo.product}"
    previous = previous_env(env)
    commit = repo.env_head(previous)
    if commit is None:
        _audit(control, repo, "promote", "refused", actor, f"{env}: env/{previous} is empty")
        raise GovernanceError(f"nothing to promote to {env}: env/{previous} of {where} is empty; get it there first")
    approval = control.approval_for(repo.tenant, repo.product, env, commit) if env in APPROVAL_REQUIRED else None
    if env in APPROVAL_REQUIRED and (approval is None or approval.decision != "approved"):
        why = "no approval" if approval is None else f"rejected by {approval.actor}: {approval.reason}"
        asked = {"env": env, "commit": commit, "actor": actor}
        requested = ("promotion.requested", asked) if approval is None else None
        control.audit("promote", "refused", tenant=repo.tenant, product=repo.product, actor=actor,
                      detail=f"{env} at {commit[:7]}: {why}", event=requested)  # fmt: skip
        raise GovernanceError(
            f"{env} promotion of {where} at {commit[:7]} needs an approval ({why}): run "
            f'`factory approve {repo.tenant}/{repo.product} --env {env} --reason "..."`'
        )
    try:
        if deploy is not None:
            deploy(commit)
        promoted = repo.promote(env, commit=commit)
    except FactoryError as error:
        _audit(control, repo, "promote", "failed", actor, f"{env} at {commit[:7]}: {error}")
        raise
    note = f", approved by {approval.actor}" if approval is not None else ""
    _audit(control, repo, "promote", "ok", actor, f"{env} at {promoted[:7]}{note}")
    return promoted


def latest_decisions(control: ControlPlane, tenant: str, product: str, env: str, commit: str) -> list[ApprovalRecord]:
    """Each person's latest decision on promoting exactly `commit` of the product to `env`, oldest first."""
    latest: dict[str, ApprovalRecord] = {}
    for record in reversed(control.approvals(tenant)):  # oldest first: each person's last decision wins
        if (record.product, record.env, record.commit) == (product, env, commit):
            latest.pop(record.actor, None)
            latest[record.actor] = record
    return list(latest.values())


def approve(
    control: ControlPlane, repo: ProductRepository, env: str, decision: str, reason: str, actor: str
) -> ApprovalRecord:
    """Record a decision on the commit that would be promoted to `env` next (the previous environment's head)."""
    previous = previous_env(env)
    commit = repo.env_head(previous)
    if commit is None:
        raise GovernanceError(
            f"nothing to approve for {env}: env/{previous} of {repo.tenant}/{repo.product} is empty; get it there first"
        )
    record = control.decide(repo.tenant, repo.product, env, commit, decision, reason, actor)
    action = "approve" if decision == "approved" else "reject"
    _audit(control, repo, action, "ok", actor, f"{env} at {commit[:7]}: {record.reason}")
    return record


def _audit(control: ControlPlane, repo: ProductRepository, action: str, outcome: str, actor: str, detail: str) -> None:
    control.audit(action, outcome, tenant=repo.tenant, product=repo.product, actor=actor, detail=detail)
