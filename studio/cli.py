"""The `factory` command line: query, trace and search the knowledge graph, export and import it."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from graph import USER_QUERY_ROWS, USER_QUERY_TIMEOUT_S
from graph.files import replacing
from ontology.errors import FactoryError, InvalidInputError
from studio import (
    access_commands,
    api_command,
    blueprint_command,
    doctor_command,
    event_commands,
    hook_commands,
    lifecycle_commands,
    policy_commands,
    sdk_command,
    template_commands,
    upgrade_command,
    worker_command,
)
from studio.intent_input import IntentCommand
from studio.output import console, error, print_json, print_table, print_trace

if TYPE_CHECKING:
    from graph import KnowledgeGraph

__all__ = ["app", "main"]

app = typer.Typer(
    name="factory",
    help="Software Factory: turn a business intent into a running, traceable service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
query_app = typer.Typer(help="Read-only, tenant-scoped queries over the knowledge graph.", no_args_is_help=True)
kg_app = typer.Typer(help="Knowledge graph administration: stats, export, import, rebuild.", no_args_is_help=True)
app.add_typer(query_app, name="query")
app.add_typer(kg_app, name="kg")

TenantOpt = Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant whose graphs the query sees.")]
AdminOpt = Annotated[bool, typer.Option("--admin", help="Every tenant (needs the factory admin role).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Bind a query parameter: name=value (value <iri> for an IRI in SPARQL)."),
]


def _kg() -> KnowledgeGraph:
    from graph import KnowledgeGraph  # the engines load only for the commands that use the graph

    return KnowledgeGraph()


def _scope(tenant: str | None, admin: bool) -> str | None:
    """The tenant a query sees, if the principal may read it; every tenant (None) only for a factory admin."""
    if admin and tenant:
        raise InvalidInputError("give either --tenant or --admin, not both")
    if not admin and not tenant:
        raise InvalidInputError("give --tenant T (or --admin to see every tenant)")
    _allowed("read", tenant)
    return tenant


def _allowed(action: str, tenant: str | None) -> access_commands.SignedIn:
    """Go on if the principal may do `action` in `tenant` (None: the whole factory); else one line."""
    from infra.access import Resource

    return access_commands.allowed(action, Resource.scope(tenant))


def _params(pairs: list[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise InvalidInputError(f"bad --param {pair[:60]!r}: write name=value")
        params[name] = value
    return params


LimitOpt = Annotated[
    int, typer.Option("--limit", min=1, max=1_000_000, help="Return at most this many rows; says when there are more.")
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=0.1, max=3600, help="Stop the query after this many seconds.")
]


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Ends the command when its query outlasts `seconds` by far: Oxigraph cannot stop a query that
    computes long before its first row (an aggregate over a huge join), as Kùzu and row reading can."""

    def stop() -> None:
        error(f"the query ran longer than {seconds:g} s and was stopped: narrow it, or pass a longer --timeout")
        sys.stderr.flush()
        os._exit(2)

    timer = threading.Timer(seconds + 2, stop)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _show(result: Any, as_json: bool) -> None:
    more = f"the query has more rows: only the first {len(result.rows):,} were read (pass a larger --limit)"
    more = more if result.truncated else ""
    if as_json:
        print_json(result.boolean if result.boolean is not None else result.records())
        if more:
            error_console_note(more)
    elif result.boolean is not None:
        console.print("yes" if result.boolean else "no")
    else:
        print_table(result.columns, result.rows)
        console.print(f"[dim]{more or f'{len(result.rows)} row(s)'}[/]")


@query_app.command("sparql")
def query_sparql(
    query: Annotated[str, typer.Argument(help="A SPARQL SELECT, ASK, CONSTRUCT or DESCRIBE query.")],
    tenant: TenantOpt = None,
    admin: AdminOpt = False,
    param: ParamOpt = None,
    as_json: JsonOpt = False,
    limit: LimitOpt = USER_QUERY_ROWS,
    timeout: TimeoutOpt = USER_QUERY_TIMEOUT_S,
) -> None:
    """Run a read-only SPARQL query over a tenant's graphs (plus the shared ontology and patterns)."""
    from rdflib import URIRef

    scope = _scope(tenant, admin)
    bound: dict[str, str] = {
        k: URIRef(v[1:-1]) if v.startswith("<") and v.endswith(">") else v for k, v in _params(param).items()
    }
    with _time_limit(timeout):
        result = _kg().sparql(query, scope, bound, max_rows=limit, timeout_s=timeout)
    _show(result, as_json)


