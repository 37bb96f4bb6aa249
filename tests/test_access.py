"""Tries to get in: every refusal is one line, non-zero, audited, and leaves nothing changed.

Accounts and a released product (env/dev and env/staging of acme/shop) are set up in-process; every
attempt runs the real `factory` command line in a subprocess with the attacker's API token.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from generators.agents.engineer import Engineer
from generators.pack_integrity import keygen
from graph import KnowledgeGraph
from graph.decisions import POLICY_VERSIONS
from infra.access import Principal, Resource, decide, policy_text
from infra.accounts import Accounts, credentials_path
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from infra.records import TokenRecord, utcnow
from ontology.refs import new_trace_id
from studio.access_commands import first_admin
from tests.product_blueprints import invoicing

FACTORY = [sys.executable, "-m", "studio"]
PASSWORD = "correct-horse-battery-staple"


def factory(home: Path, token: str | None, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FACTORY_HOME": str(home)}
    env.pop("FACTORY_DEBUG", None)
    env.pop("FACTORY_TOKEN", None)
    if token is not None:
        env["FACTORY_TOKEN"] = token
    return subprocess.run([*FACTORY, *args], capture_output=True, text=True, env=env, input=stdin, timeout=300)


def refused(done: subprocess.CompletedProcess[str], *words: str) -> str:
    assert done.returncode != 0, done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


class Site:
    """A factory home with accounts, their tokens and one product released to dev and staging."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.control = ControlPlane(None, home)
        accounts = Accounts(self.control)
        people = {
            "boss": dict(factory_admin=True),
            "val": dict(roles=[("acme", "viewer")]),
            "bob": dict(roles=[("acme", "builder"), ("acme", "approver")]),
            "ann": dict(roles=[("acme", "approver")]),
            "gus": dict(roles=[("globex", "admin")]),
        }
        self.tokens: dict[str, str] = {}
        for name, extra in people.items():
            accounts.add_user(name, actor="test", password=PASSWORD, **extra)  # type: ignore[arg-type]
            self.tokens[name], _ = accounts.create_token(name, actor="test")
        self.trace = new_trace_id()
        self.control.submit_intent("acme", "shop", "A shop where customers place orders.", actor="bob")
        self.control.upsert_product("acme", "shop", revision=1, status="built", trace_id=self.trace)
        self.control.record_build("acme", "shop", revision=1, trace_id=self.trace, template="t", passed=True)
        source = home / "rendered"
        source.mkdir()
        (source / "README.md").write_text("shop\n")
        repo = ProductRepository(home, "acme", "shop")
        repo.release(source, trace_id=self.trace, blueprint_hash="abc123", template="t@1", revision=1)
        repo.promote("staging")

    def state(self) -> dict[str, object]:
        """Everything an attempt could change, but the audit log."""
        repo = ProductRepository(self.home, "acme", "shop")
        accounts = Accounts(self.control)
        return {
            "intents": [(i.id, i.revision, i.status, i.actor) for i in self.control.intents()],
            "approvals": [(a.env, a.decision, a.actor) for a in self.control.approvals()],
            "deployments": [(d.tenant, d.product, d.status) for d in self.control.deployments()],
            "users": [(u.name, u.disabled, u.factory_admin) for u in accounts.users()],
            "roles": [(m.user, m.tenant, m.role) for m in accounts.memberships()],
            "tokens": [(t.id, t.revoked_at) for t in accounts.tokens()],
            "envs": {env: repo.env_head(env) for env in ("dev", "staging", "prod")},
            "policies": sorted(p.name for p in (self.home / "policies").glob("*")),
            "graph": (self.home / "graph").exists(),
            "repos": sorted(p.name for p in (self.home / "repos" / "acme").iterdir()),
        }

    def refusals(self) -> int:
        return sum(1 for e in self.control.audit_log(limit=100_000) if e.outcome == "refused")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return Site(tmp_path_factory.mktemp("access") / "home")


@pytest.fixture()
def unchanged(site: Site) -> Iterator[None]:
    before = site.state()
    yield
    assert site.state() == before


