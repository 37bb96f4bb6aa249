"""What the design stage learns from running deployments: the findings the architect applies.

`findings_for` is the one place the findings come from (the telemetry collector's facts in the
knowledge graph); a `StageContext` can name another source (`findings_source`), as tests do. A
product that was never released has no findings of its own: it gets those of the tenant's other
products whose entities share its patterns or names (generators.finding_rules.carry_over).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from generators.finding_rules import Applied, carry_over
from graph.findings import findings_for as recorded_findings
from ontology.errors import FactoryError
from ontology.findings import Finding
from ontology.namespaces import PAT

if TYPE_CHECKING:
    from graph.knowledge_graph import KnowledgeGraph
    from infra.lifecycle.context import StageContext

__all__ = ["ENTITY_PATTERNS", "design_findings", "findings_for"]

ENTITY_PATTERNS = """PREFIX fac: <https://softwarefactory.dev/ontology#>
SELECT ?product ?entity ?pattern WHERE {
  ?p fac:hasBlueprint ?b ; fac:slug ?product . ?b fac:hasEntity ?e .
  ?e fac:entityName ?entity ; fac:matchesPattern ?pattern .
}"""
"""The pattern of each entity of the tenant's products, to carry findings over by pattern."""


def findings_for(kg: KnowledgeGraph, tenant: str, product: str) -> list[Finding]:
    """The findings the telemetry collector recorded for `tenant`/`product`'s running deployments, newest first."""
    return recorded_findings(kg, tenant, product)


def _patterns(kg: KnowledgeGraph, tenant: str) -> dict[tuple[str, str], str | None]:
    try:
        rows = kg.sparql(ENTITY_PATTERNS, tenant).records()
    except (FactoryError, OSError):
        return {}
    prefix = str(PAT)
    return {(str(r["product"]), str(r["entity"])): str(r["pattern"]).removeprefix(prefix) for r in rows}


def design_findings(
    ctx: StageContext, entities: Iterable[tuple[str, str | None]], released: bool
) -> list[Finding | Applied]:
    """The findings the architect applies to a product of `entities` (name, pattern): the product's own once
    it was released, else those of the tenant's other products carried over by pattern or entity name."""
    source = ctx.findings_source or findings_for
    kg = ctx.graph()
    if released:
        return list(source(kg, ctx.tenant, ctx.product))
    others = [p.product for p in ctx.control.products(ctx.tenant) if p.product != ctx.product]
    past = [f for other in sorted(others) for f in source(kg, ctx.tenant, other)]
    if not past:
        return []
    return list(carry_over(past, ctx.tenant, ctx.product, entities, _patterns(kg, ctx.tenant)))
