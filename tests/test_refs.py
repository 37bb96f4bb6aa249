"""A product is named `tenant/product`; hostile references are refused with one line."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from ontology.config import factory_home
from ontology.errors import InvalidInputError
from ontology.refs import ProductRef

HOSTILE_REFS = [
    "../x",
    "acme/../x",
    "a/b/c",
    "acme/",
    "/billing",
    "/",
    "",
    "acme",
    "Acme/billing",
    "acme/Billing",
    "аcme/billing",  # a Cyrillic 'а'
    "acme/bіlling",  # a Cyrillic 'і'
    "ａcme/billing",  # a full-width 'a'
    "acme/billing\n",
    "acme\n/billing",
    "acme/billing\x00",
    "acme\\billing",
    "acme//billing",
    " acme/billing",
    "acme/bill ing",
    "acme/" + "b" * 64,
    "acme%2Fbilling",
]


def one_line(call: Callable[[], object]) -> str:
    with pytest.raises(InvalidInputError) as caught:
        call()
    message = str(caught.value)
    assert message and "\n" not in message and len(message) < 300, message
    return message


@pytest.mark.parametrize("text", HOSTILE_REFS, ids=repr)
def test_a_hostile_reference_is_refused_with_one_line(text: str) -> None:
    one_line(lambda: ProductRef.parse(text))


@pytest.mark.parametrize("text", ["acme/billing", "a/b", "acme-co/billing-2", "7/" + "b" * 63])
def test_a_plain_reference_round_trips(text: str) -> None:
    ref = ProductRef.parse(text)
    assert str(ref) == text
    assert ref == ProductRef(*text.split("/"))
    assert ProductRef.parse(str(ref)) == ref


def test_the_parts_are_named_and_the_reference_cannot_change() -> None:
    ref = ProductRef.parse("acme/billing")
    assert (ref.tenant, ref.product) == ("acme", "billing")
    assert {ref, ProductRef("acme", "billing")} == {ref}
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.tenant = "globex"  # type: ignore[misc]


def test_the_constructor_validates_each_part_and_says_which() -> None:
    assert one_line(lambda: ProductRef("../x", "billing")).startswith("invalid tenant")
    assert one_line(lambda: ProductRef("acme", "Billing")).startswith("invalid product")


def test_a_bare_product_takes_the_given_tenant_and_a_disagreeing_one_is_refused() -> None:
    assert ProductRef.parse("billing", tenant="acme") == ProductRef("acme", "billing")
    assert ProductRef.parse("acme/billing", tenant="acme") == ProductRef("acme", "billing")
    assert "globex" in one_line(lambda: ProductRef.parse("acme/billing", tenant="globex"))
    one_line(lambda: ProductRef.parse("billing", tenant="../x"))
    one_line(lambda: ProductRef.parse("billing"))


def test_factory_home_is_the_environment_or_dot_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORY_HOME", str(tmp_path / "home"))
    assert factory_home() == (tmp_path / "home").resolve()
    monkeypatch.delenv("FACTORY_HOME")
    monkeypatch.chdir(tmp_path)
    assert factory_home() == (tmp_path / ".factory").resolve()
