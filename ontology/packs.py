"""A template pack version as the factory knows it once checked: the one description of a pack that the
pack loader produces (`generators.pack_integrity`), the knowledge graph records (`graph.facts`,
`graph.catalog`) and a tenant's policy decides on (`infra.access`, action `use_pack`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUILTIN", "INSTALLED", "PackSeal"]

BUILTIN = "built-in"
"""A pack shipped with the factory (trusted as the factory's own code)."""
INSTALLED = "installed"
"""A pack a factory admin installed under the factory home (verified against its lock every time it loads)."""


@dataclass(frozen=True)
class PackSeal:
    """A pack version's identity and integrity: its content digest (`sha256:<hex>`, "" when not computed,
    as for a pack described to a policy before it is installed), where it comes from, and, when its
    signature verified, who signed it and with which key."""

    name: str
    version: str
    digest: str = ""
    source: str = INSTALLED
    publisher: str = ""
    """The publisher that signed it ("" when unsigned; "factory" for a built-in pack)."""
    key: str = ""
    """The publisher's public key, `ed25519:<base64>` ("" when unsigned): what a policy should trust."""
    files: int = 0

    @property
    def signed(self) -> bool:
        return bool(self.key)

    @property
    def builtin(self) -> bool:
        return self.source == BUILTIN

    def describe(self) -> str:
        """built-in, signed by <publisher> (<key>…), or unsigned."""
        if self.builtin:
            return BUILTIN
        return f"signed by {self.publisher} ({self.key[:20]}…)" if self.signed else "unsigned"
