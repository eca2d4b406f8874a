"""The chapter pipeline: stale-only execution with papermill, byte-stable notebooks, failures contained."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import nbformat
import pytest

from analysis.build import bookstore, notebooks, pipeline
from analysis.data import store
from tests.conftest import WIDGETS_CSV

pytestmark = pytest.mark.build

TOC = textwrap.dedent(
    """\
    format: jb-book
    root: intro
    chapters:
      - file: chapters/a-widgets
      - file: chapters/b-sources
    """
)


def _chapter(query: str) -> nbformat.NotebookNode:
    params = nbformat.v4.new_code_cell('store = "../data/inference.duckdb"\nas_of = "2026-01-01"')
    params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        "from analysis.data.reader import open_store\n"
        f"db = open_store(store)\nprint(db.sql({query!r}).to_string(index=False), as_of)"
    )
    return notebooks.normalize(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), params, body]))


@pytest.fixture
def project(tmp_path: Path, data_dir: Path) -> Path:
    (tmp_path / "_toc.yml").write_text(TOC)
    (tmp_path / "intro.md").write_text("# Intro\n")
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    notebooks.write_notebook(_chapter("SELECT slug, memory_gb FROM widgets ORDER BY slug"), chapters / "a-widgets.ipynb")
    notebooks.write_notebook(_chapter("SELECT count(*) AS n FROM sources"), chapters / "b-sources.ipynb")
    bookstore.build(data_dir, data_dir / store.STORE_NAME)
    return tmp_path


def _run(project: Path, **kw: object) -> list[str]:
    ran = pipeline.run_stale(project / "data" / store.STORE_NAME, root=project, echo=lambda s: None, **kw)
    return [p.name for p in ran]


def test_first_run_executes_all_and_records_tables(project: Path) -> None:
    assert _run(project) == ["a-widgets.ipynb", "b-sources.ipynb"]
    state = json.loads((project / "chapters" / "_execution.json").read_text())
    assert state["chapters/a-widgets.ipynb"]["tables"] == ["widgets"]
    assert state["chapters/b-sources.ipynb"]["tables"] == ["sources"]
    nb = nbformat.read(project / "chapters" / "a-widgets.ipynb", as_version=4)
    assert "alpha" in nb.cells[2].outputs[0]["text"]
    assert "papermill" not in nb.metadata


def test_second_run_executes_nothing_and_changes_no_byte(project: Path) -> None:
    _run(project)
    before = {p.name: p.read_bytes() for p in (project / "chapters").iterdir()}
    assert _run(project) == []
    after = {p.name: p.read_bytes() for p in (project / "chapters").iterdir()}
    assert after == before


def test_forced_rerun_with_same_inputs_is_byte_identical(project: Path) -> None:
    _run(project)
    before = (project / "chapters" / "a-widgets.ipynb").read_bytes()
    assert _run(project, force=True) == ["a-widgets.ipynb", "b-sources.ipynb"]
    assert (project / "chapters" / "a-widgets.ipynb").read_bytes() == before


def test_changing_one_table_reruns_only_its_readers(project: Path) -> None:
    _run(project)
    data = project / "data"
    (data / "widgets.csv").write_text(WIDGETS_CSV.replace(",80,", ",96,"), encoding="utf-8")
    bookstore.build(data, data / store.STORE_NAME)
    plans = {p.notebook.name: p for p in pipeline.plan(data / store.STORE_NAME, root=project)}
    assert plans["a-widgets.ipynb"].stale and "data changed: widgets" in plans["a-widgets.ipynb"].reason
    assert not plans["b-sources.ipynb"].stale
    assert _run(project) == ["a-widgets.ipynb"]
    nb = nbformat.read(project / "chapters" / "a-widgets.ipynb", as_version=4)
    assert "96.0" in nb.cells[2].outputs[0]["text"]


def test_parameters_make_a_chapter_stale_and_reach_it(project: Path) -> None:
    _run(project)
    assert _run(project, parameters={"as_of": "2030-01-01"}) == ["a-widgets.ipynb", "b-sources.ipynb"]
    nb = nbformat.read(project / "chapters" / "b-sources.ipynb", as_version=4)
    assert "2030-01-01" in nb.cells[-1].outputs[0]["text"]


def test_a_failing_chapter_leaves_its_notebook_unchanged(project: Path) -> None:
    _run(project)
    path = project / "chapters" / "a-widgets.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source = "raise RuntimeError('boom')"
    notebooks.write_notebook(nb, path)
    before = path.read_bytes()
    with pytest.raises(pipeline.ChapterFailed, match="boom"):
        _run(project)
    assert path.read_bytes() == before


def test_editing_a_chapter_makes_only_it_stale(project: Path) -> None:
    _run(project)
    path = project / "chapters" / "b-sources.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = "# Sources, renamed"
    notebooks.write_notebook(nb, path)
    assert _run(project) == ["b-sources.ipynb"]
