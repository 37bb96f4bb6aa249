"""Every `factory` command and option that README.md and docs/ show exists in the command line."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer
from typer.core import TyperGroup, TyperOption

from studio.cli import app
from tests.markdown_docs import ROOT, documentation, inline_code, read

_PLACEHOLDER = re.compile(r"<[\w .-]+>")  # <trace_id>, <trace id>, <q>
_SEPARATORS = {"&&", "||", "|", ";", ">", ">>", "<", "&"}


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(_PLACEHOLDER.sub("X", line), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def shell_lines(block: str) -> list[list[str]]:
    """The commands of a shell block as token lists: continued lines joined, quotes spanning lines kept whole."""
    lines: list[list[str]] = []
    pending = ""
    for line in block.splitlines():
        pending = f"{pending}\n{line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        try:
            tokens = _tokens(pending)
        except ValueError:  # a quotation still open: the command goes on on the next line
            continue
        lines.append(tokens)
        pending = ""
    return lines


def factory_invocations(tokens: list[str]) -> list[list[str]]:
    """The argument lists of each `factory ...` command in one shell line (split at &&, |, ; and redirections)."""
    found: list[list[str]] = []
    current: list[str] = []
    for token in [*tokens, ";"]:
        if token in _SEPARATORS:
            if current and Path(current[0]).name == "factory":
                found.append(current[1:])
            current = []
        else:
            current.append(token)
    return found


def check(args: list[str], root: TyperGroup) -> str | None:
    """Why `factory <args>` names no command or an unknown option; None when it is all there."""
    command: object = root
    path = ["factory"]
    words = [w.strip("[]") for w in args]
    while isinstance(command, TyperGroup):
        if not words or words[0].startswith("-"):
            return None if path != ["factory"] else "no command given"
        sub = command.commands.get(words[0])
        if sub is None:
            return f"{' '.join(path)} has no command {words[0]!r}"
        command, path, words = sub, [*path, words[0]], words[1:]
    params = getattr(command, "params", [])
    options = {opt for p in params if isinstance(p, TyperOption) for opt in (*p.opts, *p.secondary_opts)}
    options.add("--help")
    for word in words:
        name = word.split("=", 1)[0]
        if name.startswith("-") and len(name) > 1 and not name.lstrip("-").isdigit() and name not in options:
            return f"{' '.join(path)} has no option {name}"
    return None


def documented_commands(files: list[Path]) -> list[tuple[str, list[str]]]:
    """(file, arguments) for each `factory` command in the files' shell blocks and inline code."""
    found: list[tuple[str, list[str]]] = []
    for path in files:
        doc = read(path)
        where = path.name if path.parent == ROOT else path.relative_to(ROOT).as_posix()
        snippets = [*doc.shell_blocks, *(c for c in inline_code(doc.prose) if c.startswith("factory "))]
        for snippet in snippets:
            for tokens in shell_lines(snippet):
                found.extend((where, args) for args in factory_invocations(tokens))
    return found


def _root() -> TyperGroup:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    return root


def test_every_documented_command_and_option_exists() -> None:
    root = _root()
    commands = documented_commands(documentation())
    readme = [args for where, args in commands if where == "README.md"]
    assert len(readme) >= 19  # the README shows every command with an example
    problems = [f"{where}: factory {' '.join(args)}: {why}" for where, args in commands if (why := check(args, root))]
    assert problems == []


def test_a_missing_command_or_option_is_reported() -> None:
    root = _root()
    block = """
factory kg export --tenant acme -o acme.nq && factory kg import acme.nq --tenant acme
factory query sparql 'SELECT ?s
  WHERE { ?s ?p ?o }' --tenant acme --limitt 3
factory deploy helpdesk --tenant acme    # no such command
factory build "An intent" \\
  --tenant acme --produkt x
.venv/bin/factory trace <trace id> --engine kuzu --tenant acme
factory kg
"""
    found = [args for tokens in shell_lines(block) for args in factory_invocations(tokens)]
    assert [check(args, root) for args in found] == [
        None,
        None,
        "factory query sparql has no option --limitt",
        "factory has no command 'deploy'",
        "factory build has no option --produkt",
        None,
        None,
    ]
