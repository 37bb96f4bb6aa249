"""The client SDK of a generated service, ready to show and hand out: the service's OpenAPI document read from
its source tree, the SDK rendered from it (`generators.sdk`), its files and one zip archive of them.

The document comes from the service's own app factory (`app.main:create_app`, the `fastapi-service` packs'
entry point), built in a separate Python process on an in-memory database: nothing is served, nothing is
written outside a temporary folder.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generators.sdk import SdkContext, render_sdk, sdk_context
from ontology.errors import InvalidInputError

__all__ = ["SdkBundle", "default_package", "sdk_bundle", "service_openapi"]

_OPENAPI = "import json, sys\nfrom app.main import create_app\njson.dump(create_app().openapi(), sys.stdout)\n"


def default_package(product: str) -> str:
    """The SDK's package name for a product: `<product>_client`."""
    return f"{product.replace('-', '_')}_client"


def service_openapi(tree: Path, timeout_s: float = 120.0) -> dict[str, Any]:
    """The OpenAPI document of the generated service whose source tree is `tree`."""
    root = Path(tree).resolve()
    if not (root / "app" / "main.py").is_file():
        raise InvalidInputError(f"{root} holds no generated service (app/main.py): render or release it first")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(root), "PYTHONPATH": str(root), "PYTHONNOUSERSITE": "1",
           "DATABASE_URL": "sqlite://", "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
    try:
        done = subprocess.run(
            [sys.executable, "-c", _OPENAPI], cwd=root, env=env, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        raise InvalidInputError(f"the service in {root} did not give its OpenAPI document in {timeout_s:g} s") from None
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if done.returncode != 0:
        raise InvalidInputError(f"the service's app did not start: {lines[-1][:200] if lines else 'no output'}")
    try:
        document = json.loads(done.stdout)
    except ValueError:
        raise InvalidInputError("the service's app printed no OpenAPI document") from None
    if not isinstance(document, dict):
        raise InvalidInputError("the service's app printed no OpenAPI document")
    return document


@dataclass(frozen=True)
class SdkBundle:
    """A rendered SDK: what it was rendered from (`context`), its files (path -> text) and a zip of them, whose
    one top folder is `<package>-<version>`."""

    context: SdkContext
    files: dict[str, str]
    archive: bytes

    @property
    def package(self) -> str:
        return self.context.package

    @property
    def archive_name(self) -> str:
        return f"{self.context.package}-{self.context.version}.zip"

    def method_rows(self) -> list[dict[str, str]]:
        """One row per typed method of the client: its name, HTTP request, Python signature and summary."""
        rows = []
        for o in self.context.operations:
            arguments = [p.argument for p in o.path_parameters]
            arguments += [f"body: {o.body}"] if o.body else []
            keywords = [p.argument for p in o.query_parameters] + (
                ["if_match: str | None = None"] if o.conditional else []
            )
            if keywords:
                arguments += ["*", *keywords]
            signature = f"{o.name}({', '.join(arguments)}) -> {o.result or 'None'}"
            rows.append({"method": o.name, "request": f"{o.method} {o.path}", "signature": signature,
                         "summary": o.summary})  # fmt: skip
        return rows


def sdk_bundle(openapi: dict[str, Any], package: str) -> SdkBundle:
    """Render the SDK of `openapi` as `package` with the `python-sdk` pack, in a temporary folder, and bundle it."""
    context = sdk_context(openapi, package)
    with tempfile.TemporaryDirectory(prefix="factory-sdk-") as scratch:
        root = Path(scratch) / "sdk"
        paths = render_sdk(openapi, root, package)
        files = {path: (root / path).read_text(encoding="utf-8") for path in paths}
    top = f"{context.package}-{context.version}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, text in sorted(files.items()):
            entry = zipfile.ZipInfo(f"{top}/{path}", date_time=(1980, 1, 1, 0, 0, 0))  # the same SDK, the same bytes
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
    return SdkBundle(context, files, buffer.getvalue())
