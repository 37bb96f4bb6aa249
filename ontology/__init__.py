"""The factory's vocabulary: the OWL ontology, SHACL shapes, pattern library and pydantic models.

The namespace constants load rdflib on first use (PEP 562), so the errors, the validated
references and `factory_home` can be imported by a command without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ontology.errors import FactoryError, InvalidInputError, NotFoundError, QueryRefusedError, StoreBusyError

if TYPE_CHECKING:
    from ontology.namespaces import FAC, ID, PAT, PROV

__all__ = [
    "FAC",
    "ID",
    "PAT",
    "PROV",
    "FactoryError",
    "InvalidInputError",
    "NotFoundError",
    "QueryRefusedError",
    "StoreBusyError",
]

_NAMESPACES = frozenset({"FAC", "ID", "PAT", "PROV"})


def __getattr__(name: str) -> Any:
    """Import the namespaces the first time one of them is asked for."""
    if name not in _NAMESPACES:
        raise AttributeError(f"module 'ontology' has no attribute {name!r}")
    from ontology import namespaces

    value = getattr(namespaces, name)
    globals()[name] = value
    return value
