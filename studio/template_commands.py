"""The commands of template packs (`factory templates ...`) and of the Marketplace (`factory marketplace`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from infra.access import Resource
from ontology.errors import FactoryError, InvalidInputError
from studio.access_commands import JsonOpt, allowed
from studio.output import console, print_json, print_table

if TYPE_CHECKING:
    from graph import KnowledgeGraph

__all__ = ["marketplace_app", "templates_app"]

templates_app = typer.Typer(
    help="Template packs: list, show, install, deprecate and remove them; keygen and sign for publishers.",
    no_args_is_help=True,
)
marketplace_app = typer.Typer(
    help="The Marketplace: packs, their publishers, the products using them and how they fare."
)

NameArg = Annotated[str, typer.Argument(help="The pack's name.")]
VersionArg = Annotated[str, typer.Argument(help="The pack's version (MAJOR.MINOR.PATCH).")]
ScopeTenantOpt = Annotated[
    str | None, typer.Option("--tenant", "-t", help="The tenant whose products and trust to show.")
]


def _kg(home: Path) -> KnowledgeGraph:
    from graph import KnowledgeGraph  # the graph's engines load only for the commands that use it

    return KnowledgeGraph(home, embedder=None)


def _refresh_catalog(home: Path) -> None:
    from infra.marketplace import refresh_catalog

    refresh_catalog(_kg(home))


@templates_app.command("list")
def templates_list(as_json: JsonOpt = False) -> None:
    """Every pack version, built-in and installed, with its verification and deprecation."""
    from generators.pack_store import catalog

    rows = [
        {
            "name": e.name,
            "version": e.version,
            "source": e.source,
            "verification": e.verification,
            "deprecated": e.pack.deprecated if e.pack else "",
            "description": e.pack.description if e.pack else "",
        }
        for e in catalog()
    ]
    if as_json:
        print_json(rows)
        return
    print_table(["name", "version", "source", "verification", "deprecated"], [list(r.values())[:5] for r in rows])


@templates_app.command("show")
def templates_show(
    name: NameArg,
    version: Annotated[str | None, typer.Option("--version", help="The version (default: the latest).")] = None,
    tenant: ScopeTenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A pack version's manifest, digest, signature, features and files; with --tenant, whether it trusts it."""
    from generators.packs import load_pack
    from infra.pack_trust import trusts_pack

    pack = load_pack(name, version)
    seal = pack.sealed
    trusted = None
    if tenant is not None:
        who = allowed("read", Resource.scope(tenant))
        trusted = trusts_pack(who.home, tenant, pack)
    facts: dict[str, Any] = {
        "name": pack.name,
        "version": pack.version,
        "description": pack.description,
        "source": pack.source,
        "verification": seal.describe(),
        "publisher": seal.publisher,
        "key": seal.key,
        "digest": seal.digest,
        "factory": f">= {pack.min_factory_version}"
        + (f", <= {pack.max_factory_version}" if pack.max_factory_version else ""),
        "features": sorted(pack.features),
        "parameters": [p.name for p in pack.parameters],
        "deprecated": pack.deprecated,
        "files": pack.template_paths(),
    }
    if tenant is not None:
        facts["trusted_by"] = {tenant: trusted}
    if as_json:
        print_json(facts)
        return
    for key, value in facts.items():
        if key == "files":
            continue
        shown = ", ".join(value) if isinstance(value, list) else value
        shown = f"{tenant}: {'trusted' if trusted else 'NOT trusted'}" if key == "trusted_by" else shown
        console.print(f"{key:>13}: {shown}", highlight=False)
    console.print(f"{'files':>13}: {len(facts['files'])}", highlight=False)


@templates_app.command("install")
def templates_install(
    source: Annotated[str, typer.Argument(help="A pack folder, a .tar.gz or .zip archive, or a git URL.")],
    ref: Annotated[str | None, typer.Option("--ref", help="The branch or tag of a git URL.")] = None,
) -> None:
    """Install a pack version under the factory home, verified (factory admin)."""
    from generators.pack_store import install_pack

    who = allowed("import", Resource.scope(None))
    try:
        pack = install_pack(source, ref)
    except FactoryError as exc:
        who.control.audit("templates.install", "refused", actor=who.name, detail=f"{source[:200]}: {exc}"[:2000])
        raise
    assert pack.seal is not None  # an installed pack always has its lock checked
    detail = f"{pack.name} {pack.version} from {source[:200]}: {pack.seal.describe()}, {pack.seal.digest}"
    who.control.audit("templates.install", "ok", actor=who.name, detail=detail)
    _refresh_catalog(who.home)
    console.print(f"installed {pack.name} {pack.version} ({pack.seal.describe()}, {pack.seal.digest})", highlight=False)


@templates_app.command("remove")
def templates_remove(
    name: NameArg,
    version: VersionArg,
    force: Annotated[bool, typer.Option("--force", help="Remove it even though products were built with it.")] = False,
) -> None:
    """Remove an installed pack version (factory admin); refused while products were built with it, unless --force."""
    from generators.pack_store import remove_pack

    who = allowed("import", Resource.scope(None))
    used = sorted({f"{b.tenant}/{b.product}" for b in who.control.builds(None) if b.template == f"{name}@{version}"})
    if used and not force:
        raise InvalidInputError(
            f"{name} {version} rendered {len(used)} product(s) ({', '.join(used[:5])}): upgrade them first, or --force"
        )
    remove_pack(name, version)
    who.control.audit("templates.remove", "ok", actor=who.name, detail=f"{name} {version}")
    _refresh_catalog(who.home)
    console.print(f"removed {name} {version}", highlight=False)


