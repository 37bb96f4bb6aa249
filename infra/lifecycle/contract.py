"""The product's contract under fuzzing: shallow inside the validation, deep after the deployment.

Both runs start their own copy of the service on a loopback port with a throwaway database and
telemetry file under the product's workspace (the running deployment's data and spans are left
alone), fuzz it with the tester's schemathesis run and stop it. The shallow run (a few examples
per operation) is the validation's blocking check `contract_holds`; the deep run (at least 100
examples per operation, stateful phase included) is its own stage after the deployment, run by a
job of its own once a build has succeeded (off the build's critical path), or now by `factory
contract`; promotion to staging is refused for a commit whose deep run failed or has not run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from generators.agents.contract import ContractDepth, ContractReport
from graph.recorder import ContractFigures
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from infra.governance import GovernanceError
from infra.lifecycle.bookkeeping import CODE_VERSION, StageRun, fingerprint, now
from infra.lifecycle.context import StageContext, StageSettings
from infra.lifecycle.results import ContractResult, DeploymentResult, IntentResult
from infra.runtime import DeploymentError, ServiceProcess
from infra.workspace import ProductWorkspace
from ontology.errors import InvalidInputError
from ontology.refs import ProductRef

__all__ = [
    "CONTRACT_CHECKS",
    "DEEP_EXAMPLES",
    "EXAMPLES_ENV",
    "check_promotion",
    "contract",
    "contract_figures",
    "contract_issues",
    "deep_examples",
    "fuzz_copy",
    "service_headers",
]

CONTRACT_CHECKS = {
    "deep_contract_holds": "The deployed release keeps its OpenAPI contract under deep fuzzing (stateful phase too)."
}
"""The contract stage's blocking checks: name -> what it checks."""

DEEP_EXAMPLES = 100
"""Examples per operation of the deep run unless the settings or $FACTORY_CONTRACT_EXAMPLES say otherwise."""
EXAMPLES_ENV = "FACTORY_CONTRACT_EXAMPLES"


def service_headers(ctx: StageContext, service: ServiceProcess) -> dict[str, str]:
    """The headers every request of a contract run sends the started copy: a token of the key the copy
    trusts, with every role the product declares, and the tenant header."""
    return ctx.runtime().tokens(service.name).headers(ctx.tenant)


def deep_examples(settings: StageSettings) -> int:
    """Examples per operation of the deep run: the settings', else $FACTORY_CONTRACT_EXAMPLES, else 100."""
    raw = settings.contract_examples or os.environ.get(EXAMPLES_ENV, "").strip() or DEEP_EXAMPLES
    try:
        examples = int(raw)
    except ValueError:
        raise InvalidInputError(f"{EXAMPLES_ENV} must be a whole number of examples, not {str(raw)[:40]!r}") from None
    if examples < 1:
        raise InvalidInputError(f"the deep contract run needs at least 1 example per operation, not {examples}")
    return examples


def contract_issues(report: ContractReport) -> list[str]:
    """What a contract check reports: each failure with the request that reproduces it, errors, a timeout."""
    issues = [
        f"`{f.request_line()}` answered {f.status_code}: {f.title} ({f.check}, {f.operation})" for f in report.failures
    ]
    issues += [f"the contract run could not test: {e}" for e in report.errors]
    if report.timed_out:
        issues.append(f"the contract run timed out after {report.duration_s:g} s")
    if not issues and not report.ok:
        issues.append("the contract run sent no test case")
    return issues


def contract_figures(report: ContractReport) -> ContractFigures:
    """A report as the knowledge graph records it: cases, whether it held, each failure's request."""
    return report.cases, report.ok, [(f.request_line(), f.check, f.status_code) for f in report.failures]


