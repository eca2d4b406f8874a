"""Charts that reflow, speak and travel with their credit (issue 17, item 3).

``analysis.book.chart_layout`` (width, description, export layout), ``analysis.book.chart_embed`` (the
HTML), ``analysis.book.figure_files`` (the credited SVG and PNG) and how ``analysis.book.figures``
uses them, on synthetic charts; and on every chart recorded in the committed chapters, what the
rendering adds whatever the chapter drew (a description, an accessible container, a fixed-width
export with its credit).
"""

from __future__ import annotations

import json
import re
from typing import Any

import altair as alt
import pandas as pd
import pytest

from analysis import edition
from analysis.book import chart_embed, chart_layout, figure_files, figures
from analysis.build import pipeline
from tests.conftest import ROOT

RECORDED = [(nb.stem, fig) for nb in pipeline.chapter_notebooks(ROOT)
            for fig in figures.iter_notebook_figures(json.loads(nb.read_text(encoding="utf-8")))]
FRAME = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [2.0, 1.0, 3.0], "kind": ["a", "b", "a"]})


def _figure(chart: alt.TopLevelMixin, title: str = "A title") -> figures.Figure:
    figures.enable()
    return figures.Figure(chart=chart, label="fig-test", title=title, chapter="A chapter", sources=["MLCommons"],
                          version="1.2.3", date="2026-01-02", page="chapters/01-thesis.html")


def test_a_single_or_layered_view_follows_its_container() -> None:
    point = alt.Chart(FRAME).mark_point().encode(x="x:Q", y="y:Q", color="kind:N").properties(width=620, height=300)
    for chart in (point, alt.layer(point, alt.Chart(FRAME).mark_line().encode(x="x:Q", y="y:Q")).properties(width=620)):
        spec = chart_layout.responsive(chart.to_dict())
        assert spec["width"] == "container" and chart_layout.is_fluid(spec)
        assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
    stacked = alt.vconcat(point.properties(width="container"), point.properties(width="container"))
    assert chart_layout.is_fluid(chart_layout.responsive(stacked.to_dict()))
    fixed = alt.vconcat(point.properties(width=200), point.properties(width=200)).to_dict()
    assert chart_layout.responsive(fixed) == fixed, "a chart of fixed panels (an explorer) keeps its size"


def test_the_export_has_a_fixed_width_and_carries_title_and_lines() -> None:
    chart = alt.vconcat(alt.Chart(FRAME).mark_point().encode(x="x:Q").properties(width="container"),
                        alt.Chart(FRAME).mark_bar().encode(x="x:Q").properties(width="container"))
    spec = chart_layout.responsive(chart.properties(title=alt.Title("Old", subtitle="sub")).to_dict())
    out = chart_layout.for_export(spec, title="Figure title", lines=["Data: X.", "https://example.org/#fig"])
    assert "container" not in json.dumps(out) and out["autosize"] == {"type": "pad"}
    assert out["title"]["text"] == "Figure title"
    assert out["title"]["subtitle"] == ["Old", "sub", "Data: X.", "https://example.org/#fig"]
    assert spec["vconcat"][0]["width"] == "container", "the page's spec is left as it was"


def test_a_description_says_what_is_drawn_along_which_axis() -> None:
    chart = alt.Chart(FRAME).mark_point().encode(x=alt.X("x:Q", title="Date"), y=alt.Y("y:Q", title="Price"),
                                                 color=alt.Color("kind:N", title="Model"))
    text = chart_layout.describe(chart.to_dict(), "Prices fall.")
    assert text.startswith("Prices fall. Chart of points.")
    assert "Horizontal axis: Date; vertical axis: Price; colour: Model." in text
    explorer = chart.add_params(alt.param(name="n", value=1, bind=alt.binding_range(min=1, max=5, name="Batch ")))
    assert "Interactive chart" in (d := chart_layout.describe(explorer.to_dict(), "T")) and "Controls: Batch." in d


