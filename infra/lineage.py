"""OpenLineage run events for the factory's lifecycle assets, sent through openlineage-python's client.

Events go to `$FACTORY_HOME/lineage/events.jsonl` (one JSON event per line) unless a URL is given or
`OPENLINEAGE_URL` is set, in which case they are posted to that OpenLineage HTTP endpoint (Marquez).
A lineage outage never fails a build: `emit` logs one warning line and returns False.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlparse

import attr
import jsonschema
from jsonschema.exceptions import best_match
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    JobFacet,
    RunFacet,
    error_message_run,
    job_type_job,
    nominal_time_run,
    processing_engine_run,
)
from openlineage.client.transport import Transport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport

from ontology.config import factory_home
from ontology.errors import FactoryError
from ontology.refs import check_slug, check_trace_id

__all__ = [
    "FACTORY_FACET_SCHEMA",
    "JOB_NAMESPACE",
    "PRODUCER",
    "SCHEMA_PATH",
    "EventType",
    "FactoryRunFacet",
    "LineageEmitter",
    "LineageError",
    "dataset_namespace",
    "events_path",
    "missing_format_checks",
    "read_events",
    "run_id",
    "validate_event",
]

PRODUCER = "https://softwarefactory.dev/software-factory"
JOB_NAMESPACE = "software-factory"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "OpenLineage.json"
FACTORY_FACET_SCHEMA_URL = "https://softwarefactory.dev/spec/facets/1-0-0/FactoryRunFacet.json#/$defs/FactoryRunFacet"
HTTP_ENDPOINT = "api/v1/lineage"
EventType = Literal["START", "COMPLETE", "FAIL"]
# Formats the OpenLineage schema uses, and the package that makes jsonschema check each one.
FORMAT_PACKAGES = {"uuid": "(built in)", "date-time": "rfc3339-validator", "uri": "rfc3986-validator"}
# Two quick retries on 5xx only: a server that is down or hangs must not hold a build up, and retried
# connection errors would each log a urllib3 warning of their own.
HTTP_RETRY = {"total": 2, "connect": 0, "read": 0, "status": 2, "backoff_factor": 0.2}

# The JSON schema of the `factory` run facet, which `validate_event` applies on top of the OpenLineage one.
FACTORY_FACET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "_producer": {"type": "string", "format": "uri"},
        "_schemaURL": {"type": "string", "const": FACTORY_FACET_SCHEMA_URL},
        "traceId": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "tenant": {"type": "string", "minLength": 1},
        "product": {"type": "string", "minLength": 1},
        "dagsterRunId": {"type": "string"},
    },
    "required": ["_producer", "_schemaURL", "traceId", "tenant", "product"],
}
_RUN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, PRODUCER)
_log = logging.getLogger(__name__)


class LineageError(FactoryError):
    """A lineage event is not valid OpenLineage, or the lineage settings are wrong."""


@attr.define
class FactoryRunFacet(RunFacet):
    """The `factory` run facet: the build's trace id, its tenant and product, and the Dagster run."""

    traceId: str
    tenant: str
    product: str
    dagsterRunId: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return FACTORY_FACET_SCHEMA_URL


class _Client(OpenLineageClient):
    """The OpenLineage client, without its habit of copying `OPENLINEAGE_URL` into `os.environ`."""

    def _alias_env_vars(self) -> None:
        """Do nothing: the emitter reads `OPENLINEAGE_URL` itself and hands the client its transport."""


def events_path(home: Path | None = None) -> Path:
    """The file that the default transport appends events to: `<home>/lineage/events.jsonl`."""
    return (home if home is not None else factory_home()) / "lineage" / "events.jsonl"


def dataset_namespace(tenant: str, product: str) -> str:
    """The namespace of a product's datasets: `factory://<tenant>/<product>`."""
    return f"factory://{check_slug(tenant, 'tenant')}/{check_slug(product, 'product')}"


def run_id(dagster_run_id: str, asset: str, partition: str) -> str:
    """The OpenLineage run id of one asset partition in one Dagster run: the same inputs give the same UUID."""
    return str(uuid.uuid5(_RUN_NAMESPACE, json.dumps([dagster_run_id, asset, partition])))


