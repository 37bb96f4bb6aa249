"""Validated names (tenant and product slugs, trace ids) and the IRIs minted from them."""

from __future__ import annotations

import re
import uuid

from ontology.errors import InvalidInputError
from ontology.namespaces import GRAPH, ID

__all__ = [
    "ONTOLOGY_GRAPH",
    "PATTERNS_GRAPH",
    "SHARED_GRAPHS",
    "GraphName",
    "check_slug",
    "check_trace_id",
    "decisions_graph",
    "graph_tenant",
    "new_trace_id",
    "node_iri",
    "parse_graph",
    "product_graph",
    "tenant_graph_prefix",
]

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")  # \Z: "$" would let a final "\n" in
_TRACE = re.compile(r"^[0-9a-f]{32}\Z")

ONTOLOGY_GRAPH = str(GRAPH["shared/ontology"])
PATTERNS_GRAPH = str(GRAPH["shared/patterns"])
SHARED_GRAPHS = (ONTOLOGY_GRAPH, PATTERNS_GRAPH)


def check_slug(value: str, what: str = "name") -> str:
    """Return `value` if it is a safe slug (lowercase letters, digits, inner '-'), else raise."""
    if not isinstance(value, str) or not _SLUG.match(value):
        shown = value if isinstance(value, str) and len(value) <= 80 else f"{str(value)[:80]}..."
        raise InvalidInputError(
            f"invalid {what} {shown!r}: use 1-63 lowercase letters, digits and inner hyphens (like 'acme-billing')"
        )
    return value


def check_trace_id(value: str) -> str:
    if not isinstance(value, str) or not _TRACE.match(value):
        raise InvalidInputError(f"invalid trace id {str(value)[:80]!r}: a trace id is 32 lowercase hex digits")
    return value


def new_trace_id() -> str:
    """A fresh trace id: 32 hex digits, the W3C trace-context form that spans carry too."""
    return uuid.uuid4().hex


def tenant_graph_prefix(tenant: str) -> str:
    return str(GRAPH[f"tenant/{check_slug(tenant, 'tenant')}/product/"])


def decisions_graph(tenant: str) -> str:
    """The named graph that holds a tenant's decisions: its people's answers to the analyst's questions."""
    return str(GRAPH[f"tenant/{check_slug(tenant, 'tenant')}/decisions"])


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
    if len(rest) != 3 or rest[1] != "product" or not _SLUG.match(rest[0]) or not _SLUG.match(rest[2]):
        return None
    return GraphName(iri, rest[0], rest[2])


def graph_tenant(iri: str) -> str | None:
    """The tenant a product graph or a decisions graph belongs to; None for any other graph."""
    name = parse_graph(iri)
    if name is not None:
        return name.tenant
    prefix = str(GRAPH["tenant/"])
    rest = iri[len(prefix) :].split("/") if iri.startswith(prefix) else []
    return rest[0] if len(rest) == 2 and rest[1] == "decisions" and _SLUG.match(rest[0]) else None
