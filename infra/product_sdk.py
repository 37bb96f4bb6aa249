"""The typed client SDK of a released product, as the Studio's product page offers it.

It is rendered on demand from the OpenAPI document of the product's last release as the factory generated it
(the tip of `factory/generated`: the pristine render, without a person's edits), with the `python-sdk` pack
the tenant's policy must trust like any pack. `factory sdk` renders the same SDK from a running service.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from generators.packs import load_pack
from generators.sdk import SDK_PACK
from generators.sdk_bundle import SdkBundle, default_package, sdk_bundle, service_openapi
from infra.gitops import GENERATED_BRANCH, ProductRepository
from infra.pack_trust import check_pack_trust
from ontology.errors import NotFoundError
from ontology.refs import ProductRef

__all__ = ["ProductSdk", "product_sdk"]


@dataclass(frozen=True)
class ProductSdk:
    """The SDK of a product's release: the bundle, the generated commit it was read from and its pack version."""

    bundle: SdkBundle
    commit: str
    template: str


def product_sdk(home: Path, ref: ProductRef, package: str = "") -> ProductSdk:
    """Render the SDK of `ref`'s last release (package `<product>_client` unless named)."""
    check_pack_trust(home, ref.tenant, load_pack(SDK_PACK))
    if not (Path(home).resolve() / "repos" / ref.tenant / ref.product / ".git").is_dir():
        raise NotFoundError(f"{ref} is not released yet: build it first")
    repo = ProductRepository(home, ref.tenant, ref.product)
    commit = repo.head(GENERATED_BRANCH)
    template = repo.trailers(commit).get("Template", "") if commit else ""
    if commit is None or not template:
        raise NotFoundError(f"{ref} is not released yet: build it first")
    with tempfile.TemporaryDirectory(prefix="factory-sdk-") as scratch:
        tree = repo.export(commit, Path(scratch) / "tree")
        document = service_openapi(tree)
    return ProductSdk(sdk_bundle(document, package or default_package(ref.product)), commit, template)
