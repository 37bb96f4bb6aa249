"""Staging and prod as real deployments: promotion, a failed release, rollback of code and schema, the trace.

One product is built once for the module (the real stages, git and the local runtime, no Dagster); the tests
then run in order on it: promote dev -> staging -> prod, a release that does not start, releases that carry
migrations (one whose schema has no downgrade), rollbacks, and the trace from the intent to prod.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import os
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from graph import KnowledgeGraph
from infra import migrations, runtime
from infra.access import policy_text
from infra.control import ControlPlane
from infra.events import EVENT_TYPE_PREFIX
from infra.gitops import ProductRepository
from infra.governance import GovernanceError
from infra.lifecycle import STAGES, StageContext, StageResult, environments, run_stage
from infra.lifecycle.delivery import release_dir
from infra.lifecycle.environments import RollbackRefused
from infra.lifecycle.use_cases import approve, rollback
from infra.records import DeploymentRecord
from infra.runtime import DeploymentError
from infra.webhooks import list_events
from ontology.errors import InvalidInputError
from ontology.refs import ProductRef

pytestmark = pytest.mark.slow(minutes=3)

REF = ProductRef("acme", "helpdesk")
INTENT = "A helpdesk where customers open support tickets."


class Product:
    """The module's product under its own home, built once."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.kg = KnowledgeGraph(home, embedder=None)
        self.ctx = StageContext(home, REF.tenant, REF.product, run_id="run-1", knowledge_graph=lambda: self.kg)
        self.control = ControlPlane(None, home)
        self.repo = ProductRepository(home, REF.tenant, REF.product)
        self.results: dict[str, StageResult] = {}
        self.releases: dict[str, str] = {}  # name -> commit of the releases the tests made

    def promote(self, env: str) -> DeploymentRecord:
        """The environments' promotion itself: the releases these tests make are never fuzzed, so the use case's
        staging gate on the deep contract run (tested with the contract stage) would refuse them first."""
        return environments.promote(self.ctx, env, actor="alice")

    def rollback(self, env: str) -> DeploymentRecord:
        return rollback(self.control, self.home, REF, env, actor="alice", graph=lambda: self.kg)

    def deployment(self, env: str) -> DeploymentRecord:
        record = self.control.deployment(REF.tenant, REF.product, env)
        assert record is not None
        return record

    def release(self, name: str, revision: int, change: dict[str, str]) -> str:
        """Release the built tree with `change` (path -> text) as revision `revision`: it lands on env/dev."""
        tree = self.home / "sources" / name
        self.repo.export(self.releases.get("base") or self.results["release"].commit, tree)  # type: ignore[attr-defined]
        for path, text in change.items():
            (tree / path).parent.mkdir(parents=True, exist_ok=True)
            (tree / path).write_text(text)
        result = self.repo.release(
            tree, trace_id=secrets.token_hex(16), blueprint_hash="0" * 64, template="fastapi-service", revision=revision
        )
        self.releases[name] = result.commit
        return result.commit


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    home = tmp_path_factory.mktemp("environments") / "home"
    ControlPlane(None, home).submit_intent(REF.tenant, REF.product, INTENT)
    built = Product(home)
    for stage in STAGES:
        built.results[stage.name] = run_stage(built.ctx, stage.name, built.results)
    yield built
    for d in ControlPlane(None, home).deployments(None):
        if d.pid and d.workdir:
            runtime.stop(d.pid, Path(d.workdir))


def _database(home: Path, env: str) -> Path:
    return home / "runtime" / "data" / f"acme-helpdesk-{env}" / "service.db"


