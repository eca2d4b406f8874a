"""A chapter read as a notebook (``analysis.book.notebook_view``) and a chapter built into the book.

While the book is built (``BUILD_ENV``, set for the whole suite by ``conftest``), a figure is the
book's HTML and a glued value an invisible glue record, exactly as the committed notebooks record
them. Anywhere else a figure is the Vega-Lite mimetype JupyterLab draws, with no HTML beside it (the
HTML renderer would win), and a glued value is also shown. The rest: the store's download address in
the "no store" message, and the ``make lab`` target's offline options.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import altair as alt
import pandas as pd
import pytest
from IPython.core.formatters import format_display_data
from IPython.utils.capture import capture_output

from analysis import edition, paths
from analysis.book import figures, notebook_view
from analysis.book.chapter import Chapter
from analysis.build import data_release, offline
from analysis.data import reader
from tests.conftest import ROOT

GLUE_PREFIX = "application/papermill.record/"


@pytest.fixture
def notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test runs as a JupyterLab reader's kernel would: not building the book."""
    monkeypatch.delenv(notebook_view.BUILD_ENV, raising=False)


def figure() -> figures.Figure:
    chart = alt.Chart(pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.5]})).mark_bar().encode(x="x:Q", y="y:Q")
    return figures.Figure(chart=chart, label="fig-test", title="A test figure", chapter="Tests",
                          sources=["Vendor A"], version="0.1.0", date="2026-01-01", page="chapters/t.html")


class _Reads:
    def note_code(self, files: object) -> None:
        pass


def chapter() -> Chapter:
    """A ``Chapter`` without a store: enough to glue."""
    ch = Chapter.__new__(Chapter)
    ch.db = _Reads()  # type: ignore[assignment]
    return ch


def test_the_suite_runs_as_the_build() -> None:
    assert notebook_view.building()


def test_book_build_sets_the_variable_and_restores_it(notebook: None) -> None:
    assert not notebook_view.building()
    with notebook_view.book_build():
        assert notebook_view.building()
    assert not notebook_view.building()


def test_while_building_a_figure_is_the_books_html_only() -> None:
    fig = figure()
    data, meta = format_display_data(fig)
    assert set(data) == {"text/html", "text/plain"}
    assert data["text/html"] == fig.book_html() and 'id="fig-test-chart"' in data["text/html"]
    assert meta == {figures.OUTPUT_METADATA_KEY: {"label": "fig-test", "title": "A test figure",
                                                  "spec": fig.spec, "credit": fig.credit().to_dict()}}


def test_in_a_notebook_a_figure_is_vega_lite_and_no_html(notebook: None) -> None:
    fig = figure()
    data, meta = format_display_data(fig)
    assert set(data) == {notebook_view.VEGALITE_MIME, "text/plain"}, "an HTML output would outrank the chart"
    assert data[notebook_view.VEGALITE_MIME] == fig.spec
    assert data["text/plain"].startswith("Figure fig-test: A test figure\nCite as: ")
    assert meta[notebook_view.VEGALITE_MIME] == {"embed_options": figures.EMBED_OPTIONS}
    assert meta[notebook_view.VIEW_KEY] == "notebook"


def test_vega_lite_mimetype_is_the_one_the_pinned_jupyterlab_renders() -> None:
    """JupyterLab 4.6 renders Vega-Lite 3 to 5; Altair's own v6 mimetype has no renderer there."""
    assert notebook_view.VEGALITE_MIME == "application/vnd.vegalite.v5+json"
    assert alt.VEGALITE_VERSION.split(".")[0] == "6"  # if Altair moves on, check JupyterLab's renderers again


def test_a_plain_altair_chart_follows_the_same_rule(notebook: None) -> None:
    active = (alt.renderers.active, alt.theme.active, alt.data_transformers.active)
    figures.enable()
    try:
        chart = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_point().encode(x="x:Q")
        data, meta = format_display_data(chart)
    finally:
        alt.renderers.enable(active[0])
        alt.theme.enable(active[1])
        alt.data_transformers.enable(active[2])
    assert set(data) == {notebook_view.VEGALITE_MIME, "text/plain"}
    assert meta[notebook_view.VIEW_KEY] == "notebook"


