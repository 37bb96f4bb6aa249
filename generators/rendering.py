"""Render a template pack for a blueprint into a folder: sandboxed, deterministic, contained.

* Templates run in Jinja's SandboxedEnvironment with StrictUndefined; the blueprint reaches them
  only as data in the render context, never as template source, so `{{ ... }}` in a label stays text.
* Output paths come from the pack's tree and entity identifiers only; every path is resolved and
  must stay inside the output folder, and files are written atomically with LF newlines.
* Iteration is sorted and nothing depends on time or chance: the same blueprint, pack version and
  trace id give byte-identical files. `.factory/answers.json` records what is needed to do it again.
* A pack with `migrations: true` gets the product's Alembic migrations: the previous revision's scripts
  carried forward, and one more for what changed in the tables (`generators.migrations`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from generators.blueprint import BlueprintError, blueprint_issues
from generators.filters import FILTERS
from generators.migrations import PreviousRevision, plan_migrations
from generators.packs import TemplatePack
from generators.render_context import ProductContext, build_context
from graph.files import write_atomically
from ontology.errors import InvalidInputError
from ontology.models import Blueprint
from ontology.refs import check_trace_id

__all__ = ["ANSWERS_PATH", "RenderResult", "RenderedFile", "render_files", "render_pack"]

ANSWERS_PATH = ".factory/answers.json"
ENTITY_SEGMENT = "__entity__"
_SEGMENT = re.compile(r"^[A-Za-z0-9_.-]+\Z")


@dataclass(frozen=True)
class RenderedFile:
    """One written file: its path relative to the output folder, its SHA-256 and its size in bytes."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class RenderResult:
    """What a render produced, files sorted by path."""

    out_dir: Path
    pack: str
    version: str
    blueprint_hash: str
    trace_id: str
    files: tuple[RenderedFile, ...]

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]


@functools.cache
def _environment() -> SandboxedEnvironment:
    """The one sandboxed environment of this process; it holds no state between renders."""
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    return env


@functools.lru_cache(maxsize=1024)
def _compile(source: str) -> Template:
    """A template compiled once per distinct source text: compiling is most of a render's time."""
    return _environment().from_string(source)


def _output_path(template_path: str, segments: dict[str, str]) -> str:
    """The output path of a template: `dot-` segments become dotfiles, a placeholder (`__entity__`, ...) its value."""
    parts = []
    for segment in template_path.split("/"):
        if segment.startswith("dot-"):
            segment = "." + segment[4:]
        for placeholder, value in segments.items():
            segment = segment.replace(placeholder, value)
        parts.append(segment)
    if parts[-1].endswith(".j2"):
        parts[-1] = parts[-1][:-3]
    for part in parts:
        if part in ("", ".", "..") or not _SEGMENT.match(part):
            raise InvalidInputError(f"template {template_path} gives an unsafe output path segment {part!r}")
    return "/".join(parts)


def _contained(root: Path, relative: str) -> Path:
    """The absolute path of `relative` under `root`; refuses anything that resolves outside it."""
    if relative.startswith("/") or "\\" in relative:
        raise InvalidInputError(f"refusing to write {relative!r}: not a relative path")
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise InvalidInputError(f"refusing to write {relative!r}: it resolves outside the output folder")
    return target


def _normalise(text: str) -> bytes:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text and not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


def _render_all(pack: TemplatePack, context: ProductContext, params: dict[str, Any]) -> dict[str, bytes]:
    env = _environment()
    base = {"product": context, "params": params, "pack": {"name": pack.name, "version": pack.version}}
    outputs: dict[str, bytes] = {}
    for template_path in pack.template_paths():
        condition = pack.conditions.get(template_path)
        if condition is not None and not env.compile_expression(condition)(**base):
            continue
        source = (pack.files_root / template_path).read_text(encoding="utf-8")
        per_entity = ENTITY_SEGMENT in template_path
        try:
            template = _compile(source) if template_path.endswith(".j2") else None
            for entity in context.entities if per_entity else (None,):
                path = _output_path(template_path, {ENTITY_SEGMENT: entity.name} if entity else {})
                if path in outputs or path == ANSWERS_PATH:
                    raise InvalidInputError(f"two templates of {pack.name} {pack.version} write {path}")
                text = source if template is None else template.render(**base, entity=entity)
                outputs[path] = _normalise(text)
        except TemplateError as exc:
            raise InvalidInputError(f"template {template_path} of {pack.name} {pack.version} failed: {exc}") from exc
    return outputs


