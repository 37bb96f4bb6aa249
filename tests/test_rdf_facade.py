"""The RDF store is reached through the facade with plain values; pyoxigraph stays inside graph/."""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import URIRef

from graph import KnowledgeGraph, ProductFacts
from graph.names import product_graph
from graph.remote_store import RemoteRdfStore, SparqlServerError, bind_values, local_server
from graph.samples import DEMO_PRODUCTS, build_facts
from ontology.errors import InvalidInputError, QueryRefusedError
from ontology.namespaces import FAC

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("assets", "bench", "generators", "graph", "infra", "ontology", "studio")
ALLOWED = {
    "graph/rdf_store.py",
    "graph/remote_store.py",
    "graph/facts.py",
}  # facts mints its quads as Oxigraph terms: see rdf_store's docstring
TRACE = "1" * 32


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at its top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_module_outside_the_rdf_store_imports_pyoxigraph() -> None:
    modules = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    assert len(modules) > 50  # the walk sees the tree
    importing = {
        str(p.relative_to(ROOT))
        for p in modules
        if any(name == "pyoxigraph" or name.startswith("pyoxigraph.") for name in imports_of(p))
    }
    assert importing <= ALLOWED, sorted(importing - ALLOWED)
    assert "graph/rdf_store.py" in importing  # the check finds the one that does


def test_the_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from pyoxigraph import Store\n    import pyoxigraph.x as y\n")
    assert {"pyoxigraph", "pyoxigraph.x"} <= imports_of(probe)


@pytest.fixture
def typed(backend_kg: KnowledgeGraph) -> tuple[KnowledgeGraph, ProductFacts, str]:
    kg = backend_kg
    facts = ProductFacts("acme", "shop", TRACE)
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    node = facts.node(
        FAC.Metric,
        facts.iri("metric", "m"),
        "latency",
        {FAC.value: 12.5, FAC.metric: "latency_p95_ms", FAC.passed: True, FAC.revision: 3, FAC.createdAt: when},
    )
    kg.write(facts)
    return kg, facts, node


def test_query_parameters_are_plain_values_iris_as_uriref(typed: tuple[KnowledgeGraph, ProductFacts, str]) -> None:
    kg, facts, node = typed
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    query = f"SELECT ?label ?n ?v WHERE {{ GRAPH <{facts.graph}> {{ ?n {label} ?label ; ?p ?v }} }}"
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    for value in ("latency_p95_ms", 12.5, True, 3, when, URIRef(node)):
        prop = "n" if isinstance(value, URIRef) else "v"
        assert [r["label"] for r in kg.sparql(query, "acme", {prop: value}).records()][:1] == ["latency"], value
    for value in ("latency_p95", 12.0, False, 4, node, URIRef(facts.iri("metric", "other"))):
        prop = "n" if isinstance(value, URIRef) else "v"
        assert kg.sparql(query, "acme", {prop: value}).rows == [], value  # a str is a literal, never an IRI
    assert kg.sparql(query, "acme", {"v": Decimal("12.5")}).rows == []  # xsd:decimal is not the stored xsd:double


def test_results_come_back_as_python_values(typed: tuple[KnowledgeGraph, ProductFacts, str]) -> None:
    kg, _, node = typed
    query = "SELECT ?n ?p ?v WHERE { ?n ?p ?v }"
    values = {r["p"]: r["v"] for r in kg.sparql(query, "acme", {"n": URIRef(node)}).records()}
    assert values[str(FAC.value)] == 12.5 and isinstance(values[str(FAC.value)], float)
    assert values[str(FAC.passed)] is True
    assert values[str(FAC.revision)] == 3 and isinstance(values[str(FAC.revision)], int)
    assert values[str(FAC.createdAt)] == "2026-01-02T03:04:05Z"
    assert values["http://www.w3.org/1999/02/22-rdf-syntax-ns#type"] == str(FAC.Metric)
    assert kg.sparql(f"ASK {{ <{node}> ?p 12.5e0 }}", "acme").boolean is True


def test_a_query_for_another_tenants_graph_finds_nothing_and_updates_are_refused(
    typed: tuple[KnowledgeGraph, ProductFacts, str],
) -> None:
    kg, facts, _ = typed
    other = build_facts(DEMO_PRODUCTS[2])  # globex/clinic
    kg.write(other)
    before = kg.stats()["triples"]
    for query in (
        f"SELECT ?s WHERE {{ GRAPH <{other.graph}> {{ ?s ?p ?o }} }}",
        f"SELECT ?s FROM <{other.graph}> FROM NAMED <{other.graph}> WHERE {{ {{ ?s ?p ?o }} UNION {{ GRAPH ?g {{ ?s ?p ?o }} }} FILTER(CONTAINS(STR(?s), '/globex/')) }}",
    ):
        assert kg.sparql(query, "acme").rows == []
        assert kg.sparql(query, "globex").rows != []  # the dataset, not the query, hides them
    for update in (
        f"DROP GRAPH <{facts.graph}>",
        f"INSERT DATA {{ GRAPH <{other.graph}> {{ <urn:x> <urn:y> <urn:z> }} }}",
        "DELETE WHERE { GRAPH ?g { ?s ?p ?o } }",
    ):
        with pytest.raises(QueryRefusedError, match="read-only"):
            kg.sparql(update, "acme")
        with pytest.raises(QueryRefusedError, match="read-only"):
            kg.sparql(update, None)
    assert kg.stats()["triples"] == before


def test_the_server_refuses_an_update_past_the_guard_and_keeps_a_replace_whole(tmp_path: Path) -> None:
    with local_server() as url:
        kg = KnowledgeGraph(tmp_path / "kg", embedder=None, sparql=url)
        build = build_facts(DEMO_PRODUCTS[0], artifacts=3)
        kg.write(build)
        store = RemoteRdfStore(url, read_only=True)
        count = store.count()
        with pytest.raises(SyntaxError):  # the query entry point parses queries only
            store.query("DELETE WHERE { GRAPH ?g { ?s ?p ?o } }", graphs=None)
        with pytest.raises(SparqlServerError, match="read-only"):
            store.drop_graphs([build.graph])
        writer = RemoteRdfStore(url, read_only=False)
        with pytest.raises(SparqlServerError, match="refused"):  # a bad literal fails the whole request
            writer._update(
                f"DROP SILENT GRAPH <{build.graph}> ; INSERT DATA {{ <urn:a> <urn:b> 1 }} ; LOAD <urn:nowhere>"
            )
        assert store.count() == count and store.has_graph(build.graph)
        assert kg.tenant_graphs("acme") == [product_graph("acme", "invoicing")]
    with pytest.raises(SparqlServerError, match="does not answer"):
        kg.tenant_graphs("acme")  # the server is gone: one line that says so


def test_parameters_are_bound_in_the_where_group_never_in_strings_or_iris() -> None:
    from graph.rdf_store import term

    query = 'SELECT ("WHERE {" AS ?w) ?x FROM <urn:WHERE> WHERE { ?x ?p ?o } # WHERE {'
    bound = bind_values(query, {"x": term(URIRef("urn:a"))})
    assert bound == query.replace("WHERE { ?x", "WHERE { VALUES (?x) { (<urn:a>) }  ?x")
    hostile = term('a" } ; DROP ALL #')
    assert str(hostile) in bind_values("ASK { ?s ?p ?o }", {"o": hostile})
    assert str(hostile).startswith('"a\\" }')


def test_a_bad_sparql_url_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORY_SPARQL_URL", "ftp://somewhere")
    with pytest.raises(InvalidInputError, match="FACTORY_SPARQL_URL"):
        KnowledgeGraph(embedder=None)
