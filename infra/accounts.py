"""Accounts of the factory: people with passwords, service accounts with API tokens, and their roles per tenant.

Passwords are hashed with argon2 (pwdlib); an API token is shown once and only its SHA-256 digest is
stored (a token is 256 random bits, so a fast digest is safe and lets it be looked up), with an expiry
and a revocation time. Every change, every sign-in failure and every use of a token is written to the
audit chain in the same transaction. A home without any account has one user, the local admin.
"""

from __future__ import annotations

import getpass
import hashlib
import secrets
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pwdlib import PasswordHash
from sqlmodel import Session, col, func, select

from infra.access import ROLES, AccessDenied, Principal
from infra.audit import append
from infra.control import ControlPlane
from infra.records import AuditEvent, MembershipRecord, TokenRecord, UserRecord, check_choice, clean_text, utcnow
from ontology.errors import InvalidInputError, NotFoundError
from ontology.refs import SLUG_PATTERN, check_slug

__all__ = ["ACCOUNT_KINDS", "TOKEN_PREFIX", "Accounts", "credentials_path", "local_admin", "parse_role"]

ACCOUNT_KINDS = ("user", "service")
TOKEN_PREFIX = "sft_"
MAX_TOKEN_DAYS = 366
_MIN_PASSWORD = 12
_hasher = PasswordHash.recommended()
_DUMMY_HASH = _hasher.hash("not-a-password-of-anyone")


