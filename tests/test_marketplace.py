"""The Marketplace: catalog facts in the knowledge graph, which products use each pack version and how they
fare (validation, contract failures, SLO breaches), per tenant; the upgrade-all action's per-product report;
and the `factory templates` / `factory marketplace` commands end to end."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generators.pack_integrity import keygen, sign_pack
from generators.pack_store import install_pack
from graph import KnowledgeGraph
from graph.facts import ProductFacts
from graph.names import CATALOG_GRAPH
from graph.recorder import BuildRecorder
from infra.access import set_policy
from infra.marketplace import listings, products_on, refresh_catalog, upgrade_products
from infra.pack_trust import PackNotTrusted, seal_facts
from ontology.errors import InvalidInputError
from tests.pack_fixtures import make_pack, tar_member
from tests.product_blueprints import clinic

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TRACES = iter(f"{i:032x}" for i in range(1, 1000))


def _build(kg: KnowledgeGraph, tenant: str, product: str, pack: object, *, passed: bool, failures: int = 0,
           p95_ms: float = 10.0) -> None:  # fmt: skip
    """A product's latest build in the graph: rendered with `pack`, validated, fuzzed and observed."""
    facts = ProductFacts(tenant, product, next(TRACES))
    facts.product_node(product.title(), "", 1)
    facts.blueprint(clinic())  # objectives: p95 300 ms, error rate 1 %
    rec = BuildRecorder(facts)
    rec.artifacts([("README.md", "0" * 64, 1)], pack.name, pack.version, NOW, NOW, seal_facts(pack))  # type: ignore[attr-defined]
    facts.validation(facts.iri("blueprint"), passed, 3, 0 if passed else 1, 0)
    facts.contract_run("deep", 10, failures == 0, [(f"GET /x/{i}", "status_code_conformance", 500) for i in range(failures)])
    deployment = facts.deployment(facts.iri("release", "1"), "dev", "http://127.0.0.1:1", "running")
    facts.signal(deployment, "latency_p95_ms", "GET /patients", p95_ms, "0-p95")
    facts.signal(deployment, "error_rate", "*", 0.0, "0-errors")
    kg.write(facts)


@pytest.fixture
def market(tmp_path: Path, factory_home: Path, kg: KnowledgeGraph) -> tuple[KnowledgeGraph, str]:
    """A signed pack installed beside the built-in one, and three products in two tenants using them."""
    private, _, key = keygen("acme", tmp_path / "keys")
    folder = make_pack(tmp_path / "src")
    sign_pack(folder, "mini-api", "1.0.0", private, "acme")
    mini = install_pack(str(folder))
    from generators.packs import load_pack

    builtin = load_pack("fastapi-service", "1.0.0")
    _build(kg, "acme", "billing", mini, passed=True, failures=2, p95_ms=450.0)
    _build(kg, "acme", "crm", mini, passed=False)
    _build(kg, "acme", "shop", builtin, passed=True)
    _build(kg, "globex", "ledger", mini, passed=True)
    refresh_catalog(kg)
    return kg, key


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
    assert [(r["publisher"], r["source"]) for r in builtin] == [("factory", "built-in")]


def test_listings_show_uses_and_outcomes_per_version_within_the_tenant(
    market: tuple[KnowledgeGraph, str], factory_home: Path
) -> None:
    kg, key = market
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
    assert [f"{p.tenant}/{p.product}" for p in products_on(kg, "acme", "mini-api", "1.0.0")] == [
        "acme/billing", "acme/crm",
    ]  # fmt: skip


def test_upgrade_all_reports_per_product_and_refuses_an_untrusted_target(
    market: tuple[KnowledgeGraph, str], factory_home: Path, tmp_path: Path
) -> None:
    kg, key = market
    install_pack(str(make_pack(tmp_path / "next", version="1.1.0")))  # unsigned
    with pytest.raises(PackNotTrusted, match="unsigned"):
        upgrade_products(kg, factory_home, "acme", "mini-api", "1.0.0", "1.1.0", actor="ann")
    with pytest.raises(InvalidInputError, match="already"):
        upgrade_products(kg, factory_home, "acme", "mini-api", "1.0.0", "1.0.0", actor="ann")
    set_policy(factory_home, "acme", 'permit (principal, action == Factory::Action::"use_pack", resource);\n')
    reports = upgrade_products(kg, factory_home, "acme", "mini-api", "1.0.0", "1.1.0", actor="ann")
    assert [(r.product, r.outcome) for r in reports] == [("acme/billing", "failed"), ("acme/crm", "failed")]
    assert all("not available" in r.detail for r in reports)  # until the upgrade use case fills the hook


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