@templates_app.command("deprecate")
def templates_deprecate(
    name: NameArg,
    version: VersionArg,
    reason: Annotated[str, typer.Option("--reason", help="Why, and what to use instead.")] = "",
    undo: Annotated[bool, typer.Option("--undo", help="It is no longer deprecated.")] = False,
) -> None:
    """Deprecate a pack version (factory admin): it still renders, but is no longer picked by default."""
    from generators.pack_store import deprecate_pack

    who = allowed("import", Resource.scope(None))
    deprecate_pack(name, version, reason, undo=undo)
    what = "no longer deprecated" if undo else f"deprecated: {' '.join(reason.split())}"
    who.control.audit("templates.deprecate", "ok", actor=who.name, detail=f"{name} {version} {what}")
    _refresh_catalog(who.home)
    console.print(f"{name} {version} {what}", highlight=False)


@templates_app.command("keygen")
def templates_keygen(
    publisher: Annotated[str, typer.Argument(help="The publisher's name (lowercase letters, digits and '-').")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <publisher>.key and <publisher>.pub.")] = Path(),
) -> None:
    """Make a publisher's Ed25519 key pair: keep the .key secret, give the .pub to the tenants that trust you."""
    from generators.pack_integrity import keygen

    private, public, key = keygen(publisher, out)
    console.print(f"private key {private} (keep it secret), public key {public}:\n{key}", highlight=False)


@templates_app.command("lock")
def templates_lock(
    folder: Annotated[Path, typer.Argument(help="The pack's folder (holding manifest.yaml).")],
) -> None:
    """Record a pack's files in manifest.lock (SHA-256 per file and the content digest), unsigned."""
    from generators.pack_integrity import write_lock
    from generators.pack_store import read_identity

    name, version = read_identity(folder)
    digest = write_lock(folder, name, version)
    console.print(f"locked {name} {version}: {digest}", highlight=False, soft_wrap=True)


@templates_app.command("sign")
def templates_sign(
    folder: Annotated[Path, typer.Argument(help="The pack's folder (holding manifest.yaml).")],
    key: Annotated[Path, typer.Option("--key", help="The publisher's private key (from keygen).")],
    publisher: Annotated[str, typer.Option("--publisher", help="The publisher's name.")],
) -> None:
    """Lock a pack's files (manifest.lock) and sign the lock as the publisher (manifest.sig)."""
    from generators.pack_integrity import sign_pack
    from generators.pack_store import read_identity

    name, version = read_identity(folder)
    seal = sign_pack(folder, name, version, key, publisher)
    console.print(f"signed {name} {version} as {publisher}: {seal.files} files, {seal.digest}", highlight=False)


# marketplace ---------------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


@marketplace_app.callback(invoke_without_command=True)
def marketplace(
    ctx: typer.Context,
    tenant: ScopeTenantOpt = None,
    admin: Annotated[bool, typer.Option("--admin", help="Every tenant's products (factory admin).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Every pack version: publisher, verification, trust, the products using it and how they fare."""
    if ctx.invoked_subcommand is not None:
        return
    from infra.marketplace import listings

    if admin == (tenant is not None):
        raise InvalidInputError("give either --tenant T or --admin")
    who = allowed("read", Resource.scope(tenant))
    rows = listings(_kg(who.home), who.home, tenant)
    if as_json:
        print_json([{**r.__dict__, "products": list(r.products), "pass_rate": r.pass_rate} for r in rows])
        return
    trust = {True: "yes", False: "no", None: "-"}
    print_table(
        ["pack", "version", "publisher", "verification", "trusted", "products", "pass rate", "contract fails",
         "SLO breaches", "deprecated"],
        [[r.name, r.version, r.publisher or "-", r.verification, trust[r.trusted], len(r.products),
          _percent(r.pass_rate), r.contract_failures, r.slo_breaches, r.deprecated or ""] for r in rows],
    )  # fmt: skip


@marketplace_app.command("upgrade")
def marketplace_upgrade(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant whose products to upgrade.")],
    pack: Annotated[str, typer.Option("--pack", help="The pack's name.")],
    from_version: Annotated[str, typer.Option("--from", help="Upgrade the products on this version...")],
    to_version: Annotated[str, typer.Option("--to", help="...to this one.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what each upgrade would change.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Upgrade every product of a tenant on one pack version to another, and report per product."""
    from infra.marketplace import upgrade_products

    who = allowed("rebuild", Resource.scope(tenant))
    reports = upgrade_products(
        who.control, who.home, tenant, pack, from_version, to_version, actor=who.name, dry_run=dry_run
    )
    if as_json:
        print_json([r.model_dump() for r in reports])
    elif not reports:
        console.print(f"no released product of {tenant} is on {pack} {from_version}", highlight=False)
    else:
        print_table(["product", "outcome", "detail"], [[r.product, r.status, r.message] for r in reports])
    if not all(r.ok for r in reports):
        raise typer.Exit(1)
