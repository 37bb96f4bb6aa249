"""Upgrading a released product to another pack version: a real git repository, real renders, the real checks.

One product of the module lives through it in order, as a person would: its 1.0.0 release, their
edits in three files (one renamed by the pack migration, one clean, one conflicting), a dry run, the
upgrade that stops on the conflict, a settlement that fails lint, the fixed settlement that merges.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from generators.agents.engineer import Engineer
from generators.migrations import read_previous
from generators.packs import list_packs
from generators.rendering import ANSWERS_PATH
from graph import KnowledgeGraph
from graph.catalog import pack_upgrades
from infra import webhooks
from infra.control import ControlPlane
from infra.gitops import GENERATED_BRANCH, ProductRepository
from infra.insights import FactoryInsights, Outcome, save_insights
from infra.lifecycle.context import StageContext
from infra.lifecycle.upgrade import migration_renames, parse_target, product_template, upgrade, upgrade_tenant
from ontology.errors import InvalidInputError, NotFoundError
from ontology.models import Blueprint
from ontology.refs import ProductRef
from tests.product_blueprints import clinic

TRACE = "5" * 32
OLD, NEW = "fastapi-service@1.0.0", "fastapi-service@1.1.0"
BRANCH = "factory/upgrade/fastapi-service-1.1.0"
HPA, AUTOSCALER = "deploy/k8s/base/hpa.yaml", "deploy/k8s/base/autoscaler.yaml"
ROUTER = "app/api/routers/doctor.py"
NOTE = "## Notes of the clinic's team\n\nCall the front desk before changing appointment slots.\n"
OUR_DOC = '    """One doctor of the caller\'s tenant, as the front desk reads it."""\n'


def _release(home: Path, bp: Blueprint, tmp: Path) -> ProductRepository:
    """The product rendered with 1.0.0 and released: factory/generated merged into main."""
    Engineer().render(bp, tmp / bp.slug, TRACE, pack=("fastapi-service", "1.0.0"))
    repo = ProductRepository(home, bp.tenant, bp.slug)
    repo.release(tmp / bp.slug, trace_id=TRACE, blueprint_hash=bp.hash, template=OLD, revision=1)
    ControlPlane(None, home).upsert_product(bp.tenant, bp.slug, repo_path=str(repo.path))
    return repo


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, path
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ProductRef]:
    """A 1.0.0 clinic whose person edited the autoscaler, the README and the doctor router on main."""
    tmp = tmp_path_factory.mktemp("upgrade")
    home = tmp / "home"
    repo = _release(home, clinic(), tmp)
    _edit(repo.path / HPA, "maxReplicas: 5", "maxReplicas: 9")
    (repo.path / "README.md").write_text((repo.path / "README.md").read_text(encoding="utf-8") + "\n" + NOTE)
    _edit(repo.path / ROUTER, '    """One row of the caller\'s tenant; 404 for any other."""\n', OUR_DOC)
    _git(repo.path, "commit", "-qam", "Our autoscaling, notes and wording")
    return home, ProductRef("health-co", "clinic")


def _state(home: Path, ref: ProductRef) -> tuple[str | None, str | None, str | None, str]:
    repo = ProductRepository(home, ref.tenant, ref.product)
    return repo.head(), repo.head(GENERATED_BRANCH), repo.head(BRANCH), _git(repo.path, "status", "--porcelain")


def test_pack_migrations_are_read_from_the_manifest_and_composed_in_order(tmp_path: Path) -> None:
    assert {(p.name, p.version) for p in list_packs()} >= {("fastapi-service", "1.0.0"), ("fastapi-service", "1.1.0")}
    assert migration_renames("fastapi-service", "1.0.0", "1.1.0") == {HPA: AUTOSCALER}
    assert migration_renames("fastapi-service", "1.1.0", "1.1.0") == {}
    for version, renames in (("1.0.0", {}), ("1.1.0", {"a.txt": "b.txt"}), ("1.2.0", {"b.txt": "c.txt"})):
        root = tmp_path / "packs" / "demo" / version
        (root / "files").mkdir(parents=True)
        manifest = {"name": "demo", "version": version, "description": "d", "min_factory_version": "0.1.0"}
        (root / "manifest.yaml").write_text(yaml.safe_dump({**manifest, "upgrade": {"renames": renames}}))
    assert migration_renames("demo", "1.0.0", "1.2.0", tmp_path / "packs") == {"a.txt": "c.txt"}
    assert migration_renames("demo", "1.1.0", "1.2.0", tmp_path / "packs") == {"b.txt": "c.txt"}
    bads: list[dict[str, object]] = [
        {"renames": {"../x": "y"}},
        {"renames": {"/etc/passwd": "y"}},
        {"moves": {}},
        {"renames": {"a": "a"}},
    ]
    for bad in bads:
        (root / "manifest.yaml").write_text(yaml.safe_dump({**manifest, "upgrade": bad}))
        with pytest.raises(InvalidInputError, match="upgrade"):
            list_packs(tmp_path / "packs")


