"""The design stages: the submitted intent, the analyst's requirements and the architect's blueprint."""

from __future__ import annotations

from generators.agents.warm_interpreter import warm_interpreter
from generators.blueprint import blueprint_issues, dump_blueprint, load_blueprint, shacl_issues
from generators.finding_rules import Applied, Change, apply_findings
from generators.policy import policy_findings
from graph.decisions import past_decisions
from infra.gitops import GENERATED_BRANCH
from infra.insights import load_insights
from infra.lifecycle.bookkeeping import CODE_VERSION, StageRun, fingerprint, now
from infra.lifecycle.context import StageContext
from infra.lifecycle.findings import design_findings
from infra.lifecycle.results import BlueprintResult, IntentResult, RequirementsResult
from infra.records import IntentRecord
from ontology.errors import InvalidInputError, NotFoundError
from ontology.findings import Finding
from ontology.models import Blueprint, OpenQuestion, Requirements
from ontology.refs import new_trace_id

__all__ = ["BLUEPRINT_CHECKS", "blueprint", "intent", "requirements"]

BLUEPRINT_CHECKS = {
    "blueprint_conforms": "The blueprint satisfies the SHACL shapes and the cross-reference rules.",
    "policy": "Attributes that hold personal data are flagged pii.",
}
"""The blueprint's blocking checks: name -> what it checks."""


def _claimed_intent(ctx: StageContext) -> IntentRecord:
    """The intent the build claimed (`ctx.intent_id`), else the product's latest one."""
    if ctx.intent_id is None:
        record = ctx.control.latest_intent(ctx.tenant, ctx.product)
        if record is None or record.id is None:
            raise NotFoundError(f"no intent submitted for {ctx.tenant}/{ctx.product}: submit one with factory build")
        return record
    record = ctx.control.intent(ctx.intent_id)
    if (record.tenant, record.product) != (ctx.tenant, ctx.product):
        raise InvalidInputError(f"intent {ctx.intent_id} is for {record.tenant}/{record.product}, not {ctx.ref}")
    return record


def intent(ctx: StageContext) -> IntentResult:
    """The business intent this build claimed (without a claim: the latest revision), with the build's trace id.

    Every later stage carries this trace id; a changed intent starts a new revision and a new trace.
    """
    stage = StageRun(ctx, "intent")
    record = _claimed_intent(ctx)
    assert record.id is not None  # a stored record has its id
    trace_id = record.trace_id or new_trace_id()
    ctx.control.set_intent_status(record.id, "building", trace_id=trace_id, run_id=ctx.run_id)
    fp = fingerprint(CODE_VERSION, record.id, record.revision, record.text, record.blueprint_yaml, trace_id)
    with stage.running(trace_id):
        old = stage.previous(fp, IntentResult)
        if old is not None:
            return old
        earlier = ctx.workspace.load_output("intent")
        if earlier is None or earlier.get("trace_id") != trace_id:
            ctx.workspace.clear_facts()  # a new revision: the old build's facts are replaced
        rec = stage.recorder(trace_id)
        rec.intent(ctx.product, record.text or "(a blueprint was submitted)", record.revision)
        stage.record(rec.facts)
        return stage.keep(
            IntentResult(
                tenant=ctx.tenant,
                product=ctx.product,
                intent_id=record.id,
                revision=record.revision,
                text=record.text,
                blueprint_yaml=record.blueprint_yaml,
                trace_id=trace_id,
                fingerprint=fp,
            )
        )


def released(ctx: StageContext) -> bool:
    """Whether the product has a release: a rendered revision (a commit with its trace) on its generated branch."""
    if not ctx.has_repository():  # a product never released has none; asking must not create it
        return False
    repo = ctx.repository()
    head = repo.head(GENERATED_BRANCH)
    return head is not None and "Factory-Trace-Id" in repo.trailers(head)


def _finding_keys(findings: list[Finding | Applied]) -> list[tuple[str, str | None]]:
    return [(f.id, f.entity) if isinstance(f, Finding) else (f.finding.id, f.entity) for f in findings]


def _decisions(ctx: StageContext) -> list[tuple[str, str, str]]:
    """The tenant's decisions on open questions (kind, subject, choice), oldest first, as the planner applies them."""
    return [(str(d.kind), d.subject, d.choice) for d in past_decisions(ctx.graph(), ctx.tenant)]


