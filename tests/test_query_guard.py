"""Every write form is refused with a message naming it, and the stores stay unchanged."""

from __future__ import annotations

import pytest

from graph import KnowledgeGraph
from graph.query_guard import MAX_QUERY_CHARS, check_cypher, check_sparql
from ontology.errors import QueryRefusedError

SPARQL_WRITES = [
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "INSERT"),
    ("DELETE DATA { <urn:a> <urn:b> <urn:c> }", "DELETE"),
    ("DELETE WHERE { ?s ?p ?o }", "DELETE"),
    ("DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }", "DELETE"),
    ("WITH <urn:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", "DELETE"),
    ("LOAD <http://127.0.0.1:1/data.ttl>", "LOAD"),
    ("LOAD SILENT <file:///etc/passwd> INTO GRAPH <urn:g>", "LOAD"),
    ("CLEAR ALL", "CLEAR"),
    ("CLEAR DEFAULT", "CLEAR"),
    ("DROP ALL", "DROP"),
    ("DROP SILENT GRAPH <urn:g>", "DROP"),
    ("CREATE GRAPH <urn:g>", "CREATE"),
    ("ADD <urn:a> TO <urn:b>", "ADD"),
    ("MOVE DEFAULT TO <urn:b>", "MOVE"),
    ("COPY <urn:a> TO <urn:b>", "COPY"),
    ("PREFIX x: <urn:x#> insert data { x:a x:b x:c }", "INSERT"),
    ("SELECT * WHERE { ?s ?p ?o } ; DROP ALL", "DROP"),
]
CYPHER_WRITES = [
    ("CREATE (:Product {key: 'x'})", "CREATE"),
    ("MERGE (p:Product {key: 'x'}) RETURN p", "MERGE"),
    ("MATCH (p:Product) SET p.label = 'x'", "SET"),
    ("MATCH (p:Product) DELETE p", "DELETE"),
    ("MATCH (p:Product) DETACH DELETE p", "DELETE"),
    ("MATCH (p:Product) REMOVE p.label", "REMOVE"),
    ("DROP TABLE Product", "DROP"),
    ("ALTER TABLE Product ADD x STRING", "ALTER"),
    ("COPY Product FROM '/tmp/x.csv'", "COPY"),
    ("LOAD FROM '/etc/passwd' RETURN *", "LOAD"),
    ("INSTALL httpfs", "INSTALL"),
    ("ATTACH '/tmp/other.kz' AS other (dbtype kuzu)", "ATTACH"),
    ("EXPORT DATABASE '/tmp/out'", "EXPORT"),
    ("match (p:Product) set p.label = 'x'", "SET"),
]
CYPHER_CALLS = [
    "CALL threads = 1",
    "CALL CREATE_VECTOR_INDEX('Memory', 'i2', 'embedding')",
    "CALL DROP_VECTOR_INDEX('Memory', 'memory_index')",
    "CALL PROJECT_GRAPH('g', ['Product'], [])",
]


@pytest.fixture
def filled(shared_kg: KnowledgeGraph) -> KnowledgeGraph:
    return shared_kg


@pytest.mark.parametrize(("query", "keyword"), SPARQL_WRITES)
def test_sparql_writes_are_refused(filled: KnowledgeGraph, query: str, keyword: str) -> None:
    before = filled.stats()
    with pytest.raises(QueryRefusedError) as caught:
        filled.sparql(query, "globex")
    assert keyword in str(caught.value) and "read-only" in str(caught.value)
    with pytest.raises(QueryRefusedError):
        filled.sparql(query, None)  # admins cannot write through the query interface either
    assert filled.stats() == before


@pytest.mark.parametrize(("query", "keyword"), CYPHER_WRITES)
def test_cypher_writes_are_refused(filled: KnowledgeGraph, query: str, keyword: str) -> None:
    before = filled.stats()
    with pytest.raises(QueryRefusedError) as caught:
        filled.cypher(query, "globex")
    assert keyword in str(caught.value)
    assert filled.stats() == before


@pytest.mark.parametrize("query", CYPHER_CALLS)
def test_cypher_calls_other_than_reads_are_refused(filled: KnowledgeGraph, query: str) -> None:
    with pytest.raises(QueryRefusedError, match="CALL"):
        filled.cypher(query, "globex")


def test_the_database_itself_refuses_writes_too(filled: KnowledgeGraph) -> None:
    """Second wall: even a write that slipped past the guard hits a read-only store."""
    with filled.hold(write=False):
        session = filled._held
        assert session is not None
        with pytest.raises(QueryRefusedError, match="read-only"):
            session.pg("globex").execute("CREATE (:Policy {key: 'x'})")


@pytest.mark.parametrize(
    "query",
    [
        'SELECT ?s WHERE { ?s ?p ?o FILTER(?o = "DROP ALL; INSERT DATA") }',
        "SELECT ?s WHERE { ?s <urn:x#delete> ?o }  # INSERT in a comment",
        "PREFIX del: <urn:del#> SELECT ?insert WHERE { ?insert del:load ?clear }",
        "SELECT ?s WHERE { ?s ?p '''CREATE\nGRAPH''' }",
    ],
)
def test_keywords_inside_strings_names_and_comments_are_fine(query: str) -> None:
    check_sparql(query)


@pytest.mark.parametrize(
    "query",
    [
        "MATCH (p:Product) WHERE p.label = 'CREATE SET DELETE' RETURN p.label",
        "MATCH (p:Product) RETURN p.label AS `delete` // MERGE in a comment",
        "MATCH (p:Product) /* DROP */ RETURN count(p)",
        "CALL QUERY_VECTOR_INDEX('Memory', 'memory_index', $v, 3) RETURN node.iri",
    ],
)
def test_cypher_reads_pass_the_guard(query: str) -> None:
    check_cypher(query)


@pytest.mark.parametrize("check", [check_sparql, check_cypher])
def test_empty_and_huge_queries_are_refused(check: object) -> None:
    for query, message in (("", "empty"), ("   ", "empty"), ("x" * (MAX_QUERY_CHARS + 1), "too long")):
        with pytest.raises(QueryRefusedError, match=message):
            check(query)  # type: ignore[operator]


def test_syntax_errors_are_one_line(filled: KnowledgeGraph) -> None:
    for call, query in ((filled.sparql, "SELECT ?x WHERE {"), (filled.cypher, "MATCH (n RETURN")):
        with pytest.raises(QueryRefusedError) as caught:
            call(query, "globex")
        assert "\n" not in str(caught.value)