def test_a_figure_is_described_and_its_container_is_labelled() -> None:
    fig = _figure(alt.Chart(FRAME).mark_point().encode(x="x:Q", y="y:Q").properties(width=620), title="A <b> & c")
    assert fig.spec["description"].startswith("A <b> & c.") and chart_layout.is_fluid(fig.spec)
    html, meta = fig._repr_mimebundle_()
    body = html["text/html"]
    assert '<div class="book-chart" role="figure" aria-label="A &lt;b&gt; &amp; c.' in body
    assert 'id="fig-test-chart"' in body and "vegaEmbed(" in body and "<b>" not in body.split("<script")[1]
    credit = meta[figures.OUTPUT_METADATA_KEY]["credit"]
    assert credit["url"] == edition.page_url("chapters/01-thesis.html", "fig-test")
    assert credit["data"] == "Data: MLCommons." and credit["licence"] == "CC BY 4.0"
    assert body == _figure(alt.Chart(FRAME).mark_point().encode(x="x:Q", y="y:Q").properties(width=620),
                           title="A <b> & c")._repr_mimebundle_()[0]["text/html"], "the same chart, the same bytes"


def test_the_chart_script_loads_nothing_when_the_bundle_is_there() -> None:
    html = figures.chart_html({"mark": "point", "description": "d"}, div_id="c")
    assert 'debug[key] === versions[lib]' in html and "cdn.jsdelivr.net" in html
    assert "explorer-reset" not in html and "after(result" in html


def test_theme_fonts_and_phone_layout() -> None:
    config = figures._theme()["config"]
    assert min(chart_layout.font_sizes(config)) >= figures.MIN_FONT_SIZE
    assert config["legend"]["columns"] == chart_layout.narrow(1, 3)
    assert chart_layout.narrow(1, 3) == {"expr": f"containerSize()[0] < {chart_layout.NARROW} ? 1 : 3"}


def test_credited_files_carry_title_source_licence_and_address() -> None:
    import vl_convert

    fig = _figure(alt.Chart(FRAME).mark_point().encode(x="x:Q", y="y:Q").properties(width=620), title="Tï & <t>")
    credit = fig.credit()
    drawn = chart_layout.for_export(fig.spec, title=credit.title, lines=credit.lines())
    svg = figure_files.credited_svg(vl_convert.vegalite_to_svg(drawn, vl_version="v6_4"), credit)
    assert "<title>Tï &amp; &lt;t&gt;</title>" in svg and "<dc:rights>CC BY 4.0</dc:rights>" in svg
    assert f'rdf:about="{credit.url}"' in svg and "Data: MLCommons." in svg
    drawn_text = re.sub(r"<(desc|metadata)>.*?</\1>", "", svg, flags=re.S)
    assert "Licence: CC BY 4.0" in drawn_text and credit.url in drawn_text, "the credit is written above the chart"
    png = figure_files.credited_png(vl_convert.vegalite_to_png(drawn, vl_version="v6_4"), credit)
    texts = figure_files.png_texts(png)
    assert texts["Title"] == "Tï & <t>" and texts["URL"] == credit.url and texts["Copyright"].startswith("CC BY 4.0")
    assert texts["Description"] == "Data: MLCommons." and png.startswith(figure_files.PNG_SIGNATURE)


def test_an_old_recording_is_credited_from_the_edition() -> None:
    credit = figure_files.credit_of({"label": "fig-x", "title": "T"}, "chapters/02-technical.html")
    assert credit.url == edition.page_url("chapters/02-technical.html", "fig-x") and credit.data == ""
    assert credit.lines()[-1] == credit.url


@pytest.mark.parametrize("chapter,fig", RECORDED, ids=[f["label"] for _, f in RECORDED])
def test_every_recorded_chart_is_described_labelled_and_exportable(chapter: str, fig: dict[str, Any]) -> None:
    spec = chart_layout.responsive(fig["spec"])
    text = spec.get("description") or chart_layout.describe(spec, fig["title"])
    assert text.startswith(fig["title"].rstrip(".")) and ("axis" in text or "Controls" in text), text
    html = chart_embed.chart_html({**spec, "description": text}, div_id=f"{fig['label']}-chart", versions={},
                                  embed_options={}, spec_json="{}")
    assert 'role="figure" aria-label="' in html and f'id="{fig["label"]}-chart"' in html
    credit = figure_files.credit_of(fig, f"chapters/{chapter}.html")
    out = chart_layout.for_export(spec, title=credit.title, lines=credit.lines())
    assert "container" not in json.dumps(out) and out["title"]["text"] == fig["title"]
    assert credit.url in out["title"]["subtitle"]
