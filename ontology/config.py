"""Where the factory keeps its state: `$FACTORY_HOME`, read without importing any engine."""

from __future__ import annotations

import os
from pathlib import Path

from ontology.errors import InvalidInputError

__all__ = ["factory_home", "sparql_url"]


def factory_home() -> Path:
    """`$FACTORY_HOME`, or `./.factory`: the folder that holds all of the factory's state."""
    return Path(os.environ.get("FACTORY_HOME") or ".factory").resolve()


def sparql_url() -> str | None:
    """`$FACTORY_SPARQL_URL`: the base URL of the SPARQL server that holds the RDF store (an Oxigraph
    server's, which answers on /query, /update and /store), or None for the embedded store on disk."""
    url = (os.environ.get("FACTORY_SPARQL_URL") or "").strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")) or len(url) < 10:
        raise InvalidInputError(f"FACTORY_SPARQL_URL {url!r} is not an http(s) URL: give a server's base URL")
    return url.rstrip("/")
