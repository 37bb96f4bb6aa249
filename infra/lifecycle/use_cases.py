"""The lifecycle's use cases: submit an intent and build it, rebuild, approve, promote, roll back, stop.

The command line, the Studio, the intake sensor (and an HTTP API) call these and nothing else to
change a product's lifecycle. A build is run by a `BuildRunner` the caller passes (Dagster's, in
`assets/builds.py`; the Studio's, which starts a build process; the sensor's, which asks Dagster for
a run), so this module never imports dagster.

Every build first claims its intent in the control database (`ControlPlane.claim_intent`): one
conditional UPDATE that only one caller can win, so the sensor and a person never build the same
intent twice. A claim whose holder is gone (a killed build) may be taken over by the next build.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from infra import governance, runtime
from infra.control import CLAIMABLE, ControlPlane
from infra.gitops import ProductRepository
from infra.lifecycle.claims import holder_gone, new_claim, process_claim
from infra.lifecycle.contract import check_promotion
from infra.records import IN_PROGRESS, ApprovalRecord, DeploymentRecord, IntentRecord
from infra.service_tokens import service_name
from ontology.errors import FactoryError, InvalidInputError, NotFoundError
from ontology.refs import ProductRef

if TYPE_CHECKING:
    from graph.knowledge_graph import KnowledgeGraph
    from infra.lifecycle.context import StageContext

GraphSource = Callable[[], "KnowledgeGraph"]

__all__ = [
    "INTENT_TAG",
    "TENANT_TAG",
    "Build",
    "BuildInProgressError",
    "BuildRunner",
    "Claim",
    "approve",
    "build_claimed",
    "build_submitted",
    "check_blueprint",
    "promote",
    "rebuild",
    "rollback",
    "service_token",
    "stop",
    "submit_and_build",
]

INTENT_TAG = "factory/intent"
"""The run tag that names the claimed intent's id: the intent stage builds exactly that intent."""
TENANT_TAG = "factory/tenant"
"""The run tag that names the tenant: the scaled profile's run queue limits how many of one tenant run at once."""

R_co = TypeVar("R_co", covariant=True)
R = TypeVar("R")


class BuildInProgressError(FactoryError):
    """Another build holds the intent: it is queued or being built."""


@dataclass(frozen=True)
class Claim:
    """An intent claimed for one build: what to build, under which trace id, held by which token."""

    ref: ProductRef
    intent_id: int
    revision: int
    trace_id: str
    token: str
    created: bool = False
    """Whether submitting made a new revision (False: the intent was unchanged)."""

    @classmethod
    def of(cls, record: IntentRecord, created: bool = False) -> Claim:
        assert record.id is not None and record.trace_id is not None and record.claim is not None
        ref = ProductRef(record.tenant, record.product)
        return cls(ref, record.id, record.revision, record.trace_id, record.claim, created)

    def tags(self) -> dict[str, str]:
        """Labels for the run that builds this claim: which intent, revision and trace id."""
        return {
            INTENT_TAG: str(self.intent_id),
            TENANT_TAG: self.ref.tenant,
            "factory/revision": str(self.revision),
            "factory/trace_id": self.trace_id,
        }


class BuildRunner(Protocol[R_co]):
    """Runs the lifecycle for a claimed intent: Dagster's runner materializes the product's assets."""

    def build(self, claim: Claim) -> R_co:
        """Build `claim.ref` under `claim.trace_id`; what it returns is the caller's (an outcome, a job, a run)."""
        ...


@dataclass(frozen=True)
class Build(Generic[R]):
    """A build a use case started: the claim it holds and what the runner returned."""

    claim: Claim
    result: R


def _in_progress(record: IntentRecord) -> BuildInProgressError:
    holder = (record.claim or "another build").split(":", 1)[0]
    since = record.updated_at.strftime("%H:%M:%S UTC")
    return BuildInProgressError(
        f"{record.tenant}/{record.product} revision {record.revision} is already {record.status} "
        f"(claimed by {holder} at {since}): follow it with `factory products list`, or build again once it ends"
    )


def _take(control: ControlPlane, record: IntentRecord, token: str, created: bool, actor: str) -> Claim:
    """The claim on `record` if `token` won it; a takeover from a holder that is gone; else refused."""
    assert record.id is not None
    if record.claim == token and record.status in IN_PROGRESS:
        return Claim.of(record, created)
    if holder_gone(record):
        taken = control.claim_intent(record.id, token, statuses=CLAIMABLE, held_by=record.claim)
        if taken is not None:
            holder = (record.claim or "no claim").split(":", 1)[0]
            note = f"revision {record.revision} was {record.status}, held by {holder} that is gone"
            control.audit("intent.takeover", "ok", tenant=record.tenant, product=record.product, actor=actor,
                          detail=note)  # fmt: skip
            return Claim.of(taken, created)
        record = control.intent(record.id)
    raise _in_progress(record)


