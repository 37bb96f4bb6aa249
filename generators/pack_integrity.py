"""The integrity of a template pack: its content digest (the lock) and its publisher's Ed25519 signature.

* `manifest.lock` (JSON, beside `manifest.yaml`) records the SHA-256 of every file of the pack and one
  content digest over them: `sha256:` of the sorted lines `<path> NUL <file sha256> LF`. The lock and
  the signature themselves are not part of the digest; `__pycache__` folders are never read.
* `manifest.sig` (JSON) holds the publisher's name, its public key (`ed25519:<base64>`) and the signature
  of `factory-pack-v1 NUL <publisher> NUL <the lock's bytes>`, so neither the files, the lock nor the
  publisher's name can change without the signature failing.
* A pack whose files differ from its lock, or whose signature does not verify, is refused with one line.
  Which publishers' keys a tenant trusts is its policy's business (`infra.pack_trust`), not this module's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ontology.errors import FactoryError, InvalidInputError
from ontology.packs import INSTALLED, PackSeal

__all__ = [
    "LOCK",
    "SIGNATURE",
    "PackIntegrityError",
    "check_publisher",
    "content_digest",
    "keygen",
    "pack_files",
    "read_public_key",
    "sign_pack",
    "verify_pack",
    "write_lock",
]

LOCK = "manifest.lock"
SIGNATURE = "manifest.sig"
_UNSEALED = {LOCK, SIGNATURE}
_FORMAT = 1
_PUBLISHER = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
_KEY = re.compile(r"^ed25519:[A-Za-z0-9+/]{43}=\Z")
MAX_FILES = 5_000


class PackIntegrityError(FactoryError):
    """A pack's files differ from its lock, or its signature does not verify; nothing was used."""


def pack_files(root: Path) -> dict[str, str]:
    """Every file of the pack at `root` (its lock and signature aside) as POSIX path -> SHA-256.

    A symbolic link, a device or any other non-regular file is refused: a pack is plain files."""
    found: dict[str, str] = {}
    for folder, dirs, names in os.walk(root, followlinks=False):
        base = Path(folder)
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for entry in [*dirs, *sorted(names)]:
            path = base / entry
            mode = path.lstat().st_mode
            rel = path.relative_to(root).as_posix()
            if stat.S_ISLNK(mode):
                raise PackIntegrityError(f"the pack holds a symbolic link {rel}: packs are plain files only")
            if entry in dirs:
                continue
            if not stat.S_ISREG(mode):
                raise PackIntegrityError(f"the pack holds {rel}, which is not a plain file")
            if rel in _UNSEALED:
                continue
            if len(found) >= MAX_FILES:
                raise PackIntegrityError(f"the pack has more than {MAX_FILES} files")
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def content_digest(files: dict[str, str]) -> str:
    """The pack's content digest over (path, file digest) pairs: `sha256:<hex>`."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(f"{path}\0{files[path]}\n".encode())
    return f"sha256:{h.hexdigest()}"


def _lock_bytes(name: str, version: str, files: dict[str, str]) -> bytes:
    lock = {"format": _FORMAT, "name": name, "version": version, "digest": content_digest(files), "files": files}
    return (json.dumps(lock, indent=2, sort_keys=True) + "\n").encode()


def write_lock(root: Path, name: str, version: str) -> str:
    """Record the pack's files in `manifest.lock` (replacing an older lock and dropping a stale signature)."""
    files = pack_files(root)
    (root / SIGNATURE).unlink(missing_ok=True)
    (root / LOCK).write_bytes(_lock_bytes(name, version, files))
    return content_digest(files)


def _message(publisher: str, lock: bytes) -> bytes:
    return b"factory-pack-v1\0" + publisher.encode() + b"\0" + lock


def _read_lock(root: Path, name: str, version: str) -> tuple[bytes, dict[str, str]]:
    try:
        raw = (root / LOCK).read_bytes()
        lock = json.loads(raw)
    except FileNotFoundError:
        raise PackIntegrityError(f"pack {name} {version} has no {LOCK}: it cannot be verified") from None
    except (ValueError, UnicodeDecodeError):
        raise PackIntegrityError(f"pack {name} {version}: {LOCK} is not valid JSON") from None
    files = lock.get("files") if isinstance(lock, dict) else None
    if (
        not isinstance(files, dict)
        or lock.get("format") != _FORMAT
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
    ):
        raise PackIntegrityError(f"pack {name} {version}: {LOCK} is not a format-{_FORMAT} lock")
    if (lock.get("name"), lock.get("version")) != (name, version):
        raise PackIntegrityError(f"pack {name} {version}: its lock is for {lock.get('name')} {lock.get('version')}")
    if lock.get("digest") != content_digest(files):
        raise PackIntegrityError(f"pack {name} {version}: the lock's digest does not match the files it lists")
    return raw, files


