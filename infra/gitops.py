"""GitOps release of generated products: one working repository and one bare remote per product.

Branch `factory/generated` holds only pristine rendered trees; `main` is where people edit. A release
commits the new render on `factory/generated`, merges it into `main` (so human edits survive where the
generator did not change the same lines), tags it and pushes `main` to origin's `env/dev`. Promotion
pushes the previous environment's commit to `env/staging` or `env/prod`.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from git import GitCommandError, Repo

from graph.files import FileLock
from ontology.errors import FactoryError, InvalidInputError, NotFoundError
from ontology.refs import check_slug, check_trace_id

__all__ = [
    "ENVIRONMENTS",
    "GENERATED_BRANCH",
    "MAIN_BRANCH",
    "CommitInfo",
    "GitOpsError",
    "MergeConflictError",
    "ProductRepository",
    "ReleaseResult",
    "git_stderr",
    "previous_env",
]

ENVIRONMENTS = ("dev", "staging", "prod")
GENERATED_BRANCH = "factory/generated"
MAIN_BRANCH = "main"
IDENTITY = ("Software Factory", "factory@localhost")
_REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/~^-]{0,199}\Z")
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@:._+-]{0,127}\Z")


class GitOpsError(FactoryError):
    """A git operation on a product repository was refused or failed."""


class MergeConflictError(GitOpsError):
    """A new render changes lines that a person also changed on `main`."""

    def __init__(self, message: str, paths: list[str]) -> None:
        super().__init__(message)
        self.paths = paths


@dataclass(frozen=True)
class ReleaseResult:
    """What a release did: main's commit, its tag, whether a new render was committed, edits kept."""

    commit: str
    tag: str | None
    created: bool
    branch: str = "env/dev"
    merged_paths: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CommitInfo:
    """One commit of `main` as the Studio and the CLI show it."""

    commit: str
    short: str
    summary: str
    trailers: dict[str, str]
    tags: list[str]
    date: str
    author: str


def previous_env(env: str) -> str:
    """The environment whose commit is promoted into `env` (dev for staging, staging for prod)."""
    if env not in ENVIRONMENTS[1:]:
        raise InvalidInputError(f"cannot promote to {str(env)[:40]!r}: promote to one of {', '.join(ENVIRONMENTS[1:])}")
    return ENVIRONMENTS[ENVIRONMENTS.index(env) - 1]


