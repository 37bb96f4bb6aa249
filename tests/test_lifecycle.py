"""The whole lifecycle through the real command line: Dagster runs, git, the local runtime, telemetry, lineage.

One factory home serves the module: the tests build on each other in order (first build,
no-op rebuild, changed intent, people's edits, promotion), as a product's life would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from generators.packs import load_pack
from graph import KnowledgeGraph
from infra import runtime
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from infra.insights import load_insights
from infra.lineage import read_events, validate_event
from tests.product_blueprints import clinic

pytestmark = pytest.mark.slow(minutes=6)

FACTORY = str(Path(sys.executable).with_name("factory"))
HELPDESK = "A helpdesk where customers open support tickets."
HELPDESK_V2 = "A helpdesk where customers open support tickets and add comments to them."
HELPDESK_V3 = "A helpdesk where customers open support tickets, add comments to them and receive notifications."
HELPDESK_V4 = f"{HELPDESK_V3[:-1]} by email."
STAGES = ["intent", "requirements", "blueprint", "artifacts", "validation", "release", "deployment", "telemetry"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The module's factory home; every service it deployed is stopped at the end."""
    root = tmp_path_factory.mktemp("lifecycle") / "home"
    yield root
    if (root / "control.db").exists():
        for d in ControlPlane(None, root).deployments(None):
            if d.pid and d.workdir:
                runtime.stop(d.pid, Path(d.workdir))


@pytest.fixture
def env(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("FACTORY_HOME", str(home))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return {**os.environ, "FACTORY_HOME": str(home)}


def factory(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FACTORY, *args], env=env, capture_output=True, text=True, timeout=timeout)


def build(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    run = factory(env, "build", *args, "--json")
    assert run.stdout.strip(), run.stderr[-3000:]
    return run.returncode, json.loads(run.stdout)


def kg(home: Path) -> KnowledgeGraph:
    return KnowledgeGraph(home, embedder=None)


def activities(home: Path, tenant: str, trace_id: str) -> dict[str, int]:
    rows = (
        kg(home)
        .sparql(
            "PREFIX fac: <https://softwarefactory.dev/ontology#> "
            "SELECT ?trace ?stage (COUNT(DISTINCT ?a) AS ?n) (COUNT(?start) AS ?starts) WHERE { "
            "?a fac:traceId ?trace ; fac:stage ?stage ; <http://www.w3.org/ns/prov#startedAtTime> ?start } "
            "GROUP BY ?trace ?stage",
            tenant,
            {"trace": trace_id},
        )
        .rows
    )
    return {str(stage): int(starts) for _, stage, _, starts in rows}


def test_an_intent_becomes_a_running_traced_service(env: dict[str, str], home: Path) -> None:
    code, s = build(env, HELPDESK, "--tenant", "acme", "--product", "helpdesk")
    assert code == 0, s
    assert s["success"] and s["revision"] == 1 and s["new_commit"]
    assert s["stages"] == dict.fromkeys([*STAGES, "knowledge"], "done")  # the deep contract run follows, on its own
    assert s["checks"] == {
        "blueprint_conforms": True,
        "policy": True,
        "tests_pass": True,
        "lint_clean": True,
        "tenant_scoped": True,
        "contract_holds": True,
    }
    assert s["tests"]["passed"] > 0 and s["tests"]["failed"] == 0
    # the service runs and answers
    assert httpx.get(s["service_url"] + "/health", timeout=5).status_code == 200
    deployed = ControlPlane(None, home).deployment("acme", "helpdesk")
    assert deployed is not None and runtime.alive(s["pid"], Path(deployed.workdir or ""))
    # the commit carries the trailers, the bare remote's env/dev points at it
    repo = ProductRepository(home, "acme", "helpdesk")
    trailers = repo.trailers(s["commit"])
    assert trailers["Factory-Trace-Id"] == s["trace_id"]
    assert (
        trailers["Template"] == f"fastapi-service@{load_pack('fastapi-service').version}"
        and len(trailers["Blueprint-Hash"]) == 64
    )
    assert repo.env_head("dev") == s["commit"]
    assert (repo.path / "deploy/k8s/overlays/prod/kustomization.yaml").is_file()
    # one trace links the whole chain in the graph, each stage's activity recorded once
    chain = {step.stage for step in kg(home).trace(s["trace_id"], "acme")}
    assert set(STAGES) <= chain, chain
    assert activities(home, "acme", s["trace_id"]) == dict.fromkeys(
        ["analysis", "design", "generation", "validation", "release", "deployment", "observation"], 1
    )
    # telemetry per route, recorded as signals of the deployment
    assert s["slo"]["p95_ms"] >= s["slo"]["p50_ms"] > 0
    signals = kg(home).cypher("MATCH (t:TelemetrySignal) RETURN count(t)", "acme").rows[0][0]
    assert signals >= 8
    # the control database knows the product and the build
    control = ControlPlane(None, home)
    product = control.product("acme", "helpdesk")
    assert product is not None and product.status == "built" and product.trace_id == s["trace_id"]
    assert [b.trace_id for b in control.builds("acme")] == [s["trace_id"]]


def test_every_materialization_emitted_valid_openlineage_events(env: dict[str, str], home: Path) -> None:
    events = read_events(home)
    assert events
    for event in events:
        validate_event(event)
    by_job: dict[str, list[str]] = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], []).append(event["eventType"])
        assert event["run"]["facets"]["factory"]["traceId"]
    for stage in [*STAGES, "knowledge"]:
        assert by_job[stage][:2] == ["START", "COMPLETE"], (stage, by_job.get(stage))
    release = next(e for e in events if e["job"]["name"] == "release" and e["eventType"] == "COMPLETE")
    assert release["outputs"][0]["namespace"] == "factory://acme/helpdesk"
    assert {d["name"] for d in release["inputs"]} == {"artifacts", "validation"}


