"""The Dagster definitions load, and the vocabulary assets fill the knowledge graph."""

from __future__ import annotations

from pathlib import Path

from dagster import (
    AssetMaterialization,
    DagsterInstance,
    RunRequest,
    SensorResult,
    build_sensor_context,
    materialize,
)

from assets.definitions import defs
from assets.delivery import knowledge
from assets.design import intent
from assets.resources import ControlPlaneResource, KnowledgeGraphResource
from assets.sensors import after_build, intake
from assets.vocabulary import ontology, pattern_library
from graph import KnowledgeGraph
from infra.control import ControlPlane


def test_definitions_load() -> None:
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"ontology", "pattern_library"} <= keys


def test_vocabulary_assets_load_the_shared_graphs(tmp_path: Path) -> None:
    result = materialize(
        [ontology, pattern_library], resources={"knowledge_graph": KnowledgeGraphResource(home=str(tmp_path))}
    )
    assert result.success
    triples = {
        m.asset_key.to_user_string(): m.metadata["triples"].value
        for m in (e.materialization for e in result.get_asset_materialization_events())
    }
    kg = KnowledgeGraph(tmp_path, embedder=None)
    query = (
        "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT (COUNT(?p) AS ?n) WHERE { ?p a fac:DomainPattern }"
    )
    patterns = kg.sparql(query, tenant="anyone").rows[0][0]
    assert patterns >= 40
    assert triples["pattern_library"] > patterns
    assert triples["ontology"] > 100


def test_the_lifecycle_definitions_load() -> None:
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    lifecycle = ["intent", "requirements", "blueprint", "artifacts", "validation", "release", "deployment"]
    assert {*lifecycle, "telemetry", "knowledge", "template_catalog", "factory_insights"} <= keys
    job = defs.resolve_job_def("lifecycle")
    assert job.partitions_def is not None and job.partitions_def.name == "product"  # type: ignore[attr-defined]
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert checks == {
        "blueprint_conforms",
        "policy",
        "tests_pass",
        "lint_clean",
        "tenant_scoped",
        "contract_holds",
        "deep_contract_holds",
    }
    assert {s.name for s in defs.sensors or []} == {"intake", "build_failures", "after_build", "event_delivery"}
    deep = defs.resolve_job_def("deep_contract")
    assert deep.partitions_def is not None and deep.partitions_def.name == "product"  # type: ignore[attr-defined]
    assert all((a.__doc__ or "").strip() for a in (intent, knowledge))


def test_the_intake_sensor_turns_each_submitted_intent_into_one_run(tmp_path: Path) -> None:
    control = ControlPlane(None, tmp_path)
    first, _ = control.submit_intent("acme", "billing", "An invoicing service for customers")
    other, _ = control.submit_intent("globex", "clinic", "A clinic where patients book appointments")
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(
            instance=instance, resources={"control": ControlPlaneResource(home=str(tmp_path))}
        )
        result = intake(context)
        assert isinstance(result, SensorResult)
        assert sorted(r.partition_key or "" for r in result.run_requests or []) == ["acme.billing", "globex.clinic"]
        assert result.dynamic_partitions_requests[0].partition_keys == ["acme.billing", "globex.clinic"]  # type: ignore[index,union-attr]
        assert {control.intent(first.id or 0).status, control.intent(other.id or 0).status} == {"queued"}
        again = intake(
            build_sensor_context(instance=instance, resources={"control": ControlPlaneResource(home=str(tmp_path))})
        )
        assert isinstance(again, SensorResult) and not again.run_requests


def test_every_finished_build_is_followed_by_one_deep_contract_run() -> None:
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("product", ["acme.helpdesk", "globex.clinic"])

        def tick(cursor: str | None) -> tuple[list[str], str | None]:
            context = build_sensor_context(instance=instance, cursor=cursor)
            requests = [r for r in after_build(context) if isinstance(r, RunRequest)]
            assert all(r.partition_key == "acme.helpdesk" for r in requests), requests
            return [r.run_key or "" for r in requests], context.cursor

        keys, cursor = tick(None)
        assert keys == []  # no build yet
        # a build that reached knowledge (its last stage): one deep contract run of the same product
        instance.report_runless_asset_event(AssetMaterialization("knowledge", partition="acme.helpdesk"))
        instance.report_runless_asset_event(AssetMaterialization("deployment", partition="globex.clinic"))
        first, cursor = tick(cursor)
        assert len(first) == 1 and after_build.job_name == "deep_contract"
        # the cursor moved past it: the same build is not fuzzed twice; the next build is
        keys, cursor = tick(cursor)
        assert keys == []
        instance.report_runless_asset_event(AssetMaterialization("knowledge", partition="acme.helpdesk"))
        keys, cursor = tick(cursor)
        assert len(keys) == 1 and keys != first
