"""The embedded profile's Dagster event log: Dagster's consolidated SQLite event log, connected more cheaply.

Dagster's SQLite event log makes a new engine and connection for every event it stores or reads (a build
stores and reads a few hundred), each commit waiting for the disk. This one keeps one engine (a pool of
connections) per process, and sets `synchronous = NORMAL`: Dagster creates the database in WAL mode, where a
commit then appends to the log without waiting for the disk; a crash of the machine can lose the last
events, never damage the database. With it, `bench.lifecycle` measured Dagster's run outside the stages
at about half its time before, and a no-op rebuild about a third shorter (docs/performance.md).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

__all__ = ["FactoryEventLogStorage"]


def _pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


class FactoryEventLogStorage(ConsolidatedSqliteEventLogStorage):
    """Dagster's consolidated SQLite event log with one engine per process (see the module's doc).

    dagster.yaml names it (`module: assets.event_log`, `class: FactoryEventLogStorage`, `base_dir`)."""

    _engine: db.Engine | None = None
    _engine_pid = 0
    _engine_lock = threading.Lock()

    def _pooled(self) -> db.Engine:
        """This process's engine: a process forked from one that had an engine makes its own (a SQLite
        connection must not cross a fork)."""
        with self._engine_lock:
            if self._engine is None or self._engine_pid != os.getpid():
                engine = db.create_engine(
                    self._conn_string,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
                )
                db.event.listen(engine, "connect", _pragmas)
                self._engine, self._engine_pid = engine, os.getpid()
            return self._engine

    @contextmanager
    def _connect(self) -> Iterator[db.Connection]:
        with self._pooled().connect() as connection, connection.begin():
            yield connection

    def dispose(self) -> None:
        super().dispose()
        with self._engine_lock:
            if self._engine is not None and self._engine_pid == os.getpid():
                self._engine.dispose()
            self._engine = None
