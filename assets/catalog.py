"""Factory-wide assets: the template catalog and the insights every build feeds."""

import json
from typing import Any

from dagster import AssetKey, MaterializeResult, MetadataValue, asset

from assets.resources import ControlPlaneResource, DeliveryResource, KnowledgeGraphResource
from generators.packs import list_packs
from graph.files import write_atomically
from infra.insights import compute_insights, save_insights
from infra.marketplace import refresh_catalog

__all__ = ["factory_insights", "template_catalog"]


@asset(group_name="factory", code_version="2")
def template_catalog(
    control: ControlPlaneResource, delivery: DeliveryResource, knowledge_graph: KnowledgeGraphResource
) -> MaterializeResult:
    """The template packs, built-in and installed, with their versions, publisher, digest, parameters and how
    often each version was used; also written to the knowledge graph's catalog, which the Marketplace reads.

    The engineer renders with one of these; the Studio's Templates and Marketplace pages list them.
    """
    builds = control.open().builds()
    packs: list[dict[str, Any]] = []
    for pack in list_packs():
        key = f"{pack.name}@{pack.version}"
        used = [b for b in builds if b.template == key]
        seal = pack.sealed
        packs.append(
            {
                "name": pack.name,
                "version": pack.version,
                "description": pack.description,
                "source": seal.source,
                "publisher": seal.publisher,
                "digest": seal.digest,
                "deprecated": pack.deprecated,
                "parameters": [p.name for p in pack.parameters],
                "builds": len(used),
                "passed": sum(1 for b in used if b.passed),
            }
        )
    path = delivery.root / "template_catalog.json"
    write_atomically(path, json.dumps(packs, indent=2).encode())
    refresh_catalog(knowledge_graph.open())
    table = "\n".join(f"| {p['name']} | {p['version']} | {p['builds']} | {p['passed']} |" for p in packs)
    return MaterializeResult(
        metadata={
            "packs": len(packs),
            "path": MetadataValue.path(str(path)),
            "catalog": MetadataValue.md("| pack | version | builds | passed |\n|---|---|---|---|\n" + table),
        }
    )


@asset(group_name="factory", code_version="1", deps=[AssetKey("knowledge")])
def factory_insights(control: ControlPlaneResource, delivery: DeliveryResource) -> MaterializeResult:
    """What past builds teach: pass rates, build times and SLO breaches per template version and per pattern.

    The architect reads it when it plans the next product; SLO breaches and failed builds are findings.
    """
    insights = compute_insights(control.open().builds())
    path = save_insights(delivery.root, insights)
    return MaterializeResult(
        metadata={
            "builds": insights.builds,
            "products": insights.products,
            "pass_rate": insights.pass_rate,
            "median_build_s": insights.median_build_s,
            "findings": MetadataValue.md("\n".join(f"- {f}" for f in insights.findings[:50]) or "none"),
            "path": MetadataValue.path(str(path)),
        }
    )
