"""The commands of the access policy in force and of the audit trail."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer

from infra.access import ACTIONS, Resource, decide, missing_role, policy_text, set_policy
from infra.accounts import Accounts
from ontology.errors import FactoryError, InvalidInputError
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
    action: Annotated[str, typer.Option("--action", help=f"One of: {', '.join(ACTIONS)}.")],
    account: Annotated[str | None, typer.Option("--as", help="The account to ask for (not for use_pack).")] = None,
    product: Annotated[str | None, typer.Option("--product", help="tenant/product, or a tenant with --tenant.")] = None,
    tenant: TenantOpt = None,
    env: Annotated[str, typer.Option("--env", help="Target environment (approve, promote).")] = "",
    pack: Annotated[
        str | None, typer.Option("--pack", help="use_pack: the pack version asked about, as name@version.")
    ] = None,
    publisher: Annotated[str, typer.Option("--publisher", help="use_pack: the publisher that signed it.")] = "",
    key: Annotated[str, typer.Option("--key", help="use_pack: the publisher's public key (ed25519:...).")] = "",
) -> None:
    """Ask the policy in force whether an account may do an action (exit 0: allowed, 1: denied).

    With `--action use_pack --pack name@version --tenant t`, ask whether the tenant trusts a template pack: a
    pack not installed yet is described by `--publisher` and `--key` (neither: unsigned); an installed or
    built-in one is taken as it is unless they are given."""
    ref = ProductRef.parse(product, tenant=tenant) if product else None
    resource = Resource.of(ref, env=env) if ref else Resource(None if tenant is None else check_slug(tenant, "tenant"))
    if action == "use_pack" or pack is not None:
        _test_pack(action, resource.tenant, pack, publisher, key, account)
        return
    if account is None:
        raise InvalidInputError(f"name the account to ask for {action}: --as <account>")
    who = allowed("policy", Resource.scope(resource.tenant))
    accounts = Accounts(who.control)
    principal = accounts.principal(accounts.user(check_slug(account, "account name")))
    decision = decide(principal, action, resource, who.home)
    _verdict(f"{account} {action} {resource.describe()}", decision.allowed,
             decision.reasons or (missing_role(principal, action, resource),))  # fmt: skip


def _verdict(what: str, allowed: bool, reasons: tuple[str, ...]) -> None:
    console.print(f"{'allow' if allowed else 'deny'}: {what}", highlight=False)
    for reason in reasons:
        console.print(f"  because {reason}", highlight=False)
    if not allowed:
        raise typer.Exit(1)


def _test_pack(
    action: str, tenant: str | None, pack: str | None, publisher: str, key: str, account: str | None
) -> None:
    """`policy test` of a pack use: the tenant (not a person) asks whether its policy trusts the pack."""
    if action != "use_pack" or pack is None or tenant is None:
        raise InvalidInputError("ask about a pack with --action use_pack --pack name@version --tenant <tenant>")
    if account is not None:
        raise InvalidInputError("a pack use is the tenant's question, not an account's: leave out --as")
    from generators.pack_integrity import check_publisher, read_public_key
    from generators.packs import PACK_NAME, load_pack, parse_version
    from infra.pack_trust import pack_decision
    from ontology.packs import PackSeal

    name, sep, version = pack.partition("@")
    if not sep or not PACK_NAME.match(name):
        raise InvalidInputError(f"{pack[:60]!r} names no pack version: use name@version, e.g. mini-api@1.0.0")
    parse_version(version)
    if publisher or key:
        if not (publisher and key):
            raise InvalidInputError("a signed pack has both a publisher and a key: give --publisher and --key")
        seal = PackSeal(name, version, publisher=check_publisher(publisher), key=read_public_key(key))
    else:
        try:
            seal = load_pack(name, version).sealed
        except FactoryError:  # not installed (or refused as it is): described as an unsigned pack
            seal = PackSeal(name, version)
    who = allowed("policy", Resource.scope(tenant))
    decision = pack_decision(who.home, tenant, seal)
    reasons = decision.reasons or (f"no policy of {tenant} permits use_pack of this pack",)
    _verdict(f"tenant {tenant} use_pack {name} {version} ({seal.describe()})", decision.allowed, reasons)


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