def _run(control: ControlPlane, runner: BuildRunner[R], claim: Claim) -> Build[R]:
    """Run the claimed build; if the runner raises (or is interrupted), the intent is marked failed, not left held."""
    try:
        return Build(claim, runner.build(claim))
    except BaseException as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        control.release_claim(claim.intent_id, claim.token, f"the build stopped: {reason}"[:500])
        raise


def submit_and_build(
    control: ControlPlane,
    runner: BuildRunner[R],
    ref: ProductRef,
    intent: str,
    *,
    blueprint_yaml: str | None = None,
    actor: str,
    claim: str | None = None,
) -> Build[R]:
    """Record the intent (a new revision when it changed), claim it for this build, and run the build.

    Submitting and claiming are one transaction, so the intake sensor never sees the intent unclaimed.
    An intent another build holds is refused with BuildInProgressError, unless that build is gone.
    """
    token = claim or process_claim("cli")
    record, created = control.submit_intent(
        ref.tenant, ref.product, intent, blueprint_yaml=blueprint_yaml, actor=actor, claim=token
    )
    return _run(control, runner, _take(control, record, token, created, actor))


def rebuild(
    control: ControlPlane,
    runner: BuildRunner[R],
    ref: ProductRef,
    *,
    actor: str,
    claim: str | None = None,
    prepare: Callable[[], object] | None = None,
) -> Build[R]:
    """Build the product's latest intent again (unchanged stages are reused); refused while it is being built.

    `prepare` runs once this build holds the intent and before it starts (a git host's push is merged into
    main there, so a push that arrives during a build changes nothing): if it raises, the intent is given
    back as it was and the error is raised."""
    latest = control.latest_intent(ref.tenant, ref.product)
    if latest is None or latest.id is None:
        raise NotFoundError(f"{ref} has no intent to rebuild: build it first with `factory build`")
    token = claim or process_claim("cli")
    record = control.claim_intent(latest.id, token) or control.intent(latest.id)
    try:
        taken = _take(control, record, token, False, actor)
    except BuildInProgressError:
        control.audit("intent.rebuild", "refused", tenant=ref.tenant, product=ref.product, actor=actor,
                      detail=f"revision {latest.revision} is {record.status}")  # fmt: skip
        raise
    if prepare is not None:
        try:
            prepare()
        except BaseException:
            control.give_back_claim(taken.intent_id, taken.token, latest)
            raise
    control.audit("intent.rebuild", "ok", tenant=ref.tenant, product=ref.product, actor=actor,
                  detail=f"revision {latest.revision}")  # fmt: skip
    return _run(control, runner, taken)


def build_claimed(control: ControlPlane, runner: BuildRunner[R], ref: ProductRef, claim: str) -> Build[R]:
    """Run the build of an intent already claimed with `claim` (the Studio claims, its build process builds).

    The claim passes to this process first, so a build process that dies leaves a claim the next build may take.
    """
    record = control.claimed_intent(claim)
    if record is None or record.id is None or (record.tenant, record.product) != (ref.tenant, ref.product):
        raise InvalidInputError(f"no intent of {ref} is claimed with that claim: submit it with `factory build`")
    if record.blueprint_yaml is not None:  # refused before the hand-over: the claimer sees this process end
        check_blueprint(ref, record.blueprint_yaml)
    token = process_claim(claim.split(":", 1)[0] or "cli")
    handed = control.hand_over(record.id, claim, token)
    if handed is None:
        raise _in_progress(control.intent(record.id))
    return _run(control, runner, Claim.of(handed))


def check_blueprint(ref: ProductRef, blueprint_yaml: str) -> None:
    """Refuse a blueprint that describes another product than `ref` (it names its tenant and slug)."""
    from generators.blueprint import load_blueprint

    bp = load_blueprint(blueprint_yaml)
    if (bp.tenant, bp.slug) != (ref.tenant, ref.product):
        raise InvalidInputError(
            f"the blueprint is for {bp.tenant}/{bp.slug}, not {ref}: build it as {bp.tenant}/{bp.slug}"
        )


def build_submitted(control: ControlPlane, runner: BuildRunner[R], *, limit: int = 20) -> list[Build[R]]:
    """Claim the intents waiting as "submitted" (up to `limit`) and hand each to the runner (the intake sensor)."""
    records = control.claim_submitted(limit=limit, claim=new_claim("intake"))
    return [_run(control, runner, Claim.of(record)) for record in records]


