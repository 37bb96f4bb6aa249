"""Tenant isolation: a tenant's SPARQL and Cypher see its own graphs only, whatever the query says."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph import KnowledgeGraph
from graph.names import PATTERNS_GRAPH, product_graph
from graph.property_graph import TRACE_STEP, TRACE_TABLE
from graph.samples import DEMO_PRODUCTS, SampleProduct, build_facts
from ontology.errors import NotFoundError, QueryRefusedError

ACME_GRAPH = product_graph("acme", "invoicing")
PREFIX = "PREFIX fac: <https://softwarefactory.dev/ontology#> "
SLUGS = PREFIX + "SELECT ?s WHERE { ?p fac:slug ?s }"


def seen(kg: KnowledgeGraph, query: str, tenant: str | None) -> set[str]:
    """Every value a query returns, as text."""
    return {str(v) for row in kg.sparql(query, tenant).rows for v in row if v is not None}


def leaks(values: set[str]) -> set[str]:
    return {v for v in values if "/acme/" in v or v in {"invoicing", "helpdesk"}}


def test_each_tenant_sees_its_own_products(shared_backend_kg: KnowledgeGraph) -> None:
    assert seen(shared_backend_kg, SLUGS, "globex") == {"clinic"}
    assert seen(shared_backend_kg, SLUGS, "acme") == {"invoicing", "helpdesk"}
    assert shared_backend_kg.tenant_graphs("globex") == [product_graph("globex", "clinic")]


@pytest.mark.parametrize(
    "query",
    [
        PREFIX + "SELECT ?s WHERE { GRAPH ?g { ?p fac:slug ?s } }",
        PREFIX + "SELECT ?g ?s WHERE { GRAPH ?g { ?p ?x ?s } }",
        PREFIX + f"SELECT ?s WHERE {{ GRAPH <{ACME_GRAPH}> {{ ?p fac:slug ?s }} }}",
        PREFIX + f"SELECT ?s WHERE {{ VALUES ?g {{ <{ACME_GRAPH}> }} GRAPH ?g {{ ?p fac:slug ?s }} }}",
        PREFIX + f"SELECT ?s FROM <{ACME_GRAPH}> WHERE {{ ?p fac:slug ?s }}",
        PREFIX + f"SELECT ?s FROM NAMED <{ACME_GRAPH}> WHERE {{ GRAPH ?g {{ ?p fac:slug ?s }} }}",
        PREFIX
        + f"SELECT ?s FROM <{ACME_GRAPH}> FROM NAMED <{ACME_GRAPH}> WHERE {{ GRAPH <{ACME_GRAPH}> {{ ?p ?x ?s }} }}",
        PREFIX + "SELECT ?s WHERE { { ?p fac:slug ?s } UNION { GRAPH ?g { ?p fac:slug ?s } } }",
        PREFIX + "SELECT ?s WHERE { ?p ?x ?s FILTER(CONTAINS(STR(?p), '/acme/')) }",
        PREFIX + "CONSTRUCT { ?p fac:slug ?s } WHERE { GRAPH ?g { ?p fac:slug ?s } }",
        PREFIX + "DESCRIBE ?p WHERE { GRAPH ?g { ?p fac:slug ?s } }",
        PREFIX + f"DESCRIBE <{ACME_GRAPH}> <https://softwarefactory.dev/id/acme/invoicing/product>",
    ],
)
def test_sparql_cannot_reach_another_tenants_graphs(shared_backend_kg: KnowledgeGraph, query: str) -> None:
    assert leaks(seen(shared_backend_kg, query, "globex")) == set()
    # the same query run by the admin does reach acme's facts: the restriction, not the query, hides them
    assert leaks(seen(shared_backend_kg, query, None)) != set()


def test_ask_about_another_tenants_graph_is_false(shared_backend_kg: KnowledgeGraph) -> None:
    for query in (
        f"ASK {{ GRAPH <{ACME_GRAPH}> {{ ?s ?p ?o }} }}",
        f"ASK FROM NAMED <{ACME_GRAPH}> {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g = <{ACME_GRAPH}>) }}",
    ):
        assert shared_backend_kg.sparql(query, "globex").boolean is False
        assert shared_backend_kg.sparql(query, "acme").boolean is True


def test_every_tenant_reads_the_shared_ontology_and_patterns(shared_kg: KnowledgeGraph) -> None:
    classes = "PREFIX owl: <http://www.w3.org/2002/07/owl#> SELECT (COUNT(?c) AS ?n) WHERE { ?c a owl:Class }"
    assert shared_kg.sparql(classes, "globex").rows == shared_kg.sparql(classes, "acme").rows
    assert shared_kg.sparql(classes, "globex").rows[0][0] >= 30
    assert shared_kg.sparql(f"ASK {{ GRAPH <{PATTERNS_GRAPH}> {{ ?s ?p ?o }} }}", "globex").boolean is True


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
        "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
        "select * where { service <http://127.0.0.1:1/> { ?s ?p ?o } }",
        "SELECT * WHERE { ?s ?p ?o OPTIONAL { SERVICE ?endpoint { ?s ?p ?x } } }",
    ],
)
def test_service_is_refused(shared_kg: KnowledgeGraph, query: str) -> None:
    for tenant in ("globex", None):
        with pytest.raises(QueryRefusedError, match="SERVICE"):
            shared_kg.sparql(query, tenant)


def test_admin_sees_every_tenant(shared_kg: KnowledgeGraph) -> None:
    assert seen(shared_kg, SLUGS, None) == {"invoicing", "helpdesk", "clinic"}
    rows = shared_kg.cypher("MATCH (p:Product) RETURN p.slug ORDER BY p.slug", None).rows
    assert rows == [["acme", "helpdesk"], ["acme", "invoicing"], ["globex", "clinic"]]
    assert len(shared_kg.tenant_graphs(None)) == 3


@pytest.mark.parametrize(
    "query",
    [
        "MATCH (p:Product) RETURN p.slug",
        "MATCH (n) RETURN n.product, n.graph, n.iri",
        "MATCH (a)-[r]->(b) RETURN a.product, b.product, a.graph, b.graph",
        "MATCH (m:Memory) RETURN m.product, m.text",
        "MATCH (n) WHERE n.graph STARTS WITH 'https://softwarefactory.dev/graph/tenant/acme/' RETURN n.iri",
        "CALL SHOW_TABLES() RETURN *",
    ],
)
def test_cypher_for_one_tenant_sees_none_of_anothers_nodes(shared_kg: KnowledgeGraph, query: str) -> None:
    rows = shared_kg.cypher(query, "globex").rows
    assert leaks({str(v) for row in rows for v in row}) == set()


def test_every_table_of_a_tenants_property_graph_holds_only_its_graphs(shared_kg: KnowledgeGraph) -> None:
    tables = [
        name for name, kind in shared_kg.cypher("CALL SHOW_TABLES() RETURN name, type", "globex").rows if kind == "NODE"
    ]
    graphs: set[str] = set()
    for table in tables:
        if table == TRACE_TABLE:  # a trace's node belongs to no graph: its links say which graph each node is in
            found = shared_kg.cypher(f"MATCH (:{table})-[s:{TRACE_STEP}]->() RETURN DISTINCT s.graph", "globex").rows
        else:
            found = shared_kg.cypher(f"MATCH (n:{table}) RETURN DISTINCT n.graph", "globex").rows
        graphs |= {g for (g,) in found}
    assert graphs - {""} == {product_graph("globex", "clinic")}  # "" is the vector index's anchor row


def test_a_tenant_with_no_products_has_no_property_graph(shared_kg: KnowledgeGraph) -> None:
    with pytest.raises(NotFoundError, match="initech"):
        shared_kg.cypher("MATCH (n) RETURN count(n)", "initech")
    assert seen(shared_kg, SLUGS, "initech") == set()


def test_tenants_whose_names_share_a_prefix_stay_apart(tmp_path: Path) -> None:
    kg = KnowledgeGraph(tmp_path / "kg", embedder=None)
    lookalike = SampleProduct("acme-labs", "lab", "Acme Labs", "A lab notebook", (("experiment", ("title",)),))
    kg.write(build_facts(DEMO_PRODUCTS[0]), build_facts(lookalike))
    assert seen(kg, SLUGS, "acme") == {"invoicing"}
    assert seen(kg, SLUGS, "acme-labs") == {"lab"}
    assert seen(kg, PREFIX + "SELECT ?s WHERE { GRAPH ?g { ?p fac:slug ?s } }", "acme") == {"invoicing"}
    assert kg.cypher("MATCH (p:Product) RETURN p.slug", "acme").rows == [["invoicing"]]
    assert kg.cypher("MATCH (p:Product) RETURN p.slug", "acme-labs").rows == [["lab"]]
    assert kg.export_bytes("acme").decode().count("/tenant/acme-labs/") == 0
