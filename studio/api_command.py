"""`factory api`: serve the factory's HTTP API with uvicorn on loopback (see studio.api)."""

from __future__ import annotations

from typing import Annotated

import typer

from ontology.errors import InvalidInputError

__all__ = ["API_PORT", "LOOPBACK", "api", "check_loopback"]

API_PORT = 8400
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_loopback(host: str) -> str:
    """`host` if it is a loopback address; the factory's servers listen nowhere else."""
    if host not in LOOPBACK:
        raise InvalidInputError(f"{host} is not a loopback address: the factory serves on 127.0.0.1 only")
    return host


def api(
    host: Annotated[str, typer.Option(help="Loopback address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API.", min=1, max=65535)] = API_PORT,
) -> None:
    """Serve the factory's HTTP API (OpenAPI at /openapi.json, docs at /docs); every call needs a bearer token."""
    import uvicorn

    from studio.api import create_app
    from studio.up_command import check_port_free

    check_loopback(host)
    check_port_free(host, port, "--port")
    app = create_app()
    print(f"API         http://{host}:{port}  (docs http://{host}:{port}/docs)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False)
