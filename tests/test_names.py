"""Hostile tenant and product names are refused with one line, and nothing lands outside FACTORY_HOME."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from graph import KnowledgeGraph, ProductFacts
from graph.embeddings import SentenceEmbedder
from graph.names import node_iri, product_graph
from graph.samples import DEMO_PRODUCTS, SampleProduct, build_facts
from ontology.errors import InvalidInputError
from ontology.refs import check_slug, check_trace_id

TRACE = "0" * 32
HOSTILE = [
    "../x",
    "../../../escape",
    "a/b",
    "/etc",
    "..",
    ".",
    "UPPER",
    "Acme",
    "ünïcode",
    "аcme",  # a Cyrillic 'а'
    "spa ce",
    " acme",
    "acme\n",
    "acme\x00",
    "",
    "a" * 64,
    "a" * 200,
    "-lead",
    "trail-",
    "under_score",
    "semi;colon",
    "acme%2F..",
]
ACCEPTED = ["a", "7", "acme", "acme-billing", "a1-b2-c3", "a" * 63]


def tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")} if root.exists() else set()


def one_line_error(call: Callable[[], object]) -> str:
    with pytest.raises(InvalidInputError) as caught:
        call()
    message = str(caught.value)
    assert message and "\n" not in message and len(message) < 300, message
    return message


@pytest.mark.parametrize("name", HOSTILE, ids=repr)
def test_a_hostile_slug_is_refused_with_one_line(name: str) -> None:
    message = one_line_error(lambda: check_slug(name, "tenant"))
    assert message.startswith("invalid tenant")
    one_line_error(lambda: product_graph("acme", name))
    one_line_error(lambda: node_iri(name, "shop", "entity"))


@pytest.mark.parametrize("name", ACCEPTED)
def test_plain_slugs_are_accepted(name: str) -> None:
    assert check_slug(name) == name
    assert product_graph(name, name).endswith(f"/tenant/{name}/product/{name}")


@pytest.mark.parametrize("value", ["", "xyz", "0" * 31, "0" * 33, "G" * 32, TRACE + "\n", "../" + "0" * 29])
def test_a_bad_trace_id_is_refused(value: str) -> None:
    one_line_error(lambda: check_trace_id(value))
    one_line_error(lambda: ProductFacts("acme", "shop", value))


@pytest.mark.parametrize("part", ["..", ".", "a/b", "x\n", "", "a b"])
def test_a_bad_iri_segment_is_refused(part: str) -> None:
    one_line_error(lambda: node_iri("acme", "shop", "entity", part))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceEmbedder) -> KnowledgeGraph:
    """A real store with one product and its vectors, so that every call below gets as far as its checks."""
    kg = KnowledgeGraph(tmp_path_factory.mktemp("names") / "home", embedder=embedder)
    kg.write(build_facts(DEMO_PRODUCTS[2]))
    return kg


@pytest.mark.parametrize("name", HOSTILE, ids=repr)
def test_hostile_names_reach_no_store_and_write_nothing_outside_factory_home(store: KnowledgeGraph, name: str) -> None:
    home = store.home
    around = home.parent.parent  # every test's temporary folder, this one's included
    outside_before = tree(around) - tree(home)
    stored = store.export_bytes()
    sample = SampleProduct(name, "shop", "Shop", "A shop", (("order", ("number",)),))
    calls: list[Callable[[], object]] = [
        lambda: ProductFacts(name, "shop", TRACE),
        lambda: ProductFacts("acme", name, TRACE),
        lambda: build_facts(sample),
        lambda: store.sparql("SELECT * WHERE { ?s ?p ?o } LIMIT 1", name),
        lambda: store.cypher("MATCH (n) RETURN count(n)", name),
        lambda: store.similar("shop", 3, name),
        lambda: store.tenant_graphs(name),
        lambda: store.export_bytes(name),
        lambda: store.import_nquads(io.BytesIO(b""), tenant=name),
        lambda: store.delete_product(name, "clinic"),
        lambda: store.delete_product("globex", name),
    ]
    for call in calls:
        one_line_error(call)
    assert store.export_bytes() == stored
    # nothing new outside the home (other tests' SQLite -wal files may vanish meanwhile: that is no write)
    assert tree(around) - tree(home) - outside_before == set()
    assert not (home.parent / "escape.kz").exists() and not (home.parent / "escape").exists()
    assert sorted(p.name for p in (home / "graph" / "kuzu").iterdir()) == ["globex.kz"]


def test_the_default_home_is_factory_home_and_nothing_is_written_elsewhere(
    tmp_path: Path, factory_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # anything written relative to the working folder would land here
    kg = KnowledgeGraph(embedder=None)
    kg.bootstrap()
    build = build_facts(DEMO_PRODUCTS[0])
    kg.write(build)
    kg.sparql("SELECT * WHERE { ?s ?p ?o } LIMIT 1", "acme")
    kg.cypher("MATCH (n) RETURN count(n)", "acme")
    kg.trace(build.trace_id)
    kg.export_bytes()
    assert kg.home == factory_home.resolve()
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "factory-home"]
    assert all(str(p).startswith(str(factory_home)) for p in tree(factory_home))


def test_factory_home_defaults_to_dot_factory_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACTORY_HOME")
    monkeypatch.chdir(tmp_path)
    kg = KnowledgeGraph(embedder=None)
    assert kg.home == (tmp_path / ".factory").resolve()
    assert kg.load_shared("ontology") > 0
    assert (tmp_path / ".factory" / "graph" / "rdf").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".factory"]
