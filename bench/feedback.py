"""Feedback benchmark: what a running service shows changes what the factory builds next, measurably.

    python -m bench.feedback                 # 200 000 orders, 600 requests per workload
    python -m bench.feedback --quick         # 60 000 orders, 300 requests

It builds product v1 (orders listed by a filter on `region`, an attribute without an index), deploys
it on the local runtime, loads enough rows that the unindexed filter is slow, drives a fixed workload
(filtered lists, unfiltered lists, reads by id, creates), derives findings from the deployment's span
file, designs v2 with them (the architect's rules, generators.finding_rules), renders it with the
migration the change needs, deploys it over the same database, drives the same workload and prints
p95 per route before and after, the findings, the changes they caused and the trace ids.

The baseline is v1 measured in the same run on the same machine and data. The findings are what the
factory's telemetry collector derives from the window of v1's span file (infra.telemetry_findings).
Every service it starts is stopped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from generators.agents.engineer import Engineer
from generators.blueprint import parse_blueprint
from generators.finding_rules import FindingEffects, apply_findings
from generators.migrations import read_previous
from generators.rendering import ANSWERS_PATH
from infra.runtime import LocalRuntime, ServiceProcess
from infra.slo import route_burns
from infra.telemetry import percentile, read_window
from infra.telemetry_findings import Window, derive_findings
from ontology.findings import Finding
from ontology.models import Blueprint
from ontology.refs import new_trace_id

TENANT = "bench"
PRODUCT = "orders"
SERVICE = "bench-orders"
BASELINE = "bench-orders-v1"
REGIONS = 400
SLO_P95_MS = 150.0
MIN_REQUESTS = 20
PAGING = frozenset({"limit", "offset"})

BLUEPRINT: dict[str, Any] = {
    "name": "Orders",
    "slug": PRODUCT,
    "tenant": TENANT,
    "description": "Orders of a shop, listed by region.",
    "entities": [
        {
            "name": "order",
            "attributes": [
                {"name": "reference", "type": "string", "required": True},
                {"name": "region", "type": "string", "required": True},
                {"name": "status", "type": "enum", "enum_values": ["open", "paid", "cancelled"], "required": True},
                {"name": "amount", "type": "money"},
                {"name": "note", "type": "text"},
            ],
        }
    ],
    "slo": {"p95_latency_ms": SLO_P95_MS, "error_rate": 0.01},
}

_LOADER = """
import json, random, sys, uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from sqlalchemy import create_engine, insert
from app.infrastructure.tables.order import OrderRow
rows_wanted, regions, tenant, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = random.Random(7)
engine = create_engine(url)
start = datetime(2026, 1, 1, tzinfo=UTC)
ids = []
with engine.begin() as conn:
    batch = []
    for n in range(rows_wanted):
        row_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        at = start + timedelta(seconds=n)
        batch.append({"id": row_id, "tenant_id": tenant, "created_at": at, "updated_at": at,
                      "reference": f"ORD-{n:07d}", "region": f"region-{rng.randrange(regions):03d}",
                      "status": rng.choice(["open", "paid", "cancelled"]),
                      "amount": Decimal(rng.randrange(100, 100000)) / 100, "note": None})
        if n % 97 == 0:
            ids.append(str(row_id))
        if len(batch) == 5000:
            conn.execute(insert(OrderRow.__table__), batch)
            batch = []
    if batch:
        conn.execute(insert(OrderRow.__table__), batch)
print(json.dumps(ids))
"""


@dataclass(frozen=True)
class Request:
    """One request of the fixed workload, and the route (with its filter) it is reported under."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        filters = sorted({name for name, _ in self.params} - PAGING)
        route = "/orders/{id}" if self.path.count("/") > 1 else self.path
        return f"{self.method} {route}" + (f"?{','.join(filters)}" if filters else "")