class LineageEmitter:
    """Sends the factory's OpenLineage run events to the events file, or to an HTTP endpoint when one is set."""

    def __init__(self, home: Path | None = None, url: str | None = None, *, timeout: float = 5.0) -> None:
        self.url = url or os.environ.get("OPENLINEAGE_URL") or None
        self.path: Path | None = None
        transport: Transport
        if self.url:
            transport = _http_transport(self.url, timeout)
        else:
            self.path = events_path(home)
            transport = FileTransport(FileConfig(log_file_path=str(self.path), append=True))
        self._client = _Client(transport=transport)
        self._started: dict[str, str] = {}

    @property
    def target(self) -> str:
        """Where events go: the HTTP URL or the events file."""
        return self.url or str(self.path)

    def emit(
        self,
        event_type: EventType,
        *,
        job: str,
        run_id: str,
        tenant: str,
        product: str,
        trace_id: str,
        inputs: Sequence[str] = (),
        outputs: Sequence[str] = (),
        dagster_run_id: str | None = None,
        error: str | None = None,
    ) -> bool:
        """Send one run event for the asset `job`; False (and one warning line) when the transport failed."""
        event = self._event(event_type, job, run_id, tenant, product, trace_id, inputs, outputs, dagster_run_id, error)
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._client.emit(event)
        except Exception as exc:
            _log.warning(
                "OpenLineage %s event for %s not delivered to %s: %s", event_type, job, self.target, _one_line(exc)
            )
            return False
        return True

    def close(self) -> None:
        """Release the transport (the HTTP session); the emitter can still emit afterwards."""
        self._client.close(timeout=0)

    def _event(
        self,
        event_type: str,
        job: str,
        run: str,
        tenant: str,
        product: str,
        trace_id: str,
        inputs: Sequence[str],
        outputs: Sequence[str],
        dagster_run_id: str | None,
        error: str | None,
    ) -> RunEvent:
        if event_type not in get_args(EventType):
            raise LineageError(f"unknown lineage event type {event_type!r}: use START, COMPLETE or FAIL")
        if not job:
            raise LineageError("a lineage event needs a job name (the asset name)")
        try:
            run = str(uuid.UUID(run))
        except (ValueError, TypeError, AttributeError):
            raise LineageError(f"invalid lineage run id {str(run)[:80]!r}: use lineage.run_id(...)") from None
        namespace = dataset_namespace(tenant, product)
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        if event_type == "START":
            self._started[run] = now
            started: str | None = now
        else:
            started = self._started.pop(run, None)
        run_facets: dict[str, RunFacet] = {
            "factory": FactoryRunFacet(
                traceId=check_trace_id(trace_id),
                tenant=tenant,
                product=product,
                dagsterRunId=dagster_run_id,
                producer=PRODUCER,
            ),
            "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
                version=_version("dagster") or "unknown",
                name="Dagster",
                openlineageAdapterVersion=_version("software-factory"),
                producer=PRODUCER,
            ),
        }
        if started is not None:
            run_facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(
                nominalStartTime=started, producer=PRODUCER
            )
        if event_type == "FAIL":
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=error or "the asset failed without an error message",
                programmingLanguage="PYTHON",
                producer=PRODUCER,
            )
        job_facets: dict[str, JobFacet] = {
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="DAGSTER", jobType="ASSET", producer=PRODUCER
            )
        }
        return RunEvent(
            eventType=RunState(event_type),
            eventTime=now,
            run=Run(runId=run, facets=run_facets),
            job=Job(namespace=JOB_NAMESPACE, name=job, facets=job_facets),
            inputs=[InputDataset(namespace=namespace, name=name) for name in inputs],
            outputs=[OutputDataset(namespace=namespace, name=name) for name in outputs],
            producer=PRODUCER,
        )


def read_events(home: Path | None = None) -> list[dict[str, Any]]:
    """The events in `<home>/lineage/events.jsonl`, oldest first; a line cut short by a crash is skipped."""
    path = events_path(home)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise LineageError(f"cannot read lineage events {path}: {_one_line(exc)}") from None
    events: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            if number != len(lines):
                _log.warning("skipped unreadable lineage event on line %d of %s", number, path)
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def missing_format_checks() -> list[str]:
    """The formats used by the OpenLineage schema that jsonschema cannot check here, for lack of a package."""
    active = jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers
    return [f"{name} (needs {package})" for name, package in FORMAT_PACKAGES.items() if name not in active]


def validate_event(event: dict[str, Any]) -> None:
    """Raise LineageError unless `event` is a valid OpenLineage run event, formats and `factory` facet included."""
    missing = missing_format_checks()
    if missing:
        raise LineageError(f"cannot check lineage event formats: {', '.join(missing)} is not installed")
    event_validator, facet_validator = _validators()
    _raise_first(event_validator, event, "event")
    facet = event["run"].get("facets", {}).get("factory")
    if facet is not None:
        _raise_first(facet_validator, facet, "factory facet")


@cache
def _validators() -> tuple[jsonschema.Draft202012Validator, jsonschema.Draft202012Validator]:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    for one in (schema, FACTORY_FACET_SCHEMA):
        jsonschema.Draft202012Validator.check_schema(one)
    return (
        jsonschema.Draft202012Validator(schema, format_checker=checker),
        jsonschema.Draft202012Validator(FACTORY_FACET_SCHEMA, format_checker=checker),
    )


def _raise_first(validator: jsonschema.Draft202012Validator, instance: object, what: str) -> None:
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        raise LineageError(f"invalid OpenLineage {what} at {error.json_path}: {_one_line(error.message)}")


def _http_transport(url: str, timeout: float) -> HttpTransport:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise LineageError(f"invalid OpenLineage URL {url[:80]!r}: use http(s)://host:port, e.g. Marquez's")
    config: dict[str, Any] = {
        "url": url,
        "endpoint": os.environ.get("OPENLINEAGE_ENDPOINT") or HTTP_ENDPOINT,
        "timeout": timeout,
        "retry": HTTP_RETRY,
    }
    if api_key := os.environ.get("OPENLINEAGE_API_KEY"):
        config["auth"] = {"type": "api_key", "apiKey": api_key}
    return HttpTransport(HttpConfig.from_dict(config))


@cache
def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _one_line(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    if isinstance(value, BaseException):
        text = f"{type(value).__name__}: {text}" if text else type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