@query_app.command("cypher")
def query_cypher(
    query: Annotated[str, typer.Argument(help="A read-only Cypher query.")],
    tenant: TenantOpt = None,
    admin: AdminOpt = False,
    param: ParamOpt = None,
    as_json: JsonOpt = False,
    limit: LimitOpt = USER_QUERY_ROWS,
    timeout: TimeoutOpt = USER_QUERY_TIMEOUT_S,
) -> None:
    """Run a read-only Cypher query over a tenant's property graph."""
    scope = _scope(tenant, admin)
    with _time_limit(timeout):
        result = _kg().cypher(query, scope, _params(param), max_rows=limit, timeout_s=timeout)
    _show(result, as_json)


@app.command("trace")
def trace(
    trace_id: Annotated[str, typer.Argument(help="The 32-hex-digit trace id of a build.")],
    tenant: TenantOpt = None,
    engine: Annotated[str, typer.Option(help="rdf (Oxigraph) or kuzu (needs --tenant).")] = "rdf",
    as_json: JsonOpt = False,
) -> None:
    """Walk one build's chain: intent, requirements, blueprint, artifacts, validation, release, deployment..."""
    _allowed("read", tenant)
    steps = _kg().trace(trace_id, tenant, engine)
    if not steps:
        raise InvalidInputError(f"no facts carry trace id {trace_id}")
    if as_json:
        print_json([s.as_dict() for s in steps])
        return
    print_trace(steps)


