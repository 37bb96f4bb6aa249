"""Template packs: versioned folders `<root>/<name>/<version>/` with a manifest.

Two roots are searched: the packs built into the factory (`generators/templates/`) and the packs
installed under the factory home (`$FACTORY_HOME/templates/`, see `generators.pack_store`). A pack name
belongs to one root: installing a name the factory ships is refused, and should a folder appear there
anyway, the built-in pack wins. An installed pack is verified against its lock (and signature) every
time it is loaded; an altered one is refused.

A pack holds `manifest.yaml` (name, version, description, parameters, min_factory_version, optional
max_factory_version, the blueprint `features` it supports, optional per-file conditions,
`migrations: true` when its products carry generated migrations, and `upgrade: {renames: {old path: new
path}}`, the pack migrations a product's upgrade into this version runs) and a `files/` tree of templates.
A file named `*.j2` is rendered, any other file is copied; a path segment `__entity__` makes a
template render once per entity, and a leading `dot-` in a segment becomes `.` (so `.github`
survives packaging). Installed packs also carry `manifest.lock` and maybe `manifest.sig`
(`generators.pack_integrity`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from generators.pack_features import KNOWN_FEATURES, blueprint_features
from generators.pack_integrity import content_digest, pack_files, verify_pack
from ontology.config import factory_home
from ontology.errors import FactoryError, InvalidInputError, NotFoundError
from ontology.models import Blueprint
from ontology.packs import BUILTIN, INSTALLED, PackSeal

__all__ = [
    "BUILTIN",
    "INSTALLED",
    "PACK_NAME",
    "TEMPLATES_ROOT",
    "PackParameter",
    "TemplatePack",
    "deprecations",
    "factory_version",
    "installed_root",
    "list_packs",
    "load_pack",
    "pack_names",
    "pack_versions",
    "parse_version",
    "read_pack",
]

TEMPLATES_ROOT = Path(__file__).parent / "templates"
MANIFEST = "manifest.yaml"
PACK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)\Z")
_PARAMETER = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")
_FEATURE = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")
_FIELDS = {
    "name", "version", "description", "parameters", "min_factory_version", "max_factory_version", "features",
    "conditions", "migrations", "upgrade",
}  # fmt: skip
_PRODUCT_PATH = re.compile(r"^(?!/)(?!.*(?:^|/)\.{1,2}(?:/|\Z))[A-Za-z0-9_./-]{1,300}\Z")
DEPRECATED = "deprecated.json"


def installed_root() -> Path:
    """Where installed packs live: `$FACTORY_HOME/templates/<name>/<version>/`."""
    return factory_home() / "templates"


def deprecations() -> dict[str, str]:
    """The deprecated pack versions (`name@version` -> why), kept in `$FACTORY_HOME/templates/deprecated.json`."""
    path = installed_root() / DEPRECATED
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError(f"{path} is not valid JSON: fix or remove it") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InvalidInputError(f"{path} must map name@version to a reason")
    return data


def parse_version(text: str) -> tuple[int, int, int]:
    """MAJOR.MINOR.PATCH as a tuple of ints; raises InvalidInputError for anything else."""
    match = _VERSION.match(str(text))
    if not match:
        raise InvalidInputError(f"{str(text)[:40]!r} is not a version: use MAJOR.MINOR.PATCH, e.g. 1.0.0")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def factory_version() -> str:
    """The installed factory's version (0.0.0 when it runs from a bare source tree)."""
    try:
        return metadata.version("software-factory")
    except metadata.PackageNotFoundError:
        return "0.0.0"


@dataclass(frozen=True)
class PackParameter:
    """A value a caller may set when rendering; `pattern` restricts text values."""

    name: str
    description: str
    default: str | int | float | bool
    pattern: str | None = None

    def check(self, value: object) -> str | int | float | bool:
        """`value` if it has the default's type (and matches the pattern), else InvalidInputError."""
        kind = type(self.default)
        if type(value) is not kind:
            raise InvalidInputError(f"parameter {self.name}: expected {kind.__name__}, got {type(value).__name__}")
        if self.pattern is not None and not re.fullmatch(self.pattern, str(value)):
            raise InvalidInputError(f"parameter {self.name}: {str(value)[:60]!r} does not match {self.pattern}")
        assert isinstance(value, str | int | float | bool)
        return value


