"""The IRIs minted from validated names: named graphs per product, node IRIs, and their parsing."""

from __future__ import annotations

import re

from ontology.errors import InvalidInputError
from ontology.findings import Finding
from ontology.namespaces import GRAPH, ID
from ontology.refs import SLUG_PATTERN, check_slug

__all__ = [
    "CATALOG_GRAPH",
    "ONTOLOGY_GRAPH",
    "PATTERNS_GRAPH",
    "SHARED_GRAPHS",
    "GraphName",
    "decisions_graph",
    "finding_iri",
    "graph_tenant",
    "insights_graph",
    "insights_tenant",
    "node_iri",
    "parse_graph",
    "product_graph",
    "tenant_graph_prefix",
]

ONTOLOGY_GRAPH = str(GRAPH["shared/ontology"])
PATTERNS_GRAPH = str(GRAPH["shared/patterns"])
CATALOG_GRAPH = str(GRAPH["shared/catalog"])
"""The template catalog: every pack version with its publisher, digest and deprecation (`graph.catalog`)."""
SHARED_GRAPHS = (ONTOLOGY_GRAPH, PATTERNS_GRAPH, CATALOG_GRAPH)


def tenant_graph_prefix(tenant: str) -> str:
    return str(GRAPH[f"tenant/{check_slug(tenant, 'tenant')}/product/"])


def decisions_graph(tenant: str) -> str:
    """The named graph that holds a tenant's decisions: its people's answers to the analyst's questions."""
    return str(GRAPH[f"tenant/{check_slug(tenant, 'tenant')}/decisions"])


def insights_graph(tenant: str) -> str:
    """The named graph that holds the insights a tenant sees: what many products' running services showed."""
    return str(GRAPH[f"tenant/{check_slug(tenant, 'tenant')}/insights"])


def insights_tenant(iri: str) -> str | None:
    """The tenant of an insights graph; None for any other graph."""
    prefix, suffix = str(GRAPH["tenant/"]), "/insights"
    if not (iri.startswith(prefix) and iri.endswith(suffix)):
        return None
    tenant = iri[len(prefix) : -len(suffix)]
    return tenant if SLUG_PATTERN.match(tenant) else None


def product_graph(tenant: str, product: str) -> str:
    """The named graph that holds one product's facts inside its tenant."""
    return tenant_graph_prefix(tenant) + check_slug(product, "product")


def node_iri(tenant: str, product: str, *parts: str) -> str:
    """The IRI of a thing recorded for a product, e.g. node_iri('acme', 'billing', 'entity', 'invoice')."""
    for part in parts:
        if not re.match(r"^[A-Za-z0-9_.-]+\Z", part) or part in {".", ".."}:
            raise InvalidInputError(f"invalid IRI segment {part[:80]!r}")
    return str(ID["/".join((check_slug(tenant, "tenant"), check_slug(product, "product"), *parts))])


class GraphName:
    """A product graph IRI split into tenant and product."""

    __slots__ = ("iri", "product", "tenant")

    def __init__(self, iri: str, tenant: str, product: str) -> None:
        self.iri, self.tenant, self.product = iri, tenant, product


def parse_graph(iri: str) -> GraphName | None:
    """The tenant and product of a product graph IRI, or None for any other graph."""
    prefix = str(GRAPH["tenant/"])
    if not iri.startswith(prefix):
        return None
    rest = iri[len(prefix) :].split("/")
    if len(rest) != 3 or rest[1] != "product" or not SLUG_PATTERN.match(rest[0]) or not SLUG_PATTERN.match(rest[2]):
        return None
    return GraphName(iri, rest[0], rest[2])


def graph_tenant(iri: str) -> str | None:
    """The tenant a product graph, a decisions graph or an insights graph belongs to; None for any other graph."""
    name = parse_graph(iri)
    if name is not None:
        return name.tenant
    if insights_tenant(iri) is not None:
        return insights_tenant(iri)
    prefix = str(GRAPH["tenant/"])
    rest = iri[len(prefix) :].split("/") if iri.startswith(prefix) else []
    return rest[0] if len(rest) == 2 and rest[1] == "decisions" and SLUG_PATTERN.match(rest[0]) else None


def finding_iri(finding: Finding) -> str:
    """The IRI of a finding in its product's graph: what an agent records as `prov:used` when it acts on it."""
    return node_iri(finding.tenant, finding.product, "finding", finding.id)
