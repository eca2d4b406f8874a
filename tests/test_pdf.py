"""The PDF edition: the whole book, charts drawn, printed by headless Chromium with the network cut.

The book is printed once into a copy (``printed``); each test reads that PDF: its text (``pdftotext``),
its bookmarks, page numbers and link annotations (pypdf), against the single page Chromium printed
(``_build/.pdf-stage`` in the copy) and the HTML book.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from analysis import edition
from analysis.book import markers
from analysis.build import html_build, pipeline, publish
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.build, pytest.mark.slow]

VERDICT_TABLES = ("tbl-chip-verdicts", "tbl-cost-verdicts")
"""Table 1 of chapter 02 (the chip claims) and the cost-verdict table of chapter 04."""


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def _squash(text: str) -> str:
    """Text without any whitespace: a cell wrapped over several lines is still one string."""
    return re.sub(r"\s+", "", text)


def _pdftotext(pdf: Path, *options: str) -> str:
    done = subprocess.run(["pdftotext", *options, str(pdf), "-"], capture_output=True, text=True, check=True)
    return done.stdout


def _unpaged(text: str) -> str:
    """The pages' text joined without their footers (``12 / 121``), whitespace removed: a paragraph
    that runs onto the next page reads as one string."""
    return _squash("".join(re.sub(r"\d+ / \d+\s*$", "", page) for page in text.split("\f")))


@dataclass(frozen=True)
class Printed:
    book: Path
    pdf: Path
    wrote_into_checkout: bool
    text: str      # pdftotext -layout: pages separated by form feeds
    flat: str      # pdftotext -raw (the order text was drawn in, so a table cell is one run), unpaged
    prose: str     # the -layout text unpaged (a chart drawn beside a paragraph does not cut into it)
    page: BeautifulSoup  # the single page Chromium printed


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built book: the test prints the PDF there, never into the working tree."""
    root = tmp_path_factory.mktemp("pdf") / "book"
    root.mkdir()
    for name in (*html_build.HTML_SOURCES, "CITATION.cff", "chapters", "data", "_bibliography"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy2(src, root / name)
    shutil.copytree(ROOT / "_build" / "html", root / "_build" / "html")
    return root


@pytest.fixture(scope="module")
def printed(book: Path) -> Printed:
    before = _tree(ROOT / "_build")
    pdf = publish.build_pdf(book)
    wrote = _tree(ROOT / "_build") != before
    stage = book / "_build" / ".pdf-stage" / "_build" / "singlehtml"
    page = BeautifulSoup((stage / publish.start_page(stage)).read_text(encoding="utf-8"), "html.parser")
    text = _pdftotext(pdf, "-layout")
    return Printed(book, pdf, wrote, text, _unpaged(_pdftotext(pdf, "-raw")), _unpaged(text), page)


def test_pdf_edition_prints_the_whole_book(printed: Printed) -> None:
    assert not printed.wrote_into_checkout, "printing the PDF wrote into the working tree's _build"
    pdf, text = printed.pdf, printed.text
    assert pdf.is_relative_to(printed.book)
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-"
    assert (printed.book / "_build" / "html" / publish.PDF_NAME).read_bytes() == data
    pages = text.count("\f")
    assert pages >= 40, f"only {pages} pages"
    last = [t for t in ("The thesis: is inference getting", "How has SambaNova been funded?", "Bibliography",
                        "Execution status", "What changed in this edition") if t not in text]
    assert not last, f"the PDF stops before: {last}"
    assert re.search(r"Fig\. \d+", text), "no numbered figure in the PDF"
    code = [c.source for nb in pipeline.chapter_notebooks(ROOT) for c in nbformat.read(nb, as_version=4).cells
            if c.cell_type == "code"]
    shown = markers.pdf_markers(text, code)
    assert not shown, f"the PDF shows missing-value markers: {shown}"


def _column(table: BeautifulSoup, name: str) -> list[str]:
    heads = [th.get_text(" ", strip=True) for th in table.find("thead").find_all("th")]
    at = heads.index(name)
    return [row.find_all("td")[at].get_text(" ", strip=True) for row in table.find("tbody").find_all("tr")]


@pytest.mark.parametrize("table_id", VERDICT_TABLES)
def test_the_verdict_tables_are_printed_with_every_verdict_and_reason(printed: Printed,
                                                                    table_id: str) -> None:
    table = printed.page.find("table", id=table_id)
    assert table is not None, f"no table {table_id} on the printed page"
    caption = table.find("caption").find(class_="caption-text").get_text(" ", strip=True)
    assert _squash(caption) in printed.flat, f"the caption of {table_id} is cut: {caption}"
    verdicts, reasons = _column(table, "verdict"), _column(table, "reason")
    assert verdicts and len(verdicts) == len(reasons)
    cut = [text for text in (*verdicts, *reasons) if _squash(text) not in printed.flat]
    assert not cut, f"{table_id}: {len(cut)} verdict or reason texts are not printed whole, e.g. {cut[0]!r}"


def test_no_table_is_cut_at_the_right_margin(printed: Printed) -> None:
    """Every cell of every table on the printed page is in the PDF's text, whole: a table that ran past
    the margin would lose the end of its last columns (the PDF edition before #17 printed 'measureme')."""
    tables = printed.page.find_all("table")
    assert len(tables) >= 20
    cut = []
    for table in tables:
        for cell in table.find_all(["td", "th"]):
            text = cell.get_text(" ", strip=True)
            if text and _squash(text) not in printed.flat:
                cut.append((table.get("id") or "", text))
    assert not cut, f"{len(cut)} table cells are not printed whole, e.g. {cut[:3]}"


def test_every_caption_is_printed_whole(printed: Printed) -> None:
    """A caption is as wide as its table or figure: a table that ran past the margin cut its caption
    mid-word."""
    found = printed.page.select("figcaption .caption-text, table caption .caption-text")
    captions = [c.get_text() for c in found]
    assert len(captions) >= 15
    cut = [c for c in captions if _squash(c) not in printed.prose]
    assert not cut, f"{len(cut)} captions are not printed whole, e.g. {cut[0][:80]!r}"


def _outline(reader: PdfReader) -> list[tuple[str, list[str]]]:
    """The top-level bookmarks, each with the titles of the bookmarks directly beneath it."""
    out: list[tuple[str, list[str]]] = []
    for item in reader.outline:
        if isinstance(item, list):
            out[-1][1].extend(x.title for x in item if not isinstance(x, list))
        else:
            out.append((item.title, []))
    return out


def _page_title(html: Path) -> str:
    h1 = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser").find("article").find("h1")
    for link in h1.find_all(class_="headerlink"):
        link.decompose()
    return " ".join(h1.get_text(" ").split())


def test_every_chapter_has_a_bookmark_with_its_sections(printed: Printed) -> None:
    reader = PdfReader(printed.pdf)
    outline = _outline(reader)
    html = printed.book / "_build" / "html"
    docs = pipeline.toc_files(printed.book)
    expected = [_page_title(html / f.relative_to(printed.book).with_suffix(".html")) for f in docs]
    titles = [" ".join(t.split()) for t, _ in outline]
    assert [_squash(t) for t in titles] == [_squash(t) for t in expected], titles
    top = [item for item in reader.outline if not isinstance(item, list)]
    pages = [reader.get_destination_page_number(item) for item in top]
    assert pages == sorted(pages) and pages[0] == 0, f"the bookmarks are out of order: {pages}"
    sections = dict(outline)
    technical = next(t for t in sections if t.startswith("2."))
    assert len(sections[technical]) >= 5
    assert any("Claim, ceiling, measurement" in s for s in sections[technical]), sections[technical]
    assert reader.page_mode == "/UseOutlines"


def test_every_page_is_numbered(printed: Printed) -> None:
    pages = printed.text.split("\f")[:-1]
    unnumbered = [i for i, page in enumerate(pages, 1) if not re.search(rf"\b{i} / {len(pages)}\s*$", page)]
    assert not unnumbered, f"pages without 'n / {len(pages)}' in the footer: {unnumbered[:10]}"


def test_links_point_to_the_public_book_not_the_print_server(printed: Printed) -> None:
    uris = []
    for page in PdfReader(printed.pdf).pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A") or {}
            if "/URI" in action:
                uris.append(str(action["/URI"]))
    local = [u for u in uris if re.match(r"https?://(127\.0\.0\.1|localhost|\[::1\])", u)]
    assert not local, f"{len(local)} links point to the server the PDF was printed from, e.g. {local[0]}"
    base = edition.edition(printed.book).url
    ours = [u for u in uris if u.startswith(base + "/")]
    assert any(u.endswith("/figures/fig-price-70b.svg") for u in ours), "the figure downloads are not linked"
    assert any(u.endswith("/data/index.html") for u in ours), "the data release is not linked"
    assert any(u.startswith("http://ainews.cool/") for u in uris), "a link to another site was changed"


def test_each_figure_citation_is_printed(printed: Printed) -> None:
    blocks = printed.page.select("details.figure-cite")
    assert len(blocks) >= 10
    missing = []
    for block in blocks:
        for part in (block.select_one(".cite-text"), block.select_one(".cite-bibtex")):
            if _squash(part.get_text()) not in printed.prose:
                missing.append(part.get_text()[:80])
    assert not missing, f"{len(missing)} citation texts are not printed, e.g. {missing[0]!r}"
    assert printed.text.count("Cite this figure") >= len(blocks), "a citation is printed without its heading"


def test_the_site_links_the_pdf(printed: Printed) -> None:
    intro = (printed.book / "_build" / "html" / "intro.html").read_text(encoding="utf-8")
    assert f'href="{publish.PDF_NAME}"' in intro, "the front page does not link the PDF edition"
    assert (printed.book / "_build" / "html" / publish.PDF_NAME).is_file()
