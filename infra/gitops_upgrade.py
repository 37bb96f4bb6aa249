"""A product's upgrade to another template pack version, merged three ways on a branch of its repository.

Base is what the old pack version generated (the tip of `factory/generated`), ours is `main` with the
person's edits, theirs is what the new version generates. The pack migrations (file renames) are first
committed on top of the base and merged into the branch, so a renamed file carries the person's edits to
its new path; then the new render, a child of the moved base, is merged. Everything happens in a
temporary work tree on branch `factory/upgrade/<pack>-<version>`: main's work tree and commits are not
touched until `finish_upgrade` fast-forwards main to the settled, validated branch.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from git import GitCommandError

from infra.gitops import GENERATED_BRANCH, MAIN_BRANCH, GitOpsError, MergeConflictError, ProductRepository, git_stderr
from ontology.errors import InvalidInputError

__all__ = [
    "UPGRADE_PREFIX",
    "UpgradeMerge",
    "conflict_markers",
    "drop_upgrade",
    "finish_upgrade",
    "merge_upgrade",
    "upgrade_branch",
]

UPGRADE_PREFIX = "factory/upgrade/"
RENDER_TRAILER = "Upgrade-Render"
CONFLICTS_TRAILER = "Upgrade-Conflicts"
FROM_TRAILER = "Upgraded-From"
_MARKERS = ("<<<<<<< ", ">>>>>>> ")


@dataclass(frozen=True)
class UpgradeMerge:
    """What merging an upgrade gave: the merged commit, the new render's commit, the files moved by the
    pack migrations, the files left with conflict markers, and main's diff to the merged tree."""

    head: str
    render: str
    main: str
    branch: str = ""
    """The upgrade branch holding `head` ("" for a dry run, which keeps no branch)."""
    moved: dict[str, str] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    diff: str = ""


def upgrade_branch(pack: str, version: str) -> str:
    """The branch an upgrade to `pack` `version` is merged and settled on."""
    return f"{UPGRADE_PREFIX}{pack}-{version}"


def _git(repo: ProductRepository, *args: str, cwd: Path | None = None) -> str:
    return str(repo.repo.git.execute(["git", "-C", str(cwd or repo.path), *args]))


def _moved_base(
    repo: ProductRepository, base: str, renames: dict[str, str], template: str
) -> tuple[str, dict[str, str]]:
    """`base` with the pack migrations' renames applied as one commit on top (`base` itself if none apply)."""
    records, moved = [], {}
    paths = {r.split("\t", 1)[1] for r in repo.repo.git.ls_tree("-r", "-z", "--full-tree", base).split("\0") if r}
    for record in repo.repo.git.ls_tree("-r", "-z", "--full-tree", base).split("\0"):
        if not record:
            continue
        meta, path = record.split("\t", 1)
        target = renames.get(path, path)
        if target != path:
            if target in paths:
                raise GitOpsError(f"the pack migration renames {path} to {target}, which the product already has")
            moved[path] = target
        records.append(f"{meta}\t{target}\0")
    if not moved:
        return base, {}
    with tempfile.TemporaryDirectory() as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        repo.git_input("".join(records), "update-index", "-z", "--add", "--index-info", env=env)
        tree = str(repo.repo.git.write_tree(env=env))
    listing = "\n".join(f"{old} -> {new}" for old, new in sorted(moved.items()))
    message = f"Apply the pack migrations of {template}\n\n{listing}\n"
    return str(repo.repo.git.commit_tree(tree, "-p", base, "-m", message)), moved


def _merge_in(repo: ProductRepository, work: Path, source: str, message: str) -> list[str]:
    """Merge `source` into the work tree's HEAD; the conflicted paths (committed with their markers), or []."""
    try:
        _git(repo, "merge", "--no-ff", "--no-edit", "-m", message, source, cwd=work)
        return []
    except GitCommandError as error:
        conflicted = [p for p in _git(repo, "diff", "--name-only", "--diff-filter=U", "-z", cwd=work).split("\0") if p]
        if not conflicted:
            raise GitOpsError(f"merging the upgrade of {repo.name} failed: {git_stderr(error)}") from None
    _git(repo, "add", "--all", cwd=work)
    note = "\n\nConflicts to settle (markers left in place):\n" + "".join(f"  {p}\n" for p in conflicted)
    subject, _, trailers = message.partition("\n\n")
    trailers += f"{CONFLICTS_TRAILER}: {' '.join(sorted(conflicted))}\n"
    _git(repo, "commit", "--no-verify", "-m", f"{subject}{note}\n{trailers}", cwd=work)
    return sorted(conflicted)


