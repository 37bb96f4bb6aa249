"""Queries are read-only: every write form is refused with a message naming it, and the stores stay unchanged."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from graph import KnowledgeGraph
from graph.query_guard import MAX_QUERY_CHARS, check_cypher, check_sparql
from ontology.errors import FactoryError, QueryRefusedError

PREFIX = "PREFIX fac: <https://softwarefactory.dev/ontology#> "

SPARQL_WRITES = [
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "INSERT"),
    ("INSERT DATA { GRAPH <https://softwarefactory.dev/graph/tenant/acme/product/x> { <urn:a> <urn:b> 1 } }", "INSERT"),
    ("DELETE DATA { <urn:a> <urn:b> <urn:c> }", "DELETE"),
    ("DELETE WHERE { ?s ?p ?o }", "DELETE"),
    ("DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }", "DELETE"),
    ("INSERT { ?s <urn:x> 1 } WHERE { ?s ?p ?o }", "INSERT"),
    ("WITH <urn:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", "DELETE"),
    ("WITH <urn:g> INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }", "INSERT"),
    ("LOAD <http://127.0.0.1:1/data.ttl>", "LOAD"),
    ("LOAD SILENT <file:///etc/passwd> INTO GRAPH <urn:g>", "LOAD"),
    ("CLEAR ALL", "CLEAR"),
    ("CLEAR DEFAULT", "CLEAR"),
    ("CLEAR SILENT NAMED", "CLEAR"),
    ("DROP ALL", "DROP"),
    ("DROP SILENT GRAPH <urn:g>", "DROP"),
    ("CREATE GRAPH <urn:g>", "CREATE"),
    ("ADD <urn:a> TO <urn:b>", "ADD"),
    ("MOVE DEFAULT TO <urn:b>", "MOVE"),
    ("COPY <urn:a> TO <urn:b>", "COPY"),
    ("PREFIX x: <urn:x#> insert data { x:a x:b x:c }", "INSERT"),
    ("Drop All", "DROP"),
    ("SELECT * WHERE { ?s ?p ?o } ; DROP ALL", "DROP"),
    ("# a comment first\nCLEAR ALL", "CLEAR"),
]
CYPHER_WRITES = [
    ("CREATE (:Product {key: 'x'})", "CREATE"),
    ("MATCH (p:Product) CREATE (p)-[:governedBy]->(:Policy {key: 'y'})", "CREATE"),
    ("MERGE (p:Product {key: 'x'}) RETURN p", "MERGE"),
    ("MATCH (p:Product) SET p.label = 'x'", "SET"),
    ("MATCH (p:Product) DELETE p", "DELETE"),
    ("MATCH (p:Product) DETACH DELETE p", "DELETE"),
    ("MATCH (p:Product) REMOVE p.label", "REMOVE"),
    ("DROP TABLE Product", "DROP"),
    ("ALTER TABLE Product ADD x STRING", "ALTER"),
    ("COPY Product FROM '/tmp/x.csv'", "COPY"),
    ("COPY (MATCH (p:Product) RETURN p.key) TO '/tmp/out.csv'", "COPY"),
    ("LOAD FROM '/etc/passwd' RETURN *", "LOAD"),
    ("INSTALL httpfs", "INSTALL"),
    ("LOAD EXTENSION httpfs", "LOAD"),
    ("ATTACH '/tmp/other.kz' AS other (dbtype kuzu)", "ATTACH"),
    ("USE other", "USE"),
    ("EXPORT DATABASE '/tmp/out'", "EXPORT"),
    ("IMPORT DATABASE '/tmp/out'", "IMPORT"),
    ("CHECKPOINT", "CHECKPOINT"),
    ("BEGIN TRANSACTION", "BEGIN"),
    ("match (p:Product) set p.label = 'x'", "SET"),
    ("MATCH (p:Product) RETURN p.slug; MATCH (q:Product) DELETE q", "DELETE"),
]
CYPHER_CALLS = [
    "CALL threads = 1",
    "CALL timeout=1",
    "call progress_bar = true",
    "CALL CREATE_VECTOR_INDEX('Memory', 'i2', 'embedding')",
    "CALL DROP_VECTOR_INDEX('Memory', 'memory_index')",
    "CALL PROJECT_GRAPH('g', ['Product'], [])",
    "CALL CREATE_FTS_INDEX('Product', 'fts', ['label'])",
    "CALL current_setting('threads') RETURN *",
]


Counts = tuple[int, int]


def counts(kg: KnowledgeGraph) -> Counts:
    """Triples in the RDF store and nodes in globex's property graph: what a slipped-through write would change."""
    triples = kg.sparql("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", None).rows[0][0]
    nodes = kg.cypher("MATCH (n) RETURN count(n)", "globex").rows[0][0]
    return triples, nodes


