"""The PDF edition without a browser: its bookmarks (``pdf_outline``) and its print stylesheet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from analysis.build import pdf_outline, publish
from analysis.build.pdf_outline import Heading
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

HEADINGS = [
    Heading("the-book", 1, "The Book"), Heading("findings", 2, "What the book finds"),
    Heading("thesis", 2, "1. The thesis", chapter=True), Heading("claim", 3, "1.1. The claim"),
    Heading("detail", 4, "A detail"), Heading("deeper", 5, "Too deep"),
    Heading("data", 2, "Data catalogue", chapter=True), Heading("tables", 3, "Tables"),
]


def test_each_chapter_opens_a_top_level_bookmark() -> None:
    got = [(level, h.id) for level, h in pdf_outline.levels(HEADINGS)]
    assert got == [(0, "the-book"), (1, "findings"), (0, "thesis"), (1, "claim"), (2, "detail"),
                   (0, "data"), (1, "tables")]


def test_headings_from_the_page_collapse_their_whitespace() -> None:
    title = "  2. Technical deep dive: what each chip can\n physically do "
    found = [{"id": "x", "level": "2", "title": title, "chapter": True}]
    assert pdf_outline.headings_from(found) == [Heading("x", 2, "2. Technical deep dive: what each chip can "
                                                                 "physically do", True)]


def _pdf_with_destinations(path: Path, names: dict[str, int]) -> Path:
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=595, height=842)
    for name, page in names.items():
        writer.add_named_destination(name, page)
    writer.add_outline_item(title="Chromium's own", page_number=0)
    with path.open("wb") as f:
        writer.write(f)
    return path


def test_the_outline_is_written_from_the_headings_destinations(tmp_path: Path) -> None:
    names = {"the-book": 0, "findings": 0, "thesis": 1, "claim": 1, "detail": 1, "data": 2, "tables": 2}
    pdf = _pdf_with_destinations(tmp_path / "book.pdf", names)
    missing = [*HEADINGS, Heading("no-such-id", 3, "Not printed")]
    assert pdf_outline.add_outline(pdf, missing, title="The Book") == 7
    reader = PdfReader(pdf)
    top = [item for item in reader.outline if not isinstance(item, list)]
    assert [t.title for t in top] == ["The Book", "1. The thesis", "Data catalogue"]
    assert [reader.get_destination_page_number(t) for t in top] == [0, 1, 2]
    thesis = reader.outline[reader.outline.index(top[1]) + 1]
    assert thesis[0].title == "1.1. The claim" and thesis[1][0].title == "A detail"
    assert reader.page_mode == "/UseOutlines" and reader.metadata.title == "The Book"
    assert not (tmp_path / "book.pdf.tmp").exists()


def _print_rules() -> str:
    css = (ROOT / "_static" / "book.css").read_text(encoding="utf-8")
    start = css.index("@media print")
    return css[css.index("{", start) + 1:]


def test_the_print_stylesheet_never_hides_a_citation_and_lets_tables_wrap() -> None:
    rules = _print_rules()
    hidden = [s.strip() for sel, body in re.findall(r"([^{}]+)\{([^}]*)\}", rules) if "display: none" in body
              for s in sel.split(",")]
    citation = [s for s in hidden if re.search(r"figure-cite|cite-text|cite-bibtex|figure-extras", s)
                and not s.endswith("::-webkit-details-marker")]
    assert ".bd-sidebar-primary" in hidden and not citation, citation
    assert "details.figure-cite::details-content" in rules
    assert "table.book-print-squeeze" in rules and "book-print-squeeze" in publish.PREPARE_JS
    assert re.search(r"table\.table,\s*table\.book-table[^{]*\{[^}]*width: 100% !important", rules)


def test_the_page_is_laid_out_at_the_printed_width() -> None:
    side = sum(float(publish.MARGIN[k].removesuffix("mm")) for k in ("left", "right"))
    assert publish.PRINT_WIDTH_PX == round((210 - side) * 96 / 25.4) == 703
    assert "pageNumber" in publish.FOOTER_TEMPLATE and "totalPages" in publish.FOOTER_TEMPLATE
