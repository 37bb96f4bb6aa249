"""Commands of the production lifecycle: build, products, approve, promote, deployments, up."""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ontology.config import factory_home
from ontology.errors import InvalidInputError
from ontology.refs import ProductRef, check_slug
from studio.output import console, print_json, print_table

__all__ = ["approve", "build", "deployments_app", "products_app", "promote", "rebuild", "up"]

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="The tenant the product belongs to.")]
ProductArg = Annotated[str, typer.Argument(help="The product as tenant/product (or its slug, with --tenant).")]
ExecutorOpt = Annotated[str, typer.Option(help="Dagster executor: in_process or multiprocess.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
EnvOpt = Annotated[str, typer.Option("--env", "-e", help="Target environment: staging or prod.")]

products_app = typer.Typer(help="Products the factory has built.", no_args_is_help=True)
deployments_app = typer.Typer(help="Running services of the local runtime.", no_args_is_help=True)

DEMO_INTENTS = (
    (
        "acme",
        "invoicing",
        "A multi-tenant invoicing service where customers receive invoices with line items and pay them by card.",
    ),
    ("acme", "clinic", "A clinic booking service where patients book appointments with doctors."),
)


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


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

    def build(self, claim: Any) -> Any:
        if not self.quiet:
            what = f"revision {claim.revision}" if claim.created else f"unchanged revision {claim.revision}"
            console.print(f"building {claim.ref} ({what}) …")
        return self.runner.build(claim)


def _report(outcome: Any, as_json: bool) -> None:
    summary = outcome.summary()
    if as_json:
        print_json(summary)
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
    intent: Annotated[str | None, typer.Argument(help="The business intent, in plain words.")] = None,
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
    _check_executor(executor)
    if claim is not None:  # the Studio's build process: the Studio submitted and claimed the intent
        from infra.control import ControlPlane
        from infra.lifecycle.use_cases import build_claimed

        ref = ProductRef(tenant, check_slug(product or "", "product"))
        runner = _Announced(executor, as_json)
        _report(build_claimed(ControlPlane(None, factory_home()), runner, ref, claim).result, as_json)
        return
    if blueprint is None and (not intent or not intent.strip()):
        raise InvalidInputError("give an intent in quotes (or --blueprint FILE)")
    blueprint_yaml = _read_blueprint(blueprint) if blueprint else None
    from generators.blueprint import load_blueprint
    from infra.control import ControlPlane
    from infra.lifecycle.use_cases import submit_and_build

    if blueprint_yaml is not None:
        bp = load_blueprint(blueprint_yaml)
        if bp.tenant != tenant or (product and bp.slug != product):
            raise InvalidInputError(f"the blueprint is for {bp.tenant}/{bp.slug}: pass --tenant {bp.tenant}")
        product = bp.slug
    slug = check_slug(product, "product") if product else _product_slug(intent or "", tenant)
    started = submit_and_build(
        ControlPlane(None, factory_home()),
        _Announced(executor, as_json),
        ProductRef(tenant, slug),
        (intent or "").strip(),
        blueprint_yaml=blueprint_yaml,
        actor=_actor(),
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
    from infra.control import ControlPlane
    from infra.lifecycle.use_cases import rebuild as rebuild_product

    started = rebuild_product(ControlPlane(None, factory_home()), _Announced(executor, as_json), ref, actor=_actor())
    _report(started.result, as_json)


def _print_summary(s: dict[str, Any]) -> None:
    rows = [[stage, status] for stage, status in s["stages"].items()]
    print_table(["stage", "status"], rows, title=f"{s['tenant']}/{s['product']} r{s['revision']}")
    lines = [
        ("trace id", s["trace_id"]),
        ("dagster run", s["run_id"]),
        ("repository", s["repository"]),
        ("commit", f"{s['commit']} ({'new' if s['new_commit'] else 'unchanged'})" if s["commit"] else None),
        ("service", f"{s['service_url']} (pid {s['pid']})" if s["service_url"] else None),
        ("tests", f"{s['tests']['passed']} passed, {s['tests']['failed']} failed" if s["tests"] else None),
        (
            "slo",
            f"p50 {s['slo']['p50_ms']:.1f} ms, p95 {s['slo']['p95_ms']:.1f} ms, errors {s['slo']['error_rate']:.2%}, "
            f"{len(s['slo']['breaches'])} breach(es)"
            if s["slo"]
            else None,
        ),
        ("time", f"{s['seconds']:.1f} s"),
    ]
    for label, value in lines:
        if value:
            console.print(f"[bold]{label:>11}[/]  {value}", highlight=False)
    if s["error"]:
        console.print(f"[bold red]build failed:[/] {s['error']}", highlight=False)


@products_app.command("list")
def products_list(
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant's products.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Products with their revision, status, trace id and service URL."""
    from infra.control import ControlPlane

    if tenant is not None:
        check_slug(tenant, "tenant")
    records = ControlPlane(None, factory_home()).products(tenant)
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
    from infra.control import ControlPlane
    from infra.lifecycle.use_cases import approve as decide

    home = factory_home()
    record = decide(ControlPlane(None, home), home, ref, env, approved=not reject, reason=reason, actor=_actor())
    console.print(f"{record.decision} {ref} at {record.commit[:12]} for {env}: {record.reason}")


def promote(
    product: ProductArg,
    tenant: TenantOpt = "",
    env: EnvOpt = "staging",
) -> None:
    """Promote the product's release to staging (from dev) or prod (from staging; needs an approval)."""
    ref = _ref(product, tenant)
    from infra.control import ControlPlane
    from infra.lifecycle.use_cases import promote as governed_promote

    home = factory_home()
    commit = governed_promote(ControlPlane(None, home), home, ref, env, actor=_actor())
    console.print(f"promoted {ref} to env/{env} at {commit[:12]}")


@deployments_app.command("list")
def deployments_list(
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant's deployments.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Deployments with URL, pid, revision and whether they still answer."""
    from infra import runtime
    from infra.control import ControlPlane

    if tenant is not None:
        check_slug(tenant, "tenant")
    rows = []
    for d in ControlPlane(None, factory_home()).deployments(tenant):
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


@deployments_app.command("stop")
def deployments_stop(
    product: Annotated[
        str | None, typer.Argument(help="The product as tenant/product (or its slug, with --tenant).")
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="The product's tenant.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Stop every running deployment.")] = False,
) -> None:
    """Stop a product's running service (or --all of them)."""
    if all_ == (product is not None):
        raise InvalidInputError("give a product (like acme/lending) or --all")
    ref = _ref(product, tenant) if product is not None else None
    from infra.control import ControlPlane
    from infra.lifecycle.use_cases import stop

    stopped = stop(ControlPlane(None, factory_home()), ref, actor=_actor())
    for d in stopped:
        console.print(f"stopped {d.tenant}/{d.product} ({d.env}, pid {d.pid})")
    if not stopped:
        console.print("no running deployments")


def _check_port_free(host: str, port: int, option: str) -> None:
    if not 1 <= port <= 65535:
        raise InvalidInputError(f"{option} {port} is not a port number (1-65535)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: a port in TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError:
            raise InvalidInputError(f"port {port} on {host} is in use: stop what holds it, or pass {option}") from None


class StopOnce:
    """Handler of the signals that stop `up`: the first raises KeyboardInterrupt, any that follow do nothing.

    One kill of `make up` reaches `up` twice (from the kill, and from make, which passes a SIGTERM on to
    its child), and a person may press Ctrl-C again: a second KeyboardInterrupt raised while `up` stops
    what it started would cut that short and leave the servers running.
    """

    def __init__(self) -> None:
        self.stopping = False

    def __call__(self, signum: int, frame: object) -> None:
        if not self.stopping:
            self.stopping = True
            raise KeyboardInterrupt


def up(
    host: Annotated[str, typer.Option(help="Loopback address to serve on.")] = "127.0.0.1",
    dagster_port: Annotated[int, typer.Option(help="Port of the Dagster UI.")] = 3000,
    studio_port: Annotated[int, typer.Option(help="Port of the Studio.")] = 8501,
    demo: Annotated[bool, typer.Option(help="Build the demo products if there are none.")] = True,
    once: Annotated[bool, typer.Option("--once", help="Build the demo products, print the URLs and stop.")] = False,
) -> None:
    """Start the Dagster UI and daemon and the Studio on loopback, build the demo products, print the URLs."""
    from assets.builds import DagsterBuildRunner, factory_instance
    from infra.control import ControlPlane
    from infra.lifecycle.use_cases import stop as stop_deployments
    from infra.lifecycle.use_cases import submit_and_build

    if host not in ("127.0.0.1", "localhost", "::1"):
        raise InvalidInputError(f"{host} is not a loopback address: the factory serves on 127.0.0.1 only")
    if not once:  # before any build: a server that cannot listen would otherwise fail only after the demo builds
        for option, port in (("--dagster-port", dagster_port), ("--studio-port", studio_port)):
            _check_port_free(host, port, option)
    home = factory_home()
    home.mkdir(parents=True, exist_ok=True)
    factory_instance(home).dispose()  # its storage is created once, here, before servers and builds open it together
    bin_dir = Path(sys.executable).parent
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    commands = {
        "dagster-webserver": [
            str(bin_dir / "dagster-webserver"), "-h", host, "-p", str(dagster_port), "-m", "assets.definitions",
        ],
        "dagster-daemon": [str(bin_dir / "dagster-daemon"), "run", "-m", "assets.definitions"],
        "studio": [
            sys.executable, "-m", "streamlit", "run", str(Path(__file__).with_name("app.py")),
            "--server.address", host, "--server.port", str(studio_port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
        ],
    }  # fmt: skip
    started: dict[str, subprocess.Popen[bytes]] = {}
    control = ControlPlane(None, home)
    running_before = {d.pid for d in control.deployments(None, status="running")}
    stop = StopOnce()
    if not once:  # a kill stops the servers too, as Ctrl-C does, and so does a closed terminal (unless under nohup)
        signal.signal(signal.SIGTERM, stop)
        for sig in (signal.SIGINT, signal.SIGHUP):  # ignored ones stay ignored (a background job, nohup)
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, stop)
    try:
        if not once:
            for name, command in commands.items():
                log = (logs / f"{name}.log").open("ab")
                # In a session of its own: a terminal's Ctrl-C reaches this command alone, which stops the
                # servers in order below (and reports a server that stopped by itself as an error).
                started[name] = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(), start_new_session=True
                )
            console.print(f"Dagster UI  http://{host}:{dagster_port}")
            console.print(f"Studio      http://{host}:{studio_port}")
            console.print(f"logs        {logs}")
        if demo and not control.products(None):
            for tenant, product, text in DEMO_INTENTS:
                console.print(f"building demo product {tenant}/{product} …")
                ref = ProductRef(tenant, product)
                built = submit_and_build(control, DagsterBuildRunner(), ref, text, actor="factory up")
                _print_summary(built.result.summary())
        for d in control.deployments(None, status="running"):
            console.print(f"service     {d.url}  ({d.tenant}/{d.product}, pid {d.pid})")
        if once:
            return
        console.print("Ctrl-C stops the servers this command started.")
        while all(p.poll() is None for p in started.values()):
            time.sleep(1)
        gone = [n for n, p in started.items() if p.poll() is not None]
        raise InvalidInputError(f"{', '.join(gone)} stopped: see {logs}")
    finally:
        if not once:  # the services this command deployed stop with it; --once leaves them running
            stop.stopping = True  # from here on a stop signal changes nothing
            stop_deployments(control, actor="factory up", keep_pids=list(running_before))
        for process in started.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 15
        for process in started.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:  # the server and what it started (Dagster's code servers)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
