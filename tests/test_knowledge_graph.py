"""Ingest, trace, rebuild, projection and deletion of the knowledge graph, on real Oxigraph and Kùzu."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import URIRef

from graph import KnowledgeGraph, ProductFacts, TraceStep
from graph.names import product_graph, tenant_graph_prefix
from graph.property_graph import TRACE_STEP, TRACE_TABLE, PropertyGraph
from graph.provenance import STAGES, record_activity
from graph.rdf_store import BULK_QUADS, RdfStore
from graph.samples import AGENTS, DEMO_PRODUCTS, build_facts
from graph.trace import CYPHER_TRACE, TRACE_TABLES
from ontology.errors import InvalidInputError, NotFoundError, QueryRefusedError
from ontology.namespaces import FAC, PROV, RDF
from ontology.vocabulary import vocabulary

CHAIN = ["intent", "requirements", "blueprint", "artifacts", "validation", "release", "deployment", "telemetry"]
STAGE_OF_STEP = {
    "requirements": "analysis",
    "blueprint": "design",
    "artifacts": "generation",
    "validation": "validation",
    "release": "release",
    "deployment": "deployment",
    "telemetry": "observation",
}
PREFIX = "PREFIX fac: <https://softwarefactory.dev/ontology#> "
COUNT_ARTIFACTS = PREFIX + "SELECT (COUNT(?a) AS ?n) WHERE { ?a a fac:Artifact }"


def stages(steps: list[TraceStep]) -> list[str]:
    return list(dict.fromkeys(s.stage for s in steps))


def typed_nodes_and_links(facts: ProductFacts) -> tuple[int, int]:
    """Counted from the quads alone: nodes typed with a factory class, and object-property links between them."""
    voc = vocabulary()
    classes = {str(c) for c in voc.classes}
    links = {str(p.iri) for p in voc.object_properties}
    triples = {(str(q.subject), str(q.predicate), str(q.object)) for q in facts.quads}  # N-Triples forms
    typed = {s for s, p, o in triples if p == f"<{RDF.type}>" and o.strip("<>") in classes}
    edges = sum(1 for s, p, o in triples if p.strip("<>") in links and s in typed and f"{o}" in typed)
    return len(typed), edges


# ---------------------------------------------------------------- ingest and trace


def test_trace_walks_the_whole_chain_in_order_with_its_agents(
    shared_backend_kg: KnowledgeGraph, demo_builds: list[ProductFacts]
) -> None:
    builds = demo_builds
    steps = shared_backend_kg.trace(builds[0].trace_id)
    assert stages(steps) == CHAIN
    assert {(s.tenant, s.product) for s in steps} == {("acme", "invoicing")}
    assert [s.stage for s in steps] == sorted((s.stage for s in steps), key=CHAIN.index)
    for step in steps:
        if step.stage == "intent":
            assert step.agent is None and step.activity is None  # a person submitted it
            continue
        stage = STAGE_OF_STEP[step.stage]
        assert step.agent == AGENTS[stage].iri, step
        assert step.activity == builds[0].iri("activity", stage)
        assert step.started is not None and step.ended is not None and step.started < step.ended
    assert sum(1 for s in steps if s.stage == "artifacts") == 30
    assert sum(1 for s in steps if s.stage == "telemetry") == 3


def test_the_property_graph_gives_the_same_trace(
    shared_backend_kg: KnowledgeGraph, demo_builds: list[ProductFacts]
) -> None:
    for build in demo_builds:
        rdf = shared_backend_kg.trace(build.trace_id, tenant=build.tenant)
        kuzu = shared_backend_kg.trace(build.trace_id, tenant=build.tenant, engine="kuzu")
        assert stages(rdf) == CHAIN
        assert kuzu == rdf


def test_queries_run_together_answer_as_they_do_one_by_one(tmp_path: Path, demo_builds: list[ProductFacts]) -> None:
    """The trace's queries run side by side on connections of their own: same rows, in the order asked."""
    kg = KnowledgeGraph(tmp_path / "kg", embedder=None)
    kg.write(*demo_builds)
    build = demo_builds[0]
    queries: list[tuple[str, dict[str, Any]]] = [
        ("MATCH (n:Artifact) WHERE n.traceId = $trace RETURN n.iri ORDER BY n.iri", {"trace": build.trace_id}),
        ("MATCH (p:Product) WHERE p.slug = $slug RETURN p.iri, p.label", {"slug": build.product}),
        ("MATCH (a:LifecycleActivity) WHERE a.traceId = $trace RETURN count(a)", {"trace": build.trace_id}),
    ]
    pg = PropertyGraph(kg.folder / "kuzu" / f"{build.tenant}.kz", read_only=True)
    try:
        alone = [pg.execute(q, p) for q, p in queries]
        assert all(rows for _, rows in alone)
        for _ in range(3):  # and again, on the statements kept prepared
            assert pg.execute_together(queries) == alone
        with pytest.raises(QueryRefusedError, match="Cypher error"):
            pg.execute_together([queries[0], ("MATCH (n:NoSuchTable) RETURN n", {"x": 1})])
        assert pg.execute_together(queries[1:]) == alone[1:]  # a failed run leaves the connections usable
    finally:
        pg.close()


