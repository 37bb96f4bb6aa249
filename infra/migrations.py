"""A release's schema migrations, run with the release's own Alembic configuration.

A generated product carries `alembic.ini` and its migration scripts at its root; the database it
migrates is the one named by `DATABASE_URL`, as when the service runs. The migrations run in a
subprocess in the release's folder, so the factory never imports a product's code. A release without
`alembic.ini` (rendered before products carried migrations) has nothing to run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from infra.runtime import DeploymentError

__all__ = ["MigrationError", "current", "downgrade", "has_migrations", "head", "upgrade"]

CONFIG = "alembic.ini"
TIMEOUT_S = 120.0
_OUTPUT_TAIL = 600


class MigrationError(DeploymentError):
    """A migration that failed or cannot run; the database is left as the failed step found it."""


def has_migrations(release: Path) -> bool:
    """Whether the release carries migrations."""
    return (release / CONFIG).is_file()


def _alembic(
    release: Path, database_url: str, *args: str, python: str = sys.executable, env: Mapping[str, str] | None = None
) -> str:
    if not has_migrations(release):
        raise MigrationError(f"{release} carries no {CONFIG}: it has no migrations to run")
    base = os.environ if env is None else env
    env = {key: value for key, value in base.items() if not key.startswith("OTEL_")}
    env.update(DATABASE_URL=database_url, PYTHONDONTWRITEBYTECODE="1")
    command = [python, "-m", "alembic", "-c", CONFIG, *args]
    try:
        done = subprocess.run(
            command, cwd=release, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise MigrationError(f"alembic {' '.join(args)} in {release} took over {TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        tail = " | ".join(line for line in (done.stderr or done.stdout).splitlines() if line.strip())
        raise MigrationError(f"alembic {' '.join(args)} in {release} failed: {tail[-_OUTPUT_TAIL:]}")
    return done.stdout


def upgrade(
    release: Path,
    database_url: str,
    revision: str = "head",
    *,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
) -> None:
    """Bring the database up to `revision` of the release's migrations (its newest by default).

    `env` is the environment the release's code sees (this process's by default), DATABASE_URL set over it."""
    _alembic(release, database_url, "upgrade", revision, python=python, env=env)


def downgrade(release: Path, database_url: str, revision: str, *, python: str = sys.executable) -> None:
    """Take the database back down to `revision` (`base` for an empty schema) with the release's scripts."""
    _alembic(release, database_url, "downgrade", revision, python=python)


def current(release: Path, database_url: str, *, python: str = sys.executable) -> str | None:
    """The revision the database is at (None for a database no migration has touched)."""
    out = _alembic(release, database_url, "current", python=python)
    for line in out.splitlines():
        word = line.split(" ", 1)[0].strip()
        if word:
            return word
    return None


def head(release: Path, *, python: str = sys.executable) -> str | None:
    """The newest revision of the release's migrations (None when it carries none); several heads are refused."""
    if not has_migrations(release):
        return None
    out = _alembic(release, "sqlite://", "heads", python=python)
    heads = [line.split(" ", 1)[0].strip() for line in out.splitlines() if line.strip()]
    if len(heads) > 1:
        raise MigrationError(f"{release} has {len(heads)} migration heads ({', '.join(heads)}): merge them first")
    return heads[0] if heads else None
