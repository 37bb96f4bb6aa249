"""Example queries the Knowledge page offers: each runs as it is on any tenant's graph."""

from __future__ import annotations

__all__ = ["CYPHER_EXAMPLES", "SPARQL_EXAMPLES"]

_PREFIXES = (
    "PREFIX fac: <https://softwarefactory.dev/ontology#>\n"
    "PREFIX prov: <http://www.w3.org/ns/prov#>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)

SPARQL_EXAMPLES: dict[str, str] = {
    "Products and their entities": _PREFIXES + "SELECT ?product ?entity WHERE {\n"
    "  ?p fac:slug ?product ; fac:hasBlueprint/fac:hasEntity/fac:entityName ?entity .\n"
    "} LIMIT 200",
    "Relationships between entities": _PREFIXES + "SELECT ?source ?role ?target WHERE {\n"
    "  ?r fac:relationshipSource/fac:entityName ?source ; fac:sourceRole ?role ;\n"
    "     fac:relationshipTarget/fac:entityName ?target .\n"
    "} LIMIT 200",
    "Who did what (PROV-O)": _PREFIXES + "SELECT ?activity ?agent ?started WHERE {\n"
    "  ?activity prov:wasAssociatedWith ?agent ; prov:startedAtTime ?started .\n"
    "} ORDER BY DESC(?started) LIMIT 50",
    "Validation results": _PREFIXES + "SELECT ?product ?passed ?tests ?failed WHERE {\n"
    "  ?report fac:validates ?bp ; fac:passed ?passed ; fac:testsPassed ?tests ; fac:testsFailed ?failed .\n"
    "  ?p fac:hasBlueprint ?bp ; fac:slug ?product .\n"
    "} LIMIT 200",
    "Contract runs and the requests that failed": _PREFIXES
    + "SELECT ?trace ?depth ?cases ?holds ?check ?status ?request WHERE {\n"
    "  ?run fac:contractDepth ?depth ; fac:contractCases ?cases ; fac:contractHolds ?holds ; fac:traceId ?trace .\n"
    "  OPTIONAL { ?run fac:hasContractFailure ?f . ?f fac:failedCheck ?check ; fac:requestLine ?request .\n"
    "             OPTIONAL { ?f fac:responseStatus ?status } }\n"
    "} LIMIT 200",
}

CYPHER_EXAMPLES: dict[str, str] = {
    "Products and their entities": (
        "MATCH (p:Product)-[:hasBlueprint]->(b:Blueprint)-[:hasEntity]->(e:Entity)\n"
        "RETURN p.slug AS product, collect(e.entityName) AS entities LIMIT 200"
    ),
    "Files per template pack": (
        "MATCH (a:Artifact)-[:renderedWith]->(t:TemplatePack)\nRETURN t.iri AS pack, count(a) AS files LIMIT 100"
    ),
    "Activities and their agents": (
        "MATCH (a:LifecycleActivity)-[:wasAssociatedWith]->(g:FactoryAgent)\n"
        "RETURN a.iri AS activity, g.iri AS agent, a.startedAtTime AS started LIMIT 100"
    ),
}
