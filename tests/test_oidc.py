"""OpenID Connect: a groups claim becomes tenant roles through the factory's role map, and nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.access import AccessDenied, Resource, decide
from infra.oidc import RoleMap, principal_from_claims, role_map
from ontology.errors import InvalidInputError
from ontology.refs import ProductRef

MAP = """
claim = "groups"
[groups]
"acme-devs" = ["acme:builder", "acme:viewer"]
"acme-leads" = "acme:approver"
"platform" = ["factory-admin"]
"""


def test_groups_map_to_memberships_and_unmapped_groups_give_nothing() -> None:
    roles = RoleMap.parse(MAP)
    ann = principal_from_claims({"email": "ann@example.com", "groups": ["acme-devs", "acme-leads", "hr"]}, roles)
    assert (ann.name, ann.kind, ann.factory_admin) == ("ann@example.com", "oidc", False)
    assert ann.roles == {"acme": frozenset({"builder", "viewer", "approver"})}
    bob = principal_from_claims({"preferred_username": "bob", "email": "b@x.io", "groups": "platform"}, roles)
    assert (bob.name, bob.factory_admin, dict(bob.roles)) == ("bob", True, {})
    nobody = principal_from_claims({"sub": "1234", "groups": ["hr", 7, None]}, roles)
    assert (nobody.name, nobody.factory_admin, dict(nobody.roles)) == ("1234", False, {})
    assert principal_from_claims({"sub": "x", "groups": {"acme-devs": True}}, roles).roles == {}  # not a list
    other_claim = RoleMap.parse('claim = "roles"\n[groups]\n"acme-devs" = ["acme:viewer"]\n')
    assert principal_from_claims({"sub": "x", "groups": ["acme-devs"]}, other_claim).roles == {}
    assert principal_from_claims({"sub": "x", "roles": ["acme-devs"]}, other_claim).roles == {
        "acme": frozenset({"viewer"})
    }
    with pytest.raises(AccessDenied, match="named no one"):
        principal_from_claims({"groups": ["platform"]}, roles)


def test_the_mapped_roles_are_what_the_policy_decides_on(tmp_path: Path) -> None:
    viewer = principal_from_claims({"email": "val@example.com", "groups": ["readers"]},
                                   RoleMap.parse('[groups]\n"readers" = ["acme:viewer"]\n'))  # fmt: skip
    shop = ProductRef("acme", "shop")
    assert decide(viewer, "read", Resource.of(shop), tmp_path).allowed
    assert not decide(viewer, "build", Resource.of(shop), tmp_path).allowed
    assert not decide(viewer, "read", Resource.of(ProductRef("globex", "secret")), tmp_path).allowed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[groups]\n"devs" = ["acme:god"]\n', 'use "tenant:role"'),
        ('[groups]\n"devs" = ["Not A Tenant:viewer"]\n', "tenant"),
        ('[groups]\n"devs" = [1]\n', "must map to a list"),
        ("[groups\n", "not valid TOML"),
        ('claim = ""\n', "`claim` must name"),
        ('groups = "devs"\n', "must be a table"),
    ],
)
def test_a_bad_role_map_is_refused_in_one_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as refused:
        RoleMap.parse(text)
    assert "\n" not in str(refused.value)


def test_the_role_map_comes_from_the_env_or_the_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACTORY_OIDC_ROLE_MAP", raising=False)
    assert role_map(tmp_path) == RoleMap()  # no map: no group grants anything
    (tmp_path / "oidc-roles.toml").write_text('[groups]\n"devs" = ["acme:builder"]\n')
    assert role_map(tmp_path).groups == {"devs": ("acme:builder",)}
    named = tmp_path / "elsewhere.toml"
    monkeypatch.setenv("FACTORY_OIDC_ROLE_MAP", str(named))
    with pytest.raises(InvalidInputError, match="not a file"):
        role_map(tmp_path)
    named.write_text('[groups]\n"ops" = ["factory-admin"]\n')
    assert role_map(tmp_path).groups == {"ops": ("factory-admin",)}
