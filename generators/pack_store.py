"""Installed template packs: install (from a folder, an archive or a git URL), deprecate and remove.

An installed pack lives in `$FACTORY_HOME/templates/<name>/<version>/`, immutable once there: a version
is installed once (remove it to install it again). Installing verifies the pack's lock and signature
when it has them; a pack without a lock is locked as it is installed (and stays unsigned). A name the
factory ships a pack under cannot be installed: the built-in pack wins, and nobody can shadow it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from generators.pack_archive import fetch_source
from generators.pack_integrity import LOCK, write_lock
from generators.packs import (
    BUILTIN,
    DEPRECATED,
    INSTALLED,
    MANIFEST,
    PACK_NAME,
    TEMPLATES_ROOT,
    TemplatePack,
    deprecations,
    installed_root,
    pack_names,
    pack_versions,
    parse_version,
    read_pack,
)
from graph.files import write_atomically
from ontology.errors import FactoryError, InvalidInputError, NotFoundError

__all__ = ["PackEntry", "catalog", "deprecate_pack", "find_pack_root", "install_pack", "read_identity", "remove_pack"]


def find_pack_root(staging: Path) -> Path:
    """The folder holding `manifest.yaml`: the staging folder itself or its one top-level folder."""
    if (staging / MANIFEST).is_file():
        return staging
    tops = [p for p in staging.iterdir() if p.is_dir()]
    if len(tops) == 1 and (tops[0] / MANIFEST).is_file():
        return tops[0]
    raise InvalidInputError(f"no {MANIFEST} at the top of the pack (or in its one top-level folder)")


def read_identity(root: Path) -> tuple[str, str]:
    """The name and version a pack folder's manifest gives (checked as names and versions, nothing more)."""
    try:
        data = yaml.safe_load((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"no {MANIFEST} in {root}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"the pack's {MANIFEST} is not valid YAML ({type(exc).__name__})") from None
    name = data.get("name") if isinstance(data, dict) else None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(name, str) or not PACK_NAME.match(name):
        raise InvalidInputError(f"the pack's {MANIFEST} has no valid name (lowercase letters, digits and '-')")
    parse_version(str(version))
    return name, str(version)


def install_pack(source: str, ref: str | None = None) -> TemplatePack:
    """Install the pack at `source` (folder, .tar.gz/.zip archive or git URL) and return it, verified.

    Nothing is left behind when any check fails: the pack is assembled in a staging folder beside the
    installed ones and moved into place in one rename."""
    root = installed_root()
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{secrets.token_hex(8)}"
    try:
        fetch_source(source, staging / "source", ref)
        found = find_pack_root(staging / "source")
        name, version = read_identity(found)
        if (TEMPLATES_ROOT / name).is_dir():
            raise InvalidInputError(f"{name} is the name of a pack the factory ships: publish yours under another name")
        target = root / name / version
        if target.exists():
            raise InvalidInputError(f"{name} {version} is installed already: versions are immutable; remove it first")
        placed = staging / "pack" / name / version
        placed.parent.mkdir(parents=True)
        os.rename(found, placed)
        if not (placed / LOCK).exists():
            write_lock(placed, name, version)
        read_pack(placed, INSTALLED).check_factory()  # the manifest, the lock and the signature, all checked
        target.parent.mkdir(exist_ok=True)
        os.rename(placed, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return read_pack(target, INSTALLED)


def _installed(name: str, version: str) -> Path:
    if (TEMPLATES_ROOT / name).is_dir():
        raise InvalidInputError(f"{name} is a pack the factory ships: it cannot be removed")
    parse_version(version)
    folder = installed_root() / name / version
    if not PACK_NAME.match(name) or folder not in pack_versions(name, installed_root()):
        raise NotFoundError(f"no installed template pack {name} {version}")
    return folder


def remove_pack(name: str, version: str) -> None:
    """Remove an installed pack version (the products it rendered keep their files)."""
    folder = _installed(name, version)
    trash = folder.with_name(f".removing-{version}-{secrets.token_hex(4)}")
    os.rename(folder, trash)  # gone from the listing at once, even if deleting the files takes a while
    shutil.rmtree(trash)
    if not any(folder.parent.iterdir()):
        folder.parent.rmdir()
    gone = deprecations()
    if gone.pop(f"{name}@{version}", None) is not None:
        _save_deprecations(gone)


def deprecate_pack(name: str, version: str, reason: str, *, undo: bool = False) -> None:
    """Mark a pack version (built-in or installed) deprecated with a reason, or (`undo`) no longer."""
    parse_version(version)
    folder = (TEMPLATES_ROOT if (TEMPLATES_ROOT / name).is_dir() else installed_root()) / name / version
    if not PACK_NAME.match(name) or not folder.is_dir():
        raise NotFoundError(f"no template pack {name} {version}")
    reason = " ".join(reason.split())
    if not undo and not 0 < len(reason) <= 300:
        raise InvalidInputError("say why the version is deprecated in 1-300 characters (--reason)")
    gone = deprecations()
    if undo:
        gone.pop(f"{name}@{version}", None)
    else:
        gone[f"{name}@{version}"] = reason
    _save_deprecations(gone)


def _save_deprecations(gone: dict[str, str]) -> None:
    path = installed_root() / DEPRECATED
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, (json.dumps(dict(sorted(gone.items())), indent=2) + "\n").encode())


@dataclass(frozen=True)
class PackEntry:
    """One pack version as the catalog shows it: loaded and verified, or the one line why it cannot be used."""

    name: str
    version: str
    source: str
    pack: TemplatePack | None
    problem: str = ""

    @property
    def verification(self) -> str:
        """built-in, signed by <publisher>, unsigned, or refused: <why>."""
        if self.pack is None:
            return f"refused: {self.problem}"
        if self.pack.seal is None:
            return BUILTIN
        return self.pack.seal.describe()


def catalog() -> list[PackEntry]:
    """Every pack version, built-in and installed, with its verification; a pack that fails it is listed too."""
    entries = []
    names = sorted({*pack_names(TEMPLATES_ROOT), *pack_names(installed_root())})
    for name in names:
        source = BUILTIN if (TEMPLATES_ROOT / name).is_dir() else INSTALLED
        for folder in pack_versions(name, TEMPLATES_ROOT if source == BUILTIN else installed_root()):
            try:
                entries.append(PackEntry(name, folder.name, source, read_pack(folder, source)))
            except FactoryError as exc:
                entries.append(PackEntry(name, folder.name, source, None, str(exc)))
    return entries
