"""A webhook receiver on loopback for the tests: it checks each delivery's signature with the `standardwebhooks`
package (not with the factory's code), counts deliveries by id, and acts on each id once, as a consumer that
de-duplicates does. It can be stopped and started again on the same port.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

__all__ = ["Consumer", "Receiver"]


@dataclass
class Consumer:
    """The receiver's memory: every delivery, and what a consumer that de-duplicates by id processed."""

    secret: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    deliveries: Counter[str] = field(default_factory=Counter)
    processed: list[str] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        try:
            event = Webhook(self.secret).verify(body, headers)
        except Exception as error:  # a bad signature is answered 401 and counted
            with self.lock:
                self.refused.append(f"{headers.get('webhook-id')}: {error}")
            return 401
        event_id = headers["webhook-id"]
        with self.lock:
            self.deliveries[event_id] += 1
            if event_id in self.bodies:  # a repeat: the same event, byte for byte, so dropping it loses nothing
                if self.bodies[event_id] != body and json.loads(self.bodies[event_id]) != event:
                    self.refused.append(f"{event_id}: a repeat that is another event")
                return 204
            self.bodies[event_id] = body
            self.processed.append(event["id"])
        return 204

    def seen(self) -> list[str]:
        """The ids processed so far, in the order they first came."""
        with self.lock:
            return list(self.processed)


class Receiver:
    """A webhook receiver on a fixed loopback port that can be stopped and started again."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer, self.port = consumer, 0
        self.server: ThreadingHTTPServer | None = None

    def url(self, path: str = "/events") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        consumer = self.consumer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = consumer.receive({k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
