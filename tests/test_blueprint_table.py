"""The table form of a blueprint: rows out, edited rows back in, every rule of the blueprint language kept."""

from __future__ import annotations

import math

import pytest

from generators.blueprint import BlueprintError
from generators.blueprint_table import COLUMNS, attribute_rows, blueprint_from_rows
from graph.samples import DEMO_PRODUCTS
from ontology.errors import InvalidInputError
from ontology.models import AccessGrant
from studio.seeding import blueprint_of

BP = blueprint_of(DEMO_PRODUCTS[0])  # acme/invoicing


def test_rows_round_trip_to_the_same_blueprint() -> None:
    rows = attribute_rows(BP)
    assert rows and all(tuple(r) == COLUMNS for r in rows)
    assert blueprint_from_rows(BP, rows) == BP


def test_edits_add_rename_retype_and_remove() -> None:
    rows = attribute_rows(BP)
    first = rows[0]["entity"]
    kept = [r for r in rows if r["entity"] != first or r is rows[0]]
    kept[0] = {**kept[0], "attribute": "Full Name", "type": "text"}
    kept.append({"entity": "Credit Note", "attribute": "amount", "type": "money", "required": True, "unique": math.nan})
    kept.append({"entity": "credit_note", "attribute": "state", "type": "enum", "values": "open | closed"})
    kept.append({"entity": None, "attribute": None})  # an empty row a table adds
    bp = blueprint_from_rows(BP, kept)
    assert [a.name for a in bp.entity(first).attributes] == ["full_name"]
    assert bp.entity(first).attributes[0].type == "text"
    note = bp.entity("credit_note")
    assert [(a.name, a.type, a.required) for a in note.attributes] == [
        ("amount", "money", True),
        ("state", "enum", False),
    ]
    assert note.attributes[1].enum_values == ["open", "closed"]
    gone = attribute_rows(BP)
    removed = gone[-1]["entity"]
    without = [r for r in gone if r["entity"] != removed]
    trimmed = blueprint_from_rows(BP, without)
    assert removed not in {e.name for e in trimmed.entities}
    assert all(removed not in (r.source, r.target) for r in trimmed.relationships)
    extra = AccessGrant(role="viewer", entity=removed, actions=["pii"])
    granted = BP.model_copy(update={"access": BP.access.model_copy(update={"grants": [*BP.access.grants, extra]})})
    assert blueprint_from_rows(granted, without).access.grants == BP.access.grants  # its grants go with it
    assert blueprint_from_rows(granted, gone).access == granted.access


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ({"entity": "invoice", "attribute": ""}, "row 1: give both"),
        ({"entity": "invoice", "attribute": "x", "type": "blob"}, "unknown type 'blob'"),
        ({"entity": "invoice", "attribute": "state", "type": "enum"}, "needs its values"),
    ],
)
def test_bad_rows_name_the_row(row: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        blueprint_from_rows(BP, [row])


def test_an_empty_table_and_a_broken_rule_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="no rows"):
        blueprint_from_rows(BP, [])
    rows = attribute_rows(BP)
    rows.append(dict(rows[0]))  # the same attribute twice
    with pytest.raises(BlueprintError):
        blueprint_from_rows(BP, rows)
