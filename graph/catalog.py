"""The template catalog in the knowledge graph, and the outcomes of the products that use each pack version.

The catalog is a shared graph (`CATALOG_GRAPH`, readable by every tenant): one `fac:TemplatePack` node per
pack version, with its digest, publisher, key, source and deprecation. Its IRI is the one a product's
graph uses for the pack its latest build was rendered with (`fac:usesTemplatePack`), so a query joins
the two. `pack_outcomes` reads, per product graph the caller may see, the pack version it uses, whether
its validation passed, its contract failures and its SLO breaches (telemetry against the blueprint's
objectives). `pack_upgrades` reads the upgrades people made of their products from one pack version to
another (`fac:UpgradeActivity`, kept in each product's graph through its later builds).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from rdflib import URIRef

from graph.facts import template_iri
from graph.names import CATALOG_GRAPH, parse_graph
from graph.rdf_store import Quad, Value, quad
from ontology.namespaces import FAC, RDF, RDFS
from ontology.packs import PackSeal

if TYPE_CHECKING:
    from graph.knowledge_graph import KnowledgeGraph

__all__ = ["UPGRADES", "CatalogPack", "PackUpgrade", "PackUse", "catalog_quads", "pack_upgrades", "pack_uses",
           "write_catalog"]  # fmt: skip


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


UPGRADES = """PREFIX fac: <https://softwarefactory.dev/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?g ?upgrade ?pack ?from ?to ?status ?commit ?branch ?person ?at ?conflict WHERE { GRAPH ?g {
  ?upgrade a fac:UpgradeActivity ; fac:upgradeStatus ?status ; prov:startedAtTime ?at ;
           prov:wasAssociatedWith/fac:userName ?person ;
           fac:upgradedFrom ?old ; fac:upgradedTo ?new .
  ?old fac:templateName ?pack ; fac:templateVersion ?from .
  ?new fac:templateVersion ?to .
  OPTIONAL { ?upgrade fac:resultCommit ?commit }
  OPTIONAL { ?upgrade fac:upgradeBranch ?branch }
  OPTIONAL { ?upgrade fac:conflictPath ?conflict }
} } ORDER BY ?at ?upgrade ?conflict"""
"""Every upgrade of the products the caller sees, oldest first: one row per conflicting file (or one without)."""


@dataclass(frozen=True)
class PackUpgrade:
    """One upgrade of a product to another pack version, as the knowledge graph records it."""

    tenant: str
    product: str
    pack: str
    from_version: str
    to_version: str
    status: str
    """upgraded, conflicts or failed."""
    person: str
    at: str
    commit: str = ""
    branch: str = ""
    conflicts: tuple[str, ...] = ()

    def row(self) -> dict[str, object]:
        """The upgrade as a table row (the Studio's product and Marketplace pages)."""
        return {
            "at": self.at[:19].replace("T", " "), "product": f"{self.tenant}/{self.product}", "pack": self.pack,
            "from": self.from_version, "to": self.to_version, "status": self.status, "by": self.person,
            "conflicts": ", ".join(self.conflicts), "commit": self.commit[:12], "branch": self.branch,
        }  # fmt: skip


def pack_upgrades(kg: KnowledgeGraph, tenant: str | None, product: str | None = None) -> list[PackUpgrade]:
    """The upgrades of `tenant`'s products (None: every tenant's; `product`: that product's only), oldest first."""
    found: dict[str, PackUpgrade] = {}
    for row in kg.sparql(UPGRADES, tenant).records():
        name = parse_graph(str(row["g"]))
        if name is None or (product is not None and name.product != product):
            continue
        key = f"{row['g']} {row['upgrade']}"
        upgrade = found.get(key) or PackUpgrade(
            name.tenant, name.product, str(row["pack"]), str(row["from"]), str(row["to"]), str(row["status"]),
            str(row["person"]), str(row["at"]), str(row["commit"] or ""), str(row["branch"] or ""),
        )  # fmt: skip
        if row["conflict"] is not None:
            upgrade = replace(upgrade, conflicts=(*upgrade.conflicts, str(row["conflict"])))
        found[key] = upgrade
    return list(found.values())
