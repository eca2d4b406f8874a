"""No page shows a missing-value marker (nan, None, NaT, <NA>, inf) as a value: missing values are em dashes."""

from __future__ import annotations

import pytest

from analysis.book import markers
from analysis.build import pipeline
from tests.conftest import ROOT

pytestmark = pytest.mark.build


def test_no_built_page_shows_a_missing_value_marker() -> None:
    html = ROOT / "_build" / "html"
    pages = list(html.rglob("*.html"))
    book = {f.relative_to(ROOT).with_suffix(".html").as_posix() for f in pipeline.toc_files(ROOT)}
    assert book <= {p.relative_to(html).as_posix() for p in pages}, "the book is not built"
    found = markers.book_markers(html)
    assert not found, "\n".join(f"{page}: {hits}" for page, hits in found.items())


def test_the_scan_finds_markers_in_prose_and_tables_but_not_in_code() -> None:
    page = """<html><body><p>a median list price of USD nan for the model</p>
    <table><tr><td>Cursor</td><td>&lt;NA&gt;</td><td>NaT</td><td>inf</td></tr></table>
    <div class="cell_input"><pre>x = None if y else float("nan")</pre></div>
    <p>None of the chips</p><script>var a = NaN;</script><p>the infinite and the nanometre</p></body></html>"""
    hits = markers.html_markers(page)
    assert [h for h in hits if "USD nan" in h]
    assert len(hits) == 5, hits  # nan, <NA>, NaT, inf, and "None" at the start of a sentence
    assert not markers.html_markers("<p>the infinite and the nanometre, in TB/s</p><pre>None</pre>")
    # a path cut short by a narrow column (a repository such as owner/inference_results) is not a marker
    assert not markers.html_markers("<td>gbeezybez/inf</td>")


def test_the_pdf_scan_leaves_out_code_lines() -> None:
    code = ['y = alt.Y("chip:N", title=None)\nprices = float("nan")']
    text = 'y = alt.Y("chip:N", title=None)\nagainst a median of USD nan for the model\n  prices = float("nan")\n'
    hits = markers.pdf_markers(text, code)
    assert len(hits) == 1 and "USD nan" in hits[0]
