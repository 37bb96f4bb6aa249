"""`factory api`: serve the factory's HTTP API with uvicorn (see studio.api), on loopback unless told otherwise."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["API_PORT", "api"]

API_PORT = 8400


def api(
    host: Annotated[
        str, typer.Option(help="Address to serve on; beyond loopback only with sign-in configured.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API.", min=1, max=65535)] = API_PORT,
) -> None:
    """Serve the factory's HTTP API (OpenAPI at /openapi.json, docs at /docs); every call needs a bearer token."""
    import uvicorn

    from ontology.config import factory_home
    from studio.api import create_app
    from studio.up_command import check_exposure, check_port_free

    check_exposure(host, factory_home())
    check_port_free(host, port, "--port")
    app = create_app()
    print(f"API         http://{host}:{port}  (docs http://{host}:{port}/docs)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False)
