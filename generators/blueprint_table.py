"""A blueprint's entities and attributes as table rows, and a blueprint rebuilt from edited rows.

One row per attribute (entity, attribute, type, required, unique, pii, enum values), so a
person can edit the domain model as a table instead of YAML. Rows are plain dicts: any table
widget can show them. The rebuilt blueprint passes every rule of the blueprint language.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from generators.blueprint import parse_blueprint
from ontology.errors import InvalidInputError
from ontology.identifiers import safe_identifier
from ontology.models import DATA_TYPES, Blueprint

__all__ = ["COLUMNS", "attribute_rows", "blueprint_from_rows"]

COLUMNS = ("entity", "attribute", "type", "required", "unique", "pii", "values")
"""The columns of a row; `values` holds an enum's values separated by '|'."""


def attribute_rows(bp: Blueprint) -> list[dict[str, Any]]:
    """One row per attribute of each entity, in the blueprint's order."""
    return [
        {
            "entity": e.name,
            "attribute": a.name,
            "type": a.type,
            "required": a.required,
            "unique": a.unique,
            "pii": a.pii,
            "values": "|".join(a.enum_values),
        }
        for e in bp.entities
        for a in e.attributes
    ]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "x")
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def blueprint_from_rows(bp: Blueprint, rows: Sequence[Mapping[str, Any]]) -> Blueprint:
    """`bp` with the entities and attributes the rows hold (relationships of removed entities go too).

    Entities keep their label, description, context and pattern; attributes that keep their name
    and type keep their label and default. Raises InvalidInputError (a BlueprintError when the
    result breaks a rule of the blueprint language) naming the row at fault.
    """
    data = bp.model_dump(mode="json")
    old_entities = {e["name"]: e for e in data["entities"]}
    entities: dict[str, dict[str, Any]] = {}
    for number, row in enumerate(rows, start=1):
        entity_text, attribute_text = _text(row.get("entity")), _text(row.get("attribute"))
        if not entity_text and not attribute_text:
            continue  # an empty row, as a table adds them
        if not entity_text or not attribute_text:
            raise InvalidInputError(f"row {number}: give both an entity and an attribute")
        kind = _text(row.get("type")) or "string"
        if kind not in DATA_TYPES:
            raise InvalidInputError(f"row {number}: unknown type {kind[:40]!r}; use one of {', '.join(DATA_TYPES)}")
        values = [v.strip() for v in _text(row.get("values")).replace(",", "|").split("|") if v.strip()]
        if kind == "enum" and not values:
            raise InvalidInputError(f"row {number}: an enum attribute needs its values, e.g. draft|sent|paid")
        name = safe_identifier(entity_text)
        entity = entities.get(name)
        if entity is None:
            base = old_entities.get(name) or {"name": name, "context": _first_context(data)}
            entity = entities[name] = {**base, "attributes": []}
        attribute_name = safe_identifier(attribute_text, kind="attribute")
        old = next(
            (a for a in (old_entities.get(name) or {}).get("attributes", []) if a["name"] == attribute_name), None
        )
        kept = old if old is not None and old["type"] == kind else {}
        entity["attributes"].append(
            {
                "name": attribute_name,
                "label": kept.get("label", ""),
                "type": kind,
                "required": _flag(row.get("required")),
                "unique": _flag(row.get("unique")),
                "pii": _flag(row.get("pii")),
                "default": kept.get("default") if kind != "enum" or kept.get("default") in values else None,
                "enum_values": values if kind == "enum" else [],
            }
        )
    if not entities:
        raise InvalidInputError("the table has no rows: a blueprint needs at least one entity with an attribute")
    data["entities"] = list(entities.values())
    data["relationships"] = [r for r in data["relationships"] if r["source"] in entities and r["target"] in entities]
    data["access"]["grants"] = [g for g in data["access"]["grants"] if g["entity"] == "*" or g["entity"] in entities]
    return parse_blueprint(data)


def _first_context(data: Mapping[str, Any]) -> str | None:
    contexts = data.get("contexts") or []
    return contexts[0]["name"] if contexts else None
