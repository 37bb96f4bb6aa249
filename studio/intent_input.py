"""How a command takes an intent: as text (a sentence or a pasted '- item' list), from a file, or from
standard input ('-'). `factory blueprint` and `factory build` both take it this way."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from ontology.errors import InvalidInputError

__all__ = ["IntentArg", "IntentCommand", "IntentFileOpt", "intent_text"]

IntentArg = Annotated[
    str | None,
    typer.Argument(
        help="The business intent in plain words: a sentence, a pasted '- item' list, or '-' for standard input."
    ),
]
IntentFileOpt = Annotated[Path | None, typer.Option("--file", "-f", help="Read the intent from this text file.")]


def _is_text(arg: str) -> bool:
    """A word that starts with '-' but holds whitespace is text (a pasted '- item' list), never an option."""
    return len(arg) > 1 and arg.startswith("-") and any(c.isspace() for c in arg)


class IntentCommand(TyperCommand):
    """A command whose argument may start with '-': such text is moved behind '--' before options are parsed."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: the click Context typer carries
        cut = args.index("--") if "--" in args else len(args)
        head, tail = args[:cut], args[cut + 1 :]
        texts = [a for a in head if _is_text(a)]
        if texts:
            args = [*(a for a in head if not _is_text(a)), "--", *texts, *tail]
        return super().parse_args(ctx, args)


def intent_text(intent: str | None, file: Path | None) -> str | None:
    """The intent given as text, with --file, or as '-' (standard input); None when none was given."""
    from generators.intent_source import read_intent_file, read_intent_stream

    if intent is not None and file is not None:
        raise InvalidInputError("give the intent as text or with --file, not both")
    if file is not None:
        return read_intent_file(file)
    if intent == "-":
        return read_intent_stream(sys.stdin.buffer)
    return intent
