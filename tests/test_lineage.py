"""OpenLineage events: the events file, the schema with its format checks, HTTP to a loopback server, outages."""

from __future__ import annotations

import json
import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from infra.lineage import (
    JOB_NAMESPACE,
    PRODUCER,
    LineageEmitter,
    LineageError,
    events_path,
    missing_format_checks,
    read_events,
    run_id,
    validate_event,
)
from ontology.errors import FactoryError

TRACE = "0af7651916cd43dd8448eb211c80319c"
BUILD = {"tenant": "acme", "product": "invoicing", "trace_id": TRACE, "dagster_run_id": "d1a2b3c4-run"}


@pytest.fixture(autouse=True)
def no_lineage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without the OpenLineage variables a developer's shell may have set."""
    for name in ("OPENLINEAGE_URL", "OPENLINEAGE_API_KEY", "OPENLINEAGE_ENDPOINT", "OPENLINEAGE_DISABLED"):
        monkeypatch.delenv(name, raising=False)


class Receiver(ThreadingHTTPServer):
    """A loopback HTTP server that keeps what was posted to it and answers with a fixed status."""

    def __init__(self, status: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.received: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append((self.path, dict(self.headers), json.loads(body)))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


def serve(status: int) -> Iterator[Receiver]:
    server = Receiver(status)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def marquez() -> Iterator[Receiver]:
    """A stand-in for Marquez on 127.0.0.1 that accepts every event with 201."""
    yield from serve(201)


@pytest.fixture
def broken_marquez() -> Iterator[Receiver]:
    """A lineage server that answers every event with 503."""
    yield from serve(503)


def closed_port() -> int:
    """A loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_build(emitter: LineageEmitter, end: str, error: str | None = None) -> str:
    """Emit START and then `end` for the blueprint asset of acme/invoicing; return the run id."""
    run = run_id("d1a2b3c4-run", "blueprint", "acme/invoicing")
    args: dict[str, Any] = {"job": "blueprint", "run_id": run, "inputs": ["requirements"], "outputs": ["blueprint"]}
    assert emitter.emit("START", **args, **BUILD)
    assert emitter.emit(end, **args, **BUILD, error=error)
    return run


def test_start_and_complete_land_in_the_events_file_and_are_valid_openlineage(factory_home: Path) -> None:
    emitter = LineageEmitter()
    assert emitter.path == events_path() == factory_home / "lineage" / "events.jsonl"
    run = one_build(emitter, "COMPLETE")

    events = read_events()
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert len(emitter.path.read_text().splitlines()) == 2
    for event in events:
        validate_event(event)
        assert event["run"]["runId"] == run
        assert event["producer"] == PRODUCER
        assert event["job"] == {"namespace": JOB_NAMESPACE, "name": "blueprint", "facets": event["job"]["facets"]}
        assert datetime.fromisoformat(event["eventTime"]).utcoffset() is not None
        assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [("factory://acme/invoicing", "requirements")]
        assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [("factory://acme/invoicing", "blueprint")]
        facets = event["run"]["facets"]
        assert {k: facets["factory"][k] for k in ("traceId", "tenant", "product", "dagsterRunId")} == {
            "traceId": TRACE,
            "tenant": "acme",
            "product": "invoicing",
            "dagsterRunId": "d1a2b3c4-run",
        }
        assert facets["factory"]["_producer"] == PRODUCER
        assert facets["processing_engine"]["name"] == "Dagster"
        assert facets["nominalTime"]["nominalStartTime"] == events[0]["eventTime"]
        assert "errorMessage" not in facets


def test_start_and_fail_carry_the_error_message(tmp_path: Path) -> None:
    emitter = LineageEmitter(tmp_path)
    one_build(emitter, "FAIL", error="ValueError: blueprint has no entities")

    start, fail = read_events(tmp_path)
    for event in (start, fail):
        validate_event(event)
    assert fail["eventType"] == "FAIL"
    assert fail["run"]["facets"]["errorMessage"]["message"] == "ValueError: blueprint has no entities"
    assert fail["run"]["facets"]["errorMessage"]["programmingLanguage"] == "PYTHON"
    assert fail["run"]["facets"]["factory"]["traceId"] == TRACE
    assert "errorMessage" not in start["run"]["facets"]


def test_format_checks_for_uuid_date_time_and_uri_are_active() -> None:
    assert missing_format_checks() == []


def _valid_event(tmp_path: Path) -> dict[str, Any]:
    one_build(LineageEmitter(tmp_path), "COMPLETE")
    event = read_events(tmp_path)[-1]
    validate_event(event)
    return event


@pytest.mark.parametrize(
    ("where", "value", "complaint"),
    [
        (("run", "runId"), "run-42", "uuid"),
        (("eventTime",), "2025-03-01T10:00:00", "date-time"),
        (("eventTime",), "yesterday", "date-time"),
        (("producer",), "software factory", "uri"),
        (("run", "facets", "factory", "_schemaURL"), "not a schema url", "uri"),
        (("run", "facets", "factory", "traceId"), "not-a-trace", "traceId"),
        (("eventType",), "FINISHED", "eventType"),
        (("job", "name"), None, "name"),
    ],
)
def test_the_validator_rejects_broken_events(
    tmp_path: Path, where: tuple[str, ...], value: str | None, complaint: str
) -> None:
    event = _valid_event(tmp_path)
    parent = event
    for key in where[:-1]:
        parent = parent[key]
    if value is None:
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    with pytest.raises(LineageError) as caught:
        validate_event(event)
    message = str(caught.value)
    assert complaint in message and "\n" not in message


def test_run_ids_are_uuids_tied_to_the_dagster_run_asset_and_partition() -> None:
    first = run_id("run-1", "blueprint", "acme/invoicing")
    assert first == run_id("run-1", "blueprint", "acme/invoicing")
    assert uuid.UUID(first).version == 5
    others = {
        run_id("run-2", "blueprint", "acme/invoicing"),
        run_id("run-1", "artifacts", "acme/invoicing"),
        run_id("run-1", "blueprint", "acme/helpdesk"),
        run_id("run-1/blueprint", "", "acme/invoicing"),
    }
    assert first not in others and len(others) == 4


def test_http_transport_posts_valid_events_to_the_lineage_server(
    tmp_path: Path, marquez: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_API_KEY", "s3cret")
    emitter = LineageEmitter(tmp_path, url=marquez.url)
    assert emitter.path is None
    run = one_build(emitter, "COMPLETE")
    emitter.close()

    assert [path for path, _, _ in marquez.received] == ["/api/v1/lineage"] * 2
    for _, headers, event in marquez.received:
        validate_event(event)
        assert event["run"]["runId"] == run
        assert event["run"]["facets"]["factory"]["traceId"] == TRACE
        assert headers["Authorization"] == "Bearer s3cret"
    assert [e["eventType"] for _, _, e in marquez.received] == ["START", "COMPLETE"]
    assert not events_path(tmp_path).exists()


def test_openlineage_url_from_the_environment_selects_http(
    tmp_path: Path, marquez: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", marquez.url)
    emitter = LineageEmitter(tmp_path)
    assert emitter.url == marquez.url
    one_build(emitter, "FAIL", error="boom")
    assert [e["eventType"] for _, _, e in marquez.received] == ["START", "FAIL"]
    assert "Authorization" not in marquez.received[0][1]
    assert read_events(tmp_path) == []


def _emit_fails_quietly(emitter: LineageEmitter, caplog: pytest.LogCaptureFixture) -> None:
    run = run_id("d1a2b3c4-run", "release", "acme/invoicing")
    with caplog.at_level(logging.WARNING, logger="infra.lineage"):
        assert emitter.emit("START", job="release", run_id=run, outputs=["release"], **BUILD) is False
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in warnings] == ["infra.lineage"], "one warning line, from us, and nothing else"
    assert "\n" not in warnings[0].getMessage() and "not delivered" in warnings[0].getMessage()


def test_an_unreachable_lineage_server_does_not_fail_the_build(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _emit_fails_quietly(LineageEmitter(tmp_path, url=f"http://127.0.0.1:{closed_port()}", timeout=2), caplog)


def test_a_lineage_server_error_does_not_fail_the_build(
    tmp_path: Path, broken_marquez: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    _emit_fails_quietly(LineageEmitter(tmp_path, url=broken_marquez.url, timeout=2), caplog)
    assert len(broken_marquez.received) == 3, "the first try and two retries reached the server"


@pytest.mark.parametrize("blocker", ["lineage", "lineage/events.jsonl"])
def test_an_unwritable_events_file_does_not_fail_the_build(
    tmp_path: Path, blocker: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A file where the folder must be, or a folder where the file must be: unwritable even for root.
    if blocker == "lineage":
        (tmp_path / "lineage").write_text("not a folder")
    else:
        (tmp_path / blocker).mkdir(parents=True)
    _emit_fails_quietly(LineageEmitter(tmp_path), caplog)


def test_read_events_skips_a_truncated_last_line(tmp_path: Path) -> None:
    assert read_events(tmp_path) == []
    one_build(LineageEmitter(tmp_path), "COMPLETE")
    with events_path(tmp_path).open("a") as file:
        file.write('{"eventType": "START", "eventTime": "2025-')
    assert [e["eventType"] for e in read_events(tmp_path)] == ["START", "COMPLETE"]


def test_wrong_arguments_are_refused_with_factory_errors(tmp_path: Path) -> None:
    emitter = LineageEmitter(tmp_path)
    run = run_id("r", "blueprint", "p")
    with pytest.raises(LineageError, match="event type"):
        emitter.emit("DONE", job="blueprint", run_id=run, **BUILD)
    with pytest.raises(LineageError, match="run id"):
        emitter.emit("START", job="blueprint", run_id="42", **BUILD)
    with pytest.raises(FactoryError, match="tenant"):
        emitter.emit("START", job="blueprint", run_id=run, **{**BUILD, "tenant": "Acme Corp"})
    with pytest.raises(LineageError, match="URL"):
        LineageEmitter(tmp_path, url="marquez:5000")
    assert read_events(tmp_path) == []
