"""`factory blueprint`: pasted bullet lists, files and standard input, open questions, --answer and --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from generators.blueprint import load_blueprint
from graph import KnowledgeGraph
from graph.decisions import past_decisions
from studio.cli import app

FACTORY = [sys.executable, "-m", "studio"]
BULLETS = "- students enrol in courses\n- teachers teach courses"


def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FACTORY_HOME": str(home)}
    env.pop("FACTORY_DEBUG", None)
    return subprocess.run([*FACTORY, *args], input=stdin, capture_output=True, text=True, env=env, timeout=300)


def invoke(*args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def test_a_pasted_bullet_list_is_the_intent_and_the_questions_follow_the_yaml(tmp_path: Path) -> None:
    done = run(tmp_path / "home", "blueprint", BULLETS, "--tenant", "acme")
    assert done.returncode == 0, done.stderr
    bp = load_blueprint(done.stdout)  # the questions are YAML comments: the output stays a valid blueprint
    assert {"student", "course"} <= {e.name for e in bp.entities}
    assert "# Open questions" in done.stdout
    assert "#   student-course: " in done.stdout and "#     * many-to-many" in done.stdout
    # the options still work on either side of the text
    before = run(tmp_path / "home", "blueprint", "--tenant", "acme", BULLETS, "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["blueprint"]["tenant"] == "acme"


def test_the_intent_comes_from_standard_input_or_a_file(tmp_path: Path) -> None:
    done = run(tmp_path / "home", "blueprint", "-", "--tenant", "acme", stdin=BULLETS + "\n")
    assert done.returncode == 0, done.stderr
    assert {"student", "course"} <= {e.name for e in load_blueprint(done.stdout).entities}
    intent = tmp_path / "intent.md"
    intent.write_text("# Courses\n\n" + BULLETS + "\n", encoding="utf-8")
    envelope = json.loads(invoke("blueprint", "--file", str(intent), "--tenant", "acme", "--json"))
    assert set(envelope) == {"blueprint", "open_questions", "answers", "recorded_decisions", "notes"}
    questions = {q["id"]: q for q in envelope["open_questions"]}
    assert questions["student-course"]["default"] == "many-to-many"
    assert questions["student-course"]["alternatives"] == ["one-to-many", "many-to-one"]
    assert questions["teacher"]["kind"] == "pattern-match"
    assert envelope["answers"] == [] and envelope["recorded_decisions"] == 0


def test_answers_rebuild_the_proposal_and_are_remembered_for_the_tenant(factory_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "bp.yaml"
    shown = invoke(
        "blueprint",
        BULLETS,
        "-t",
        "acme",
        "-a",
        "teacher=own",
        "--answer",
        "student-course=one-to-many",
        "-o",
        str(out),
    )
    assert "written to" in shown and "Settled:" in shown and "teacher = own" in shown
    bp = load_blueprint(out)
    assert bp.entity("teacher").pattern is None
    rel = next(r for r in bp.relationships if {r.source, r.target} == {"student", "course"})
    assert rel.cardinality == "one-to-many"
    decided = past_decisions(KnowledgeGraph(factory_home, embedder=None), "acme")
    assert sorted((d.subject, d.choice) for d in decided) == [
        ("student-course", "one-to-many"),
        ("teacher:instructor", "own"),
    ]
    # the next intent of acme is not asked again; another tenant is
    again = json.loads(invoke("blueprint", BULLETS, "-t", "acme", "--json"))
    assert again["open_questions"] == []
    assert {a["question"]: a["remembered"] for a in again["answers"]} == {"teacher": True, "student-course": True}
    other = json.loads(invoke("blueprint", BULLETS, "-t", "globex", "--json", "-a", "teacher=own", "--no-remember"))
    assert other["recorded_decisions"] == 0
    assert past_decisions(KnowledgeGraph(factory_home, embedder=None), "globex") == []


@pytest.mark.parametrize(
    ("args", "setup", "words"),
    [
        (["--file", "{tmp}/missing.md"], None, ["no such intent file"]),
        (["--file", "{tmp}"], None, ["is a folder"]),
        (["--file", "{tmp}/empty.md"], b"  \n", ["is empty"]),
        (["--file", "{tmp}/big.md"], b"word " * 5000, ["more than 20,000 bytes"]),
        (["--file", "{tmp}/long.md"], "é " * 3000, ["6,000 characters", "at most 5,000"]),
        (["--file", "{tmp}/image.png"], b"\x89PNG\r\n\x1a\n\x00\x00", ["binary"]),
        (["--file", "{tmp}/latin.md"], "caf\xe9 orders".encode("latin-1"), ["not UTF-8"]),
        (["Customers get invoices", "--file", "{tmp}/x.md"], b"x", ["not both"]),
        (["Customers get invoices", "-a", "deal"], None, ["question=choice"]),
        (["Customers get invoices", "-a", "dael=entity"], None, ["no open question 'dael'"]),
        (["-x"], None, ["No such option"]),
        ([], None, ["give an intent"]),
    ],
)
def test_bad_input_is_a_one_line_error(
    tmp_path: Path, args: list[str], setup: bytes | str | None, words: list[str]
) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if setup is not None:
        target = Path(next(a for a in args if a.startswith(str(tmp_path))))
        target.write_bytes(setup.encode() if isinstance(setup, str) else setup)
    done = run(tmp_path / "home", "blueprint", *args, "--tenant", "acme")
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_empty_standard_input_is_refused(tmp_path: Path) -> None:
    done = run(tmp_path / "home", "blueprint", "-", "--tenant", "acme", stdin="")
    assert done.returncode != 0 and "standard input is empty" in done.stderr
