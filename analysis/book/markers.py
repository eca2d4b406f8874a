"""Find missing-value markers (``nan``, ``None``, ``NaT``, ``<NA>``, ``inf``) shown to readers as values.

A reader should never meet pandas' or Python's spelling of "no value": the book shows a missing value as
an em dash (``analysis.book.chapter.MISSING``). This module scans what readers see, the text of each built HTML
page and the text of the PDF, and returns each marker with its context. What a page shows as code (the
chapters' source cells, code blocks) is not prose and is left out: ``None`` is a word of Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from bs4 import BeautifulSoup

MARKER_RE = re.compile(r"(?<![\w.\-/])(nan|NaN|NAN|None|NaT|<NA>|-?inf|-?Infinity)(?![\w\-])")
CONTEXT = 40


def _hits(text: str) -> list[str]:
    flat = " ".join(text.split())
    return [flat[max(0, m.start() - CONTEXT):m.end() + CONTEXT] for m in MARKER_RE.finditer(flat)]


def html_markers(page: str) -> list[str]:
    """Markers in the visible text of an HTML page, leaving out scripts, styles and code."""
    soup = BeautifulSoup(page, "html.parser")
    for element in soup(["script", "style", "pre", "code", "svg", "template"]):
        element.decompose()
    for element in soup.select("div.cell_input, .highlight"):
        element.decompose()
    return _hits(soup.get_text(" "))


def book_markers(html_dir: Path) -> dict[str, list[str]]:
    """Every page of the built book that shows a marker, with the markers' contexts."""
    found = {}
    for path in sorted(html_dir.rglob("*.html")):
        hits = html_markers(path.read_text(encoding="utf-8"))
        if hits:
            found[path.relative_to(html_dir).as_posix()] = hits
    return found


def _code_lines(code: Iterable[str]) -> set[str]:
    return {" ".join(line.split()) for source in code for line in source.splitlines() if line.strip()}


def pdf_markers(text: str, code: Iterable[str]) -> list[str]:
    """Markers in the text of the PDF (``pdftotext -layout``), leaving out lines that are lines of the
    chapters' code cells (``code``: their sources)."""
    lines = _code_lines(code)
    found = []
    for line in text.splitlines():
        flat = " ".join(line.split())
        if not MARKER_RE.search(flat):
            continue
        if flat in lines or any(flat in c for c in lines if MARKER_RE.search(c)):
            continue
        found.extend(_hits(flat))
    return found
