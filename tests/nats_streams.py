"""The real NATS JetStream server the event tests use (127.0.0.1:4222): a stream of one's own, and reading it back.

The `nats_stream` fixture (tests/conftest.py) names a unique stream and subject prefix and deletes the stream
afterwards, so parallel runs never see each other's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from tests.servers import missing_server

NATS_URL = "nats://127.0.0.1:4222"


def require_nats() -> None:
    """Skip the test when no NATS server answers (fail it under CI=true, where the server must be there)."""
    try:
        socket.create_connection(("127.0.0.1", 4222), timeout=2).close()
    except OSError:
        missing_server("no NATS server answers on 127.0.0.1:4222")


async def _nats(work: Any) -> Any:
    import nats

    connection = await nats.connect(NATS_URL)
    try:
        return await work(connection.jetstream())
    finally:
        await connection.close()


def stream_messages(stream: str) -> list[tuple[dict[str, str], bytes]]:
    """Every message the stream holds, in order: (headers, body)."""

    async def read(js: Any) -> list[tuple[dict[str, str], bytes]]:
        info = await js.stream_info(stream)
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(stream, seq)
            found.append((dict(message.headers or {}), message.data))
        return found

    return list(asyncio.run(_nats(read)))


def drop_stream(stream: str) -> None:
    """Delete the stream (gone already is fine)."""

    async def drop(js: Any) -> None:
        from nats.js.errors import NotFoundError

        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream)

    asyncio.run(_nats(drop))
