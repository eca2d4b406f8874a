"""The PDF edition: the whole book, charts drawn, printed by headless Chromium with the network cut."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from analysis.book import markers
from analysis.build import html_build, pipeline, publish
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.build, pytest.mark.slow]


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built book: the test prints the PDF there, never into the working tree."""
    root = tmp_path_factory.mktemp("pdf") / "book"
    root.mkdir()
    for name in (*html_build.HTML_SOURCES, "chapters", "data", "_bibliography"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy2(src, root / name)
    shutil.copytree(ROOT / "_build" / "html", root / "_build" / "html")
    return root


def test_pdf_edition_prints_the_whole_book(book: Path) -> None:
    before = _tree(ROOT / "_build")
    pdf = publish.build_pdf(book)
    assert _tree(ROOT / "_build") == before, "printing the PDF wrote into the working tree's _build"
    assert pdf.is_relative_to(book)
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-"
    assert (book / "_build" / "html" / publish.PDF_NAME).read_bytes() == data
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
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
