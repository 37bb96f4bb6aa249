"""Errors of the factory's HTTP API as RFC 9457 problem details (`application/problem+json`).

The factory's one error hierarchy maps onto HTTP statuses here and nowhere else; validation errors,
unknown routes and unsupported methods answer in the same shape. The OpenAPI document is rewritten so
that every error response it states has this media type and schema.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from infra.access import AccessDenied
from infra.governance import GovernanceError
from infra.idempotency import IdempotencyKeyInFlight, IdempotencyKeyReused
from infra.lifecycle.use_cases import BuildInProgressError
from infra.runtime import DeploymentError
from ontology.errors import (
    FactoryError,
    InvalidInputError,
    NotFoundError,
    QueryRefusedError,
    QueryTimeoutError,
    StoreBusyError,
)

__all__ = [
    "PROBLEM_JSON",
    "ApiProblem",
    "FieldError",
    "Problem",
    "install_problem_handlers",
    "problem_responses",
    "rewrite_error_responses",
]

PROBLEM_JSON = "application/problem+json"
_TYPES = "https://softwarefactory.dev/problems/"
_log = logging.getLogger("factory.api")

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Unprocessable content",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


class FieldError(BaseModel):
    """One part of a request that is not valid."""

    loc: list[str | int] = Field(description="Where: the request part and the path into it.")
    msg: str = Field(description="What is wrong.")
    type: str = Field(description="The kind of error.")


class Problem(BaseModel):
    """An RFC 9457 problem detail: what went wrong, in one line a person can act on."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str = Field(description="What went wrong here, and what to do.")
    instance: str = Field(description="The request path the problem happened on.")
    errors: list[FieldError] | None = Field(default=None, description="Each invalid part of the request.")


class ApiProblem(Exception):
    """An answer of the API that is a problem (raised by the API's own checks, such as a missing token)."""

    def __init__(self, status: int, kind: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail, self.headers = status, kind, detail, headers or {}


def _problem(
    request: Request,
    status: int,
    kind: str,
    detail: str,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": _TYPES + kind if kind != "about:blank" else kind,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


_FACTORY_ERRORS: tuple[tuple[type[FactoryError], int, str], ...] = (
    (AccessDenied, 403, "forbidden"),
    (NotFoundError, 404, "not-found"),
    (BuildInProgressError, 409, "build-in-progress"),
    (IdempotencyKeyInFlight, 409, "idempotency-key-in-flight"),
    (IdempotencyKeyReused, 422, "idempotency-key-reused"),
    (GovernanceError, 409, "not-allowed-yet"),
    (QueryTimeoutError, 400, "query-timeout"),
    (QueryRefusedError, 400, "query-refused"),
    (StoreBusyError, 503, "store-busy"),
    (DeploymentError, 502, "deployment-failed"),
    (InvalidInputError, 422, "invalid-input"),
)
"""The factory's errors as statuses, most specific first; any other FactoryError is a 500."""


def _status_of(error: FactoryError) -> tuple[int, str]:
    for kind, status, name in _FACTORY_ERRORS:
        if isinstance(error, kind):
            return status, name
    return 500, "factory-error"


def _location(loc: Any) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def _allowed(request: Request) -> str:
    """The methods some route answers on the request's path (a path may have a route per method)."""
    routes = request.app.router.routes
    allowed = [m for m in _METHODS if any(r.matches({**request.scope, "method": m})[0] is Match.FULL for r in routes)]
    return ", ".join(allowed)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of `app` as a problem detail."""

    async def api_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        return _problem(request, exc.status, exc.kind, exc.detail, exc.headers)

    async def factory_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FactoryError)
        status, kind = _status_of(exc)
        headers = {"Retry-After": "5"} if status == 503 else None
        return _problem(request, status, kind, str(exc).strip().splitlines()[0][:2000] or kind, headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": _location(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "the request is not valid"}
        where = ".".join(str(p) for p in first["loc"])
        detail = f"{where}: {first['msg']}" if where else str(first["msg"])
        return _problem(request, 422, "validation-error", detail, errors=errors)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only those of the first route that matched it
            headers["Allow"] = _allowed(request)
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such resource: {request.url.path[:200]} (see /docs for the API's paths)"
        return _problem(request, exc.status_code, "about:blank", detail, headers)

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("internal error on %s %s", request.method, request.url.path)
        return _problem(request, 500, "internal-error", f"internal error: {type(exc).__name__}")

    app.add_exception_handler(ApiProblem, api_problem)
    app.add_exception_handler(FactoryError, factory_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route for these error statuses (their schema is Problem, as problem+json)."""
    return {status: {"model": Problem, "description": _TITLES.get(status, "Error")} for status in statuses}


def rewrite_error_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Every 4xx/5xx response of the document as `application/problem+json` with the Problem schema."""
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for status, response in (operation.get("responses") or {}).items():
                if str(status)[0] in "45":
                    response["content"] = problem
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document
