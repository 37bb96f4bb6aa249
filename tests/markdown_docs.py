"""Reading the project's Markdown: which files are its documentation, their code, their links and headings.

Shared by the tests that keep the README and docs/ true (links that resolve, commands that exist).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_FENCE = re.compile(r"^ {0,3}(```|~~~)\s*([\w+-]*)")
SHELL = frozenset({"bash", "sh", "shell", "console"})
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s<>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")


@dataclass(frozen=True)
class Markdown:
    """One Markdown file split into its prose and its fenced code blocks."""

    path: Path
    prose: str  # the text outside fenced code, with HTML comments removed
    code_blocks: tuple[tuple[str, str], ...]  # (language, text) of each fenced block

    @property
    def shell_blocks(self) -> list[str]:
        return [text for language, text in self.code_blocks if language in SHELL]


def documentation(root: Path = ROOT) -> list[Path]:
    """README.md and every Markdown file under docs/."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def read(path: Path) -> Markdown:
    prose: list[str] = []
    blocks: list[tuple[str, str]] = []
    block: list[str] | None = None
    fence = language = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        opening = _FENCE.match(line)
        if block is None and opening:
            block, fence, language = [], opening.group(1), opening.group(2).lower()
        elif block is not None and line.strip().startswith(fence) and not line.strip()[len(fence) :].strip():
            blocks.append((language, "\n".join(block)))
            block = None
        elif block is not None:
            block.append(line)
        else:
            prose.append(line)
    if block is not None:  # an unclosed fence runs to the end of the file
        blocks.append((language, "\n".join(block)))
    return Markdown(path, _COMMENT.sub("", "\n".join(prose)), tuple(blocks))


def inline_code(text: str) -> list[str]:
    return [m.group(2).strip() for m in _INLINE_CODE.finditer(text)]


def links(doc: Markdown) -> list[str]:
    """Every link target in the prose: inline links, images and reference definitions (code is skipped)."""
    text = _INLINE_CODE.sub("", doc.prose)
    return [m.group(1) for m in _INLINE_LINK.finditer(text)] + [m.group(1) for m in _REFERENCE.finditer(text)]


def slug(heading: str) -> str:
    """The anchor a heading gets when the Markdown is rendered: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps only its text
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(doc: Markdown) -> set[str]:
    """The anchors a link may name: one per heading (repeats numbered -1, -2, ...) and explicit HTML anchors."""
    seen: dict[str, int] = {}
    found: set[str] = set(_HTML_ANCHOR.findall(doc.prose))
    for line in doc.prose.splitlines():
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found
