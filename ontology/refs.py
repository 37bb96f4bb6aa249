"""Validated references: tenant and product slugs, the `tenant/product` pair, trace ids.

Every name that reaches a path, an IRI, a git branch or a SQL row is checked here first,
so bad input is refused with one line before anything heavy is imported or written.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from ontology.errors import InvalidInputError

__all__ = ["SLUG_PATTERN", "ProductRef", "check_slug", "check_trace_id", "new_trace_id"]

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")  # \Z: "$" would let a final "\n" in
"""A slug: 1-63 ASCII lowercase letters, digits and inner hyphens (a DNS label)."""
_TRACE = re.compile(r"^[0-9a-f]{32}\Z")


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= 80 else f"{text[:80]}...")


def check_slug(value: str, what: str = "name") -> str:
    """Return `value` if it is a safe slug (lowercase letters, digits, inner '-'), else raise."""
    if not isinstance(value, str) or not SLUG_PATTERN.match(value):
        rule = "use 1-63 lowercase letters, digits and inner hyphens (like 'acme-billing')"
        raise InvalidInputError(f"invalid {what} {_shown(value)}: {rule}")
    return value


def check_trace_id(value: str) -> str:
    """Return `value` if it is 32 lowercase hex digits, else raise."""
    if not isinstance(value, str) or not _TRACE.match(value):
        raise InvalidInputError(f"invalid trace id {str(value)[:80]!r}: a trace id is 32 lowercase hex digits")
    return value


def new_trace_id() -> str:
    """A fresh trace id: 32 hex digits, the W3C trace-context form that spans carry too."""
    return uuid.uuid4().hex


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
        """`acme/billing` as a ProductRef; a bare `billing` is accepted when `tenant` is given.

        A tenant in `text` that differs from `tenant` is refused rather than silently preferred.
        """
        if not isinstance(text, str):
            raise InvalidInputError(f"invalid product reference {_shown(text)}: write it as tenant/product")
        parts = text.split("/")
        if len(parts) == 1 and tenant is not None:
            return cls(tenant, parts[0])
        if len(parts) != 2:
            raise InvalidInputError(
                f"invalid product reference {_shown(text)}: write it as tenant/product (like 'acme/billing')"
            )
        ref = cls(parts[0], parts[1])
        if tenant is not None and tenant != ref.tenant:
            raise InvalidInputError(f"{ref} names tenant {ref.tenant!r} but --tenant says {_shown(tenant)}")
        return ref

    def __str__(self) -> str:
        return f"{self.tenant}/{self.product}"