def test_new_products_get_the_latest_version_unless_the_insights_show_it_doing_worse(tmp_path: Path) -> None:
    fresh = StageContext(tmp_path, "acme", "shop")
    assert fresh.template_pack() == ("fastapi-service", "1.1.0")
    seen = {"fastapi-service@1.0.0": Outcome(builds=4, passed=4, pass_rate=1.0)}
    save_insights(tmp_path, FactoryInsights(templates=seen))
    assert fresh.template_pack() == ("fastapi-service", "1.1.0")  # never tried yet: the latest
    seen["fastapi-service@1.1.0"] = Outcome(builds=4, passed=1, pass_rate=0.25)
    save_insights(tmp_path, FactoryInsights(templates=seen))
    assert fresh.template_pack() == ("fastapi-service", "1.0.0")


def test_bad_targets_are_refused_with_one_line(product: tuple[Path, ProductRef]) -> None:
    home, ref = product
    control = ControlPlane(None, home)
    before = _state(home, ref)
    for target, error, words in (
        ("fastapi-service", InvalidInputError, "pack@version"),
        ("fastapi-service@1.1", InvalidInputError, "MAJOR.MINOR.PATCH"),
        ("other-pack@1.1.0", InvalidInputError, "generated with fastapi-service@1.0.0"),
        ("fastapi-service@9.9.9", NotFoundError, "has no version 9.9.9"),
        ("fastapi-service@0.9.0", InvalidInputError, "never downgrade"),
    ):
        with pytest.raises(error, match=words):
            upgrade(control, home, ref, target, actor="tester")
    with pytest.raises(NotFoundError, match="build it first"):
        upgrade(control, home, ProductRef("health-co", "nothing-here"), NEW, actor="tester")
    assert parse_target(NEW) == ("fastapi-service", "1.1.0")
    assert _state(home, ref) == before


def test_a_dry_run_shows_the_diff_and_the_conflict_and_changes_nothing(product: tuple[Path, ProductRef]) -> None:
    home, ref = product
    before = _state(home, ref)
    report = upgrade(ControlPlane(None, home), home, ref, NEW, actor="tester", dry_run=True)
    assert (report.status, report.conflicts, report.moved, report.branch) == (
        "dry-run",
        [ROUTER],
        {HPA: AUTOSCALER},
        "",
    )
    assert f"rename from {HPA}" in report.diff and f"rename to {AUTOSCALER}" in report.diff
    assert "+from app.api import preconditions" in report.diff and "<<<<<<<" in report.diff
    assert _state(home, ref) == before


def test_a_conflicting_upgrade_leaves_main_alone_and_the_markers_on_a_branch(product: tuple[Path, ProductRef]) -> None:
    home, ref = product
    control = ControlPlane(None, home)
    main, generated, _, _ = _state(home, ref)
    report = upgrade(control, home, ref, NEW, actor="tester")
    assert (report.status, report.conflicts, report.branch) == ("conflicts", [ROUTER], BRANCH)
    assert not report.ok and ROUTER in report.message
    assert _state(home, ref)[:2] == (main, generated)
    repo = ProductRepository(home, ref.tenant, ref.product)
    router = _git(repo.path, "show", f"{BRANCH}:{ROUTER}")
    assert "<<<<<<<" in router and OUR_DOC in router and "preconditions.tagged" in router
    assert "maxReplicas: 9" in _git(repo.path, "show", f"{BRANCH}:{AUTOSCALER}")
    assert NOTE in _git(repo.path, "show", f"{BRANCH}:README.md")
    assert HPA not in _git(repo.path, "ls-tree", "-r", "--name-only", BRANCH).split()
    assert f"Upgrade-Conflicts: {ROUTER}" in _git(repo.path, "log", "-1", "--format=%B", BRANCH)
    again = upgrade(control, home, ref, NEW, actor="tester")  # not settled yet: still refused, nothing moves
    assert (again.status, again.conflicts) == ("conflicts", [ROUTER])
    assert _state(home, ref)[:3] == (main, generated, report.commit)
    assert [e.outcome for e in control.audit_log("health-co") if e.action == "product.upgrade"] == ["refused"] * 2


