"""Reading an intent from a file or a stream, with one-line errors for what cannot be one.

An intent is short UTF-8 text (at most MAX_INTENT_CHARS characters): prose, a bullet list, a
Markdown file. A missing file, a folder, an empty, oversized or binary input is refused with
a message that says what to do; nothing larger than an intent can be is ever read.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from generators.agents.analyst import MAX_INTENT_CHARS
from ontology.errors import InvalidInputError

__all__ = ["MAX_INTENT_BYTES", "decode_intent", "read_intent_file", "read_intent_stream"]

MAX_INTENT_BYTES = 4 * MAX_INTENT_CHARS
"""The most bytes read: MAX_INTENT_CHARS characters of four bytes each at most (UTF-8)."""


def decode_intent(data: bytes, where: str) -> str:
    """The intent in `data` (read from `where`, named in errors)."""
    if len(data) > MAX_INTENT_BYTES:
        raise InvalidInputError(
            f"{where} has more than {MAX_INTENT_BYTES:,} bytes: an intent is at most {MAX_INTENT_CHARS:,} characters"
        )
    if b"\x00" in data:
        raise InvalidInputError(f"{where} is binary, not text: give the intent as UTF-8 text")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{where} is not UTF-8 text: save the intent as UTF-8") from None
    if not text.strip():
        raise InvalidInputError(f"{where} is empty: describe the service in a sentence or two")
    if len(text) > MAX_INTENT_CHARS:
        raise InvalidInputError(
            f"{where} holds {len(text):,} characters; an intent is at most {MAX_INTENT_CHARS:,}: shorten it"
        )
    return text


def read_intent_stream(stream: BinaryIO, where: str = "standard input") -> str:
    """The intent a stream holds; at most one byte more than an intent may have is read."""
    try:
        data = stream.read(MAX_INTENT_BYTES + 1)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {where}: {exc.strerror or exc}") from None
    return decode_intent(data, where)


def read_intent_file(path: Path) -> str:
    """The intent written in the file at `path`."""
    if path.is_dir():
        raise InvalidInputError(f"{path} is a folder: give a text file that holds the intent")
    if not path.exists():
        raise InvalidInputError(f"no such intent file: {path}")
    try:
        with path.open("rb") as stream:
            return read_intent_stream(stream, str(path))
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from None