def test_the_template_commands_publish_install_trust_and_list_a_pack(tmp_path: Path, factory_home: Path) -> None:
    factory_home.mkdir(parents=True, exist_ok=True)
    done = factory(factory_home, "templates", "keygen", "acme", "--out", str(tmp_path / "keys"))
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    folder = make_pack(tmp_path / "src")
    done = factory(factory_home, "templates", "sign", str(folder), "--key", str(tmp_path / "keys" / "acme.key"),
                   "--publisher", "acme")  # fmt: skip
    assert done.returncode == 0 and "signed mini-api 1.0.0 as acme" in done.stdout, done.stderr
    done = factory(factory_home, "templates", "install", str(folder))
    assert done.returncode == 0 and "installed mini-api 1.0.0 (signed by acme" in done.stdout, done.stderr
    listed = json.loads(factory(factory_home, "templates", "list", "--json").stdout)
    assert {(p["name"], p["source"], p["verification"][:14]) for p in listed} >= {
        ("mini-api", "installed", "signed by acme"), ("fastapi-service", "built-in", "built-in"),
    }  # fmt: skip
    shown = json.loads(factory(factory_home, "templates", "show", "mini-api", "--tenant", "acme", "--json").stdout)
    assert (shown["key"], shown["trusted_by"]) == (key, {"acme": False})
    policy = tmp_path / "acme.cedar"
    policy.write_text(
        f'permit (principal, action == Factory::Action::"use_pack", resource is Factory::Pack)\n'
        f'when {{ resource.key == "{key}" }};\n'
    )
    assert factory(factory_home, "policy", "set", str(policy), "--tenant", "acme").returncode == 0
    shown = json.loads(factory(factory_home, "templates", "show", "mini-api", "--tenant", "acme", "--json").stdout)
    assert shown["trusted_by"] == {"acme": True}
    market = json.loads(factory(factory_home, "marketplace", "--tenant", "acme", "--json").stdout)
    assert {(r["name"], r["trusted"], r["publisher"]) for r in market} >= {("mini-api", True, "acme")}
    done = factory(factory_home, "templates", "deprecate", "mini-api", "1.0.0", "--reason", "use 2.0.0")
    assert done.returncode == 0, done.stderr
    audit = factory(factory_home, "audit", "list", "--json").stdout
    assert {e["action"] for e in json.loads(audit)} >= {"templates.install", "templates.deprecate"}
    assert factory(factory_home, "templates", "remove", "mini-api", "1.0.0").returncode == 0
    one_line_error(factory(factory_home, "templates", "remove", "mini-api", "1.0.0"), "no installed template pack")


def test_the_template_commands_refuse_bad_packs_in_one_line(tmp_path: Path, factory_home: Path) -> None:
    factory_home.mkdir(parents=True, exist_ok=True)
    import tarfile

    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        tar_member(tar, "pack/manifest.yaml", (make_pack(tmp_path / "base") / "manifest.yaml").read_bytes())
        tar_member(tar, "../../escape.txt", b"x")
    one_line_error(factory(factory_home, "templates", "install", str(evil)), "unsafe path")
    one_line_error(factory(factory_home, "templates", "install", str(tmp_path / "nope")), "no such pack")
    plain = make_pack(tmp_path / "plain", name="plain-api")
    assert factory(factory_home, "templates", "install", str(plain)).returncode == 0
    blueprint = tmp_path / "bp.yaml"
    import yaml

    blueprint.write_text(yaml.safe_dump(clinic().model_dump(mode="json", exclude={"hash"})))
    done = factory(factory_home, "generate", str(blueprint), "-o", str(tmp_path / "out"), "--template", "plain-api")
    one_line_error(done, "may not render with template pack plain-api 1.0.0", "unsigned")
    assert not (tmp_path / "out").exists()