VIEWER_ATTEMPTS = [
    ["build", "A shop where customers place orders and pay.", "--product", "acme/shop"],
    ["rebuild", "acme/shop"],
    ["deployments", "stop", "acme/shop"],
    ["deployments", "stop", "--all"],
    ["promote", "acme/shop", "--env", "staging"],
    ["approve", "acme/shop", "--env", "prod", "--reason", "looks fine"],
    ["approve", "acme/shop", "--env", "prod", "--reason", "no", "--reject"],
    ["approve", "acme/unbuilt", "--env", "prod", "--reason", "looks fine"],
    ["kg", "import", "README.md", "--tenant", "acme"],
    ["kg", "init"],
    ["users", "add", "eve", "--role", "acme:admin", "--service"],
    ["users", "grant", "val", "--role", "acme:admin"],
    ["users", "disable", "ann"],
    ["tokens", "create", "bob"],
    ["tokens", "revoke", "1"],
    ["policy", "set", "README.md", "--tenant", "acme"],
]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("args", VIEWER_ATTEMPTS, ids=lambda a: " ".join(a[:2]))
def test_a_viewer_cannot_build_approve_or_administer(site: Site, args: list[str]) -> None:
    count = site.refusals()
    line = refused(factory(site.home, site.tokens["val"], *args), "val may not")
    assert "error:" in line
    assert site.refusals() == count + 1  # the refusal itself is on the audit chain


@pytest.mark.usefixtures("unchanged")
def test_a_builder_cannot_approve_its_own_revision_for_prod(site: Site) -> None:
    line = refused(factory(site.home, site.tokens["bob"], "approve", "acme/shop", "--env", "prod", "--reason", "mine"))
    assert "bob may not approve acme/shop (prod)" in line and "submitted or built" in line


def test_another_approver_may_approve_and_the_approval_names_the_person(site: Site) -> None:
    done = factory(site.home, site.tokens["ann"], "approve", "acme/shop", "--env", "prod", "--reason", "board 42")
    assert done.returncode == 0, done.stderr
    assert site.control.approvals("acme")[0].actor == "ann"


def test_the_factory_admin_is_held_to_separation_of_duties_too(tmp_path: Path) -> None:
    admin = Principal("boss", factory_admin=True)
    prod = Resource(tenant="acme", product="shop", env="prod", authors=frozenset({"boss"}))
    assert not decide(admin, "approve", prod, tmp_path).allowed
    assert decide(admin, "approve", Resource(tenant="acme", product="shop", env="prod"), tmp_path).allowed


TENANT_READS = [
    ["products", "list", "--tenant", "acme"],
    ["deployments", "list", "--tenant", "acme"],
    ["query", "sparql", "SELECT ?s WHERE { ?s ?p ?o }", "--tenant", "acme"],
    ["query", "sparql", "SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } }", "--admin"],
    ["query", "cypher", "MATCH (p:Product) RETURN p.slug", "--tenant", "acme"],
    ["search", "orders", "--admin"],
    ["trace", "0123456789abcdef0123456789abcdef"],
    ["trace", "0123456789abcdef0123456789abcdef", "--tenant", "acme"],
    ["kg", "export", "--tenant", "acme"],
    ["kg", "stats"],
    ["audit", "list", "--tenant", "acme"],
    ["audit", "verify"],
    ["users", "list", "--tenant", "acme"],
    ["policy", "show", "--tenant", "acme"],
]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("args", TENANT_READS, ids=lambda a: " ".join(a[:2]))
def test_a_token_of_one_tenant_reads_nothing_of_another(site: Site, args: list[str]) -> None:
    done = factory(site.home, site.tokens["gus"], *args)
    refused(done, "gus may not")
    assert "shop" not in done.stdout and "acme" not in done.stdout


def test_a_tenant_admin_administers_its_own_tenant_only(site: Site) -> None:
    gus = site.tokens["gus"]
    added = factory(site.home, gus, "users", "add", "globex-ci", "--service", "--role", "globex:builder")
    assert added.returncode == 0, added.stderr
    made = factory(site.home, gus, "tokens", "create", "globex-ci", "--days", "7")
    assert made.returncode == 0 and made.stdout.strip().splitlines()[-1].startswith("sft_"), made.stderr
    refused(
        factory(site.home, gus, "users", "add", "mole", "--service", "--role", "acme:admin"),
        "gus may not manage the members of acme",
    )
    refused(factory(site.home, gus, "users", "add", "king", "--service", "--factory-admin"), "factory admin role")
    refused(factory(site.home, gus, "tokens", "create", "bob"), "gus may not manage tokens in acme")
    assert {u.name for u in Accounts(site.control).users()} >= {"globex-ci"}
    assert not {"mole", "king"} & {u.name for u in Accounts(site.control).users()}