def test_while_building_a_glued_value_is_only_a_record() -> None:
    with capture_output() as cap:
        chapter().glue("answer", 41.99999999999)
    assert [o.data for o in cap.outputs] == [{GLUE_PREFIX + "text/plain": "42.0"}]
    assert cap.outputs[0].metadata == {"scrapbook": {"name": "answer", "mime_prefix": GLUE_PREFIX}}


def test_in_a_notebook_a_glued_value_is_also_shown(notebook: None) -> None:
    with capture_output() as cap:
        chapter().glue("answer", 41.99999999999)
    record, shown = cap.outputs
    assert record.data == {GLUE_PREFIX + "text/plain": "42.0"}, "the record is the same as the build's"
    assert shown.data == {"text/plain": "answer = 42.0"}
    assert shown.metadata == {notebook_view.VIEW_KEY: "notebook"}


def test_in_a_notebook_rich_glued_values_are_shown_as_themselves(notebook: None) -> None:
    ch = chapter()
    with capture_output() as cap:
        ch.glue_md("note", "**bold**")
        ch.glue("fig-test", figure())
    shown = [o for o in cap.outputs if not any(k.startswith(GLUE_PREFIX) for k in o.data)]
    assert len(shown) == 2 and all(o.metadata[notebook_view.VIEW_KEY] == "notebook" for o in shown)
    assert shown[0].data["text/markdown"] == "**bold**"
    assert notebook_view.VEGALITE_MIME in shown[1].data and "text/html" not in shown[1].data


def test_outputs_saved_from_a_notebook_session_are_recognised() -> None:
    built = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data", "metadata": {}}]}]}
    saved = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data",
                                                          "metadata": dict(notebook_view.VIEW)}]}]}
    assert not notebook_view.made_in_notebook_view(built)
    assert notebook_view.made_in_notebook_view(saved)


def test_no_committed_chapter_holds_notebook_view_outputs() -> None:
    for nb in sorted((ROOT / "chapters").glob("*.ipynb")):
        assert not notebook_view.made_in_notebook_view(json.loads(nb.read_text(encoding="utf-8"))), nb.name


def test_the_store_download_address_is_in_the_data_release() -> None:
    assert data_release.RELEASE_DIR == paths.RELEASE_DIR
    assert edition.store_url() == f"{edition.edition().url}/data/inference.duckdb"


def test_a_missing_store_says_where_to_get_one_and_how_to_point_at_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        reader.open_store(tmp_path / "none.duckdb")
    message = str(info.value)
    assert message.startswith(f"no store at {tmp_path / 'none.duckdb'}; build it with `make store`")
    assert edition.store_url() in message
    assert "-p store PATH" in message and "parameters cell" in message


def test_make_lab_starts_jupyterlab_offline_on_the_chapters() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lab: .*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "the Makefile has no lab target"
    body = recipe.group(1)
    for option in ("-m jupyterlab", "--ServerApp.root_dir=chapters", *offline.JUPYTERLAB_OFFLINE):
        assert option in body, f"make lab lacks {option}"
    assert 'JUPYTER_CONFIG_PATH="$(CURDIR)/lab' in body
    config_file = ROOT / paths.LAB_CONFIG / "labconfig" / "page_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    assert config["disabledExtensions"] == {"@jupyterlab/apputils-extension:announcements": True}
    assert "\nlab: venv-check" in makefile
    assert " lab " in makefile.split(".PHONY:", 1)[1].splitlines()[0] + " "


def test_the_build_runs_a_chapter_again_whose_outputs_were_saved_from_jupyterlab(tmp_path: Path) -> None:
    import nbformat

    from analysis.build import notebooks, pipeline

    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/one\n")
    (tmp_path / "chapters").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    path = tmp_path / "chapters" / "one.ipynb"
    source = notebooks.source_hash(nb)
    state = {"chapters/one.ipynb": {"inputs": pipeline.inputs_hash(source, {}, {}), "source": source,
                                    "parameters": {}, "tables": []}}
    store = tmp_path / "none.duckdb"
    nbformat.write(nb, path)
    assert [p.reason for p in pipeline.plan(store, root=tmp_path, state=state)] == ["up to date"]
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", {"text/plain": "x = 1"},
                                                  metadata=dict(notebook_view.VIEW))]
    nbformat.write(nb, path)
    [plan] = pipeline.plan(store, root=tmp_path, state=state)
    assert plan.stale and plan.reason == "outputs saved from a notebook session, not the build"
