"""The Studio on a home with accounts: sign-in first, a member sees only its own tenants, refusals change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from infra.accounts import Accounts
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from ontology.refs import new_trace_id
from tests.test_studio_pages import APP, _texts

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """acme/shop released to staging (submitted by bob); globex/secret known; four accounts."""
    home = tmp_path / "home"
    control = ControlPlane(None, home)
    accounts = Accounts(control)
    accounts.add_user("boss", actor="test", password=PASSWORD, factory_admin=True)
    accounts.add_user("bob", actor="test", password=PASSWORD, roles=[("acme", "builder"), ("acme", "approver")])
    accounts.add_user("val", actor="test", password=PASSWORD, roles=[("acme", "viewer")])
    trace = new_trace_id()
    control.submit_intent("acme", "shop", "A shop where customers place orders.", actor="bob")
    control.upsert_product("globex", "secret", revision=1, status="built", trace_id=new_trace_id())
    control.record_build("acme", "shop", revision=1, trace_id=trace, template="t", passed=True)
    source = tmp_path / "rendered"
    source.mkdir()
    (source / "README.md").write_text("shop\n")
    repo = ProductRepository(home, "acme", "shop")
    repo.release(source, trace_id=trace, blueprint_hash="abc123", template="t@1", revision=1)
    repo.promote("staging")
    control.upsert_product("acme", "shop", revision=1, status="built", trace_id=trace, repo_path=str(repo.path))
    monkeypatch.setenv("FACTORY_HOME", str(home))
    return home


def signed_in(name: str, password: str = PASSWORD, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]  # nothing else is shown before signing in
    assert not at.dataframe and not at.metric
    at.text_input(key="sign_in_name").set_value(name)
    at.text_input(key="sign_in_password").set_value(password)
    return at.button[0].click().run()


def test_the_studio_asks_for_a_sign_in_and_a_wrong_password_gets_nothing(home: Path) -> None:
    at = signed_in("val", "not-the-password")
    assert any("sign-in failed" in e for e in _texts(at, "error"))
    assert [t.value for t in at.title] == ["Sign in"] and not at.dataframe
    assert ControlPlane(None, home).audit_log(limit=1)[0].action == "auth.login"


def test_a_member_sees_only_its_tenants_even_when_the_address_names_another(home: Path) -> None:
    at = signed_in("val", tenant="globex")
    assert not at.exception
    assert at.selectbox(key="_tenant_widget").options == ["acme"]
    assert any("not a member of tenant globex" in w for w in _texts(at, "warning"))
    shown = " ".join(str(d.value) for d in at.dataframe)
    assert "shop" in shown and "secret" not in shown


def test_the_factory_admin_sees_every_tenant(home: Path) -> None:
    at = signed_in("boss")
    assert "globex" in at.selectbox(key="_tenant_widget").options


def test_a_builder_cannot_approve_its_own_revision_in_the_studio(home: Path) -> None:
    at = signed_in("bob", tenant="acme")
    at.switch_page("pages/governance.py").run()
    at.text_input(key="decide_reason").set_value("my own work is fine")
    next(b for b in at.button if b.label == "Record the decision").click().run()
    assert any("bob may not approve acme/shop (prod)" in e for e in _texts(at, "error"))
    assert ControlPlane(None, home).approvals() == []


def test_a_viewer_cannot_promote_in_the_studio(home: Path) -> None:
    at = signed_in("val", tenant="acme")
    at.switch_page("pages/governance.py").run()
    assert any("shown to the tenant's approvers" in c for c in _texts(at, "caption"))
    assert "Record the decision" not in [b.label for b in at.button]  # no pending approvals, no decision form
    next(b for b in at.button if b.label == "Promote").click().run()
    assert any("val may not promote acme/shop" in e for e in _texts(at, "error"))
    assert ProductRepository(home, "acme", "shop").env_head("prod") is None