def verify_pack(root: Path, name: str, version: str, source: str = INSTALLED) -> PackSeal:
    """Check the pack's files against its lock and, when it has one, its signature against the lock."""
    raw, locked = _read_lock(root, name, version)
    actual = pack_files(root)
    if actual != locked:
        changed = sorted(p for p in set(actual) | set(locked) if actual.get(p) != locked.get(p))
        what = "added" if changed[0] not in locked else "removed" if changed[0] not in actual else "changed"
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise PackIntegrityError(f"pack {name} {version} was altered after it was locked: {changed[0]} {what}{more}")
    digest = content_digest(actual)
    if not (root / SIGNATURE).exists():
        return PackSeal(name, version, digest, source, files=len(actual))
    publisher, key, signature = _read_signature(root, name, version)
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.removeprefix("ed25519:")))
    try:
        public.verify(signature, _message(publisher, raw))
    except InvalidSignature:
        raise PackIntegrityError(
            f"pack {name} {version}: the signature of {publisher} does not match its lock (altered or forged)"
        ) from None
    return PackSeal(name, version, digest, source, publisher, key, len(actual))


def _read_signature(root: Path, name: str, version: str) -> tuple[str, str, bytes]:
    bad = PackIntegrityError(f"pack {name} {version}: {SIGNATURE} is not a valid signature file")
    try:
        sig = json.loads((root / SIGNATURE).read_bytes())
    except (ValueError, UnicodeDecodeError, OSError):
        raise bad from None
    if not isinstance(sig, dict) or sig.get("format") != _FORMAT:
        raise bad
    publisher, key, text = sig.get("publisher"), sig.get("key"), sig.get("signature")
    if not isinstance(publisher, str) or not _PUBLISHER.match(publisher):
        raise bad
    if not isinstance(key, str) or not _KEY.match(key) or not isinstance(text, str):
        raise bad
    try:
        signature = base64.b64decode(text, validate=True)
    except ValueError:
        raise bad from None
    if len(signature) != 64:
        raise bad
    return publisher, key, signature


def _public_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + base64.b64encode(raw).decode()


def check_publisher(publisher: str) -> str:
    if not isinstance(publisher, str) or not _PUBLISHER.match(publisher):
        raise InvalidInputError(
            f"{str(publisher)[:60]!r} is not a publisher name: use lowercase letters, digits and '-'"
        )
    return publisher


def keygen(publisher: str, folder: Path) -> tuple[Path, Path, str]:
    """A new Ed25519 key pair for `publisher`: `<publisher>.key` (private, mode 0600) and `<publisher>.pub`.

    Refuses to overwrite a key that exists. Returns both paths and the public key text."""
    check_publisher(publisher)
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / f"{publisher}.key", folder / f"{publisher}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise InvalidInputError(f"{path} exists: keep the old key, or move it away first")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    handle = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as out:
        out.write(pem)
    public = _public_text(key.public_key())
    public_path.write_text(f"{public}\n", encoding="utf-8")
    return private_path, public_path, public


def read_public_key(text: str) -> str:
    """A public key as written by `keygen` (`ed25519:<base64>`), checked."""
    key = text.strip()
    if not _KEY.match(key):
        raise InvalidInputError(f"{key[:60]!r} is not a public key: expected ed25519:<base64> as keygen writes it")
    return key


def _private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise InvalidInputError(f"no such key file: {path}") from None
    except (ValueError, TypeError):
        raise InvalidInputError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInputError(f"{path} is not an Ed25519 key: make one with `factory templates keygen`")
    return key


def sign_pack(root: Path, name: str, version: str, key_file: Path, publisher: str) -> PackSeal:
    """Lock the pack's files and sign the lock as `publisher` with the private key in `key_file`."""
    check_publisher(publisher)
    key = _private_key(key_file)
    files = pack_files(root)
    lock = _lock_bytes(name, version, files)
    signature = key.sign(_message(publisher, lock))
    sig = {
        "format": _FORMAT,
        "publisher": publisher,
        "key": _public_text(key.public_key()),
        "signature": base64.b64encode(signature).decode(),
    }
    (root / LOCK).write_bytes(lock)
    (root / SIGNATURE).write_text(json.dumps(sig, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return verify_pack(root, name, version)
