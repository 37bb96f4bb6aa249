"""Writers in several processes extend the audit chain one after another: it never forks, on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from infra.control import ControlPlane

SERVER = "postgresql+psycopg://root@127.0.0.1:5432"
WRITERS, EACH = 4, 20


def append_many(url: str, writer: int) -> int:
    control = ControlPlane(url)
    for n in range(EACH):
        control.audit("promote", "ok", tenant="acme", product="shop", actor=f"writer-{writer}", detail=f"{n}")
    control.engine.dispose()
    return EACH


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'control.db'}"
        return
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    name = f"audit_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except OperationalError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    try:
        yield f"{SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def test_concurrent_writers_extend_one_unbroken_chain(url: str) -> None:
    ControlPlane(url).engine.dispose()  # the tables exist before the writers race
    with ProcessPoolExecutor(WRITERS) as pool:
        written = sum(pool.map(append_many, [url] * WRITERS, range(WRITERS)))
    control = ControlPlane(url)
    verdict = control.verify_audit()
    assert verdict.ok, verdict.problem
    assert verdict.entries == written == WRITERS * EACH
    control.engine.dispose()
