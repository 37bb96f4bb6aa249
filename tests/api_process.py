"""`factory api` as a real process on a loopback port, for the tests that talk to it over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def factory_api(home: Path, **env: str) -> Iterator[str]:
    """Start `factory api` on `home` (with `env` added, no FACTORY_TOKEN), yield its URL once it answers
    /healthz, and stop it afterwards (SIGINT, then a kill of its process group); its log is home/api.log."""
    port = free_port()
    environment = {**os.environ, "FACTORY_HOME": str(home), "PYTHONPATH": str(ROOT), **env}
    environment.pop("FACTORY_TOKEN", None)
    with (home / "api.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "studio", "api", "--port", str(port)],
            env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=home, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the API did not start: {(home / 'api.log').read_text()[-2000:]}")
                time.sleep(0.2)
            yield url
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