def test_both_engines_agree_on_a_node_made_twice_an_activity_with_no_agent_and_fractional_times(
    kg: KnowledgeGraph,
) -> None:
    facts = build_facts(DEMO_PRODUCTS[1], started=dt.datetime(2026, 1, 1, 9, 30, 5, 542640, tzinfo=dt.UTC))
    typed = {str(q.subject)[1:-1] for q in facts.quads if q.object == ox.NamedNode(str(FAC.ValidationReport))}
    (report,) = typed
    retest, _ = STAGES["validation"]
    again = facts.node(retest, facts.iri("activity", "revalidation"), "revalidation", {})  # no agent recorded
    facts.link(report, PROV.wasGeneratedBy, again)
    kg.write(facts)
    rdf = kg.trace(facts.trace_id, tenant=facts.tenant)
    made = [(s.activity, s.agent) for s in rdf if s.node == report]
    assert sorted(made, key=str) == sorted(
        [(facts.iri("activity", "validation"), AGENTS["validation"].iri), (again, None)], key=str
    )
    assert kg.trace(facts.trace_id, tenant=facts.tenant, engine="kuzu") == rdf
    assert {s.started for s in rdf if s.stage == "requirements"} == {"2026-01-01T09:30:05.54264Z"}


def test_a_trace_stays_inside_its_tenant(shared_kg: KnowledgeGraph, demo_builds: list[ProductFacts]) -> None:
    acme, globex = demo_builds[0], demo_builds[2]
    assert shared_kg.trace(acme.trace_id, tenant="globex") == []
    assert shared_kg.trace(acme.trace_id, tenant="globex", engine="kuzu") == []
    assert stages(shared_kg.trace(globex.trace_id, tenant="globex")) == CHAIN
    assert stages(shared_kg.trace(acme.trace_id, tenant="acme")) == CHAIN


def test_trace_stops_where_the_build_stopped(kg: KnowledgeGraph) -> None:
    full = build_facts(DEMO_PRODUCTS[2])
    partial = ProductFacts(full.tenant, full.product, full.trace_id)
    # keep only the facts recorded before the first artifact: intent, requirements and blueprint
    cut = next(i for i, q in enumerate(full.quads) if "/artifact/" in str(q.subject))
    partial.quads = full.quads[:cut]
    kg.write(partial)
    assert stages(kg.trace(full.trace_id)) == ["intent", "requirements", "blueprint"]
    assert stages(kg.trace(full.trace_id, tenant="globex", engine="kuzu")) == ["intent", "requirements", "blueprint"]


def test_trace_arguments_are_checked(shared_kg: KnowledgeGraph) -> None:
    kg = shared_kg
    assert kg.trace("0" * 32) == []
    for bad in ("", "xyz", "A" * 32, "0" * 31, "0" * 33):
        with pytest.raises(InvalidInputError, match="trace id"):
            kg.trace(bad)
    with pytest.raises(InvalidInputError, match="engine"):
        kg.trace("0" * 32, engine="neo4j")
    with pytest.raises(InvalidInputError, match="--tenant"):
        kg.trace("0" * 32, engine="kuzu")


