"""Every figure of the book is citable: a stable label, its SVG, PNG and CSV, and a citation block."""

from __future__ import annotations

import html
import io
import json
import re

import bibtexparser
import jsonschema
import nbformat
import pandas as pd
import pytest
import yaml

from pybtex.database import parse_string

from analysis import __version__, edition
from analysis.book import chart_layout, explorer_state, figure_files, figures
from analysis.build import pipeline
from tests.conftest import ROOT
from tests.test_chart_builders import assert_in_words

pytestmark = pytest.mark.build

HTML = ROOT / "_build" / "html"
FIGURES = [
    (nb.stem, fig)
    for nb in pipeline.chapter_notebooks(ROOT)
    for fig in figures.iter_notebook_figures(json.loads(nb.read_text(encoding="utf-8")))
]


def test_the_book_has_figures_with_unique_labels() -> None:
    labels = [fig["label"] for _, fig in FIGURES]
    assert len(labels) >= 10
    assert len(labels) == len(set(labels)), "a figure label is used twice"


@pytest.mark.parametrize("chapter,fig", FIGURES, ids=[f["label"] for _, f in FIGURES])
def test_figure_files_label_and_citation(chapter: str, fig: dict) -> None:
    label = fig["label"]
    assert figures.LABEL_RE.match(label)
    svg = (HTML / "figures" / f"{label}.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg")
    assert (HTML / "figures" / f"{label}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    drawn = pd.read_csv(HTML / "figures" / f"{label}.csv")
    expected = pd.read_csv(io.StringIO(figures.spec_data(fig["spec"]).to_csv(index=False)))
    pd.testing.assert_frame_equal(drawn, expected)
    page = (HTML / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
    assert f'id="{label}"' in page, f"{label} has no anchor on its page"
    block = page[page.index(f'data-figure="{label}"'):]
    block = block[: block.index("</details>")]
    for ext in ("svg", "png", "csv"):
        assert f'href="../figures/{label}.{ext}"' in block
    assert "Cite this figure" in block and "@misc{inferencebook-" in block
    assert figures.BOOK_TITLE in block and f"version {__version__}" in block and f"#{label}" in block
    assert "Data: " in block and "Data: ." not in block, f"{label} names no data source"
    assert block.count('class="cite-copy"') == 2, f"{label} has no copy buttons"
    bib = html.unescape(re.search(r'<pre class="cite-bibtex">(.*?)</pre>', block, re.S).group(1))
    assert bibtexparser.parse_string(bib).failed_blocks == []
    entry = parse_string(bib, "bibtex").entries[f"inferencebook-{label.removeprefix('fig-')}"]
    assert entry.fields["url"] == edition.page_url(f"chapters/{chapter}.html", label)
    publishers = [re.sub(r" \(\d+ sources\)$", "", p) for p in entry.fields["note"].removeprefix("Data: ")
                  .rstrip(".").split("; ")]
    assert len(publishers) == len(set(publishers)), f"{label}'s data note names a publisher twice"


@pytest.mark.parametrize("chapter,fig", FIGURES, ids=[f["label"] for _, f in FIGURES])
def test_figure_reflows_is_described_in_words_and_in_ten_colours(chapter: str, fig: dict) -> None:
    """Issue 17, item 3, on the recorded chapters (after they are executed with this code): each chart
    follows its column or is an explorer drawn to fit a phone, has a description, no font under 11 px,
    at most ten colours, no ids on its axes and legends, and exported files that carry its credit."""
    spec, label = fig["spec"], fig["label"]
    assert chart_layout.is_fluid(spec) or explorer_state.config(spec), f"{label} does not follow its column"
    assert spec.get("description", "").startswith(fig["title"].rstrip(".")), f"{label} has no description"
    assert min(chart_layout.font_sizes(spec)) >= figures.MIN_FONT_SIZE
    counts = chart_layout.colour_counts(spec, figures.spec_data(spec))
    assert max(counts.values(), default=0) <= len(figures.PALETTE), f"{label} shows {counts} by colour"
    assert_in_words(spec)
    svg = (HTML / "figures" / f"{label}.svg").read_text(encoding="utf-8")
    url = edition.page_url(f"chapters/{chapter}.html", label)
    assert f"<title>{html.escape(fig['title'])}</title>" in svg and f'rdf:about="{url}"' in svg
    assert "Licence: CC BY 4.0" in svg
    texts = figure_files.png_texts((HTML / "figures" / f"{label}.png").read_bytes())
    assert texts["Title"] == fig["title"] and texts["URL"] == url and texts["Copyright"].startswith("CC BY 4.0")


def test_figure_labels_are_referenced_in_the_prose() -> None:
    for nb_path in pipeline.chapter_notebooks(ROOT):
        nb = nbformat.read(nb_path, as_version=4)
        prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        for fig in figures.iter_notebook_figures(json.loads(nb_path.read_text(encoding="utf-8"))):
            assert f":name: {fig['label']}" in prose, f"{fig['label']} is never placed in {nb_path.name}"
            assert f"{{numref}}`{fig['label']}`" in prose, f"{fig['label']} is never referred to in {nb_path.name}"


def test_citation_cff_is_valid() -> None:
    schema = json.loads((ROOT / "tests" / "fixtures" / "citation-file-format-1.2.0.schema.json").read_text())
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    cff = json.loads(json.dumps(cff, default=str))
    jsonschema.validate(cff, schema)
    assert cff["version"] == __version__


def test_citation_cff_schema_check_has_teeth() -> None:
    schema = json.loads((ROOT / "tests" / "fixtures" / "citation-file-format-1.2.0.schema.json").read_text())
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    cff = json.loads(json.dumps(cff, default=str))
    del cff["authors"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(cff, schema)


def test_every_source_is_in_the_bibliography() -> None:
    page = (HTML / "chapters" / "appendix-bibliography.html").read_text(encoding="utf-8")
    sources = pd.read_csv(ROOT / "data" / "sources.csv")
    missing = [u for u in sources["url"] if u.replace("&", "&amp;") not in page]
    assert not missing, f"{len(missing)} sources missing from the bibliography, e.g. {missing[:3]}"


def test_numbered_tables_are_labelled_placed_and_referred_to() -> None:
    found = 0
    for nb_path in pipeline.chapter_notebooks(ROOT):
        nb = nbformat.read(nb_path, as_version=4)
        prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        page = (HTML / "chapters" / f"{nb_path.stem}.html").read_text(encoding="utf-8")
        for label in sorted(set(__import__("re").findall(r":name: (tbl-[a-z0-9-]+)", prose))):
            found += 1
            assert f'id="{label}"' in page, f"{label} has no anchor"
            assert f"{{numref}}`{label}`" in prose, f"{label} is never referred to"
            block = page[page.index(f'id="{label}"'):]
            assert "Table " in block[:600] and "<td" in block, f"{label} is not a numbered table"
    assert found >= 4


def test_markdown_tables_escape_text_from_the_data() -> None:
    from analysis.book.chapter import _md_cell

    cell = _md_cell('<img src=x onerror=alert(1)> | *bold* `code` [link](http://x)')
    assert "<img" not in cell.replace("\\<img", "") and "\\|" in cell and "\\*" in cell and "\\[" in cell
