"""The template catalog in the knowledge graph, and the outcomes of the products that use each pack version.

The catalog is a shared graph (`CATALOG_GRAPH`, readable by every tenant): one `fac:TemplatePack` node per
pack version, with its digest, publisher, key, source and deprecation. Its IRI is the one a product's
graph uses for the pack its latest build was rendered with (`fac:usesTemplatePack`), so a query joins
the two. `pack_outcomes` reads, per product graph the caller may see, the pack version it uses, whether
its validation passed, its contract failures and its SLO breaches (telemetry against the blueprint's
objectives).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rdflib import URIRef

from graph.facts import template_iri
from graph.names import CATALOG_GRAPH, parse_graph
from graph.rdf_store import Quad, Value, quad
from ontology.namespaces import FAC, RDF, RDFS
from ontology.packs import PackSeal

if TYPE_CHECKING:
    from graph.knowledge_graph import KnowledgeGraph

__all__ = ["CatalogPack", "PackUse", "catalog_quads", "pack_uses", "write_catalog"]


@dataclass(frozen=True)
class CatalogPack:
    """One pack version as the catalog records it."""

    seal: PackSeal
    description: str
    deprecation: str = ""


@dataclass
class PackUse:
    """A product whose latest build was rendered with a pack version, and how that build went."""

    tenant: str
    product: str
    pack: str
    version: str
    validated: bool | None = None
    contract_failures: int = 0
    slo_breaches: int = 0
    breaches: list[str] = field(default_factory=list)


def catalog_quads(packs: Iterable[CatalogPack]) -> list[Quad]:
    """The catalog graph's quads for `packs`."""
    quads: list[Quad] = []
    for pack in packs:
        name, version = pack.seal.name, pack.seal.version
        s = template_iri(name, version)
        values: dict[str, Value | None] = {
            str(RDF.type): URIRef(str(FAC.TemplatePack)),
            str(RDFS.label): f"{name} {version}",
            str(FAC.templateName): name,
            str(FAC.templateVersion): version,
            str(RDFS.comment): pack.description,
            str(FAC.packDigest): pack.seal.digest,
            str(FAC.packSource): pack.seal.source,
            str(FAC.packPublisher): pack.seal.publisher or None,
            str(FAC.packPublisherKey): pack.seal.key or None,
            str(FAC.packDeprecation): pack.deprecation or None,
        }
        quads.extend(quad(s, p, v, CATALOG_GRAPH) for p, v in values.items() if v is not None)
    return quads


def write_catalog(kg: KnowledgeGraph, packs: Iterable[CatalogPack]) -> int:
    """Replace the catalog graph with `packs`; returns how many quads it holds."""
    quads = catalog_quads(packs)
    kg.replace_shared_graph(CATALOG_GRAPH, quads)
    return len(quads)


_USES = """PREFIX fac: <https://softwarefactory.dev/ontology#>
SELECT ?g ?name ?version WHERE { GRAPH ?g {
  ?product a fac:Product ; fac:usesTemplatePack ?pack .
  ?pack fac:templateName ?name ; fac:templateVersion ?version .
} }"""
_VALIDATIONS = """PREFIX fac: <https://softwarefactory.dev/ontology#>
SELECT ?g ?passed WHERE { GRAPH ?g { ?report a fac:ValidationReport ; fac:passed ?passed } }"""
_FAILURES = """PREFIX fac: <https://softwarefactory.dev/ontology#>
SELECT ?g (COUNT(DISTINCT ?failure) AS ?n) WHERE { GRAPH ?g { ?run fac:hasContractFailure ?failure } } GROUP BY ?g"""
_SIGNALS = """PREFIX fac: <https://softwarefactory.dev/ontology#>
SELECT ?g ?metric ?route ?value ?latency ?errors WHERE { GRAPH ?g {
  ?signal a fac:TelemetrySignal ; fac:metric ?metric ; fac:route ?route ; fac:value ?value .
  ?blueprint a fac:Blueprint .
  OPTIONAL { ?blueprint fac:sloLatencyP95Ms ?latency }
  OPTIONAL { ?blueprint fac:sloErrorRate ?errors }
  FILTER (?metric IN ("latency_p95_ms", "error_rate"))
} }"""


def pack_uses(kg: KnowledgeGraph, tenant: str | None) -> list[PackUse]:
    """Every product `tenant` (None: every tenant) holds, with the pack version it uses and its outcomes."""
    uses: dict[str, PackUse] = {}
    for row in kg.sparql(_USES, tenant).records():
        name = parse_graph(str(row["g"]))
        if name is not None:
            uses[str(row["g"])] = PackUse(name.tenant, name.product, str(row["name"]), str(row["version"]))
    for row in kg.sparql(_VALIDATIONS, tenant).records():
        use = uses.get(str(row["g"]))
        if use is not None:
            use.validated = bool(row["passed"]) and (use.validated is not False)
    for row in kg.sparql(_FAILURES, tenant).records():
        use = uses.get(str(row["g"]))
        if use is not None:
            use.contract_failures = int(row["n"])
    for row in kg.sparql(_SIGNALS, tenant).records():
        use = uses.get(str(row["g"]))
        if use is None:
            continue
        limit = row["latency"] if row["metric"] == "latency_p95_ms" else row["errors"]
        if limit is not None and float(row["value"]) > float(limit):
            use.slo_breaches += 1
            use.breaches.append(f"{row['metric']} of {row['route']}: {float(row['value']):g} > {float(limit):g}")
    return sorted(uses.values(), key=lambda u: (u.pack, u.version, u.tenant, u.product))
