"""Commands of the production lifecycle: build, rebuild, contract, products, approve, promote, rollback,
deployments, up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ontology.config import factory_home
from ontology.errors import InvalidInputError
from ontology.refs import ProductRef, check_slug
from studio.intent_input import IntentArg, IntentFileOpt, intent_text
from studio.output import console, print_json, print_table
from studio.up_command import StopOnce, up

if TYPE_CHECKING:
    from assets.builds import BuildOutcome
    from infra.lifecycle.outcome import BuildSummary
    from infra.lifecycle.use_cases import Claim
    from studio.access_commands import SignedIn

__all__ = [
    "StopOnce",
    "approve",
    "build",
    "contract",
    "deployments_app",
    "products_app",
    "promote",
    "rebuild",
    "rollback",
    "up",
]

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="The tenant the product belongs to.")]
ProductArg = Annotated[str, typer.Argument(help="The product as tenant/product (or its slug, with --tenant).")]
ExecutorOpt = Annotated[str, typer.Option(help="Dagster executor: in_process or multiprocess.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
EnvOpt = Annotated[str, typer.Option("--env", "-e", help="Target environment: staging or prod.")]

products_app = typer.Typer(help="Products the factory has built.", no_args_is_help=True)
deployments_app = typer.Typer(help="Running services of the local runtime.", no_args_is_help=True)


def _allowed(action: str, ref: ProductRef) -> SignedIn:
    """Who runs the command, if the policy lets them do `action` to the product (else one line, audited)."""
    from infra.access import Resource
    from studio.access_commands import allowed

    return allowed(action, Resource.of(ref))


def _ref(product: str, tenant: str | None) -> ProductRef:
    """`acme/lending`, or `lending` with --tenant acme: the one way every command names a product."""
    if "/" not in product and not tenant:
        check_slug(product, "product")
        raise InvalidInputError(f"name the product as tenant/product (like acme/{product}), or pass --tenant")
    return ProductRef.parse(product, tenant=tenant or None)


def _check_executor(executor: str) -> None:
    if executor not in ("in_process", "multiprocess"):
        raise InvalidInputError(f"unknown executor {executor!r}: use in_process or multiprocess")


class _Announced:
    """The Dagster runner, saying first which revision it builds (unless the output is JSON)."""

    def __init__(self, executor: str, quiet: bool) -> None:
        from assets.builds import DagsterBuildRunner

        self.runner, self.quiet = DagsterBuildRunner(executor=executor), quiet

    def build(self, claim: Claim) -> BuildOutcome:
        if not self.quiet:
            what = f"revision {claim.revision}" if claim.created else f"unchanged revision {claim.revision}"
            console.print(f"building {claim.ref} ({what}) …")
        return self.runner.build(claim)


def _report(outcome: BuildOutcome, as_json: bool) -> None:
    summary = outcome.summary()
    if as_json:
        print_json(summary.model_dump(mode="json"))
    else:
        _print_summary(summary)
    if not outcome.success:
        raise typer.Exit(1)


def _product_slug(intent: str, tenant: str) -> str:
    from generators.agents.architect import product_slug
    from generators.pipeline import Planner

    requirements = Planner().analyse(intent, tenant).requirements
    return product_slug(requirements.product_name)


def _read_blueprint(path: Path) -> str:
    if not path.is_file():
        raise InvalidInputError(f"no such blueprint file: {path}")
    if path.stat().st_size > 1_000_000:
        raise InvalidInputError(f"{path} is larger than 1 MB: a blueprint is a short YAML file")
    return path.read_text(encoding="utf-8", errors="strict")


def build(
    intent: IntentArg = None,
    file: IntentFileOpt = None,
    tenant: TenantOpt = "",
    product: Annotated[
        str | None, typer.Option("--product", "-p", help="Product slug or tenant/product (default: from intent).")
    ] = None,
    blueprint: Annotated[Path | None, typer.Option("--blueprint", help="Build this blueprint YAML.")] = None,
    executor: ExecutorOpt = "in_process",
    as_json: JsonOpt = False,
    claim: Annotated[
        str | None, typer.Option("--claim", hidden=True, help="Build the intent this claim holds.")
    ] = None,
) -> None:
    """Build a product from an intent (or a blueprint): every lifecycle stage, as Dagster asset runs."""
    if product and "/" in product:
        ref = ProductRef.parse(product, tenant=tenant or None)
        tenant, product = ref.tenant, ref.product
    check_slug(tenant, "tenant")  # bad input is refused before the seconds of importing the lifecycle
    if product is not None:
        check_slug(product, "product")
    _check_executor(executor)
    if claim is not None:  # the Studio's build process: the Studio authorized, submitted and claimed the intent
        from infra.control import ControlPlane
        from infra.lifecycle.use_cases import build_claimed

        # No second authorize: the claim (a random token only its holder knows) is what this process holds.
        ref = ProductRef(tenant, check_slug(product or "", "product"))
        runner = _Announced(executor, as_json)
        _report(build_claimed(ControlPlane(None, factory_home()), runner, ref, claim).result, as_json)
        return
    intent = intent_text(intent, file)
    if blueprint is None and (not intent or not intent.strip()):
        raise InvalidInputError("give an intent in quotes, --file FILE, '-' for standard input (or --blueprint FILE)")
    blueprint_yaml = _read_blueprint(blueprint) if blueprint else None
    from generators.blueprint import load_blueprint
    from infra.lifecycle.use_cases import submit_and_build

    if blueprint_yaml is not None:
        bp = load_blueprint(blueprint_yaml)
        if bp.tenant != tenant or (product and bp.slug != product):
            raise InvalidInputError(f"the blueprint is for {bp.tenant}/{bp.slug}: pass --tenant {bp.tenant}")
        product = bp.slug
    slug = check_slug(product, "product") if product else _product_slug(intent or "", tenant)
    who = _allowed("build", ProductRef(tenant, slug))
    started = submit_and_build(
        who.control,
        _Announced(executor, as_json),
        ProductRef(tenant, slug),
        (intent or "").strip(),
        blueprint_yaml=blueprint_yaml,
        actor=who.name,
    )
    _report(started.result, as_json)


def rebuild(
    product: ProductArg,
    tenant: TenantOpt = "",
    executor: ExecutorOpt = "in_process",
    as_json: JsonOpt = False,
) -> None:
    """Build the product's latest intent again: unchanged stages are reused, a stopped service is started."""
    ref = _ref(product, tenant)
    _check_executor(executor)
    from infra.lifecycle.use_cases import rebuild as rebuild_product

    who = _allowed("rebuild", ref)
    started = rebuild_product(who.control, _Announced(executor, as_json), ref, actor=who.name)
    _report(started.result, as_json)


