"""The blueprint language: hand-written YAML, every invalid form with its place, hostile names, JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from generators.blueprint import (
    MAX_BLUEPRINT_BYTES,
    BlueprintError,
    dump_blueprint,
    json_schema,
    load_blueprint,
    parse_blueprint,
)
from ontology.errors import InvalidInputError

HAND_WRITTEN = """
name: Acme Invoicing
slug: invoicing
tenant: acme
description: Customers receive invoices and pay them.
contexts:
  - name: billing
entities:
  - name: customer
    context: billing
    attributes:
      - {name: name, type: string, required: true, pii: true}
      - {name: email, type: email, unique: true, pii: true}
  - name: invoice
    context: billing
    attributes:
      - {name: number, type: string, required: true, unique: true}
      - {name: status, type: enum, enum_values: [draft, sent, paid], default: draft}
      - {name: total, type: money, default: 0}
      - {name: due_date, type: date}
relationships:
  - {source: customer, target: invoice, cardinality: one-to-many, source_role: invoices, target_role: customer}
features: {soft_delete: true, search: true}
slo: {p95_latency_ms: 250, error_rate: 0.005}
"""


def base() -> dict:
    return yaml.safe_load(HAND_WRITTEN)


def issues_of(data: dict) -> list[str]:
    with pytest.raises(BlueprintError) as caught:
        parse_blueprint(data)
    assert "\n" not in str(caught.value)
    return caught.value.issues


def test_hand_written_yaml_loads_with_defaults() -> None:
    bp = load_blueprint(HAND_WRITTEN)
    assert [e.name for e in bp.entities] == ["customer", "invoice"]
    assert bp.features.soft_delete and bp.features.search and bp.features.audit_fields
    assert bp.slo.p95_latency_ms == 250
    assert bp.entity("invoice").attributes[1].enum_values == ["draft", "sent", "paid"]


def test_yaml_round_trip_and_stable_hash(tmp_path: Path) -> None:
    bp = load_blueprint(HAND_WRITTEN)
    path = tmp_path / "bp.yaml"
    path.write_text(dump_blueprint(bp))
    again = load_blueprint(path)
    assert again == bp and again.hash == bp.hash and len(bp.hash) == 64
    changed = base()
    changed["entities"][0]["attributes"][0]["required"] = False
    assert parse_blueprint(changed).hash != bp.hash


@pytest.mark.parametrize(
    ("edit", "place"),
    [
        (lambda d: d["entities"][1]["attributes"][0].update(type="varchar"), "entities[1].attributes[0].type"),
        (lambda d: d["entities"][0]["attributes"].clear(), "entities[0].attributes"),
        (lambda d: d.pop("slug"), "slug: is required"),
        (lambda d: d.update(colour="blue"), "colour: unknown field"),
        (lambda d: d["entities"][1]["attributes"][1].pop("enum_values"), "entities[1].attributes[1]: an enum"),
        (lambda d: d["entities"][1]["attributes"][2].update(default="lots"), "entities[1].attributes[2]: default"),
        (
            lambda d: d["entities"][0]["attributes"][0].update(enum_values=["a"]),
            "entities[0].attributes[0]: enum_values",
        ),
        (lambda d: d["entities"][1].update(name="customer"), "entities[1].name: duplicate entity"),
        (lambda d: d["entities"][0]["attributes"][1].update(name="name"), "entities[0].attributes[1].name: duplicate"),
        (lambda d: d["entities"][0].update(context="shipping"), "entities[0].context: no bounded context"),
        (lambda d: d["relationships"][0].update(target="order"), "relationships[0].target: no entity 'order'"),
        (lambda d: d["relationships"][0].update(source_role="email"), "relationships[0].source_role: 'email'"),
        (lambda d: d["relationships"][0].update(cardinality="one-to-one"), "relationships[0].cardinality"),
        (lambda d: d.update(slug="Acme Billing!"), "slug: 'Acme Billing!' is not a slug"),
        (lambda d: d.update(tenant="../other"), "tenant:"),
        (lambda d: d["entities"][0].update(name="../../etc/passwd"), "entities[0]: entity name"),
        (lambda d: d["entities"][0]["attributes"][0].update(name="a/b"), "entities[0].attributes[0]: attribute name"),
        (lambda d: d["slo"].update(error_rate=2), "slo.error_rate"),
        (lambda d: d.update(entities=[]), "entities: List should have at least 1 item"),
        (lambda d: d.update(entities=[d["entities"][0]] * 101), "entities: List should have at most 100 items"),
        (lambda d: d.update(access={"roles": ["clerk", "clerk"]}), "access.roles: roles repeat a role"),
        (lambda d: d.update(access={"roles": ["Clerk!"]}), "access.roles"),
        (
            lambda d: d.update(access={"roles": ["clerk"], "grants": [{"role": "boss", "actions": ["read"]}]}),
            "access.grants[0].role: no role 'boss' in access.roles",
        ),
        (
            lambda d: d.update(access={"grants": [{"role": "admin", "entity": "order", "actions": ["read"]}]}),
            "access.grants[0].entity: no entity 'order'",
        ),
        (
            lambda d: d.update(access={"grants": [{"role": "admin", "actions": ["read", "write"]}]}),
            "access.grants[0].actions[1]: Input should be",
        ),
        (lambda d: d.update(access={"grants": [{"role": "admin", "actions": []}]}), "access.grants[0].actions"),
        (lambda d: d.update(access={"grants": [{"role": "admin", "actions": ["read", "read"]}]}), "repeat an action"),
        (
            lambda d: d.update(access={"grants": [{"role": "admin", "actions": ["read", "create", "update"]}]}),
            "access.grants: no role may delete 'customer' rows",
        ),
    ],
)
def test_every_error_names_its_place(edit: object, place: str) -> None:
    data = base()
    edit(data)  # type: ignore[operator]
    issues = issues_of(data)
    assert any(place in issue for issue in issues), issues


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty blueprint"),
        ("   \n", "empty blueprint"),
        ("name: [unclosed", "not valid YAML at line 1"),
        ("- just\n- a list\n", "expected a mapping"),
        ("name: x\n" + "#" * MAX_BLUEPRINT_BYTES, "too large"),
    ],
)
def test_unusable_text_is_a_one_line_error(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        load_blueprint(text)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no such blueprint file"):
        load_blueprint(tmp_path / "nope.yaml")
    with pytest.raises(InvalidInputError, match="is a folder"):
        load_blueprint(tmp_path)


def test_hostile_names_become_safe_identifiers_with_labels() -> None:
    data = base()
    data["entities"][0]["name"] = "Class"
    data["entities"][0]["attributes"][0]["name"] = "import"
    data["entities"][0]["attributes"][1]["name"] = "E-Mail Adresse (privé)"
    data["entities"][1]["name"] = "3rd Party Invoice"
    data["entities"][1]["attributes"][0]["name"] = "id"
    data["relationships"][0].update(source="class_item", target="n3rd_party_invoice")
    bp = parse_blueprint(data)
    first, second = bp.entities
    assert (first.name, first.label) == ("class_item", "Class")
    assert [a.name for a in first.attributes] == ["import_value", "e_mail_adresse_prive"]
    assert first.attributes[1].label == "E-Mail Adresse (privé)"
    assert (second.name, second.attributes[0].name) == ("n3rd_party_invoice", "id_value")


def test_names_that_collapse_to_the_same_identifier_are_reported() -> None:
    data = base()
    data["entities"][1]["name"] = "Customer!"
    issues = issues_of(data)
    assert any("entities[1].name: duplicate entity 'customer'" in i for i in issues)


def test_template_syntax_is_kept_as_text() -> None:
    data = base()
    data["description"] = "{{ 7*7 }} {% for x in range(3) %}x{% endfor %}"
    data["entities"][0]["label"] = "{{ config }}"
    bp = parse_blueprint(data)
    assert bp.description == data["description"] and bp.entities[0].label == "{{ config }}"


def test_json_schema_describes_the_language() -> None:
    schema = json.loads(json_schema())
    assert schema["title"] == "Software Factory blueprint"
    assert {"name", "slug", "tenant", "entities"} <= set(schema["required"])
    attribute = schema["$defs"]["Attribute"]["properties"]
    assert "enum" in json.dumps(attribute["type"]) and "money" in json.dumps(attribute["type"])
    # the hand-written example validates against the schema's shape (required keys present)
    assert set(schema["required"]) <= set(base())


def test_a_blueprint_without_access_gets_the_safe_default_roles_and_grants() -> None:
    bp = load_blueprint(HAND_WRITTEN)
    assert bp.access.roles == ["viewer", "editor", "admin"]
    assert bp.access.allowed("customer", "read") == ("viewer", "editor", "admin")
    assert bp.access.allowed("customer", "create") == ("editor", "admin")
    assert bp.access.allowed("invoice", "delete") == ("admin",)
    assert bp.access.allowed("customer", "pii") == ("admin",)  # personal data: admins only
    assert "access" not in dump_blueprint(bp)  # the defaults are not written back


def test_access_grants_per_entity_round_trip_and_change_the_hash(tmp_path: Path) -> None:
    data = base()
    data["access"] = {
        "roles": ["clerk", "auditor", "viewer"],
        "grants": [
            {"role": "clerk", "entity": "invoice", "actions": ["read", "create", "update"]},
            {"role": "auditor", "entity": "*", "actions": ["read", "pii"]},
            {"role": "clerk", "entity": "customer", "actions": ["create", "update", "delete"]},
            {"role": "auditor", "entity": "invoice", "actions": ["delete"]},
        ],
    }
    bp = parse_blueprint(data)
    assert bp.access.allowed("invoice", "create") == ("clerk",)
    assert bp.access.allowed("customer", "create") == ("clerk",)
    assert bp.access.allowed("invoice", "delete") == ("auditor",)
    assert bp.access.allowed("customer", "read") == ("auditor",)  # viewer: named, but granted nothing
    assert bp.access.allowed("customer", "pii") == ("auditor",)
    assert bp.hash != load_blueprint(HAND_WRITTEN).hash
    path = tmp_path / "bp.yaml"
    path.write_text(dump_blueprint(bp))
    assert load_blueprint(path) == bp
    more_roles = parse_blueprint({**base(), "access": {"roles": ["viewer", "editor", "admin", "clerk"]}})
    assert more_roles.access.grants == load_blueprint(HAND_WRITTEN).access.grants  # clerk: nothing yet
    assert issues_of({**base(), "access": {"roles": ["viewer", "clerk"]}}) == [
        "access.grants: no role may create or update or delete 'customer' rows; grant each action to a role "
        "(the service has every route of every entity)",
        "access.grants: no role may create or update or delete 'invoice' rows; grant each action to a role "
        "(the service has every route of every entity)",
    ]


def test_the_access_section_is_in_the_json_schema_and_the_shapes() -> None:
    schema = json.loads(json_schema())
    assert "access" in schema["properties"]
    grant = schema["$defs"]["AccessGrant"]["properties"]
    assert {"read", "create", "update", "delete", "pii"} <= set(json.dumps(grant["actions"]).replace('"', " ").split())
    from generators.blueprint import shacl_issues
    from ontology.models import AccessGrant

    bp = load_blueprint(HAND_WRITTEN)
    assert shacl_issues(bp) == []
    # a grant that slipped past the model (constructed without validation) is caught by the shapes
    bad = AccessGrant.model_construct(role="Not A Role", entity="*", actions=["read"])
    broken = bp.model_copy(update={"access": bp.access.model_copy(update={"grants": [bad]})})
    assert any(issue.startswith("access.grants[0]: an access grant needs one role") for issue in shacl_issues(broken))
