"""The Marketplace: every pack version with its publisher, its verification, the products that use it and
how they fare (from the knowledge graph), and the one action that upgrades a tenant's products to another
version.

The catalog facts (pack, version, publisher, key, digest, source, deprecation) are written to the
knowledge graph's shared catalog graph by `refresh_catalog`; which products use which version, and their
validation, contract failures and SLO breaches, come from the products' own graphs (`graph.catalog`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generators.pack_store import PackEntry, catalog
from generators.packs import load_pack
from graph.catalog import CatalogPack, PackUse, pack_uses, write_catalog
from infra.lifecycle.upgrade import UpgradeReport, upgrade_tenant
from infra.pack_trust import check_pack_trust, trusts_pack
from ontology.errors import InvalidInputError

if TYPE_CHECKING:
    from graph.knowledge_graph import KnowledgeGraph
    from infra.control import ControlPlane

__all__ = [
    "Listing",
    "listings",
    "refresh_catalog",
    "upgrade_products",
]


@dataclass(frozen=True)
class Listing:
    """One pack version in the Marketplace."""

    name: str
    version: str
    description: str
    source: str
    verification: str
    """built-in, signed by <publisher> (<key>…), unsigned, or refused: <why>."""
    publisher: str
    digest: str
    deprecated: str
    trusted: bool | None
    """Whether the tenant asked about trusts it (None: no tenant asked, or the pack cannot be used)."""
    products: tuple[str, ...] = ()
    validated: int = 0
    """How many of the products' latest builds reached a validation report."""
    passed: int = 0
    contract_failures: int = 0
    slo_breaches: int = 0

    @property
    def pack_usable(self) -> bool:
        """Whether the version loads (verified) and, for a tenant, is trusted by it."""
        return self.digest != "" and self.trusted is not False

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.validated if self.validated else None

    def row(self) -> dict[str, object]:
        """The listing as a table row (the Studio's Marketplace page)."""
        trust = {True: "yes", False: "no", None: "-"}[self.trusted]
        return {
            "pack": self.name, "version": self.version, "publisher": self.publisher or "-",
            "verification": self.verification, "trusted": trust, "products": len(self.products),
            "pass rate": self.pass_rate, "contract failures": self.contract_failures,
            "SLO breaches": self.slo_breaches, "deprecated": self.deprecated, "digest": self.digest,
        }  # fmt: skip


def _catalog_pack(entry: PackEntry) -> CatalogPack | None:
    if entry.pack is None:
        return None
    return CatalogPack(entry.pack.sealed, entry.pack.description, entry.pack.deprecated)


def refresh_catalog(kg: KnowledgeGraph) -> int:
    """Write every usable pack version's catalog facts into the knowledge graph; returns how many."""
    packs = [p for p in (_catalog_pack(e) for e in catalog()) if p is not None]
    write_catalog(kg, packs)
    return len(packs)


def listings(kg: KnowledgeGraph, home: Path, tenant: str | None) -> list[Listing]:
    """The Marketplace as `tenant` (None: a factory admin, every tenant's products) sees it."""
    uses: dict[tuple[str, str], list[PackUse]] = {}
    for use in pack_uses(kg, tenant):
        uses.setdefault((use.pack, use.version), []).append(use)
    rows = []
    for entry in catalog():
        pack = entry.pack
        used = uses.get((entry.name, entry.version), [])
        validated = [u for u in used if u.validated is not None]
        seal = pack.sealed if pack is not None else None
        rows.append(
            Listing(
                name=entry.name,
                version=entry.version,
                description=pack.description if pack else "",
                source=entry.source,
                verification=entry.verification,
                publisher=seal.publisher if seal else "",
                digest=seal.digest if seal else "",
                deprecated=pack.deprecated if pack else "",
                trusted=trusts_pack(home, tenant, pack) if tenant and pack else None,
                products=tuple(f"{u.tenant}/{u.product}" for u in used),
                validated=len(validated),
                passed=sum(1 for u in validated if u.validated),
                contract_failures=sum(u.contract_failures for u in used),
                slo_breaches=sum(u.slo_breaches for u in used),
            )
        )
    return rows


def upgrade_products(
    control: ControlPlane,
    home: Path,
    tenant: str,
    pack: str,
    from_version: str,
    to_version: str,
    *,
    actor: str,
    dry_run: bool = False,
) -> list[UpgradeReport]:
    """Upgrade every product of `tenant` on `pack`@`from_version` to `to_version`, one by one; one report each
    (`factory upgrade`'s use case: three-way merge, blocking checks, main moved only when they pass).

    Which products are on `from_version` is read from their repositories (`released_on`), not from the
    listing's graph facts: the graph records the version each product's latest *build* used, which is what its
    outcomes belong to, while an upgrade starts from the code on main, which an earlier upgrade may have moved
    before any rebuild. The page offers the versions `released_on` finds, so the form and the action agree.

    The target must exist, verify and be trusted by the tenant before any product is touched; a product whose
    upgrade fails or is refused does not stop the others: its report says why."""
    if from_version == to_version:
        raise InvalidInputError(f"the products are on {pack} {from_version} already: name another version to go to")
    check_pack_trust(home, tenant, load_pack(pack, to_version))
    return upgrade_tenant(control, home, tenant, f"{pack}@{from_version}", f"{pack}@{to_version}",
                          actor=actor, dry_run=dry_run)  # fmt: skip
