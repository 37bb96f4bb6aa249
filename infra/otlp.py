"""The factory's OTLP/HTTP trace receiver: spans a deployed service exports, kept where the collector reads them.

A service pointed at `<factory API>/v1/tenants/<t>/products/<p>/otlp` (its `OTEL_EXPORTER_OTLP_ENDPOINT`,
with the API token in `OTEL_EXPORTER_OTLP_HEADERS`) posts `ExportTraceServiceRequest`s to `.../v1/traces`,
in the OTLP JSON encoding or in protobuf. Each span becomes one JSON line in the same shape the embedded
runtime's file exporter writes (`infra.telemetry.read_window` reads both), under
`<home>/telemetry/otlp/<tenant>/<product>-<env>.jsonl`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graph.files import FileLock
from ontology.errors import InvalidInputError
from ontology.refs import check_slug

__all__ = ["MAX_BODY_BYTES", "OTLP_JSON", "OTLP_PROTOBUF", "decode_traces", "otlp_path", "receive_traces"]

OTLP_JSON = "application/json"
OTLP_PROTOBUF = "application/x-protobuf"
MAX_BODY_BYTES = 4 << 20
"""The largest export request accepted (the SDK's batches are far smaller)."""
ENVIRONMENT_KEY = "deployment.environment"


def otlp_path(home: Path, tenant: str, product: str, env: str) -> Path:
    """Where the spans received for one product's deployment in `env` are appended."""
    name = f"{check_slug(product, 'product')}-{check_slug(env, 'environment')}.jsonl"
    return home / "telemetry" / "otlp" / check_slug(tenant, "tenant") / name


def _value(node: Any) -> Any:
    """The Python value of an OTLP AnyValue."""
    if not isinstance(node, Mapping):
        return None
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in node:
            return node[key]
    if "intValue" in node:
        return int(node["intValue"])
    if "arrayValue" in node:
        return [_value(v) for v in node["arrayValue"].get("values", [])]
    return None


def _attributes(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        return {}
    return {str(i["key"]): _value(i.get("value")) for i in items if isinstance(i, Mapping) and "key" in i}


def _time(nanos: Any) -> datetime:
    return datetime.fromtimestamp(int(nanos) / 1e9, UTC)


def _hex(value: str) -> str:
    return value.lower()


def _b64(value: str) -> str:
    return base64.b64decode(value).hex() if value else ""


def _spans(request: Mapping[str, Any], ids: Callable[[str], str]) -> list[tuple[str, dict[str, Any]]]:
    """(environment, entry) for every span of an export request in its JSON mapping form."""
    out = []
    for rs in request.get("resourceSpans") or []:
        resource = _attributes((rs.get("resource") or {}).get("attributes"))
        env = str(resource.get(ENVIRONMENT_KEY) or "dev")
        for ss in rs.get("scopeSpans") or []:
            for span in ss.get("spans") or []:
                start, end = _time(span["startTimeUnixNano"]), _time(span["endTimeUnixNano"])
                attributes = _attributes(span.get("attributes"))
                entry = {
                    "kind": "span",
                    "name": str(span.get("name", "")),
                    "trace_id": ids(str(span.get("traceId", ""))),
                    "span_id": ids(str(span.get("spanId", ""))),
                    "parent_span_id": ids(str(span.get("parentSpanId", ""))) or None,
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "duration_ms": (end - start).total_seconds() * 1000,
                    "attributes": attributes,
                    "resource": resource,
                }
                out.append((env, entry))
    return out


def decode_traces(body: bytes, content_type: str) -> list[tuple[str, dict[str, Any]]]:
    """The spans of an OTLP/HTTP trace export (JSON or protobuf), as (environment, JSON-lines entry).

    Raises InvalidInputError, saying what was wrong, for a body that is not such a request."""
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        if kind == OTLP_JSON:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise ValueError("not a JSON object")
            return _spans(request, _hex)
        if kind == OTLP_PROTOBUF:
            from google.protobuf.json_format import MessageToDict
            from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

            message = ExportTraceServiceRequest()
            message.ParseFromString(body)
            return _spans(MessageToDict(message), _b64)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInputError(f"not an OTLP trace export ({type(exc).__name__}: {str(exc)[:120]})") from None
    except Exception as exc:  # protobuf's DecodeError is not a ValueError
        raise InvalidInputError(f"not an OTLP trace export ({type(exc).__name__})") from None
    raise InvalidInputError(f"unsupported content type {kind[:60]!r}: send {OTLP_JSON} or {OTLP_PROTOBUF}")


def receive_traces(home: Path, tenant: str, product: str, body: bytes, content_type: str) -> int:
    """Decode an export and append its spans to the product's received-telemetry files; returns the count."""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidInputError(f"the export is {len(body)} bytes: send at most {MAX_BODY_BYTES} per request")
    spans = decode_traces(body, content_type)
    by_env: dict[str, list[str]] = {}
    for env, entry in spans:
        by_env.setdefault(check_slug(env, "environment"), []).append(json.dumps(entry, default=str, sort_keys=True))
    for env, lines in by_env.items():
        path = otlp_path(home, tenant, product, env)
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(path.with_suffix(".lock")).exclusive(), path.open("a", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
    return len(spans)
