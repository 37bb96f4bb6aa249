"""The python-sdk pack: a typed client rendered from a started generated service's OpenAPI, whose own tests
pass against that service and whose package type-checks strictly."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from generators.agents.engineer import Engineer
from generators.sdk import render_sdk, sdk_context
from generators.sdk_bundle import default_package, sdk_bundle, service_openapi
from infra.control import ControlPlane
from infra.runtime import LocalRuntime
from ontology.errors import InvalidInputError
from tests.product_blueprints import clinic

TRACE = "7" * 32
MYPY = str(Path(sys.executable).with_name("mypy"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The clinic rendered with fastapi-service 1.1.0 and started on loopback: its URL and request headers."""
    tmp = tmp_path_factory.mktemp("sdk")
    bp = clinic()
    Engineer().render(bp, tmp / "service", TRACE, pack=("fastapi-service", "1.1.0"))
    runtime = LocalRuntime(tmp / "home")
    env = {"DATABASE_URL": f"sqlite:///{tmp / 'service.db'}", "FACTORY_TELEMETRY_FILE": str(tmp / "spans.jsonl")}
    service = runtime.start(tmp / "service", name="sdk-clinic", trace_id=TRACE, extra_env=env)
    try:
        yield service.url, runtime.tokens(service.name).headers(bp.tenant)
    finally:
        runtime.stop(service)


def test_the_sdk_of_a_started_service_passes_its_own_tests_against_it_and_type_checks(
    served: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, headers = served
    document = httpx.get(f"{url}/openapi.json", timeout=10).json()
    files = render_sdk(document, tmp_path / "sdk", "clinic_client")
    assert {"clinic_client/client.py", "clinic_client/models.py", "tests/test_client.py", "pyproject.toml"} <= set(
        files
    )
    client = (tmp_path / "sdk" / "clinic_client" / "client.py").read_text()
    assert "def update_doctor(\n        self,\n        id: str,\n        body: DoctorUpdate," in client
    assert "if_match: str | None = None," in client and "-> PageDoctor:" in client
    token = headers["Authorization"].removeprefix("Bearer ")
    env = {**os.environ, "SDK_BASE_URL": url, "SDK_TOKEN": token, "SDK_TENANT": headers["X-Tenant-ID"]}
    env["PYTHONPATH"] = str(tmp_path / "sdk")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "tests"],
        cwd=tmp_path / "sdk", env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "5 passed" in run.stdout  # health, the doctor and patient round trips (412 included), 404, 401
    typed = subprocess.run(
        [MYPY, "--strict", "--no-incremental", "clinic_client"],
        cwd=tmp_path / "sdk", capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert typed.returncode == 0, typed.stdout[-2000:]
    wrong = tmp_path / "sdk" / "misuse.py"
    wrong.write_text("from clinic_client import Client\n\nClient('http://x').read_doctor(42)\n")
    misuse = subprocess.run(
        [MYPY, "--strict", "--no-incremental", "misuse.py"], cwd=tmp_path / "sdk", capture_output=True, text=True
    )
    assert misuse.returncode == 1 and "read_doctor" in misuse.stdout and '"int"' in misuse.stdout


def test_factory_sdk_renders_the_client_of_a_running_deployment(
    served: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, _ = served
    home = tmp_path / "home"
    ControlPlane(None, home).upsert_deployment("health-co", "clinic", "dev", status="running", url=url)
    env = {**os.environ, "FACTORY_HOME": str(home)}
    factory = [sys.executable, "-m", "studio", "sdk"]
    done = subprocess.run([*factory, "health-co/clinic", "--out", str(tmp_path / "sdk")], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "wrote the clinic_client SDK" in done.stdout
    assert "def list_doctors(" in (tmp_path / "sdk" / "clinic_client" / "client.py").read_text()
    missing = subprocess.run([*factory, "health-co/other", "--out", str(tmp_path / "x")], env=env,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert missing.returncode != 0 and "Traceback" not in missing.stderr and "no running service" in missing.stderr
    assert not (tmp_path / "x").exists()


def _document(**extra: Any) -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "T", "version": "1.0.0"}, "paths": {}, **extra}


def test_hostile_names_in_a_document_give_safe_python(tmp_path: Path) -> None:
    document = _document(
        paths={
            "/things/{class}": {
                "get": {
                    "operationId": "import",
                    "parameters": [{"name": "class", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/x/Odd-Thing"}}}}},
                }
            }
        },
        components={"schemas": {"Odd-Thing": {"type": "object", "properties": {"from": {"type": "string"}}}}},
    )
    context = sdk_context(document, "odd")
    assert [o.name for o in context.operations] == ["op_import"] and context.models[0].functional
    render_sdk(document, tmp_path / "odd", "odd")
    checked = subprocess.run(
        [sys.executable, "-c", "import odd, odd.models; print(odd.models.OddThing.__annotations__)"],
        cwd=tmp_path / "odd", capture_output=True, text=True,
    )  # fmt: skip
    assert checked.returncode == 0 and "from" in checked.stdout, checked.stderr


def test_bad_input_is_refused_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="OpenAPI 3"):
        sdk_context({"swagger": "2.0"}, "client")
    for name in ("Client", "class", "a-b", "x" * 80):
        with pytest.raises(InvalidInputError, match="package name"):
            sdk_context(_document(), name)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="not an empty folder"):
        render_sdk(_document(), tmp_path / "full", "client")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_a_service_tree_gives_its_openapi_and_the_sdk_bundle_zips_the_same_files_every_time(tmp_path: Path) -> None:
    Engineer().render(clinic(), tmp_path / "service", TRACE, pack=("fastapi-service", "1.0.0"))
    document = service_openapi(tmp_path / "service")  # the app factory, built in its own process; nothing served
    assert "/doctors" in document["paths"] and not list((tmp_path / "service").rglob("*.db"))
    bundle = sdk_bundle(document, default_package("clinic"))
    assert bundle.package == "clinic_client" and bundle.archive == sdk_bundle(document, "clinic_client").archive
    assert bundle.files == {
        p: (tmp_path / "sdk" / p).read_text() for p in render_sdk(document, tmp_path / "sdk", "clinic_client")
    }
    with zipfile.ZipFile(io.BytesIO(bundle.archive)) as archive:
        top = bundle.archive_name.removesuffix(".zip")
        assert sorted(archive.namelist()) == sorted(f"{top}/{p}" for p in bundle.files)
        assert archive.read(f"{top}/clinic_client/client.py").decode() == bundle.files["clinic_client/client.py"]
    rows = {r["request"]: r["signature"] for r in bundle.method_rows()}
    assert rows["GET /doctors/{id}"] == "read_doctor(id: str) -> Doctor"
    assert (
        "def read_doctor(\n        self,\n        id: str,\n    ) -> Doctor:" in bundle.files["clinic_client/client.py"]
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="no generated service"):
        service_openapi(tmp_path / "empty")
    (tmp_path / "service" / "app" / "main.py").write_text("raise SystemExit('broken on purpose')\n")
    with pytest.raises(InvalidInputError, match="did not start: broken on purpose"):
        service_openapi(tmp_path / "service")
