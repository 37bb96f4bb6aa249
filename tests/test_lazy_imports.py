"""Bad input is refused before any engine loads: importing what the command line needs to check
its arguments leaves Kùzu, polars, numpy and torch unimported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ENGINES = ("kuzu", "polars", "numpy", "torch", "sentence_transformers", "dagster")

REPORT = f"""
import json, sys
print(json.dumps(sorted(m for m in {ENGINES!r} if m in sys.modules)))
"""


def python(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FACTORY_HOME": str(home)}
    env.pop("FACTORY_DEBUG", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_the_command_line_and_the_validators_import_no_engine(tmp_path: Path) -> None:
    code = (
        "import studio.cli, infra.control, infra.gitops\n"
        "import graph\n"
        "from graph import USER_QUERY_ROWS, USER_QUERY_TIMEOUT_S\n"
        "from ontology.refs import ProductRef, check_slug, check_trace_id\n"
        "from ontology.config import factory_home\n"
        "from ontology import InvalidInputError\n" + REPORT
    )
    done = python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_graph_package_still_gives_its_engines_when_asked(tmp_path: Path) -> None:
    done = python("from graph import KnowledgeGraph\n" + REPORT, tmp_path)
    assert done.returncode == 0, done.stderr
    assert {"kuzu", "polars", "numpy"} <= set(json.loads(done.stdout))


@pytest.mark.parametrize(
    "args",
    [
        ["build", "an invoicing service", "--tenant", "acme", "--product", "../x"],
        ["build", "an invoicing service", "--tenant", "acme", "--product", "Billing"],
        ["build", "an invoicing service", "--tenant", "../../etc"],
        ["build", "an invoicing service", "--tenant", "аcme"],  # a Cyrillic 'а'
    ],
    ids=lambda args: args[-1],
)
def test_factory_build_refuses_a_hostile_name_with_one_line_before_any_engine_loads(
    tmp_path: Path, args: list[str]
) -> None:
    code = (
        "import sys\n"
        f"sys.argv = ['factory', *{args!r}]\n"
        "from studio.cli import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n" + "".join(f"    {line}\n" for line in REPORT.strip().splitlines())
    )
    done = python(code, tmp_path)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "invalid tenant" in lines[0] or "invalid product" in lines[0], lines[0]
    assert json.loads(done.stdout) == []
    assert not (tmp_path / "control.db").exists() and not list(tmp_path.iterdir())
