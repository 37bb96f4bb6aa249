"""The commands of the access policy in force and of the audit trail."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer

from infra.access import ACTIONS, Resource, decide, missing_role, policy_text, set_policy
from infra.accounts import Accounts
from ontology.errors import InvalidInputError
from ontology.refs import ProductRef, check_slug
from studio.access_commands import JsonOpt, TenantOpt, allowed
from studio.output import console, error, print_json, print_table

__all__ = ["audit_app", "policy_app"]

policy_app = typer.Typer(help="The access policy in force (Cedar), per tenant.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail: every state change, chained by hashes.", no_args_is_help=True)


# policy --------------------------------------------------------------------------------------


@policy_app.command("show")
def policy_show(tenant: TenantOpt = None) -> None:
    """Print the policy in force: the factory default, and the tenant's own file if it has one."""
    who = allowed("read", Resource.scope(tenant))
    print(policy_text(who.home, tenant), end="")


@policy_app.command("test")
def policy_test(
    account: Annotated[str, typer.Option("--as", help="The account to ask for.")],
    action: Annotated[str, typer.Option("--action", help=f"One of: {', '.join(ACTIONS)}.")],
    product: Annotated[str | None, typer.Option("--product", help="tenant/product, or a tenant with --tenant.")] = None,
    tenant: TenantOpt = None,
    env: Annotated[str, typer.Option("--env", help="Target environment (approve, promote).")] = "",
) -> None:
    """Ask the policy in force whether an account may do an action (exit 0: allowed, 1: denied)."""
    ref = ProductRef.parse(product, tenant=tenant) if product else None
    resource = Resource.of(ref, env=env) if ref else Resource(None if tenant is None else check_slug(tenant, "tenant"))
    who = allowed("policy", Resource.scope(resource.tenant))
    accounts = Accounts(who.control)
    principal = accounts.principal(accounts.user(check_slug(account, "account name")))
    decision = decide(principal, action, resource, who.home)
    verdict = "allow" if decision.allowed else "deny"
    console.print(f"{verdict}: {account} {action} {resource.describe()}", highlight=False)
    for reason in decision.reasons or (missing_role(principal, action, resource),):
        console.print(f"  because {reason}", highlight=False)
    if not decision.allowed:
        raise typer.Exit(1)


@policy_app.command("set")
def policy_set(
    file: Annotated[Path, typer.Argument(help="A Cedar policy file.")],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant it applies to.")],
) -> None:
    """Check a tenant's policy against the schema and put it in force (it adds to the factory default)."""
    check_slug(tenant, "tenant")
    if not file.is_file():
        raise InvalidInputError(f"no such file: {file}")
    text = file.read_text(encoding="utf-8", errors="strict")
    who = allowed("policy", Resource.scope(tenant))
    target = set_policy(who.home, tenant, text)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    from graph import KnowledgeGraph  # the graph's engines load only for this command
    from graph.decisions import record_policy

    in_force = policy_text(who.home, tenant)
    detail = f"sha256 {digest}…, in force sha256 {hashlib.sha256(in_force.encode()).hexdigest()}"
    who.control.audit("policy.set", "ok", tenant=tenant, actor=who.name, detail=detail)
    version = record_policy(KnowledgeGraph(who.home, embedder=None), tenant, in_force, text, who.name)
    console.print(f"policy of {tenant} set: version {version} ({target})", highlight=False)


# audit ---------------------------------------------------------------------------------------


@audit_app.command("list")
def audit_list(
    tenant: TenantOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="The newest this many.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The newest audit entries first: time, actor, action, outcome, product, detail and hash."""
    who = allowed("read", Resource.scope(tenant))
    events = who.control.audit_log(tenant, limit=limit)
    rows = [
        {"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "outcome": e.outcome, "tenant": e.tenant,
         "product": e.product, "detail": e.detail, "hash": e.hash, "prev_hash": e.prev_hash}
        for e in events
    ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    table = [
        [e.id, f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.action, e.outcome, f"{e.tenant}/{e.product}" if e.product
         else e.tenant, e.detail] for e in events
    ]  # fmt: skip
    print_table(["id", "at", "actor", "action", "outcome", "product", "detail"], table)


@audit_app.command("verify")
def audit_verify(as_json: JsonOpt = False) -> None:
    """Recompute the audit chain; report the first altered or missing entry (exit 1), or its head hash."""
    who = allowed("read", Resource.scope(None))
    verdict = who.control.verify_audit()
    if as_json:
        print_json({"ok": verdict.ok, "entries": verdict.entries, "unchained": verdict.unchained,
                    "head": verdict.head, "broken_at": verdict.broken_at, "problem": verdict.problem})  # fmt: skip
    elif verdict.ok:
        older = f" ({verdict.unchained} older entries before the chain)" if verdict.unchained else ""
        console.print(f"the audit chain holds: {verdict.entries} entries{older}, head {verdict.head}", highlight=False)
    if not verdict.ok:
        if not as_json:
            error(f"the audit chain is broken: {verdict.problem}")
        raise typer.Exit(1)
