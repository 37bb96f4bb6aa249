"""The factory's configuration, read from the environment in this one place without importing any engine.

`FACTORY_HOME` (default `./.factory`) holds all state of the embedded profile. `FACTORY_PROFILE` picks
how the factory runs: `embedded` (the default: SQLite, in-process runs, Oxigraph and Kùzu on disk, nothing
to install) or `scaled` (the control database and Dagster's instance on PostgreSQL, builds through
Dagster's run queue, the RDF store behind a SPARQL server). Each backing service is named by its own URL:

* `FACTORY_DATABASE_URL`: the control database (a SQLAlchemy URL; SQLite under the home when unset);
* `DAGSTER_POSTGRES_URL`: the Dagster instance's run, event-log and schedule storage (scaled), a
  `postgresql+psycopg2://` URL (dagster-postgres works with the psycopg2 driver only);
* `FACTORY_BROKER_URL`: the Celery broker (`amqp://` RabbitMQ or `redis://` Redis) of the workers;
* `FACTORY_SPARQL_URL`: a SPARQL 1.1 server holding the RDF store (the embedded Oxigraph when unset).

The scaled profile needs the first two; a URL set under the embedded profile is used all the same.
Dagster's run queue (scaled) starts at most `FACTORY_MAX_RUNS` runs at once (default 3), and at most
`FACTORY_TENANT_RUNS` of one tenant (default 1), so one tenant cannot starve the others. With a broker, the
scaled profile's builds run their steps on Celery workers (`factory worker`; `factory up` starts
`FACTORY_WORKERS` of them, default 2) that take them from the queue `FACTORY_WORKER_QUEUE` (default `factory`);
with Redis as the broker, a lost worker's step is handed over after `FACTORY_BROKER_VISIBILITY_S` (default 900).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ontology.errors import InvalidInputError

__all__ = [
    "PROFILES",
    "ConfigError",
    "Settings",
    "database_url",
    "factory_home",
    "redact",
    "settings",
    "sparql_url",
]

PROFILES = ("embedded", "scaled")
SCALED_NEEDS = ("FACTORY_DATABASE_URL", "DAGSTER_POSTGRES_URL")
"""The variables the scaled profile cannot run without."""
_SCHEMES = {
    "FACTORY_DATABASE_URL": ("sqlite", "postgresql"),
    "DAGSTER_POSTGRES_URL": ("postgresql+psycopg2",),
    "FACTORY_BROKER_URL": ("amqp", "pyamqp", "redis", "rediss"),
    "FACTORY_SPARQL_URL": ("http", "https"),
}


class ConfigError(InvalidInputError):
    """The factory's environment names an unknown profile, a malformed URL, or lacks one the profile needs."""


def factory_home() -> Path:
    """`$FACTORY_HOME`, or `./.factory`: the folder that holds all of the factory's state."""
    return Path(os.environ.get("FACTORY_HOME") or ".factory").resolve()


@dataclass(frozen=True)
class Settings:
    """The profile and the backing services' URLs (None: the embedded engine under the home)."""

    profile: str
    home: Path
    database_url: str | None
    dagster_postgres_url: str | None
    broker_url: str | None
    sparql_url: str | None
    max_runs: int = 3
    """Runs Dagster's queue starts at once (scaled profile)."""
    tenant_runs: int = 1
    """Runs of one tenant the queue starts at once (its `factory/tenant` tag)."""
    workers: int = 2
    """Celery workers `factory up` starts (scaled profile with a broker)."""
    worker_queue: str = "factory"
    """The broker's queue the builds' steps wait in for a Celery worker."""
    visibility_s: int = 900
    """Redis as the broker: seconds after which a step taken by a worker and not acknowledged (the worker was
    lost) goes back to the queue. Longer than any step runs, or a slow step would be run twice at once."""

    @property
    def celery(self) -> bool:
        """Whether builds run their steps on Celery workers: the scaled profile with a broker."""
        return self.scaled and self.broker_url is not None

    @property
    def scaled(self) -> bool:
        return self.profile == "scaled"


def settings() -> Settings:
    """The configuration as the environment says now; ConfigError names the first thing wrong with it."""
    profile = (os.environ.get("FACTORY_PROFILE") or "embedded").strip().lower()
    if profile not in PROFILES:
        raise ConfigError(f"unknown FACTORY_PROFILE {profile[:40]!r}: use one of {', '.join(PROFILES)}")
    urls = {name: _url(name) for name in _SCHEMES}
    if profile == "scaled":
        missing = [name for name in SCALED_NEEDS if urls[name] is None]
        if missing:
            raise ConfigError(
                f"FACTORY_PROFILE=scaled needs {' and '.join(missing)}: set it to a PostgreSQL URL "
                "(see docs/scaling.md)"
            )
    return Settings(
        profile=profile,
        home=factory_home(),
        database_url=urls["FACTORY_DATABASE_URL"],
        dagster_postgres_url=urls["DAGSTER_POSTGRES_URL"],
        broker_url=urls["FACTORY_BROKER_URL"],
        sparql_url=urls["FACTORY_SPARQL_URL"],
        max_runs=_count("FACTORY_MAX_RUNS", 3),
        tenant_runs=_count("FACTORY_TENANT_RUNS", 1),
        workers=_count("FACTORY_WORKERS", 2),
        worker_queue=_queue_name(),
        visibility_s=_count("FACTORY_BROKER_VISIBILITY_S", 900, most=86400),
    )


def _queue_name() -> str:
    value = (os.environ.get("FACTORY_WORKER_QUEUE") or "").strip() or "factory"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", value):
        raise ConfigError(f"FACTORY_WORKER_QUEUE must be letters, digits, '.', '_' or '-', not {value[:40]!r}")
    return value


def _count(name: str, default: int, most: int = 1000) -> int:
    value = (os.environ.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= most:
        raise ConfigError(f"{name} must be a whole number from 1 to {most}, not {value[:20]!r}")
    return int(value)


def database_url() -> str | None:
    """`FACTORY_DATABASE_URL` checked, or None (the control database is SQLite under the home)."""
    return _url("FACTORY_DATABASE_URL")


def _url(name: str) -> str | None:
    value = (os.environ.get(name) or "").strip()
    if not value:
        return None
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if name != "DAGSTER_POSTGRES_URL":  # dagster-postgres works with psycopg2 only: its URL names that driver
        scheme = scheme.split("+", 1)[0]
    if scheme not in _SCHEMES[name]:
        schemes = ", ".join(f"{s}://" for s in _SCHEMES[name])
        raise ConfigError(f"{name} must be a URL starting with one of {schemes}, not {redact(value)!r}")
    return value


def redact(url: str) -> str:
    """The URL without its password, to be shown in a message."""
    if "://" not in url or "@" not in url.split("://", 1)[1].split("/", 1)[0]:
        return url[:120]
    scheme, rest = url.split("://", 1)
    credentials, host = rest.split("@", 1)
    user, _, password = credentials.partition(":")
    return f"{scheme}://{user}{':***' if password else ''}@{host}"[:120]


def sparql_url() -> str | None:
    """`$FACTORY_SPARQL_URL`: the base URL of the SPARQL server that holds the RDF store (an Oxigraph
    server's, which answers on /query, /update and /store), or None for the embedded store on disk."""
    url = _url("FACTORY_SPARQL_URL")
    return url.rstrip("/") if url else None
