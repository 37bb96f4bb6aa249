"""The factory's one trust decision: `authorize(principal, action, resource)`, decided by Cedar policies.

The policy in force for a resource is the factory default shipped with the package
(`infra/policies/factory.cedar`) plus, for a tenant's resources, the tenant's own file under the factory
home (`$FACTORY_HOME/policies/<tenant>.cedar`), checked against `infra/policies/schema.cedarschema`.
A tenant's file can allow more or forbid more within its tenant; it cannot lift a forbid of the default.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cedarpy

from ontology.errors import FactoryError, InvalidInputError
from ontology.packs import PackSeal
from ontology.refs import ProductRef, check_slug

if TYPE_CHECKING:
    from infra.control import ControlPlane

__all__ = [
    "ACTIONS",
    "ROLES",
    "AccessDenied",
    "Decision",
    "Principal",
    "Resource",
    "approvals_of",
    "authorize",
    "decide",
    "missing_role",
    "policy_file",
    "policy_text",
    "revision_authors",
    "set_policy",
]

ROLES = ("viewer", "builder", "approver", "admin")
ACTIONS = (
    "read", "build", "rebuild", "stop", "promote", "rollback", "service_token", "approve", "reject", "import",
    "delete", "members", "tokens", "policy", "webhooks", "telemetry", "use_pack",
)  # fmt: skip
_PHRASES = {
    "members": "manage the members of",
    "tokens": "manage tokens in",
    "policy": "change the policy of",
    "import": "import into",
    "delete": "delete from",
    "rollback": "roll back",
    "service_token": "get a service token for",
    "webhooks": "manage the webhooks of",
    "telemetry": "send the telemetry of",
    "use_pack": "render with",
}
"""How a refusal names the actions that are not verbs of their own."""
_POLICIES = Path(__file__).with_name("policies")
_MAX_POLICY_CHARS = 100_000


class AccessDenied(FactoryError):
    """The principal may not do this (or is not signed in); nothing was changed."""


@dataclass(frozen=True)
class Principal:
    """Who asks: an account with its roles per tenant, or the local admin of a home without accounts."""

    name: str
    kind: str = "user"
    """user, service, or local (the local admin of a home without any account)."""
    factory_admin: bool = False
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def local(self) -> bool:
        return self.kind == "local"

    def tenants(self) -> list[str]:
        """The tenants the principal is a member of."""
        return sorted(tenant for tenant, roles in self.roles.items() if roles)


@dataclass(frozen=True)
class Resource:
    """What an action is done to: the whole factory, a tenant, or a product (in an environment)."""

    tenant: str | None = None
    product: str | None = None
    env: str = ""
    authors: frozenset[str] = frozenset()
    """Who submitted or built the revision an approval is about (separation of duties)."""
    subject: str = ""
    """The account an account or token change is about."""
    approvals: int = 0
    """How many people approved the commit a promotion would take (a tenant policy may want two for prod)."""
    pack: PackSeal | None = None
    """The template pack a `use_pack` decision is about (the tenant's policy decides whether it trusts it)."""

    @classmethod
    def of(
        cls, ref: ProductRef, *, env: str = "", authors: frozenset[str] = frozenset(), approvals: int = 0
    ) -> Resource:
        return cls(ref.tenant, ref.product, env, authors, approvals=approvals)

    @classmethod
    def scope(cls, tenant: str | None) -> Resource:
        """A tenant, or (None) the whole factory."""
        return cls(None if tenant is None else check_slug(tenant, "tenant"))

    def describe(self) -> str:
        if self.pack is not None:
            return f"pack {self.pack.name} {self.pack.version} in {self.tenant}"
        where = "the factory" if self.tenant is None else self.tenant
        where = f"{self.tenant}/{self.product}" if self.product else where
        return f"{where} ({self.env})" if self.env else where

    def _uid(self) -> str:
        if self.pack is not None:
            return f"Factory::Pack::{json.dumps(f'{self.pack.name}@{self.pack.version}')}"
        if self.tenant is None:
            return 'Factory::Factory::"factory"'
        if self.product is None:
            return f"Factory::Tenant::{json.dumps(self.tenant)}"
        return f"Factory::Product::{json.dumps(f'{self.tenant}/{self.product}')}"


@dataclass(frozen=True)
class Decision:
    """Cedar's answer and the reasons (the `@reason` of each policy that decided it)."""

    allowed: bool
    reasons: tuple[str, ...]


def policy_file(home: Path, tenant: str) -> Path:
    """Where a tenant's own policy lives under the factory home."""
    return home / "policies" / f"{check_slug(tenant, 'tenant')}.cedar"


def policy_text(home: Path, tenant: str | None) -> str:
    """The policy in force for `tenant` (or the factory): the default, then the tenant's file if it has one."""
    text = (_POLICIES / "factory.cedar").read_text(encoding="utf-8")
    if tenant is not None and policy_file(home, tenant).is_file():
        text += f"\n// ---- the policy of tenant {tenant} ----\n" + policy_file(home, tenant).read_text(
            encoding="utf-8"
        )
    return text


def set_policy(home: Path, tenant: str, text: str) -> Path:
    """Check a tenant's policy against the schema and store it (replacing the previous one)."""
    if len(text) > _MAX_POLICY_CHARS:
        raise InvalidInputError(f"the policy has {len(text)} characters: keep it under {_MAX_POLICY_CHARS}")
    _check_policy(text)
    target = policy_file(home, tenant)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".cedar.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)
    return target


def _check_policy(text: str) -> None:
    result = cedarpy.validate_policies(text, _schema())
    if not result.validation_passed:
        first = str(result.errors[0]).splitlines()[0] if result.errors else "it does not parse"
        raise InvalidInputError(f"the policy is not valid: {first[:300]}")


@cache
def _schema() -> str:
    return (_POLICIES / "schema.cedarschema").read_text(encoding="utf-8")


def decide(principal: Principal, action: str, resource: Resource, home: Path) -> Decision:
    """Ask Cedar whether `principal` may do `action` to `resource` under the policy in force; changes nothing."""
    if action not in ACTIONS:
        raise InvalidInputError(f"unknown action {action[:40]!r}: use one of {', '.join(ACTIONS)}")
    policies = policy_text(home, resource.tenant)
    roles = sorted(principal.roles.get(resource.tenant, ())) if resource.tenant else []
    request = {
        "principal": f"Factory::User::{json.dumps(principal.name)}",
        "action": f'Factory::Action::"{action}"',
        "resource": resource._uid(),
        "context": {"roles": roles, "env": resource.env, "authors": sorted(resource.authors),
                    "subject": resource.subject, "approvals": resource.approvals},
    }  # fmt: skip
    entities: list[dict[str, Any]] = [
        {
            "uid": {"type": "Factory::User", "id": principal.name},
            "attrs": {"name": principal.name, "factory_admin": principal.factory_admin, "local": principal.local},
            "parents": [],
        }
    ]
    if resource.product is not None:
        uid = {"type": "Factory::Product", "id": f"{resource.tenant}/{resource.product}"}
        entities.append({"uid": uid, "attrs": {"tenant": resource.tenant}, "parents": []})
    if resource.pack is not None:
        entities.append(_pack_entity(resource.pack))
    result = cedarpy.is_authorized(request, policies, entities)
    if result.diagnostics.errors:
        raise FactoryError(f"the policy in force could not be evaluated: {result.diagnostics.errors[0]}")
    notes = _annotations(policies)
    return Decision(bool(result.allowed), tuple(notes.get(p, p) for p in result.diagnostics.reasons))


def _pack_entity(pack: PackSeal) -> dict[str, Any]:
    """A template pack as a tenant's policy sees it: the `Factory::Pack` entity of action `use_pack`."""
    attrs = {"name": pack.name, "version": pack.version, "publisher": pack.publisher, "key": pack.key,
             "signed": pack.signed, "builtin": pack.builtin}  # fmt: skip
    return {"uid": {"type": "Factory::Pack", "id": f"{pack.name}@{pack.version}"}, "attrs": attrs, "parents": []}


def authorize(
    principal: Principal, action: str, resource: Resource, *, home: Path, control: ControlPlane | None = None
) -> Decision:
    """Allow, or raise AccessDenied with one line that says why; a refusal is written to the audit chain."""
    decision = decide(principal, action, resource, home)
    if decision.allowed:
        return decision
    why = decision.reasons[0] if decision.reasons else missing_role(principal, action, resource)
    message = f"{principal.name} may not {_PHRASES.get(action, action)} {resource.describe()}: {why}"
    if control is not None:
        control.audit(action, "refused", tenant=resource.tenant, product=resource.product, actor=principal.name,
                      detail=message)  # fmt: skip
    raise AccessDenied(message)


def missing_role(principal: Principal, action: str, resource: Resource) -> str:
    """Why nothing allowed `action`: the roles the principal has where it asked."""
    if resource.tenant is None:
        return "it needs the factory admin role"
    have = ", ".join(sorted(principal.roles.get(resource.tenant, ()))) or "no role"
    return f"{principal.name} has {have} in {resource.tenant}, and no policy allows {action}"


@cache
def _annotations(policies: str) -> dict[str, str]:
    parsed = json.loads(cedarpy.policies_to_json_str(policies))
    found = {}
    for key, policy in parsed.get("staticPolicies", {}).items():
        notes = policy.get("annotations") or {}
        found[key] = notes.get("reason") or notes.get("id") or key
    return found


_REVISION = re.compile(r"\brevision (\d+)\b")


def revision_authors(control: ControlPlane, home: Path, ref: ProductRef, env: str) -> frozenset[str]:
    """Who submitted or built the revision that an approval for `env` is about (the previous env's head).

    The commit's trace id names its build, the build its intent revision; the submitter of that revision
    and everyone who submitted it again, rebuilt it or took its build over are its authors. When the
    commit cannot be traced, every submitter of the product counts (the safe side).
    """
    from infra.gitops import ProductRepository, previous_env

    intents = [i for i in control.intents(ref.tenant) if i.product == ref.product]
    if not _released(home, ref):
        return frozenset(i.actor for i in intents)  # opening the repository would create it: asking changes nothing
    repo = ProductRepository(home, ref.tenant, ref.product)
    commit = repo.env_head(previous_env(env))
    trace = repo.trailers(commit).get("Factory-Trace-Id") if commit else None
    builds = [b for b in control.builds(ref.tenant, ref.product) if trace and b.trace_id == trace]
    if not builds:
        return frozenset(i.actor for i in intents)
    revision = builds[0].revision
    authors = {i.actor for i in intents if i.revision == revision}
    for event in control.audit_log(ref.tenant, limit=100_000):
        if event.product != ref.product or event.outcome != "ok":
            continue
        if event.action in ("intent.submit", "intent.rebuild", "intent.takeover"):
            found = _REVISION.search(event.detail)
            if found and int(found.group(1)) == revision:
                authors.add(event.actor)
    return frozenset(authors)


def _released(home: Path, ref: ProductRef) -> bool:
    """Whether the product has a repository (opening one that does not exist would create it)."""
    return (Path(home).resolve() / "repos" / ref.tenant / ref.product / ".git").exists()


def approvals_of(control: ControlPlane, home: Path, ref: ProductRef, env: str) -> int:
    """How many people's latest decision on the commit a promotion to `env` would take is an approval."""
    from infra.gitops import ProductRepository, previous_env
    from infra.governance import latest_decisions

    if not _released(home, ref):
        return 0
    commit = ProductRepository(home, ref.tenant, ref.product).env_head(previous_env(env))
    if commit is None:
        return 0
    return sum(1 for r in latest_decisions(control, ref.tenant, ref.product, env, commit) if r.decision == "approved")
