"""The tester: runs a generated product's own test suite and linter in subprocesses and reports.

It uses the factory's own interpreter (`sys.executable`), so the product needs no install of its
own; pytest runs without its cache, without plugins of other packages (autoloading is off) and
without bytecode files, and the JUnit report goes to a temporary folder, so nothing is written
inside the product. A run that exceeds its time limit is reported as a failure, never raised.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, computed_field

from generators.agents.base import Agent
from generators.agents.contract import ContractDepth, ContractReport, check_contract
from generators.agents.warm_interpreter import run_module
from ontology.errors import InvalidInputError
from ontology.lifecycle import TESTER

__all__ = ["LintFinding", "TestReport", "Tester"]

TENANT_HEADER = "X-Tenant-ID"  # the header a generated service reads its tenant from

OUTPUT_TAIL = 4000


class LintFinding(BaseModel):
    """One linter finding, with its path relative to the product."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    path: str
    line: int


class TestReport(BaseModel):
    """What the product's tests and linter said."""

    __test__: ClassVar[bool] = False  # not a pytest test class
    model_config = ConfigDict(frozen=True)

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    duration_s: float = 0.0
    lint: tuple[LintFinding, ...] = ()
    timed_out: bool = False
    exit_code: int | None = None
    output: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """Every test passed (and there was at least one), nothing timed out, and the linter found nothing."""
        return self.passed > 0 and not (self.failed or self.errors or self.timed_out or self.lint)

    def summary(self) -> str:
        """One line: '2 failed and 0 errors of 74 tests', 'the suite ran no test', and whether it timed out."""
        ran = self.passed + self.failed + self.errors
        tests = f"{ran} test" + ("s" if ran != 1 else "")
        line = f"{self.failed} failed and {self.errors} errors of {tests}" if ran else "the suite ran no test"
        return f"{line}, timed out after {self.duration_s:g} s" if self.timed_out else line


def _environment(database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # the factory's interpreter carries pytest plugins the product's suite does not use (schemathesis's,
    # hypothesis's, anyio's): it runs with pytest's own plugins only, so each pytest process starts about
    # a second of CPU sooner, and a suite that came to rely on a stray plugin would fail here
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.pop("PYTHONPATH", None)
    env.pop("DATABASE_URL", None)  # the suite's database is the caller's choice, never a stray variable's
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _tail(text: str) -> str:
    return text[-OUTPUT_TAIL:]


def _counts(junit: Path) -> tuple[int, int, int, int] | None:
    """(passed, failed, errors, skipped) from a JUnit XML report, or None when there is none."""
    try:
        root = ElementTree.parse(junit).getroot()
    except (OSError, ElementTree.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = failed = errors = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0))
        errors += int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - errors - skipped, failed, errors, skipped


def _findings(root: Path, stdout: str) -> tuple[LintFinding, ...]:
    items = json.loads(stdout or "[]")
    out = []
    for item in items:
        filename = Path(item.get("filename") or root)
        path = filename.relative_to(root).as_posix() if filename.is_relative_to(root) else filename.as_posix()
        location = item.get("location") or {}
        finding = LintFinding(
            code=str(item.get("code")), message=str(item.get("message")), path=path, line=int(location.get("row") or 0)
        )
        out.append(finding)
    return tuple(sorted(out, key=lambda f: (f.path, f.line, f.code)))


def _shards(root: Path, workers: int) -> list[list[str]]:
    """The suite's test files shared out between at most `workers` runs, by size (largest first, to the lightest).

    One run with no file arguments (pytest's own discovery) when there is one worker or one file.
    """
    tests = (p for p in (root / "tests").rglob("test_*.py") if p.is_file())
    files = [(p.stat().st_size, p.relative_to(root).as_posix()) for p in tests]
    if workers <= 1 or len(files) <= 1:
        return [[]]
    loads: list[tuple[int, list[str]]] = [(0, []) for _ in range(min(workers, len(files)))]
    for size, name in sorted(files, key=lambda f: (-f[0], f[1])):
        index = min(range(len(loads)), key=lambda i: loads[i][0])
        load, names = loads[index]
        loads[index] = (load + size, [*names, name])
    return [sorted(names) for _, names in loads]


class _Shard:
    """One pytest process over some of the suite's files, in a session of its own (on a timeout whatever the
    tests started goes too), forked from the warm interpreter where there is one."""

    def __init__(self, root: Path, env: dict[str, str], scratch: Path, index: int, files: list[str]) -> None:
        self.junit = scratch / f"junit-{index}.xml"
        self.log = scratch / f"output-{index}.txt"
        self.timed_out = False
        self.output = ""
        args = ["-q", "-p", "no:cacheprovider", f"--junitxml={self.junit}", *files]
        self.process = run_module("pytest", args, root, env, self.log)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def failed(self) -> bool:
        """pytest ended with anything but success or "no tests collected"."""
        return self.returncode not in (0, 5)

    def wait(self, deadline: float) -> None:
        self.timed_out = not self.process.wait(deadline - time.monotonic())
        if not self.timed_out:
            self._read()

    def kill(self) -> None:
        self.process.kill()
        self._read()

    def _read(self) -> None:
        with contextlib.suppress(OSError):
            self.output = self.log.read_text(encoding="utf-8", errors="replace")

    def counts(self) -> tuple[int, int, int, int]:
        """(passed, failed, errors, skipped); pytest failing in itself (usage, internal error) is an error."""
        counts = _counts(self.junit)
        if counts is None:
            return 0, 0, 1, 0
        passed, failed, errors, skipped = counts
        if self.returncode not in (0, 1, 5) and not (failed or errors):
            errors = 1
        return passed, failed, errors, skipped


