"""Studio sessions: what a signed-in browser session holds, signed by the home, and for how long it holds.

A sign-in with a password gives the session a value `v1.<account>.<issued>.<expires>.<mac>`: the account
name, when it was issued and when it expires (seconds since the epoch), and an HMAC-SHA256 of all that
under a secret key kept in the factory home (`studio-session.key`, its owner only). The Studio checks it on
every page run: a value that was forged or altered, or whose time is up, gives no access; the account is
then read again from the control database, so a disabled account is out at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from infra.access import AccessDenied
from ontology.errors import InvalidInputError
from ontology.refs import check_slug

__all__ = ["SESSION_HOURS", "issue_session", "session_account", "session_hours"]

SESSION_HOURS = 12.0
"""How long a Studio sign-in holds unless FACTORY_SESSION_HOURS says otherwise."""

_VERSION = "v1"
_KEY_FILE = "studio-session.key"


def session_hours() -> float:
    """The lifetime of a Studio sign-in, in hours (FACTORY_SESSION_HOURS, 0.01 to 720)."""
    raw = os.environ.get("FACTORY_SESSION_HOURS", "").strip()
    if not raw:
        return SESSION_HOURS
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not 0.01 <= hours <= 720:
        raise InvalidInputError(f"FACTORY_SESSION_HOURS={raw[:20]!r} is not a number of hours from 0.01 to 720")
    return hours


def _key(home: Path) -> bytes:
    """The home's session key, made on first use (32 random bytes, readable by its owner only)."""
    path = home / _KEY_FILE
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        home.mkdir(parents=True, exist_ok=True)
        fresh = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_bytes()
        with os.fdopen(fd, "wb") as out:
            out.write(fresh)
        return fresh
    if len(key) < 32:
        raise AccessDenied(f"the session key {path} is damaged: remove it (every Studio session ends) and sign in")
    return key


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue_session(home: Path, account: str, *, now: float | None = None, hours: float | None = None) -> str:
    """A session value for `account`, signed with the home's key, valid `hours` (default: `session_hours()`)."""
    issued = int(time.time() if now is None else now)
    expires = issued + round(3600 * (session_hours() if hours is None else hours))
    body = f"{_VERSION}.{check_slug(account, 'account name')}.{issued}.{expires}"
    return f"{body}.{_mac(_key(home), body)}"


def session_account(home: Path, value: str, *, now: float | None = None) -> str:
    """The account a session value was issued to; AccessDenied when it was forged or altered, or expired."""
    parts = str(value).split(".")
    if len(parts) != 5 or parts[0] != _VERSION:
        raise AccessDenied("the session is not one this factory issued: sign in again")
    body, mac = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(_mac(_key(home), body), mac):
        raise AccessDenied("the session is not one this factory issued: sign in again")
    _, account, _, expires, _ = parts
    if int(expires) <= (time.time() if now is None else now):
        raise AccessDenied("the session expired: sign in again")
    return account
