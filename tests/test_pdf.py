"""The PDF edition: the whole book, charts drawn, printed by headless Chromium with the network cut."""

from __future__ import annotations

import re
import subprocess

import nbformat
import pytest

from analysis.book import markers
from analysis.build import pipeline, publish
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.build, pytest.mark.slow]


def test_pdf_edition_prints_the_whole_book() -> None:
    pdf = publish.build_pdf(ROOT)
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-"
    assert (ROOT / "_build" / "html" / publish.PDF_NAME).read_bytes() == data
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
