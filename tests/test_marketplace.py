"""The Marketplace: catalog facts in the knowledge graph, which products use each pack version and how they
fare (validation, contract failures, SLO breaches), per tenant; the upgrade-all action's per-product report;
and the `factory templates` / `factory marketplace` commands end to end."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from generators.pack_integrity import keygen, sign_pack
from generators.pack_store import install_pack, remove_pack
from generators.packs import TemplatePack, load_pack
from graph import KnowledgeGraph
from graph.facts import ProductFacts
from graph.names import CATALOG_GRAPH
from graph.recorder import BuildRecorder
from infra.access import policy_file, set_policy
from infra.control import ControlPlane
from infra.marketplace import listings, refresh_catalog, upgrade_products
from infra.pack_trust import PackNotTrusted
from ontology.errors import InvalidInputError, NotFoundError
from studio.cli import app
from tests.pack_fixtures import make_pack, tar_member
from tests.product_blueprints import clinic

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TRACES = iter(f"{i:032x}" for i in range(1, 1000))


def _build(kg: KnowledgeGraph, tenant: str, product: str, pack: TemplatePack, *, passed: bool, failures: int = 0,
           p95_ms: float = 10.0) -> None:  # fmt: skip
    """A product's latest build in the graph: rendered with `pack`, validated, fuzzed and observed."""
    facts = ProductFacts(tenant, product, next(TRACES))
    facts.product_node(product.title(), "", 1)
    facts.blueprint(clinic())  # objectives: p95 300 ms, error rate 1 %
    rec = BuildRecorder(facts)
    rec.artifacts([("README.md", "0" * 64, 1)], pack.name, pack.version, NOW, NOW, pack.sealed)
    facts.validation(facts.iri("blueprint"), passed, 3, 0 if passed else 1, 0)
    facts.contract_run(
        "deep", 10, failures == 0, [(f"GET /x/{i}", "status_code_conformance", 500) for i in range(failures)]
    )
    deployment = facts.deployment(facts.iri("release", "1"), "dev", "http://127.0.0.1:1", "running")
    facts.signal(deployment, "latency_p95_ms", "GET /patients", p95_ms, "0-p95")
    facts.signal(deployment, "error_rate", "*", 0.0, "0-errors")
    kg.write(facts)


@pytest.fixture(scope="module")
def market_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A factory home with a signed pack installed beside the built-in one, three products of two tenants
    using them and the catalog written: built once for this module's tests (each build takes a while)."""
    home = tmp_path_factory.mktemp("market") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORY_HOME", str(home))
        private, _, key = keygen("acme", home.parent / "keys")
        folder = make_pack(home.parent / "src")
        sign_pack(folder, "mini-api", "1.0.0", private, "acme")
        mini = install_pack(str(folder))
        builtin = load_pack("fastapi-service", "1.0.0")
        kg = KnowledgeGraph(home, embedder=None)
        _build(kg, "acme", "billing", mini, passed=True, failures=2, p95_ms=450.0)
        _build(kg, "acme", "crm", mini, passed=False)
        _build(kg, "acme", "shop", builtin, passed=True)
        _build(kg, "globex", "ledger", mini, passed=True)
        refresh_catalog(kg)
    return home, key


