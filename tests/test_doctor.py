"""`factory doctor` against the real local servers (PostgreSQL, RabbitMQ, Redis), a bad URL, and a bad profile."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra import control_schema
from infra.control import ControlPlane
from infra.doctor import diagnose
from ontology.config import ConfigError, redact, settings
from studio.cli import app
from tests.servers import missing_server

PARTS = [
    "profile",
    "control database",
    "Dagster instance storage",
    "run coordinator and executor",
    "broker",
    "SPARQL store",
    "Kùzu",
    "embeddings model",
]


def _server(port: int, what: str) -> None:
    """The local server on `port`; the test is skipped without it, except under CI=true, where it fails."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        missing_server(f"no {what} answers on 127.0.0.1:{port}")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens on it once the probe is closed


def test_the_embedded_default_needs_no_server(factory_home: Path) -> None:
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [f"ok {part}" for part in PARTS]
    assert "embedded" in lines[0] and f"SQLite {factory_home / 'control.db'}" in lines[1]


def test_the_scaled_profile_against_the_local_servers(
    postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _server(5672, "RabbitMQ")
    _server(6379, "Redis")
    monkeypatch.setenv("FACTORY_PROFILE", "scaled")
    monkeypatch.setenv("FACTORY_DATABASE_URL", postgres_schema_url)
    dagster_url = postgres_schema_url.split("?", 1)[0].replace("+psycopg:", "+psycopg2:")
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", dagster_url)
    monkeypatch.setenv("FACTORY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    found = {check.part: check for check in diagnose()}
    assert list(found) == PARTS
    assert found["control database"].problem == (
        f"has no schema revision (new, or made before migrations), this factory expects {control_schema.head()}: "
        "any factory command upgrades it"
    )
    ControlPlane()  # opening it upgrades it
    found = {check.part: check for check in diagnose()}
    assert all(check.ok for check in found.values()), [c.problem for c in found.values() if not c.ok]
    assert found["control database"].backend.startswith("PostgreSQL postgresql+psycopg://")
    assert f"schema at revision {control_schema.head()}" in found["control database"].backend
    assert "QueuedRunCoordinator" in found["run coordinator and executor"].backend
    assert found["broker"].backend == "RabbitMQ amqp://guest:***@127.0.0.1:5672//"  # the password is never shown
    monkeypatch.setenv("FACTORY_BROKER_URL", "redis://127.0.0.1:6379/0")
    assert [c.backend for c in diagnose() if c.part == "broker"] == ["Redis redis://127.0.0.1:6379/0"]
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output


def test_each_unreachable_part_is_one_line_and_the_exit_is_not_zero(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _server(6379, "Redis")
    closed = _closed_port()
    monkeypatch.setenv("FACTORY_PROFILE", "scaled")
    monkeypatch.setenv("FACTORY_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{closed}/factory")
    server = postgres_database.rsplit("/", 1)[0].replace("+psycopg:", "+psycopg2:")
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", server + "/scale_no_such_database")
    monkeypatch.setenv("FACTORY_BROKER_URL", f"amqp://guest:secret@127.0.0.1:{closed}//")
    monkeypatch.setenv("FACTORY_SPARQL_URL", "http://127.0.0.1:6379/")  # Redis, not a SPARQL server
    problems = {check.part: check.problem for check in diagnose() if not check.ok}
    assert set(problems) == {"control database", "Dagster instance storage", "broker", "SPARQL store"}
    assert all(problem and "\n" not in problem for problem in problems.values())
    assert (problems["control database"] or "").startswith("not reachable: cannot read the control database")
    assert 'database "scale_no_such_database" does not exist' in (problems["Dagster instance storage"] or "")
    assert f"not reachable at 127.0.0.1:{closed}" in (problems["broker"] or "")
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "secret" not in result.output


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"FACTORY_PROFILE": "huge"}, "unknown FACTORY_PROFILE 'huge'"),
        ({"FACTORY_PROFILE": "scaled"}, "FACTORY_PROFILE=scaled needs FACTORY_DATABASE_URL and DAGSTER_POSTGRES_URL"),
        ({"FACTORY_BROKER_URL": "kafka://x:1"}, "FACTORY_BROKER_URL must be a URL starting with one of amqp://"),
        ({"FACTORY_DATABASE_URL": "postgresql://u:pw@h/db", "FACTORY_PROFILE": "scaled"}, "needs DAGSTER_POSTGRES_URL"),
        ({"DAGSTER_POSTGRES_URL": "postgresql://h/db"}, "must be a URL starting with one of postgresql+psycopg2://"),
        ({"FACTORY_MAX_RUNS": "0"}, "FACTORY_MAX_RUNS must be a whole number from 1 to 1000"),
        ({"FACTORY_WORKERS": "-1"}, "FACTORY_WORKERS must be a whole number from 1 to 1000"),
        ({"FACTORY_WORKER_QUEUE": "a queue; rm"}, "FACTORY_WORKER_QUEUE must be letters, digits"),
    ],
)
def test_a_bad_configuration_is_one_line(
    variables: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        settings()
    (check,) = diagnose()
    assert check.part == "configuration" and message in (check.problem or "")
    assert CliRunner().invoke(app, ["doctor"]).exit_code == 1


def test_passwords_are_redacted() -> None:
    assert redact("postgresql://factory:s3cret@db:5432/control") == "postgresql://factory:***@db:5432/control"
    assert redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
