"""Validated references: the `tenant/product` pair that names a product."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ontology.errors import InvalidInputError

__all__ = ["ProductRef", "check_slug"]

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


def check_slug(value: str, what: str = "name") -> str:
    """Return `value` if it is a safe slug (lowercase letters, digits, inner '-'), else raise."""
    if not isinstance(value, str) or not _SLUG.match(value):
        shown = value if isinstance(value, str) and len(value) <= 80 else f"{str(value)[:80]}..."
        rule = "use 1-63 lowercase letters, digits and inner hyphens (like 'acme-billing')"
        raise InvalidInputError(f"invalid {what} {shown!r}: {rule}")
    return value


@dataclass(frozen=True, slots=True)
class ProductRef:
    """A product inside its tenant, both validated slugs; written `tenant/product`."""

    tenant: str
    product: str

    def __post_init__(self) -> None:
        check_slug(self.tenant, "tenant")
        check_slug(self.product, "product")

    @classmethod
    def parse(cls, text: str, *, tenant: str | None = None) -> ProductRef:
        """`acme/billing` as a ProductRef; a bare `billing` is accepted when `tenant` is given."""
        parts = text.split("/") if isinstance(text, str) else []
        if len(parts) == 1 and tenant is not None:
            return cls(tenant, parts[0])
        if len(parts) != 2:
            shown = str(text)[:80]
            raise InvalidInputError(
                f"invalid product reference {shown!r}: write it as tenant/product (like 'acme/billing')"
            )
        ref = cls(parts[0], parts[1])
        if tenant is not None and tenant != ref.tenant:
            raise InvalidInputError(f"{ref} names tenant {ref.tenant!r} but --tenant says {tenant[:80]!r}")
        return ref

    def __str__(self) -> str:
        return f"{self.tenant}/{self.product}"
