"""Feedback benchmark: what a running service shows changes what the factory builds next, measurably.

    python -m bench.feedback                 # 200 000 orders or more (calibrated), 1 000 requests per workload
    python -m bench.feedback --quick         # 60 000 orders or more (calibrated), 400 requests
    python -m bench.feedback --rows 400000   # exactly that many orders, no calibration

It builds product v1 (orders listed by a filter on `region`, an attribute without an index), deploys
it on the local runtime, loads enough rows that the unindexed filter is slow, drives a fixed workload
(filtered lists, unfiltered lists, reads by id, creates), derives findings from the deployment's span
file, designs v2 with them (the architect's rules, generators.finding_rules), renders it with the
migration the change needs, deploys it over the same database, drives the same workload and prints
p95 per route before and after, the findings, the changes they caused and the trace ids.

"Enough rows" depends on the machine, so it is calibrated: after loading the starting rows it measures
the filtered list on v1 and loads more (at least doubling, at most 4x a step, up to 1.6 M rows) until
its median is at least twice the SLO's p95 bound; `--rows` loads exactly that many and skips this.

The baseline is v1 measured in the same run on the same machine and data, request by request beside
v2. Each route's p95 ratio v1/v2 comes with a 95 % interval from a paired bootstrap over the requests;
a route counts as slower in v2 only when its whole interval is below 1, and a breaching route as 3x
lower only when its whole interval is at or above 3. The findings are what the factory's telemetry
collector derives from the window of v1's span file (infra.telemetry_findings). Every service it starts
is stopped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sqlite3
import statistics
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
from infra.telemetry import SqlSpan, percentile, read_window
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
CALIBRATION_FACTOR = 2.0  # the filtered list's median on v1 wanted at least this many times the p95 bound
MAX_ROWS = 1_600_000
CALIBRATION_REQUESTS = 15
GOAL_RATIO = 3.0
LEVEL = 0.95

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
first = int(sys.argv[5])
rng = random.Random(7 + first)
engine = create_engine(url)
start = datetime(2026, 1, 1, tzinfo=UTC)
ids = []
with engine.begin() as conn:
    batch = []
    for n in range(first, first + rows_wanted):
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


def filtered(rng: random.Random) -> Request:
    """A list of one region's orders: the unindexed filter of v1."""
    return Request("GET", "/orders", (("region", f"region-{rng.randrange(REGIONS):03d}"), ("limit", "20")))


def workload(ids: Sequence[str], count: int, seed: int = 11, creates: float = 0.4) -> list[Request]:
    """The same requests in the same order for v1 and v2: filtered and plain lists, reads, creates.

    `creates` is the share of creates; the rest are filtered lists, plain lists and reads as 60:10:22.
    Creates are cheap, so a large share gives their p95 enough samples at little cost in time."""
    rng = random.Random(seed)
    rest = (1.0 - creates) / 0.92
    out = []
    for n in range(count):
        roll = rng.random()
        if roll < 0.60 * rest:
            out.append(filtered(rng))
        elif roll < 0.70 * rest:
            out.append(Request("GET", "/orders", (("limit", "20"), ("offset", str(rng.randrange(0, 200))))))
        elif roll < 0.92 * rest:
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