def test_provenance_is_recorded_with_prov_terms(shared_kg: KnowledgeGraph, demo_builds: list[ProductFacts]) -> None:
    build = demo_builds[0]
    prefixes = PREFIX + "PREFIX prov: <http://www.w3.org/ns/prov#> "
    query = (
        prefixes
        + f"""SELECT ?stage ?agent ?used WHERE {{ GRAPH <{build.graph}> {{
      ?a fac:stage ?stage ; prov:wasAssociatedWith ?agent ; prov:used ?used ;
      prov:startedAtTime ?s ; prov:endedAtTime ?e . FILTER(?e > ?s) }} }}"""
    )
    rows = shared_kg.sparql(query, "acme").records()
    assert {(r["stage"], r["agent"]) for r in rows} == {(stage, agent.iri) for stage, agent in AGENTS.items()}
    assert [r["used"] for r in rows if r["stage"] == "design"] == [build.iri("intent")]
    informed = shared_kg.sparql(
        prefixes + f"SELECT ?a ?b WHERE {{ GRAPH <{build.graph}> {{ ?a prov:wasInformedBy ?b }} }}", "acme"
    ).rows
    assert len(informed) == len(AGENTS) - 1  # each stage after the first is informed by the one before
    generated = shared_kg.sparql(
        prefixes + "SELECT ?f ?a WHERE { ?f a fac:Artifact ; prov:wasGeneratedBy ?a . ?a fac:stage 'generation' }",
        "acme",
        {"a": URIRef(build.iri("activity", "generation"))},
    ).rows
    assert sorted(f for f, _ in generated) == sorted(build.iri("artifact", str(i)) for i in range(30))


def test_an_unknown_stage_is_refused() -> None:
    facts = ProductFacts("acme", "x", "a" * 32)
    with pytest.raises(InvalidInputError, match="unknown lifecycle stage"):
        record_activity(facts, "teleport", AGENTS["design"], started=None, ended=None)  # type: ignore[arg-type]
    assert facts.quads == []


def test_stats_count_what_was_written(tmp_path: Path) -> None:
    fresh = KnowledgeGraph(tmp_path / "fresh", embedder=None)
    shared = fresh.load_shared("ontology") + fresh.load_shared("patterns")
    assert fresh.stats()["triples"] == shared and fresh.stats()["products"] == 0
    builds = [build_facts(p) for p in DEMO_PRODUCTS]
    fresh.write(*builds)
    stats = fresh.stats()
    assert stats["triples"] == shared + sum(len(set(b.quads)) for b in builds)
    assert stats["graphs"] == 2 + len(builds)
    assert stats["products"] == len(builds)
    for tenant in ("acme", "globex"):
        mine = [b for b in builds if b.tenant == tenant]
        counted = [typed_nodes_and_links(b) for b in mine]
        assert stats["tenants"][tenant] == {
            "products": len(mine),
            "nodes": sum(n for n, _ in counted),
            "edges": sum(e for _, e in counted),
            "memories": 0,  # no embedder, no vectors
        }
    assert Path(stats["home"]) == (tmp_path / "fresh").resolve()


def canonical(quad: ox.Quad) -> tuple[Any, ...]:
    """A quad as the store gives it back: Oxigraph keeps doubles as numbers, not as their lexical form."""
    o = quad.object
    if isinstance(o, ox.Literal) and o.datatype.value.endswith("#double"):
        return (quad.subject, quad.predicate, float(o.value), quad.graph_name)
    return (quad.subject, quad.predicate, o, quad.graph_name)


def test_a_bulk_write_stores_every_quad_and_projects_every_build(tmp_path: Path) -> None:
    """Past BULK_QUADS the RDF store loads new graphs with its bulk loader, outside its transaction log."""
    fresh = KnowledgeGraph(tmp_path / "bulk", embedder=None)
    template = DEMO_PRODUCTS[0]
    builds = [build_facts(replace(template, product=f"p{i:02d}"), artifacts=1000) for i in range(10)]
    written = {q for b in builds for q in b.quads}
    assert len(written) >= BULK_QUADS
    stats = fresh.write(*builds)
    assert stats.quads == len(written) and stats.rows > 0
    stored = {canonical(q) for q in ox.parse(fresh.export_bytes(), format=ox.RdfFormat.N_QUADS)}
    assert stored == {canonical(q) for q in written}  # every quad, and nothing else
    counted = [typed_nodes_and_links(b) for b in builds]
    assert fresh.stats()["tenants"][template.tenant] == {
        "products": len(builds),
        "nodes": sum(n for n, _ in counted),
        "edges": sum(e for _, e in counted),
        "memories": 0,
    }
    last = builds[-1]
    assert fresh.trace(last.trace_id, last.tenant, "kuzu") == fresh.trace(last.trace_id, last.tenant)
    assert stages(fresh.trace(last.trace_id, last.tenant)) == CHAIN