@pytest.fixture
def market(market_home: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> tuple[KnowledgeGraph, str]:
    home, key = market_home
    monkeypatch.setenv("FACTORY_HOME", str(home))
    return KnowledgeGraph(home, embedder=None), key


def test_the_catalog_is_in_the_knowledge_graph_and_every_tenant_reads_it(market: tuple[KnowledgeGraph, str]) -> None:
    kg, key = market
    query = f"""PREFIX fac: <https://softwarefactory.dev/ontology#>
    SELECT ?name ?version ?publisher ?key ?digest ?source WHERE {{ GRAPH <{CATALOG_GRAPH}> {{
      ?p a fac:TemplatePack ; fac:templateName ?name ; fac:templateVersion ?version ; fac:packDigest ?digest ;
         fac:packSource ?source . OPTIONAL {{ ?p fac:packPublisher ?publisher }} OPTIONAL {{ ?p fac:packPublisherKey ?key }}
    }} }}"""
    for tenant in ("acme", "globex"):
        rows = kg.sparql(query, tenant, {"name": "mini-api"}).records()
        assert [(r["version"], r["publisher"], r["key"], r["source"]) for r in rows] == [
            ("1.0.0", "acme", key, "installed")
        ]
        assert str(rows[0]["digest"]).startswith("sha256:")
    builtin = kg.sparql(query, "acme", {"name": "fastapi-service"}).records()
    assert sorted((r["version"], r["publisher"], r["source"]) for r in builtin) == [
        ("1.0.0", "factory", "built-in"), ("1.1.0", "factory", "built-in"),
    ]  # fmt: skip


def test_listings_show_uses_and_outcomes_per_version_within_the_tenant(market: tuple[KnowledgeGraph, str]) -> None:
    kg, key = market
    factory_home = kg.home
    rows = {(r.name, r.version): r for r in listings(kg, factory_home, "acme")}
    mini, builtin = rows["mini-api", "1.0.0"], rows["fastapi-service", "1.0.0"]
    assert mini.products == ("acme/billing", "acme/crm")  # not globex's ledger
    assert (mini.validated, mini.passed, mini.pass_rate) == (2, 1, 0.5)
    assert (mini.contract_failures, mini.slo_breaches) == (2, 1)
    assert (mini.publisher, mini.verification, mini.trusted) == ("acme", f"signed by acme ({key[:20]}…)", False)
    assert (builtin.products, builtin.passed, builtin.slo_breaches, builtin.trusted) == (("acme/shop",), 1, 0, True)
    admin = {(r.name, r.version): r for r in listings(kg, factory_home, None)}
    assert admin["mini-api", "1.0.0"].products == ("acme/billing", "acme/crm", "globex/ledger")
    assert admin["mini-api", "1.0.0"].trusted is None


def test_upgrade_all_reports_per_product_and_refuses_an_untrusted_target(
    market: tuple[KnowledgeGraph, str], tmp_path: Path
) -> None:
    kg, _ = market
    home = kg.home
    control = ControlPlane(None, home)
    install_pack(str(make_pack(tmp_path / "next", version="1.1.0")))  # unsigned
    try:
        with pytest.raises(PackNotTrusted, match="unsigned"):
            upgrade_products(control, home, "acme", "mini-api", "1.0.0", "1.1.0", actor="ann")
        with pytest.raises(InvalidInputError, match="already"):
            upgrade_products(control, home, "acme", "mini-api", "1.0.0", "1.0.0", actor="ann")
        set_policy(home, "acme", 'permit (principal, action == Factory::Action::"use_pack", resource);\n')
        # trusted now; these products exist only as graph facts, with no release to merge into, so nothing is
        # upgraded (tests/test_upgrade.py upgrades released products through the same use case)
        assert upgrade_products(control, home, "acme", "mini-api", "1.0.0", "1.1.0", actor="ann") == []
    finally:  # the module's other tests share this home
        remove_pack("mini-api", "1.1.0")
        policy_file(home, "acme").unlink(missing_ok=True)


# -- the commands, end to end -----------------------------------------------------------------------

FACTORY = [sys.executable, "-m", "studio"]


def factory(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FACTORY_HOME": str(home)}
    env.pop("FACTORY_DEBUG", None)
    env.pop("FACTORY_TOKEN", None)
    return subprocess.run([*FACTORY, *args], capture_output=True, text=True, env=env, timeout=300, cwd=home.parent)


def one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0, done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("note:")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def cli(*args: str) -> str:
    """Run a command in this process (FACTORY_HOME is the test's); its output, or the error it raised."""
    done = CliRunner().invoke(app, list(args), catch_exceptions=True)
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        raise done.exception
    assert done.exit_code == 0, done.output
    return done.stdout


def test_the_template_commands_publish_install_trust_and_list_a_pack(tmp_path: Path, factory_home: Path) -> None:
    key = cli("templates", "keygen", "acme", "--out", str(tmp_path / "keys")).strip().splitlines()[-1]
    folder = make_pack(tmp_path / "src")
    signed = cli("templates", "sign", str(folder), "--key", str(tmp_path / "keys" / "acme.key"), "--publisher", "acme")
    assert "signed mini-api 1.0.0 as acme" in signed
    assert "installed mini-api 1.0.0 (signed by acme" in cli("templates", "install", str(folder))
    listed = json.loads(cli("templates", "list", "--json"))
    assert {(p["name"], p["source"], p["verification"][:14]) for p in listed} >= {
        ("mini-api", "installed", "signed by acme"), ("fastapi-service", "built-in", "built-in"),
    }  # fmt: skip
    shown = json.loads(cli("templates", "show", "mini-api", "--tenant", "acme", "--json"))
    assert (shown["key"], shown["trusted_by"]) == (key, {"acme": False})
    policy = tmp_path / "acme.cedar"
    policy.write_text(
        f'permit (principal, action == Factory::Action::"use_pack", resource is Factory::Pack)\n'
        f'when {{ resource.key == "{key}" }};\n'
    )
    cli("policy", "set", str(policy), "--tenant", "acme")
    assert json.loads(cli("templates", "show", "mini-api", "--tenant", "acme", "--json"))["trusted_by"] == {
        "acme": True
    }
    market = json.loads(cli("marketplace", "--tenant", "acme", "--json"))
    assert {(r["name"], r["trusted"], r["publisher"]) for r in market} >= {("mini-api", True, "acme")}
    cli("templates", "deprecate", "mini-api", "1.0.0", "--reason", "use 2.0.0")
    listed = {(p["name"], p["version"]): p for p in json.loads(cli("templates", "list", "--json"))}
    assert listed["mini-api", "1.0.0"]["deprecated"] == "use 2.0.0"
    audit = {e["action"] for e in json.loads(cli("audit", "list", "--json"))}
    assert audit >= {"templates.install", "templates.deprecate"}
    cli("templates", "remove", "mini-api", "1.0.0")
    with pytest.raises(NotFoundError, match=r"no installed template pack mini-api 1\.0\.0"):
        cli("templates", "remove", "mini-api", "1.0.0")


def test_the_template_commands_refuse_bad_packs_in_one_line(tmp_path: Path, factory_home: Path) -> None:
    factory_home.mkdir(parents=True, exist_ok=True)
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        tar_member(tar, "pack/manifest.yaml", (make_pack(tmp_path / "base") / "manifest.yaml").read_bytes())
        tar_member(tar, "../../escape.txt", b"x")
    with pytest.raises(InvalidInputError, match="unsafe path"):
        cli("templates", "install", str(evil))
    refusals = [e for e in json.loads(cli("audit", "list", "--json")) if e["action"] == "templates.install"]
    assert [e["outcome"] for e in refusals] == ["refused"] and not (tmp_path / "escape.txt").exists()
    with pytest.raises(InvalidInputError, match="no such pack folder"):
        cli("templates", "install", str(tmp_path / "nope"))
    install_pack(str(make_pack(tmp_path / "plain", name="plain-api")))
    blueprint = tmp_path / "bp.yaml"
    blueprint.write_text(yaml.safe_dump(clinic().model_dump(mode="json", exclude={"hash"})))
    done = factory(factory_home, "generate", str(blueprint), "-o", str(tmp_path / "out"), "--template", "plain-api")
    one_line_error(done, "may not render with template pack plain-api 1.0.0", "unsigned")
    assert not (tmp_path / "out").exists()
