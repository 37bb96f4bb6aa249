"""Who runs a command, and the commands of accounts, API tokens and signing in.

Every command that changes state (or reads a tenant's data) first asks `signed_in()` who is asking
(`FACTORY_TOKEN`, else the token `factory login` stored, else the local admin of a home without any
account) and then `authorize`s exactly one action on one resource.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from infra.access import (
    AccessDenied,
    Principal,
    Resource,
    authorize,
)
from infra.accounts import Accounts, credentials_path, parse_role
from infra.control import ControlPlane
from ontology.config import factory_home
from ontology.errors import InvalidInputError
from ontology.refs import check_slug
from studio.output import console, print_json, print_table

__all__ = [
    "JsonOpt",
    "SignedIn",
    "TenantOpt",
    "allowed",
    "first_admin",
    "login",
    "logout",
    "signed_in",
    "tokens_app",
    "users_app",
]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
TenantOpt = Annotated[str | None, typer.Option("--tenant", "-t", help="The tenant (default: the whole factory).")]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]

users_app = typer.Typer(help="Accounts: people and service accounts, and their roles per tenant.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens of accounts: shown once, stored hashed, expiring.", no_args_is_help=True)

_LOCAL_NOTE = ".local-admin-noted"


@dataclass(frozen=True)
class SignedIn:
    """Who runs this command, and the control database and home it acts on."""

    principal: Principal
    control: ControlPlane
    home: Path

    @property
    def name(self) -> str:
        return self.principal.name

    def allow(self, action: str, resource: Resource) -> None:
        """Go on if the policy allows it; else one line (AccessDenied), audited, nothing changed."""
        authorize(self.principal, action, resource, home=self.home, control=self.control)

    def tenants(self, tenant: str | None) -> list[str] | None:
        """The tenants a listing shows: the one asked for (if readable), else all (None) or the principal's own."""
        if tenant is not None:
            self.allow("read", Resource.scope(tenant))
            return [tenant]
        return None if self.principal.factory_admin else self.principal.tenants()


def _stored_token(home: Path) -> str | None:
    """The token `factory login` stored; a file that others may read is refused, not used."""
    path = credentials_path(home)
    if not path.is_file():
        return None
    if path.stat().st_mode & 0o077:
        raise AccessDenied(f"{path} can be read by others: run `chmod 600 {path}`, or sign in again")
    return path.read_text(encoding="utf-8").strip() or None


def signed_in(control: ControlPlane | None = None) -> SignedIn:
    """Who is asking; on a home without accounts, the local admin (said once per home, on stderr)."""
    home = factory_home()
    control = control or ControlPlane(None, home)
    token = os.environ.get("FACTORY_TOKEN", "").strip() or _stored_token(home)
    principal = Accounts(control).signed_in(token)
    if principal.local and not (home / _LOCAL_NOTE).exists():
        print(
            f"note: this factory home has no accounts: you act as its local admin ({principal.name}); "
            "`factory users add NAME --factory-admin` creates the first account",
            file=sys.stderr,
        )
        (home / _LOCAL_NOTE).touch()
    return SignedIn(principal, control, home)


def allowed(action: str, resource: Resource) -> SignedIn:
    """`signed_in()`, then `allow(action, resource)`."""
    who = signed_in()
    who.allow(action, resource)
    return who


def _store_token(home: Path, token: str) -> Path:
    path = credentials_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(token + "\n")
    return path


def _read_password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise InvalidInputError("no password on standard input: write it as the first line")
    return line


def first_admin(control: ControlPlane, home: Path) -> None:
    """On a home without accounts: create `admin` (password from FACTORY_ADMIN_PASSWORD, or printed once)
    and sign this machine's command line in as it."""
    accounts = Accounts(control)
    if accounts.any():
        return
    given = os.environ.get("FACTORY_ADMIN_PASSWORD") or None
    password = given or secrets.token_urlsafe(15)
    accounts.add_user("admin", actor="factory up", password=password, factory_admin=True)
    token, _record = accounts.create_token("admin", actor="factory up", days=30, label="factory up")
    _store_token(home, token)
    shown = "from FACTORY_ADMIN_PASSWORD" if given else f"{password}  (shown once: keep it)"
    console.print(f"first admin  admin, password {shown}", highlight=False)
    console.print("             the command line on this machine is signed in as admin (`factory logout` ends it)")


# accounts ------------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The account's name (lowercase letters, digits, hyphens).")],
    role: Annotated[list[str] | None, typer.Option("--role", "-r", help="tenant:role, e.g. acme:builder.")] = None,
    service: Annotated[bool, typer.Option("--service", help="A service account: tokens only, no password.")] = False,
    factory_admin: Annotated[bool, typer.Option("--factory-admin", help="Admin of every tenant.")] = False,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Create an account with its roles; a person's password is read from stdin or generated and shown once."""
    check_slug(name, "account name")
    roles = [parse_role(r) for r in role or []]
    who = signed_in()
    tenants = sorted({t for t, _ in roles})
    for resource in [Resource.scope(t) for t in tenants] if tenants and not factory_admin else [Resource.scope(None)]:
        who.allow("members", resource)
    accounts = Accounts(who.control)
    first = not accounts.any()
    if first and not factory_admin:
        raise InvalidInputError("the first account must be a factory admin: pass --factory-admin")
    password = None if service else _read_password(password_stdin)
    generated = not service and password is None
    password = secrets.token_urlsafe(15) if generated else password
    accounts.add_user(name, actor=who.name, kind="service" if service else "user", password=password,
                      factory_admin=factory_admin, roles=roles)  # fmt: skip
    console.print(f"added {'service account' if service else 'user'} {name}", highlight=False)
    if generated:
        console.print(f"password {password}  (shown once: keep it)", highlight=False)
    if first:
        console.print(f"this home has accounts now: sign in with `factory login {name}`", highlight=False)


