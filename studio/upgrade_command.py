"""`factory upgrade`: move a product (or every product of a tenant on one pack version) to another version
of its template pack, merged three ways with the person's edits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ontology.errors import InvalidInputError
from ontology.refs import ProductRef, check_slug
from studio.output import console, print_json, print_table

if TYPE_CHECKING:
    from infra.lifecycle.upgrade import UpgradeReport

__all__ = ["upgrade"]


def _show(report: UpgradeReport, dry_run: bool) -> None:
    console.print(report.message, markup=False, highlight=False, soft_wrap=True)
    for old, new in sorted(report.moved.items()):
        console.print(f"  moved {old} -> {new}", markup=False, highlight=False, soft_wrap=True)
    for path in report.conflicts:
        console.print(f"  conflict {path}", markup=False, highlight=False, soft_wrap=True)
    for check, found in sorted(report.checks.items()):
        console.print(f"  {check}: {found[0][:300]}", markup=False, highlight=False, soft_wrap=True)
    if dry_run and report.diff:
        console.print(report.diff, markup=False, highlight=False, soft_wrap=True)


def upgrade(
    product: Annotated[
        str, typer.Argument(help="tenant/product; or a tenant, with --from, to upgrade each product on that version.")
    ],
    to: Annotated[str, typer.Option("--to", help="The pack version to upgrade to, as pack@version.")],
    source: Annotated[
        str, typer.Option("--from", help="With a tenant: upgrade its products on this pack@version.")
    ] = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff and the conflicts; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Regenerate the product with another pack version and merge it three ways with the edits on main: edits
    survive, conflicts stay as markers on branch factory/upgrade/<pack>-<version>, and main moves only once the
    merged product passes its blocking checks (tests, lint, tenant scoping, contract)."""
    from infra.access import Resource
    from infra.lifecycle.upgrade import upgrade as upgrade_product
    from infra.lifecycle.upgrade import upgrade_tenant
    from studio.access_commands import allowed

    if "/" in product:
        if source:
            raise InvalidInputError("--from is for a tenant's products: name the tenant alone, like acme")
        ref = ProductRef.parse(product)
        who = allowed("rebuild", Resource.of(ref))
        reports = [upgrade_product(who.control, who.home, ref, to, actor=who.name, dry_run=dry_run)]
    else:
        if not source:
            raise InvalidInputError(f"name the product as tenant/product (like {product}/shop), or pass --from")
        who = allowed("rebuild", Resource.scope(check_slug(product, "tenant")))
        reports = upgrade_tenant(who.control, who.home, product, source, to, actor=who.name, dry_run=dry_run)
    if as_json:
        print_json([r.model_dump() for r in reports] if source else reports[0].model_dump())
    elif source:
        rows = [(r.product, r.status, ", ".join(r.conflicts) or "-", r.message) for r in reports]
        print_table(["product", "status", "conflicts", "message"], rows, title=f"{product}: {source} -> {to}")
    else:
        _show(reports[0], dry_run)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)