def test_the_runs_are_in_the_dagster_instance(env: dict[str, str], home: Path) -> None:
    from dagster import DagsterInstance

    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    instance = DagsterInstance.get()
    runs = instance.get_runs()
    assert [r.job_name for r in runs] == ["lifecycle"]  # a build is one run: its knowledge stage refreshes the insights
    assert runs[0].tags["dagster/partition"] == "acme.helpdesk"
    assert load_insights(home).builds == 1
    assert instance.get_dynamic_partitions("product") == ["acme.helpdesk"]
    assert instance.get_latest_materialization_event(__import__("dagster").AssetKey("deployment")) is not None


def test_an_unchanged_rebuild_does_no_work(env: dict[str, str], home: Path) -> None:
    repo = ProductRepository(home, "acme", "helpdesk")
    before = (repo.head(), len(repo.history()), kg(home).stats()["triples"])
    first = ControlPlane(None, home).deployment("acme", "helpdesk")
    env = {**env, "OPENLINEAGE_URL": "http://127.0.0.1:9"}  # a lineage outage never fails a build
    code, s = build(env, HELPDESK, "--tenant", "acme", "--product", "helpdesk")
    assert code == 0, s
    assert not s["new_commit"] and not s["restarted"]
    assert (repo.head(), len(repo.history()), kg(home).stats()["triples"]) == before
    assert first is not None and s["pid"] == first.pid
    assert len(ControlPlane(None, home).builds("acme")) == 1


