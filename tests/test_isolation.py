"""Tenant isolation and read-only queries: no way out through GRAPH, FROM, SERVICE, Cypher or writes."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from graph import KnowledgeGraph
from graph.names import product_graph
from ontology.errors import QueryRefusedError

ACME_GRAPH = product_graph("acme", "invoicing")
PREFIX = "PREFIX fac: <https://softwarefactory.dev/ontology#> "


@pytest.fixture
def two_tenants(shared_kg: KnowledgeGraph) -> KnowledgeGraph:
    return shared_kg


def slugs(kg: KnowledgeGraph, query: str, tenant: str | None) -> set[str]:
    return {str(v) for row in kg.sparql(query, tenant).rows for v in row if v is not None}


@pytest.mark.parametrize(
    "query",
    [
        PREFIX + "SELECT ?s WHERE { ?p fac:slug ?s }",
        PREFIX + "SELECT ?s WHERE { GRAPH ?g { ?p fac:slug ?s } }",
        PREFIX + f"SELECT ?s WHERE {{ GRAPH <{ACME_GRAPH}> {{ ?p fac:slug ?s }} }}",
        PREFIX + f"SELECT ?s FROM <{ACME_GRAPH}> WHERE {{ ?p fac:slug ?s }}",
        PREFIX + f"SELECT ?s FROM NAMED <{ACME_GRAPH}> WHERE {{ GRAPH ?g {{ ?p fac:slug ?s }} }}",
        PREFIX + "SELECT ?s WHERE { { ?p fac:slug ?s } UNION { GRAPH ?g { ?p fac:slug ?s } } }",
        PREFIX + "CONSTRUCT { ?p fac:slug ?s } WHERE { GRAPH ?g { ?p fac:slug ?s } }",
        PREFIX + "DESCRIBE ?p WHERE { GRAPH ?g { ?p fac:slug ?s } }",
    ],
)
def test_sparql_sees_only_the_tenants_graphs(two_tenants: KnowledgeGraph, query: str) -> None:
    seen = slugs(two_tenants, query, "globex")
    assert not any("invoicing" in s or "helpdesk" in s or "/acme/" in s for s in seen), seen
    assert slugs(two_tenants, PREFIX + "SELECT ?s WHERE { ?p fac:slug ?s }", "globex") == {"clinic"}


def test_ask_about_another_tenant_is_false(two_tenants: KnowledgeGraph) -> None:
    query = PREFIX + f"ASK {{ GRAPH <{ACME_GRAPH}> {{ ?s ?p ?o }} }}"
    assert two_tenants.sparql(query, "globex").boolean is False
    assert two_tenants.sparql(query, "acme").boolean is True


def test_admin_sees_every_tenant(two_tenants: KnowledgeGraph) -> None:
    assert slugs(two_tenants, PREFIX + "SELECT ?s WHERE { ?p fac:slug ?s }", None) == {
        "invoicing",
        "helpdesk",
        "clinic",
    }
    rows = two_tenants.cypher("MATCH (p:Product) RETURN p.slug ORDER BY p.slug", None).rows
    assert rows == [["acme", "helpdesk"], ["acme", "invoicing"], ["globex", "clinic"]]


def test_every_tenant_reads_the_shared_ontology(two_tenants: KnowledgeGraph) -> None:
    query = "PREFIX owl: <http://www.w3.org/2002/07/owl#> SELECT (COUNT(?c) AS ?n) WHERE { ?c a owl:Class }"
    assert two_tenants.sparql(query, "globex").rows[0][0] > 30


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
        "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
        "select * where { service <http://127.0.0.1:1/> { ?s ?p ?o } }",
    ],
)
def test_service_is_refused(two_tenants: KnowledgeGraph, query: str) -> None:
    with pytest.raises(QueryRefusedError, match="SERVICE"):
        two_tenants.sparql(query, "globex")


@pytest.mark.parametrize(
    "query",
    [
        "MATCH (p:Product) RETURN p.slug",
        "MATCH (n) RETURN n.product",
        "MATCH (a)-[r]->(b) RETURN a.product, b.product",
        "CALL SHOW_TABLES() RETURN *",
    ],
)
def test_cypher_runs_in_the_tenants_own_database(two_tenants: KnowledgeGraph, query: str) -> None:
    rows = two_tenants.cypher(query, "globex").rows
    flat = {str(v) for row in rows for v in row}
    assert "invoicing" not in flat and "helpdesk" not in flat


def test_parameters_are_bound_not_spliced(two_tenants: KnowledgeGraph) -> None:
    query = PREFIX + "SELECT ?p ?slug WHERE { ?p fac:slug ?slug }"
    hostile = ox.Literal('clinic" } GRAPH ?g { ?p fac:slug ?slug } #')
    assert two_tenants.sparql(query, "globex", {"slug": hostile}).rows == []
    assert len(two_tenants.sparql(query, "globex", {"slug": ox.Literal("clinic")}).rows) == 1
    cypher = "MATCH (p:Product) WHERE p.slug = $slug RETURN p.slug"
    assert two_tenants.cypher(cypher, "globex", {"slug": "x' OR 1=1 //"}).rows == []
    assert two_tenants.cypher(cypher, "globex", {"slug": "clinic"}).rows == [["clinic"]]