def test_values_keep_their_types(shared_kg: KnowledgeGraph) -> None:
    kg = shared_kg
    report = kg.cypher(
        "MATCH (v:ValidationReport) RETURN v.product, v.passed, v.testsPassed ORDER BY v.product", "acme"
    )
    assert report.rows == [["helpdesk", True, 4 * 3], ["invoicing", True, 4 * 4]]  # 4 tests per entity
    sparql = kg.sparql(PREFIX + "SELECT ?v WHERE { ?s fac:metric 'latency_p95_ms' ; fac:value ?v }", "globex")
    assert sparql.rows == [[12.5]]
    assert kg.cypher("MATCH (t:TelemetrySignal) WHERE t.metric = 'latency_p95_ms' RETURN t.value", "globex").rows == [
        [12.5]
    ]
    started = kg.cypher("MATCH (a:LifecycleActivity) WHERE a.stage = 'design' RETURN a.startedAtTime", "globex").rows
    assert started == [["2026-01-01T00:00:01Z"]]  # UTC, written the way the RDF literal is


# ---------------------------------------------------------------- rebuilds and deletes


def test_rebuild_replaces_the_product_graph_everywhere(backend_kg: KnowledgeGraph) -> None:
    first = build_facts(DEMO_PRODUCTS[0], artifacts=30)
    backend_kg.write(first)
    shared = backend_kg.stats()["triples"] - len(first.quads)
    second = build_facts(DEMO_PRODUCTS[0], artifacts=5)
    backend_kg.write(second)
    # the old-only facts are gone from both stores
    old_only = first.iri("artifact", "29")
    assert backend_kg.sparql(f"ASK {{ <{old_only}> ?p ?o }}", "acme").boolean is False
    assert backend_kg.cypher("MATCH (a:Artifact) WHERE a.iri = $iri RETURN a.key", "acme", {"iri": old_only}).rows == []
    assert backend_kg.sparql(COUNT_ARTIFACTS, "acme").rows == [[5]]
    assert backend_kg.cypher("MATCH (a:Artifact) RETURN count(a)", "acme").rows == [[5]]
    # the old trace id is gone, the new one walks the whole chain on both engines
    assert backend_kg.trace(first.trace_id) == []
    assert backend_kg.trace(first.trace_id, "acme", engine="kuzu") == []
    assert stages(backend_kg.trace(second.trace_id, "acme", engine="kuzu")) == CHAIN
    after = backend_kg.stats()
    assert after["triples"] == shared + len(second.quads)
    assert after["products"] == 1
    assert after["tenants"]["acme"]["nodes"] == typed_nodes_and_links(second)[0]


def test_writing_the_same_build_twice_duplicates_nothing(kg: KnowledgeGraph) -> None:
    build = build_facts(DEMO_PRODUCTS[2])
    kg.write(build)
    once = kg.stats()
    kg.write(build)
    assert kg.stats() == once
    assert kg.cypher("MATCH (p:Product) RETURN count(p)", "globex").rows == [[1]]
    assert kg.cypher("MATCH (:Product)-[r:hasBlueprint]->(:Blueprint) RETURN count(r)", "globex").rows == [[1]]


def test_a_rebuild_leaves_the_tenants_other_products_alone(kg: KnowledgeGraph) -> None:
    invoicing, helpdesk = build_facts(DEMO_PRODUCTS[0]), build_facts(DEMO_PRODUCTS[1])
    kg.write(invoicing, helpdesk)
    kg.write(build_facts(DEMO_PRODUCTS[0], artifacts=2))
    assert kg.cypher("MATCH (a:Artifact) RETURN a.product, count(a) ORDER BY a.product", "acme").rows == [
        ["helpdesk", 30],
        ["invoicing", 2],
    ]
    assert stages(kg.trace(helpdesk.trace_id)) == CHAIN


def test_delete_product_removes_its_graph_and_its_projection(backend_kg: KnowledgeGraph) -> None:
    builds = [build_facts(p) for p in DEMO_PRODUCTS]
    backend_kg.write(*builds)
    before = backend_kg.stats()
    backend_kg.delete_product("acme", "helpdesk")
    after = backend_kg.stats()
    assert after["triples"] == before["triples"] - len(builds[1].quads)
    assert backend_kg.tenant_graphs("acme") == [product_graph("acme", "invoicing")]
    assert backend_kg.cypher("MATCH (p:Product) RETURN p.slug", "acme").rows == [["invoicing"]]
    assert backend_kg.cypher("MATCH (n) WHERE n.product = 'helpdesk' RETURN count(n)", "acme").rows == [[0]]
    assert backend_kg.trace(builds[1].trace_id) == []
    assert after["tenants"]["globex"] == before["tenants"]["globex"]
    with pytest.raises(NotFoundError):
        backend_kg.delete_product("acme", "helpdesk")
    with pytest.raises(NotFoundError):
        backend_kg.delete_product("globex", "invoicing")  # another tenant's product is not found in this one