@contextlib.contextmanager
def _serving(ctx: StageContext, source: Path, trace_id: str, depth: ContractDepth) -> Iterator[ServiceProcess]:
    """The service in `source` on a loopback port, on a throwaway database and telemetry file; stopped after."""
    runtime = ctx.runtime()
    name = f"contract-{depth.value}-{fingerprint(ctx.tenant, ctx.product)[:12]}"
    scratch = ctx.workspace.root / "contract" / depth.value
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    env = {
        "DATABASE_URL": f"sqlite:///{(scratch / 'service.db').resolve()}",
        "FACTORY_TELEMETRY_FILE": str((scratch / "telemetry.jsonl").resolve()),
    }
    try:
        with runtime.serving_copy(source, name=name, trace_id=trace_id, extra_env=env) as service:
            try:
                yield service
            finally:
                service.log_path.unlink(missing_ok=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        with contextlib.suppress(OSError):
            runtime.data_dir(name).rmdir()  # made by the runtime, never used: the database is the scratch one


def fuzz_copy(
    ctx: StageContext, source: Path, trace_id: str, depth: ContractDepth, examples: int | None = None
) -> ContractReport:
    """Start a copy of the service in `source`, run the contract at `depth` against it and stop it.

    A service that does not start is a report with that error (the check fails), not an exception."""
    try:
        with _serving(ctx, source, trace_id, depth) as service:
            return ctx.tester().contract(
                service.url, depth, headers=service_headers(ctx, service), max_examples=examples
            )
    except DeploymentError as error:
        return ContractReport(depth=depth, base_url="", errors=(f"the service did not start: {error}",))


def contract(ctx: StageContext, intent: IntentResult, deployment: DeploymentResult) -> ContractResult:
    """The deployed release fuzzed deeply against its own OpenAPI document (`--checks all`).

    At least 100 examples per operation, every phase: documented examples, boundary values, fuzzing
    and the stateful phase that chains create, read, change and delete through the document's links.
    It runs on a copy of the release with its own throwaway database, so the deployment's data is
    left alone. A commit already fuzzed is not fuzzed again. A failure blocks promotion to staging;
    each one carries the request that reproduces it. It runs after the build (the `deep_contract`
    job) and puts its facts into the product's graph itself.
    """
    stage = StageRun(ctx, "contract")
    trace_id = intent.trace_id
    examples = deep_examples(ctx.settings)
    fp = fingerprint(CODE_VERSION, deployment.commit, examples)
    with stage.running(trace_id):
        old = stage.previous(fp, ContractResult, lambda o: o.trace_id == trace_id)
        if old is not None:
            return old
        started = now()
        earlier = _earlier_run(ctx, fp)  # the same commit, fuzzed by an earlier build: its findings stand
        if earlier is not None:
            ctx.log(f"contract: commit {deployment.commit[:7]} was fuzzed already, keeping that run's findings")
            report = earlier.report
        else:
            report = fuzz_copy(ctx, Path(deployment.workdir), trace_id, ContractDepth.DEEP, examples)
            ctx.log(report.summary())
        rec = stage.recorder(trace_id)
        rec.contract(intent.revision, contract_figures(report), started, now())
        stage.record(rec.facts)
        return stage.keep(
            ContractResult(
                commit=deployment.commit,
                examples=examples,
                report=report,
                checks={"deep_contract_holds": contract_issues(report)},
                trace_id=trace_id,
                fingerprint=fp,
            )
        )


def _earlier_run(ctx: StageContext, fp: str) -> ContractResult | None:
    stored = ctx.workspace.load_output("contract")
    if stored is None or stored.get("fingerprint") != fp:
        return None
    try:
        return ContractResult.model_validate(stored)
    except ValueError:
        return None


def check_promotion(control: ControlPlane, home: Path, ref: ProductRef, env: str, *, actor: str) -> None:
    """Refuse (audited, nothing changed) promoting to staging a dev commit whose deep contract run failed or
    has not run; other environments, and an empty env/dev (governance says so), pass through."""
    if env != "staging":
        return
    commit = ProductRepository(home, ref.tenant, ref.product).env_head("dev")
    if commit is None:
        return
    stored = ProductWorkspace(home, ref.tenant, ref.product).load_output("contract")
    try:
        result = ContractResult.model_validate(stored) if stored is not None else None
    except ValueError:
        result = None
    if result is not None and result.commit == commit and result.ok:
        return
    if result is None or result.commit != commit:
        why = f"no deep contract run of {commit[:7]} yet: run `factory contract {ref}`"
    else:
        first = contract_issues(result.report)[0]
        why = (
            f"its deep contract run failed ({result.report.summary()}; first: {first}): "
            f"fix it, build again and run `factory contract {ref}`"
        )
    control.audit("promote", "refused", tenant=ref.tenant, product=ref.product, actor=actor,
                  detail=f"staging at {commit[:7]}: {why}"[:500])  # fmt: skip
    raise GovernanceError(f"staging promotion of {ref} at {commit[:7]} refused: {why}")
