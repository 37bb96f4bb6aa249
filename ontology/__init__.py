"""The factory's vocabulary: the OWL ontology, SHACL shapes, pattern library and pydantic models."""

from ontology.errors import FactoryError, InvalidInputError, NotFoundError, QueryRefusedError, StoreBusyError
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