def approve(
    control: ControlPlane,
    home: Path,
    ref: ProductRef,
    env: str,
    *,
    approved: bool,
    reason: str,
    actor: str,
    graph: GraphSource | None = None,
) -> ApprovalRecord:
    """Record a person's decision on promoting the product's next commit to `env` (audited), and write it into
    the product's knowledge graph (`graph`, default: the home's) as that person's approval activity."""
    from infra.lifecycle import environments

    repo = ProductRepository(home, ref.tenant, ref.product)
    record = governance.approve(control, repo, env, "approved" if approved else "rejected", reason, actor)
    environments.record_approval(_context(control, home, ref, graph), record)
    return record


def _context(control: ControlPlane, home: Path, ref: ProductRef, graph: GraphSource | None) -> StageContext:
    from infra.lifecycle.context import StageContext  # the stages' modules load when an environment changes

    return StageContext(home, ref.tenant, ref.product, control_plane=control, knowledge_graph=graph)


def promote(
    control: ControlPlane, home: Path, ref: ProductRef, env: str, *, actor: str, graph: GraphSource | None = None
) -> DeploymentRecord:
    """Promote the previous environment's commit to `env` (prod needs an approval) and run it there.

    The commit runs as `env`'s own service on its own database, migrated, health-checked and smoke-tested
    before it takes the traffic; `env/<env>` moves then. A release that fails leaves the previous one running.
    Staging takes only a commit whose deep contract run held. `graph` gives the knowledge graph the deployment
    is recorded in (default: the home's)."""
    from infra.lifecycle import environments

    check_promotion(control, home, ref, env, actor=actor)
    return environments.promote(_context(control, home, ref, graph), env, actor=actor)


def rollback(
    control: ControlPlane, home: Path, ref: ProductRef, env: str, *, actor: str, graph: GraphSource | None = None
) -> DeploymentRecord:
    """Return `env` to its previous release, schema (the downgrade) and code; refused, with nothing changed,
    when there is none or the schema cannot be taken back (audited either way)."""
    from infra.lifecycle import environments

    return environments.rollback(_context(control, home, ref, graph), env, actor=actor)


def stop(
    control: ControlPlane,
    ref: ProductRef | None = None,
    *,
    env: str = "dev",
    actor: str,
    keep_pids: Sequence[int | None] = (),
) -> list[DeploymentRecord]:
    """Stop a product's running service in `env` (or, without `ref`, every running one but `keep_pids`).

    A named product with nothing running is refused; the stopped deployments are returned.
    """
    if ref is not None:
        found = control.deployment(ref.tenant, ref.product, env)
        if found is None or found.status != "running":
            raise InvalidInputError(f"{ref} has no running deployment in {env}")
        targets = [found]
    else:
        targets = [d for d in control.deployments(None, status="running") if d.pid not in keep_pids]
    stopped = []
    for d in targets:
        if d.pid and d.workdir:
            runtime.stop(d.pid, Path(d.workdir))
        stopped.append(control.upsert_deployment(d.tenant, d.product, d.env, status="stopped"))
        control.audit("deployment.stop", "ok", tenant=d.tenant, product=d.product, actor=actor,
                      detail=f"{d.env}, pid {d.pid}")  # fmt: skip
    return stopped


def service_token(
    control: ControlPlane,
    home: Path,
    ref: ProductRef,
    *,
    roles: Sequence[str] = (),
    ttl_s: int = 900,
    env: str = "dev",
    actor: str,
) -> str:
    """A bearer token of the factory for the product's running service in `env`, acting for its tenant
    with `roles` (default: every role the product declares), valid `ttl_s` seconds; audited."""
    found = control.deployment(ref.tenant, ref.product, env)
    if found is None or found.status != "running":
        raise InvalidInputError(f"{ref} has no running deployment in {env}: build it first")
    if not 1 <= ttl_s <= 86_400:
        raise InvalidInputError(f"invalid token lifetime {ttl_s}: use 1-86400 seconds")
    tokens = runtime.LocalRuntime(home).tokens(service_name(ref.tenant, ref.product, env))
    unknown = sorted(set(roles) - set(tokens.roles()))
    if unknown:
        raise InvalidInputError(f"{ref} has no role {', '.join(unknown)}: its roles are {', '.join(tokens.roles())}")
    token = tokens.token(ref.tenant, list(roles) or None, ttl_s=ttl_s)
    control.audit("deployment.token", "ok", tenant=ref.tenant, product=ref.product, actor=actor,
                  detail=f"{env}, roles {', '.join(roles) or 'all'}, {ttl_s} s")  # fmt: skip
    return token
