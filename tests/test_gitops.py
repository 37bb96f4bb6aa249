"""GitOps release and governance on real git repositories: trailers, tags, human edits, conflicts, promotion."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from git import Repo

from infra.control import ControlPlane
from infra.gitops import GitOpsError, MergeConflictError, ProductRepository, ReleaseResult
from infra.governance import GovernanceError, approve, promote
from ontology.errors import InvalidInputError, NotFoundError

TRACE_1 = "1" * 32
TRACE_2 = "2" * 32
TEMPLATE = "fastapi-service@1.0.0"
README = "".join(f"line {i}\n" for i in range(1, 21))
MAIN_PY = "def main() -> str:\n    return 'v1'\n"


def render(folder: Path, files: dict[str, str]) -> Path:
    """Write a rendered tree, like the template pack does, into a fresh folder."""
    for name, text in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return folder


def first_tree() -> dict[str, str]:
    return {"README.md": README, "app/main.py": MAIN_PY, "app/models.py": "MODELS = ['invoice']\n"}


def git(repo: ProductRepository | Path, *args: str) -> str:
    """Run git as a person would, with their own identity."""
    where = repo.path if isinstance(repo, ProductRepository) else repo
    person = ["-c", "user.name=Alice", "-c", "user.email=alice@example.com"]
    done = subprocess.run(["git", *person, *args], cwd=where, capture_output=True, text=True, check=True)
    return done.stdout


def release(repo: ProductRepository, source: Path, revision: int, trace: str = TRACE_1) -> ReleaseResult:
    return repo.release(source, trace_id=trace, blueprint_hash=f"sha256:{revision:04d}", template=TEMPLATE,
                        revision=revision)  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> ProductRepository:
    return ProductRepository(tmp_path / "home", "acme", "billing")


@pytest.fixture
def released(repo: ProductRepository, tmp_path: Path) -> tuple[ProductRepository, ReleaseResult]:
    return repo, release(repo, render(tmp_path / "r1", first_tree()), 1)


def test_a_release_commits_with_trailers_tags_and_pushes_to_env_dev(
    released: tuple[ProductRepository, ReleaseResult], tmp_path: Path
) -> None:
    repo, result = released
    assert result.created and result.tag == "r1" and result.branch == "env/dev" and result.merged_paths == []
    assert repo.path == tmp_path / "home" / "repos" / "acme" / "billing"
    expected = {"Factory-Trace-Id": TRACE_1, "Blueprint-Hash": "sha256:0001", "Template": TEMPLATE}
    message = git(repo, "log", "-1", "--format=%B", result.commit)
    parsed = subprocess.run(["git", "interpret-trailers", "--parse"], input=message, capture_output=True, text=True)
    assert dict(line.split(": ", 1) for line in parsed.stdout.splitlines()) == expected
    generated = Repo(repo.path).commit("factory/generated")
    assert {k: v[-1] for k, v in generated.trailers_dict.items()} == expected
    assert generated.summary == "Release r1 of acme/billing" and repo.trailers(result.commit) == expected
    assert git(repo, "cat-file", "-t", "r1").strip() == "tag"  # annotated
    assert git(repo, "rev-parse", "r1^{commit}").strip() == result.commit == repo.head()
    remote = tmp_path / "home" / "remotes" / "acme" / "billing.git"
    assert git(remote, "rev-parse", "refs/heads/env/dev").strip() == result.commit == repo.env_head("dev")
    assert git(remote, "rev-parse", "refs/tags/r1^{commit}").strip() == result.commit
    assert (repo.path / "app" / "main.py").read_text() == MAIN_PY
    assert git(repo, "config", "--local", "user.email").strip() == "factory@localhost"


def test_an_unchanged_rebuild_makes_no_commit(
    released: tuple[ProductRepository, ReleaseResult], tmp_path: Path
) -> None:
    repo, first = released
    count = git(repo, "rev-list", "--all", "--count")
    again = release(repo, render(tmp_path / "again", first_tree()), 1, trace=TRACE_2)
    assert not again.created and again.commit == first.commit and again.tag == "r1"
    assert git(repo, "rev-list", "--all", "--count") == count
    assert repo.env_head("dev") == first.commit
    git(repo.remote_path, "update-ref", "-d", "refs/heads/env/dev")  # as if the push of r1 had failed
    retried = release(repo, render(tmp_path / "retry", first_tree()), 1)
    assert not retried.created and repo.env_head("dev") == first.commit


def test_a_person_commit_on_main_is_released_by_an_unchanged_rebuild(
    released: tuple[ProductRepository, ReleaseResult], tmp_path: Path
) -> None:
    repo, _ = released
    (repo.path / "NOTES.md").write_text("pushed by a person\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-m", "Human note")
    edited = repo.head()
    again = release(repo, render(tmp_path / "again", first_tree()), 1, trace=TRACE_2)
    assert again.created and again.commit == edited and again.tag == "r1.1"
    assert repo.env_head("dev") == edited and again.merged_paths == ["NOTES.md"]
    assert not release(repo, render(tmp_path / "same", first_tree()), 1).created  # nothing new: nothing released


def test_files_dropped_from_the_render_are_removed(
    released: tuple[ProductRepository, ReleaseResult], tmp_path: Path
) -> None:
    repo, _ = released
    tree = first_tree()
    del tree["app/models.py"]
    result = release(repo, render(tmp_path / "r2", tree), 2)
    assert result.created and result.tag == "r2"
    assert not (repo.path / "app" / "models.py").exists()
    assert "app/models.py" not in git(repo, "ls-tree", "-r", "--name-only", result.commit)


def test_a_committed_human_edit_survives_a_rebuild(
    released: tuple[ProductRepository, ReleaseResult], tmp_path: Path
) -> None:
    repo, _ = released
    readme = repo.path / "README.md"
    readme.write_text(readme.read_text().replace("line 1\n", "line 1 with a human note\n"))
    (repo.path / "NOTES.md").write_text("kept by people\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-m", "Human edit")
    tree = first_tree()
    tree["README.md"] = README.replace("line 20\n", "line 20 regenerated\n")
    tree["app/main.py"] = MAIN_PY.replace("v1", "v2")
    result = release(repo, render(tmp_path / "r2", tree), 2, trace=TRACE_2)
    assert result.created and result.tag == "r2"
    merged = readme.read_text()
    assert "line 1 with a human note\n" in merged and "line 20 regenerated\n" in merged
    assert (repo.path / "app" / "main.py").read_text() == tree["app/main.py"]
    assert (repo.path / "NOTES.md").read_text() == "kept by people\n"
    assert sorted(result.merged_paths) == ["NOTES.md", "README.md"]
    assert repo.trailers(result.commit)["Factory-Trace-Id"] == TRACE_2
    assert len(Repo(repo.path).commit(result.commit).parents) == 2
    assert repo.env_head("dev") == result.commit


def test_a_conflicting_edit_is_reported_and_main_is_left_alone(
    released: tuple[ProductRepository, ReleaseResult], tmp_path: Path
) -> None:
    repo, first = released
    main_py = repo.path / "app" / "main.py"
    main_py.write_text(MAIN_PY.replace("'v1'", "'hand-tuned'"))
    git(repo, "commit", "-am", "Tune main")
    before, generated_before = repo.head(), repo.head("factory/generated")
    tree = {**first_tree(), "app/main.py": MAIN_PY.replace("v1", "v2")}
    with pytest.raises(MergeConflictError, match=r"app/main\.py.*git merge factory/generated") as caught:
        release(repo, render(tmp_path / "r2", tree), 2)
    assert caught.value.paths == ["app/main.py"]
    assert repo.head() == before and repo.head("factory/generated") == generated_before
    assert git(repo, "status", "--porcelain") == "" and "hand-tuned" in main_py.read_text()
    assert repo.env_head("dev") == first.commit and "r2" not in git(repo, "tag")
    git(repo, "revert", "--no-edit", "HEAD")
    result = release(repo, render(tmp_path / "r2-again", tree), 2)
    assert result.created and "'v2'" in main_py.read_text() and repo.env_head("dev") == result.commit


def test_uncommitted_edits_are_refused_and_kept(
    released: tuple[ProductRepository, ReleaseResult], tmp_path: Path
) -> None:
    repo, first = released
    (repo.path / "README.md").write_text("work in progress\n")
    (repo.path / "scratch.txt").write_text("draft\n")
    source = render(tmp_path / "r2", {**first_tree(), "app/main.py": "changed\n"})
    with pytest.raises(GitOpsError, match=r"uncommitted changes \(README.md, scratch.txt\): commit or discard them"):
        release(repo, source, 2)
    assert (repo.path / "README.md").read_text() == "work in progress\n"
    assert repo.head() == first.commit and git(repo, "rev-list", "--count", "factory/generated").strip() == "2"


def test_a_taken_tag_name_gets_a_suffix(released: tuple[ProductRepository, ReleaseResult], tmp_path: Path) -> None:
    repo, first = released
    again = release(repo, render(tmp_path / "r1b", {**first_tree(), "app/main.py": "fixed\n"}), 1)
    assert again.created and again.tag == "r1.1" and again.commit != first.commit
    history = repo.history()
    assert history[0].tags == ["r1.1"] and history[1].tags == ["r1"]
    assert [h.summary for h in history] == [
        "Merge r1 of acme/billing into main",
        "Merge r1 of acme/billing into main",
        "Start acme/billing",
    ]
    assert history[0].trailers["Template"] == TEMPLATE and history[0].short == again.commit[:7]


@pytest.mark.parametrize("trick", ["symlink", "dir-symlink", "dot-git", "fifo"])
def test_path_tricks_in_the_source_are_refused(repo: ProductRepository, tmp_path: Path, trick: str) -> None:
    source = render(tmp_path / "src", first_tree())
    secret = tmp_path / "secret.txt"
    secret.write_text("do not publish\n")
    if trick == "symlink":
        os.symlink(secret, source / "app" / "leak.txt")
    elif trick == "dir-symlink":
        os.symlink(tmp_path, source / "outside")
    elif trick == "dot-git":
        render(source / "vendor" / ".git", {"config": "[core]\n"})
    else:
        os.mkfifo(source / "pipe")
    with pytest.raises(GitOpsError, match=r"symbolic link|forbidden path|special file"):
        release(repo, source, 1)
    assert repo.env_head("dev") is None and git(repo, "rev-list", "--count", "factory/generated").strip() == "1"


def test_bad_release_arguments_are_refused(repo: ProductRepository, tmp_path: Path) -> None:
    source = render(tmp_path / "src", first_tree())
    with pytest.raises(InvalidInputError, match="trace id"):
        repo.release(source, trace_id="nope", blueprint_hash="h", template=TEMPLATE, revision=1)
    with pytest.raises(InvalidInputError, match="blueprint hash"):
        repo.release(source, trace_id=TRACE_1, blueprint_hash="a\nEvil: yes", template=TEMPLATE, revision=1)
    with pytest.raises(InvalidInputError, match="revision"):
        repo.release(source, trace_id=TRACE_1, blueprint_hash="h", template=TEMPLATE, revision=0)
    with pytest.raises(InvalidInputError, match="not a folder"):
        release(repo, tmp_path / "missing", 1)
    with pytest.raises(InvalidInputError, match="overlaps"):
        release(repo, repo.path, 1)


def test_diff_export_and_reopening(released: tuple[ProductRepository, ReleaseResult], tmp_path: Path) -> None:
    repo, _ = released
    release(repo, render(tmp_path / "r2", {**first_tree(), "app/main.py": MAIN_PY.replace("v1", "v2")}), 2)
    patch = repo.diff("r1", "r2")
    assert "-    return 'v1'" in patch and "+    return 'v2'" in patch and "README" not in patch
    with pytest.raises(NotFoundError):
        repo.diff("r1", "r9")
    with pytest.raises(InvalidInputError):
        repo.diff("--output=/tmp/x", "r2")
    out = repo.export("r1", tmp_path / "export")
    assert {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()} == first_tree()
    with pytest.raises(InvalidInputError, match="not empty"):
        repo.export("r2", out)
    reopened = ProductRepository(tmp_path / "home", "acme", "billing")
    assert reopened.head() == repo.head() and [h.tags for h in reopened.history(limit=1)] == [["r2"]]


def test_prod_needs_an_approval_of_exactly_the_staging_commit(
    released: tuple[ProductRepository, ReleaseResult], tmp_path: Path
) -> None:
    repo, first = released
    control = ControlPlane(home=tmp_path / "home")
    with pytest.raises(GovernanceError, match="env/staging of acme/billing is empty"):
        promote(control, repo, "prod", actor="alice")
    assert promote(control, repo, "staging", actor="alice") == first.commit == repo.env_head("staging")
    with pytest.raises(
        GovernanceError, match=rf"prod promotion of acme/billing at {first.commit[:7]} needs an approval"
    ):
        promote(control, repo, "prod", actor="alice")
    refused = control.audit_log("acme", limit=1)[0]
    assert (refused.action, refused.outcome, refused.actor) == ("promote", "refused", "alice")
    assert repo.env_head("prod") is None
    approve(control, repo, "prod", "rejected", "Load test pending.", "bob")
    with pytest.raises(GovernanceError, match="rejected by bob"):
        promote(control, repo, "prod", actor="alice")
    record = approve(control, repo, "prod", "approved", "Load test passed.", "bob")
    assert record.commit == first.commit and record.env == "prod"
    assert promote(control, repo, "prod", actor="alice") == first.commit == repo.env_head("prod")
    log = control.audit_log("acme")
    assert [(e.action, e.outcome) for e in log[:3]] == [("promote", "ok"), ("approve", "ok"), ("promote", "refused")]
    assert "approved by bob" in (log[0].detail or "")


def test_an_approval_does_not_carry_over_to_a_new_commit(
    released: tuple[ProductRepository, ReleaseResult], tmp_path: Path
) -> None:
    repo, _ = released
    control = ControlPlane(home=tmp_path / "home")
    promote(control, repo, "staging", actor="alice")
    approve(control, repo, "prod", "approved", "Reviewed r1.", "bob")
    second = release(repo, render(tmp_path / "r2", {**first_tree(), "app/models.py": "MODELS = []\n"}), 2)
    promote(control, repo, "staging", actor="alice")
    with pytest.raises(GovernanceError, match=second.commit[:7]):
        promote(control, repo, "prod", actor="alice")
    with pytest.raises(InvalidInputError, match="promote to one of staging, prod"):
        promote(control, repo, "qa", actor="alice")
    with pytest.raises(InvalidInputError, match="reason is empty"):
        approve(control, repo, "prod", "approved", "  ", "bob")


def test_git_promotion_without_a_release_is_refused(repo: ProductRepository) -> None:
    with pytest.raises(GitOpsError, match="env/dev of acme/billing is empty; release first"):
        repo.promote("staging")
    with pytest.raises(InvalidInputError):
        repo.promote("dev")
