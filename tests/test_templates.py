"""Template packs and rendering: manifests, errors, determinism, the answers file, safe output
paths, template injection and hostile names (whose product must still pass its own tests)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from generators.agents.engineer import Engineer
from generators.agents.tester import Tester
from generators.blueprint import BlueprintError
from generators.filters import md, py, toml_str, yaml_str
from generators.packs import list_packs, load_pack
from generators.rendering import ANSWERS_PATH, RenderResult
from ontology.errors import FactoryError, InvalidInputError, NotFoundError
from ontology.models import Blueprint
from tests.product_blueprints import INJECTION, clinic, hostile, invoicing

TRACE = "0123456789abcdef0123456789abcdef"


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes, keyed by relative POSIX path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def render(bp: Blueprint, out: Path, trace: str = TRACE, **kwargs: object) -> RenderResult:
    return Engineer().render(bp, out, trace, **kwargs)  # type: ignore[arg-type]


# -- packs ---------------------------------------------------------------------------------------


def test_the_first_pack_is_listed_with_its_manifest() -> None:
    packs = {(p.name, p.version): p for p in list_packs()}
    pack = packs[("fastapi-service", "1.0.0")]
    assert pack.min_factory_version == "0.1.0"
    assert "FastAPI" in pack.description
    assert {p.name: p.default for p in pack.parameters} == {
        "python_version": "3.11",
        "port": 8000,
        "registry": "ghcr.io/example",
    }
    assert load_pack("fastapi-service", "1.0.0") == pack
    assert load_pack("fastapi-service") == packs[("fastapi-service", "1.1.0")]  # the latest by semver
    assert pack.renames == {} and packs[("fastapi-service", "1.1.0")].renames == {
        "deploy/k8s/base/hpa.yaml": "deploy/k8s/base/autoscaler.yaml"
    }
    paths = pack.template_paths()
    assert paths == sorted(paths)
    assert "app/main.py.j2" in paths
    assert "tests/test_api___entity__.py.j2" in paths
    assert "dot-github/workflows/ci.yml.j2" in paths


def test_unknown_packs_and_versions_are_clear_errors() -> None:
    with pytest.raises(NotFoundError, match=r"no template pack 'no-such-pack'.*fastapi-service"):
        load_pack("no-such-pack")
    with pytest.raises(NotFoundError, match=r"no version 9\.9\.9; versions: 1\.0\.0"):
        load_pack("fastapi-service", "9.9.9")
    with pytest.raises(InvalidInputError, match="not a pack name"):
        load_pack("../ontology")
    with pytest.raises(InvalidInputError, match="not a version"):
        load_pack("fastapi-service", "1.0")
    with pytest.raises(FactoryError):
        Engineer().render(invoicing(), Path("unused"), TRACE, pack=("no-such-pack", None))


def _pack(root: Path, version: str, manifest: dict[str, object], files: dict[str, str] | None = None) -> Path:
    folder = root / "mini" / version
    (folder / "files").mkdir(parents=True)
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    for path, text in (files or {}).items():
        (folder / "files" / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / "files" / path).write_text(text, encoding="utf-8")
    return folder


def _manifest(version: str, **extra: object) -> dict[str, object]:
    return {"name": "mini", "version": version, "description": "x", "min_factory_version": "0.0.1", **extra}


def test_the_latest_version_is_chosen_by_semver(tmp_path: Path) -> None:
    for version in ("1.2.0", "1.10.0", "1.9.3"):
        _pack(tmp_path, version, _manifest(version))
    assert load_pack("mini", root=tmp_path).version == "1.10.0"
    assert [p.version for p in list_packs(tmp_path)] == ["1.2.0", "1.9.3", "1.10.0"]


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"name": "mini", "version": "1.0.0", "description": "x"}, "min_factory_version is required"),
        (_manifest("1.0.0", name="other"), "must match the folder"),
        (_manifest("1.0.0", surprise=1), "unknown fields"),
        (_manifest("1.0.0", min_factory_version="one"), "not a version"),
        (_manifest("1.0.0", min_factory_version="99.0.0"), "needs factory 99.0.0 or newer"),
        (_manifest("1.0.0", parameters=[{"name": "Bad Name", "default": 1}]), "snake_case"),
        (_manifest("1.0.0", parameters=[{"name": "p", "default": "x", "pattern": "^y$"}]), "does not match"),
        (_manifest("1.0.0", conditions=["a"]), "conditions must map"),
    ],
)
def test_bad_manifests_are_refused(tmp_path: Path, manifest: dict[str, object], message: str) -> None:
    _pack(tmp_path, "1.0.0", manifest)
    with pytest.raises(InvalidInputError, match=message):
        load_pack("mini", root=tmp_path)


def test_a_small_pack_renders_per_entity_files_dotfiles_and_conditions(tmp_path: Path) -> None:
    files = {
        "dot-config/__entity__.txt.j2": "{{ entity.cls }} {{ entity.label | md }}\n",
        "plain.txt": "{{ copied as is }}\n",
        "never.txt.j2": "x",
    }
    _pack(tmp_path / "packs", "1.0.0", _manifest("1.0.0", conditions={"never.txt.j2": "product.soft_delete"}), files)
    from generators.rendering import render_pack

    result = render_pack(load_pack("mini", root=tmp_path / "packs"), clinic(), tmp_path / "out", TRACE)
    assert result.paths == [
        ".config/appointment.txt",
        ".config/doctor.txt",
        ".config/patient.txt",
        ".factory/answers.json",
        "plain.txt",
    ]
    assert (tmp_path / "out/.config/doctor.txt").read_text() == "Doctor Doctor\n"
    assert (tmp_path / "out/plain.txt").read_text() == "{{ copied as is }}\n"


# -- parameters and inputs -------------------------------------------------------------------------


def test_parameters_are_checked_and_used(tmp_path: Path) -> None:
    render(clinic(), tmp_path / "out", parameters={"port": 9000, "python_version": "3.12"})
    dockerfile = (tmp_path / "out/Dockerfile").read_text()
    assert "FROM python:3.12-slim" in dockerfile
    assert "EXPOSE 9000" in dockerfile
    for bad, message in [
        ({"nope": 1}, "has no parameter 'nope'"),
        ({"port": "9000"}, "expected int"),
        ({"python_version": "3.11\nRUN curl evil"}, "does not match"),
        ({"registry": "Evil Registry"}, "does not match"),
    ]:
        with pytest.raises(InvalidInputError, match=message):
            render(clinic(), tmp_path / "other", parameters=bad)
    assert not (tmp_path / "other").exists()


def test_bad_trace_ids_defaults_and_references_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="invalid trace id"):
        render(clinic(), tmp_path / "out", trace="a\nb")
    data = clinic().model_dump()
    data["entities"][0]["attributes"][2]["default"] = "not-a-date"
    with pytest.raises(
        InvalidInputError, match=r"entities\[0\]\.attributes\[2\]\.default: 'not-a-date' is not a valid date"
    ):
        render(Blueprint.model_validate(data), tmp_path / "out")
    data = clinic().model_dump()
    data["relationships"][0]["target"] = "nobody"
    with pytest.raises(BlueprintError, match=r"relationships\[0\]\.target: no entity 'nobody'"):
        render(Blueprint.model_validate(data), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- determinism and the answers file -------------------------------------------------------------


def test_the_same_blueprint_renders_byte_identical_files(tmp_path: Path) -> None:
    first = render(invoicing(soft_delete=True, search=True), tmp_path / "one")
    second = render(invoicing(soft_delete=True, search=True), tmp_path / "two")
    assert first.files == second.files
    assert tree(tmp_path / "one") == tree(tmp_path / "two")
    assert [f.path for f in first.files] == sorted(tree(tmp_path / "one"))
    for f in first.files:
        data = (tmp_path / "one" / f.path).read_bytes()
        assert f.size == len(data)
        assert b"\r" not in data or f.path == ANSWERS_PATH


RENDER_IN_A_PROCESS = """
import sys
from generators.agents.engineer import Engineer
from tests.product_blueprints import hostile
Engineer().render(hostile(soft_delete=True, search=True), sys.argv[1], sys.argv[2])
"""


def test_renders_in_other_processes_with_other_hash_seeds_are_identical(tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONDONTWRITEBYTECODE": "1"}
        root = Path(__file__).resolve().parents[1]
        command = [sys.executable, "-c", RENDER_IN_A_PROCESS, str(out), TRACE]
        subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)
        outputs.append(tree(out))
    assert outputs[0] == outputs[1]
    assert outputs[0] == tree(render(hostile(soft_delete=True, search=True), tmp_path / "here").out_dir)


def test_a_label_change_touches_only_that_entitys_files(tmp_path: Path) -> None:
    bp = invoicing()
    render(bp, tmp_path / "before")
    data = bp.model_dump()
    data["entities"][1]["label"] = "Bill"
    render(Blueprint.model_validate(data), tmp_path / "after")
    before, after = tree(tmp_path / "before"), tree(tmp_path / "after")
    assert before.keys() == after.keys()
    changed = {path for path in before if before[path] != after[path]}
    assert {ANSWERS_PATH, "README.md", "app/domain/entities/invoice.py", "app/api/routers/invoice.py"} <= changed
    hash_carriers = (ANSWERS_PATH, "README.md", "deploy/k8s/base/deployment.yaml")  # they name the blueprint hash
    assert all(path in hash_carriers or path.endswith("/invoice.py") for path in changed), changed
    assert b'"Bill"' in after["app/domain/entities/invoice.py"]


def test_the_answers_file_can_regenerate_the_product(tmp_path: Path) -> None:
    bp = clinic(search=True)
    result = render(bp, tmp_path / "out", parameters={"port": 8080})
    answers = json.loads((tmp_path / "out" / ANSWERS_PATH).read_text(encoding="utf-8"))
    assert answers["blueprint_hash"] == bp.hash == result.blueprint_hash
    assert answers["template"] == {"name": "fastapi-service", "version": load_pack("fastapi-service").version}
    assert answers["trace_id"] == TRACE
    assert answers["parameters"] == {"port": 8080, "python_version": "3.11", "registry": "ghcr.io/example"}
    assert answers["files"] == [p for p in result.paths if p != ANSWERS_PATH]
    again = Blueprint.model_validate(answers["blueprint"])
    assert again.hash == bp.hash
    template = answers["template"]
    pack = (template["name"], template["version"])
    render(again, tmp_path / "again", answers["trace_id"], pack=pack, parameters=answers["parameters"])
    assert tree(tmp_path / "again") == tree(tmp_path / "out")


def test_rendering_again_replaces_the_product_and_removes_stale_files(tmp_path: Path) -> None:
    render(invoicing(), tmp_path / "out")
    data = invoicing().model_dump()
    data["entities"] = [e for e in data["entities"] if e["name"] != "payment"]
    data["relationships"] = [r for r in data["relationships"] if "payment" not in (r["source"], r["target"])]
    smaller = Blueprint.model_validate(data)
    result = render(smaller, tmp_path / "out")
    assert sorted(tree(tmp_path / "out")) == result.paths
    assert not any("payment" in path for path in result.paths)


def test_a_folder_that_holds_something_else_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="not empty and holds no generated product"):
        render(clinic(), tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["notes.txt"]


def test_nothing_is_written_outside_the_output_folder(tmp_path: Path) -> None:
    render(hostile(), tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out" / "app" / "api").rename(tmp_path / "moved")
    os.symlink(outside, tmp_path / "out" / "app" / "api")
    with pytest.raises(InvalidInputError, match="resolves outside the output folder"):
        render(hostile(), tmp_path / "out")
    assert list(outside.iterdir()) == []


def test_a_tampered_answers_file_cannot_delete_outside_the_output_folder(tmp_path: Path) -> None:
    render(clinic(), tmp_path / "out")
    keep = tmp_path / "keep.txt"
    keep.write_text("mine")
    answers_file = tmp_path / "out" / ANSWERS_PATH
    answers = json.loads(answers_file.read_text(encoding="utf-8"))
    answers["files"].append("../keep.txt")
    answers_file.write_text(json.dumps(answers), encoding="utf-8")
    with pytest.raises(InvalidInputError, match="outside the output folder"):
        render(clinic(), tmp_path / "out")
    assert keep.read_text() == "mine"


# -- escaping and hostile input -----------------------------------------------------------------


NASTY = [
    INJECTION,
    "",
    "plain",
    "tab\tand\x00nul\x7f",
    "\u2028\u2029\x85",
    "emoji 😀 and ünïcode",
    "\\ \" ' \\n",
    "\ud800",
]


@pytest.mark.parametrize("text", NASTY)
def test_filters_give_literals_that_load_back_exactly(text: str) -> None:
    assert ast.literal_eval(py(text)) == text
    assert yaml.safe_load(f"key: {yaml_str(text)}\n") == {"key": text}
    if "\ud800" not in text:
        assert tomllib.loads(f"key = {toml_str(text)}\n") == {"key": text}
    assert "\n" not in md(text)
    assert "<" not in md("<script>") and "{{" not in md("{{ 7*7 }}")


def _ruff(root: Path) -> list[dict[str, object]]:
    command = [sys.executable, "-m", "ruff", "check", "--output-format", "json", "--no-cache", "."]
    run = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    findings: list[dict[str, object]] = json.loads(run.stdout)
    return findings


def test_template_syntax_in_the_blueprint_stays_inert_text(tmp_path: Path) -> None:
    bp = hostile()
    render(bp, tmp_path / "out")
    files = tree(tmp_path / "out")
    texts = {path: data.decode("utf-8") for path, data in files.items()}
    for path, text in texts.items():
        assert "Hostile 49" not in text and "Class 49" not in text and "xxxxxxxxx" not in text, path
        if path.endswith(".py"):
            ast.parse(text, filename=path)
    config = ast.parse(texts["app/config.py"])
    values = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in config.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
    }
    assert values["PRODUCT_NAME"] == bp.name
    assert values["PRODUCT_DESCRIPTION"] == bp.description
    assert "{{ 7*7 }}" in texts["app/domain/entities/class_item.py"]
    deployment = yaml.safe_load(texts["deploy/k8s/base/deployment.yaml"])
    assert deployment["metadata"]["annotations"]["factory.dev/product-name"] == bp.name
    for path in texts:
        if path.endswith((".yaml", ".yml")):
            yaml.safe_load(texts[path])
    assert tomllib.loads(texts["pyproject.toml"])["project"]["description"] == bp.name
    assert texts["README.md"].splitlines()[0] == f"# {md(bp.name)}"
    assert json.loads(texts[ANSWERS_PATH])["blueprint"]["name"] == bp.name
    assert _ruff(tmp_path / "out") == []


def test_hostile_names_get_distinct_safe_names(tmp_path: Path) -> None:
    result = render(hostile(), tmp_path / "out")
    paths = set(result.paths)
    for module in ("class_item", "order", "session", "query", "unicode_strae", "n1st_place", "a1", "a_1"):
        assert f"app/domain/entities/{module}.py" in paths
    schema = (tmp_path / "out/app/infrastructure/schema.py").read_text()
    for cls in ("SessionEntityRow", "QueryEntityRow", "TextEntityRow", "A1Row", "A12Row", "EmployeePeersLink"):
        assert cls in schema
    tables = (tmp_path / "out/app/infrastructure/tables/buse.py").read_text()
    assert '__tablename__ = "buses_2"' in tables
    order = (tmp_path / "out/app/infrastructure/tables/order.py").read_text()
    assert "tenant_ref_id: Identifier | None" in order  # the role "tenant" does not take over tenant_id
    router = (tmp_path / "out/app/api/routers/doc.py").read_text()
    assert 'prefix="/docs-2"' in router  # /docs stays the OpenAPI page


@pytest.mark.slow  # thirteen entities: a few hundred generated tests
def test_a_product_of_hostile_names_passes_its_own_tests(tmp_path: Path) -> None:
    render(hostile(soft_delete=True, search=True), tmp_path / "out")
    before = tree(tmp_path / "out")
    report = Tester().test(tmp_path / "out", timeout_s=300)
    assert report.failed == 0 and report.errors == 0, report.output
    assert report.passed >= 12 * len(hostile().entities)
    assert report.lint == ()
    assert report.ok
    assert tree(tmp_path / "out") == before  # the tester leaves the product as it found it
