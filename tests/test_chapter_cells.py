"""A chapter cell calls and shows (issue 13): no code cell of a chapter text is longer than ``LIMIT`` lines.

What is counted, in each ```` ```{code-cell} ```` block of ``chapters/source/*.md``: every line between
the opening and the closing fence, except

* blank lines (nothing but white space),
* comment lines (the first non-blank character is ``#``),
* the cell's MyST options (the ``:name: value`` lines, such as ``:tags: [hide-input]``, before the
  cell's first other line).

Every other line counts, continuation lines of a call or of a multi-line string included. A computation
longer than that belongs in a tested function of the ``analysis`` package, which the cell calls.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT

LIMIT = 15
TEXTS = sorted((ROOT / "chapters" / "source").glob("*.md"))
OPEN = "```{code-cell}"
CLOSE = "```"


def code_cells(text: str) -> list[tuple[int, list[str]]]:
    """(line number of the opening fence, lines inside) of every code cell of a MyST text."""
    cells: list[tuple[int, list[str]]] = []
    current: tuple[int, list[str]] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if current is None:
            if line.startswith(OPEN):
                current = (number, [])
        elif line.startswith(CLOSE):
            cells.append(current)
            current = None
        else:
            current[1].append(line)
    if current is not None:
        raise ValueError(f"the code cell opened on line {current[0]} is never closed")
    return cells


def counted_lines(lines: list[str]) -> int:
    """The lines of one cell that count (see the module's docstring)."""
    count = 0
    options = True
    for line in lines:
        stripped = line.strip()
        if options and stripped.startswith(":"):
            continue
        options = False
        if stripped and not stripped.startswith("#"):
            count += 1
    return count


def long_cells(text: str, limit: int = LIMIT) -> list[tuple[int, int]]:
    """(opening line, counted lines) of every code cell of ``text`` with more than ``limit`` lines."""
    return [(start, n) for start, lines in code_cells(text) if (n := counted_lines(lines)) > limit]


def test_the_book_has_chapter_texts() -> None:
    assert len(TEXTS) >= 7


@pytest.mark.parametrize("text", TEXTS, ids=[t.stem for t in TEXTS])
def test_no_code_cell_is_longer_than_the_limit(text: Path) -> None:
    found = long_cells(text.read_text(encoding="utf-8"))
    assert found == [], (f"{text.relative_to(ROOT)}: code cell(s) over {LIMIT} lines (opening line, lines): "
                         f"{found}; move the computation into a tested function of the analysis package")


def cell(body: list[str]) -> str:
    return "\n".join(["Prose.", "", "```{code-cell} ipython3", ":tags: [hide-input]", "", *body, "```", ""])


def test_the_count_skips_options_blanks_and_comments_and_nothing_else() -> None:
    body = ["# a comment", "", "x = (", "    1,", ")", "   # indented comment", "y = '#not a comment'"]
    (start, lines), = code_cells(cell(body))
    assert start == 3 and counted_lines(lines) == 4


def test_a_cell_one_line_over_the_limit_is_found() -> None:
    at_limit = cell([f"v{i} = {i}" for i in range(LIMIT)] + ["", "# comment"])
    over = cell([f"v{i} = {i}" for i in range(LIMIT + 1)])
    assert long_cells(at_limit) == []
    assert long_cells(at_limit + over) == [(3 + len(at_limit.splitlines()), LIMIT + 1)]


def test_an_option_line_after_code_counts() -> None:
    (_, lines), = code_cells(cell(["x = 1", ":not an option"]))
    assert counted_lines(lines) == 2


def test_an_unclosed_cell_is_an_error() -> None:
    with pytest.raises(ValueError, match="never closed"):
        code_cells("```{code-cell} ipython3\nx = 1\n")