# ---------------------------------------------------------------- the projection


def test_projection_is_in_step_with_the_rdf_store(shared_backend_kg: KnowledgeGraph) -> None:
    kg = shared_backend_kg
    for tenant in ("acme", "globex"):
        # the product graphs only: the shared pattern library holds attributes and relationships too
        in_products = f"FILTER(STRSTARTS(STR(?g), '{tenant_graph_prefix(tenant)}'))"
        for cls in ("Artifact", "Entity", "Attribute", "Relationship", "Requirement", "TelemetrySignal"):
            rdf = kg.sparql(
                PREFIX + f"SELECT (COUNT(?x) AS ?n) WHERE {{ GRAPH ?g {{ ?x a fac:{cls} }} {in_products} }}", tenant
            )
            kuzu = kg.cypher(f"MATCH (x:{cls}) RETURN count(x)", tenant)
            assert rdf.rows[0][0] == kuzu.rows[0][0] > 0, (tenant, cls)
        for rel in ("generatedFrom", "hasAttribute", "wasGeneratedBy"):
            query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?a <https://softwarefactory.dev/ontology#{rel}> ?b }} {in_products} }}"
            if rel == "wasGeneratedBy":
                query = query.replace("https://softwarefactory.dev/ontology#", "http://www.w3.org/ns/prov#")
            edges = kg.sparql(query, tenant).rows[0][0]
            assert kg.cypher(f"MATCH ()-[r:{rel}]->() RETURN count(r)", tenant).rows == [[edges]], (tenant, rel)


def test_cypher_runs_over_the_ontology_derived_tables(shared_kg: KnowledgeGraph) -> None:
    kg = shared_kg
    rows = kg.cypher(
        "MATCH (p:Product)-[:hasBlueprint]->(:Blueprint)-[:hasEntity]->(e:Entity)-[:hasAttribute]->(a:Attribute) "
        "RETURN p.slug, e.entityName, count(a) ORDER BY e.entityName",
        "globex",
    ).rows
    clinic = DEMO_PRODUCTS[2]
    assert rows == [["clinic", name, len(attrs)] for name, attrs in sorted(clinic.entities)]
    kinds = kg.cypher("MATCH (a:LifecycleActivity) RETURN DISTINCT a.kind ORDER BY a.kind", "acme").rows
    assert [k for (k,) in kinds] == sorted(str(activity).rsplit("#", 1)[1] for activity, _ in STAGES.values())
    agents = kg.cypher(
        "MATCH (a:LifecycleActivity)-[:wasAssociatedWith]->(g:FactoryAgent) WHERE a.stage = 'design' RETURN g.kind",
        "acme",
    ).rows
    assert agents == [["ArchitectAgent"], ["ArchitectAgent"]]  # one per acme product
    path = kg.cypher(
        "MATCH (t:TelemetrySignal)-[:observes]->(:Deployment)-[:deploysRelease]->(r:Release)-[:releaseOf]->(p:Product) "
        "RETURN DISTINCT p.slug, r.tag",
        "globex",
    ).rows
    assert path == [["clinic", "r1"]]


