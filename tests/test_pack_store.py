"""Installed template packs: the lock and the signature, safe archives (attacks included), git sources,
conflicts with built-in packs, deprecation, blueprint features, and a tenant's trust decided by its policy."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from generators.pack_archive import MAX_FILE_BYTES
from generators.pack_integrity import LOCK, SIGNATURE, PackIntegrityError, keygen, sign_pack, verify_pack, write_lock
from generators.pack_store import catalog, deprecate_pack, install_pack, remove_pack
from generators.packs import (
    INSTALLED,
    TEMPLATES_ROOT,
    factory_version,
    installed_root,
    list_packs,
    load_pack,
    parse_version,
)
from generators.rendering import render_pack
from infra.access import set_policy
from infra.pack_trust import PackNotTrusted, check_pack_trust, trusts_pack
from ontology.errors import InvalidInputError, NotFoundError
from tests.pack_fixtures import make_pack, tar_member, tar_of, zip_of
from tests.product_blueprints import clinic

TRACE = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, str]:
    private, _, public = keygen("acme", tmp_path / "keys")
    return private, public


def _signed(tmp_path: Path, keys: tuple[Path, str]) -> Path:
    folder = make_pack(tmp_path / "src")
    sign_pack(folder, "mini-api", "1.0.0", keys[0], "acme")
    return folder


def _nothing_installed() -> None:
    root = installed_root()
    assert not root.exists() or [p.name for p in root.iterdir()] in ([], ["deprecated.json"]), list(root.iterdir())


# -- lock and signature ------------------------------------------------------------------------------


def test_a_signed_pack_verifies_and_names_its_publisher_and_key(tmp_path: Path, keys: tuple[Path, str]) -> None:
    folder = _signed(tmp_path, keys)
    seal = verify_pack(folder, "mini-api", "1.0.0")
    assert (seal.publisher, seal.key, seal.files) == ("acme", keys[1], 4)
    lock = json.loads((folder / LOCK).read_text())
    assert seal.digest == lock["digest"] and sorted(lock["files"]) == [
        "files/README.md.j2", "files/app/__entity__.txt.j2", "files/static.txt", "manifest.yaml",
    ]  # fmt: skip
    assert (tmp_path / "keys" / "acme.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(InvalidInputError, match="exists"):
        keygen("acme", tmp_path / "keys")  # never overwrites a key


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f: (f / "files" / "static.txt").write_text("changed\n"),
            "altered after it was locked: files/static.txt changed",
        ),
        (lambda f: (f / "files" / "extra.j2").write_text("x"), "files/extra.j2 added"),
        (lambda f: (f / "files" / "static.txt").unlink(), "files/static.txt removed"),
        (lambda f: os.symlink("/etc/passwd", f / "files" / "link.txt"), "symbolic link"),
    ],
)
def test_an_altered_pack_is_refused_in_one_line(
    tmp_path: Path, keys: tuple[Path, str], change: object, message: str
) -> None:
    folder = _signed(tmp_path, keys)
    change(folder)  # type: ignore[operator]
    with pytest.raises(PackIntegrityError, match=message) as caught:
        verify_pack(folder, "mini-api", "1.0.0")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("pack", [f"{p.name}@{p.version}" for p in list_packs(TEMPLATES_ROOT)])
def test_every_built_in_pack_carries_a_lock_that_matches_its_files(pack: str) -> None:
    """Fails when a built-in pack's files change without its lock being regenerated: run
    `factory templates lock generators/templates/<name>/<version>` (docs/template-packs.md)."""
    name, version = pack.split("@")
    root = TEMPLATES_ROOT / name / version
    seal = verify_pack(root, name, version)
    assert seal.files == len(json.loads((root / LOCK).read_text())["files"]) > 3
    assert not (root / SIGNATURE).exists()  # built-in packs are trusted as factory code, not by a signature


def test_the_lock_command_locks_a_pack_and_a_later_change_is_caught(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from studio.cli import app

    folder = make_pack(tmp_path / "src")
    (folder / LOCK).unlink(missing_ok=True)
    result = CliRunner().invoke(app, ["templates", "lock", str(folder)])
    assert result.exit_code == 0, result.output
    assert verify_pack(folder, "mini-api", "1.0.0").digest in result.output
    (folder / "files" / "static.txt").write_text("edited after locking\n")
    with pytest.raises(PackIntegrityError, match=r"files/static\.txt changed"):
        verify_pack(folder, "mini-api", "1.0.0")


def test_a_forged_or_rewritten_signature_is_refused(tmp_path: Path, keys: tuple[Path, str]) -> None:
    folder = _signed(tmp_path, keys)
    sig = json.loads((folder / SIGNATURE).read_text())
    (folder / SIGNATURE).write_text(json.dumps({**sig, "publisher": "factory"}))  # claim another publisher
    with pytest.raises(PackIntegrityError, match="signature of factory does not match"):
        verify_pack(folder, "mini-api", "1.0.0")
    # a relock after changing a file keeps the lock consistent, but the old signature no longer matches it
    (folder / SIGNATURE).write_text(json.dumps(sig))
    (folder / "files" / "static.txt").write_text("evil\n")
    lock = json.loads((folder / LOCK).read_text())
    write_lock(folder, "mini-api", "1.0.0")
    (folder / SIGNATURE).write_text(json.dumps(sig))
    assert json.loads((folder / LOCK).read_text())["digest"] != lock["digest"]
    with pytest.raises(PackIntegrityError, match="signature of acme does not match its lock"):
        verify_pack(folder, "mini-api", "1.0.0")
    other, _, _ = keygen("mallory", tmp_path / "other")
    sign_pack(folder, "mini-api", "1.0.0", other, "mallory")
    assert verify_pack(folder, "mini-api", "1.0.0").publisher == "mallory"  # valid, but a different key


# -- installing --------------------------------------------------------------------------------------


def test_install_from_a_folder_verifies_and_lists_the_pack_beside_the_built_in_ones(
    tmp_path: Path, keys: tuple[Path, str]
) -> None:
    pack = install_pack(str(_signed(tmp_path, keys)))
    assert (pack.source, pack.seal and pack.seal.publisher) == (INSTALLED, "acme")
    assert pack.root == installed_root() / "mini-api" / "1.0.0"
    names = {(p.name, p.version, p.source) for p in list_packs()}
    assert ("mini-api", "1.0.0", INSTALLED) in names and ("fastapi-service", "1.0.0", "built-in") in names
    assert load_pack("mini-api") == pack
    with pytest.raises(InvalidInputError, match="installed already"):
        install_pack(str(tmp_path / "src"))
    (pack.root / "files" / "static.txt").write_text("tampered after install\n")
    with pytest.raises(PackIntegrityError, match="altered"):
        load_pack("mini-api", "1.0.0")
    assert "mini-api" not in {p.name for p in list_packs()}
    assert next(e.verification for e in catalog() if e.name == "mini-api").startswith(
        "refused: pack mini-api 1.0.0 was altered"
    )


def test_an_unlocked_pack_is_locked_as_it_is_installed_and_stays_unsigned(tmp_path: Path) -> None:
    pack = install_pack(str(make_pack(tmp_path / "src")))
    assert pack.seal is not None and not pack.seal.signed and pack.seal.digest.startswith("sha256:")
    assert (pack.root / LOCK).is_file() and not (tmp_path / "src" / LOCK).exists()


def test_a_built_in_pack_name_cannot_be_installed_or_removed(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="a pack the factory ships"):
        install_pack(str(make_pack(tmp_path / "src", name="fastapi-service", version="9.0.0")))
    with pytest.raises(InvalidInputError, match="cannot be removed"):
        remove_pack("fastapi-service", "1.0.0")
    _nothing_installed()
    # a folder put there by hand does not shadow the built-in pack
    make_pack(installed_root() / "fastapi-service" / "9.0.0", name="fastapi-service", version="9.0.0")
    shipped = [p.version for p in list_packs(TEMPLATES_ROOT) if p.name == "fastapi-service"]
    assert load_pack("fastapi-service").version == max(shipped, key=parse_version) and "9.0.0" not in shipped


def test_install_from_tar_gz_and_zip_archives(tmp_path: Path, keys: tuple[Path, str]) -> None:
    folder = _signed(tmp_path, keys)
    assert install_pack(str(tar_of(folder, tmp_path / "p.tar.gz"))).seal.publisher == "acme"  # type: ignore[union-attr]
    remove_pack("mini-api", "1.0.0")
    assert install_pack(str(zip_of(folder, tmp_path / "p.zip"))).seal.publisher == "acme"  # type: ignore[union-attr]
    remove_pack("mini-api", "1.0.0")
    with pytest.raises(NotFoundError):
        load_pack("mini-api")


def test_install_from_a_git_url(tmp_path: Path, keys: tuple[Path, str]) -> None:
    folder = _signed(tmp_path, keys)
    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git[:3], "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "pack"], check=True)
    pack = install_pack(f"file://{folder}")
    assert pack.seal is not None and pack.seal.publisher == "acme" and not (pack.root / ".git").exists()
    with pytest.raises(InvalidInputError, match="cannot clone"):
        install_pack(f"file://{tmp_path}/no-such-repo")


# -- archive attacks ---------------------------------------------------------------------------------


def _evil_tar(tmp_path: Path, *members: tuple[str, bytes, bytes, dict[str, object]]) -> Path:
    archive = tmp_path / "evil.tar.gz"
    manifest = (make_pack(tmp_path / "base") / "manifest.yaml").read_bytes()
    with tarfile.open(archive, "w:gz") as tar:
        tar_member(tar, "pack/manifest.yaml", manifest)
        tar_member(tar, "pack/files/a.txt", b"a")
        for name, data, kind, info in members:
            tar_member(tar, name, data, kind, **info)
    return archive


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (("../../outside.txt", b"x", tarfile.REGTYPE, {}), "unsafe path"),
        (("/etc/cron.d/evil", b"x", tarfile.REGTYPE, {}), "unsafe path"),
        (("pack/files/../../../x", b"x", tarfile.REGTYPE, {}), "unsafe path"),
        (("pack/files/link", b"", tarfile.SYMTYPE, {"linkname": "/etc/passwd"}), "not a plain file"),
        (("pack/files/hard", b"", tarfile.LNKTYPE, {"linkname": "pack/manifest.yaml"}), "not a plain file"),
        (("pack/files/fifo", b"", tarfile.FIFOTYPE, {}), "not a plain file"),
        (("pack/files/a.txt", b"again", tarfile.REGTYPE, {}), "twice"),
    ],
)
def test_hostile_tar_archives_are_refused_and_leave_nothing(
    tmp_path: Path, member: tuple[str, bytes, bytes, dict[str, object]], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        install_pack(str(_evil_tar(tmp_path, member)))
    _nothing_installed()
    assert not (tmp_path / "outside.txt").exists()


def test_a_compression_bomb_stops_at_the_size_limit(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar_member(tar, "pack/manifest.yaml", (make_pack(tmp_path / "base") / "manifest.yaml").read_bytes())
        tar_member(tar, "pack/files/zeros.txt", b"\0" * (MAX_FILE_BYTES + 1))
    assert archive.stat().st_size < 100_000  # small on disk, large once expanded
    with pytest.raises(InvalidInputError, match="larger than 10 MiB"):
        install_pack(str(archive))
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pack/manifest.yaml", (tmp_path / "base" / "manifest.yaml").read_bytes())
        for i in range(6):
            zf.writestr(f"pack/files/z{i}.txt", b"\0" * (9 << 20))
    with pytest.raises(InvalidInputError, match="larger than 50 MiB"):
        install_pack(str(many))
    _nothing_installed()


def test_hostile_zip_archives_are_refused(tmp_path: Path) -> None:
    manifest = (make_pack(tmp_path / "base") / "manifest.yaml").read_bytes()
    for name in ("../evil.txt", "/abs.txt", "pack\\..\\..\\evil.txt"):
        archive = tmp_path / "evil.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("pack/manifest.yaml", manifest)
            zf.writestr(name, b"x")
        with pytest.raises(InvalidInputError, match="unsafe path"):
            install_pack(str(archive))
    link = zipfile.ZipInfo("pack/files/link")
    link.external_attr = 0o120777 << 16  # a symbolic link, as Info-ZIP records one
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("pack/manifest.yaml", manifest)
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(InvalidInputError, match="not a plain file"):
        install_pack(str(archive))
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InvalidInputError, match=r"not a readable \.zip"):
        install_pack(str(tmp_path / "junk.zip"))
    _nothing_installed()


def test_a_folder_with_a_link_is_refused(tmp_path: Path) -> None:
    folder = make_pack(tmp_path / "src")
    os.symlink("/etc/passwd", folder / "files" / "passwd.txt")
    with pytest.raises(InvalidInputError, match="link"):
        install_pack(str(folder))
    _nothing_installed()


# -- trust, compatibility, deprecation ----------------------------------------------------------------


def test_a_tenant_trusts_built_in_packs_and_only_the_publishers_its_policy_names(
    tmp_path: Path, factory_home: Path, keys: tuple[Path, str]
) -> None:
    signed = install_pack(str(_signed(tmp_path, keys)))
    unsigned = install_pack(str(make_pack(tmp_path / "plain", name="plain-api")))
    assert trusts_pack(factory_home, "acme", load_pack("fastapi-service"))
    for pack, why in ((signed, "signed by acme"), (unsigned, "it is unsigned")):
        with pytest.raises(PackNotTrusted, match=why) as caught:
            check_pack_trust(factory_home, "acme", pack)
        assert "\n" not in str(caught.value) and "factory policy set" in str(caught.value)
    set_policy(factory_home, "acme", (
        'permit (principal, action == Factory::Action::"use_pack", resource is Factory::Pack)\n'
        f'when {{ resource.key == "{keys[1]}" }};\n'
    ))  # fmt: skip
    check_pack_trust(factory_home, "acme", signed)
    assert not trusts_pack(factory_home, "acme", unsigned)
    assert not trusts_pack(factory_home, "globex", signed)  # another tenant's policy, another decision
    set_policy(factory_home, "globex", (
        'permit (principal, action == Factory::Action::"use_pack", resource is Factory::Pack)\n'
        "when { !resource.signed };\n"
    ))  # fmt: skip
    assert trusts_pack(factory_home, "globex", unsigned) and not trusts_pack(factory_home, "globex", signed)


def test_a_blueprint_needing_a_feature_the_pack_lacks_is_refused_before_rendering(tmp_path: Path) -> None:
    pack = install_pack(str(make_pack(tmp_path / "src", features=["audit_fields", "domain_events"])))
    out = tmp_path / "out"
    with pytest.raises(InvalidInputError, match=r"does not support .*relationships") as caught:
        render_pack(pack, clinic(), out, TRACE)
    assert f"which {clinic().tenant}/{clinic().slug} needs" in str(caught.value)
    assert not out.exists()
    whole = install_pack(str(make_pack(tmp_path / "src2", version="1.1.0")))  # no features listed: all of them
    assert render_pack(whole, clinic(), out, TRACE).paths[0] == ".factory/answers.json"


def test_factory_version_bounds_are_checked_when_installing_and_loading(tmp_path: Path) -> None:
    this = factory_version()
    with pytest.raises(InvalidInputError, match=f"needs factory 99.0.0 or newer \\(this is {this}\\)"):
        install_pack(str(make_pack(tmp_path / "new", min_factory_version="99.0.0")))
    if this != "0.0.0":
        with pytest.raises(InvalidInputError, match=f"supports factory versions up to 0.0.0 \\(this is {this}\\)"):
            install_pack(str(make_pack(tmp_path / "old", max_factory_version="0.0.0")))
    _nothing_installed()
    pack = install_pack(str(make_pack(tmp_path / "fits", max_factory_version=this)))
    assert load_pack("mini-api") == pack and pack.max_factory_version == this


def test_a_deprecated_version_still_loads_but_is_no_longer_the_default(tmp_path: Path) -> None:
    install_pack(str(make_pack(tmp_path / "a", version="1.0.0")))
    install_pack(str(make_pack(tmp_path / "b", version="1.1.0")))
    assert load_pack("mini-api").version == "1.1.0"
    deprecate_pack("mini-api", "1.1.0", "broken migrations; use 1.0.0")
    assert load_pack("mini-api").version == "1.0.0"
    assert load_pack("mini-api", "1.1.0").deprecated == "broken migrations; use 1.0.0"
    with pytest.raises(InvalidInputError, match="say why"):
        deprecate_pack("mini-api", "1.0.0", "  ")
    deprecate_pack("mini-api", "1.1.0", "", undo=True)
    assert load_pack("mini-api").version == "1.1.0"
    deprecate_pack("fastapi-service", "1.0.0", "superseded")  # a built-in version can be deprecated too
    assert load_pack("fastapi-service", "1.0.0").deprecated == "superseded"


def test_the_build_refuses_an_untrusted_pack_before_rendering_and_records_the_one_it_used(
    tmp_path: Path, factory_home: Path
) -> None:
    from graph import KnowledgeGraph
    from infra.control import ControlPlane
    from infra.lifecycle import StageContext, StageSettings, design, generation

    install_pack(str(make_pack(tmp_path / "src", name="plain-api")))
    data = clinic().model_copy(update={"tenant": "initech", "slug": "clinic"}).model_dump(mode="json")
    ControlPlane(None, factory_home).submit_intent("initech", "clinic", "", blueprint_yaml=json.dumps(data))
    graph = KnowledgeGraph(factory_home, embedder=None)
    settings = StageSettings(template="plain-api")
    ctx = StageContext(factory_home, "initech", "clinic", settings=settings, knowledge_graph=lambda: graph)
    intent = design.intent(ctx)
    blueprint = design.blueprint(ctx, intent, design.requirements(ctx, intent))
    with pytest.raises(PackNotTrusted, match=r"tenant initech may not render with template pack plain-api 1\.0\.0"):
        generation.artifacts(ctx, blueprint)
    assert not any(ctx.workspace.render_dir.rglob("*.txt"))
    set_policy(factory_home, "initech", 'permit (principal, action == Factory::Action::"use_pack", resource);\n')
    result = generation.artifacts(ctx, blueprint)
    assert result.template == "plain-api@1.0.0" and "static.txt" in result.files
    generation_facts = (ctx.workspace.root / "facts" / "artifacts.nq").read_text()
    digest = load_pack("plain-api").seal.digest  # type: ignore[union-attr]
    assert "usesTemplatePack" in generation_facts and digest in generation_facts


def test_a_repository_s_dotfiles_come_along_but_never_its_git_folder(tmp_path: Path) -> None:
    folder = make_pack(tmp_path / "src")
    (folder / ".gitignore").write_text("*.pyc\n")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]\n")
    pack = install_pack(str(folder))
    assert (pack.root / ".gitignore").is_file() and not (pack.root / ".git").exists()
