"""Events through the outbox: events/s and state change → delivery latency, to NATS JetStream and a webhook.

`python -m bench.events [--events 500] [--nats nats://127.0.0.1:4222]`

The outbox leg makes N state changes (`ControlPlane.set_stage`, each a committed transaction with its
event) while a dispatcher thread delivers them to a JetStream stream and to a signed webhook on
loopback; a NATS subscriber and the webhook receiver note when each CloudEvent id arrives. The baseline,
measured in the same run, sends the same CloudEvents directly: a JetStream publish (awaiting its ack) and
a signed POST, with no database in between. Ratios are outbox / direct (throughput) and outbox - direct
(the latency the outbox adds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from infra import webhooks
from infra.control import ControlPlane
from infra.event_transports import EventDispatcher, NatsPublisher
from infra.events import add_event, structured
from infra.records import EventRecord


class Arrivals:
    """When each CloudEvent id first arrived (perf_counter), by transport."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[str, dict[str, float]] = {"nats": {}, "webhook": {}}

    def note(self, leg: str, event_id: str) -> None:
        now = time.perf_counter()
        with self.lock:
            self.seen[leg].setdefault(event_id, now)

    def wait(self, leg: str, ids: list[str], timeout_s: float) -> dict[str, float]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if all(i in self.seen[leg] for i in ids):
                    return {i: self.seen[leg][i] for i in ids}
            time.sleep(0.005)
        raise SystemExit(f"{leg}: only {len(self.seen[leg])} of {len(ids)} events arrived in {timeout_s} s")


def receiver(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            arrivals.note("webhook", self.headers["webhook-id"])
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def subscriber(url: str, subject: str, arrivals: Arrivals) -> Callable[[], None]:
    """A core NATS subscription on the events' subjects in a thread of its own; returns its stop."""
    import nats

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        connection = await nats.connect(url)

        async def handle(message: Any) -> None:
            arrivals.note("nats", json.loads(message.data)["id"])

        await connection.subscribe(f"{subject}.>", cb=handle)
        await connection.flush()
        holder["nc"] = connection
        ready.set()

    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    ready.wait(10)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(holder["nc"].close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)

    return stop


def figures(starts: list[float], arrived: list[float]) -> dict[str, float]:
    latencies = sorted((a - s) * 1000 for s, a in zip(starts, arrived, strict=True))
    span = max(arrived) - min(starts)
    return {
        "events_per_s": len(starts) / span,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[max(0, round(0.95 * len(latencies)) - 1)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500, help="State changes in the burst (throughput).")
    parser.add_argument("--paced", type=int, default=100, help="State changes made at --rate (latency).")
    parser.add_argument("--rate", type=float, default=20.0, help="State changes per second in the paced leg.")
    parser.add_argument("--nats", default=os.environ.get("FACTORY_NATS_URL") or "nats://127.0.0.1:4222")
    args = parser.parse_args()
    os.environ["FACTORY_WEBHOOKS_ALLOW_PRIVATE"] = "1"  # the receiver is on loopback
    n = args.events
    tag = uuid.uuid4().hex[:8]
    stream, subject = f"BENCH_EVENTS_{tag}", f"bench-events.{tag}"
    arrivals = Arrivals()
    server = receiver(arrivals)
    stop_subscriber = subscriber(args.nats, subject, arrivals)
    publisher = NatsPublisher(args.nats, stream=stream, subject_prefix=subject)
    results: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as folder:
            control = ControlPlane(f"sqlite:///{Path(folder) / 'control.db'}")
            url = f"http://127.0.0.1:{server.server_address[1]}/hook"
            _, secret = webhooks.add_webhook(control, "bench", url, actor="bench")

            # the outbox: state changes, a dispatcher thread delivering them
            dispatcher = EventDispatcher(control, nats=publisher)
            stop = threading.Event()
            thread = threading.Thread(target=dispatcher.run_forever, args=(stop, 0.005), daemon=True)
            thread.start()
            seen = 0
            for name, count, pause in (("burst", n, 0.0), ("paced", args.paced, 1 / args.rate)):
                starts = []
                for i in range(count):
                    starts.append(time.perf_counter())
                    control.set_stage("bench", "shop", f"stage-{i % 10}", "running", trace_id="b" * 32)
                    time.sleep(pause)
                ids: list[str] = []
                while len(ids) < count:
                    more = webhooks.list_events(control, "bench", after=seen + len(ids), limit=1000)
                    ids += [e.event_id for e in more]
                seen += count
                for leg in ("nats", "webhook"):
                    arrived = arrivals.wait(leg, ids, timeout_s=60 + count / 10)
                    results[f"outbox → {leg} ({name})"] = figures(starts, [arrived[i] for i in ids])
            stop.set()
            thread.join(10)
            dispatcher.client.close()

            # the baseline: the same CloudEvents sent directly, no outbox
            with control._session(write=True) as session:
                rows: list[EventRecord] = [
                    add_event(session, "stage.started", tenant="bench", product="shop", data={"stage": "x"})
                    for _ in range(n)
                ]
            starts = []
            for row in rows:
                starts.append(time.perf_counter())
                publisher.publish([row])
            arrived_nats = arrivals.wait("nats", [r.event_id for r in rows], timeout_s=60 + n / 10)
            results["direct → nats"] = figures(starts, [arrived_nats[r.event_id] for r in rows])
            starts = []
            with httpx.Client() as client:
                for row in rows:
                    starts.append(time.perf_counter())
                    body = structured(row)
                    stamp = int(time.time())
                    headers = {"webhook-id": row.event_id, "webhook-timestamp": str(stamp),
                               "webhook-signature": webhooks.sign(secret, row.event_id, stamp, body),
                               "content-type": "application/cloudevents+json"}  # fmt: skip
                    client.post(url, content=body, headers=headers)
            arrived_hook = arrivals.wait("webhook", [r.event_id for r in rows], timeout_s=60)
            results["direct → webhook"] = figures(starts, [arrived_hook[r.event_id] for r in rows])
            control.engine.dispose()
    finally:
        stop_subscriber()

        async def drop(js: Any) -> None:
            await js.delete_stream(stream)

        publisher._call(drop(publisher._js))
        publisher.close()
        server.shutdown()
    print(f"burst of {n} and {args.paced} paced at {args.rate:g}/s state changes, SQLite outbox, NATS at "
          f"{args.nats}, webhook on loopback")  # fmt: skip
    print(f"{'leg':<28} {'events/s':>10} {'p50 ms':>9} {'p95 ms':>9}")
    for leg, shown in results.items():
        print(f"{leg:<28} {shown['events_per_s']:>10.0f} {shown['p50_ms']:>9.2f} {shown['p95_ms']:>9.2f}")
    for leg in ("nats", "webhook"):
        burst, paced = results[f"outbox → {leg} (burst)"], results[f"outbox → {leg} (paced)"]
        direct = results[f"direct → {leg}"]
        print(f"{leg}: throughput ratio outbox/direct {burst['events_per_s'] / direct['events_per_s']:.2f}; "
              f"paced, the outbox adds {paced['p50_ms'] - direct['p50_ms']:.1f} ms at p50 and "
              f"{paced['p95_ms'] - direct['p95_ms']:.1f} ms at p95")  # fmt: skip


if __name__ == "__main__":
    main()