def test_a_bounded_query_reads_its_first_rows_and_says_there_are_more(shared_kg: KnowledgeGraph) -> None:
    cross = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # billions of rows, never all evaluated
    first = shared_kg.sparql(cross, "acme", max_rows=25)
    assert (len(first.rows), first.truncated) == (25, True)
    products = "SELECT ?p WHERE { ?p a <https://softwarefactory.dev/ontology#Product> }"
    exact = shared_kg.sparql(products, "acme", max_rows=2)
    assert (len(exact.rows), exact.truncated) == (2, False)  # exactly as many as the bound: nothing left out
    construct = shared_kg.sparql("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "acme", max_rows=3)
    assert (len(construct.rows), construct.truncated) == (3, True)
    nodes = shared_kg.cypher("MATCH (a), (b), (c) RETURN a.key, b.key, c.key", "acme", max_rows=40)
    assert (len(nodes.rows), nodes.truncated) == (40, True)
    every = shared_kg.cypher("MATCH (p:Product) RETURN p.slug", None, max_rows=3)  # the admin, tenant by tenant
    assert (sorted(r[1] for r in every.rows), every.truncated) == (["clinic", "helpdesk", "invoicing"], False)
    fewer = shared_kg.cypher("MATCH (p:Product) RETURN p.slug", None, max_rows=2)
    assert (len(fewer.rows), fewer.truncated) == (2, True)


def test_a_query_past_its_time_is_stopped_and_the_next_one_runs_unbounded(shared_kg: KnowledgeGraph) -> None:
    slow = "MATCH (a), (b), (c), (d) WHERE a.key + b.key + c.key + d.key = 'x' RETURN count(*)"
    with shared_kg.hold():  # one connection for both queries
        with pytest.raises(QueryRefusedError, match=r"^the query ran longer than 0.5 s and was stopped"):
            shared_kg.cypher(slow, "acme", timeout_s=0.5)
        assert shared_kg.cypher("MATCH (p:Product) RETURN count(p)", "acme").rows == [[2]]
    endless = "SELECT ?a WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # rows keep coming, for hours
    with pytest.raises(QueryRefusedError, match=r"^the query ran longer than 0.5 s"):
        shared_kg.sparql(endless, "acme", timeout_s=0.5)


def test_a_lost_tenant_database_is_rebuilt_from_pending_graphs(kg: KnowledgeGraph) -> None:
    kg.write(build_facts(DEMO_PRODUCTS[2]))
    pending = kg.folder / "pending.json"
    assert json.loads(pending.read_text()) == []  # a finished write leaves nothing pending
    # a writer that died after the RDF commit but before the Kùzu projection leaves the graph pending
    (kg.folder / "kuzu" / "globex.kz").unlink()
    pending.write_text(json.dumps([product_graph("globex", "clinic")]))
    with pytest.raises(NotFoundError):
        kg.cypher("MATCH (p:Product) RETURN p.slug", "globex")
    kg.write(build_facts(DEMO_PRODUCTS[0]))  # any write finishes pending work first
    assert json.loads(pending.read_text()) == []
    assert kg.cypher("MATCH (p:Product) RETURN p.slug", "globex").rows == [["clinic"]]
    assert kg.cypher("MATCH (a:Artifact) RETURN count(a)", "globex").rows == [[30]]


def test_a_writer_that_died_creating_a_tenant_database_leaves_one_the_next_writer_completes(
    kg: KnowledgeGraph,
) -> None:
    # a writer killed halfway through a new tenant database's tables, with its graph marked pending
    facts = build_facts(DEMO_PRODUCTS[2])
    path = kg.folder / "kuzu" / "globex.kz"
    path.parent.mkdir(parents=True, exist_ok=True)
    script = (
        "import os, sys, kuzu\n"
        "from graph.property_graph import schema\n"
        "conn = kuzu.Connection(kuzu.Database(sys.argv[1], max_db_size=1 << 38))\n"
        "conn.execute('BEGIN TRANSACTION')\n"
        "for stmt in schema().ddl()[:10]:\n"
        "    conn.execute(stmt)\n"
        "os._exit(9)\n"
    )
    died = subprocess.run([sys.executable, "-c", script, str(path)], check=False)
    assert died.returncode == 9 and path.exists()
    (kg.folder / "pending.json").write_text(json.dumps([facts.graph]))
    kg.write(facts)
    assert kg.cypher("MATCH (a:Artifact) RETURN count(a)", "globex").rows == [[30]]
    assert kg.trace(facts.trace_id, "globex", engine="kuzu") == kg.trace(facts.trace_id, "globex")


def test_a_projection_left_behind_by_a_crash_is_caught_up(kg: KnowledgeGraph) -> None:
    kg.write(build_facts(DEMO_PRODUCTS[2]))
    # what a writer that died between its RDF commit and its projection leaves: new facts, old rows, a pending mark
    rebuilt = build_facts(DEMO_PRODUCTS[2], artifacts=4)
    store = RdfStore(kg.folder / "rdf", read_only=False)
    store.replace_graphs({rebuilt.graph: rebuilt.quads})
    store.flush()
    del store
    (kg.folder / "pending.json").write_text(json.dumps([rebuilt.graph]))
    assert kg.sparql(COUNT_ARTIFACTS, "globex").rows == [[4]]
    assert kg.cypher("MATCH (a:Artifact) RETURN count(a)", "globex").rows == [[30]]  # behind
    kg.write(build_facts(DEMO_PRODUCTS[1]))  # the next writer, for any product, catches up first
    assert kg.cypher("MATCH (a:Artifact) RETURN count(a)", "globex").rows == [[4]]
    assert kg.trace(rebuilt.trace_id, "globex", engine="kuzu") == kg.trace(rebuilt.trace_id, "globex")
    assert stages(kg.trace(rebuilt.trace_id, "globex", engine="kuzu")) == CHAIN


def test_the_knowledge_graph_lives_in_factory_home(factory_home: Path) -> None:
    kg = KnowledgeGraph(embedder=None)
    assert kg.home == factory_home.resolve()
    kg.write(build_facts(DEMO_PRODUCTS[2]))
    assert (factory_home / "graph" / "rdf").is_dir()
    assert (factory_home / "graph" / "kuzu" / "globex.kz").exists()
    assert KnowledgeGraph(embedder=None).stats()["products"] == 1


def _snapshot(kg: KnowledgeGraph, tenant: str) -> tuple[list[list[Any]], list[list[Any]]]:
    nodes = kg.cypher("MATCH (n) WHERE n.key <> '~anchor' RETURN label(n) AS t, n.key AS k ORDER BY t, k", tenant).rows
    edges = []
    for rel in ("wasGeneratedBy", "used", "hasEntity", "releaseOf", "observes", "generatedFrom", "hasAttribute"):
        edges += kg.cypher(
            f"MATCH (a)-[r:{rel}]->(b) RETURN '{rel}' AS r, a.key AS ak, b.key AS bk ORDER BY ak, bk", tenant
        ).rows
    edges += kg.cypher(  # the trace's links, with what each shows of its node
        "MATCH (t:Trace)-[s:hasStep]->(n) RETURN t.key AS tk, n.key AS k, s.iri, s.label, s.graph ORDER BY tk, k",
        tenant,
    ).rows
    return nodes, edges


def test_a_rewrite_that_changes_little_leaves_the_same_graph_as_a_fresh_write(tmp_path: Path) -> None:
    first = build_facts(DEMO_PRODUCTS[0])
    changed = build_facts(DEMO_PRODUCTS[0], trace_id=first.trace_id, artifacts=12)  # fewer artifacts
    changed.quads = [q for q in changed.quads if "validation" not in str(q.subject)]  # a node and its links gone
    changed.node(FAC.Release, changed.iri("release", "1"), "release 1 (relabelled)")  # a changed node
    incremental = KnowledgeGraph(tmp_path / "a", embedder=None)
    incremental.write(first)
    incremental.write(changed)
    fresh = KnowledgeGraph(tmp_path / "b", embedder=None)
    fresh.write(changed)
    assert _snapshot(incremental, "acme") == _snapshot(fresh, "acme")
    assert incremental.stats()["tenants"] == fresh.stats()["tenants"]
    incremental.write(first)  # and back
    again = KnowledgeGraph(tmp_path / "c", embedder=None)
    again.write(first)
    assert _snapshot(incremental, "acme") == _snapshot(again, "acme")


def test_a_session_over_many_tenants_keeps_only_a_few_databases_open(tmp_path: Path) -> None:
    from graph.knowledge_graph import MAX_OPEN_TENANTS
    from graph.samples import SampleProduct

    kg = KnowledgeGraph(tmp_path / "many", embedder=None)
    tenants = [f"tenant-{i}" for i in range(MAX_OPEN_TENANTS + 2)]
    traces = {}
    for tenant in tenants:
        facts = build_facts(SampleProduct(tenant, "shop", "Shop", "A shop", (("order", ("number",)),)))
        kg.write(facts)
        traces[tenant] = facts.trace_id
    with kg.hold(write=False):
        for tenant in [*tenants, tenants[0]]:  # the first tenant's database was closed on the way: it opens again
            steps = kg.trace(traces[tenant], tenant, engine="kuzu")
            assert {s.tenant for s in steps} == {tenant} and "intent" in stages(steps)
            held = kg._held.session  # the session this thread holds
            assert held is not None and len(held.pgs) <= MAX_OPEN_TENANTS
        rows = kg.cypher("MATCH (p:Product) RETURN p.label", None).rows  # the admin walks every tenant
    assert sorted(r[0] for r in rows) == tenants


def test_a_database_from_before_a_new_datatype_property_gets_its_column(tmp_path: Path) -> None:
    path = tmp_path / "tenant.kuzu"
    graph = PropertyGraph(path, read_only=False)
    graph.execute("ALTER TABLE Attribute DROP renamedFrom")  # as an older ontology left it
    graph.close()
    graph = PropertyGraph(path, read_only=False)
    try:
        columns = {row[0] for row in graph.execute("CALL TABLE_INFO('Attribute') RETURN name")[1]}
    finally:
        graph.close()
    assert "renamedFrom" in columns


# ---------------------------------------------------------------- the trace's nodes

CHAIN_NODES = (
    f"MATCH (n:{':'.join(TRACE_TABLES)}) WHERE n.traceId = $trace RETURN n.key, n.iri, n.label, n.graph ORDER BY n.key"
)
LINKED_NODES = (
    "MATCH (t:Trace)-[s:hasStep]->(n) WHERE t.key = $trace RETURN n.key, s.iri, s.label, s.graph ORDER BY n.key"
)


def test_the_kuzu_trace_starts_from_its_trace_node_by_key(kg: KnowledgeGraph) -> None:
    """The trace's chain comes from one primary-key lookup and the links from it, not from a scan of the tables."""
    facts = build_facts(DEMO_PRODUCTS[0])
    kg.write(facts, build_facts(DEMO_PRODUCTS[1]))
    bound = {"trace": facts.trace_id}
    chain = kg.cypher(CHAIN_NODES, "acme", bound).rows
    assert len(chain) > 40
    assert kg.cypher(LINKED_NODES, "acme", bound).rows == chain  # every chain node, each link showing its node
    pg = PropertyGraph(kg.folder / "kuzu" / "acme.kz", read_only=True)
    try:
        (plan,) = pg.execute(f"EXPLAIN {CYPHER_TRACE}", bound)[1][0]
    finally:
        pg.close()
    assert "PRIMARY_KEY_SCAN_NODE_TABLE" in plan
    assert "SCAN_NODE_TABLE" not in plan.replace("PRIMARY_KEY_SCAN_NODE_TABLE", ""), plan  # no table is scanned
    assert kg.trace(facts.trace_id, "acme", engine="kuzu") == kg.trace(facts.trace_id, "acme")


def test_a_trace_over_two_graphs_keeps_its_node_until_both_are_gone(kg: KnowledgeGraph) -> None:
    invoicing = build_facts(DEMO_PRODUCTS[0])
    helpdesk = build_facts(DEMO_PRODUCTS[1], trace_id=invoicing.trace_id)  # one build's trace id in two graphs
    kg.write(invoicing)
    kg.write(helpdesk)  # its trace's node is there already
    trace = invoicing.trace_id
    count = f"MATCH (t:{TRACE_TABLE}) WHERE t.key = $trace RETURN count(t)"
    assert {s.product for s in kg.trace(trace, "acme", engine="kuzu")} == {"invoicing", "helpdesk"}
    assert kg.trace(trace, "acme", engine="kuzu") == kg.trace(trace, "acme")
    kg.delete_product("acme", "invoicing")
    assert kg.cypher(count, "acme", {"trace": trace}).rows == [[1]]
    assert kg.trace(trace, "acme", engine="kuzu") == kg.trace(trace, "acme") != []
    kg.write(build_facts(DEMO_PRODUCTS[1]))  # a new build of the other: the old trace's node is dropped
    assert kg.cypher(count, "acme", {"trace": trace}).rows == [[0]]
    assert kg.trace(trace, "acme", engine="kuzu") == []


def test_a_database_from_before_the_trace_nodes_gets_them_from_its_first_writer(kg: KnowledgeGraph) -> None:
    facts = build_facts(DEMO_PRODUCTS[0])
    kg.write(facts)
    path = kg.folder / "kuzu" / "acme.kz"
    old = PropertyGraph(path, read_only=False)
    old.execute(f"DROP TABLE {TRACE_STEP}")
    old.execute(f"DROP TABLE {TRACE_TABLE}")  # as the previous version left it
    old.close()
    with pytest.raises(QueryRefusedError, match="predates the trace's nodes"):  # read before a writer upgraded it
        kg.trace(facts.trace_id, "acme", engine="kuzu")
    PropertyGraph(path, read_only=False).close()  # a writer opens it (any write to the tenant does)
    assert kg.trace(facts.trace_id, "acme", engine="kuzu") == kg.trace(facts.trace_id, "acme")
    assert stages(kg.trace(facts.trace_id, "acme", engine="kuzu")) == CHAIN
    bound = {"trace": facts.trace_id}
    assert kg.cypher(LINKED_NODES, "acme", bound).rows == kg.cypher(CHAIN_NODES, "acme", bound).rows
