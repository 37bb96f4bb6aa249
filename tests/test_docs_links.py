"""Every relative link in README.md and docs/ points at a file that exists, and at a heading that exists in it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.markdown_docs import ROOT, Markdown, anchors, documentation, links, read

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def broken_links(files: list[Path], root: Path = ROOT) -> list[str]:
    """'file: target (why)' for each relative link whose file, or heading, is missing."""
    problems: list[str] = []
    docs: dict[Path, Markdown] = {}

    def doc(path: Path) -> Markdown:
        if path not in docs:
            docs[path] = read(path)
        return docs[path]

    for source in files:
        here = doc(source)
        where = source.relative_to(root).as_posix()
        for target in links(here):
            if not target or _SCHEME.match(target) or target.startswith("//"):
                continue  # web addresses and mail links are not ours to check
            path_part, _, fragment = target.partition("#")
            path = (source.parent / path_part).resolve() if path_part else source.resolve()
            if not path.is_relative_to(root.resolve()):
                problems.append(f"{where}: {target} (outside the repository)")
                continue
            name = path.relative_to(root.resolve()).as_posix()
            if not path.exists():
                problems.append(f"{where}: {target} (no such file)")
                continue
            if fragment and path.suffix == ".md" and fragment not in anchors(doc(path)):
                problems.append(f"{where}: {target} (no heading #{fragment} in {name})")
    return problems


def test_every_relative_link_in_the_documentation_resolves() -> None:
    files = documentation()
    assert (ROOT / "README.md") in files and len(files) > 1
    assert broken_links(files) == []


def test_a_missing_file_or_heading_is_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# The guide\n\n## Query bounds (`--limit`)\n\nText.\n")
    (tmp_path / "README.md").write_text(
        "# Title\n\n"
        "[guide](docs/guide.md) and [bounds](docs/guide.md#query-bounds---limit) resolve;\n"
        "[gone](docs/gone.md) does not, nor does [a heading](docs/guide.md#no-such-heading),\n"
        "nor ![a picture](docs/shots/missing.png), nor [far away](../../outside.md).\n"
        "[web](https://example.org/x.md), [mail](mailto:a@b.c) and [here](#title) are fine;\n"
        "`[in code](docs/code.md)` is code.\n\n"
        "```\n[in a block](docs/block.md)\n```\n\n"
        "<!-- [in a comment](docs/comment.md) -->\n"
        "[ref]: docs/reference.md\n"
    )
    problems = broken_links([tmp_path / "README.md", tmp_path / "docs" / "guide.md"], root=tmp_path)
    assert problems == [
        "README.md: docs/gone.md (no such file)",
        "README.md: docs/guide.md#no-such-heading (no heading #no-such-heading in docs/guide.md)",
        "README.md: docs/shots/missing.png (no such file)",
        "README.md: ../../outside.md (outside the repository)",
        "README.md: docs/reference.md (no such file)",
    ]