@pytest.fixture(scope="module")
def fingerprint(shared_kg: KnowledgeGraph) -> tuple[dict[str, object], bytes]:
    """Everything stored, taken before the first refused query of this module: stats and every quad."""
    return shared_kg.stats(), shared_kg.export_bytes()


@pytest.fixture(scope="module")
def before(shared_kg: KnowledgeGraph, fingerprint: tuple[dict[str, object], bytes]) -> Counts:
    return counts(shared_kg)


@pytest.mark.parametrize(("query", "keyword"), SPARQL_WRITES)
def test_sparql_writes_are_refused(shared_kg: KnowledgeGraph, before: Counts, query: str, keyword: str) -> None:
    for tenant in ("globex", None):  # admins cannot write through the query interface either
        with pytest.raises(QueryRefusedError) as caught:
            shared_kg.sparql(query, tenant)
        message = str(caught.value)
        assert f"SPARQL {keyword} refused" in message and "read-only" in message
        assert "\n" not in message
    assert counts(shared_kg) == before


@pytest.mark.parametrize(("query", "keyword"), CYPHER_WRITES)
def test_cypher_writes_are_refused(shared_kg: KnowledgeGraph, before: Counts, query: str, keyword: str) -> None:
    for tenant in ("globex", None):
        with pytest.raises(QueryRefusedError) as caught:
            shared_kg.cypher(query, tenant)
        assert f"Cypher {keyword} refused" in str(caught.value)
    assert counts(shared_kg) == before


@pytest.mark.parametrize("query", CYPHER_CALLS)
def test_cypher_calls_of_settings_and_procedures_are_refused(
    shared_kg: KnowledgeGraph, before: Counts, query: str
) -> None:
    with pytest.raises(QueryRefusedError, match="CALL") as caught:
        shared_kg.cypher(query, "globex")
    assert "only" in str(caught.value)  # it says what may be called instead
    assert counts(shared_kg) == before


def test_whitelisted_calls_run(shared_kg: KnowledgeGraph) -> None:
    tables = shared_kg.cypher("CALL SHOW_TABLES() RETURN name", "globex").rows
    assert ["Product"] in tables and ["Memory"] in tables
    columns = shared_kg.cypher("CALL TABLE_INFO('Product') RETURN name", "globex").rows
    assert ["slug"] in columns


def test_the_database_itself_refuses_writes_too(shared_kg: KnowledgeGraph) -> None:
    """Second wall: a write that slipped past the guard hits a read-only store."""
    with shared_kg.hold(write=False):
        session = shared_kg._held.session  # the session this thread holds
        assert session is not None
        with pytest.raises(QueryRefusedError, match="read-only"):
            session.pg("globex").execute("CREATE (:Policy {key: 'x'})")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (PREFIX + 'SELECT ?m WHERE { ?s fac:metric ?m FILTER(?m != "DROP ALL; INSERT DATA") }', 3),
        (PREFIX + 'SELECT ?m WHERE { ?s fac:metric ?m FILTER(?m = "DROP") }', 0),
        (PREFIX + "SELECT ?m WHERE { ?s fac:metric ?m }  # INSERT DATA in a comment", 3),
        (PREFIX + "SELECT ?m WHERE { ?s fac:metric ?m FILTER(?s != <urn:drop:all:insert>) }", 3),
        (PREFIX + "PREFIX delete: <urn:del#> SELECT ?insert WHERE { ?insert fac:metric ?clear }", 3),
        (PREFIX + "SELECT ?m WHERE { ?s fac:metric ?m FILTER(?m != '''CREATE\nGRAPH''') }", 3),
    ],
)
def test_keywords_inside_strings_iris_names_and_comments_are_fine(
    shared_kg: KnowledgeGraph, query: str, expected: int
) -> None:
    assert len(shared_kg.sparql(query, "globex").rows) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("MATCH (p:Product) WHERE p.label <> 'CREATE SET DELETE' RETURN p.slug", [["clinic"]]),
        ("MATCH (p:Product) RETURN p.slug AS `delete` // MERGE in a comment", [["clinic"]]),
        ("MATCH (p:Product) /* DROP TABLE Product */ RETURN p.slug", [["clinic"]]),
        ('MATCH (p:Product) WHERE p.slug <> "DETACH DELETE" RETURN p.slug', [["clinic"]]),
        ("MATCH (r:Release) RETURN r.tag, size(r.commit)", [["r1", 40]]),  # fac:commit is a column, not COMMIT
        ("MATCH (r:Release) WITH {commit: r.commit, tag: r.tag} AS m RETURN m.tag", [["r1"]]),
    ],
)
def test_cypher_keywords_inside_strings_names_and_comments_are_fine(
    shared_kg: KnowledgeGraph, query: str, expected: list[list[str]]
) -> None:
    assert shared_kg.cypher(query, "globex").rows == expected