@users_app.command("grant")
def users_grant(
    name: Annotated[str, typer.Argument(help="The account.")],
    role: Annotated[str, typer.Option("--role", "-r", help="tenant:role, e.g. acme:approver.")],
) -> None:
    """Give an account a role in a tenant."""
    tenant, checked = parse_role(role)
    who = allowed("members", Resource.scope(tenant))
    Accounts(who.control).grant(check_slug(name, "account name"), tenant, checked, actor=who.name)
    console.print(f"{name} is {checked} of {tenant}", highlight=False)


@users_app.command("list")
def users_list(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Accounts and their roles (of one tenant with --tenant)."""
    who = allowed("members", Resource.scope(tenant))
    accounts = Accounts(who.control)
    roles: dict[str, list[str]] = {}
    for m in accounts.memberships(tenant=tenant):
        roles.setdefault(m.user, []).append(f"{m.tenant}:{m.role}")
    users = [u for u in accounts.users() if tenant is None or u.name in roles]
    if as_json:
        print_json([{"name": u.name, "kind": u.kind, "factory_admin": u.factory_admin, "disabled": u.disabled,
                     "roles": roles.get(u.name, [])} for u in users])  # fmt: skip
        return
    rows = [[u.name, u.kind, u.factory_admin, u.disabled, " ".join(roles.get(u.name, []))] for u in users]
    print_table(["name", "kind", "factory admin", "disabled", "roles"], rows)


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="The account.")]) -> None:
    """Disable an account: it cannot sign in, and its tokens stop working."""
    who = allowed("members", Resource.scope(None))
    if name == who.name:
        raise InvalidInputError("you cannot disable your own account: ask another factory admin")
    Accounts(who.control).disable(check_slug(name, "account name"), actor=who.name)
    console.print(f"disabled {name}", highlight=False)


# tokens --------------------------------------------------------------------------------------


def _token_resource(who: SignedIn, account: str) -> Resource:
    """Tokens of oneself; of an account of one tenant, that tenant's admins; else the factory admin's."""
    tenants = {m.tenant for m in Accounts(who.control).memberships(account)}
    tenant = next(iter(tenants)) if len(tenants) == 1 and account != who.name else None
    return Resource(tenant=tenant, subject=account)


@tokens_app.command("create")
def tokens_create(
    account: Annotated[str | None, typer.Argument(help="The account (default: yours).")] = None,
    days: Annotated[int, typer.Option("--days", help="Days until it expires (1-366).")] = 90,
    label: Annotated[str, typer.Option("--label", help="What it is for.")] = "",
) -> None:
    """Create an API token; it is printed once (use it as FACTORY_TOKEN), only its hash is kept."""
    who = signed_in()
    name = check_slug(account or who.name, "account name")
    who.allow("tokens", _token_resource(who, name))
    token, record = Accounts(who.control).create_token(name, actor=who.name, days=days, label=label)
    console.print(f"token {record.id} of {name}, expires {record.expires_at:%Y-%m-%d}; shown once:", highlight=False)
    print(token)


@tokens_app.command("list")
def tokens_list(
    account: Annotated[str | None, typer.Argument(help="The account (default: yours).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Tokens of an account: id, label, created, expires, revoked, last used (never the token)."""
    who = signed_in()
    name = check_slug(account or who.name, "account name")
    who.allow("tokens", _token_resource(who, name))
    rows = [
        {"id": t.id, "account": t.user, "label": t.label, "created": t.created_at, "expires": t.expires_at,
         "revoked": t.revoked_at, "last_used": t.last_used_at}
        for t in Accounts(who.control).tokens(name)
    ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    print_table(list(rows[0]) if rows else ["tokens"], [list(r.values()) for r in rows])


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="The token's id (see `factory tokens list`).")]) -> None:
    """Revoke a token: it stops working at once."""
    who = signed_in()
    accounts = Accounts(who.control)
    who.allow("tokens", _token_resource(who, accounts.token(token_id).user))
    record = accounts.revoke(token_id, actor=who.name)
    console.print(f"revoked token {token_id} of {record.user}", highlight=False)


def login(
    name: Annotated[str, typer.Argument(help="Your account's name.")],
    password_stdin: PasswordStdinOpt = False,
    days: Annotated[int, typer.Option("--days", help="Days the sign-in lasts (1-366).")] = 30,
) -> None:
    """Sign the command line in: a token is stored under the factory home, readable by you only."""
    home = factory_home()
    accounts = Accounts(ControlPlane(None, home))
    check_slug(name, "account name")
    password = _read_password(True) or "" if password_stdin else str(typer.prompt("password", hide_input=True))
    user = accounts.sign_in(name, password)
    token, record = accounts.create_token(user.name, actor=user.name, days=days, label="login")
    path = _store_token(home, token)
    console.print(f"signed in as {user.name} until {record.expires_at:%Y-%m-%d} (token in {path})", highlight=False)


def logout() -> None:
    """Sign the command line out: its stored token is revoked and removed."""
    home = factory_home()
    token = _stored_token(home)
    if token is None:
        console.print("not signed in")
        return
    try:
        who = signed_in()
        Accounts(who.control).forget(token, actor=who.name)
    except AccessDenied:
        pass  # an expired or revoked token: removing it is all that is left to do
    credentials_path(home).unlink(missing_ok=True)
    console.print("signed out")
