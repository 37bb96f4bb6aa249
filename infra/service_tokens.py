"""Bearer tokens for the services the factory runs.

Each service (by its runtime name) gets one ES256 key pair under `<runtime>/keys/<name>/`: the
private key (0600, in a 0700 folder) stays with the factory, the service is started trusting the
public key, this issuer and its own name as audience (`service_env`). Everything the factory sends a
service (smoke workload, contract runs, checks) takes its headers from `ServiceTokens.headers`: a
short-lived token acting for one tenant with every role the product declares, and the tenant header.
"""

from __future__ import annotations

import ast
import json
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from generators.agents.tester import TENANT_HEADER
from ontology.errors import InvalidInputError
from ontology.models import DEFAULT_ROLES
from ontology.refs import check_slug

__all__ = ["ISSUER", "TOKEN_TTL_S", "ServiceTokens", "product_roles", "service_name"]

ISSUER = "urn:software-factory:runtime"
"""The issuer the factory names in the tokens it signs for the services it runs."""
TOKEN_TTL_S = 3600  # longer than the deepest contract run (1800 s)
ACCESS_MODULE = Path("app") / "api" / "access.py"


def service_name(tenant: str, product: str, env: str) -> str:
    """The runtime name of a product's service in `env`: its keys, data and telemetry go by it."""
    return check_slug(f"{tenant}-{product}-{env}", "service name")


def product_roles(workdir: Path) -> tuple[str, ...]:
    """The roles a rendered product declares (its `app/api/access.py` ROLES), read without importing it."""
    try:
        tree = ast.parse((workdir / ACCESS_MODULE).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return DEFAULT_ROLES
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "ROLES" for t in targets) and node.value is not None:
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    return DEFAULT_ROLES
                if isinstance(value, tuple | list) and all(isinstance(v, str) for v in value):
                    return tuple(value)
    return DEFAULT_ROLES


class ServiceTokens:
    """The factory's signing key for one service, and the tokens and headers made with it."""

    def __init__(self, runtime_root: Path, name: str) -> None:
        self.name = check_slug(name, "service name")
        self.folder = runtime_root / "keys" / self.name
        self.private_path = self.folder / "signing-key.pem"
        self.public_path = self.folder / "signing-key.pub.pem"
        self.roles_path = self.folder / "roles.json"

    def _key(self) -> ec.EllipticCurvePrivateKey:
        """The private key, created on first use (0600, in a 0700 folder)."""
        if not self.private_path.exists():
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            new = ec.generate_private_key(ec.SECP256R1())
            pem = new.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            try:
                fd = os.open(self.private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first: use that one
                pass
            else:
                with os.fdopen(fd, "wb") as out:
                    out.write(pem)
        key = serialization.load_pem_private_key(self.private_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InvalidInputError(f"{self.private_path}: not an elliptic-curve key; remove it to get a new one")
        return key

    def service_env(self, workdir: Path) -> dict[str, str]:
        """The variables that make the service in `workdir` trust this factory's tokens (and only those);
        the product's roles are recorded for the tokens minted later."""
        public = self._key().public_key()
        self.public_path.write_bytes(
            public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        self.roles_path.write_text(json.dumps(list(product_roles(workdir))), encoding="utf-8")
        return {
            "AUTH_ISSUER": ISSUER,
            "AUTH_AUDIENCE": self.name,
            "AUTH_PUBLIC_KEY_FILE": str(self.public_path.resolve()),
        }

    def roles(self) -> tuple[str, ...]:
        """The roles recorded when the service was started (the default roles before that)."""
        try:
            value = json.loads(self.roles_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return DEFAULT_ROLES
        return tuple(v for v in value if isinstance(v, str)) or DEFAULT_ROLES

    def token(
        self, tenant: str | Sequence[str], roles: Sequence[str] | None = None, *, ttl_s: int = TOKEN_TTL_S
    ) -> str:
        """A token of this factory for the service, acting for `tenant` (or several) with `roles` (default: all)."""
        tenants = [tenant] if isinstance(tenant, str) else list(tenant)
        for t in tenants:
            check_slug(t, "tenant")
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": self.name,
            "sub": "software-factory",
            "iat": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
            "tenant": tenants[0] if len(tenants) == 1 else tenants,
            "roles": list(self.roles() if roles is None else roles),
        }
        return jwt.encode(claims, self._key(), algorithm="ES256")

    def headers(self, tenant: str, roles: Sequence[str] | None = None) -> dict[str, str]:
        """What every request of the factory to the service carries: its bearer token and the tenant header."""
        return {"Authorization": f"Bearer {self.token(tenant, roles)}", TENANT_HEADER: tenant}