class _Lint:
    """`ruff check` over the product, in a process of its own."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.timed_out = False
        self.stdout = self.stderr = ""
        command = [sys.executable, "-m", "ruff", "check", "--output-format", "json", "--no-cache", "."]
        self.process = subprocess.Popen(
            command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def wait(self, deadline: float) -> None:
        try:
            self.stdout, self.stderr = self.process.communicate(timeout=max(deadline - time.monotonic(), 0.001))
        except subprocess.TimeoutExpired:
            self.timed_out = True

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            self.stdout, self.stderr = self.process.communicate()

    def findings(self) -> tuple[tuple[LintFinding, ...], str]:
        """What ruff found, and what to add to the report's output when it could not say."""
        if self.timed_out:
            return (LintFinding(code="TIMEOUT", message="ruff timed out", path=".", line=0),), ""
        if self.process.returncode not in (0, 1):
            message = (self.stderr.strip().splitlines() or ["ruff failed"])[-1]
            return (LintFinding(code="RUFF", message=message, path=".", line=0),), "\n" + self.stderr
        try:
            return _findings(self.root, self.stdout), ""
        except (ValueError, TypeError, AttributeError):
            return (LintFinding(code="RUFF", message="unreadable ruff output", path=".", line=0),), self.stdout


def _joined(runs: list[_Shard]) -> str:
    """The runs' outputs, the failing ones last (the report keeps the tail)."""
    ordered = sorted(runs, key=lambda r: r.failed)
    return "\n".join(r.output.rstrip() for r in ordered)


class Tester(Agent):
    __test__: ClassVar[bool] = False  # not a pytest test class
    name: ClassVar[str] = TESTER.name  # its identity is stated once, in the stage table
    role: ClassVar[str] = TESTER.role
    version: ClassVar[str] = TESTER.version

    def test(
        self,
        product_dir: Path | str,
        timeout_s: float = 300.0,
        workers: int | None = None,
        database_url: str | None = None,
    ) -> TestReport:
        """Run the product's pytest suite and `ruff check` side by side; the report says what passed and what did not.

        The suite's files are shared out between `workers` pytest processes run side by side
        (default: one per CPU core, at most four), each with its own copy of the service. The validation
        runs the shallow contract run beside them: on two cores two shards and the contract run finish
        sooner than one shard beside it (8.1-10.7 s against 9.5-11.5 s, alternately). The suite runs on an
        in-memory SQLite database, or on `database_url` (migrated first) when given.
        """
        root = Path(product_dir).resolve()
        if not (root / "tests").is_dir():
            raise InvalidInputError(f"{product_dir} holds no product with a tests/ folder")
        env = _environment(database_url)
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="factory-tester-") as scratch:
            if workers is None:
                workers = max(1, min(os.cpu_count() or 1, 4))
            shards = _shards(root, workers)
            runs = [_Shard(root, env, Path(scratch), i, files) for i, files in enumerate(shards)]
            linting = _Lint(root, env)  # beside the suite: ruff is done long before it
            deadline = start + timeout_s
            for run in runs:
                run.wait(deadline)
            linting.wait(deadline)
            if any(run.timed_out for run in runs) or linting.timed_out:
                for run in runs:
                    run.kill()
                linting.kill()
                return TestReport(
                    failed=1,
                    duration_s=round(time.monotonic() - start, 3),
                    timed_out=True,
                    output=_tail(f"{_joined(runs)}\ntimed out after {timeout_s:g} s"),
                )
            passed = failed = errors = skipped = 0
            for run in runs:
                p, f, e, s = run.counts()
                passed, failed, errors, skipped = passed + p, failed + f, errors + e, skipped + s
        duration = round(time.monotonic() - start, 3)
        lint, lint_note = linting.findings()
        worst = max(runs, key=lambda r: (r.failed, r.returncode or 0))
        return TestReport(
            passed=passed,
            failed=failed,
            errors=errors,
            skipped=skipped,
            duration_s=duration,
            lint=lint,
            exit_code=worst.returncode,
            output=_tail(_joined(runs) + lint_note),
        )

    def contract(
        self,
        base_url: str,
        depth: ContractDepth | str = ContractDepth.SHALLOW,
        *,
        tenant: str | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
        seed: int | None = None,
        max_examples: int | None = None,
    ) -> ContractReport:
        """Fuzz a started service against its own OpenAPI document with schemathesis (`--checks all`).

        `depth` "shallow" (3 examples per operation, examples and fuzzing phases, fixed seed: the
        build's blocking check) or "deep" (100 per operation, every phase, stateful included).
        `tenant` goes in the tenant header of every request; `max_examples` replaces the depth's examples per
        operation. Each failure carries its request.
        """
        sent = dict(headers or {})
        if tenant is not None:
            sent.setdefault(TENANT_HEADER, tenant)
        return check_contract(base_url, depth, headers=sent, timeout_s=timeout_s, seed=seed, max_examples=max_examples)
