"""OpenID Connect sign-in: whether it is configured, and which factory roles a person's groups give.

The Studio signs people in through Streamlit's `st.login` when Streamlit's secrets hold an `[auth]`
section (any OIDC provider). What the provider says about the person (the claims of the identity token)
becomes a principal here: the account name from `preferred_username`, `email` or `sub`, and the roles
from a groups claim, mapped by the factory's role map: a TOML file named by `FACTORY_OIDC_ROLE_MAP`, or
`$FACTORY_HOME/oidc-roles.toml`:

    claim = "groups"                     # the claim that lists the person's groups (default: groups)
    [groups]
    "acme-devs" = ["acme:builder"]
    "acme-leads" = ["acme:approver", "acme:viewer"]
    "platform" = ["factory-admin"]       # a factory admin, across tenants

A group the map does not name gives nothing; a person with no mapped group is signed in with no role.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.access import ROLES, AccessDenied, Principal
from ontology.errors import InvalidInputError
from ontology.refs import check_slug

__all__ = ["FACTORY_ADMIN", "RoleMap", "oidc_configured", "principal_from_claims", "role_map", "secrets_files"]

FACTORY_ADMIN = "factory-admin"
"""What a group maps to to make its members factory admins."""

_MAX_GROUPS = 1000
_NAME_CHARS = re.compile(r"[^A-Za-z0-9@._+-]")


def secrets_files(cwd: Path | None = None) -> list[Path]:
    """Where Streamlit reads its secrets (and so an `[auth]` section): the user's, then the working folder's."""
    return [Path.home() / ".streamlit" / "secrets.toml", (cwd or Path.cwd()) / ".streamlit" / "secrets.toml"]


def oidc_configured(files: list[Path] | None = None) -> bool:
    """Whether one of Streamlit's secrets files has an `[auth]` section (a file that cannot be read: no)."""
    for path in secrets_files() if files is None else files:
        try:
            secrets = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if isinstance(secrets.get("auth"), dict) and secrets["auth"]:
            return True
    return False


@dataclass(frozen=True)
class RoleMap:
    """Which factory roles each group of the identity provider gives."""

    claim: str = "groups"
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """group -> what it grants: `tenant:role` or `factory-admin`."""

    @classmethod
    def parse(cls, text: str, where: str = "the OIDC role map") -> RoleMap:
        """Read a role map from TOML text; anything it cannot grant is refused in one line."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise InvalidInputError(f"{where} is not valid TOML: {error}") from None
        claim = data.get("claim", "groups")
        if not isinstance(claim, str) or not claim.strip():
            raise InvalidInputError(f"{where}: `claim` must name the claim that lists the groups")
        table = data.get("groups", {})
        if not isinstance(table, dict):
            raise InvalidInputError(f'{where}: [groups] must be a table of group = ["tenant:role", ...]')
        groups: dict[str, tuple[str, ...]] = {}
        for group, grants in table.items():
            if isinstance(grants, str):
                grants = [grants]
            if not isinstance(grants, list) or not all(isinstance(g, str) for g in grants):
                raise InvalidInputError(f'{where}: group {group!r} must map to a list of "tenant:role"')
            groups[str(group)] = tuple(_check_grant(g, group, where) for g in grants)
        return cls(claim.strip(), groups)


def _check_grant(grant: str, group: str, where: str) -> str:
    grant = grant.strip()
    if grant == FACTORY_ADMIN:
        return grant
    tenant, _, role = grant.partition(":")
    if role not in ROLES:
        raise InvalidInputError(
            f'{where}: group {group!r} grants {grant[:60]!r}: use "tenant:role" with a role of '
            f"{', '.join(ROLES)}, or {FACTORY_ADMIN!r}"
        )
    return f"{check_slug(tenant, 'tenant')}:{role}"


def role_map(home: Path) -> RoleMap:
    """The factory's role map: the file FACTORY_OIDC_ROLE_MAP names, or `$FACTORY_HOME/oidc-roles.toml`;
    without one, no group grants anything."""
    named = os.environ.get("FACTORY_OIDC_ROLE_MAP", "").strip()
    path = Path(named) if named else home / "oidc-roles.toml"
    if not path.is_file():
        if named:
            raise InvalidInputError(f"FACTORY_OIDC_ROLE_MAP names {named[:200]}, which is not a file")
        return RoleMap()
    return RoleMap.parse(path.read_text(encoding="utf-8"), str(path))


def _groups(value: Any) -> list[str]:
    """The groups a claim lists: a list of names, or one name (some providers send a string)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value[:_MAX_GROUPS] if isinstance(v, str | int)]
    return []


def principal_from_claims(claims: Mapping[str, Any], roles: RoleMap) -> Principal:
    """The principal an identity provider signed in: named by its `preferred_username`, `email` or `sub`,
    with the roles its groups give under `roles` (kind `oidc`: it has no password and no token here)."""
    raw = next((claims[k] for k in ("preferred_username", "email", "sub") if isinstance(claims.get(k), str)), "")
    name = _NAME_CHARS.sub("_", " ".join(str(raw).split()))[:200]
    if not name.strip("_"):
        raise AccessDenied("the identity provider named no one (no preferred_username, email or sub claim)")
    granted: dict[str, set[str]] = {}
    admin = False
    for group in _groups(claims.get(roles.claim)):
        for grant in roles.groups.get(group, ()):
            if grant == FACTORY_ADMIN:
                admin = True
            else:
                tenant, _, role = grant.partition(":")
                granted.setdefault(tenant, set()).add(role)
    frozen = {tenant: frozenset(r) for tenant, r in sorted(granted.items())}
    return Principal(name=name, kind="oidc", factory_admin=admin, roles=frozen)
