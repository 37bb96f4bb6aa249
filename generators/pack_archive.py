"""Bring a pack's source onto this machine safely: a folder, a .tar.gz or .zip archive, or a git repository.

Whatever the source, what lands in the staging folder is plain files and folders only, every name a
plain path segment inside the staging folder: absolute paths, `..`, links, devices and odd names are
refused, and so are more than MAX_MEMBERS entries, a file over MAX_FILE_BYTES or more than
MAX_TOTAL_BYTES in all. Sizes are counted on the bytes actually written, not on what a header claims,
so a compression bomb stops at the limit.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from ontology.errors import InvalidInputError

__all__ = ["MAX_FILE_BYTES", "MAX_MEMBERS", "MAX_TOTAL_BYTES", "fetch_source", "is_git_url"]

MAX_MEMBERS = 5_000
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 50 * 1024 * 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.+-]{0,127}\Z")  # "." and ".." are refused apart
_GIT_URL = re.compile(r"^(https://|http://|ssh://|git://|file://|git@[A-Za-z0-9.-]+:)[^\s]+\Z")
_CHUNK = 1 << 16


def is_git_url(source: str) -> bool:
    """Whether `source` names a git repository (https, ssh, git, file URL or scp-like git@host:path)."""
    return bool(_GIT_URL.match(source))


class _Budget:
    """Counts entries and bytes written; refuses past the limits."""

    def __init__(self) -> None:
        self.members = 0
        self.total = 0

    def entry(self) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise InvalidInputError(f"the pack has more than {MAX_MEMBERS} entries: refused")

    def copy(self, source: IO[bytes], target: Path, name: str) -> None:
        written = 0
        with open(target, "xb") as out:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                self.total += len(chunk)
                if written > MAX_FILE_BYTES:
                    raise InvalidInputError(f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB: refused")
                if self.total > MAX_TOTAL_BYTES:
                    raise InvalidInputError(f"the pack is larger than {MAX_TOTAL_BYTES // (1024 * 1024)} MiB: refused")
                out.write(chunk)


def _safe_path(name: str) -> PurePosixPath:
    """A member name as a relative path of plain segments, or InvalidInputError."""
    text = name.replace("\\", "/")
    path = PurePosixPath(text)
    parts = [p for p in path.parts if p not in ("", ".")]
    if text.startswith("/") or not parts or any(not _SEGMENT.match(p) or p == ".." for p in parts):
        raise InvalidInputError(f"the archive holds an unsafe path {name[:80]!r}: refused")
    return PurePosixPath(*parts)


def _target(staging: Path, name: str) -> Path:
    target = staging.joinpath(*_safe_path(name).parts)
    if not target.resolve().is_relative_to(staging.resolve()):
        raise InvalidInputError(f"the archive holds a path outside the pack {name[:80]!r}: refused")
    return target


def _from_tar(archive: Path, staging: Path) -> None:
    budget = _Budget()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in _tar_members(tar):
                budget.entry()
                target = _target(staging, member.name)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isreg():
                    raise InvalidInputError(
                        f"the archive holds {member.name[:80]!r}, which is not a plain file: refused"
                    )
                if member.size > MAX_FILE_BYTES:
                    raise InvalidInputError(f"{member.name[:80]} is larger than {MAX_FILE_BYTES >> 20} MiB")
                target.parent.mkdir(parents=True, exist_ok=True)
                data = tar.extractfile(member)
                assert data is not None  # a regular member always has data
                budget.copy(data, target, member.name)
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, FileExistsError):
            raise InvalidInputError(f"the archive holds {Path(str(exc.filename)).name} twice: refused") from None
        raise InvalidInputError(f"{archive.name} is not a readable .tar.gz archive ({type(exc).__name__})") from None


def _tar_members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while (member := tar.next()) is not None:
        yield member


def _from_zip(archive: Path, staging: Path) -> None:
    budget = _Budget()
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                budget.entry()
                target = _target(staging, info.filename)
                kind = stat.S_IFMT(info.external_attr >> 16)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if kind not in (0, stat.S_IFREG):
                    raise InvalidInputError(
                        f"the archive holds {info.filename[:80]!r}, which is not a plain file: refused"
                    )
                if info.file_size > MAX_FILE_BYTES:
                    raise InvalidInputError(
                        f"{info.filename[:80]} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as data:
                    budget.copy(data, target, info.filename)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError) as exc:
        if isinstance(exc, FileExistsError):
            raise InvalidInputError(f"the archive holds {Path(str(exc.filename)).name} twice: refused") from None
        raise InvalidInputError(f"{archive.name} is not a readable .zip archive ({type(exc).__name__})") from None


def _from_folder(folder: Path, staging: Path) -> None:
    """Copy a folder's plain files (not its .git); a link or a special file anywhere is refused."""
    budget = _Budget()
    for base, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in (".git", "__pycache__"))
        here = Path(base)
        for entry in [*dirs, *sorted(names)]:
            path = here / entry
            rel = path.relative_to(folder).as_posix()
            mode = path.lstat().st_mode
            budget.entry()
            target = _target(staging, rel)
            if stat.S_ISDIR(mode):
                target.mkdir(parents=True, exist_ok=True)
            elif stat.S_ISREG(mode):
                target.parent.mkdir(parents=True, exist_ok=True)
                with path.open("rb") as data:
                    budget.copy(data, target, rel)
            else:
                raise InvalidInputError(f"the pack holds {rel}, which is a link or not a plain file: refused")


def _from_git(url: str, staging: Path, ref: str | None) -> None:
    """A shallow clone with links checked out as plain files, no submodules and no prompts; then a safe copy."""
    if ref is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}", ref):
        raise InvalidInputError(f"{ref[:60]!r} is not a branch or tag name")
    clone = staging.parent / f"{staging.name}.git-clone"
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ALLOW_PROTOCOL": "https:http:ssh:git:file",
    }
    command = ["git", "-c", "core.symlinks=false", "-c", "protocol.ext.allow=never", "clone", "--quiet", "--depth", "1",
               "--no-tags", "--single-branch"]  # fmt: skip
    command += ["--branch", ref] if ref else []
    try:
        done = subprocess.run(
            [*command, "--", url, str(clone)], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["git clone failed"])[-1]
            raise InvalidInputError(f"cannot clone {url[:120]}: {last[:200]}")
        _from_folder(clone, staging)
    except subprocess.TimeoutExpired:
        raise InvalidInputError(f"cloning {url[:120]} took longer than 300 s: refused") from None
    finally:
        shutil.rmtree(clone, ignore_errors=True)


def fetch_source(source: str, staging: Path, ref: str | None = None) -> None:
    """Bring the pack named by `source` (folder, .tar.gz/.tgz, .zip, or git URL) into the empty `staging` folder."""
    staging.mkdir(parents=True, exist_ok=False)
    if is_git_url(source):
        _from_git(source, staging, ref)
        return
    path = Path(source)
    if path.is_dir():
        _from_folder(path, staging)
    elif not path.is_file():
        raise InvalidInputError(f"no such pack folder, archive or git URL: {source[:200]}")
    elif path.name.endswith((".tar.gz", ".tgz")):
        _from_tar(path, staging)
    elif path.name.endswith(".zip"):
        _from_zip(path, staging)
    else:
        raise InvalidInputError(f"{path.name} is not a pack: give a folder, a .tar.gz or .zip archive, or a git URL")
