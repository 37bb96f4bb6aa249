"""The factory's vocabulary: the OWL ontology, SHACL shapes, pattern library and pydantic models.

The namespace constants load rdflib on first use (PEP 562), so the errors, the validated
references and `factory_home` can be imported by a command without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ontology.errors import FactoryError, InvalidInputError, NotFoundError, QueryRefusedError, StoreBusyError
from ontology.lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, {name: "ontology.namespaces" for name in ("FAC", "ID", "PAT", "PROV")})