class ProductRepository:
    """The git repositories of one product: `<home>/repos/<tenant>/<product>` and its bare origin."""

    def __init__(self, home: Path, tenant: str, product: str) -> None:
        self.tenant = check_slug(tenant, "tenant")
        self.product = check_slug(product, "product")
        self.path = Path(home).resolve() / "repos" / tenant / product
        self.remote_path = Path(home).resolve() / "remotes" / tenant / f"{product}.git"
        self._lock_path = self.path.parent / f".{product}.lock"
        with self.locked():
            self.repo = self._open()

    @property
    def name(self) -> str:
        return f"{self.tenant}/{self.product}"

    # setup; `locked`, `tree_files`, `write_tree`, `git_input`, `require_clean_main` and `is_ancestor` are also
    # the building blocks of other operations on the repository (`infra.gitops_upgrade`) ---------------------

    def locked(self) -> AbstractContextManager[None]:
        """One writer per product repository at a time, across processes."""
        return FileLock(self._lock_path).exclusive()

    def _open(self) -> Repo:
        if not (self.remote_path / "HEAD").exists():
            Repo.init(self.remote_path, mkdir=True, bare=True)
        if (self.path / ".git").exists():
            return Repo(self.path)
        repo = Repo.init(self.path, mkdir=True, initial_branch=MAIN_BRANCH)
        with repo.config_writer("repository") as config:
            config.set_value("user", "name", IDENTITY[0])
            config.set_value("user", "email", IDENTITY[1])
            config.set_value("commit", "gpgsign", "false")
            config.set_value("tag", "gpgsign", "false")
        repo.git.commit("--allow-empty", "-m", f"Start {self.name}")
        repo.git.branch(GENERATED_BRANCH)
        repo.create_remote("origin", str(self.remote_path))
        return repo

    def _rev(self, ref: str) -> str | None:
        """The commit a local ref names, or None."""
        try:
            return str(self.repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}"))
        except GitCommandError:
            return None

    def _commit(self, ref: str) -> str:
        if not isinstance(ref, str) or not _REF.match(ref) or ".." in ref:
            raise InvalidInputError(f"invalid commit or tag {str(ref)[:80]!r}: give a commit id or a tag like 'r3'")
        commit = self._rev(ref)
        if commit is None:
            raise NotFoundError(f"{self.name} has no commit or tag {ref!r}: see `factory history`")
        return commit

    # release -------------------------------------------------------------------------------------

    def release(
        self, source: Path, *, trace_id: str, blueprint_hash: str, template: str, revision: int
    ) -> ReleaseResult:
        """Commit the rendered tree in `source` on factory/generated, merge it into main, tag and push to env/dev."""
        check_trace_id(trace_id)
        for value, what in ((blueprint_hash, "blueprint hash"), (template, "template")):
            if not isinstance(value, str) or not _TOKEN.match(value):
                raise InvalidInputError(f"invalid {what} {str(value)[:80]!r}: use letters, digits and @:._+-")
        if not isinstance(revision, int) or isinstance(revision, bool) or revision < 1:
            raise InvalidInputError(f"invalid revision {revision!r}: revisions count from 1")
        trailers = f"Factory-Trace-Id: {trace_id}\nBlueprint-Hash: {blueprint_hash}\nTemplate: {template}\n"
        subject = f"Release r{revision} of {self.name}"
        with self.locked():
            files = self.tree_files(Path(source))
            self.require_clean_main()
            parent = self._rev(GENERATED_BRANCH)
            assert parent is not None, "factory/generated is created with the repository"
            tree = self.write_tree(files)
            created = tree != self.repo.git.rev_parse(f"{parent}^{{tree}}")
            generated = parent
            if created:
                generated = self.repo.git.commit_tree(tree, "-p", parent, "-m", f"{subject}\n\n{trailers}")
                self.repo.git.update_ref(f"refs/heads/{GENERATED_BRANCH}", generated, parent)
            if not self.is_ancestor(generated, MAIN_BRANCH):
                try:
                    self._merge(f"Merge r{revision} of {self.name} into {MAIN_BRANCH}\n\n{trailers}")
                except GitOpsError:
                    if created:  # keep the pair consistent: the next build tries this merge again
                        self.repo.git.update_ref(f"refs/heads/{GENERATED_BRANCH}", parent, generated)
                    raise
                created = True
            head = self.head()
            assert head is not None
            kept = [p for p in self.repo.git.diff("--name-only", "-z", generated, head).split("\0") if p]
            if not created and self._tag_at(head) is None:  # a person's commits moved main: release them
                created = True
            if not created:
                tag = self._tag_at(head)
                if tag is not None and self.env_head("dev") != head:  # an earlier push of this release failed
                    self._push(f"+refs/heads/{MAIN_BRANCH}:refs/heads/env/dev", f"refs/tags/{tag}")
                return ReleaseResult(head, tag, False, merged_paths=kept)
            tag = self._tag(revision, head, f"{subject}\n\n{trailers}")
            self._push(f"+refs/heads/{MAIN_BRANCH}:refs/heads/env/dev", f"refs/tags/{tag}")
            return ReleaseResult(head, tag, True, merged_paths=kept)

    def tree_files(self, source: Path) -> dict[str, Path]:
        """The regular files of a rendered tree by relative path; links, special files and tricks refused."""
        if source.is_symlink() or not source.is_dir():
            raise InvalidInputError(f"release source {source} is not a folder: render the product first")
        root = source.resolve()
        if root == self.path or root.is_relative_to(self.path) or self.path.is_relative_to(root):
            raise InvalidInputError(f"release source {root} overlaps the product repository: render elsewhere")
        files: dict[str, Path] = {}
        for folder, dirs, names in os.walk(root):
            for name in sorted(dirs + names):
                path = Path(folder) / name
                relative = path.relative_to(root).as_posix()
                if name == ".git" or any(ord(c) < 32 or c == "\x7f" for c in name):
                    raise GitOpsError(f"release source has a forbidden path {relative!r}: remove it and render again")
                mode = path.lstat().st_mode
                if stat.S_ISLNK(mode):
                    raise GitOpsError(f"release source has a symbolic link at {relative!r}: render plain files only")
                if stat.S_ISREG(mode):
                    if not path.resolve().is_relative_to(root):
                        raise GitOpsError(f"release source path {relative!r} escapes the tree: render again")
                    files[relative] = path
                elif not stat.S_ISDIR(mode):
                    raise GitOpsError(f"release source has a special file at {relative!r}: render plain files only")
        if not files:
            raise InvalidInputError(f"release source {root} holds no files: render the product first")
        return files

    def write_tree(self, files: dict[str, Path]) -> str:
        """Store the files as blobs and return their tree, through a private index (the work tree is untouched)."""
        names = sorted(files)
        paths = "".join(f"{files[n]}\n" for n in names)
        shas = self.git_input(paths, "hash-object", "-w", "--no-filters", "--stdin-paths").split()
        records = "".join(
            f"{'100755' if os.access(files[n], os.X_OK) else '100644'} {sha}\t{n}\0"
            for n, sha in zip(names, shas, strict=True)
        )
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self.git_input(records, "update-index", "-z", "--add", "--index-info", env=env)
            return str(self.repo.git.write_tree(env=env))

    def git_input(self, text: str, *args: str, env: dict[str, str] | None = None) -> str:
        """Run a git command in the repository with `text` on its standard input."""
        with tempfile.TemporaryFile() as stdin:
            stdin.write(text.encode("utf-8", "surrogateescape"))
            stdin.seek(0)
            return str(self.repo.git.execute(["git", *args], istream=stdin, env=env))

    def require_clean_main(self) -> None:
        if self.repo.head.is_detached or self.repo.active_branch.name != MAIN_BRANCH:
            raise GitOpsError(f"{self.path} is not on branch {MAIN_BRANCH}: run `git checkout {MAIN_BRANCH}` there")
        status = self.repo.git.status("--porcelain=v1", "-z", "--untracked-files=all")
        entries, paths = iter(status.split("\0")), []
        for entry in entries:
            if len(entry) > 3:
                paths.append(entry[3:])
                if entry[0] in "RC":  # a rename or copy is followed by its source path
                    next(entries, None)
        if paths:
            shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
            raise GitOpsError(
                f"{self.path} has uncommitted changes ({shown}): commit or discard them first, then build again"
            )

    def is_ancestor(self, commit: str, ref: str) -> bool:
        try:
            self.repo.git.merge_base("--is-ancestor", commit, ref)
            return True
        except GitCommandError:
            return False

    def _merge(self, message: str, source: str = GENERATED_BRANCH) -> None:
        """Three-way merge of factory/generated (or a pushed commit) into main; a conflict is aborted and reported."""
        try:
            self.repo.git.merge("--no-ff", "--no-edit", "-m", message, source)
            return
        except GitCommandError as error:
            conflicted = [p for p in self.repo.git.diff("--name-only", "--diff-filter=U", "-z").split("\0") if p]
            if (self.path / ".git" / "MERGE_HEAD").exists():
                self.repo.git.merge("--abort")
            if not conflicted:
                raise GitOpsError(f"merging the new render into {self.name} main failed: {git_stderr(error)}") from None
        raise MergeConflictError(
            f"{self.name}: the {'new render' if source == GENERATED_BRANCH else 'pushed main'} conflicts with edits "
            f"on main in {', '.join(conflicted)}; main is unchanged: in {self.path} run `git merge {source}`, "
            "resolve, commit (or revert your edit), then rebuild",
            conflicted,
        )

    def _tag(self, revision: int, commit: str, message: str) -> str:
        """Tag `commit` r<revision>, or r<revision>.<n> when that name is taken by another commit."""
        name, n = f"r{revision}", 0
        while (tagged := self._rev(f"refs/tags/{name}")) is not None and tagged != commit:
            n += 1
            name = f"r{revision}.{n}"
        if tagged is None:
            self.repo.git.tag("-a", name, "-m", message, commit)
        return name

    def _tag_at(self, commit: str) -> str | None:
        tags = [t for t in self.repo.git.tag("--points-at", commit, "--sort=-creatordate").split() if t]
        return tags[0] if tags else None

    def _push(self, *refspecs: str) -> None:
        try:
            self.repo.git.push("--quiet", "origin", *refspecs)
        except GitCommandError as error:
            raise GitOpsError(f"pushing {self.name} to {self.remote_path} failed: {git_stderr(error)}") from None

    # pushes from a git host ------------------------------------------------------------------------

    def take_pushed(self, commit: str, upstream: str | None = None) -> str:
        """Fetch `main` from `upstream` (default: the product's own remote) and merge the pushed `commit` into
        the local `main`, as if the person had committed there; a conflict leaves main as it was.

        `commit` must be on the fetched main (a later push may have moved it on). Returns main's new head."""
        if not isinstance(commit, str) or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
            raise InvalidInputError(f"invalid pushed commit {str(commit)[:80]!r}: expected a full hexadecimal id")
        source = upstream or "origin"
        pushed = "refs/factory/pushed-main"
        env = {"GIT_TERMINAL_PROMPT": "0", "GIT_ALLOW_PROTOCOL": "https:file"}
        with self.locked():
            self.require_clean_main()
            try:
                self.repo.git.execute(
                    ["git", "fetch", "--quiet", "--no-tags", "--", source, f"+refs/heads/{MAIN_BRANCH}:{pushed}"],
                    env=env, kill_after_timeout=120,
                )  # fmt: skip
            except GitCommandError as error:
                why = git_stderr(error)
                raise GitOpsError(f"fetching main of {self.name} from its upstream failed: {why}") from None
            if self._rev(commit) is None or not self.is_ancestor(commit, pushed):
                raise GitOpsError(f"the pushed commit {commit[:12]} is not on the fetched main of {self.name}")
            if not self.is_ancestor(commit, MAIN_BRANCH):
                self._merge(f"Merge pushed main {commit[:12]} into {MAIN_BRANCH}", commit)
            head = self.head()
            assert head is not None
            return head

    # reading and promotion -----------------------------------------------------------------------

    def head(self, branch: str = MAIN_BRANCH) -> str | None:
        """The commit at the tip of a local branch, or None if it does not exist."""
        if not _REF.match(branch) or ".." in branch or "~" in branch or "^" in branch:
            raise InvalidInputError(f"invalid branch name {branch[:80]!r}")
        return self._rev(f"refs/heads/{branch}")

    def env_head(self, env: str) -> str | None:
        """The commit at origin's `env/<env>`, or None if nothing was pushed there yet."""
        if env not in ENVIRONMENTS:
            raise InvalidInputError(f"unknown environment {str(env)[:40]!r}: use one of {', '.join(ENVIRONMENTS)}")
        listed = str(self.repo.git.ls_remote("origin", f"refs/heads/env/{env}")).split()
        return listed[0] if listed else None

    def promote(self, to_env: str, *, commit: str | None = None) -> str:
        """Push the previous environment's commit (or `commit`) to origin's `env/<to_env>`; returns it."""
        previous = previous_env(to_env)
        with self.locked():
            target = self._commit(commit) if commit is not None else self.env_head(previous)
            if target is None:
                raise GitOpsError(
                    f"nothing to promote to {to_env}: env/{previous} of {self.name} is empty; "
                    f"{'release' if previous == 'dev' else 'promote to ' + previous} first"
                )
            self._push(f"+{target}:refs/heads/env/{to_env}")
            return target

    def history(self, limit: int = 50) -> list[CommitInfo]:
        """The newest commits of main (releases and human edits, first parent only) with trailers and tags."""
        tags: dict[str, list[str]] = {}
        for line in self.repo.git.for_each_ref(
            "refs/tags", "--format=%(objectname) %(*objectname) %(refname:short)"
        ).splitlines():
            obj, peeled, name = line.split(" ")
            tags.setdefault(peeled or obj, []).append(name)
        fmt = "--format=%H%x1f%h%x1f%s%x1f%aI%x1f%an <%ae>%x1f%(trailers:only,unfold)%x1e"
        out = self.repo.git.log("--first-parent", f"--max-count={max(1, int(limit))}", fmt, MAIN_BRANCH)
        infos = []
        for record in out.split("\x1e"):
            if not record.strip():
                continue
            sha, short, summary, date, author, trailer_text = record.strip("\n").split("\x1f")
            infos.append(
                CommitInfo(sha, short, summary, _parse_trailers(trailer_text), sorted(tags.get(sha, [])), date, author)
            )
        return infos

    def trailers(self, commit: str) -> dict[str, str]:
        """The git trailers (Factory-Trace-Id, Blueprint-Hash, Template, ...) of a commit or tag."""
        return _parse_trailers(self.repo.git.log("-1", "--format=%(trailers:only,unfold)", self._commit(commit)))

    def tag_at(self, commit: str) -> str | None:
        """The newest tag on a commit (a release's `r<revision>`), or None."""
        return self._tag_at(self._commit(commit))

    def diff(self, old: str, new: str) -> str:
        """The unified diff between two commits or tags."""
        return str(self.repo.git.diff("--no-color", "--no-ext-diff", self._commit(old), self._commit(new)))

    def export(self, commit: str, dest: Path) -> Path:
        """Write the tree of a commit or tag into `dest`, which must not exist or be empty."""
        sha = self._commit(commit)
        dest = Path(dest)
        if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
            raise InvalidInputError(f"export folder {dest} is not empty: give a new folder")
        entries: list[tuple[str, str, str]] = []
        for record in self.repo.git.ls_tree("-r", "-z", "--full-tree", sha).split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            mode, kind, blob = meta.split(" ")
            parts = path.split("/")
            if kind != "blob" or mode == "120000" or any(p in ("", ".", "..", ".git") for p in parts):
                raise GitOpsError(
                    f"commit {sha[:7]} holds a link, submodule or unsafe path {path!r}: export refuses it"
                )
            entries.append((mode, blob, path))
        dest.mkdir(parents=True, exist_ok=True)
        for mode, blob, path in entries:
            target = dest.joinpath(*path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as handle:
                shutil.copyfileobj(self.repo.odb.stream(bytes.fromhex(blob)), handle)
            target.chmod(0o755 if mode == "100755" else 0o644)
        return dest


def _parse_trailers(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            found[key.strip()] = value.strip()
    return found


def git_stderr(error: GitCommandError) -> str:
    """A failed git command's error output on one line, short enough for a one-line message."""
    text = str(error.stderr or error).strip().replace("\n", " ")
    return text[:300]