@app.command("search")
def search(
    text: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    tenant: TenantOpt = None,
    admin: AdminOpt = False,
    k: Annotated[int, typer.Option("-k", help="How many results.")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Semantic search over past products and intents."""
    scope = _scope(tenant, admin)
    matches = _kg().similar(text, k, scope)
    if as_json:
        print_json([m.__dict__ for m in matches])
        return
    print_table(
        ["score", "kind", "tenant/product", "text"],
        [[f"{m.score:.3f}", m.kind, f"{m.tenant}/{m.product}", m.text] for m in matches],
    )


@kg_app.command("stats")
def kg_stats(as_json: JsonOpt = False) -> None:
    """Sizes of the RDF store and of each tenant's property graph."""
    _allowed("read", None)
    stats = _kg().stats()
    if as_json:
        print_json(stats)
        return
    console.print(
        f"home {stats['home']}: {stats['triples']:,} triples in {stats['graphs']} graphs, {stats['products']} products"
    )
    print_table(
        ["tenant", "products", "nodes", "edges", "memories"],
        [[t, v["products"], v["nodes"], v["edges"], v["memories"]] for t, v in stats["tenants"].items()],
    )


@kg_app.command("export")
def kg_export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant's products.")] = None,
) -> None:
    """Export one tenant, or the whole graph, as N-Quads."""
    _allowed("read", tenant)
    kg = _kg()
    if output is None:
        count = kg.export_nquads(sys.stdout.buffer, tenant)
    else:
        try:
            with replacing(output) as out:
                count = kg.export_nquads(out, tenant)
        except OSError as exc:
            raise InvalidInputError(f"cannot write {output}: {exc.strerror}") from None
    error_console_note(f"exported {count:,} quads")


@kg_app.command("import")
def kg_import(
    source: Annotated[Path, typer.Argument(help="An N-Quads file written by `factory kg export`.")],
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Refuse graphs of any other tenant.")] = None,
) -> None:
    """Import N-Quads; each graph in the file replaces the stored one, and the projection is rebuilt."""
    if not source.is_file():
        raise InvalidInputError(f"no such file: {source}")
    who = _allowed("import", tenant)
    with source.open("rb") as data:
        count = _kg().import_nquads(data, tenant)
    who.control.audit("kg.import", "ok", tenant=tenant, actor=who.name, detail=f"{count} quads from {source.name}")
    console.print(f"imported {count:,} quads from {source}")


@kg_app.command("rebuild")
def kg_rebuild(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant whose property graph to rebuild.")],
) -> None:
    """Rebuild a tenant's property graph and vectors from the RDF store (a fresh disk, or a lost database)."""
    who = _allowed("import", tenant)
    done = _kg().rebuild_tenant(tenant)
    who.control.audit("kg.rebuild", "ok", tenant=tenant, actor=who.name, detail=f"{done.quads} quads, {done.rows} rows")
    console.print(
        f"rebuilt tenant {tenant}'s property graph from {done.quads:,} quads: {done.rows:,} rows "
        f"(read {done.rdf_seconds:.1f} s, projected {done.projection_seconds:.1f} s)"
    )


@kg_app.command("init")
def kg_init() -> None:
    """Load the ontology and the pattern library into the knowledge graph."""
    _allowed("import", None)
    kg = _kg()
    kg.bootstrap()
    console.print(f"ontology and pattern library loaded into {kg.home}")


app.add_typer(template_commands.templates_app, name="templates")
app.add_typer(template_commands.marketplace_app, name="marketplace")
app.command("build", cls=IntentCommand)(lifecycle_commands.build)
app.command("rebuild")(lifecycle_commands.rebuild)
app.command("contract")(lifecycle_commands.contract)
app.command("up")(lifecycle_commands.up)
app.command("doctor")(doctor_command.doctor)
app.command("worker")(worker_command.worker)
app.command("api")(api_command.api)
app.command("approve")(lifecycle_commands.approve)
app.command("promote")(lifecycle_commands.promote)
app.command("rollback")(lifecycle_commands.rollback)
app.command("upgrade")(upgrade_command.upgrade)
app.command("sdk")(sdk_command.sdk)
app.add_typer(lifecycle_commands.products_app, name="products")
app.add_typer(lifecycle_commands.deployments_app, name="deployments")
app.command("blueprint", cls=IntentCommand)(blueprint_command.blueprint)
app.command("login")(access_commands.login)
app.command("logout")(access_commands.logout)
app.add_typer(access_commands.users_app, name="users")
app.add_typer(access_commands.tokens_app, name="tokens")
app.add_typer(policy_commands.policy_app, name="policy")
app.add_typer(policy_commands.audit_app, name="audit")
app.add_typer(event_commands.events_app, name="events")
app.add_typer(event_commands.webhooks_app, name="webhooks")
app.add_typer(hook_commands.hooks_app, name="hooks")


@app.command("generate")
def generate(
    blueprint_file: Annotated[Path, typer.Argument(help="A blueprint YAML file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to render the product into.")],
    template: Annotated[str, typer.Option(help="Template pack name.")] = "fastapi-service",
    version: Annotated[str | None, typer.Option(help="Template pack version (default: latest).")] = None,
    trace_id: Annotated[str | None, typer.Option("--trace-id", help="Trace id to stamp (default: new).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Render a product from a blueprint with a template pack.

    Into a folder that holds an earlier render of the same product, it renders the next revision: the
    earlier migrations are kept and the tables' changes become one more."""
    from generators.agents.engineer import Engineer
    from generators.blueprint import load_blueprint
    from generators.migrations import read_previous
    from generators.packs import load_pack
    from generators.rendering import ANSWERS_PATH
    from infra.pack_trust import check_pack_trust
    from ontology.config import factory_home
    from ontology.refs import check_trace_id, new_trace_id

    bp = load_blueprint(blueprint_file)
    check_pack_trust(factory_home(), bp.tenant, load_pack(template, version))  # before anything is rendered
    trace = check_trace_id(trace_id) if trace_id else new_trace_id()
    previous = read_previous(output, ANSWERS_PATH)  # a render of this product there: its next revision
    if previous is not None and (previous.blueprint.tenant, previous.blueprint.slug) != (bp.tenant, bp.slug):
        previous = None
    result = Engineer().render(bp, output, trace, pack=(template, version), previous=previous)
    files = [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in result.files]
    if as_json:
        print_json({"output": str(output), "trace_id": trace, "files": files})
        return
    console.print(f"rendered {len(files)} files for {bp.name} into {output} (trace {trace})")


@app.command("demo")
def demo() -> None:
    """Load the ontology and sample products, then run a trace, a SPARQL, a Cypher query and a search."""
    from studio.demo import run_demo

    _allowed("import", None)
    run_demo(_kg())


def error_console_note(message: str) -> None:
    print(message, file=sys.stderr)


def main() -> None:
    """Entry point: one-line errors and a non-zero exit instead of tracebacks."""
    try:
        code = app(standalone_mode=False)  # a command's typer.Exit(n) comes back as its return value
        if isinstance(code, int) and code:
            sys.exit(code)
    except FactoryError as exc:
        error(str(exc))
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: a missing argument, an unknown command or option
        format_message = getattr(exc, "format_message", None)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        error(f"{format_message() if callable(format_message) else exc}{hint}")
        sys.exit(getattr(exc, "exit_code", 2))
    except (typer.Abort, KeyboardInterrupt):
        error("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        if os.environ.get("FACTORY_DEBUG"):
            raise
        error(f"internal error: {type(exc).__name__}: {exc} (set FACTORY_DEBUG=1 for the traceback)")
        sys.exit(1)
