"""`python -m bench.feedback`'s pure parts: how many rows its calibration loads, the workload's mix, the
bootstrap interval of a p95 ratio and the verdict drawn from the intervals."""

from __future__ import annotations

import random
from collections import Counter

from bench.feedback import (
    MAX_ROWS,
    Ratio,
    Verdict,
    bootstrap_ratio,
    calibration_step,
    statements_per_request,
    workload,
)
from infra.telemetry import SqlSpan


def test_calibration_stops_once_the_filter_is_twice_the_objective() -> None:
    assert calibration_step(200_000, 300.0, 150.0) == 200_000
    assert calibration_step(200_000, 900.0, 150.0) == 200_000


def test_calibration_grows_by_what_the_measurement_asks_between_twice_and_four_times() -> None:
    # 250 ms of 300 wanted: 1.2x, with the margin 1.5x, so doubling
    assert calibration_step(200_000, 250.0, 150.0) == 400_000
    # 100 ms: 3x, with the margin 3.75x
    assert calibration_step(200_000, 100.0, 150.0) == 750_000
    # 20 ms: 15x wanted, four times at most in one step
    assert calibration_step(200_000, 20.0, 150.0) == 800_000
    assert calibration_step(200_000, 0.0, 150.0) == 800_000


def test_calibration_never_passes_the_cap() -> None:
    assert calibration_step(1_000_000, 100.0, 150.0) == MAX_ROWS
    assert calibration_step(MAX_ROWS, 100.0, 150.0) == MAX_ROWS
    assert calibration_step(60_000, 10.0, 150.0, cap=100_000) == 100_000


def test_the_workload_mix_gives_creates_their_share_and_keeps_the_rest_as_before() -> None:
    ids = [f"id-{n}" for n in range(50)]
    kinds = Counter(
        "create" if r.method == "POST" else "read" if r.path != "/orders" else r.label for r in workload(ids, 5000)
    )
    assert abs(kinds["create"] / 5000 - 0.4) < 0.03
    assert abs(kinds["GET /orders?region"] / 5000 - 0.6 * 0.6 / 0.92) < 0.03
    assert abs(kinds["read"] / 5000 - 0.22 * 0.6 / 0.92) < 0.03
    assert workload(ids, 100) == workload(ids, 100)  # the same for v1 and v2
    old = Counter(r.method for r in workload(ids, 5000, creates=0.08))
    assert abs(old["POST"] / 5000 - 0.08) < 0.02


def test_bootstrap_interval_holds_the_ratio_and_narrows_with_more_requests() -> None:
    rng = random.Random(1)
    few = [rng.gauss(25, 5) for _ in range(40)]
    many = [rng.gauss(25, 5) for _ in range(400)]
    small = bootstrap_ratio(few, [x * rng.uniform(0.9, 1.1) for x in few], resamples=400)
    large = bootstrap_ratio(many, [x * rng.uniform(0.9, 1.1) for x in many], resamples=400)
    for r in (small, large):
        assert r.low <= r.value <= r.high
        assert r.low < 1.0 < r.high
    assert large.high - large.low < small.high - small.low


def test_bootstrap_sees_a_real_difference_and_pairs_only_equal_samples() -> None:
    rng = random.Random(2)
    v1 = [rng.gauss(500, 50) for _ in range(200)]
    faster = bootstrap_ratio(v1, [x / 10 for x in v1], resamples=300)
    assert 9.99 < faster.low <= faster.high < 10.01  # paired: the same request's ratio, exactly 10
    unpaired = bootstrap_ratio(v1, [x / 10 for x in v1[:150]], resamples=300)
    assert unpaired.low > 3 and unpaired.high - unpaired.low > faster.high - faster.low
    assert bootstrap_ratio([], [1.0]) == Ratio(0.0, 0.0, 0.0)
    assert bootstrap_ratio(v1, v1, resamples=50, seed=3) == bootstrap_ratio(v1, v1, resamples=50, seed=3)


def test_verdict_counts_a_route_slower_or_3x_lower_only_on_its_whole_interval() -> None:
    fast = {"GET /orders?region": Ratio(8.0, 6.0, 11.0)}
    assert Verdict(fast, {"POST /orders": Ratio(0.9, 0.8, 1.02)}).met  # the interval holds 1: not slower
    slower = Verdict(fast, {"POST /orders": Ratio(0.9, 0.85, 0.97)})
    assert slower.slower == ["POST /orders"] and not slower.met
    assert not Verdict({"GET /orders": Ratio(3.4, 2.8, 4.0)}, {}).met  # 3x not shown by the whole interval
    assert not Verdict({}, {"POST /orders": Ratio(1.0, 0.9, 1.1)}).met  # nothing breached: nothing shown


def test_statements_per_request_counts_each_requests_sql_by_its_trace() -> None:
    def span(trace: str, method: str, route: str, keys: str = "") -> dict[str, object]:
        attributes = {"http.request.method": method, "http.route": route, "url.query.keys": keys}
        return {"trace_id": trace, "start": "2026-01-01T00:00:00+00:00", "attributes": attributes}

    def sql(trace: str) -> SqlSpan:
        return SqlSpan(trace, "p", "2026-01-01T00:00:00+00:00", "SELECT", "SELECT 1", 0.1)

    spans = [span("a", "POST", "/orders"), span("b", "POST", "/orders"), span("c", "GET", "/orders", "region,limit")]
    counts = statements_per_request(spans, [sql("a"), sql("a"), sql("b"), sql("b"), sql("b"), sql("c")])
    assert counts == {"POST /orders": 2.5, "GET /orders?region": 1.0}
