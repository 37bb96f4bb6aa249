"""The generation stages: the rendered source tree and its validation (tests, lint, tenant scoping)."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from generators.agents.contract import ContractDepth, ContractReport
from generators.agents.tester import TestReport
from generators.finding_rules import changed_files
from generators.migrations import PreviousRevision, migration_digest, plan_migrations, read_previous
from generators.packs import load_pack
from generators.policy import policy_findings
from generators.rendering import ANSWERS_PATH, RenderResult
from infra.gitops import GENERATED_BRANCH
from infra.lifecycle.bookkeeping import CODE_VERSION, StageRun, fingerprint, now
from infra.lifecycle.context import StageContext
from infra.lifecycle.contract import contract_figures, contract_issues, fuzz_copy
from infra.lifecycle.results import ArtifactsResult, BlueprintResult, ValidationResult
from infra.pack_trust import check_pack_trust
from infra.workspace import tree_digest
from ontology.models import Blueprint

__all__ = ["VALIDATION_CHECKS", "CheckRun", "artifacts", "blocking_checks", "previous_revision", "validation"]

VALIDATION_CHECKS = {
    "tests_pass": "The product's own test suite passes.",
    "lint_clean": "ruff finds nothing in the generated code.",
    "tenant_scoped": "Every generated table is scoped by tenant_id.",
    "contract_holds": "The started service keeps its OpenAPI contract under a shallow schemathesis run.",
}
"""The validation's blocking checks: name -> what it checks."""


def previous_revision(ctx: StageContext) -> PreviousRevision | None:
    """The product's last released render (the tip of its generated branch): its blueprint and migrations."""
    repo = ctx.repository()
    head = repo.head(GENERATED_BRANCH)
    if head is None:
        return None
    with tempfile.TemporaryDirectory(prefix="factory-previous-") as scratch:
        return read_previous(repo.export(head, Path(scratch) / "tree"), ANSWERS_PATH)


def artifacts(ctx: StageContext, blueprint: BlueprintResult) -> ArtifactsResult:
    """The product's source tree, rendered from the blueprint with a versioned template pack.

    Service code, tests, Dockerfile, Kubernetes manifests per environment, CI workflow, README and the
    database migrations: the last release's, plus one for what the blueprint changed in the tables (a
    change that would lose stored data stops here until the blueprint allows it). The same blueprint,
    last release and pack version always give byte-identical files.
    """
    stage = StageRun(ctx, "artifacts")
    trace_id = blueprint.trace_id
    pack = ctx.template_pack()
    render_dir = ctx.workspace.render_dir
    with stage.running(trace_id):
        chosen = load_pack(*pack)  # verified: an altered installed pack is refused here
        check_pack_trust(ctx.home, ctx.tenant, chosen)  # and one the tenant does not trust, before any rendering
        previous = previous_revision(ctx)
        migrations = migration_digest(plan_migrations(blueprint.blueprint, previous).items())
        fp = fingerprint(CODE_VERSION, blueprint.fingerprint, pack, migrations)
        old = stage.previous(fp, ArtifactsResult, lambda o: tree_digest(render_dir, o.files) == o.tree_hash)
        if old is not None:
            return old
        started = now()
        result = ctx.engineer().render(
            blueprint.blueprint, ctx.workspace.reset_render(), trace_id, pack, previous=previous
        )
        changed = _changed_by_findings(ctx, blueprint, pack, previous, result) if blueprint.base is not None else {}
        rec = stage.recorder(trace_id)
        files = ((x.path, x.sha256, x.size) for x in result.files)
        rec.artifacts(files, result.pack, result.version, started, now(), chosen.sealed, changed)
        stage.record(rec.facts)
        listing = [x.path for x in result.files]
        return stage.keep(
            ArtifactsResult(
                dir=str(render_dir),
                template=f"{result.pack}@{result.version}",
                files=listing,
                bytes=sum(x.size for x in result.files),
                tree_hash=tree_digest(render_dir, listing),
                trace_id=trace_id,
                fingerprint=fp,
            )
        )


