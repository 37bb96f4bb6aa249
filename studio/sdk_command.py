"""`factory sdk`: the typed Python client SDK of a product, rendered from its running service's OpenAPI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ontology.errors import InvalidInputError
from ontology.refs import ProductRef
from studio.output import console

__all__ = ["sdk"]


def sdk(
    product: Annotated[str, typer.Argument(help="The product as tenant/product.")],
    out: Annotated[Path, typer.Option("--out", help="A new (or empty) folder for the SDK.")],
    package: Annotated[str, typer.Option("--package", help="The SDK's package name; default <product>_client.")] = "",
    env: Annotated[str, typer.Option("--env", "-e", help="The environment whose running service is read.")] = "dev",
) -> None:
    """Render the typed client SDK of the product's running service (`python-sdk` pack) from its OpenAPI
    document: TypedDicts, one typed method per operation, errors by status, and tests that run against it."""
    import httpx

    from generators.sdk import render_sdk
    from generators.sdk_bundle import default_package
    from infra.access import Resource
    from studio.access_commands import allowed

    ref = ProductRef.parse(product)
    who = allowed("read", Resource.of(ref, env=env))
    found = who.control.deployment(ref.tenant, ref.product, env)
    if found is None or found.status != "running" or not found.url:
        raise InvalidInputError(f"{ref} has no running service in {env}: build it (or promote it) first")
    try:
        answer = httpx.get(f"{found.url.rstrip('/')}/openapi.json", timeout=10.0)
        answer.raise_for_status()
        document = answer.json()
    except (httpx.HTTPError, ValueError) as error:
        raise InvalidInputError(f"{ref}'s service gave no OpenAPI document ({type(error).__name__})") from None
    name = package or default_package(ref.product)
    files = render_sdk(document, out, name)
    console.print(f"wrote the {name} SDK ({len(files)} files) to {out}", markup=False, highlight=False, soft_wrap=True)