def _settle(home: Path, tmp: Path, extra: str = "") -> None:
    """A person settles the conflict on the upgrade branch, in a work tree of their own, and commits."""
    repo = ProductRepository(home, "health-co", "clinic")
    work = tmp / "settle"
    if not work.exists():
        _git(repo.path, "worktree", "add", "--quiet", str(work), BRANCH)
    text = (work / ROUTER).read_text(encoding="utf-8")
    start, middle, end = text.index("<<<<<<< "), text.index("=======\n"), text.index(">>>>>>> ")
    theirs = text[middle + len("=======\n") : end]
    settled = theirs.replace(theirs[theirs.index('    """') : theirs.index("\n", theirs.index('    """')) + 1], OUR_DOC)
    (work / ROUTER).write_text(text[:start] + settled + text[text.index("\n", end) + 1 :] + extra, encoding="utf-8")
    _git(work, "commit", "-qam", "Settle the upgrade of the doctor router")


def test_a_settlement_that_fails_the_checks_leaves_main_alone_then_a_fixed_one_merges(
    product: tuple[Path, ProductRef], tmp_path: Path
) -> None:
    home, ref = product
    control = ControlPlane(None, home)
    main, generated, _, _ = _state(home, ref)
    _settle(home, tmp_path, extra="import os\n")  # the settlement leaves an unused import behind
    failed = upgrade(control, home, ref, NEW, actor="tester")
    assert (failed.status, sorted(failed.checks), failed.branch) == ("failed", ["lint_clean"], BRANCH)
    assert any(ROUTER in found and "import" in found for found in failed.checks["lint_clean"])
    assert _state(home, ref)[:2] == (main, generated)

    work = tmp_path / "settle"
    _edit(work / ROUTER, "import os\n", "")
    _git(work, "commit", "-qam", "Drop the stray import")
    _git(work, "checkout", "-q", "--detach")
    done = upgrade(control, home, ref, NEW, actor="tester")
    assert (done.status, done.checks, done.branch) == ("upgraded", {}, ""), done.message
    repo = ProductRepository(home, ref.tenant, ref.product)
    head, generated_now, branch, status = _state(home, ref)
    assert head == done.commit and branch is None and status == "" and generated_now != generated
    assert repo.trailers(GENERATED_BRANCH)["Template"] == NEW and product_template(home, ref) == NEW
    assert "maxReplicas: 9" in (repo.path / AUTOSCALER).read_text() and not (repo.path / HPA).exists()
    assert NOTE in (repo.path / "README.md").read_text()
    router = (repo.path / ROUTER).read_text()
    assert OUR_DOC in router and "preconditions.check_if_match" in router and "<<<<<<<" not in router
    assert StageContext(home, ref.tenant, ref.product).template_pack() == ("fastapi-service", "1.1.0")
    assert upgrade(control, home, ref, NEW, actor="tester").status == "current"

    # the next build renders 1.1.0 again, byte for byte the upgrade's render: it releases the upgraded main
    tree = repo.export(GENERATED_BRANCH, tmp_path / "generated")
    previous = read_previous(tree, ANSWERS_PATH)
    Engineer().render(clinic(), tmp_path / "next", TRACE, pack=("fastapi-service", "1.1.0"), previous=previous)
    released = repo.release(tmp_path / "next", trace_id=TRACE, blueprint_hash=clinic().hash, template=NEW, revision=2)
    assert (released.created, released.tag, released.commit) == (True, "r2", done.commit)
    assert repo.head(GENERATED_BRANCH) == generated_now and repo.env_head("dev") == done.commit
    assert [e.outcome for e in control.audit_log("health-co") if e.action == "product.upgrade"][:2] == ["ok", "failed"]
    (event,) = [e for e in webhooks.list_events(control, "health-co") if e.type.endswith(".product.upgraded")]
    assert (event.product, event.data["from"], event.data["to"], event.data["commit"]) == ("clinic", OLD, NEW, head)


def test_a_tenants_products_on_one_version_are_upgraded_each_with_its_report(
    product: tuple[Path, ProductRef], tmp_path: Path
) -> None:
    home, _ = product
    second = clinic().model_copy(update={"slug": "clinic-north"})
    _release(home, second, tmp_path)
    reports = upgrade_tenant(ControlPlane(None, home), home, "health-co", OLD, NEW, actor="tester", dry_run=True)
    assert [(r.product, r.status, r.conflicts) for r in reports] == [("health-co/clinic-north", "dry-run", [])]
    assert "+from app.api import preconditions" in reports[0].diff