def _open_files(pid: int) -> set[Path]:
    """The files the process has open (a service keeps its SQLite database open once it has served)."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            found.add(Path(os.readlink(fd)))
    return found


def _tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _migration_files(tree: Path, name: str, down: str | None, body: str, undo: str) -> dict[str, str]:
    """Files that add a migration `name` after `down`, in the release's own migrations when it has them."""
    files: dict[str, str] = {}
    if migrations.has_migrations(tree):
        config = configparser.ConfigParser(defaults={"here": str(tree)})
        config.read(tree / migrations.CONFIG)
        location = Path(config["alembic"]["script_location"])
        versions = (location if location.is_absolute() else tree / location) / "versions"
        folder = versions.relative_to(tree).as_posix()
    else:
        folder = "migrations/versions"
        files[migrations.CONFIG] = "[alembic]\nscript_location = migrations\n"
        files["migrations/env.py"] = (
            "import os\n\nfrom alembic import context\nfrom sqlalchemy import create_engine\n\n"
            "with create_engine(os.environ['DATABASE_URL']).connect() as connection:\n"
            "    context.configure(connection=connection, target_metadata=None)\n"
            "    with context.begin_transaction():\n"
            "        context.run_migrations()\n"
        )
    files[f"{folder}/{name}.py"] = (
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = {name!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade() -> None:\n    {body}\n\n\ndef downgrade() -> None:\n    {undo}\n"
    )
    return files


def test_promotion_runs_the_exact_commit_as_its_own_service_and_database(product: Product) -> None:
    dev = product.deployment("dev")
    commit = product.repo.env_head("dev")
    assert commit is not None and dev.commit == commit
    staging = product.promote("staging")
    assert staging.env == "staging" and staging.commit == commit == product.repo.env_head("staging")
    assert staging.pid != dev.pid and staging.status == "running"
    assert httpx.get(f"{staging.url}/health", timeout=5).status_code == 200
    assert httpx.get(f"{dev.url}/health", timeout=5).status_code == 200  # dev keeps running beside it
    # the exact commit: its tree is what the staging process runs from
    workdir = Path(os.readlink(f"/proc/{staging.pid}/cwd"))
    assert workdir == release_dir(product.ctx, commit, "staging").resolve()
    shown = product.repo.repo.git.show(f"{commit}:app/main.py")
    assert (workdir / "app/main.py").read_text().rstrip("\n") == shown.rstrip("\n")
    # its own database, which the smoke workload wrote to before it took the traffic
    assert _database(product.home, "staging").resolve() in _open_files(staging.pid or 0)
    assert _database(product.home, "dev").resolve() in _open_files(dev.pid or 0)
    assert _database(product.home, "dev").resolve() not in _open_files(staging.pid or 0)
    assert _database(product.home, "staging").stat().st_size > 0
    releases = product.control.releases(REF.tenant, REF.product, "staging")
    assert [(r.commit, r.status, r.revision) for r in releases] == [(commit, "running", 1)]
    audit = product.control.audit_log(REF.tenant)[0]
    assert (audit.action, audit.outcome) == ("promote", "ok") and commit[:7] in audit.detail


def test_prod_needs_an_approval_then_runs_and_the_trace_reaches_it(product: Product) -> None:
    with pytest.raises(GovernanceError, match="needs an approval"):
        product.promote("prod")
    assert product.control.deployment(REF.tenant, REF.product, "prod") is None  # nothing started
    graph = {"graph": lambda: product.kg}
    approve(product.control, product.home, REF, "prod", approved=False, reason="not on a Friday", actor="carol",
            **graph)  # fmt: skip
    with pytest.raises(GovernanceError, match="rejected by carol"):
        product.promote("prod")
    approve(product.control, product.home, REF, "prod", approved=True, reason="change board 42", actor="bob", **graph)
    prod = product.promote("prod")
    assert prod.commit == product.repo.env_head("staging") == product.repo.env_head("prod")
    assert httpx.get(f"{prod.url}/health", timeout=5).status_code == 200
    trace_id = product.results["intent"].trace_id
    for steps in (product.kg.trace(trace_id), product.kg.trace(trace_id, tenant="acme", engine="kuzu")):
        stages = [s.stage for s in sorted(steps, key=lambda s: s.order)]
        assert stages[0] == "intent" and "release" in stages
        deployments = {s.label: s for s in steps if s.stage == "deployment"}
        assert [s.label for s in steps if s.stage == "deployment"] == [
            "dev deployment", "staging deployment", "prod deployment"
        ]  # fmt: skip
        assert all(s.activity and s.agent for s in deployments.values())  # each by its own deployment activity
        # the trace goes on through staging and prod with the people: who decided, then who promoted
        people = [(s.stage, s.person) for s in steps if s.stage in ("approval", "deployment")]
        assert people == [("deployment", None), ("deployment", "alice"), ("approval", "carol"),
                          ("approval", "bob"), ("deployment", "alice")]  # fmt: skip
        decisions = [s for s in steps if s.stage == "approval"]
        assert [s.label.split(":")[0] for s in decisions] == ["rejected for prod", "approved for prod"]
        assert all(s.agent and s.agent.endswith(f"/person/{s.person}") and s.activity for s in decisions)
    # SPARQL finds the approval of prod, the person behind it, the release and the policy in force it used
    approvals = product.kg.sparql(
        "PREFIX fac: <https://softwarefactory.dev/ontology#> PREFIX prov: <http://www.w3.org/ns/prov#> "
        "SELECT ?who ?commit ?digest WHERE { ?a a fac:Approval ; fac:decision 'approved' ; "
        "fac:targetEnvironment/fac:environmentName 'prod' ; fac:approves/fac:commit ?commit ; "
        "prov:wasGeneratedBy ?act . ?act prov:wasAssociatedWith/fac:userName ?who ; "
        "prov:used/fac:policyDigest ?digest . "
        "?deploy a fac:DeploymentActivity ; prov:used ?a ; fac:requestedBy/fac:userName 'alice' }",
        "acme",
    ).rows
    in_force = hashlib.sha256(policy_text(product.home, "acme").encode()).hexdigest()
    assert [tuple(map(str, row)) for row in approvals] == [("bob", prod.commit, in_force)]
    # the deployment node says where it runs and which release (commit) it is
    rows = product.kg.sparql(
        "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT ?url ?status ?commit WHERE { "
        "?d a fac:Deployment ; fac:url ?url ; fac:status ?status ; fac:inEnvironment/fac:environmentName 'prod' ; "
        "fac:deploysRelease/fac:commit ?commit }",
        "acme",
    ).rows
    assert [tuple(map(str, row)) for row in rows] == [(prod.url, "running", prod.commit)]
    # each step was an event, written with its change: the build's stages, the request, the approval, the release
    feed = list_events(product.control, "acme", limit=1000)
    events = [(e.type.removeprefix(EVENT_TYPE_PREFIX), e.data.get("env")) for e in feed if e.product == REF.product]
    assert events[0] == ("intent.submitted", None) and ("stage.completed", None) in events
    asked = events.index(("promotion.requested", "prod"))
    assert {("promotion.approved", "prod"), ("release.made", "prod"), ("deployment.started", "prod")} <= set(
        events[asked:]
    )


def test_a_release_that_does_not_start_leaves_the_previous_one_running(product: Product) -> None:
    before = product.deployment("staging")
    main = product.repo.repo.git.show(f"{before.commit}:app/main.py")
    broken = product.release("broken", 2, {"app/main.py": main + '\nraise RuntimeError("broken on purpose")\n'})
    with pytest.raises(DeploymentError, match="RuntimeError: broken on purpose"):
        product.promote("staging")
    after = product.deployment("staging")
    assert (after.pid, after.commit, after.url) == (before.pid, before.commit, before.url)
    assert runtime.alive(after.pid or 0, Path(after.workdir or ".")) and runtime.healthy(after.url or "")
    assert product.repo.env_head("staging") == before.commit != broken  # the branch did not move
    assert [r.commit for r in product.control.releases(REF.tenant, REF.product, "staging")] == [before.commit]
    audit = product.control.audit_log(REF.tenant)[0]
    assert (audit.action, audit.outcome) == ("promote", "failed")


BROKEN_ROUTES = """

_healthy_app = create_app


def create_app():  # answers its health check, fails every other route
    from starlette.responses import PlainTextResponse

    app = _healthy_app()

    @app.middleware("http")
    async def broken(request, call_next):
        if request.url.path in ("/health", "/openapi.json"):
            return await call_next(request)
        return PlainTextResponse("broken on purpose", status_code=500)

    return app
"""


def test_a_release_that_fails_its_smoke_test_does_not_take_the_traffic(product: Product) -> None:
    before = product.deployment("staging")
    main = product.repo.repo.git.show(f"{before.commit}:app/main.py")
    failing = product.release("failing", 2, {"app/main.py": main + BROKEN_ROUTES})
    with pytest.raises(DeploymentError, match="failed its smoke test"):
        product.promote("staging")
    after = product.deployment("staging")
    assert (after.pid, after.commit) == (before.pid, before.commit) and runtime.healthy(after.url or "")
    assert product.repo.env_head("staging") == before.commit != failing
    started = [p for p in Path("/proc").iterdir() if p.name.isdigit() and runtime.alive(int(p.name), release_dir(
        product.ctx, failing, "staging"))]  # fmt: skip
    assert started == []  # the failed release was stopped


def test_rollback_returns_code_and_schema(product: Product) -> None:
    first = product.deployment("staging").commit
    assert first is not None
    base = product.home / "sources" / "base"
    product.repo.export(first, base)
    product.releases["base"] = first
    down = migrations.head(base)
    with_note = product.release(
        "note", 3, _migration_files(base, "e1note", down, "op.create_table('env_note', sa.Column('id', sa.Integer, "
        "primary_key=True))", "op.drop_table('env_note')"),
    )  # fmt: skip
    assert product.promote("staging").commit == with_note
    product.releases["base"] = with_note
    noted = product.home / "sources" / "note"
    with_tag = product.release(
        "tag", 4, _migration_files(noted, "e2tag", "e1note", "op.create_table('env_tag', sa.Column('id', sa.Integer, "
        "primary_key=True))", "op.drop_table('env_tag')"),
    )  # fmt: skip
    tagged = product.promote("staging")
    database = _database(product.home, "staging")
    url = f"sqlite:///{database}"
    assert tagged.commit == with_tag and {"env_note", "env_tag"} <= _tables(database)  # migrated before it ran
    assert migrations.current(Path(tagged.workdir or "."), url) == "e2tag"

    back = product.rollback("staging")
    assert back.commit == with_note == product.repo.env_head("staging") and back.pid != tagged.pid
    assert Path(os.readlink(f"/proc/{back.pid}/cwd")) == release_dir(product.ctx, with_note, "staging").resolve()
    assert httpx.get(f"{back.url}/health", timeout=5).status_code == 200
    assert not runtime.alive(tagged.pid or 0, Path(tagged.workdir or "."))
    assert "env_note" in _tables(database) and "env_tag" not in _tables(database)
    assert migrations.current(Path(back.workdir or "."), url) == "e1note"
    statuses = [(r.commit, r.status) for r in product.control.releases(REF.tenant, REF.product, "staging")][:3]
    assert statuses == [(with_note, "running"), (with_tag, "rolled-back"), (with_note, "replaced")]
    audit = product.control.audit_log(REF.tenant)[0]
    assert (audit.action, audit.outcome) == ("rollback", "ok") and "e2tag -> e1note" in audit.detail


def test_rollback_is_refused_where_the_schema_has_no_downgrade(product: Product) -> None:
    product.releases["base"] = product.releases["note"]
    noted = product.home / "sources" / "note"
    one_way = product.release(
        "one-way", 5, _migration_files(noted, "e3flag", "e1note", "op.create_table('env_flag', sa.Column('id', "
        "sa.Integer, primary_key=True))", "raise NotImplementedError('env_flag cannot be taken back')"),
    )  # fmt: skip
    running = product.promote("staging")
    assert running.commit == one_way
    database = _database(product.home, "staging")
    with pytest.raises(RollbackRefused, match=r"has no downgrade to e1note.*nothing was changed"):
        product.rollback("staging")
    after = product.deployment("staging")
    assert (after.pid, after.commit) == (running.pid, one_way) and runtime.healthy(after.url or "")
    assert "env_flag" in _tables(database)
    assert migrations.current(Path(after.workdir or "."), f"sqlite:///{database}") == "e3flag"
    assert product.repo.env_head("staging") == one_way
    audit = product.control.audit_log(REF.tenant)[0]
    assert (audit.action, audit.outcome) == ("rollback", "refused")


def test_rollback_refusals_are_one_line_with_a_non_zero_exit(product: Product) -> None:
    with pytest.raises(RollbackRefused, match="no earlier release in prod"):
        product.rollback("prod")
    with pytest.raises(InvalidInputError, match="dev follows the builds"):
        product.rollback("dev")
    env = {**os.environ, "FACTORY_HOME": str(product.home)}
    env.pop("FACTORY_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "studio", "rollback", "acme/helpdesk", "--env", "staging"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("note: ")]
    assert done.returncode != 0 and len(lines) == 1 and "has no downgrade" in lines[0], done.stderr  # past the
    # one-time notice that a home without accounts is its local admin's
    assert product.deployment("staging").commit == product.releases["one-way"]


def test_a_rollback_whose_release_fails_to_start_gives_the_running_one_its_schema_back(product: Product) -> None:
    marker = product.home / "fail-start"
    product.releases["base"] = product.releases["one-way"]
    one_way_tree = product.home / "sources" / "one-way"
    main = (one_way_tree / "app/main.py").read_text()
    guard = f"\nif __import__('pathlib').Path({str(marker)!r}).exists():\n    raise RuntimeError('fragile')\n"
    fragile = product.release("fragile", 6, {"app/main.py": main + guard})
    assert product.promote("staging").commit == fragile
    product.releases["base"] = fragile
    later = product.release(
        "later", 7, _migration_files(product.home / "sources" / "fragile", "e4late", "e3flag", "op.create_table("
        "'env_late', sa.Column('id', sa.Integer, primary_key=True))", "op.drop_table('env_late')"),
    )  # fmt: skip
    running = product.promote("staging")
    database = _database(product.home, "staging")
    assert running.commit == later and "env_late" in _tables(database)
    marker.write_text("")
    with pytest.raises(DeploymentError, match="RuntimeError: fragile"):  # so its migrations found e3flag: taken down
        product.rollback("staging")
    after = product.deployment("staging")
    assert (after.pid, after.commit) == (running.pid, later) and runtime.healthy(after.url or "")
    assert "env_late" in _tables(database)  # taken down for the rollback, then back up for the running release
    assert migrations.current(Path(after.workdir or "."), f"sqlite:///{database}") == "e4late"
    assert product.repo.env_head("staging") == later
    audit = product.control.audit_log(REF.tenant)[0]
    assert (audit.action, audit.outcome) == ("rollback", "failed")


def test_stopping_one_environment_leaves_the_others_running(product: Product) -> None:
    prod, staging = product.deployment("prod"), product.deployment("staging")
    env = {**os.environ, "FACTORY_HOME": str(product.home)}
    done = subprocess.run(
        [sys.executable, "-m", "studio", "deployments", "stop", "acme/helpdesk", "--env", "prod"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and f"stopped acme/helpdesk (prod, pid {prod.pid})" in done.stdout, done.stderr
    assert product.deployment("prod").status == "stopped" and not runtime.alive(
        prod.pid or 0, Path(prod.workdir or ".")
    )
    assert runtime.healthy(staging.url or "") and runtime.healthy(product.deployment("dev").url or "")
