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
from ontology.refs import check_slug
from studio.output import console, print_json, print_table

__all__ = ["approve", "build", "deployments_app", "products_app", "promote", "up"]

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="The tenant the product belongs to.")]
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
    product: Annotated[str | None, typer.Option("--product", "-p", help="Product slug (default: from intent).")] = None,
    blueprint: Annotated[Path | None, typer.Option("--blueprint", help="Build this blueprint YAML.")] = None,
    executor: Annotated[str, typer.Option(help="Dagster executor: in_process or multiprocess.")] = "in_process",
    as_json: JsonOpt = False,
) -> None:
    """Build a product from an intent (or a blueprint): every lifecycle stage, as Dagster asset runs."""
    check_slug(tenant, "tenant")  # bad input is refused before the seconds of importing the lifecycle
    if product is not None:
        check_slug(product, "product")
    if executor not in ("in_process", "multiprocess"):
        raise InvalidInputError(f"unknown executor {executor!r}: use in_process or multiprocess")
    if blueprint is None and (not intent or not intent.strip()):
        raise InvalidInputError("give an intent in quotes (or --blueprint FILE)")
    blueprint_yaml = _read_blueprint(blueprint) if blueprint else None
    from assets.builds import build_product
    from generators.blueprint import load_blueprint
    from infra.control import ControlPlane

    if blueprint_yaml is not None:
        bp = load_blueprint(blueprint_yaml)
        if bp.tenant != tenant or (product and bp.slug != product):
            raise InvalidInputError(f"the blueprint is for {bp.tenant}/{bp.slug}: pass --tenant {bp.tenant}")
        product = bp.slug
    slug = check_slug(product, "product") if product else _product_slug(intent or "", tenant)
    control = ControlPlane(None, factory_home())
    record, created = control.submit_intent(
        tenant, slug, (intent or "").strip(), blueprint_yaml=blueprint_yaml, actor=_actor()
    )
    assert record.id is not None
    control.set_intent_status(record.id, "building")
    if not as_json:
        what = f"revision {record.revision}" if created else f"unchanged revision {record.revision}"
        console.print(f"building {tenant}/{slug} ({what}) …")
    outcome = build_product(tenant, slug, executor=executor)
    summary = outcome.summary()
    if as_json:
        print_json(summary)
    else:
        _print_summary(summary)
    if not outcome.success:
        raise typer.Exit(1)


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
    product: Annotated[str, typer.Argument(help="The product slug.")],
    tenant: TenantOpt = "",
    env: EnvOpt = "prod",
    reason: Annotated[str, typer.Option("--reason", help="Why: recorded in the audit log.")] = "",
    reject: Annotated[bool, typer.Option("--reject", help="Record a rejection instead.")] = False,
) -> None:
    """Approve (or reject) promoting the product's current release to an environment."""
    from infra.control import ControlPlane
    from infra.gitops import ProductRepository
    from infra.governance import approve as decide

    check_slug(tenant, "tenant")
    check_slug(product, "product")
    home = factory_home()
    record = decide(
        ControlPlane(None, home),
        ProductRepository(home, tenant, product),
        env,
        "rejected" if reject else "approved",
        reason,
        _actor(),
    )
    console.print(f"{record.decision} {tenant}/{product} at {record.commit[:12]} for {env}: {record.reason}")


def promote(
    product: Annotated[str, typer.Argument(help="The product slug.")],
    tenant: TenantOpt = "",
    env: EnvOpt = "staging",
) -> None:
    """Promote the product's release to staging (from dev) or prod (from staging; needs an approval)."""
    from infra.control import ControlPlane
    from infra.gitops import ProductRepository
    from infra.governance import promote as governed_promote

    check_slug(tenant, "tenant")
    check_slug(product, "product")
    home = factory_home()
    commit = governed_promote(ControlPlane(None, home), ProductRepository(home, tenant, product), env, actor=_actor())
    console.print(f"promoted {tenant}/{product} to env/{env} at {commit[:12]}")


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
    product: Annotated[str | None, typer.Argument(help="The product slug.")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="The product's tenant.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Stop every running deployment.")] = False,
) -> None:
    """Stop a product's running service (or --all of them)."""
    from infra import runtime
    from infra.control import ControlPlane

    if all_ == (product is not None):
        raise InvalidInputError("give a product (with --tenant) or --all")
    control = ControlPlane(None, factory_home())
    if product is not None:
        if not tenant:
            raise InvalidInputError("give --tenant T with the product")
        found = control.deployment(check_slug(tenant, "tenant"), check_slug(product, "product"), "dev")
        targets = [found] if found is not None and found.status == "running" else []
        if not targets:
            raise InvalidInputError(f"{tenant}/{product} has no running deployment")
    else:
        targets = [d for d in control.deployments(None) if d.status == "running"]
    for d in targets:
        if d.pid and d.workdir:
            runtime.stop(d.pid, Path(d.workdir))
        control.upsert_deployment(d.tenant, d.product, d.env, status="stopped")
        console.print(f"stopped {d.tenant}/{d.product} ({d.env}, pid {d.pid})")
    if not targets:
        console.print("no running deployments")


def _stop_deployed(control: Any, keep: set[int | None]) -> None:
    from infra import runtime

    for d in control.deployments(None, status="running"):
        if d.pid not in keep and d.pid and d.workdir:
            runtime.stop(d.pid, Path(d.workdir))
            control.upsert_deployment(d.tenant, d.product, d.env, status="stopped")


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
    from assets.builds import build_product, factory_instance
    from infra.control import ControlPlane

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
                record, _ = control.submit_intent(tenant, product, text, actor="factory up")
                assert record.id is not None
                control.set_intent_status(record.id, "building")
                console.print(f"building demo product {tenant}/{product} …")
                _print_summary(build_product(tenant, product).summary())
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
            _stop_deployed(control, running_before)
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