def requirements(ctx: StageContext, intent: IntentResult) -> RequirementsResult:
    """What the analyst understood from the intent: entities, attributes, relationships, features and SLOs.

    A submitted blueprint skips the analysis. Findings come from the pattern library and past products;
    the tenant's recorded decisions settle its open questions (a new decision makes the stage run again).
    """
    stage = StageRun(ctx, "requirements")
    decided = _decisions(ctx) if not intent.blueprint_yaml else []
    # the tenant's decisions settle the analyst's open questions: a new decision re-plans the product
    fp = fingerprint(CODE_VERSION, intent.fingerprint, *([decided] if decided else []))
    with stage.running(intent.trace_id):
        old = stage.previous(fp, RequirementsResult)
        if old is not None:
            return old
        warm_interpreter()  # the validation's tools load in the background while the product is designed
        started = now()
        found: Requirements | None = None
        source, fallback = "blueprint", None
        if not intent.blueprint_yaml:
            analysis = ctx.planner().analyse(intent.text, ctx.tenant)
            found, source, fallback = analysis.requirements, analysis.source, analysis.fallback
        statements = found.statements() if found else []
        rec = stage.recorder(intent.trace_id)
        rec.requirements(statements, started, now())
        stage.record(rec.facts)
        return stage.keep(
            RequirementsResult(
                requirements=found,
                statements=[s.statement for s in statements],
                source=source,
                fallback=fallback,
                trace_id=intent.trace_id,
                fingerprint=fp,
            )
        )


def blueprint(ctx: StageContext, intent: IntentResult, requirements: RequirementsResult) -> BlueprintResult:
    """The product's blueprint: bounded contexts, entities, attributes, relationships, features and SLOs.

    Designed by the architect from the requirements, the pattern library and similar past products
    (or taken from a submitted blueprint), then changed by what the product's running deployment showed
    (its findings: an index for a slow filter, questions for the owner, ...); checked against the SHACL
    shapes and the factory policy.
    """
    stage = StageRun(ctx, "blueprint")
    trace_id = intent.trace_id
    path = ctx.workspace.blueprint_path
    with stage.running(trace_id):
        submitted = load_blueprint(intent.blueprint_yaml) if intent.blueprint_yaml else None
        if submitted is not None and (submitted.tenant, submitted.slug) != (ctx.tenant, ctx.product):
            raise InvalidInputError(
                f"the blueprint is for {submitted.tenant}/{submitted.slug}, not {ctx.tenant}/{ctx.product}"
            )
        if submitted is not None:
            entities = [(e.name, e.pattern) for e in submitted.entities]
        elif requirements.requirements is not None:
            entities = [(e.name, e.pattern) for e in requirements.requirements.entities]
        else:
            raise InvalidInputError("no requirements to design from: the intent was not analysed")
        findings = design_findings(ctx, entities, released(ctx))
        # what the running deployments showed is an input: a new finding designs the product again
        fp = fingerprint(CODE_VERSION, requirements.fingerprint, *([_finding_keys(findings)] if findings else []))
        old = stage.previous(fp, BlueprintResult)
        if old is not None:
            return old
        started = now()
        used: list[str] = []
        notes: list[str] = []
        questions: list[OpenQuestion] = []
        changes: list[Change] = []
        base: Blueprint | None = None
        bp: Blueprint
        if submitted is not None:  # the owner's blueprint; findings still add what they teach (an index, ...)
            effects = apply_findings(submitted, findings, past_decisions(ctx.graph(), ctx.tenant) if findings else [])
            bp, used, notes, questions = effects.blueprint, effects.used, effects.notes, effects.questions
            changes, base = effects.changes, submitted if effects.changes else None
        else:
            assert requirements.requirements is not None
            from generators.pipeline import Analysis  # the planner's engines load when a stage first plans

            analysis = Analysis(requirements.requirements, requirements.source, requirements.fallback)
            outcomes = load_insights(ctx.home).patterns
            proposal = ctx.planner().design(analysis, ctx.tenant, ctx.product, outcomes, findings)
            bp, used, notes, questions = proposal.blueprint, proposal.used, proposal.notes, proposal.questions
            changes, base = proposal.changes, proposal.base
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_blueprint(bp))
        rec = stage.recorder(trace_id)
        rec.blueprint(bp, started, now(), used=used, changes=[c.facts for c in changes])
        stage.record(rec.facts)
        return stage.keep(
            BlueprintResult(
                blueprint=bp,
                hash=bp.hash,
                notes=notes,
                used=used,
                questions=questions,
                changes=changes,
                base=base,
                path=str(path),
                checks={"blueprint_conforms": blueprint_issues(bp) + shacl_issues(bp), "policy": policy_findings(bp)},
                trace_id=trace_id,
                fingerprint=fp,
            )
        )
