"""A dispatcher that dies between sending and marking, run as a process of its own by tests/test_events.py.

`python -m tests.events_worker URL MODE NATS STREAM SUBJECT` opens the control database at URL and runs
one delivery pass with a short lease; with MODE `nats` the process exits right after JetStream
acknowledged the first batch, with MODE `webhook` right after the first webhook answered, in both cases
before the outbox row is marked delivered.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import httpx

from infra.control import ControlPlane
from infra.event_transports import EventDispatcher, NatsPublisher
from infra.records import EventRecord

DIED = 17


class DyingPublisher(NatsPublisher):
    def publish(self, rows: Sequence[EventRecord]) -> list[tuple[int, bool]]:
        acked = super().publish(rows)
        print(f"published {len(acked)}", flush=True)
        os._exit(DIED)


class DyingTransport(httpx.HTTPTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        print(f"sent {request.headers['webhook-id']} -> {response.status_code}", flush=True)
        os._exit(DIED)


def main(url: str, mode: str, nats_url: str, stream: str, subject: str) -> None:
    control = ControlPlane(url)
    nats = DyingPublisher(nats_url, stream=stream, subject_prefix=subject) if mode == "nats" else None
    client = httpx.Client(transport=DyingTransport()) if mode == "webhook" else None
    EventDispatcher(control, nats=nats, client=client, lease_s=0.5).run_once()
    print("the pass ended without dying", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