def test_listings_without_a_tenant_show_only_the_principals_tenants(site: Site) -> None:
    mine = json.loads(factory(site.home, site.tokens["gus"], "products", "list", "--json").stdout)
    theirs = json.loads(factory(site.home, site.tokens["val"], "products", "list", "--json").stdout)
    assert mine == [] and [row["product"] for row in theirs] == ["shop"]


@pytest.mark.parametrize("how", ["expired", "revoked", "disabled", "forged"])
def test_expired_revoked_disabled_and_forged_tokens_are_refused(tmp_path: Path, how: str) -> None:
    control = ControlPlane(None, tmp_path)
    accounts = Accounts(control)
    accounts.add_user("root", actor="test", password=PASSWORD, factory_admin=True)
    accounts.add_user("zed", actor="test", password=PASSWORD, roles=[("acme", "viewer")])
    token, record = accounts.create_token("zed", actor="test", days=1)
    assert record.id is not None
    if how == "expired":
        with control._session(write=True) as session:
            row = session.exec(select(TokenRecord).where(TokenRecord.id == record.id)).one()
            row.expires_at = utcnow() - timedelta(seconds=1)
            session.add(row)
    elif how == "revoked":
        accounts.revoke(record.id, actor="root")
    elif how == "disabled":
        accounts.disable("zed", actor="root")
    else:
        token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    done = factory(tmp_path, token, "products", "list", "--tenant", "acme")
    refused(done, {"expired": "expired", "revoked": "revoked", "disabled": "disabled", "forged": "not known"}[how])
    assert done.stdout == ""
    assert control.audit_log(limit=1)[0].action == "auth.token" and control.audit_log(limit=1)[0].outcome == "refused"


def test_tokens_are_stored_hashed_only(site: Site) -> None:
    stored = sqlite3.connect(site.home / "control.db").execute("SELECT * FROM tokenrecord").fetchall()
    assert stored and not any(token in repr(stored) for token in site.tokens.values())


