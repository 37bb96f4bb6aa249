"""The blueprint features a template pack may or may not render, and the ones a blueprint needs.

A pack's manifest lists the features it renders (`features:`); a blueprint that needs one the pack
lacks is refused before anything is rendered. A manifest that lists none renders every feature of
`KNOWN_FEATURES` (the packs written before features were named).
"""

from __future__ import annotations

from ontology.models import Blueprint

__all__ = ["KNOWN_FEATURES", "blueprint_features"]

KNOWN_FEATURES = frozenset(
    {"access_roles", "audit_fields", "bounded_contexts", "domain_events", "relationships", "search", "soft_delete"}
)


def blueprint_features(blueprint: Blueprint) -> frozenset[str]:
    """The features `blueprint` needs a pack to render."""
    flags = blueprint.features
    needed = {
        "audit_fields": flags.audit_fields,
        "soft_delete": flags.soft_delete,
        "search": flags.search,
        "domain_events": flags.domain_events,
        "relationships": bool(blueprint.relationships),
        "access_roles": bool(blueprint.access.roles),
        "bounded_contexts": bool(blueprint.contexts),
    }
    return frozenset(name for name, on in needed.items() if on)