def test_a_changed_intent_builds_a_new_revision_with_a_diff(env: dict[str, str], home: Path) -> None:
    control = ControlPlane(None, home)
    old = control.deployment("acme", "helpdesk")
    old_trace = control.product("acme", "helpdesk").trace_id  # type: ignore[union-attr]
    code, s = build(env, HELPDESK_V2, "--tenant", "acme", "--product", "helpdesk")
    assert code == 0, s
    assert s["revision"] == 2 and s["trace_id"] != old_trace and s["new_commit"]
    repo = ProductRepository(home, "acme", "helpdesk")
    diff = repo.diff("r1", "r2")
    assert "+++ b/app/api/routers/comment.py" in diff
    # the new revision replaced the old service: new pid, old one gone, the new one healthy
    assert old is not None and old.pid != s["pid"]
    assert not runtime.alive(old.pid or 0, Path(old.workdir or ""))
    tokens = runtime.LocalRuntime(home).tokens("acme-helpdesk-dev")
    comments = s["service_url"] + "/comments"
    assert httpx.get(comments, headers=tokens.headers("acme"), timeout=5).status_code == 200
    assert httpx.get(comments, headers={"X-Tenant-ID": "acme"}, timeout=5).status_code == 401  # a token is needed
    viewer = factory(env, "deployments", "token", "acme/helpdesk", "--role", "viewer")
    assert viewer.returncode == 0 and len(viewer.stdout.splitlines()) == 1, viewer.stderr
    as_viewer = {"Authorization": f"Bearer {viewer.stdout.strip()}"}
    assert httpx.get(comments, headers=as_viewer, timeout=5).status_code == 200
    assert httpx.post(comments, json={}, headers=as_viewer, timeout=5).status_code == 403  # a viewer may not create
    unknown = factory(env, "deployments", "token", "acme/helpdesk", "--role", "owner")
    assert unknown.returncode != 0 and "no role owner" in unknown.stderr and unknown.stdout == ""
    # the product's graph holds the new build only
    assert kg(home).trace(old_trace or "", "acme") == []
    assert activities(home, "acme", s["trace_id"])["design"] == 1
    # and the property graph is in step with it, from the intent on
    rdf = kg(home).trace(s["trace_id"], "acme")
    assert rdf[0].stage == "intent"
    assert kg(home).trace(s["trace_id"], "acme", engine="kuzu") == rdf


def test_a_persons_edit_survives_a_rebuild_and_a_conflict_stops_the_release(env: dict[str, str], home: Path) -> None:
    repo = ProductRepository(home, "acme", "helpdesk")
    readme = repo.path / "README.md"
    readme.write_text(readme.read_text() + "\nRun books live in the ops wiki.\n")
    repo.repo.index.add(["README.md"])
    repo.repo.index.commit("Point to the run books")
    code, s = build(env, HELPDESK_V3, "--tenant", "acme", "--product", "helpdesk")
    assert code == 0, s
    assert "Run books live in the ops wiki." in readme.read_text()
    assert "README.md" in json.loads((home / "products/acme/helpdesk/outputs/release.json").read_text())["kept_edits"]
    # a person changes a line the generator changes next time: the build stops with a report
    config = repo.path / "app/config.py"
    config.write_text(config.read_text().replace("FACTORY_TRACE_ID = ", "FACTORY_TRACE_ID = 'pinned by hand' or "))
    repo.repo.index.add(["app/config.py"])
    repo.repo.index.commit("Hand-tuned description")
    head = repo.head()
    # (going back to the first intent would drop the comments and notifications: refused before any release)
    code, s = build(env, HELPDESK, "--tenant", "acme", "--product", "helpdesk")
    assert code == 1 and s["stages"]["artifacts"] == "failed" and "allow_data_loss" in s["error"], s
    code, s = build(env, HELPDESK_V4, "--tenant", "acme", "--product", "helpdesk")
    assert code == 1 and not s["success"]
    assert s["stages"]["release"] == "failed" and s["stages"]["deployment"] == "skipped"
    assert "app/config.py" in s["error"]
    assert repo.head() == head
    assert ControlPlane(None, home).latest_intent("acme", "helpdesk").status == "failed"  # type: ignore[union-attr]
    # putting the generated line back lets the same build through
    subprocess.run(["git", "revert", "--no-edit", "HEAD"], cwd=repo.path, check=True, capture_output=True, env=env)
    code, s = build(env, HELPDESK_V4, "--tenant", "acme", "--product", "helpdesk")
    assert code == 0, s