def load_rows(runtime: LocalRuntime, source: Path, rows: int, first: int = 0) -> list[str]:
    """Insert `rows` orders (numbered from `first`) straight into the service's database with its own
    table code; some of their ids."""
    env = {"PYTHONPATH": str(source)}
    url = runtime.database_url(SERVICE)
    done = subprocess.run(
        [sys.executable, "-c", _LOADER, str(rows), str(REGIONS), TENANT, url, str(first)],
        cwd=source,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    ids: list[str] = json.loads(done.stdout)
    return ids


def calibration_step(
    rows: int, median_ms: float, objective_ms: float, cap: int = MAX_ROWS, factor: float = CALIBRATION_FACTOR
) -> int:
    """How many rows the table should hold next: `rows` when the filtered list's median is already at least
    `factor` times the objective (or the cap is reached), else more, as the scan grows about linearly with
    the rows: what the measurement says is needed, with a quarter more for margin, at least twice and at
    most four times the rows, never above `cap` (rounded up to a thousand)."""
    target = factor * objective_ms
    if median_ms >= target or rows >= cap:
        return rows
    wanted = rows * 1.25 * target / median_ms if median_ms > 0 else 4 * rows
    grown = min(4 * rows, max(2 * rows, wanted))
    return min(cap, math.ceil(grown / 1000) * 1000)


def calibrate(
    runtime: LocalRuntime,
    service: ServiceProcess,
    headers: dict[str, str],
    source: Path,
    rows: int,
    ids: list[str],
    objective_ms: float,
    cap: int = MAX_ROWS,
) -> int:
    """Load more rows until v1's unindexed filtered list is clearly slower than the objective; the rows held."""
    rng = random.Random(5)
    while True:
        drive(service, headers, [filtered(rng) for _ in range(3)])  # warm the pages read
        seen = drive(service, headers, [filtered(rng) for _ in range(CALIBRATION_REQUESTS)])
        median = statistics.median(next(iter(seen.values())))
        wanted = calibration_step(rows, median, objective_ms, cap)
        target = CALIBRATION_FACTOR * objective_ms
        measured = f"calibration: {rows:,} orders, filtered list median {median:.0f} ms (wanted >= {target:.0f} ms)"
        if wanted == rows:
            print(f"{measured}: {'enough' if median >= target else f'short of it, but {cap:,} rows is the cap'}")
            return rows
        t0 = time.perf_counter()
        ids.extend(load_rows(runtime, source, wanted - rows, first=rows))
        print(f"{measured}: loaded {wanted - rows:,} more in {time.perf_counter() - t0:.1f} s")
        rows = wanted


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


def run(rows: int, count: int, *, calibrated: bool = True, creates: float = 0.4) -> int:
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
            print(f"loaded {rows:,} orders in {time.perf_counter() - t0:.1f} s ({REGIONS} regions)")
            headers = runtime.tokens(SERVICE).headers(TENANT)
            if calibrated:
                rows = calibrate(runtime, services[0], headers, home / "v1", rows, ids, v1.slo.p95_latency_ms)
            requests, warmup = workload(ids, count, creates=creates), workload(ids, 30, seed=3, creates=creates)
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
            until = datetime.now(UTC)
            sql_v1 = read_window(services[1].telemetry_path, since, until)[1]
            sql_v2 = read_window(services[0].telemetry_path, since, until)[1]
        finally:
            for service in services:
                runtime.stop(service)
    observed = server(entries)
    print(f"\n{rows:,} orders; {count} requests per workload, {creates:.0%} of them creates")
    print("SQL statements per request, v1 -> v2 (the same work but for the index reads and upkeep):")
    per_v1, per_v2 = statements_per_request(spans_v1, sql_v1), statements_per_request(spans_v2, sql_v2)
    for label in sorted(per_v1):
        print(f"  {label:<32}{per_v1[label]:>6.2f} -> {per_v2.get(label, 0.0):.2f}")
    return _report(before, after, spans_v1, spans_v2, observed, v1.slo.p95_latency_ms, trace_v1, trace_v2)


def span_label(entry: dict[str, Any]) -> str:
    """How a server span is reported: method, route and the filters it used (as `Request.label`)."""
    a = entry["attributes"]
    filters = sorted(set(filter(None, str(a.get("url.query.keys", "")).split(","))) - PAGING)
    return f"{a['http.request.method']} {a['http.route']}" + (f"?{','.join(filters)}" if filters else "")


def server(entries: Iterable[dict[str, Any]]) -> dict[str, list[float]]:
    """Server-side durations (ms) per span label, in the order the requests started."""
    out: dict[str, list[float]] = defaultdict(list)
    for e in sorted(entries, key=lambda e: str(e["start"])):
        out[span_label(e)].append(float(e["attributes"]["duration_ms"]))
    return out


def statements_per_request(entries: Sequence[dict[str, Any]], sql: Iterable[SqlSpan]) -> dict[str, float]:
    """The mean number of SQL statements one request ran, per span label (a request is one trace)."""
    per_trace: dict[str, int] = defaultdict(int)
    for q in sql:
        per_trace[q.trace_id] += 1
    counts: dict[str, list[int]] = defaultdict(list)
    for e in entries:
        counts[span_label(e)].append(per_trace.get(str(e["trace_id"]), 0))
    return {label: sum(n) / len(n) for label, n in counts.items()}


@dataclass(frozen=True)
class Ratio:
    """p95 v1 / p95 v2 of one route, with its bootstrap interval."""

    value: float
    low: float
    high: float

    @property
    def slower(self) -> bool:
        """Slower in v2 beyond doubt: the whole interval is below 1."""
        return self.high < 1.0

    def at_least(self, goal: float) -> bool:
        """At least `goal` times lower in v2 beyond doubt: the whole interval is at or above it."""
        return self.low >= goal


def _ratio(v1: Sequence[float], v2: Sequence[float]) -> float:
    b, a = percentile(v1, 95), percentile(v2, 95)
    return b / a if a else float("inf")


def bootstrap_ratio(
    v1: Sequence[float], v2: Sequence[float], *, resamples: int = 2000, level: float = LEVEL, seed: int = 17
) -> Ratio:
    """The p95 ratio v1/v2 and its percentile-bootstrap interval at `level`.

    The requests went to v1 and v2 in pairs (the same request to each, one after the other), so when both
    hold as many durations the pairs are resampled together, which keeps what both shared (the request,
    the machine's load at that moment); otherwise each side is resampled on its own."""
    value = _ratio(v1, v2)
    if not v1 or not v2:
        return Ratio(value, value, value)
    rng = random.Random(seed)
    ratios = []
    for _ in range(resamples):
        if len(v1) == len(v2):
            picks = rng.choices(range(len(v1)), k=len(v1))
            ratios.append(_ratio([v1[i] for i in picks], [v2[i] for i in picks]))
        else:
            ratios.append(_ratio(rng.choices(v1, k=len(v1)), rng.choices(v2, k=len(v2))))
    ratios.sort()
    tail = (1.0 - level) / 2
    low = ratios[max(0, math.floor(tail * resamples))]
    high = ratios[min(resamples - 1, math.ceil((1.0 - tail) * resamples) - 1)]
    return Ratio(value, low, high)


@dataclass(frozen=True)
class Verdict:
    """The goal on the server spans: every breaching route at least 3x lower, no route slower."""

    breaching: dict[str, Ratio]
    other: dict[str, Ratio]

    @property
    def lower(self) -> bool:
        return bool(self.breaching) and all(r.at_least(GOAL_RATIO) for r in self.breaching.values())

    @property
    def slower(self) -> list[str]:
        return sorted(label for label, r in {**self.breaching, **self.other}.items() if r.slower)

    @property
    def met(self) -> bool:
        return self.lower and not self.slower


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

    verdict = Verdict({}, {})
    interval = f"{LEVEL:.0%} interval"
    for title, v1, v2 in (("client side", before, after), ("server spans", server(spans_v1), server(spans_v2))):
        print(f"\n{'route (' + title + ')':<34}{'n':>5}{'p95 v1 ms':>12}{'p95 v2 ms':>12}{'v1/v2':>8}{interval:>18}")
        for label in sorted(v1):
            b, a = percentile(v1[label], 95), percentile(v2.get(label, []), 95)
            r = bootstrap_ratio(v1[label], v2.get(label, []))
            mark = " <- breached the SLO when v1 was observed" if label in breaching else ""
            span = f"{r.low:.2f}-{r.high:.2f}"
            print(f"{label:<34}{len(v1[label]):>5}{b:>12.2f}{a:>12.2f}{r.value:>7.2f}x{span:>18}{mark}")
            if title == "server spans":
                (verdict.breaching if label in breaching else verdict.other)[label] = r
    print(
        f"\nthe goal, on the server spans' p95 v1/v2 with {interval}s from a paired bootstrap (2,000 resamples):\n"
        f"  a breaching route counts as {GOAL_RATIO:g}x lower only when its whole interval is at or above "
        f"{GOAL_RATIO:g}, and a route as slower in v2 only when its whole interval is below 1"
    )
    if not verdict.breaching:
        print("  no route breached the SLO when v1 was observed: the scenario proves nothing (more --rows)")
    for label, r in sorted(verdict.breaching.items()):
        state = "met" if r.at_least(GOAL_RATIO) else "not shown"
        print(f"  {label}: {r.value:.2f}x ({r.low:.2f}-{r.high:.2f}) lower: {GOAL_RATIO:g}x {state}")
    for label, r in sorted(verdict.other.items()):
        state = "slower in v2" if r.slower else ("not slower" if r.low >= 1.0 else "no difference shown")
        print(f"  {label}: {r.value:.2f}x ({r.low:.2f}-{r.high:.2f}): {state}")
    print(f"  goal {'met' if verdict.met else 'not met'}")
    print(f"factory trace ids: v1 {trace_v1}, v2 {trace_v2}")
    print("span trace ids, first three of each: v1", ", ".join(e["trace_id"] for e in spans_v1[:3]))
    print("                                     v2", ", ".join(e["trace_id"] for e in spans_v2[:3]))
    return 0 if verdict.met else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rows to start from and fewer requests")
    parser.add_argument(
        "--rows", type=int, default=0,
        help="orders to load, exactly (default: 200000, quick 60000, then more until the filter is slow)",
    )  # fmt: skip
    parser.add_argument("--requests", type=int, default=0, help="requests per workload (default 1000, quick 400)")
    parser.add_argument("--creates", type=float, default=0.4, help="the workload's share of creates (default 0.4)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.creates < 1.0:
        parser.error("--creates is a share, 0 to below 1")
    rows = args.rows or (60_000 if args.quick else 200_000)
    count = args.requests or (400 if args.quick else 1000)
    return run(rows, count, calibrated=not args.rows, creates=args.creates)


if __name__ == "__main__":
    sys.exit(main())