@dataclass(frozen=True)
class TemplatePack:
    """A loaded, validated pack."""

    name: str
    version: str
    description: str
    min_factory_version: str
    root: Path
    parameters: tuple[PackParameter, ...] = ()
    conditions: dict[str, str] = field(default_factory=dict)
    migrations: bool = False  # the rendered product carries migrations generated from the blueprints
    renames: dict[str, str] = field(default_factory=dict)
    """Pack migrations: product files an upgrade into this version moves (old path -> new path)."""
    features: frozenset[str] = KNOWN_FEATURES
    """The blueprint features the pack renders; a manifest without `features` renders all of this factory's."""
    max_factory_version: str | None = None
    source: str = BUILTIN
    """built-in (shipped with the factory) or installed (under the factory home)."""
    deprecated: str = ""
    """Why the version is deprecated ("" when it is not): it still renders, but is no longer picked by default."""
    seal: PackSeal | None = None
    """An installed pack's verified lock and signature; None for a built-in pack (trusted as factory code)."""

    @cached_property
    def sealed(self) -> PackSeal:
        """The pack's seal: an installed pack's verified one, or a built-in pack's, its digest computed once
        here (published by the factory, unsigned: the factory's own code needs no signature)."""
        if self.seal is not None:
            return self.seal
        files = pack_files(self.root)
        return PackSeal(self.name, self.version, content_digest(files), self.source, "factory", files=len(files))

    def check_blueprint(self, blueprint: Blueprint) -> None:
        """Refuse, before anything is rendered, a blueprint that needs a feature this pack does not render."""
        missing = sorted(blueprint_features(blueprint) - self.features)
        if missing:
            raise InvalidInputError(
                f"template pack {self.name} {self.version} does not support {', '.join(missing)}, which "
                f"{blueprint.tenant}/{blueprint.slug} needs: pick a pack that does, or drop them from the blueprint"
            )

    def check_factory(self) -> None:
        """Refuse a pack made for other versions of the factory."""
        this = parse_version(factory_version())
        if this < parse_version(self.min_factory_version):
            raise InvalidInputError(
                f"template pack {self.name} {self.version} needs factory {self.min_factory_version} or newer "
                f"(this is {factory_version()}): upgrade the factory or pick an older pack version"
            )
        if self.max_factory_version is not None and this > parse_version(self.max_factory_version):
            raise InvalidInputError(
                f"template pack {self.name} {self.version} supports factory versions up to "
                f"{self.max_factory_version} (this is {factory_version()}): pick a newer pack version"
            )

    @property
    def files_root(self) -> Path:
        return self.root / "files"

    def template_paths(self) -> list[str]:
        """Every file of the pack's tree, as sorted POSIX paths relative to `files/`."""
        paths = [p.relative_to(self.files_root).as_posix() for p in self.files_root.rglob("*") if p.is_file()]
        return sorted(p for p in paths if "__pycache__" not in p.split("/"))

    def parameter_values(self, given: dict[str, Any] | None = None) -> dict[str, str | int | float | bool]:
        """Defaults overridden by `given`; unknown names and wrong types are refused."""
        known = {p.name: p for p in self.parameters}
        values: dict[str, str | int | float | bool] = {p.name: p.default for p in self.parameters}
        for name, value in sorted((given or {}).items()):
            if name not in known:
                raise InvalidInputError(
                    f"pack {self.name} {self.version} has no parameter {name!r}: use {sorted(known)}"
                )
            values[name] = known[name].check(value)
        return values


def _bad(path: Path, message: str) -> InvalidInputError:
    return InvalidInputError(f"bad pack manifest {path}: {message}")


def _parameters(path: Path, raw: object) -> tuple[PackParameter, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _bad(path, "parameters must be a list")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) - {"name", "description", "default", "pattern"}:
            raise _bad(path, f"parameters[{i}] must have name, description, default (and optionally pattern)")
        name, default = item.get("name"), item.get("default")
        if not isinstance(name, str) or not _PARAMETER.match(name):
            raise _bad(path, f"parameters[{i}].name must be a snake_case identifier")
        if not isinstance(default, str | int | float | bool):
            raise _bad(path, f"parameters[{i}].default must be text, a number or a boolean")
        pattern = item.get("pattern")
        if pattern is not None:
            try:
                re.compile(str(pattern))
            except re.error as exc:
                raise _bad(path, f"parameters[{i}].pattern: {exc}") from None
            if not re.fullmatch(str(pattern), str(default)):
                raise _bad(path, f"parameters[{i}].default does not match its pattern")
        out.append(PackParameter(name, str(item.get("description", "")), default, pattern))
    if len({p.name for p in out}) != len(out):
        raise _bad(path, "parameter names repeat")
    return tuple(out)