def test_staging_waits_for_factory_contract_and_prod_for_a_recorded_approval(
    env: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = ProductRepository(home, "acme", "helpdesk")
    dev = repo.env_head("dev") or ""
    # no daemon here: the deep contract run that follows a build under `factory up` has not run
    waiting = factory(env, "promote", "acme/helpdesk", "--env", "staging")
    assert waiting.returncode == 2 and repo.env_head("staging") is None
    assert f"no deep contract run of {dev[:7]} yet: run `factory contract acme/helpdesk`" in waiting.stderr
    deep = factory(env, "contract", "acme/helpdesk")
    assert deep.returncode == 0, deep.stdout + deep.stderr
    assert f"acme/helpdesk at {dev[:12]}: contract (deep):" in deep.stdout and "0 failures" in deep.stdout
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    runs = __import__("dagster").DagsterInstance.get().get_runs(limit=1)  # the run is in the factory's instance
    assert runs[0].job_name == "deep_contract" and runs[0].tags["dagster/partition"] == "acme.helpdesk"
    assert ControlPlane(None, home).product("acme", "helpdesk").stage_map()["contract"] == "done"  # type: ignore[union-attr]
    run = factory(env, "promote", "helpdesk", "--tenant", "acme", "--env", "staging")
    assert run.returncode == 0, run.stderr
    assert repo.env_head("staging") == repo.env_head("dev")
    refused = factory(env, "promote", "helpdesk", "--tenant", "acme", "--env", "prod")
    assert refused.returncode == 2 and "approval" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert repo.env_head("prod") is None
    control = ControlPlane(None, home)
    assert any(e.action == "promote" and e.outcome == "refused" for e in control.audit_log("acme"))
    no_reason = factory(env, "approve", "helpdesk", "--tenant", "acme", "--env", "prod")
    assert no_reason.returncode == 2
    ok = factory(env, "approve", "helpdesk", "--tenant", "acme", "--env", "prod", "--reason", "change board 42")
    assert ok.returncode == 0, ok.stderr
    run = factory(env, "promote", "helpdesk", "--tenant", "acme", "--env", "prod")
    assert run.returncode == 0, run.stderr
    assert repo.env_head("prod") == repo.env_head("staging")


def _blueprint_file(tmp_path: Path, tenant: str, slug: str) -> Path:
    bp = clinic().model_copy(update={"tenant": tenant, "slug": slug})
    path = tmp_path / f"{slug}.yaml"
    path.write_text(yaml.safe_dump(bp.model_dump(mode="json"), sort_keys=False))
    return path


def test_a_build_killed_midway_completes_when_run_again(env: dict[str, str], home: Path, tmp_path: Path) -> None:
    blueprint = _blueprint_file(tmp_path, "globex", "clinic")
    command = [FACTORY, "build", "--tenant", "globex", "--blueprint", str(blueprint), "--json"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    control = ControlPlane(None, home)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # kill it once the generated tests are running
        record = control.product("globex", "clinic")
        if record is not None and record.stage_map().get("artifacts") == "done":
            break
        time.sleep(0.2)
    time.sleep(2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    code, s = build(env, "--tenant", "globex", "--blueprint", str(blueprint))
    assert code == 0, s
    assert activities(home, "globex", s["trace_id"]) == dict.fromkeys(
        ["analysis", "design", "generation", "validation", "release", "deployment", "observation"], 1
    )
    repo = ProductRepository(home, "globex", "clinic")
    assert [c for c in repo.history() if c.trailers.get("Factory-Trace-Id")] and len(repo.history()) <= 3
    assert [b.trace_id for b in control.builds("globex")] == [s["trace_id"]]
    assert control.product("globex", "clinic").status == "built"  # type: ignore[union-attr]
    takeovers = [e for e in control.audit_log("globex") if e.action == "intent.takeover"]
    assert len(takeovers) == 1 and "held by cli that is gone" in takeovers[0].detail  # the killed build's claim
    # tenants see their own products only
    listed = json.loads(factory(env, "products", "list", "--tenant", "globex", "--json").stdout)
    assert [p["product"] for p in listed] == ["clinic"]


def test_a_blocking_check_stops_a_product_before_release(env: dict[str, str], home: Path, tmp_path: Path) -> None:
    bp = clinic().model_copy(update={"tenant": "initech", "slug": "leaky"})
    data = bp.model_dump(mode="json")
    for entity in data["entities"]:
        for attr in entity["attributes"]:
            attr["pii"] = False  # personal data left unflagged breaks the policy
    path = tmp_path / "leaky.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, s = build(env, "--tenant", "initech", "--blueprint", str(path))
    assert code == 1 and s["checks"]["policy"] is False
    assert s["stages"]["artifacts"] == "skipped" and s["stages"]["release"] == "skipped"
    assert not ProductRepository(home, "initech", "leaky").path.joinpath(".git").exists() or (
        ProductRepository(home, "initech", "leaky").env_head("dev") is None
    )
    assert ControlPlane(None, home).latest_intent("initech", "leaky").status == "failed"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["", "--tenant", "acme"], "give an intent"),
        (["a shop", "--tenant", "../etc"], "invalid tenant"),
        (["a shop", "--tenant", "acme", "--product", "Bad Name"], "invalid product"),
        (["x" * 30_000, "--tenant", "acme", "--product", "big"], "30000 characters"),
        (["--tenant", "acme", "--blueprint", "/nonexistent.yaml"], "no such blueprint"),
        (["a shop", "--tenant", "acme", "--executor", "threads"], "unknown executor"),
    ],
)
def test_bad_build_input_gets_one_line_and_stores_nothing(
    env: dict[str, str], home: Path, args: list[str], message: str
) -> None:
    before = len(ControlPlane(None, home).intents())
    run = factory(env, "build", *args)
    assert run.returncode == 2
    assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert len(ControlPlane(None, home).intents()) == before


