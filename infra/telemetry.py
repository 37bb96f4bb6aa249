"""Telemetry of a running service: a smoke workload driven by its OpenAPI, and figures from its spans.

`smoke` reads `/openapi.json`, finds every entity collection and exercises it (create, list,
read, change, relationship lists, links, delete) plus requests that must be refused (no token, a
forged tenant header), each one carrying the caller's headers (a bearer token and the tenant header,
from `infra.service_tokens`) and a W3C `traceparent` with the factory trace id. `read_spans` parses
the JSON-lines file the service writes; `route_figures` and `overall` turn spans into counts,
nearest-rank percentiles and error rates, and `slo_breaches` compares them with objectives.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import ssl
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from generators.agents.tester import TENANT_HEADER
from ontology.errors import FactoryError
from ontology.refs import check_trace_id

__all__ = [
    "RouteFigure",
    "SmokeResult",
    "SpanRecord",
    "SqlSpan",
    "WorkloadError",
    "overall",
    "parse_time",
    "percentile",
    "read_spans",
    "read_window",
    "route_figures",
    "slo_breaches",
    "smoke",
    "wait_for_spans",
]

REFUSED = frozenset({400, 401, 403, 422})  # what a request without a token and tenant header may get
FORGED_TENANT = "smoke-forged-tenant"  # a tenant the smoke's token does not act for
_CHILD_DOC = re.compile(r"whose (\S+) is this")  # the generated docstring of a child list route
_SCHEMA_REF = "#/components/schemas/"


class WorkloadError(FactoryError):
    """The smoke workload could not run: the service or its OpenAPI document is not usable."""


@dataclass
class SmokeResult:
    """What the smoke workload did: requests sent, answers that were not the expected ones, entities left out."""

    requests: int = 0
    unexpected: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    exercised: list[str] = field(default_factory=list)
    started_at: str = ""

    @property
    def ok(self) -> bool:
        """True when every answer was the expected one and no entity was left out."""
        return not self.unexpected and not self.skipped


@dataclass(frozen=True)
class SpanRecord:
    """One server span as the generated service writes it."""

    trace_id: str
    span_id: str
    start: str
    method: str
    route: str
    status_code: int
    duration_ms: float
    factory_trace_id: str
    tenant: str
    query_keys: tuple[str, ...] = ()  # the names of the query parameters sent
    fields_sent: tuple[str, ...] = ()  # the top-level fields of a write's JSON body
    fields_empty: tuple[str, ...] = ()  # those of them sent null, "" or []
    fields_rejected: tuple[str, ...] = ()  # the body fields a 422 answer named
    db_queries: int = 0  # the SQL statements the request ran
    db_ms: float = 0.0


@dataclass(frozen=True)
class SqlSpan:
    """One SQL statement a request ran (a child span of the request's server span)."""

    trace_id: str
    parent_span_id: str
    start: str
    operation: str
    statement: str
    duration_ms: float


@dataclass(frozen=True)
class RouteFigure:
    """Request count, p50/p95 latency (nearest rank) and 5xx/4xx shares of one route, or of all ("*")."""

    method: str
    route: str
    count: int
    p50_ms: float
    p95_ms: float
    error_rate: float
    client_error_rate: float


def parse_time(value: str) -> datetime:
    """An ISO 8601 time; one without a zone is UTC."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _names(value: Any) -> tuple[str, ...]:
    """A comma-separated list of names (as the generated service writes them) as a tuple."""
    return tuple(name for name in str(value or "").split(",") if name)


def _sql(entry: Mapping[str, Any]) -> SqlSpan | None:
    attributes = entry.get("attributes") or {}
    if entry.get("kind") != "span" or "db.statement" not in attributes:
        return None
    return SqlSpan(
        trace_id=str(entry.get("trace_id") or ""),
        parent_span_id=str(entry.get("parent_span_id") or ""),
        start=str(entry.get("start") or ""),
        operation=str(attributes.get("db.operation", "")),
        statement=str(attributes["db.statement"]),
        duration_ms=float(attributes.get("duration_ms", entry.get("duration_ms") or 0.0)),
    )


def _span(entry: Mapping[str, Any]) -> SpanRecord | None:
    attributes = entry.get("attributes") or {}
    if entry.get("kind") != "span" or "http.route" not in attributes:
        return None
    resource = entry.get("resource") or {}
    return SpanRecord(
        trace_id=str(entry.get("trace_id") or ""),
        span_id=str(entry.get("span_id") or ""),
        start=str(entry.get("start") or ""),
        method=str(attributes.get("http.request.method", "")),
        route=str(attributes["http.route"]),
        status_code=int(attributes.get("http.response.status_code", 0)),
        duration_ms=float(attributes.get("duration_ms", entry.get("duration_ms") or 0.0)),
        factory_trace_id=str(attributes.get("factory.trace_id") or resource.get("factory.trace_id") or ""),
        tenant=str(attributes.get("tenant.id", "")),
        query_keys=_names(attributes.get("url.query.keys")),
        fields_sent=_names(attributes.get("request.fields.sent")),
        fields_empty=_names(attributes.get("request.fields.empty")),
        fields_rejected=_names(attributes.get("validation.fields")),
        db_queries=int(attributes.get("db.queries") or 0),
        db_ms=float(attributes.get("db.duration_ms") or 0.0),
    )


def _entries(path: Path) -> Iterable[dict[str, Any]]:
    """The complete JSON-object lines of a telemetry file (a line still being written is left out)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    for line in text.split("\n")[:-1]:  # the part after the last newline is not complete yet
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield entry


def read_spans(path: Path, *, trace_id: str | None = None, since: str | None = None) -> list[SpanRecord]:
    """The HTTP server spans in a telemetry file, in file order; metrics lines and unreadable lines are skipped.

    A line still being written (no newline, or cut JSON) is ignored. `trace_id` keeps spans whose W3C
    trace id or factory trace id is that one; `since` (ISO 8601) keeps spans that started at or after it."""
    after = parse_time(since) if since else None
    spans = []
    for entry in _entries(path):
        try:
            span = _span(entry)
        except (ValueError, TypeError):
            continue
        if span is None or (trace_id and trace_id not in (span.trace_id, span.factory_trace_id)):
            continue
        if after and (not span.start or parse_time(span.start) < after):
            continue
        spans.append(span)
    return spans


def read_window(path: Path, start: datetime, end: datetime) -> tuple[list[SpanRecord], list[SqlSpan]]:
    """The server spans and the SQL spans of a telemetry file that started in [start, end)."""
    spans: list[SpanRecord] = []
    queries: list[SqlSpan] = []
    for entry in _entries(path):
        try:
            span, sql = _span(entry), _sql(entry)
            moment = parse_time(str(entry.get("start") or ""))
        except (ValueError, TypeError):
            continue
        if not start <= moment < end:
            continue
        if span is not None:
            spans.append(span)
        elif sql is not None:
            queries.append(sql)
    return spans, queries


def wait_for_spans(
    path: Path, *, trace_id: str, count: int, since: str | None = None, timeout_s: float = 10.0
) -> list[SpanRecord]:
    """Poll the telemetry file until at least `count` spans of the trace are in it (or the timeout passes)."""
    deadline = time.monotonic() + timeout_s
    while True:
        spans = read_spans(path, trace_id=trace_id, since=since)
        if len(spans) >= count or time.monotonic() >= deadline:
            return spans
        time.sleep(0.05)


def percentile(values: Iterable[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `share` percent of values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _figure(method: str, route: str, spans: list[SpanRecord]) -> RouteFigure:
    durations, count = [s.duration_ms for s in spans], max(1, len(spans))
    errors, refused = sum(s.status_code >= 500 for s in spans), sum(400 <= s.status_code < 500 for s in spans)
    p50, p95 = percentile(durations, 50), percentile(durations, 95)
    return RouteFigure(method, route, len(spans), p50, p95, errors / count, refused / count)


def route_figures(spans: Iterable[SpanRecord]) -> list[RouteFigure]:
    """One figure per (method, route), sorted by route then method."""
    groups: dict[tuple[str, str], list[SpanRecord]] = defaultdict(list)
    for span in spans:
        groups[(span.route, span.method)].append(span)
    return [_figure(method, route, group) for (route, method), group in sorted(groups.items())]


def overall(spans: Iterable[SpanRecord]) -> RouteFigure:
    """The figure of all spans together, with method and route "*"."""
    return _figure("*", "*", list(spans))


def slo_breaches(figures: Iterable[RouteFigure], p95_latency_ms: float, error_rate: float) -> list[str]:
    """One line per route whose p95 latency or 5xx share is above its objective."""
    findings = []
    for f in figures:
        if f.count and f.p95_ms > p95_latency_ms:
            findings.append(f"{f.method} {f.route} p95 {f.p95_ms:.1f} ms > {p95_latency_ms:g} ms objective")
        if f.count and f.error_rate > error_rate:
            findings.append(f"{f.method} {f.route} error rate {f.error_rate:.1%} > {error_rate:.1%} objective")
    return findings


@dataclass
class _Collection:
    """An entity collection found in the OpenAPI document."""

    route: str
    item: str  # the item path, e.g. "/invoices/{item_id}"
    read: str  # the name of the schema the item route returns
    create: dict[str, Any]
    update: dict[str, Any]
    tenant_header: bool
    parents: dict[str, str] = field(default_factory=dict)  # foreign-key field -> parent collection route


def _dig(node: Any, *keys: str) -> Any:
    """The value at `keys` inside nested mappings, or {} where a key is missing."""
    for key in keys:
        node = node.get(key, {}) if isinstance(node, Mapping) else {}
    return node


def _ref(node: Any, *keys: str) -> str:
    """The schema name a `$ref` at `keys` points to ("" when there is none)."""
    return str(_dig(node, *keys, "$ref") or "").removeprefix(_SCHEMA_REF)


def _answer(operation: Any) -> str:
    return _ref(operation, "responses", "200", "content", "application/json", "schema")


def _body(operation: Any) -> str:
    return _ref(operation, "requestBody", "content", "application/json", "schema")


def _collections(spec: Mapping[str, Any]) -> dict[str, _Collection]:
    """Every "/x" with GET and POST whose "/x/{id}" has GET, PATCH and DELETE, with its foreign keys."""
    paths: Mapping[str, Mapping[str, Any]] = spec.get("paths", {})
    schemas: Mapping[str, Any] = spec.get("components", {}).get("schemas", {})
    found: dict[str, _Collection] = {}
    for route, ops in paths.items():
        if "{" in route or not {"get", "post"} <= ops.keys():
            continue
        items = [p for p, o in paths.items() if re.fullmatch(re.escape(route) + r"/\{[^}/]+\}", p)]
        item_ops = paths[items[0]] if items else {}
        if not {"get", "patch", "delete"} <= item_ops.keys():
            continue
        headers = {p.get("name", "").lower() for p in ops["get"].get("parameters", []) if p.get("in") == "header"}
        create, update = schemas.get(_body(ops["post"]), {}), schemas.get(_body(item_ops["patch"]), {})
        found[route] = _Collection(
            route, items[0], _answer(item_ops["get"]), create, update, TENANT_HEADER.lower() in headers
        )
    by_read = {c.read: c for c in found.values()}
    for path, ops in paths.items():
        parent = next((c for c in found.values() if re.fullmatch(re.escape(c.item) + r"/[^{}/]+", path)), None)
        column = _CHILD_DOC.search(str(_dig(ops, "get", "description")))
        child = by_read.get(_ref(schemas.get(_answer(_dig(ops, "get"))), "properties", "items", "items"))
        if parent and column and child and column.group(1) in child.create.get("properties", {}):
            child.parents[column.group(1)] = parent.route
    return found


def _parents_first(collections: dict[str, _Collection]) -> list[_Collection]:
    """The collections ordered so that a parent comes before its children (cycles keep the document order)."""
    ordered: list[_Collection] = []
    visiting: set[str] = set()

    def visit(c: _Collection) -> None:
        if c.route in visiting:
            return
        visiting.add(c.route)
        for parent in c.parents.values():
            visit(collections[parent])
        ordered.append(c)

    for c in collections.values():
        visit(c)
    return ordered


def _resolve(schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> Mapping[str, Any]:
    """A property schema with references followed and nullable alternatives reduced to the first non-null one."""
    if "$ref" in schema:
        return _resolve(schemas.get(_ref(schema), {}), schemas)
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    if {"number", "string"} <= {o.get("type") for o in options}:  # a Decimal: sent as a string, as money travels
        return {"type": "string", "format": "decimal"}
    first: Mapping[str, Any] = next((o for o in options if o.get("type") != "null"), {})
    return first if first is schema else _resolve(first, schemas)


def _finite(schema: Mapping[str, Any]) -> bool:
    """Whether a value has few possible values (bool, enum, const): repeating it may hit a unique constraint."""
    return schema.get("type") == "boolean" or "enum" in schema or "const" in schema


_FORMATS: dict[str, Callable[[str, int], str]] = {
    "email": lambda token, _: f"smoke-{token}@example.com",
    "uuid": lambda _, __: str(uuid.uuid4()),
    "date": lambda _, number: (date(2024, 1, 1) + timedelta(days=number % 3650)).isoformat(),
    "date-time": lambda _, number: (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=number)).isoformat(),
    "uri": lambda token, _: f"https://example.com/{token}",
    "decimal": lambda _, number: f"{number % 1000}.50",
}


def _value(schema: Mapping[str, Any], token: str, number: int) -> Any:
    """A valid value for a resolved property schema; `token` and `number` make it fresh."""
    kind, fmt = schema.get("type"), schema.get("format")
    if "const" in schema or "enum" in schema:
        return schema["const"] if "const" in schema else schema["enum"][number % len(schema["enum"])]
    if kind in ("integer", "number"):
        low = math.ceil(schema.get("minimum", schema.get("exclusiveMinimum", -1e9) + 1))
        high = math.floor(schema.get("maximum", schema.get("exclusiveMaximum", 1e9) - 1))
        start = min(max(1, low), high)  # small positive numbers where the bounds allow them
        value = start + number % (min(high - start, 1000) + 1)
        return value if kind == "integer" else float(value)
    if kind in ("boolean", "array", "object"):
        return {"boolean": True, "array": [], "object": {}}[kind]
    if fmt in _FORMATS:
        return _FORMATS[fmt](token, number)
    text = f"smoke {token}"
    text = text + "x" * max(0, int(schema.get("minLength", 0)) - len(text))
    return text[-int(schema["maxLength"]) :] if "maxLength" in schema else text


class _Smoke:
    """One run of the workload against one service."""

    def __init__(
        self,
        client: httpx.Client,
        spec: Mapping[str, Any],
        headers: Mapping[str, str],
        trace_id: str,
        started: str,
    ) -> None:
        self.client, self.headers, self.trace_id = client, headers, trace_id
        self.result = SmokeResult(requests=1, started_at=started)  # the OpenAPI document was the first request
        self.schemas: Mapping[str, Any] = spec.get("components", {}).get("schemas", {})
        self.paths: Mapping[str, Mapping[str, Any]] = spec.get("paths", {})
        self.collections = _collections(spec)
        self.run = secrets.token_hex(4)
        self.count = 0
        self.ids: dict[str, str] = {}  # collection route -> id of the row created in this round

    def send(
        self,
        method: str,
        path: str,
        expect: int | frozenset[int],
        *,
        tenant: bool = True,
        payload: Any = None,
        forged: bool = False,
    ) -> httpx.Response | None:
        """One request with the trace context and, unless `tenant` is false, the caller's headers (with the
        tenant header naming another tenant when `forged`); an answer other than `expect` is recorded."""
        headers = {"traceparent": f"00-{self.trace_id}-{secrets.token_hex(8)}-01"}
        if tenant:
            headers.update(self.headers)
        if forged:
            headers[TENANT_HEADER] = FORGED_TENANT
        self.result.requests += 1
        try:
            answer = self.client.request(method, path, headers=headers, json=payload)
        except httpx.HTTPError as exc:
            self.result.unexpected.append(f"{method} {path}: no answer ({type(exc).__name__}: {exc})")
            return None
        wanted = {expect} if isinstance(expect, int) else expect
        if answer.status_code not in wanted:
            shown = " ".join(answer.text.split())[:160]
            expected = "/".join(str(s) for s in sorted(wanted))
            self.result.unexpected.append(f"{method} {path}: expected {expected}, got {answer.status_code}: {shown}")
            return None
        return answer

    def fresh(self) -> tuple[str, int]:
        self.count += 1
        return f"{self.run}-{self.count}", int(self.run, 16) % 100_000 + self.count

    def body(self, c: _Collection) -> dict[str, Any] | str:
        """A valid create body, or the reason why none can be made (a required parent is missing)."""
        required = set(c.create.get("required", []))
        body: dict[str, Any] = {}
        for name, raw in c.create.get("properties", {}).items():
            parent = c.parents.get(name)
            if parent is not None:
                if parent in self.ids:
                    body[name] = self.ids[parent]
                elif name in required:
                    return f"{c.route}: required reference {name} to {parent} could not be created"
                continue
            schema = _resolve(raw, self.schemas)
            if name in required or not _finite(schema):
                body[name] = _value(schema, *self.fresh())
        return body

    def change(self, c: _Collection, row: Mapping[str, Any]) -> dict[str, Any]:
        """A PATCH body that changes one field to a fresh value; a bool or enum keeps its value (it may be unique)."""
        fields = [(n, _resolve(raw, self.schemas)) for n, raw in c.update.get("properties", {}).items()]
        fields = sorted((f for f in fields if f[0] not in c.parents), key=lambda f: (_finite(f[1]), f[1].get("type")))
        if not fields:
            return {}
        name, schema = fields[0]
        return {name: row.get(name) if _finite(schema) else _value(schema, *self.fresh())}

    def item(self, c: _Collection, row: str) -> str:
        return re.sub(r"\{[^}]+\}", row, c.item)

    def round(self, order: list[_Collection]) -> None:
        """Create every collection's row (parents first), read, list, change, follow relations, delete."""
        self.ids = {}
        rows: dict[str, dict[str, Any]] = {}
        for c in order:
            body = self.body(c)
            if isinstance(body, str):
                if body not in self.result.skipped:
                    self.result.skipped.append(body)
                continue
            created = self.send("POST", c.route, 201, payload=body)
            if created is not None:
                rows[c.route] = created.json()
                self.ids[c.route] = str(rows[c.route].get("id"))
        for c in order:
            if c.route not in self.ids:
                continue
            self.send("GET", c.route, 200)
            self.send("GET", self.item(c, self.ids[c.route]), 200)
            self.send("PATCH", self.item(c, self.ids[c.route]), 200, payload=self.change(c, rows[c.route]))
            if c.route not in self.result.exercised:
                self.result.exercised.append(c.route)
        self.relations()
        for c in reversed(order):
            if c.route in self.ids:
                self.send("DELETE", self.item(c, self.ids[c.route]), frozenset({200, 204}))
                self.send("GET", self.item(c, self.ids[c.route]), 404)

    def relations(self) -> None:
        """GET every relationship list of the rows created; link and unlink where a link route exists."""
        by_read = {c.read: c for c in self.collections.values()}
        for c in self.collections.values():
            if c.route not in self.ids:
                continue
            prefix = re.escape(c.item) + r"/([^{}/]+)"
            for path, ops in self.paths.items():
                if re.fullmatch(prefix, path) and "get" in ops:
                    self.send("GET", self.item(c, self.ids[c.route]) + path[len(c.item) :], 200)
                elif re.fullmatch(prefix + r"/\{[^}/]+\}", path) and {"put", "delete"} <= ops.keys():
                    page = self.schemas.get(_answer(_dig(self.paths, path.rsplit("/", 1)[0], "get")))
                    other = by_read.get(_ref(page, "properties", "items", "items"))
                    if other is not None and other.route in self.ids:
                        link = re.sub(r"\{[^}]+\}$", self.ids[other.route], path)
                        link = self.item(c, self.ids[c.route]) + link[len(c.item) :]
                        self.send("PUT", link, frozenset({200, 204}))
                        self.send("DELETE", link, frozenset({200, 204}))

    def refusals(self, order: list[_Collection]) -> None:
        """Requests the service must refuse: empty or unknown bodies, unknown ids, no token or tenant header,
        and a tenant header naming a tenant the token does not act for (when the caller sends a token)."""
        for c in order:
            if c.create.get("required"):
                self.send("POST", c.route, 422, payload={})
            elif c.create.get("additionalProperties") is False:
                self.send("POST", c.route, 422, payload={"smoke_unknown_field": 1})
            self.send("GET", self.item(c, str(uuid.uuid4())), 404)
        tenanted = next((c for c in order if c.tenant_header), None)
        if tenanted is not None:
            self.send("GET", tenanted.route, REFUSED, tenant=False)
            if "Authorization" in self.headers and self.headers.get(TENANT_HEADER) != FORGED_TENANT:
                self.send("GET", tenanted.route, 403, forged=True)


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context (httpx's default trust) for every smoke's client: each new one read the CA bundle again,
    50-90 ms a build."""
    return httpx.create_ssl_context()


def smoke(
    base_url: str,
    *,
    tenant: str,
    trace_id: str,
    rounds: int = 2,
    timeout_s: float = 10.0,
    headers: Mapping[str, str] | None = None,
) -> SmokeResult:
    """Drive every entity collection of the service at `base_url` `rounds` times, then the refusals.

    `headers` go with every request (the bearer token and tenant header of `ServiceTokens.headers`);
    without them only the tenant header is sent. Raises WorkloadError when the OpenAPI document cannot
    be read or names no collection."""
    check_trace_id(trace_id)
    started = datetime.now(UTC).isoformat()
    with httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s, verify=_tls()) as client:
        try:
            answer = client.get("/openapi.json", headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
            answer.raise_for_status()
            spec = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise WorkloadError(f"cannot read {base_url}/openapi.json ({exc}): is the service running?") from exc
        sent = dict(headers) if headers is not None else {TENANT_HEADER: tenant}
        run = _Smoke(client, spec if isinstance(spec, dict) else {}, sent, trace_id, started)
        order = _parents_first(run.collections)
        if not order:
            raise WorkloadError(f"{base_url}/openapi.json names no entity collection: nothing to exercise")
        for _ in range(rounds):
            run.round(order)
        run.refusals(order)
    return run.result
