"""Ingest, trace, rebuild and projection of the knowledge graph, on real Oxigraph and Kùzu."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph import KnowledgeGraph, ProductFacts
from graph.names import product_graph
from graph.samples import DEMO_PRODUCTS, SampleProduct, build_facts
from ontology.errors import InvalidInputError, NotFoundError
from ontology.namespaces import FAC

CHAIN = ["intent", "requirements", "blueprint", "artifacts", "validation", "release", "deployment", "telemetry"]
COUNT_ARTIFACTS = (
    "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT (COUNT(?a) AS ?n) WHERE { ?a a fac:Artifact }"
)


def stages(steps: list) -> list[str]:
    return list(dict.fromkeys(s.stage for s in steps))


def test_trace_walks_the_whole_chain_in_order(kg: KnowledgeGraph) -> None:
    builds = [build_facts(p) for p in DEMO_PRODUCTS]
    kg.write(*builds)
    steps = kg.trace(builds[0].trace_id)
    assert stages(steps) == CHAIN
    assert {(s.tenant, s.product) for s in steps} == {("acme", "invoicing")}
    by_stage = {s.stage: s for s in steps}
    assert by_stage["blueprint"].agent.endswith("/agent/architect/1.0.0")
    assert by_stage["telemetry"].agent.endswith("/agent/observer/1.0.0")
    assert by_stage["intent"].agent is None  # a person submitted it
    assert sum(1 for s in steps if s.stage == "artifacts") == 30
    # the same chain from the property graph
    kuzu = kg.trace(builds[0].trace_id, tenant="acme", engine="kuzu")
    assert [s.node for s in kuzu] == [s.node for s in steps]
    # a tenant cannot trace another tenant's build
    assert kg.trace(builds[0].trace_id, tenant="globex") == []


def test_trace_stops_where_the_build_stopped(kg: KnowledgeGraph) -> None:
    full = build_facts(DEMO_PRODUCTS[2])
    partial = ProductFacts(full.tenant, full.product, full.trace_id)
    # keep only the facts of intent, requirements and blueprint
    cut = next(i for i, q in enumerate(full.quads) if "/artifact/" in q.subject.value)
    partial.quads = full.quads[:cut]
    kg.write(partial)
    assert stages(kg.trace(full.trace_id)) == ["intent", "requirements", "blueprint"]


def test_provenance_is_recorded_with_prov_terms(kg: KnowledgeGraph) -> None:
    build = build_facts(DEMO_PRODUCTS[0])
    kg.write(build)
    query = """PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX fac: <https://softwarefactory.dev/ontology#>
    SELECT ?stage ?agent ?used WHERE { ?a fac:stage ?stage ; prov:wasAssociatedWith ?agent ; prov:used ?used ;
      prov:startedAtTime ?s ; prov:endedAtTime ?e . FILTER(?e > ?s) } ORDER BY ?stage"""
    rows = kg.sparql(query, "acme").records()
    assert {r["stage"] for r in rows} == {
        "analysis",
        "design",
        "generation",
        "validation",
        "release",
        "deployment",
        "observation",
    }
    design = [r for r in rows if r["stage"] == "design"]
    assert design[0]["used"] == build.iri("intent")
    informed = kg.sparql(
        "PREFIX prov: <http://www.w3.org/ns/prov#> SELECT (COUNT(*) AS ?n) WHERE { ?a prov:wasInformedBy ?b }", "acme"
    )
    assert informed.rows == [[6]]


def test_rebuild_replaces_the_product_graph_everywhere(kg: KnowledgeGraph) -> None:
    first = build_facts(DEMO_PRODUCTS[0], artifacts=30)
    kg.write(first)
    before = kg.stats()
    second = build_facts(DEMO_PRODUCTS[0], artifacts=5)
    kg.write(second)
    assert kg.sparql(COUNT_ARTIFACTS, "acme").rows == [[5]]
    assert kg.cypher("MATCH (a:Artifact) RETURN count(a)", "acme").rows == [[5]]
    assert kg.trace(first.trace_id) == []
    assert stages(kg.trace(second.trace_id)) == CHAIN
    after = kg.stats()
    assert after["triples"] < before["triples"] and after["products"] == before["products"] == 1
    # writing the same build again changes nothing: no duplicated facts
    kg.write(second)
    assert kg.stats() == after


def test_projection_is_in_step_with_the_rdf_store(kg: KnowledgeGraph) -> None:
    kg.write(*(build_facts(p) for p in DEMO_PRODUCTS))
    for tenant in ("acme", "globex"):
        for cls, table in (("Artifact", "Artifact"), ("Entity", "Entity"), ("Attribute", "Attribute")):
            query = (
                "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT (COUNT(?x) AS ?n) "
                f"WHERE {{ ?x a fac:{cls} FILTER(STRSTARTS(STR(?x), 'https://softwarefactory.dev/id/{tenant}/')) }}"
            )
            rdf = kg.sparql(query, tenant).rows[0][0]
            kuzu = kg.cypher(f"MATCH (x:{table}) RETURN count(x)", tenant).rows[0][0]
            assert rdf == kuzu > 0, (tenant, cls)
    rows = kg.cypher(
        "MATCH (p:Product)-[:hasBlueprint]->(:Blueprint)-[:hasEntity]->(e:Entity)-[:hasAttribute]->(a:Attribute) "
        "RETURN p.slug, e.entityName, count(a) ORDER BY e.entityName",
        "globex",
    ).rows
    assert rows[0] == ["clinic", "appointment", 2]
    kinds = kg.cypher("MATCH (a:LifecycleActivity) RETURN a.kind ORDER BY a.kind", "acme").rows
    assert ["DesignActivity"] in kinds and ["ObservationActivity"] in kinds


def test_delete_product(kg: KnowledgeGraph) -> None:
    kg.write(*(build_facts(p) for p in DEMO_PRODUCTS[:2]))
    kg.delete_product("acme", "helpdesk")
    assert [g.rsplit("/", 1)[1] for g in kg.tenant_graphs("acme")] == ["invoicing"]
    assert kg.cypher("MATCH (p:Product) RETURN p.slug", "acme").rows == [["invoicing"]]
    with pytest.raises(NotFoundError):
        kg.delete_product("acme", "helpdesk")


def test_an_interrupted_projection_is_finished_by_the_next_writer(kg: KnowledgeGraph) -> None:
    kg.write(build_facts(DEMO_PRODUCTS[2]))
    # simulate a writer that died after the RDF commit but before the Kùzu projection
    pending = kg.folder / "pending.json"
    (kg.folder / "kuzu" / "globex.kz").unlink()
    pending.write_text(json.dumps([product_graph("globex", "clinic")]))
    kg.write(build_facts(DEMO_PRODUCTS[0]))  # any write finishes pending work first
    assert json.loads(pending.read_text()) == []
    assert kg.cypher("MATCH (p:Product) RETURN p.slug", "globex").rows == [["clinic"]]


def test_values_keep_their_types(kg: KnowledgeGraph) -> None:
    kg.write(build_facts(DEMO_PRODUCTS[0]))
    report = kg.cypher("MATCH (v:ValidationReport) RETURN v.passed, v.testsPassed", "acme").rows
    assert report == [[True, 16]]
    sparql = kg.sparql(
        "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT ?v WHERE { ?s fac:metric 'latency_p95_ms' ; fac:value ?v }",
        "acme",
    )
    assert sparql.rows == [[12.5]]


@pytest.mark.parametrize("bad", ["../x", "a/b", "UPPER", "spa ce", "", "ünï", "a" * 64, "-lead", "trail-"])
def test_hostile_names_are_refused_and_nothing_is_written(tmp_path: Path, bad: str) -> None:
    home = tmp_path / "home"
    kg = KnowledgeGraph(home, embedder=None)
    with pytest.raises(InvalidInputError) as caught:
        kg.write(build_facts(SampleProduct(bad, "shop", "Shop", "A shop", (("order", ("number",)),))))
    assert "\n" not in str(caught.value)
    with pytest.raises(InvalidInputError):
        build_facts(SampleProduct("acme", bad, "Shop", "A shop", (("order", ("number",)),)))
    assert sorted(p.name for p in tmp_path.iterdir()) == (["home"] if home.exists() else [])
    assert not list(tmp_path.glob("**/*.nq"))


def test_unknown_stage_is_refused(kg: KnowledgeGraph) -> None:
    from graph.provenance import record_activity
    from graph.samples import AGENTS

    facts = ProductFacts("acme", "x", "a" * 32)
    with pytest.raises(InvalidInputError, match="unknown lifecycle stage"):
        record_activity(facts, "teleport", AGENTS["design"], started=None, ended=None)  # type: ignore[arg-type]
    assert FAC.Product  # the vocabulary is importable alongside
