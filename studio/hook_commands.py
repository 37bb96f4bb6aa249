"""The commands of a product's inbound push hook (the work is in infra.git_hooks)."""

from __future__ import annotations

from typing import Annotated

import typer

from infra import git_hooks
from infra.access import Resource
from studio.access_commands import allowed
from studio.lifecycle_commands import ProductArg, TenantOpt, _ref
from studio.output import console

__all__ = ["hooks_app"]

hooks_app = typer.Typer(help="Push webhooks from a git host that rebuild a product.", no_args_is_help=True)


@hooks_app.command("secret")
def hooks_secret(
    product: ProductArg,
    tenant: TenantOpt = "",
    upstream: Annotated[
        str | None,
        typer.Option(
            "--upstream", help="https URL of the host's repository to fetch main from (default: the product's remote)."
        ),
    ] = None,
) -> None:
    """Make (or replace) the product's push hook secret; printed once: give it to the git host's webhook."""
    ref = _ref(product, tenant)
    who = allowed("webhooks", Resource.scope(ref.tenant))
    secret = git_hooks.set_hook_secret(who.control, ref, actor=who.name, upstream=upstream)
    console.print(f"push hook of {ref}: POST /v1/hooks/git/{ref.tenant}/{ref.product}", highlight=False)
    console.print(f"secret (shown once): {secret}", highlight=False, soft_wrap=True)


@hooks_app.command("remove")
def hooks_remove(product: ProductArg, tenant: TenantOpt = "") -> None:
    """Forget the product's push hook secret: its pushes are refused from now on."""
    ref = _ref(product, tenant)
    who = allowed("webhooks", Resource.scope(ref.tenant))
    git_hooks.remove_hook(who.control, ref, actor=who.name)
    console.print(f"push hook of {ref} removed", highlight=False)
