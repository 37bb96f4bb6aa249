"""`factory build` takes an intent as `factory blueprint` does: a pasted '- item' list, --file or '-'.

The command runs as a real subprocess on a temporary factory home; one real build (Dagster, git, the
local runtime) builds a pasted bullet list, and the same text from standard input is then unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import runtime
from infra.control import ControlPlane

FACTORY = [sys.executable, "-m", "studio"]
BULLETS = "- students enrol in courses\n- teachers teach courses"


def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FACTORY_HOME": str(home)}
    env.pop("FACTORY_DEBUG", None)
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([*FACTORY, *args], input=stdin, capture_output=True, text=True, env=env, timeout=600)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0 and "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "home"
    yield root
    if (root / "control.db").exists():
        for d in ControlPlane(None, root).deployments(None):
            if d.pid and d.workdir:
                runtime.stop(d.pid, Path(d.workdir))


def test_bad_intent_sources_are_refused_in_one_line(home: Path, tmp_path: Path) -> None:
    args = ("--product", "school", "--tenant", "acme")
    assert "standard input is empty" in one_line_error(run(home, "build", "-", *args, stdin=""))
    assert "no such intent file" in one_line_error(run(home, "build", "--file", str(tmp_path / "none.md"), *args))
    both = run(home, "build", "a school", "--file", str(tmp_path / "none.md"), *args)
    assert "not both" in one_line_error(both)
    assert not (home / "control.db").exists()  # nothing was submitted


@pytest.mark.slow
def test_a_pasted_bullet_list_is_built_and_the_same_text_from_stdin_is_unchanged(home: Path) -> None:
    done = run(home, "build", BULLETS, "--product", "school", "--tenant", "acme", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["success"] and summary["revision"] == 1 and summary["service_url"]
    record = ControlPlane(None, home).latest_intent("acme", "school")
    assert record is not None and record.text == BULLETS and record.status == "built"
    again = run(home, "build", "-", "--tenant", "acme", "--product", "school", "--json", stdin=BULLETS)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["revision"] == 1  # the same intent: no new revision
    assert not json.loads(again.stdout)["new_commit"]
