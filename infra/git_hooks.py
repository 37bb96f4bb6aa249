"""Inbound push webhooks from a git host (GitHub, GitLab): parse a push, verify it, and name what to rebuild.

Each product has one hook secret, made by `set_hook_secret` (shown once, kept in the control database
because verifying needs it, never logged, audited or put into the graph). GitHub signs the raw body
(`X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`); GitLab sends the secret itself (`X-Gitlab-Token`),
compared in constant time. A verified push to `refs/heads/main` is a `Push` the surface acts on: take the
pushed commit into the product's main (`ProductRepository.take_pushed`) and rebuild.
The surfaces authorize the principal for the `webhooks` action of the tenant before changing a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from infra.control import ControlPlane
from infra.records import GitHookRecord
from infra.webhooks import check_url
from ontology.errors import FactoryError, InvalidInputError, NotFoundError
from ontology.refs import ProductRef

__all__ = [
    "MAIN_REF",
    "MAX_BODY_BYTES",
    "HookSignatureError",
    "Push",
    "hook_secret",
    "parse_push",
    "remove_hook",
    "set_hook_secret",
    "verify_push",
]

MAIN_REF = "refs/heads/main"
MAX_BODY_BYTES = 5 * 1024 * 1024
"""A push payload larger than this is refused (GitHub caps its payloads at 25 MB; a push's is far smaller)."""
_ZERO = "0" * 40


class HookSignatureError(FactoryError):
    """The request is not signed with the product's hook secret (or names no known git host)."""


@dataclass(frozen=True)
class Push:
    """A verified push: which host, which delivery, which ref and commit."""

    host: str
    """"github" or "gitlab"."""
    delivery: str
    """The host's id of this delivery (the same on a redelivery): a delivery is acted on once."""
    ref: str
    commit: str
    repository: str

    @property
    def to_main(self) -> bool:
        """A push that moved main (a deleted main moves nothing)."""
        return self.ref == MAIN_REF and bool(self.commit) and self.commit.strip("0") != ""


def set_hook_secret(control: ControlPlane, ref: ProductRef, *, actor: str, upstream: str | None = None) -> str:
    """Make (or replace) the product's hook secret; returns it: the only time it is shown.

    `upstream`: the https URL of the host's repository to fetch a pushed main from (default: the
    product's own remote, `$FACTORY_HOME/remotes/<tenant>/<product>.git`)."""
    if control.product(ref.tenant, ref.product) is None:
        raise NotFoundError(f"no product {ref}: build it first with `factory build`")
    if upstream is not None:
        upstream = check_url(upstream)
        if not upstream.startswith("https://"):
            raise InvalidInputError("an upstream must be an https:// URL of the git host's repository")
    secret = secrets.token_urlsafe(32)
    with control._session(write=True) as session:
        query = select(GitHookRecord).where(GitHookRecord.tenant == ref.tenant, GitHookRecord.product == ref.product)
        row = session.exec(query).first() or GitHookRecord(tenant=ref.tenant, product=ref.product, secret="")
        row.secret, row.upstream, row.created_by = secret, upstream, actor
        session.add(row)
    control.audit("hook.secret", "ok", tenant=ref.tenant, product=ref.product, actor=actor,
                  detail=f"push hook secret made; upstream {upstream or 'the product remote'}")  # fmt: skip
    return secret


def hook_secret(control: ControlPlane, ref: ProductRef) -> GitHookRecord | None:
    """The product's hook (its secret and upstream), or None when it has none."""
    with control._session() as session:
        query = select(GitHookRecord).where(GitHookRecord.tenant == ref.tenant, GitHookRecord.product == ref.product)
        return session.exec(query).first()


def remove_hook(control: ControlPlane, ref: ProductRef, *, actor: str) -> None:
    """Forget the product's hook secret: its pushes are refused from now on."""
    with control._session(write=True) as session:
        query = select(GitHookRecord).where(GitHookRecord.tenant == ref.tenant, GitHookRecord.product == ref.product)
        row = session.exec(query).first()
        if row is None:
            raise NotFoundError(f"{ref} has no push hook")
        session.delete(row)
    control.audit("hook.remove", "ok", tenant=ref.tenant, product=ref.product, actor=actor, detail="push hook removed")


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "").strip()


def verify_push(secret: str, headers: Mapping[str, str], body: bytes) -> str:
    """Which host signed the request with `secret` ("github" or "gitlab"); else HookSignatureError."""
    signature = _header(headers, "X-Hub-Signature-256")
    token = _header(headers, "X-Gitlab-Token")
    if signature:
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            return "github"
        raise HookSignatureError("X-Hub-Signature-256 does not match the body under the product's hook secret")
    if token:
        if hmac.compare_digest(secret.encode(), token.encode("utf-8", "replace")):
            return "gitlab"
        raise HookSignatureError("X-Gitlab-Token is not the product's hook secret")
    raise HookSignatureError(
        "no signature: send X-Hub-Signature-256 (GitHub) or X-Gitlab-Token (GitLab) made with the product's hook secret"
    )


def parse_push(host: str, headers: Mapping[str, str], body: bytes) -> Push | None:
    """The push of a verified request; None for another event (a ping, an issue, ...), which is ignored."""
    if host == "github":
        event, delivery = _header(headers, "X-GitHub-Event"), _header(headers, "X-GitHub-Delivery")
        if event != "push":
            return None
    else:
        event, delivery = _header(headers, "X-Gitlab-Event"), _header(headers, "X-Gitlab-Event-UUID")
        if event != "Push Hook":
            return None
    try:
        payload: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInputError(f"the push payload is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise InvalidInputError("the push payload is not a JSON object")
    ref = payload.get("ref")
    commit = payload.get("after") if host == "github" else payload.get("checkout_sha") or payload.get("after")
    repository = payload.get("repository") or payload.get("project") or {}
    name = repository.get("full_name") or repository.get("path_with_namespace") if isinstance(repository, dict) else ""
    if not isinstance(ref, str) or not (commit is None or isinstance(commit, str)):
        raise InvalidInputError("a push payload needs `ref` and the pushed commit (`after` or `checkout_sha`)")
    if not delivery:
        delivery = hashlib.sha256(body).hexdigest()  # no delivery id: the same body is the same delivery
    commit = (commit or _ZERO).lower()
    return Push(host, delivery[:200], ref[:300], commit[:64], str(name or "")[:200])
