"""The factory's policy for generated products: data is scoped by tenant, personal data is flagged.

Findings are one-line strings; an empty list means the product may be released.
"""

from __future__ import annotations

from pathlib import Path

from generators.attribute_inference import infer_attribute
from ontology.models import Attribute, Blueprint

__all__ = ["looks_personal", "policy_findings"]

_TABLES = Path("app") / "infrastructure" / "tables"


def looks_personal(attr: Attribute) -> bool:
    """Whether an attribute holds personal data by the factory's rules (emails, phones, addresses, names...)."""
    return attr.type == "email" or infer_attribute(attr.name).pii


def policy_findings(blueprint: Blueprint, rendered: Path | None = None) -> list[str]:
    """What in `blueprint` (and its rendered files, when given) breaks the policy."""
    findings = []
    for entity in blueprint.entities:
        for attr in entity.attributes:
            if not attr.pii and looks_personal(attr):
                findings.append(f"{entity.name}.{attr.name} looks like personal data but is not flagged pii")
    if rendered is not None:
        for entity in blueprint.entities:
            table = rendered / _TABLES / f"{entity.name}.py"
            if not table.is_file():
                findings.append(f"{entity.name}: no table module at {table.relative_to(rendered)}")
            elif "tenant_id" not in table.read_text(encoding="utf-8"):
                findings.append(f"{entity.name}: its table is not scoped by tenant_id")
    return findings