def _changed_by_findings(
    ctx: StageContext,
    blueprint: BlueprintResult,
    pack: tuple[str, str | None],
    previous: PreviousRevision | None,
    result: RenderResult,
) -> dict[str, list[str]]:
    """The files the findings changed, each with the design changes behind it: the blueprint as designed before
    the findings is rendered the same way, and every file that is new or differs (the blueprints' hashes left
    out) is one they changed."""
    assert blueprint.base is not None
    hashes = (blueprint.base.hash.encode(), blueprint.blueprint.hash.encode())

    def text(path: Path) -> bytes | None:
        if not path.is_file():
            return None
        data = path.read_bytes()
        for digest in hashes:
            data = data.replace(digest, b"")
        return data

    with tempfile.TemporaryDirectory(prefix="factory-without-findings-") as scratch:
        ctx.engineer().render(blueprint.base, Path(scratch), blueprint.trace_id, pack, previous=previous)
        differ = [x.path for x in result.files if text(result.out_dir / x.path) != text(Path(scratch) / x.path)]
    return changed_files(blueprint.changes, differ)


def validation(ctx: StageContext, blueprint: BlueprintResult, artifacts: ArtifactsResult) -> ValidationResult:
    """The validation report: the generated test suite's results, lint findings, the tenant-scoping policy
    and a shallow contract run.

    While the test suite runs, the rendered service is started on its own throwaway database and fuzzed
    against its own OpenAPI document (a few examples per operation); each failure names the request that
    reproduces it. A failing check blocks the release.
    """
    stage = StageRun(ctx, "validation")
    trace_id = artifacts.trace_id
    fp = fingerprint(CODE_VERSION, artifacts.fingerprint, artifacts.tree_hash, "contract")
    with stage.running(trace_id):
        old = stage.previous(fp, ValidationResult)
        if old is not None:
            return old
        started = now()
        checked = blocking_checks(ctx, blueprint.blueprint, ctx.workspace.render_dir, trace_id)
        report, contract = checked.report, checked.contract
        rec = stage.recorder(trace_id)
        failed = report.failed + report.errors
        figures = contract_figures(contract)
        rec.validation(
            checked.ok, report.passed, failed, len(report.lint), len(artifacts.files), started, now(), figures
        )
        stage.record(rec.facts)
        return stage.keep(
            ValidationResult(
                passed=report.passed,
                failed=report.failed,
                errors=report.errors,
                skipped=report.skipped,
                duration_s=report.duration_s,
                lint=checked.checks["lint_clean"],
                ok=checked.ok,
                checks=checked.checks,
                contract=contract,
                trace_id=trace_id,
                fingerprint=fp,
            )
        )


@dataclass(frozen=True)
class CheckRun:
    """The validation's blocking checks run on one source tree: the suite's report, the contract's, and
    what each check found (nothing found: the check holds)."""

    report: TestReport
    contract: ContractReport
    checks: dict[str, list[str]]

    @property
    def ok(self) -> bool:
        return self.report.ok and not any(self.checks.values())


def blocking_checks(ctx: StageContext, blueprint: Blueprint, root: Path, trace_id: str) -> CheckRun:
    """Run the validation's blocking checks on the product tree in `root` (a render, or an upgrade's merge):
    its test suite and lint, the tenant-scoping policy, and a shallow contract run on a started copy."""
    with ThreadPoolExecutor(1, thread_name_prefix="contract") as pool:  # beside the suite: it mostly waits
        fuzzing = pool.submit(fuzz_copy, ctx, root, trace_id, ContractDepth.SHALLOW)
        report = ctx.tester().test(root, timeout_s=ctx.settings.test_timeout_s)
        contract = fuzzing.result()
    ctx.log(contract.summary())
    broken = report.failed or report.errors or report.timed_out or not report.passed
    checks = {
        "tests_pass": [report.summary(), *([report.output[-2000:]] if report.output else [])] if broken else [],
        "lint_clean": [f"{x.path}:{x.line} {x.code} {x.message}" for x in report.lint],
        "tenant_scoped": policy_findings(blueprint, root),
        "contract_holds": contract_issues(contract),
    }
    return CheckRun(report, contract, checks)