def _answers(bp: Blueprint, pack: TemplatePack, trace_id: str, params: dict[str, Any], files: list[str]) -> bytes:
    answers = {
        "blueprint_hash": bp.hash,
        "template": {"name": pack.name, "version": pack.version},
        "parameters": params,
        "trace_id": trace_id,
        "files": files,
        "blueprint": bp.model_dump(mode="json"),
    }
    return (json.dumps(answers, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _previous_files(root: Path) -> list[str]:
    """Files a previous render wrote here; refuses a non-empty folder that no render produced."""
    if not root.exists() or not any(root.iterdir()):
        return []
    answers = root / ANSWERS_PATH
    try:
        data = json.loads(answers.read_text(encoding="utf-8"))
        files = data["files"]
        if not isinstance(files, list):
            raise TypeError("files")
    except (OSError, ValueError, KeyError, TypeError):
        raise InvalidInputError(
            f"{root} is not empty and holds no generated product ({ANSWERS_PATH}): choose an empty or new folder"
        ) from None
    return [f for f in files if isinstance(f, str)]


def render_pack(
    pack: TemplatePack,
    blueprint: Blueprint,
    out_dir: Path,
    trace_id: str,
    parameters: dict[str, Any] | None = None,
    previous: PreviousRevision | None = None,
) -> RenderResult:
    """Render `pack` for `blueprint` into `out_dir` (new, empty, or a product rendered before).

    `previous` is the product's last released revision: its migrations are carried forward and the
    tables' changes since become the next one (a change that would lose data raises DataLossError)."""
    check_trace_id(trace_id)
    issues = blueprint_issues(blueprint)
    if issues:
        raise BlueprintError(issues)
    pack.check_blueprint(blueprint)  # a feature the pack lacks: refused before anything is rendered
    params = pack.parameter_values(parameters)
    context = build_context(blueprint, trace_id)
    outputs = _render_all(pack, context, params)
    if pack.migrations:
        for path, data in plan_migrations(blueprint, previous).items():
            if path in outputs:
                raise InvalidInputError(f"a template of {pack.name} {pack.version} writes the migration {path}")
            outputs[path] = data
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise InvalidInputError(f"{root} is a file, not a folder")
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    stale = set(_previous_files(root)) - set(outputs)
    outputs[ANSWERS_PATH] = _answers(blueprint, pack, trace_id, params, sorted(outputs))
    targets = {path: _contained(root, path) for path in sorted(outputs)}
    stale_targets = [_contained(root, path) for path in sorted(stale)]
    for path, target in targets.items():
        write_atomically(target, outputs[path])
    for target in stale_targets:
        target.unlink(missing_ok=True)
    files = tuple(
        RenderedFile(path, hashlib.sha256(data).hexdigest(), len(data)) for path, data in sorted(outputs.items())
    )
    return RenderResult(root, pack.name, pack.version, blueprint.hash, trace_id, files)


def render_files(pack: TemplatePack, out_dir: Path, context: dict[str, Any], segments: dict[str, str]) -> list[str]:
    """Render every template of `pack` with `context` (and `pack`: its name and version) into `out_dir`, a new
    or empty folder, in the same sandbox and with the same path rules as a product; a path segment placeholder
    named in `segments` (such as `__package__`) becomes its value. For packs that render something other than a
    product from a blueprint, such as the `python-sdk` pack (`generators.sdk`). Returns the written paths."""
    root = Path(out_dir)
    if root.is_symlink() or (root.exists() and (not root.is_dir() or any(root.iterdir()))):
        raise InvalidInputError(f"{root} is not an empty folder: give a new one")
    base = {**context, "pack": {"name": pack.name, "version": pack.version}}
    env = _environment()
    outputs: dict[str, bytes] = {}
    for template_path in pack.template_paths():
        condition = pack.conditions.get(template_path)
        try:
            if condition is not None and not env.compile_expression(condition)(**base):
                continue
            source = (pack.files_root / template_path).read_text(encoding="utf-8")
            text = _compile(source).render(**base) if template_path.endswith(".j2") else source
        except TemplateError as exc:
            raise InvalidInputError(f"template {template_path} of {pack.name} {pack.version} failed: {exc}") from exc
        path = _output_path(template_path, segments)
        if path in outputs:
            raise InvalidInputError(f"two templates of {pack.name} {pack.version} write {path}")
        outputs[path] = _normalise(text)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    targets = {path: _contained(root, path) for path in sorted(outputs)}
    for path, target in targets.items():
        write_atomically(target, outputs[path])
    return sorted(outputs)
