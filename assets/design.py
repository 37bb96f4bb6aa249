"""Lifecycle assets from intent to generated code: intent, requirements, blueprint, artifacts, validation.

Each asset is one product's stage (partition `<tenant>.<product>`), records its PROV activity
in the knowledge graph and reuses its stored result when its inputs did not change.
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    DataVersion,
    Failure,
    MetadataValue,
    Output,
    asset,
)

from assets.resources import ControlPlaneResource, DeliveryResource, GeneratorsResource, KnowledgeGraphResource
from assets.stages import CODE_VERSION, PRODUCTS, StageRun, fingerprint
from generators.agents.analyst import Analyst
from generators.agents.architect import Architect
from generators.agents.engineer import Engineer
from generators.agents.tester import Tester
from generators.blueprint import blueprint_issues, dump_blueprint, load_blueprint, parse_blueprint, shacl_issues
from generators.pipeline import Analysis
from generators.policy import policy_findings
from graph.provenance import AgentRef, record_activity
from infra.insights import load_insights
from infra.workspace import tree_digest
from ontology.errors import InvalidInputError
from ontology.models import Blueprint, Intent, Requirements
from ontology.namespaces import FAC
from ontology.refs import new_trace_id

__all__ = ["artifacts", "blueprint", "intent", "requirements", "validation"]

_COMMON: dict[str, Any] = {
    "partitions_def": PRODUCTS,
    "group_name": "lifecycle",
    "code_version": CODE_VERSION,
    "io_manager_key": "workspace_io",
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ref(agent: type[Analyst] | type[Architect] | type[Engineer] | type[Tester]) -> AgentRef:
    return AgentRef(agent.name, agent.version, agent.role)


def _output(value: dict[str, Any], **metadata: Any) -> Output[dict[str, Any]]:
    meta = {"trace_id": value["trace_id"], "reused": value.get("reused", False), **metadata}
    return Output(value, data_version=DataVersion(value["fingerprint"]), metadata=meta)


@asset(**_COMMON)
def intent(
    context: AssetExecutionContext,
    control: ControlPlaneResource,
    delivery: DeliveryResource,
    knowledge_graph: KnowledgeGraphResource,
) -> Output[dict[str, Any]]:
    """The business intent submitted for this product (its latest revision), with the build's trace id.

    Every later stage carries this trace id; a changed intent starts a new revision and a new trace.
    """
    stage = StageRun(context, control, delivery, knowledge_graph)
    record = stage.control.latest_intent(stage.tenant, stage.product)
    if record is None or record.id is None:
        raise Failure(f"no intent submitted for {stage.tenant}/{stage.product}: submit one with factory build")
    trace_id = record.trace_id or new_trace_id()
    stage.control.set_intent_status(record.id, "building", trace_id=trace_id, run_id=context.run_id)
    fp = fingerprint(CODE_VERSION, record.id, record.revision, record.text, record.blueprint_yaml, trace_id)
    with stage.running(trace_id):
        out = stage.previous(fp)
        if out is None:
            earlier = stage.workspace.load_output("intent")
            if earlier is None or earlier.get("trace_id") != trace_id:
                stage.workspace.clear_facts()  # a new revision: the old build's facts are replaced
            f = stage.workspace.facts(trace_id)
            text = record.text or "(a blueprint was submitted)"
            product = f.product_node(stage.product, text, record.revision)
            f.link(product, FAC.hasIntent, f.intent(Intent(text=text, tenant=stage.tenant, product=stage.product)))
            stage.record(f)
            out = {
                "tenant": stage.tenant,
                "product": stage.product,
                "intent_id": record.id,
                "revision": record.revision,
                "text": record.text,
                "blueprint_yaml": record.blueprint_yaml,
                "trace_id": trace_id,
                "fingerprint": fp,
            }
    return _output(out, revision=record.revision, intent=MetadataValue.md(record.text[:500] or "(blueprint)"))


@asset(**_COMMON)
def requirements(
    context: AssetExecutionContext,
    intent: dict[str, Any],
    control: ControlPlaneResource,
    delivery: DeliveryResource,
    generators: GeneratorsResource,
    knowledge_graph: KnowledgeGraphResource,
) -> Output[dict[str, Any]]:
    """What the analyst understood from the intent: entities, attributes, relationships, features and SLOs.

    A submitted blueprint skips the analysis. Findings come from the pattern library and past products.
    """
    stage = StageRun(context, control, delivery, knowledge_graph, ["intent"])
    trace_id = intent["trace_id"]
    fp = fingerprint(CODE_VERSION, intent["fingerprint"])
    with stage.running(trace_id):
        out = stage.previous(fp)
        if out is None:
            started = _now()
            f = stage.workspace.facts(trace_id)
            text = intent["text"] or "(a blueprint was submitted)"
            found: Requirements | None = None
            source, fallback = "blueprint", None
            if not intent["blueprint_yaml"]:
                analysis = generators.planner().analyse(intent["text"], stage.tenant)
                found, source, fallback = analysis.requirements, analysis.source, analysis.fallback
            statements = found.statements() if found else []
            intent_iri = f.intent(Intent(text=text, tenant=stage.tenant, product=stage.product), statements)
            record_activity(
                f,
                "analysis",
                _ref(Analyst),
                started,
                _now(),
                used=[intent_iri],
                generated=[f.iri("requirement", str(i)) for i in range(len(statements))],
            )
            stage.record(f)
            out = {
                "requirements": found.model_dump(mode="json") if found else None,
                "statements": [s.statement for s in statements],
                "source": source,
                "fallback": fallback,
                "trace_id": trace_id,
                "fingerprint": fp,
            }
    return _output(out, statements=len(out["statements"]), source=out["source"])


def _checks(value: dict[str, Any], specs: dict[str, str]) -> Iterator[AssetCheckResult]:
    for name, description in specs.items():
        issues = value["checks"][name]
        yield AssetCheckResult(
            check_name=name,
            passed=not issues,
            severity=AssetCheckSeverity.ERROR,
            description=description,
            metadata={"issues": MetadataValue.md("\n".join(f"- {i}" for i in issues[:50]) or "none")},
        )


_BLUEPRINT_CHECKS = {
    "blueprint_conforms": "The blueprint satisfies the SHACL shapes and the cross-reference rules.",
    "policy": "Attributes that hold personal data are flagged pii.",
}


@asset(
    **_COMMON,
    check_specs=[AssetCheckSpec(name, asset="blueprint", blocking=True) for name in _BLUEPRINT_CHECKS],
)
def blueprint(
    context: AssetExecutionContext,
    intent: dict[str, Any],
    requirements: dict[str, Any],
    control: ControlPlaneResource,
    delivery: DeliveryResource,
    generators: GeneratorsResource,
    knowledge_graph: KnowledgeGraphResource,
) -> Iterator[Output[dict[str, Any]] | AssetCheckResult]:
    """The product's blueprint: bounded contexts, entities, attributes, relationships, features and SLOs.

    Designed by the architect from the requirements, the pattern library and similar past products
    (or taken from a submitted blueprint); checked against the SHACL shapes and the factory policy.
    """
    stage = StageRun(context, control, delivery, knowledge_graph, ["intent", "requirements"])
    trace_id = intent["trace_id"]
    fp = fingerprint(CODE_VERSION, requirements["fingerprint"])
    with stage.running(trace_id):
        out = stage.previous(fp)
        if out is None:
            started = _now()
            used: list[str] = []
            notes: list[str] = []
            if intent["blueprint_yaml"]:
                bp = load_blueprint(intent["blueprint_yaml"])
                if (bp.tenant, bp.slug) != (stage.tenant, stage.product):
                    raise InvalidInputError(
                        f"the blueprint is for {bp.tenant}/{bp.slug}, not {stage.tenant}/{stage.product}"
                    )
            else:
                analysis = Analysis(
                    Requirements.model_validate(requirements["requirements"]),
                    requirements["source"],
                    requirements["fallback"],
                )
                outcomes = load_insights(delivery.root).patterns
                proposal = generators.planner().design(analysis, stage.tenant, stage.product, outcomes)
                bp, used, notes = proposal.blueprint, proposal.used, proposal.notes
            stage.workspace.blueprint_path.parent.mkdir(parents=True, exist_ok=True)
            stage.workspace.blueprint_path.write_text(dump_blueprint(bp))
            f = stage.workspace.facts(trace_id)
            bp_iri = f.blueprint(bp)
            f.link(f.iri("product"), FAC.hasBlueprint, bp_iri)
            record_activity(
                f,
                "design",
                _ref(Architect),
                started,
                _now(),
                used=[f.iri("intent"), *used],
                generated=[bp_iri],
                informed_by=f.iri("activity", "analysis"),
            )
            stage.record(f)
            out = {
                "blueprint": bp.model_dump(mode="json"),
                "hash": bp.hash,
                "notes": notes,
                "used": used,
                "checks": {
                    "blueprint_conforms": blueprint_issues(bp) + shacl_issues(bp),
                    "policy": policy_findings(bp),
                },
                "trace_id": trace_id,
                "fingerprint": fp,
            }
    yield _output(
        out,
        entities=len(out["blueprint"]["entities"]),
        relationships=len(out["blueprint"]["relationships"]),
        blueprint_hash=out["hash"],
        path=MetadataValue.path(str(stage.workspace.blueprint_path)),
    )
    yield from _checks(out, _BLUEPRINT_CHECKS)


def _blueprint(value: dict[str, Any]) -> Blueprint:
    return parse_blueprint(value["blueprint"])


@asset(**_COMMON)
def artifacts(
    context: AssetExecutionContext,
    blueprint: dict[str, Any],
    control: ControlPlaneResource,
    delivery: DeliveryResource,
    generators: GeneratorsResource,
    knowledge_graph: KnowledgeGraphResource,
) -> Output[dict[str, Any]]:
    """The product's source tree, rendered from the blueprint with a versioned template pack.

    Service code, tests, Dockerfile, Kubernetes manifests per environment, CI workflow and README;
    the same blueprint and pack version always give byte-identical files.
    """
    stage = StageRun(context, control, delivery, knowledge_graph, ["blueprint"])
    trace_id = blueprint["trace_id"]
    pack = generators.template_pack()
    fp = fingerprint(CODE_VERSION, blueprint["fingerprint"], pack)
    render_dir = stage.workspace.render_dir
    with stage.running(trace_id):
        out = stage.previous(fp, lambda old: tree_digest(render_dir, old["files"]) == old["tree_hash"])
        if out is None:
            started = _now()
            bp = _blueprint(blueprint)
            result = generators.engineer().render(bp, stage.workspace.reset_render(), trace_id, pack)
            f = stage.workspace.facts(trace_id)
            pack_iri = f.template_pack(result.pack, result.version)
            files = f.artifacts(((x.path, x.sha256, x.size) for x in result.files), f.iri("blueprint"), pack_iri)
            record_activity(
                f,
                "generation",
                _ref(Engineer),
                started,
                _now(),
                used=[f.iri("blueprint"), pack_iri],
                generated=files,
                informed_by=f.iri("activity", "design"),
            )
            stage.record(f)
            listing = [x.path for x in result.files]
            out = {
                "dir": str(render_dir),
                "template": f"{result.pack}@{result.version}",
                "files": listing,
                "bytes": sum(x.size for x in result.files),
                "tree_hash": tree_digest(render_dir, listing),
                "trace_id": trace_id,
                "fingerprint": fp,
            }
    return _output(
        out,
        files=len(out["files"]),
        bytes=out["bytes"],
        template=out["template"],
        path=MetadataValue.path(out["dir"]),
    )


_VALIDATION_CHECKS = {
    "tests_pass": "The product's own test suite passes.",
    "lint_clean": "ruff finds nothing in the generated code.",
    "tenant_scoped": "Every generated table is scoped by tenant_id.",
}


@asset(
    **_COMMON,
    check_specs=[AssetCheckSpec(name, asset="validation", blocking=True) for name in _VALIDATION_CHECKS],
)
def validation(
    context: AssetExecutionContext,
    blueprint: dict[str, Any],
    artifacts: dict[str, Any],
    control: ControlPlaneResource,
    delivery: DeliveryResource,
    generators: GeneratorsResource,
    knowledge_graph: KnowledgeGraphResource,
) -> Iterator[Output[dict[str, Any]] | AssetCheckResult]:
    """The validation report: the generated test suite's results, lint findings and the tenant-scoping policy.

    A failing check blocks the release.
    """
    stage = StageRun(context, control, delivery, knowledge_graph, ["blueprint", "artifacts"])
    trace_id = artifacts["trace_id"]
    fp = fingerprint(CODE_VERSION, artifacts["fingerprint"], artifacts["tree_hash"])
    with stage.running(trace_id):
        out = stage.previous(fp)
        if out is None:
            started = _now()
            root = stage.workspace.render_dir
            report = generators.tester().test(root, timeout_s=generators.test_timeout_s)
            tenancy = policy_findings(_blueprint(blueprint), root)
            f = stage.workspace.facts(trace_id)
            passed = report.ok and not tenancy
            report_iri = f.validation(
                f.iri("blueprint"), passed, report.passed, report.failed + report.errors, len(report.lint)
            )
            record_activity(
                f,
                "validation",
                _ref(Tester),
                started,
                _now(),
                used=[f.iri("artifact", str(i)) for i in range(len(artifacts["files"]))],
                generated=[report_iri],
                informed_by=f.iri("activity", "generation"),
            )
            stage.record(f)
            broken = report.failed or report.errors or report.timed_out or not report.passed
            failing = [report.output[-2000:] or "the test suite failed"] if broken else []
            out = {
                "passed": report.passed,
                "failed": report.failed,
                "errors": report.errors,
                "skipped": report.skipped,
                "duration_s": report.duration_s,
                "lint": [f"{x.path}:{x.line} {x.code} {x.message}" for x in report.lint],
                "ok": passed,
                "checks": {
                    "tests_pass": failing,
                    "lint_clean": [f"{x.path}:{x.line} {x.code} {x.message}" for x in report.lint],
                    "tenant_scoped": tenancy,
                },
                "trace_id": trace_id,
                "fingerprint": fp,
            }
    yield _output(
        out,
        tests_passed=out["passed"],
        tests_failed=out["failed"] + out["errors"],
        lint_findings=len(out["lint"]),
        duration_s=out["duration_s"],
    )
    yield from _checks(out, _VALIDATION_CHECKS)