def test_sparql_parameters_are_bound_not_spliced(shared_kg: KnowledgeGraph, before: Counts) -> None:
    query = PREFIX + "SELECT ?p ?slug WHERE { ?p fac:slug ?slug }"
    for hostile in ('"} ; DROP ALL', 'clinic" } GRAPH ?g { ?p fac:slug ?slug } #', "clinic' || true || '"):
        assert shared_kg.sparql(query, "globex", {"slug": hostile}).rows == []
    assert shared_kg.sparql(query, "globex", {"slug": "clinic"}).records() == [
        {"p": "https://softwarefactory.dev/id/globex/clinic/product", "slug": "clinic"}
    ]
    assert counts(shared_kg) == before


def test_cypher_parameters_are_bound_not_spliced(shared_kg: KnowledgeGraph, before: Counts) -> None:
    query = "MATCH (p:Product) WHERE p.slug = $slug RETURN p.slug"
    for hostile in ("x' OR 1=1 //", "'}) DETACH DELETE p //", "clinic' OR p.slug <> '"):
        assert shared_kg.cypher(query, "globex", {"slug": hostile}).rows == []
    assert shared_kg.cypher(query, "globex", {"slug": "clinic"}).rows == [["clinic"]]
    assert counts(shared_kg) == before


def test_a_parameter_the_query_does_not_select_is_a_clear_error(shared_kg: KnowledgeGraph) -> None:
    with pytest.raises(QueryRefusedError) as caught:
        shared_kg.sparql(PREFIX + "SELECT ?p WHERE { ?p fac:slug ?slug }", "globex", {"slug": "clinic"})
    assert "?slug" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("check", [check_sparql, check_cypher])
def test_empty_and_huge_queries_are_refused(check: Callable[[str], None]) -> None:
    for query, message in (("", "empty"), ("   \n\t", "empty"), ("x" * (MAX_QUERY_CHARS + 1), "too long")):
        with pytest.raises(QueryRefusedError, match=message):
            check(query)


def test_a_query_at_the_size_limit_is_accepted(shared_kg: KnowledgeGraph) -> None:
    query = PREFIX + "SELECT ?s WHERE { ?p fac:slug ?s } "
    query += "#" * (MAX_QUERY_CHARS - len(query))
    assert len(query) == MAX_QUERY_CHARS
    assert shared_kg.sparql(query, "globex").rows == [["clinic"]]


@pytest.mark.parametrize(
    ("language", "query"),
    [
        ("sparql", "SELECT ?x WHERE {"),
        ("sparql", "SELEKT * WHERE { ?s ?p ?o }"),
        ("sparql", "SELECT * WHERE { ?s ?p }\nLIMIT 1"),
        ("cypher", "MATCH (n RETURN"),
        ("cypher", "MATCH (n:NoSuchTable) RETURN n"),
        ("cypher", "MATCH (n)\nRETURN n.nothing"),
    ],
)
def test_bad_queries_give_one_line_errors(shared_kg: KnowledgeGraph, language: str, query: str) -> None:
    run = shared_kg.sparql if language == "sparql" else shared_kg.cypher
    with pytest.raises(QueryRefusedError) as caught:
        run(query, "globex")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("SPARQL" if language == "sparql" else "Cypher")
    assert isinstance(caught.value, FactoryError)


def test_nothing_refused_changed_the_stores(
    shared_kg: KnowledgeGraph, fingerprint: tuple[dict[str, object], bytes]
) -> None:
    """Runs after the refused queries above: both stores hold exactly what they held before them."""
    assert (shared_kg.stats(), shared_kg.export_bytes()) == fingerprint
