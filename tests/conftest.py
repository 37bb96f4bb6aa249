"""Shared fixtures: a private FACTORY_HOME for every test (and a small deep contract run), one embedding model
per run, demo graphs."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph import KnowledgeGraph, ProductFacts
from graph.embeddings import SentenceEmbedder
from graph.remote_store import local_server
from graph.samples import DEMO_PRODUCTS, build_facts
from tests.nats_streams import drop_stream, require_nats
from tests.servers import missing_server


def _minutes(item: pytest.Item) -> float:
    """The minutes a module's `slow(minutes=...)` marker says it takes (1 for a bare `slow`, 0 if not slow)."""
    marker = item.get_closest_marker("slow")
    return 0.0 if marker is None else float(marker.kwargs.get("minutes", 1))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow modules first, longest first: `make test` hands whole modules to its workers in this order
    (`--dist loadfile --no-loadscope-reorder`), so the long ones start early and the short ones fill in
    around them instead of one long module running alone at the end."""
    order: dict[Path, tuple[float, int]] = {}
    for i, item in enumerate(items):
        minutes, first = order.get(item.path, (0.0, i))
        order[item.path] = (min(minutes, -_minutes(item)), first)
    items.sort(key=lambda item: order[item.path])


@pytest.fixture(autouse=True)
def factory_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own FACTORY_HOME, so nothing is written in the repository."""
    home = tmp_path / "factory-home"
    monkeypatch.setenv("FACTORY_HOME", str(home))
    monkeypatch.delenv("FACTORY_SPARQL_URL", raising=False)  # the embedded RDF store unless a test says otherwise
    # the builds' deep contract run sends 2 examples per operation here (every phase still runs), not 100
    monkeypatch.setenv("FACTORY_CONTRACT_EXAMPLES", "2")
    return home


@pytest.fixture(scope="session")
def embedder() -> SentenceEmbedder:
    """The real all-MiniLM-L6-v2 model, loaded once for the whole run."""
    return SentenceEmbedder()


@pytest.fixture
def kg(tmp_path: Path) -> KnowledgeGraph:
    """An empty knowledge graph with the ontology and patterns loaded, without vectors."""
    graph = KnowledgeGraph(tmp_path / "kg", embedder=None)
    graph.bootstrap()
    return graph


@pytest.fixture(scope="session")
def demo_builds() -> list[ProductFacts]:
    """One build of each demo product: acme/invoicing, acme/helpdesk and globex/clinic."""
    return [build_facts(p) for p in DEMO_PRODUCTS]


@pytest.fixture(scope="session")
def shared_kg(tmp_path_factory: pytest.TempPathFactory, demo_builds: list[ProductFacts]) -> KnowledgeGraph:
    """The demo builds in two tenants, without vectors, for tests that only read: never write to it."""
    graph = KnowledgeGraph(tmp_path_factory.mktemp("shared") / "kg", embedder=None)
    graph.bootstrap()
    graph.write(*demo_builds)
    return graph


RDF_BACKENDS = ("embedded", "server")
"""Where the RDF store lives: on disk under FACTORY_HOME, or on an Oxigraph SPARQL server (FACTORY_SPARQL_URL)."""


@pytest.fixture(params=RDF_BACKENDS)
def backend_kg(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KnowledgeGraph]:
    """`kg` on each RDF backend in turn: the embedded store, then a fresh Oxigraph server on loopback."""
    if request.param == "embedded":
        graph = KnowledgeGraph(tmp_path / "kg", embedder=None, sparql=None)
        graph.bootstrap()
        yield graph
        return
    with local_server() as url:
        graph = KnowledgeGraph(tmp_path / "kg", embedder=None, sparql=url)
        graph.bootstrap()
        yield graph