def contract(product: ProductArg, tenant: TenantOpt = "") -> None:
    """Fuzz the product's dev deployment deeply now (the deep contract run every build is followed by in the
    background): the summary and each failure's request; promotion to staging waits for a run that held."""
    ref = _ref(product, tenant)
    from assets.builds import run_deep_contract
    from infra.lifecycle.contract import contract_issues

    who = _allowed("build", ref)
    outcome = run_deep_contract(
        ref.tenant,
        ref.product,
        home=who.home,
        starting=lambda: console.print(f"fuzzing {ref}'s dev deployment deeply …"),
    )
    result = outcome.result
    if result is not None:
        console.print(f"{ref} at {result.commit[:12]}: {result.report.summary()}", highlight=False, soft_wrap=True)
        for issue in contract_issues(result.report):
            console.print(f"  {issue}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"dagster run  {outcome.run_id}", highlight=False, soft_wrap=True)
    if not outcome.success:
        console.print(f"deep contract run failed: {outcome.error}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1)


def _print_summary(s: BuildSummary) -> None:
    rows = [[stage, status] for stage, status in s.stages.items()]
    print_table(["stage", "status"], rows, title=f"{s.tenant}/{s.product} r{s.revision}")
    slo = s.slo
    lines = [
        ("trace id", s.trace_id),
        ("dagster run", s.run_id),
        ("repository", s.repository),
        ("commit", f"{s.commit} ({'new' if s.new_commit else 'unchanged'})" if s.commit else None),
        ("service", f"{s.service_url} (pid {s.pid})" if s.service_url else None),
        ("tests", f"{s.tests.passed} passed, {s.tests.failed} failed" if s.tests else None),
        (
            "slo",
            f"p50 {slo.p50_ms:.1f} ms, p95 {slo.p95_ms:.1f} ms, errors {slo.error_rate:.2%}, "
            f"{len(slo.breaches)} breach(es)"
            if slo
            else None,
        ),
        ("time", f"{s.seconds:.1f} s"),
    ]
    for label, value in lines:
        if value:
            console.print(f"[bold]{label:>11}[/]  {value}", highlight=False)
    if s.error:
        console.print(f"[bold red]build failed:[/] {s.error}", highlight=False)


@products_app.command("list")
def products_list(
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant's products.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Products with their revision, status, trace id and service URL."""
    from studio.access_commands import signed_in

    if tenant is not None:
        check_slug(tenant, "tenant")
    who = signed_in()
    tenants = who.tenants(tenant)
    records = [r for r in who.control.products(tenant) if tenants is None or r.tenant in tenants]
    rows = [
        {
            "tenant": r.tenant,
            "product": r.product,
            "revision": r.revision,
            "status": r.status,
            "trace_id": r.trace_id,
            "service_url": r.service_url,
        }
        for r in records
    ]
    if as_json:
        print_json(rows)
    else:
        print_table(
            ["tenant", "product", "revision", "status", "trace id", "service"], [list(r.values()) for r in rows]
        )


def approve(
    product: ProductArg,
    tenant: TenantOpt = "",
    env: EnvOpt = "prod",
    reason: Annotated[str, typer.Option("--reason", help="Why: recorded in the audit log.")] = "",
    reject: Annotated[bool, typer.Option("--reject", help="Record a rejection instead.")] = False,
) -> None:
    """Approve (or reject) promoting the product's current release to an environment."""
    ref = _ref(product, tenant)
    from infra.access import Resource, revision_authors
    from infra.lifecycle.use_cases import approve as decide
    from studio.access_commands import signed_in

    who = signed_in()
    authors = revision_authors(who.control, who.home, ref, env)
    who.allow("reject" if reject else "approve", Resource.of(ref, env=env, authors=authors))
    record = decide(who.control, who.home, ref, env, approved=not reject, reason=reason, actor=who.name)
    console.print(f"{record.decision} {ref} at {record.commit[:12]} for {env}: {record.reason}")


def promote(
    product: ProductArg,
    tenant: TenantOpt = "",
    env: EnvOpt = "staging",
) -> None:
    """Promote the product's release to staging (from dev) or prod (from staging; needs an approval)."""
    ref = _ref(product, tenant)
    from infra.access import Resource, approvals_of
    from infra.lifecycle.use_cases import promote as governed_promote
    from studio.access_commands import signed_in

    who = signed_in()
    who.allow("promote", Resource.of(ref, env=env, approvals=approvals_of(who.control, who.home, ref, env)))
    d = governed_promote(who.control, who.home, ref, env, actor=who.name)
    console.print(f"promoted {ref} to {env} at {(d.commit or '')[:12]} (revision {d.revision}): {d.url}, pid {d.pid}")


def rollback(
    product: ProductArg,
    tenant: TenantOpt = "",
    env: EnvOpt = "staging",
) -> None:
    """Return an environment to its previous release: schema (the migration's downgrade) and code."""
    ref = _ref(product, tenant)
    from infra.access import Resource
    from infra.lifecycle.use_cases import rollback as governed_rollback
    from studio.access_commands import allowed

    who = allowed("rollback", Resource.of(ref, env=env))
    d = governed_rollback(who.control, who.home, ref, env, actor=who.name)
    console.print(f"rolled {ref} {env} back to {(d.commit or '')[:12]} (revision {d.revision}): {d.url}, pid {d.pid}")


@deployments_app.command("list")
def deployments_list(
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant's deployments.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Deployments with URL, pid, revision and whether they still answer."""
    from infra import runtime
    from studio.access_commands import signed_in

    if tenant is not None:
        check_slug(tenant, "tenant")
    who = signed_in()
    tenants = who.tenants(tenant)
    rows = []
    for d in who.control.deployments(tenant):
        if tenants is not None and d.tenant not in tenants:
            continue
        live = (
            d.status == "running"
            and bool(d.pid and d.workdir and d.url)
            and runtime.alive(d.pid or 0, Path(d.workdir or "."))
            and runtime.healthy(d.url or "")
        )
        rows.append(
            {
                "tenant": d.tenant,
                "product": d.product,
                "env": d.env,
                "url": d.url,
                "pid": d.pid,
                "revision": d.revision,
                "commit": (d.commit or "")[:12],
                "status": d.status if d.status != "running" or live else "not answering",
            }
        )
    if as_json:
        print_json(rows)
    else:
        print_table(list(rows[0]) if rows else ["deployments"], [list(r.values()) for r in rows])


@deployments_app.command("token")
def deployments_token(
    product: ProductArg,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="The product's tenant.")] = None,
    role: Annotated[
        list[str] | None, typer.Option("--role", "-r", help="A role of the product (repeatable; default: all).")
    ] = None,
    ttl: Annotated[int, typer.Option("--ttl", help="Seconds the token is valid (1-86400).")] = 900,
) -> None:
    """Print a bearer token for the product's running service, alone on standard output (for scripts)."""
    ref = _ref(product, tenant)
    from infra.access import Resource
    from infra.lifecycle.use_cases import service_token
    from studio.access_commands import allowed

    who = allowed("service_token", Resource.of(ref))
    token = service_token(who.control, who.home, ref, roles=role or (), ttl_s=ttl, actor=who.name)
    print(token)


@deployments_app.command("stop")
def deployments_stop(
    product: Annotated[
        str | None, typer.Argument(help="The product as tenant/product (or its slug, with --tenant).")
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="The product's tenant.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Stop every running deployment.")] = False,
    env: Annotated[str, typer.Option("--env", "-e", help="The product's environment: dev, staging or prod.")] = "dev",
) -> None:
    """Stop a product's running service in an environment (or --all of them, in every environment)."""
    if all_ == (product is not None):
        raise InvalidInputError("give a product (like acme/lending) or --all")
    ref = _ref(product, tenant) if product is not None else None
    from infra.access import Resource
    from infra.lifecycle.use_cases import stop
    from studio.access_commands import allowed

    who = allowed("stop", Resource.scope(None) if ref is None else Resource.of(ref))
    stopped = stop(who.control, ref, env=env, actor=who.name)
    for d in stopped:
        console.print(f"stopped {d.tenant}/{d.product} ({d.env}, pid {d.pid})")
    if not stopped:
        console.print("no running deployments")