def merge_upgrade(
    repo: ProductRepository,
    source: Path,
    *,
    template: str,
    previous: str,
    renames: dict[str, str],
    trailers: dict[str, str],
    dry_run: bool = False,
) -> UpgradeMerge:
    """Merge the product rendered by `template` in `source` into a branch from main, three ways.

    Conflicts are committed with their markers on the branch for a person to settle; a dry run keeps
    no branch and only reports. Main and `factory/generated` are left as they are either way."""
    name, _, version = template.partition("@")
    branch = upgrade_branch(name, version)
    with repo.locked():
        files = repo.tree_files(Path(source))
        repo.require_clean_main()
        if not dry_run and repo.head(branch) is not None:
            raise GitOpsError(f"{repo.name} already has the upgrade branch {branch}: settle it or delete it first")
        base = repo.head(GENERATED_BRANCH)
        main = repo.head()
        assert base is not None and main is not None, "both branches are created with the repository"
        moved_base, moved = _moved_base(repo, base, renames, template)
        lines = "".join(f"{key}: {value}\n" for key, value in {**trailers, FROM_TRAILER: previous}.items())
        render = str(
            repo.repo.git.commit_tree(
                repo.write_tree(files), "-p", moved_base, "-m", f"Render {repo.name} with {template}\n\n{lines}"
            )
        )
        scratch = Path(tempfile.mkdtemp(prefix="factory-upgrade-"))
        work = scratch / "tree"
        try:
            _git(repo, "worktree", "add", "--quiet", "--detach", str(work), main)
            conflicts: list[str] = []
            if moved_base != base:
                listing = ", ".join(f"{old} -> {new}" for old, new in sorted(moved.items()))
                conflicts += _merge_in(repo, work, moved_base, f"Move files for {template}: {listing}\n\n{lines}")
            final = f"Upgrade {repo.name} from {previous} to {template}\n\n{lines}{RENDER_TRAILER}: {render}\n"
            conflicts += _merge_in(repo, work, render, final)
            head = _git(repo, "rev-parse", "HEAD", cwd=work).strip()
        finally:
            try:
                _git(repo, "worktree", "remove", "--force", str(work))
            except GitCommandError:
                _git(repo, "worktree", "prune")
            shutil.rmtree(scratch, ignore_errors=True)
        diff = str(repo.repo.git.diff("--no-color", "--no-ext-diff", "-M", main, head))
        if not dry_run:
            repo.repo.git.update_ref(f"refs/heads/{branch}", head, "")
        return UpgradeMerge(head, render, main, "" if dry_run else branch, moved, sorted(set(conflicts)), diff)


def conflict_markers(repo: ProductRepository, commit: str) -> list[str]:
    """The files of upgrade branch head `commit` a person has not settled yet: those that still hold conflict
    markers (a line starting `<<<<<<< ` or `>>>>>>> `) and, while the head is still the factory's own merge,
    every file its merges left conflicted (a deleted or binary file has no markers to look for)."""
    try:
        found = repo.repo.git.grep("-l", "-I", "-z", "-E", "^(<<<<<<<|>>>>>>>) ", commit, "--")
    except GitCommandError as error:
        if error.status != 1:  # 1: nothing found
            raise GitOpsError(f"searching {repo.name} for conflict markers failed: {git_stderr(error)}") from None
        found = ""
    paths = {p.split(":", 1)[1] for p in found.split("\0") if p}
    own = repo.repo.git.log("-1", f"--format=%(trailers:key={FROM_TRAILER},valueonly)", commit).strip()
    if own:
        listed = repo.repo.git.log(
            f"--format=%(trailers:key={CONFLICTS_TRAILER},valueonly)", f"{MAIN_BRANCH}..{commit}"
        )
        paths.update(listed.split())
    return sorted(paths)


def _render_of(repo: ProductRepository, branch: str) -> str:
    """The new render's commit an upgrade branch merged (its `Upgrade-Render` trailer)."""
    found = repo.repo.git.log(f"--format=%(trailers:key={RENDER_TRAILER},valueonly)", f"{MAIN_BRANCH}..{branch}")
    values = [v.strip() for v in found.splitlines() if v.strip()]
    if not values:
        raise GitOpsError(f"{branch} of {repo.name} is not an upgrade branch: delete it and upgrade again")
    return values[-1]


def finish_upgrade(repo: ProductRepository, branch: str) -> str:
    """Fast-forward main to the settled upgrade `branch`, move `factory/generated` to its render and delete the
    branch; refused, with nothing changed, while markers remain or when main moved since. Returns main's head."""
    if not branch.startswith(UPGRADE_PREFIX):
        raise InvalidInputError(f"{branch[:80]!r} is not an upgrade branch")
    with repo.locked():
        repo.require_clean_main()
        tip, main, base = repo.head(branch), repo.head(), repo.head(GENERATED_BRANCH)
        if tip is None or main is None or base is None:
            raise GitOpsError(f"{repo.name} has no branch {branch}: run the upgrade first")
        markers = conflict_markers(repo, tip)
        if markers:
            raise MergeConflictError(
                f"{branch} of {repo.name} still has conflict markers in {', '.join(markers)}: settle and commit them",
                markers,
            )
        if not repo.is_ancestor(main, tip):
            raise GitOpsError(
                f"main of {repo.name} moved since {branch} was made: delete it (`git branch -D {branch}`) and "
                "upgrade again"
            )
        render = _render_of(repo, branch)
        if not repo.is_ancestor(base, render):
            raise GitOpsError(f"factory/generated of {repo.name} moved since {branch} was made: upgrade again")
        repo.repo.git.merge("--ff-only", "--quiet", tip)
        repo.repo.git.update_ref(f"refs/heads/{GENERATED_BRANCH}", render, base)
        repo.repo.git.branch("-D", branch)
        return tip


def drop_upgrade(repo: ProductRepository, branch: str) -> None:
    """Delete an upgrade branch (a person gave up on it); main is not touched."""
    if not branch.startswith(UPGRADE_PREFIX):
        raise InvalidInputError(f"{branch[:80]!r} is not an upgrade branch")
    with repo.locked():
        if repo.head(branch) is not None:
            repo.repo.git.branch("-D", branch)