def test_the_command_line_upgrade_dry_run_and_its_bad_input(product: tuple[Path, ProductRef], tmp_path: Path) -> None:
    home, _ = product
    env = {**os.environ, "FACTORY_HOME": str(home)}
    factory = [sys.executable, "-m", "studio", "upgrade"]
    done = subprocess.run(
        [*factory, "health-co/clinic-north", "--to", NEW, "--dry-run"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "dry run: health-co/clinic-north from fastapi-service@1.0.0 to fastapi-service@1.1.0" in done.stdout
    assert f"moved {HPA} -> {AUTOSCALER}" in done.stdout
    bad = subprocess.run([*factory, "health-co", "--to", NEW], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert len([line for line in bad.stderr.splitlines() if line.strip()]) == 1 and "--from" in bad.stderr


def test_a_conflict_without_markers_stays_unsettled_until_a_person_commits(product: tuple[Path, ProductRef]) -> None:
    home, _ = product
    ref = ProductRef("health-co", "clinic-north")
    repo = ProductRepository(home, ref.tenant, ref.product)
    _git(repo.path, "rm", "-q", "README.md")  # the person deleted a file the new version changes
    _git(repo.path, "commit", "-qm", "We keep our docs elsewhere")
    main, generated, _, _ = _state(home, ref)
    control = ControlPlane(None, home)
    first = upgrade(control, home, ref, NEW, actor="tester")
    assert (first.status, first.conflicts) == ("conflicts", ["README.md"])
    again = upgrade(control, home, ref, NEW, actor="tester")
    assert (again.status, again.conflicts, again.checks) == ("conflicts", ["README.md"], {})
    assert _state(home, ref)[:2] == (main, generated)


def test_every_upgrade_but_a_dry_run_is_a_prov_activity_in_the_product_graph(product: tuple[Path, ProductRef]) -> None:
    home, ref = product
    kg = KnowledgeGraph(home, embedder=None)
    upgrades = pack_upgrades(kg, "health-co")
    clinic_runs = [u for u in upgrades if u.product == "clinic"]
    assert [(u.status, u.conflicts) for u in clinic_runs] == [
        ("conflicts", (ROUTER,)), ("conflicts", (ROUTER,)), ("failed", ()), ("upgraded", ()),
    ]  # fmt: skip
    assert {(u.pack, u.from_version, u.to_version, u.person) for u in upgrades} == {
        ("fastapi-service", "1.0.0", "1.1.0", "tester")
    }
    repo = ProductRepository(home, ref.tenant, ref.product)
    assert clinic_runs[-1].commit == repo.head() and clinic_runs[-1].branch == ""
    assert clinic_runs[0].branch == BRANCH and len(clinic_runs[0].commit) == 40
    north = pack_upgrades(kg, "health-co", "clinic-north")  # its dry runs left nothing
    assert [(u.status, u.conflicts) for u in north] == [("conflicts", ("README.md",))] * 2
    assert pack_upgrades(kg, "other-tenant") == []  # a tenant sees only its own products' upgrades
    # plain PROV: an activity associated with the person that used both pack versions, queryable in SPARQL
    rows = kg.sparql(
        """PREFIX fac: <https://softwarefactory.dev/ontology#>
        PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT ?who (COUNT(DISTINCT ?pack) AS ?packs) WHERE { GRAPH ?g {
          ?upgrade a fac:UpgradeActivity ; fac:upgradeOf ?product ; prov:used ?pack ;
                   prov:wasAssociatedWith/fac:userName ?who ; fac:upgradeStatus "upgraded" .
        } } GROUP BY ?who""",
        "health-co",
    ).records()
    assert [(r["who"], int(r["packs"])) for r in rows] == [("tester", 2)]


def test_the_studio_shows_the_upgrades_and_offers_the_upgrade_from_what_is_released(
    product: tuple[Path, ProductRef], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = product
    monkeypatch.setenv("FACTORY_HOME", str(home))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "studio" / "app.py"), default_timeout=120)
    at.query_params["tenant"], at.query_params["product"] = "health-co", "clinic"
    at.run().switch_page("pages/product.py").run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "conflicts" in d.value.columns)  # the Upgrades tab
    assert list(table["status"]) == ["conflicts", "conflicts", "failed", "upgraded"]
    assert list(table["conflicts"])[:2] == [ROUTER, ROUTER] and set(table["by"]) == {"tester"}
    at.switch_page("pages/marketplace.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    upgrades = next(d.value for d in at.dataframe if "conflicts" in d.value.columns)
    assert sorted(set(upgrades["product"])) == ["health-co/clinic", "health-co/clinic-north"]
    # clinic is on 1.1.0 now, clinic-north still on 1.0.0 (its upgrade has conflicts): only it is offered
    assert at.selectbox(key="upgrade_from").options == [OLD] and at.selectbox(key="upgrade_to").options == ["1.1.0"]
    at.checkbox(key="upgrade_dry_run").check()
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    report = next(d.value for d in at.dataframe if "outcome" in d.value.columns)
    assert list(zip(report["product"], report["outcome"], report["conflicts"], strict=True)) == [
        ("health-co/clinic-north", "dry-run", "README.md")
    ]
    assert len(pack_upgrades(KnowledgeGraph(home, embedder=None), "health-co")) == 6  # a dry run records nothing
