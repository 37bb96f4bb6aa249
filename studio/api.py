"""The factory's HTTP API (`factory api`): submit, follow, list, trace, query, search, approve, promote, stop.

A surface like the command line and the Studio, and as thin: each request names its principal with a
bearer token (an API token of an account, resolved by `Accounts.signed_in` as the command line resolves
FACTORY_TOKEN), every action goes through the same `authorize`, and every change through the lifecycle's
use cases. A build runs in the background as the Studio's do (`factory build --claim` in a process of its
own); the API answers 202 at once and the build is followed by polling or by Server-Sent Events.
The routes live in studio/api_builds.py, api_products.py, api_knowledge.py and api_events.py.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from infra.control import ControlPlane
from infra.idempotency import IdempotencyKeys
from ontology.config import factory_home
from studio import api_builds, api_events, api_hooks, api_knowledge, api_products, api_telemetry
from studio.api_deps import ApiState
from studio.api_models import Health
from studio.api_problems import install_problem_handlers, rewrite_error_responses

__all__ = ["create_app"]


def create_app(home: Path | None = None, control: ControlPlane | None = None) -> FastAPI:
    """The API over a factory home (default: $FACTORY_HOME) and its control database."""
    root = home or factory_home()
    root.mkdir(parents=True, exist_ok=True)
    plane = control or ControlPlane(None, root)
    state = ApiState(root, plane, IdempotencyKeys(plane))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # the embedding model loads beside the first requests (about 10 s on two cores), not in the first search
        threading.Thread(target=state.warm_up, name="embedder-warm-up", daemon=True).start()
        yield

    app = FastAPI(
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,  # operation ids: the functions' names
        title="Software Factory API",
        version="1",
        description=(
            "Submit intents and blueprints, follow builds, list products, deployments and releases, trace, "
            "query and search the knowledge graph, approve, promote and stop; read the event feed and manage "
            "webhook endpoints. Every path but /healthz and the git hosts' push hook (/v1/hooks/git/..., signed "
            "with the product's hook secret) needs "
            "`Authorization: Bearer <token>` (an API token of an account); errors are RFC 9457 problem details."
        ),
    )
    app.state.factory = state
    install_problem_handlers(app)

    @app.get("/healthz", tags=["meta"], response_model=Health, summary="Whether the API answers (no token needed)")
    def health() -> Health:
        return Health(status="ok")

    app.include_router(api_builds.router)
    app.include_router(api_products.router)
    app.include_router(api_knowledge.router)
    app.include_router(api_events.router)  # the event feed and the tenants' webhook endpoints
    app.include_router(api_hooks.router)  # the git hosts' push hooks
    app.include_router(api_telemetry.router)  # the deployed services' OTLP/HTTP span exports

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = rewrite_error_responses(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