@pytest.fixture(scope="session", params=RDF_BACKENDS)
def shared_backend_kg(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, demo_builds: list[ProductFacts]
) -> Iterator[KnowledgeGraph]:
    """`shared_kg` on each RDF backend in turn (read only: never write to it)."""
    if request.param == "embedded":
        yield request.getfixturevalue("shared_kg")
        return
    with local_server() as url:
        graph = KnowledgeGraph(tmp_path_factory.mktemp("shared-server") / "kg", embedder=None, sparql=url)
        graph.bootstrap()
        graph.write(*demo_builds)
        yield graph


@pytest.fixture(scope="session")
def demo_kg(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceEmbedder) -> KnowledgeGraph:
    """The demo products with their vectors, for semantic search: never write to it."""
    graph = KnowledgeGraph(tmp_path_factory.mktemp("demo") / "kg", embedder=embedder)
    graph.bootstrap()
    graph.write(*(build_facts(p) for p in DEMO_PRODUCTS))
    return graph


@pytest.fixture
def nats_stream() -> Iterator[tuple[str, str]]:
    """A stream and subject prefix of this test on the real NATS server (tests/nats_streams.py), deleted afterwards."""
    require_nats()
    tag = uuid.uuid4().hex[:10]
    stream, subject = f"EVENTS_TEST_{tag}", f"events-test.{tag}"
    yield stream, subject
    drop_stream(stream)


POSTGRES_USERS = ("postgres", "root")
"""Who the tests connect to PostgreSQL on 127.0.0.1:5432 as (trust authentication)."""


def _postgres_admin() -> str | None:
    """A connection string to the local server's `postgres` database, or None when none answers."""
    import psycopg

    for user in POSTGRES_USERS:
        dsn = f"postgresql://{user}@127.0.0.1:5432/postgres"
        try:
            with psycopg.connect(dsn, connect_timeout=3):
                return dsn
        except psycopg.Error:
            continue
    return None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test (a SQLAlchemy URL), dropped afterwards.

    Without a server on 127.0.0.1:5432 the test is skipped, except in CI (CI=true), where it fails."""
    import psycopg
    from psycopg import sql

    admin = _postgres_admin_or_fail()
    name = f"factory_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    user = admin.split("//", 1)[1].split("@", 1)[0]
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _postgres_admin_or_fail() -> str:
    """The admin connection string; without a server the test is skipped, or fails under CI=true."""
    admin = _postgres_admin()
    if admin is None:
        missing_server("no PostgreSQL server answers on 127.0.0.1:5432 (user postgres or root, trust authentication)")
    return admin


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One new PostgreSQL database for the whole run (a SQLAlchemy URL), dropped at its end.

    Tests that share it each work in a schema of their own (`postgres_schema_url`)."""
    import psycopg
    from psycopg import sql

    admin = _postgres_admin_or_fail()
    name = f"factory_run_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    user = admin.split("//", 1)[1].split("@", 1)[0]
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def postgres_schema_url(postgres_database: str) -> Iterator[str]:
    """An empty schema of its own in the run's PostgreSQL database: a URL whose search path is that schema."""
    import psycopg
    from psycopg import sql

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = postgres_database.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{postgres_database}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=["sqlite", "postgresql"])
def control_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty control database: a SQLite file, then a PostgreSQL schema (tests run once on each)."""
    if request.param == "sqlite":
        folder = tmp_path / "control"
        folder.mkdir()
        return f"sqlite:///{folder / 'control.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def rabbitmq_queue() -> Iterator[tuple[str, str]]:
    """The local RabbitMQ's URL (127.0.0.1:5672, guest/guest) and a queue name of this test's own, deleted after.

    Without a server the test is skipped, except in CI (CI=true), where it fails."""
    import socket

    from amqp.exceptions import ChannelError
    from kombu import Connection

    url = "amqp://guest:guest@127.0.0.1:5672//"
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=3).close()
    except OSError:
        missing_server("no RabbitMQ server answers on 127.0.0.1:5672")
    queue = f"factory_test_{uuid.uuid4().hex[:12]}"
    try:
        yield url, queue
    finally:
        with Connection(url, connect_timeout=5) as connection, contextlib.suppress(ChannelError):
            connection.default_channel.queue_delete(queue)  # absent when no step was ever sent