def workload(ids: Sequence[str], count: int, seed: int = 11) -> list[Request]:
    """The same requests in the same order for v1 and v2: filtered and plain lists, reads, creates."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        roll = rng.random()
        if roll < 0.60:
            region = f"region-{rng.randrange(REGIONS):03d}"
            out.append(Request("GET", "/orders", (("region", region), ("limit", "20"))))
        elif roll < 0.70:
            out.append(Request("GET", "/orders", (("limit", "20"), ("offset", str(rng.randrange(0, 200))))))
        elif roll < 0.92:
            out.append(Request("GET", f"/orders/{rng.choice(ids)}"))
        else:
            body = {"reference": f"NEW-{seed}-{n}", "region": f"region-{rng.randrange(REGIONS):03d}", "status": "open"}
            out.append(Request("POST", "/orders", body=body))
    return out


def drive(service: ServiceProcess, headers: dict[str, str], requests: Iterable[Request]) -> dict[str, list[float]]:
    """Send the requests one after another; client-side latency (ms) per label. Any non-2xx answer stops the run."""
    seen: dict[str, list[float]] = defaultdict(list)
    with httpx.Client(base_url=service.url, headers=headers, timeout=30.0) as client:
        for r in requests:
            started = time.perf_counter()
            answer = client.request(r.method, r.path, params=list(r.params), json=r.body)
            seen[r.label].append((time.perf_counter() - started) * 1000)
            if answer.status_code >= 300:
                raise SystemExit(f"{r.method} {r.path} answered {answer.status_code}: {answer.text[:200]}")
    return seen


def read_span_entries(path: Path, since: str) -> list[dict[str, Any]]:
    """The server spans of the telemetry file that started at or after `since` (ISO 8601), as written."""
    after = datetime.fromisoformat(since)
    out = []
    for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        attributes = entry.get("attributes") or {}
        if entry.get("kind") != "span" or "http.route" not in attributes or not entry.get("start"):
            continue
        if datetime.fromisoformat(str(entry["start"]).replace("Z", "+00:00")) >= after:
            out.append(entry)
    return out


def observed_findings(path: Path, blueprint: Blueprint, window: tuple[datetime, datetime]) -> list[Finding]:
    """What the factory's telemetry collector concludes from the window of v1's span file."""
    start, end = window
    spans, sql = read_window(path, start, end)
    burns = route_burns(spans, end, blueprint.slo)
    return derive_findings(Window(blueprint.tenant, blueprint.slug, 1, start, end), spans, sql, burns, blueprint)


def load_rows(runtime: LocalRuntime, source: Path, rows: int) -> list[str]:
    """Insert `rows` orders straight into the service's database with its own table code; some of their ids."""
    env = {"PYTHONPATH": str(source)}
    done = subprocess.run(
        [sys.executable, "-c", _LOADER, str(rows), str(REGIONS), TENANT, runtime.database_url(SERVICE)],
        cwd=source,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    ids: list[str] = json.loads(done.stdout)
    return ids


def _window(service: ServiceProcess, headers: dict[str, str], requests: list[Request]) -> tuple[datetime, datetime]:
    started = datetime.now(UTC)
    drive(service, headers, requests)
    time.sleep(1.5)  # the span exporter writes in batches
    return started, datetime.now(UTC)


def drive_pair(
    pair: Sequence[tuple[ServiceProcess, dict[str, str]]], requests: Sequence[Request]
) -> list[dict[str, list[float]]]:
    """Each request to both services, alternating which goes first, so that both see the same machine load."""
    seen: list[dict[str, list[float]]] = [defaultdict(list) for _ in pair]
    for n, r in enumerate(requests):
        order = (0, 1) if n % 2 == 0 else (1, 0)
        for i in order:
            service, headers = pair[i]
            seen[i].update({k: seen[i][k] + v for k, v in drive(service, headers, [r]).items()})
    return seen


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database that a running service may be writing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _print_changes(effects: FindingEffects) -> None:
    print("changes the findings caused (recorded as prov:used of each finding by the design activity):")
    for change in effects.changes:
        print(f"  [{change.rule}] {change.subject}  <- finding {change.finding.id} ({change.iri})")
    for q in effects.questions:
        print(f"  question for the owner: {q.id}: {q.text}")


def _db_path(runtime: LocalRuntime, name: str) -> Path:
    return runtime.data_dir(name) / "service.db"


def run(rows: int, count: int) -> int:
    engineer = Engineer()
    services: list[ServiceProcess] = []
    with tempfile.TemporaryDirectory(prefix="bench-feedback-") as scratch:
        home = Path(scratch)
        runtime = LocalRuntime(home)
        v1 = parse_blueprint(BLUEPRINT)
        trace_v1, trace_v2 = new_trace_id(), new_trace_id()
        engineer.render(v1, home / "v1", trace_v1)
        try:
            services.append(runtime.start(home / "v1", name=SERVICE, trace_id=trace_v1, timeout_s=60))
            t0 = time.perf_counter()
            ids = load_rows(runtime, home / "v1", rows)
            print(f"loaded {rows} orders in {time.perf_counter() - t0:.1f} s ({REGIONS} regions)")
            requests, warmup = workload(ids, count), workload(ids, 30, seed=3)
            headers = runtime.tokens(SERVICE).headers(TENANT)
            drive(services[0], headers, warmup)
            window = _window(services[0], headers, requests)
            entries = read_span_entries(services[0].telemetry_path, window[0].isoformat())
            findings = observed_findings(services[0].telemetry_path, v1, window)
            print(f"v1 trace {trace_v1}: {len(entries)} spans in the window, {len(findings)} finding(s):")
            for f in findings:
                print(f"  {f.kind:<12} {f.id}  {f.summary}")
            effects = apply_findings(v1, findings)
            _print_changes(effects)
            v2 = effects.blueprint
            result = engineer.render(v2, home / "v2", trace_v2, previous=read_previous(home / "v1", ANSWERS_PATH))
            old = home / "v1"
            changed = sorted(
                f.path
                for f in result.files
                if not (old / f.path).exists() or (old / f.path).read_bytes() != (home / "v2" / f.path).read_bytes()
            )
            print("files v2 changed:", ", ".join(p for p in changed if not p.startswith(".factory")))
            # the baseline: v1 as it was, on a copy of the same data, measured beside v2 in the same run
            copy_database(_db_path(runtime, SERVICE), _db_path(runtime, BASELINE))
            t0 = time.perf_counter()
            services[0] = runtime.replace(services[0], home / "v2", name=SERVICE, trace_id=trace_v2, timeout_s=300)
            print(f"v2 trace {trace_v2}: deployed with its migration in {time.perf_counter() - t0:.1f} s")
            services.append(runtime.start(home / "v1", name=BASELINE, trace_id=trace_v1, timeout_s=60))
            pair = [(services[1], runtime.tokens(BASELINE).headers(TENANT)), (services[0], headers)]
            since = datetime.now(UTC)
            drive_pair(pair, warmup)
            since = datetime.now(UTC)
            before, after = drive_pair(pair, requests)
            time.sleep(1.5)
            spans_v1 = read_span_entries(services[1].telemetry_path, since.isoformat())
            spans_v2 = read_span_entries(services[0].telemetry_path, since.isoformat())
        finally:
            for service in services:
                runtime.stop(service)
    observed = server(entries)
    return _report(before, after, spans_v1, spans_v2, observed, v1.slo.p95_latency_ms, trace_v1, trace_v2)


def span_label(entry: dict[str, Any]) -> str:
    """How a server span is reported: method, route and the filters it used (as `Request.label`)."""
    a = entry["attributes"]
    filters = sorted(set(filter(None, str(a.get("url.query.keys", "")).split(","))) - PAGING)
    return f"{a['http.request.method']} {a['http.route']}" + (f"?{','.join(filters)}" if filters else "")


def server(entries: Iterable[dict[str, Any]]) -> dict[str, list[float]]:
    """Server-side durations (ms) per span label."""
    out: dict[str, list[float]] = defaultdict(list)
    for e in entries:
        out[span_label(e)].append(float(e["attributes"]["duration_ms"]))
    return out


def _report(
    before: dict[str, list[float]],
    after: dict[str, list[float]],
    spans_v1: list[dict[str, Any]],
    spans_v2: list[dict[str, Any]],
    observed: dict[str, list[float]],
    objective: float,
    trace_v1: str,
    trace_v2: str,
) -> int:
    """Print p95 per route before and after (client side, then server spans); 0 when the goal is met."""
    breaching = {label for label, durations in observed.items() if percentile(durations, 95) > objective}

    goal: dict[str, list[float]] = {"breaching": [], "other": []}
    for title, v1, v2 in (("client side", before, after), ("server spans", server(spans_v1), server(spans_v2))):
        print(f"\n{'route (' + title + ')':<34}{'n':>5}{'p95 v1 ms':>12}{'p95 v2 ms':>12}{'v1/v2':>8}")
        for label in sorted(v1):
            b, a = percentile(v1[label], 95), percentile(v2.get(label, []), 95)
            ratio = b / a if a else float("inf")
            mark = " <- breached the SLO when v1 was observed" if label in breaching else ""
            print(f"{label:<34}{len(v1[label]):>5}{b:>12.2f}{a:>12.2f}{ratio:>7.1f}x{mark}")
            if title == "server spans":
                goal["breaching" if label in breaching else "other"].append(ratio)
    low = min(goal["breaching"], default=0.0)
    other = min(goal["other"], default=float("inf"))
    print(
        f"\nserver p95, v1/v2: breaching routes at least {low:.1f}x lower (goal 3x), "
        f"the other routes' ratio at least {other:.2f} (below 1: slower in v2)"
    )
    print(f"factory trace ids: v1 {trace_v1}, v2 {trace_v2}")
    print("span trace ids, first three of each: v1", ", ".join(e["trace_id"] for e in spans_v1[:3]))
    print("                                     v2", ", ".join(e["trace_id"] for e in spans_v2[:3]))
    return 0 if low >= 3 else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rows and requests")
    parser.add_argument("--rows", type=int, default=0, help="orders to load (default 200000, quick 60000)")
    parser.add_argument("--requests", type=int, default=0, help="requests per workload (default 600, quick 300)")
    args = parser.parse_args(argv)
    rows = args.rows or (60_000 if args.quick else 200_000)
    count = args.requests or (300 if args.quick else 600)
    return run(rows, count)


if __name__ == "__main__":
    sys.exit(main())
