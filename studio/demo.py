"""The demo the README's first command runs: a small knowledge graph, queried every way."""

from __future__ import annotations

from graph import KnowledgeGraph
from graph.samples import DEMO_PRODUCTS, build_facts
from studio.output import console, print_table, print_trace

__all__ = ["run_demo"]

DEMO_SPARQL = """PREFIX fac: <https://softwarefactory.dev/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?product (COUNT(?entity) AS ?entities) WHERE {
  ?p a fac:Product ; rdfs:label ?product ; fac:hasBlueprint ?b .
  ?b fac:hasEntity ?entity .
} GROUP BY ?product ORDER BY ?product"""

DEMO_CYPHER = (
    "MATCH (r:Relationship)-[:relationshipSource]->(a:Entity), (r)-[:relationshipTarget]->(b:Entity) "
    "RETURN r.product AS product, a.entityName AS one, b.entityName AS many ORDER BY product, one, many"
)


def run_demo(kg: KnowledgeGraph) -> None:
    console.rule("Software Factory — knowledge graph demo")
    kg.bootstrap()
    builds = [build_facts(p) for p in DEMO_PRODUCTS]
    kg.write(*builds)
    stats = kg.stats()
    console.print(
        f"Loaded the ontology, the pattern library and {len(builds)} sample products into {kg.home}: "
        f"{stats['triples']:,} triples, tenants {', '.join(stats['tenants'])}."
    )
    first = builds[0]
    console.rule(f"factory trace {first.trace_id}")
    steps = kg.trace(first.trace_id)
    print_trace(steps)
    console.rule('factory query sparql "..." --tenant acme')
    result = kg.sparql(DEMO_SPARQL, "acme")
    print_table(result.columns, result.rows)
    console.rule('factory query cypher "..." --tenant globex')
    result = kg.cypher(DEMO_CYPHER, "globex")
    print_table(result.columns, result.rows)
    console.rule('factory search "billing" --admin')
    matches = kg.similar("billing", 3)
    print_table(
        ["score", "kind", "tenant/product"], [[f"{m.score:.3f}", m.kind, f"{m.tenant}/{m.product}"] for m in matches]
    )
    console.print(f"\nNext: factory trace {first.trace_id}   |   factory kg stats   |   factory --help")
