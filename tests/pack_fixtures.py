"""Small template packs for the tests of installing, verifying, trusting and listing packs."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import yaml

FILES = {
    "README.md.j2": "# {{ product.name | md }}\n",
    "app/__entity__.txt.j2": "{{ entity.cls }}\n",
    "static.txt": "copied as is\n",
}


def make_pack(
    folder: Path, name: str = "mini-api", version: str = "1.0.0", files: dict[str, str] | None = None, **extra: object
) -> Path:
    """A pack folder holding manifest.yaml and files/ (not locked)."""
    manifest = {"name": name, "version": version, "description": "A tiny pack.", "min_factory_version": "0.0.1"}
    (folder / "files").mkdir(parents=True)
    (folder / "manifest.yaml").write_text(yaml.safe_dump({**manifest, **extra}), encoding="utf-8")
    for path, text in (files or FILES).items():
        target = folder / "files" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


def tar_of(folder: Path, archive: Path, prefix: str = "pack") -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=prefix)
    return archive


def zip_of(folder: Path, archive: Path, prefix: str = "pack") -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return archive


def tar_member(
    tar: tarfile.TarFile, name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE, **info: object
) -> None:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.size = len(data) if kind == tarfile.REGTYPE else 0
    for key, value in info.items():
        setattr(member, key, value)
    tar.addfile(member, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