def test_deployments_can_be_listed_and_stopped(env: dict[str, str], home: Path) -> None:
    listed = json.loads(factory(env, "deployments", "list", "--json").stdout)
    assert {(d["tenant"], d["product"], d["status"]) for d in listed} >= {("acme", "helpdesk", "running")}
    run = factory(env, "deployments", "stop", "helpdesk", "--tenant", "acme")
    assert run.returncode == 0, run.stderr
    record = ControlPlane(None, home).deployment("acme", "helpdesk")
    assert record is not None and record.status == "stopped"
    assert not runtime.alive(record.pid or 0, Path(record.workdir or ""))
    assert factory(env, "deployments", "stop", "--all").returncode == 0
    assert all(d.status == "stopped" for d in ControlPlane(None, home).deployments(None))


def test_a_rebuild_named_tenant_slash_product_starts_the_stopped_service_again(env: dict[str, str], home: Path) -> None:
    control = ControlPlane(None, home)
    latest = control.latest_intent("acme", "helpdesk")
    assert latest is not None and latest.id is not None
    run = factory(env, "rebuild", "acme/helpdesk", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    s = json.loads(run.stdout)
    assert s["success"] and s["revision"] == latest.revision and s["trace_id"] == latest.trace_id
    assert not s["new_commit"] and s["restarted"]  # the release is reused; the stopped service starts again
    assert httpx.get(s["service_url"] + "/health", timeout=5).status_code == 200
    intent = control.intent(latest.id)
    assert intent.status == "built" and (intent.claim or "").startswith("cli:")
    assert [e.outcome for e in control.audit_log("acme") if e.action == "intent.rebuild"] == ["ok"]
    stopped = factory(env, "deployments", "stop", "acme/helpdesk")
    assert stopped.returncode == 0 and "stopped acme/helpdesk" in stopped.stdout, stopped.stderr