def _renames(path: Path, raw: object) -> dict[str, str]:
    """The `upgrade` section's file renames, each path a relative product path, no target named twice."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or set(raw) - {"renames"}:
        raise _bad(path, "upgrade may only hold renames")
    renames = raw.get("renames") or {}
    if not isinstance(renames, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and _PRODUCT_PATH.match(k) and _PRODUCT_PATH.match(v)
        for k, v in renames.items()
    ):
        raise _bad(path, "upgrade.renames must map relative product paths to relative product paths")
    if len(set(renames.values())) != len(renames) or set(renames) & set(renames.values()):
        raise _bad(path, "upgrade.renames names a path twice")
    return dict(sorted(renames.items()))


def _features(path: Path, raw: object) -> frozenset[str]:
    if raw is None:
        return KNOWN_FEATURES
    if not isinstance(raw, list) or not all(isinstance(f, str) and _FEATURE.match(f) for f in raw):
        raise _bad(path, "features must be a list of snake_case feature names")
    return frozenset(raw)


def read_pack(root: Path, source: str = BUILTIN) -> TemplatePack:
    """The pack in folder `root`, its manifest checked (and, when installed, its lock and signature)."""
    path = root / MANIFEST
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _bad(path, "missing") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise _bad(path, f"not valid YAML ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise _bad(path, "expected a mapping")
    unknown = set(data) - _FIELDS
    if unknown:
        raise _bad(path, f"unknown fields {sorted(unknown)}")
    for key in ("name", "version", "description", "min_factory_version"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _bad(path, f"{key} is required text")
    if data["name"] != root.parent.name or data["version"] != root.name:
        raise _bad(path, f"name and version must match the folder {root.parent.name}/{root.name}")
    if data.get("max_factory_version") is not None and not isinstance(data["max_factory_version"], str):
        raise _bad(path, "max_factory_version must be text")
    for key in ("version", "min_factory_version", "max_factory_version"):
        if key not in data or data[key] is None:
            continue
        try:
            parse_version(data[key])
        except InvalidInputError as exc:
            raise _bad(path, f"{key}: {exc}") from None
    conditions = data.get("conditions") or {}
    if not isinstance(conditions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in conditions.items()
    ):
        raise _bad(path, "conditions must map template paths to expressions")
    if not (root / "files").is_dir():
        raise _bad(path, "the pack has no files/ folder")
    if not isinstance(data.get("migrations", False), bool):
        raise _bad(path, "migrations must be true or false")
    return TemplatePack(
        name=data["name"],
        version=data["version"],
        description=" ".join(data["description"].split()),
        min_factory_version=data["min_factory_version"],
        root=root,
        parameters=_parameters(path, data.get("parameters")),
        conditions=dict(sorted(conditions.items())),
        migrations=data.get("migrations", False),
        renames=_renames(path, data.get("upgrade")),
        features=_features(path, data.get("features")),
        max_factory_version=data.get("max_factory_version"),
        source=source,
        deprecated=deprecations().get(f"{data['name']}@{data['version']}", ""),
        seal=verify_pack(root, data["name"], data["version"]) if source == INSTALLED else None,
    )


def pack_versions(name: str, root: Path) -> list[Path]:
    """The version folders of pack `name` under `root`, oldest first."""
    folder = root / name
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and _VERSION.match(p.name)]
    return sorted(found, key=lambda p: parse_version(p.name))


def pack_names(root: Path) -> list[str]:
    """The pack names under `root`."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink() and PACK_NAME.match(p.name))


def _roots(root: Path | None) -> list[tuple[Path, str]]:
    """The roots to search, first wins: a given root alone, else the built-in packs then the installed ones."""
    if root is not None:
        return [(root, INSTALLED if root == installed_root() else BUILTIN)]
    return [(TEMPLATES_ROOT, BUILTIN), (installed_root(), INSTALLED)]


def _folders(name: str, root: Path | None) -> tuple[list[Path], str]:
    """The version folders of pack `name` in the first root that has it, and that root's kind."""
    for where, source in _roots(root):
        versions = pack_versions(name, where)
        if versions:
            return versions, source
    return [], BUILTIN


def list_packs(root: Path | None = None) -> list[TemplatePack]:
    """Every version of every pack, sorted by name then version: under `root`, or built-in and installed.

    An installed pack that fails its verification is left out here (`load_pack` says why)."""
    names = sorted({name for where, _ in _roots(root) for name in pack_names(where)})
    packs = []
    for name in names:
        versions, source = _folders(name, root)
        for version in versions:
            try:
                packs.append(read_pack(version, source))
            except FactoryError:
                if source == BUILTIN:
                    raise
    return packs


def load_pack(name: str, version: str | None = None, root: Path | None = None) -> TemplatePack:
    """The pack `name` at `version` (the highest version when None), verified and checked against this factory."""
    if not isinstance(name, str) or not PACK_NAME.match(name):
        raise InvalidInputError(f"{str(name)[:60]!r} is not a pack name: use lowercase letters, digits and '-'")
    versions, source = _folders(name, root)
    if not versions:
        known = sorted({p.name for p in list_packs(root)})
        raise NotFoundError(f"no template pack {name!r}; known packs: {', '.join(known) or 'none'}")
    if version is None:
        gone = deprecations()
        current = [p for p in versions if f"{name}@{p.name}" not in gone]
        folder = (current or versions)[-1]
    else:
        parse_version(version)
        matches = [p for p in versions if p.name == version]
        if not matches:
            raise NotFoundError(
                f"template pack {name!r} has no version {version}; versions: {', '.join(p.name for p in versions)}"
            )
        folder = matches[0]
    pack = read_pack(folder, source)
    pack.check_factory()
    return pack