def local_admin() -> Principal:
    """The one user of a home without accounts: the person at this machine, as factory admin."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "cli"
    return Principal(name=name, kind="local", factory_admin=True)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def parse_role(value: str) -> tuple[str, str]:
    """`acme:builder` as (tenant, role)."""
    tenant, sep, role = value.partition(":")
    if not sep:
        raise InvalidInputError(f"bad role {value[:60]!r}: write tenant:role, like acme:builder")
    return check_slug(tenant, "tenant"), check_choice(role, ROLES, "role")


class Accounts:
    """Accounts, memberships and tokens, stored in the control database."""

    def __init__(self, control: ControlPlane) -> None:
        self.control = control

    def _write(self) -> AbstractContextManager[Session]:
        return self.control._session(write=True)

    def _audit(self, session: Session, actor: str, action: str, outcome: str, detail: str,
               tenant: str | None = None) -> None:  # fmt: skip
        append(session, AuditEvent(actor=actor, action=action, outcome=outcome, tenant=tenant, detail=detail))

    # accounts ------------------------------------------------------------------------------------

    def any(self) -> bool:
        """Whether this home has any account (without one, the local admin is the only user)."""
        with self.control._session() as session:
            return bool(session.exec(select(func.count()).select_from(UserRecord)).one())

    def add_user(
        self, name: str, *, actor: str, kind: str = "user", password: str | None = None, factory_admin: bool = False,
        roles: list[tuple[str, str]] | None = None,
    ) -> UserRecord:  # fmt: skip
        """Create an account (a person needs a password of 12+ characters; a service account has none)."""
        check_slug(name, "account name")
        check_choice(kind, ACCOUNT_KINDS, "account kind")
        if kind == "user":
            if password is None or len(password) < _MIN_PASSWORD:
                raise InvalidInputError(f"a person's password needs at least {_MIN_PASSWORD} characters")
            clean_text(password, "password", 1000)
        elif password is not None:
            raise InvalidInputError("a service account has no password: create a token for it instead")
        with self._write() as session:
            if session.exec(select(UserRecord).where(UserRecord.name == name)).first() is not None:
                raise InvalidInputError(f"an account named {name} exists: list them with `factory users list`")
            user = UserRecord(name=name, kind=kind, factory_admin=factory_admin, created_by=actor,
                              password_hash=None if password is None else _hasher.hash(password))  # fmt: skip
            session.add(user)
            for tenant, role in roles or []:
                session.add(MembershipRecord(user=name, tenant=tenant, role=role))
            granted = ", ".join(f"{t}:{r}" for t, r in roles or []) or "no role"
            admin = ", factory admin" if factory_admin else ""
            tenants = {t for t, _ in roles or []}
            only = next(iter(tenants)) if len(tenants) == 1 else None  # its tenant's admins see it in their log
            self._audit(session, actor, "users.add", "ok", f"{kind} {name}: {granted}{admin}", only)
            session.flush()
            return user

    def grant(self, name: str, tenant: str, role: str, *, actor: str) -> None:
        """Give an account a role in a tenant (nothing changes if it has it)."""
        self.user(name)
        with self._write() as session:
            query = select(MembershipRecord).where(
                MembershipRecord.user == name, MembershipRecord.tenant == tenant, MembershipRecord.role == role
            )
            if session.exec(query).first() is None:
                session.add(MembershipRecord(user=name, tenant=tenant, role=role))
                self._audit(session, actor, "users.grant", "ok", f"{name} is {role} of {tenant}", tenant)

    def disable(self, name: str, *, actor: str) -> UserRecord:
        """Disable an account: it can no longer sign in, and its tokens stop working."""
        with self._write() as session:
            user = session.exec(select(UserRecord).where(UserRecord.name == name)).first()
            if user is None:
                raise NotFoundError(f"no account named {name}: list them with `factory users list`")
            user.disabled = True
            session.add(user)
            self._audit(session, actor, "users.disable", "ok", name)
            return user

    def user(self, name: str) -> UserRecord:
        check_slug(name, "account name")
        with self.control._session() as session:
            user = session.exec(select(UserRecord).where(UserRecord.name == name)).first()
        if user is None:
            raise NotFoundError(f"no account named {name}: list them with `factory users list`")
        return user

    def users(self) -> list[UserRecord]:
        with self.control._session() as session:
            return list(session.exec(select(UserRecord).order_by(col(UserRecord.name))).all())

    def memberships(self, name: str | None = None, tenant: str | None = None) -> list[MembershipRecord]:
        query = select(MembershipRecord).order_by(col(MembershipRecord.user), col(MembershipRecord.tenant))
        if name is not None:
            query = query.where(MembershipRecord.user == name)
        if tenant is not None:
            query = query.where(MembershipRecord.tenant == tenant)
        with self.control._session() as session:
            return list(session.exec(query).all())

    def principal(self, user: UserRecord) -> Principal:
        roles: dict[str, set[str]] = {}
        for m in self.memberships(user.name):
            roles.setdefault(m.tenant, set()).add(m.role)
        frozen = {tenant: frozenset(r) for tenant, r in roles.items()}
        return Principal(name=user.name, kind=user.kind, factory_admin=user.factory_admin, roles=frozen)

    # passwords and tokens ------------------------------------------------------------------------

    def sign_in(self, name: str, password: str) -> UserRecord:
        """The account whose password this is; a failure is audited and says no more than that it failed."""
        with self.control._session() as session:
            user = session.exec(select(UserRecord).where(UserRecord.name == name)).first()
        stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
        valid = _hasher.verify(password, stored) and user is not None and not user.disabled
        if not valid or user is None:
            with self._write() as session:
                who = name if SLUG_PATTERN.match(name) else "?"
                self._audit(session, who, "auth.login", "refused", "wrong name or password")
            raise AccessDenied("sign-in failed: wrong account name or password (or the account is disabled)")
        return user

    def create_token(self, name: str, *, actor: str, days: int = 90, label: str = "") -> tuple[str, TokenRecord]:
        """A new API token of the account: the token itself (shown once, never stored) and its record."""
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise InvalidInputError(f"a token lasts 1 to {MAX_TOKEN_DAYS} days, not {days}")
        user = self.user(name)
        if user.disabled:
            raise InvalidInputError(f"{name} is disabled: it gets no new tokens")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = TokenRecord(user=name, label=clean_text(label, "label", 200, empty_ok=True), digest=_digest(token),
                             expires_at=utcnow() + timedelta(days=days))  # fmt: skip
        with self._write() as session:
            session.add(record)
            session.flush()
            self._audit(session, actor, "tokens.create", "ok", f"token {record.id} of {name}, {days} days")
        return token, record

    def tokens(self, name: str | None = None) -> list[TokenRecord]:
        query = select(TokenRecord).order_by(col(TokenRecord.id))
        if name is not None:
            query = query.where(TokenRecord.user == name)
        with self.control._session() as session:
            return list(session.exec(query).all())

    def token(self, id: int) -> TokenRecord:
        with self.control._session() as session:
            record = session.get(TokenRecord, id)
        if record is None:
            raise NotFoundError(f"no token with id {id}: list them with `factory tokens list`")
        return record

    def revoke(self, id: int, *, actor: str) -> TokenRecord:
        """Revoke a token: it stops working at once."""
        with self._write() as session:
            record = session.get(TokenRecord, id)
            if record is None:
                raise NotFoundError(f"no token with id {id}: list them with `factory tokens list`")
            if record.revoked_at is None:
                record.revoked_at = utcnow()
                session.add(record)
                self._audit(session, actor, "tokens.revoke", "ok", f"token {id} of {record.user}")
            return record

    def authenticate(self, token: str) -> Principal:
        """The principal a token stands for; an unknown, expired or revoked token is refused (and audited)."""
        now = utcnow()
        with self._write() as session:
            record = session.exec(select(TokenRecord).where(TokenRecord.digest == _digest(token.strip()))).first()
            user = None
            if record is not None:
                user = session.exec(select(UserRecord).where(UserRecord.name == record.user)).first()
            why = None
            if record is None or user is None:
                why = "the token is not known"
            elif record.revoked_at is not None:
                why = f"token {record.id} was revoked"
            elif _aware(record.expires_at) <= now:
                why = f"token {record.id} expired"
            elif user.disabled:
                why = f"the account {user.name} is disabled"
            if why is not None or record is None or user is None:
                actor = user.name if user is not None else "?"
                self._audit(session, actor, "auth.token", "refused", why or "the token is not known")
                session.commit()
                raise AccessDenied(f"{why}: sign in again with `factory login`, or ask an admin for a token")
            record.last_used_at = now
            session.add(record)
            self._audit(session, user.name, "auth.token", "ok", f"token {record.id}")
        return self.principal(user)

    def forget(self, token: str, *, actor: str) -> None:
        """Revoke the token with this value, if it is one (signing out)."""
        with self.control._session() as session:
            record = session.exec(select(TokenRecord).where(TokenRecord.digest == _digest(token.strip()))).first()
        if record is not None and record.id is not None:
            self.revoke(record.id, actor=actor)

    def signed_in(self, token: str | None) -> Principal:
        """The principal of `token`; without one, the local admin on a home without accounts, else refused."""
        if token:
            return self.authenticate(token)
        if not self.any():
            return local_admin()
        raise AccessDenied("sign in first: `factory login NAME`, or set FACTORY_TOKEN to an API token")


def credentials_path(home: Path) -> Path:
    """Where `factory login` keeps the command line's token (readable by its owner only)."""
    return home / "credentials"
