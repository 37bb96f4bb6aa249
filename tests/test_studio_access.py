"""The Studio on a home with accounts: sign-in first, a member sees only its own tenants, refusals change nothing."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from infra.accounts import Accounts
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from infra.sessions import issue_session
from ontology.refs import new_trace_id
from studio.state import SESSION
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


# ---------------------------------------------------------------- forged and expired sessions


def _run_with_session(value: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, param in params.items():
        at.query_params[key] = param
    at.session_state[SESSION] = value
    return at.run()


def _nothing_shown(at: AppTest) -> None:
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"] and not at.dataframe and not at.metric
    assert "Tenant" not in [s.label for s in at.selectbox]


def test_a_forged_or_altered_studio_session_gets_nothing(home: Path) -> None:
    val = signed_in("val")
    genuine = str(val.session_state[SESSION])
    assert genuine.split(".")[1] == "val" and not val.exception
    _, _, issued, expires, mac = genuine.split(".")
    forged = [
        genuine.replace(".val.", ".boss."),  # another account under val's signature
        f"v1.val.{issued}.{int(expires) + 10**6}.{mac}",  # a longer life under the same signature
        f"v1.boss.{issued}.{expires}.{mac[:-4]}AAAA",  # a made-up signature
        issue_session(home.parent / "elsewhere", "boss"),  # signed with another home's key
        "boss",  # an account name alone, as older sessions kept it
    ]
    for value in forged:
        at = _run_with_session(value, tenant="globex")
        _nothing_shown(at)
        assert any("not one this factory issued" in w for w in _texts(at, "warning")), value
    refusals = [e for e in ControlPlane(None, home).audit_log(limit=20) if e.action == "auth.session"]
    assert len(refusals) == len(forged) and {e.outcome for e in refusals} == {"refused"}
    assert stat.S_IMODE((home / "studio-session.key").stat().st_mode) == 0o600


def test_an_expired_studio_session_gets_nothing(home: Path) -> None:
    yesterday = time.time() - 86_400
    at = _run_with_session(issue_session(home, "boss", now=yesterday, hours=12))
    _nothing_shown(at)
    assert any("the session expired" in w for w in _texts(at, "warning"))
    fresh = _run_with_session(issue_session(home, "boss"))  # the same account with a live session gets in
    assert not fresh.exception and "globex" in fresh.selectbox(key="_tenant_widget").options


# ---------------------------------------------------------------- OpenID Connect


def _oidc_app(home: Path, user: dict[str, object], **params: str) -> AppTest:
    """The Studio with an [auth] section in its secrets and `user` as what the identity provider said."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.secrets["auth"] = {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s" * 32,
        "client_id": "factory", "client_secret": "x", "server_metadata_url": "http://127.0.0.1:1/.well-known",
    }  # fmt: skip
    at.user = user
    for key, param in params.items():
        at.query_params[key] = param
    return at.run()


def test_oidc_sign_in_maps_the_groups_claim_to_tenant_roles(home: Path) -> None:
    (home / "oidc-roles.toml").write_text('[groups]\n"acme-readers" = ["acme:viewer"]\n"ops" = ["factory-admin"]\n')
    at = _oidc_app(home, {"is_logged_in": False})
    _nothing_shown(at)
    assert "Sign in with your identity provider" in [b.label for b in at.button]
    now = int(time.time())
    ann = {"is_logged_in": True, "email": "ann@example.com", "groups": ["acme-readers", "unmapped"], "iat": now}
    at = _oidc_app(home, ann, tenant="globex")
    assert not at.exception
    assert at.selectbox(key="_tenant_widget").options == ["acme"]  # her groups give acme only
    assert any("not a member of tenant globex" in w for w in _texts(at, "warning"))
    assert "secret" not in " ".join(str(d.value) for d in at.dataframe)
    assert any("ann@example.com" in c for c in _texts(at, "caption"))
    audit = ControlPlane(None, home).audit_log(limit=1)[0]
    assert (audit.action, audit.outcome, audit.actor) == ("auth.oidc", "ok", "ann@example.com")
    old = {**ann, "iat": now - 86_400 * 2}  # a sign-in older than a session lasts
    _nothing_shown(stale := _oidc_app(home, old))
    assert any("sign-in expired" in w for w in _texts(stale, "warning"))