def test_login_stores_a_token_only_its_owner_reads_and_a_wrong_password_is_refused(site: Site) -> None:
    home = site.home
    refused(factory(home, None, "login", "ann", "--password-stdin", stdin="wrong-password-here\n"), "sign-in failed")
    assert not credentials_path(home).exists()
    assert site.control.audit_log(limit=1)[0].action == "auth.login"
    done = factory(home, None, "login", "ann", "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(credentials_path(home).stat().st_mode) == 0o600
    listed = factory(home, None, "products", "list", "--json")  # signed in: no FACTORY_TOKEN needed
    assert [row["product"] for row in json.loads(listed.stdout)] == ["shop"]
    credentials_path(home).chmod(0o644)
    refused(factory(home, None, "products", "list"), "can be read by others")
    credentials_path(home).chmod(0o600)
    assert factory(home, None, "logout").returncode == 0
    assert not credentials_path(home).exists()
    refused(factory(home, None, "products", "list"), "sign in first")


def test_a_home_without_accounts_is_the_local_admins_and_says_so_once(tmp_path: Path) -> None:
    first = factory(tmp_path, None, "products", "list", "--json")
    second = factory(tmp_path, None, "products", "list", "--json")
    assert first.returncode == second.returncode == 0
    assert "local admin" in first.stderr and second.stderr == ""


def test_the_first_admin_of_factory_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORY_ADMIN_PASSWORD", PASSWORD)
    control = ControlPlane(None, tmp_path)
    first_admin(control, tmp_path)
    first_admin(control, tmp_path)  # a second `up` changes nothing
    accounts = Accounts(control)
    assert [(u.name, u.factory_admin) for u in accounts.users()] == [("admin", True)]
    assert accounts.sign_in("admin", PASSWORD).name == "admin"
    assert stat.S_IMODE(credentials_path(tmp_path).stat().st_mode) == 0o600
    assert accounts.authenticate(credentials_path(tmp_path).read_text().strip()).factory_admin


def test_a_tenant_policy_adds_a_forbid_and_a_bad_policy_is_refused(tmp_path: Path) -> None:
    control = ControlPlane(None, tmp_path)
    accounts = Accounts(control)
    accounts.add_user("root", actor="test", password=PASSWORD, factory_admin=True)
    accounts.add_user("ops", actor="test", password=PASSWORD, roles=[("acme", "admin")])
    accounts.add_user("bo", actor="test", password=PASSWORD, roles=[("acme", "builder")])
    ops, _ = accounts.create_token("ops", actor="test")
    check = ["policy", "test", "--as", "bo", "--action", "stop", "--product", "acme/shop"]
    assert factory(tmp_path, ops, *check).returncode == 0
    bad = tmp_path / "bad.cedar"
    bad.write_text("permit (principal, action, resource) when { context.nonsense };\n")
    refused(factory(tmp_path, ops, "policy", "set", str(bad), "--tenant", "acme"), "not valid")
    rule = tmp_path / "acme.cedar"
    rule.write_text(
        '@reason("no one stops acme services by hand")\n'
        'forbid (principal, action == Factory::Action::"stop", resource);\n'
    )
    assert factory(tmp_path, ops, "policy", "set", str(rule), "--tenant", "acme").returncode == 0
    denied = factory(tmp_path, ops, *check)
    assert denied.returncode == 1 and "no one stops acme services by hand" in denied.stdout
    assert "no one stops" in policy_text(tmp_path, "acme") and "no one stops" not in policy_text(tmp_path, "globex")
    assert [e.action for e in control.audit_log("acme", limit=1)] == ["policy.set"]
    # each policy put in force is a version in the tenant's graph: its digest, who set it, its text
    rule.write_text(rule.read_text() + "// the same rule, restated\n")
    assert factory(tmp_path, ops, "policy", "set", str(rule), "--tenant", "acme").returncode == 0
    kg = KnowledgeGraph(tmp_path, embedder=None)
    versions = kg.sparql(POLICY_VERSIONS, "acme", {"scope": "acme"}).records()
    in_force = hashlib.sha256(policy_text(tmp_path, "acme").encode()).hexdigest()
    assert [(int(v["version"]), v["person"]) for v in versions] == [(1, "ops"), (2, "ops")]
    assert versions[-1]["digest"] == in_force != versions[0]["digest"]
    assert kg.sparql(POLICY_VERSIONS, "globex", {"scope": "acme"}).records() == []  # another tenant sees none


def test_a_tenant_admin_tests_its_trust_in_a_pack_before_installing_it(tmp_path: Path) -> None:
    control = ControlPlane(None, tmp_path)
    accounts = Accounts(control)
    accounts.add_user("root", actor="test", password=PASSWORD, factory_admin=True)
    accounts.add_user("ops", actor="test", password=PASSWORD, roles=[("acme", "admin")])
    accounts.add_user("eve", actor="test", password=PASSWORD, roles=[("globex", "admin")])
    ops, _ = accounts.create_token("ops", actor="test")
    eve, _ = accounts.create_token("eve", actor="test")
    _, _, key = keygen("acme-tools", tmp_path / "keys")
    _, _, other = keygen("mallory", tmp_path / "keys")
    ask = ["policy", "test", "--action", "use_pack", "--tenant", "acme", "--pack", "mini-api@1.0.0"]
    signed = [*ask, "--publisher", "acme-tools", "--key", key]
    before = factory(tmp_path, ops, *signed)
    assert before.returncode == 1 and before.stdout.startswith(
        "deny: tenant acme use_pack mini-api 1.0.0 (signed by acme-tools"
    )
    built_in = factory(tmp_path, ops, *ask[:-1], "fastapi-service@1.1.0")
    assert (
        built_in.returncode == 0
        and "(built-in)" in built_in.stdout
        and "packs shipped with the factory" in built_in.stdout
    )
    rule = tmp_path / "acme.cedar"
    rule.write_text(
        '@id("trust-acme-tools")\n@reason("acme trusts the packs of acme-tools")\n'
        'permit (principal, action == Factory::Action::"use_pack", resource is Factory::Pack)\n'
        f'when {{ resource.key == "{key}" }};\n'
    )
    assert factory(tmp_path, ops, "policy", "set", str(rule), "--tenant", "acme").returncode == 0
    after = factory(tmp_path, ops, *signed)
    assert after.returncode == 0 and after.stdout.startswith("allow: ") and "acme trusts the packs" in after.stdout
    assert factory(tmp_path, ops, *ask, "--publisher", "acme-tools", "--key", other).returncode == 1  # another key
    assert factory(tmp_path, ops, *ask).returncode == 1  # not installed, described unsigned: not trusted
    assert factory(tmp_path, ops, *ask, "--publisher", "acme-tools").returncode != 0  # a publisher needs its key
    refused(factory(tmp_path, ops, *signed, "--as", "ops"), "leave out --as")
    refused(factory(tmp_path, eve, *signed), "eve")  # another tenant's admin may not ask acme's policy


def test_an_edited_or_deleted_audit_entry_is_found(tmp_path: Path) -> None:
    control = ControlPlane(None, tmp_path)
    for n in range(5):
        control.audit("promote", "ok", tenant="acme", product="shop", actor="ann", detail=f"step {n}")
    verdict = control.verify_audit()
    assert verdict.ok and verdict.entries == 5 and verdict.head is not None
    assert "local admin" in factory(tmp_path, None, "audit", "list").stderr  # the once-per-home note, said here
    with sqlite3.connect(tmp_path / "control.db") as db:
        db.execute("UPDATE auditevent SET actor = 'mallory' WHERE id = 3")
    done = factory(tmp_path, None, "audit", "verify")
    refused(done, "entry 3 was altered")
    with sqlite3.connect(tmp_path / "control.db") as db:
        db.execute("UPDATE auditevent SET actor = 'ann' WHERE id = 3")
        db.execute("DELETE FROM auditevent WHERE id = 2")
    verdict = control.verify_audit()
    assert not verdict.ok and verdict.broken_at == 3 and "missing" in (verdict.problem or "")
    listed = json.loads(factory(tmp_path, None, "audit", "list", "--json").stdout)
    assert [row["id"] for row in listed][:3] == [5, 4, 3] and all(row["hash"] for row in listed)


def test_an_audit_table_from_before_the_chain_is_upgraded_and_its_old_entries_counted(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "control.db") as db:
        db.execute(
            "CREATE TABLE auditevent (id INTEGER PRIMARY KEY, at DATETIME NOT NULL, actor VARCHAR NOT NULL, "
            "action VARCHAR NOT NULL, outcome VARCHAR NOT NULL, tenant VARCHAR, product VARCHAR, detail TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO auditevent VALUES (1, '2026-01-01 00:00:00.000000', 'ann', 'promote', 'ok', 'acme', 'shop', '')"
        )
    control = ControlPlane(None, tmp_path)
    control.audit("approve", "ok", tenant="acme", product="shop", actor="ann", detail="board 42")
    verdict = control.verify_audit()
    assert verdict.ok and (verdict.unchained, verdict.entries) == (1, 1)


def test_the_default_policy_checks_against_the_schema() -> None:
    import cedarpy

    from infra.access import _POLICIES

    schema = (_POLICIES / "schema.cedarschema").read_text()
    result = cedarpy.validate_policies((_POLICIES / "factory.cedar").read_text(), schema)
    assert result.validation_passed, [str(e) for e in result.errors]


def test_a_tenant_policy_can_require_two_approvals_for_prod(tmp_path: Path) -> None:
    site = Site(tmp_path / "home")
    rendered = tmp_path / "shop"  # a promotion starts the release, so staging holds a service that runs
    Engineer().render(invoicing().model_copy(update={"tenant": "acme", "slug": "shop"}), rendered, site.trace)
    repo = ProductRepository(site.home, "acme", "shop")
    repo.release(rendered, trace_id=site.trace, blueprint_hash="abc124", template="t@1", revision=1)
    repo.promote("staging")
    Accounts(site.control).add_user("amy", actor="test", password=PASSWORD, roles=[("acme", "approver")])
    amy, _ = Accounts(site.control).create_token("amy", actor="test")
    rule = tmp_path / "acme.cedar"
    rule.write_text(
        '@reason("prod needs two approvals")\n'
        'forbid (principal, action == Factory::Action::"promote", resource)\n'
        'when { context.env == "prod" && context.approvals < 2 };\n'
    )
    boss = site.tokens["boss"]
    assert factory(site.home, boss, "policy", "set", str(rule), "--tenant", "acme").returncode == 0
    approve = ["approve", "acme/shop", "--env", "prod", "--reason", "reviewed"]
    assert factory(site.home, site.tokens["ann"], *approve).returncode == 0
    refused(factory(site.home, boss, "promote", "acme/shop", "--env", "prod"), "prod needs two approvals")
    assert ProductRepository(site.home, "acme", "shop").env_head("prod") is None
    assert factory(site.home, amy, *approve).returncode == 0
    done = factory(site.home, boss, "promote", "acme/shop", "--env", "prod")
    try:
        assert done.returncode == 0, done.stderr
        assert ProductRepository(site.home, "acme", "shop").env_head("prod") is not None
    finally:
        assert factory(site.home, boss, "deployments", "stop", "--all").returncode == 0
