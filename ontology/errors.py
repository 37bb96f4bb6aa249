"""The one error hierarchy of the factory: every error a user can cause is a FactoryError."""

from __future__ import annotations

__all__ = [
    "FactoryError",
    "InvalidInputError",
    "NotFoundError",
    "QueryRefusedError",
    "QueryTimeoutError",
    "StoreBusyError",
]


class FactoryError(Exception):
    """Something the user can act on; its message is one line that says what was wrong."""


class InvalidInputError(FactoryError):
    """A name, a value or a file given to the factory is not acceptable."""


class QueryRefusedError(FactoryError):
    """A query tries to write, to leave its tenant, or is not valid."""


class QueryTimeoutError(QueryRefusedError):
    """A query ran longer than it was allowed and was stopped."""


class NotFoundError(FactoryError):
    """The thing asked for does not exist."""


class StoreBusyError(FactoryError):
    """The knowledge graph stayed locked by another process for longer than the wait allowed."""
