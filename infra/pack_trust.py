"""Whether a tenant trusts a template pack: its policy (Cedar, action `use_pack`) decides.

The question is the tenant's, not the person's who builds: it is asked by the principal
`tenant <t>`, which holds no role, so only a `use_pack` policy can allow it. The factory default
trusts the packs it ships; a tenant's policy file adds the publishers it trusts, by key, e.g.

    permit (principal, action == Factory::Action::"use_pack", resource is Factory::Pack)
    when { resource.key == "ed25519:..." };

and, if it accepts unsigned packs, `when { !resource.signed }`. An altered pack or a forged
signature never reaches the policy: loading the pack refuses it (`generators.pack_integrity`).
"""

from __future__ import annotations

from pathlib import Path

from generators.packs import TemplatePack
from infra.access import AccessDenied, Decision, Principal, Resource, decide
from ontology.packs import PackSeal
from ontology.refs import check_slug

__all__ = ["PackNotTrusted", "check_pack_trust", "pack_decision", "trusts_pack"]


class PackNotTrusted(AccessDenied):
    """The tenant's policy does not allow rendering with this pack; nothing was rendered."""


def pack_decision(home: Path, tenant: str, pack: PackSeal) -> Decision:
    """What `tenant`'s policy in force answers about rendering its products with `pack` (asked by the tenant,
    which holds no role, so only a `use_pack` policy decides). A pack need not be installed to be asked about:
    `factory policy test --action use_pack` describes one a tenant admin considers installing."""
    principal = Principal(name=f"tenant {check_slug(tenant, 'tenant')}", kind="tenant")
    return decide(principal, "use_pack", Resource(tenant, pack=pack), home)


def trusts_pack(home: Path, tenant: str, pack: TemplatePack) -> bool:
    """Whether `tenant`'s policy in force allows rendering its products with `pack`."""
    return pack_decision(home, tenant, pack.sealed).allowed


def check_pack_trust(home: Path, tenant: str, pack: TemplatePack) -> None:
    """Go on if `tenant` trusts `pack`; else PackNotTrusted with one line that says why and what to do."""
    if trusts_pack(home, tenant, pack):
        return
    seal = pack.seal
    if seal is None or not seal.signed:
        why = "it is unsigned and the tenant's policy does not allow unsigned packs"
    else:
        why = f"it is signed by {seal.publisher} (key {seal.key}), a publisher the tenant's policy does not trust"
    raise PackNotTrusted(
        f"tenant {tenant} may not render with template pack {pack.name} {pack.version}: {why} "
        f"(see `factory templates show {pack.name} --version {pack.version}` and `factory policy set`)"
    )
