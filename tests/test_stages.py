"""Each lifecycle stage as a plain function call on a temporary factory home, without Dagster.

One home serves the module: the stages run in table order, each test checks one stage's result
and what it wrote (facts, control database, git, the running service), as the build would.
The real analyst, architect, engineer and tester run, git and the local runtime are real.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from generators.agents.engineer import Engineer
from graph import KnowledgeGraph
from infra import runtime
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from infra.governance import GovernanceError
from infra.insights import load_insights
from infra.lifecycle import (
    STAGES,
    StageContext,
    StageResult,
    StageSettings,
    bookkeeping,
    delivery,
    design,
    generation,
    observation,
    run_stage,
)
from infra.lifecycle import contract as contract_stage
from infra.lifecycle.results import (
    ArtifactsResult,
    BlueprintResult,
    ContractResult,
    DeploymentResult,
    IntentResult,
    KnowledgeResult,
    ReleaseResult,
    RequirementsResult,
    TelemetryResult,
    ValidationResult,
)
from infra.lifecycle.use_cases import promote
from infra.lineage import read_events
from infra.workspace import tree_digest
from ontology.errors import FactoryError, InvalidInputError, NotFoundError
from ontology.lifecycle import ARCHITECT
from ontology.refs import ProductRef, new_trace_id
from studio.views import contract_view
from tests.product_blueprints import clinic

pytestmark = pytest.mark.slow(minutes=3)

INTENT = "A helpdesk where customers open support tickets."


class Build:
    """The module's product: its context and each stage's result so far."""

    def __init__(self, home: Path) -> None:
        self.home = home
        graph = KnowledgeGraph(home, embedder=None)
        self.ctx = StageContext(home, "acme", "helpdesk", run_id="run-1", knowledge_graph=lambda: graph)
        self.results: dict[str, StageResult] = {}

    def run(self, name: str) -> Any:
        self.results[name] = run_stage(self.ctx, name, self.results)
        return self.results[name]

    def facts(self, stage: str) -> Path:
        return self.ctx.workspace.root / "facts" / f"{stage}.nq"


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    home = tmp_path_factory.mktemp("stages") / "home"
    ControlPlane(None, home).submit_intent("acme", "helpdesk", INTENT)
    product = Build(home)
    yield product
    for d in ControlPlane(None, home).deployments(None):
        if d.pid and d.workdir:
            runtime.stop(d.pid, Path(d.workdir))


def test_a_product_without_an_intent_is_refused(tmp_path: Path) -> None:
    ctx = StageContext(tmp_path, "acme", "nothing", knowledge_graph=lambda: KnowledgeGraph(tmp_path, embedder=None))
    with pytest.raises(NotFoundError, match="no intent submitted for acme/nothing"):
        design.intent(ctx)


def test_a_context_refuses_a_bad_product_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="invalid product"):
        StageContext(tmp_path, "acme", "../etc")


def test_intent_starts_a_traced_build(build: Build) -> None:
    result = build.run("intent")
    assert isinstance(result, IntentResult) and not result.reused
    assert (result.tenant, result.product, result.revision, result.text) == ("acme", "helpdesk", 1, INTENT)
    record = build.ctx.control.latest_intent("acme", "helpdesk")
    assert record is not None and record.status == "building" and record.trace_id == result.trace_id
    assert build.facts("intent").stat().st_size > 0
    events = [e for e in read_events(build.home) if e["job"]["name"] == "intent"]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]


def test_requirements_come_from_the_analyst(build: Build) -> None:
    result = build.run("requirements")
    assert isinstance(result, RequirementsResult)
    assert result.requirements is not None and result.source == "deterministic"
    assert "support_ticket" in {e.name for e in result.requirements.entities}
    assert result.statements and result.trace_id == build.results["intent"].trace_id


def test_blueprint_is_designed_written_and_checked(build: Build) -> None:
    result = build.run("blueprint")
    assert isinstance(result, BlueprintResult)
    assert "support_ticket" in {e.name for e in result.blueprint.entities}
    assert result.check_issues() == {"blueprint_conforms": [], "policy": []}
    assert Path(result.path).read_text().startswith(("name:", "slug:", "tenant:", "description:", "version:"))
    assert build.facts("blueprint").stat().st_size > 0  # kept for the graph, published at the end


def test_a_blueprint_that_fails_a_blocking_check_publishes_the_chain_so_far(tmp_path: Path) -> None:
    data = clinic().model_copy(update={"tenant": "initech", "slug": "leaky"}).model_dump(mode="json")
    for entity in data["entities"]:
        for attr in entity["attributes"]:
            attr["pii"] = False  # personal data left unflagged breaks the policy
    home = tmp_path / "leaky"
    ControlPlane(None, home).submit_intent("initech", "leaky", "", blueprint_yaml=yaml.safe_dump(data))
    graph = KnowledgeGraph(home, embedder=None)
    ctx = StageContext(home, "initech", "leaky", knowledge_graph=lambda: graph)
    intent = design.intent(ctx)
    result = design.blueprint(ctx, intent, design.requirements(ctx, intent))
    assert result.check_issues()["policy"] and not result.check_issues()["blueprint_conforms"]
    steps = graph.trace(result.trace_id, "initech")
    assert {s.stage for s in steps} == {"intent", "blueprint"}  # a submitted blueprint has no requirements
    assert {s.agent for s in steps if s.stage == "blueprint"} == {ARCHITECT.iri}


def test_a_submitted_blueprint_for_another_product_is_refused(build: Build, tmp_path: Path) -> None:
    bp = build.ctx.workspace.blueprint_path.read_text()
    home = tmp_path / "other"
    ControlPlane(None, home).submit_intent("acme", "other", "", blueprint_yaml=bp)
    ctx = StageContext(home, "acme", "other", knowledge_graph=lambda: KnowledgeGraph(home, embedder=None))
    intent = design.intent(ctx)
    requirements = design.requirements(ctx, intent)
    assert requirements.requirements is None and requirements.source == "blueprint"
    with pytest.raises(InvalidInputError, match="the blueprint is for acme/helpdesk, not acme/other"):
        design.blueprint(ctx, intent, requirements)
    assert ctx.control.product("acme", "other").stage_map()["blueprint"] == "failed"  # type: ignore[union-attr]


def test_artifacts_are_rendered_and_reused_while_the_tree_is_unchanged(build: Build) -> None:
    result = build.run("artifacts")
    assert isinstance(result, ArtifactsResult) and not result.reused
    assert "app/main.py" in result.files and (Path(result.dir) / "app/main.py").is_file()
    assert result.template.startswith("fastapi-service@")
    again = generation.artifacts(build.ctx, build.results["blueprint"])  # type: ignore[arg-type]
    assert again.reused and again.tree_hash == result.tree_hash
    (Path(result.dir) / "app/main.py").write_text("# changed\n")
    rendered = generation.artifacts(build.ctx, build.results["blueprint"])  # type: ignore[arg-type]
    assert not rendered.reused and rendered.tree_hash == result.tree_hash  # the same blueprint renders the same


def test_validation_runs_the_products_own_tests(build: Build) -> None:
    result = build.run("validation")
    assert isinstance(result, ValidationResult)
    assert result.ok and result.passed > 0 and result.failed == result.errors == 0
    assert result.check_issues() == {"tests_pass": [], "lint_clean": [], "tenant_scoped": [], "contract_holds": []}
    assert result.contract is not None and result.contract.ok and result.contract.depth == "shallow"
    assert result.metadata()["contract_cases"] == result.contract.cases > 0


def test_release_refuses_a_failed_validation(build: Build) -> None:
    failed = build.results["validation"].model_copy(update={"ok": False, "fingerprint": "another"})
    r = build.results
    with pytest.raises(FactoryError, match="validation failed"):
        delivery.release(build.ctx, r["intent"], r["blueprint"], r["artifacts"], failed)  # type: ignore[arg-type]


def test_release_commits_tags_and_pushes_env_dev(build: Build) -> None:
    result = build.run("release")
    assert isinstance(result, ReleaseResult) and result.created
    repo = ProductRepository(build.home, "acme", "helpdesk")
    assert repo.env_head("dev") == result.commit
    assert repo.trailers(result.commit)["Factory-Trace-Id"] == result.trace_id
    assert build.ctx.control.product("acme", "helpdesk").repo_path == str(repo.path)  # type: ignore[union-attr]


def test_deployment_runs_the_release_and_a_new_one_replaces_it(build: Build) -> None:
    result = build.run("deployment")
    assert isinstance(result, DeploymentResult)
    assert httpx.get(result.url + "/health", timeout=5).status_code == 200
    record = build.ctx.control.deployment("acme", "helpdesk")
    assert record is not None and record.pid == result.pid and record.status == "running"
    # the chain so far was published beside the service's start, and the stage waited for it
    assert "release" in {step.stage for step in build.ctx.graph().trace(result.trace_id, "acme")}
    assert ProductRef("acme", "helpdesk") not in bookkeeping._RUNNING
    # the same release, still healthy: left running
    same = delivery.deployment(build.ctx, build.results["intent"], build.results["release"])  # type: ignore[arg-type]
    assert same.reused and same.pid == result.pid
    # blue/green: the new process starts and is recorded before the old one is stopped
    service = delivery.swap(build.ctx, record, result.commit, result.trace_id, 1)
    assert service.pid != result.pid and httpx.get(service.url + "/health", timeout=5).status_code == 200
    deadline = time.monotonic() + 10
    while runtime.alive(result.pid, Path(result.workdir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not runtime.alive(result.pid, Path(result.workdir))
    assert build.ctx.control.deployment("acme", "helpdesk").pid == service.pid  # type: ignore[union-attr]
    # the recorded deployment is no longer the stored result's: the stage starts it again; where the next
    # stages run in this process, its publish goes on after it, until the next publish or the build's end
    build.ctx.publish_across_stages = True
    try:
        again = build.run("deployment")
    finally:
        build.ctx.publish_across_stages = False
    assert not again.reused and httpx.get(again.url + "/health", timeout=5).status_code == 200
    assert ProductRef("acme", "helpdesk") in bookkeeping._RUNNING
    bookkeeping.settle_publishes(ProductRef("acme", "helpdesk"))
    assert ProductRef("acme", "helpdesk") not in bookkeeping._RUNNING


def test_telemetry_measures_the_service_against_its_objectives(build: Build) -> None:
    result = build.run("telemetry")
    assert isinstance(result, TelemetryResult)
    assert result.requests > 0 and result.spans >= result.requests
    assert result.overall.p95_ms >= result.overall.p50_ms > 0
    assert result.objectives == build.results["blueprint"].blueprint.slo  # type: ignore[attr-defined]
    assert {r.route for r in result.routes} and not result.unexpected


def test_staging_waits_for_a_deep_contract_run_of_the_deployed_commit_that_held(build: Build) -> None:
    ref = ProductRef("acme", "helpdesk")
    repo = ProductRepository(build.home, "acme", "helpdesk")
    with pytest.raises(GovernanceError, match=r"no deep contract run of \w{7} yet: run `factory contract acme/helpd"):
        promote(build.ctx.control, build.home, ref, "staging", actor="alice")
    assert repo.env_head("staging") is None  # nothing changed
    refused = build.ctx.control.audit_log("acme")[0]
    assert (refused.action, refused.outcome, refused.actor) == ("promote", "refused", "alice")
    result = build.run("contract")
    assert isinstance(result, ContractResult) and result.ok
    assert result.commit == build.results["deployment"].commit  # type: ignore[attr-defined]
    assert result.examples == 2 and result.check_issues() == {"deep_contract_holds": []}
    assert result.report.phases["stateful"] == "success" and result.report.cases > 0
    # it runs after the build's last stage, so it puts its own facts into the product's graph
    deep = build.ctx.graph().sparql(
        "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT ?depth ?holds WHERE { "
        "?run fac:contractDepth ?depth ; fac:contractHolds ?holds }",
        "acme",
    )
    assert ("deep", "true") in {(str(depth), str(holds).lower()) for depth, holds in deep.rows}, deep.rows
    assert promote(build.ctx.control, build.home, ref, "staging", actor="alice").commit == result.commit
    assert repo.env_head("staging") == result.commit


def test_the_deep_run_sends_100_examples_per_operation_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(contract_stage.EXAMPLES_ENV)
    assert contract_stage.deep_examples(StageSettings()) == 100
    assert contract_stage.deep_examples(StageSettings(contract_examples=7)) == 7
    monkeypatch.setenv(contract_stage.EXAMPLES_ENV, "lots")
    with pytest.raises(InvalidInputError, match="FACTORY_CONTRACT_EXAMPLES must be a whole number"):
        contract_stage.deep_examples(StageSettings())


def test_a_service_that_breaks_its_contract_fails_both_runs_and_stays_out_of_staging(tmp_path: Path) -> None:
    bp = clinic()
    home = tmp_path / "broken"
    graph = KnowledgeGraph(home, embedder=None)
    ctx = StageContext(home, bp.tenant, bp.slug, knowledge_graph=lambda: graph)
    trace = new_trace_id()
    root = ctx.workspace.reset_render()
    files = [f.path for f in Engineer().render(bp, root, trace).files]
    route = root / "app/api/routers/appointment.py"  # the list answers its JSON as text/plain, undocumented
    text = route.read_text(encoding="utf-8")
    listed = "visible_page(who.roles, ENTITY, service.list(filters))"
    plain = f'return Response({listed}.model_dump_json(), media_type="text/plain")'
    route.write_text(text.replace(f"return {listed}", plain, 1), encoding="utf-8")
    assert route.read_text(encoding="utf-8") != text
    blueprint = BlueprintResult(blueprint=bp, hash="0" * 64, trace_id=trace, fingerprint="blueprint")
    artifacts = ArtifactsResult(
        dir=str(root), template="fastapi-service@1.0.0", files=files, bytes=0,
        tree_hash=tree_digest(root, files), trace_id=trace, fingerprint="artifacts",
    )  # fmt: skip
    validation = generation.validation(ctx, blueprint, artifacts)
    issues = validation.check_issues()
    assert not validation.ok and issues["tests_pass"] == [] and issues["tenant_scoped"] == []  # only the contract
    assert any(i.startswith("`GET /appointments") and "content_type" in i for i in issues["contract_holds"]), issues
    # the failure and its request are in the knowledge graph (published: a blocking check failed) and the Studio
    requests = graph.sparql(
        "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT ?request WHERE { "
        "?report fac:hasContractRun ?run . ?run fac:contractHolds false ; fac:hasContractFailure ?f . "
        "?f fac:requestLine ?request }",
        bp.tenant,
    ).rows
    assert any(str(row[0]).startswith("GET /appointments") for row in requests), requests
    shown = contract_view(ctx.workspace)
    assert shown.runs[0]["depth"] == "shallow" and not shown.runs[0]["holds"]
    assert any(f["request"].startswith("GET /appointments") and f["status"] == 200 for f in shown.failures)
    # released anyway (by hand, as a person could), its deep run fails and staging refuses the commit
    released = ctx.repository().release(
        ctx.workspace.clean_copy(files), trace_id=trace, blueprint_hash="0" * 64, template="fastapi", revision=1
    )
    intent = IntentResult(
        tenant=bp.tenant, product=bp.slug, intent_id=1, revision=1, text="", trace_id=trace, fingerprint="intent"
    )
    deployed = DeploymentResult(
        url="", pid=0, port=0, workdir=str(root), log="", telemetry_file="", commit=released.commit,
        environment="dev", trace_id=trace, fingerprint="deployment",
    )  # fmt: skip
    deep = contract_stage.contract(ctx, intent, deployed)
    assert not deep.ok and any("`GET /appointments" in i for i in deep.check_issues()["deep_contract_holds"])
    assert {run["depth"] for run in contract_view(ctx.workspace).runs} == {"shallow", "deep"}
    with pytest.raises(GovernanceError, match="deep contract run failed"):
        promote(ctx.control, home, ProductRef(bp.tenant, bp.slug), "staging", actor="alice")
    assert ctx.repository().env_head("staging") is None


def test_knowledge_records_the_whole_chain_and_the_build(build: Build) -> None:
    result = build.run("knowledge")
    assert isinstance(result, KnowledgeResult)
    chain = ["intent", "requirements", "blueprint", "artifacts", "validation", "release", "deployment", "telemetry"]
    assert result.stages == sorted(chain)
    steps = build.ctx.graph().trace(result.trace_id, "acme")  # published once, after the last stage
    assert [s for s in chain if s not in {step.stage for step in steps}] == []
    assert {s.agent for s in steps if s.stage == "blueprint"} == {ARCHITECT.iri}
    control = build.ctx.control
    assert [b.trace_id for b in control.builds("acme")] == [result.trace_id]
    assert control.latest_intent("acme", "helpdesk").status == "built"  # type: ignore[union-attr]
    assert control.product("acme", "helpdesk").status == "built"  # type: ignore[union-attr]
    insights = load_insights(build.home)  # refreshed by the stage, for the architect's next plan
    template = build.results["artifacts"].template  # type: ignore[attr-defined]
    assert insights.builds == 1 and insights.templates[template].builds == 1


def test_every_stage_reuses_its_result_when_nothing_changed(build: Build) -> None:
    commit = build.results["release"].commit  # type: ignore[attr-defined]
    rerun = Build(build.home)
    rerun.ctx = build.ctx
    for stage in STAGES:
        assert rerun.run(stage.name).reused, stage.name
    assert rerun.results["release"].commit == commit  # type: ignore[attr-defined]
    assert [b.trace_id for b in build.ctx.control.builds("acme")] == [build.results["intent"].trace_id]


def test_the_stage_functions_are_the_tables(build: Build) -> None:
    functions = {
        "intent": design.intent,
        "requirements": design.requirements,
        "blueprint": design.blueprint,
        "artifacts": generation.artifacts,
        "validation": generation.validation,
        "release": delivery.release,
        "deployment": delivery.deployment,
        "telemetry": observation.telemetry,
        "knowledge": observation.knowledge,
        "contract": contract_stage.contract,
    }
    assert {s.name: s.run for s in STAGES} == functions
    for stage in STAGES:
        assert stage.result.stage == stage.name
        assert isinstance(build.results[stage.name], stage.result)
        assert stage.doc.strip()
