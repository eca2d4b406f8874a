"""Chapters as text: every chapter has a MyST Markdown text paired by jupytext, the two never drift,
the build reads the text, and Jupyter Book builds each page from one source."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from analysis.build import pipeline, texts
from tests.conftest import ROOT
from tests.test_workflow import built_small, cli, copy_book  # noqa: F401 - the small book's fixture

CHAPTERS = pipeline.chapter_notebooks(ROOT)


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_chapter_has_its_text_and_they_agree(notebook: Path) -> None:
    text = texts.text_path(notebook)
    assert text.is_file(), f"no text for {notebook.name}: run `python -m analysis texts --write`"
    assert nbformat.read(notebook, as_version=4).metadata.get("jupytext", {}).get("formats") == texts.FORMATS
    assert not texts.drifted(notebook), (f"{notebook.name} and {text.relative_to(ROOT)} differ: edit the text "
                                         "and run `make book` (or sync them with jupytext)")


def test_a_changed_text_is_seen_as_drift(tmp_path: Path) -> None:
    notebook = tmp_path / CHAPTERS[0].name
    notebook.write_bytes(CHAPTERS[0].read_bytes())
    texts.write_text(notebook)
    assert not texts.drifted(notebook)
    text = texts.text_path(notebook)
    text.write_text(text.read_text().replace("# ", "# Edited: ", 1))
    assert texts.drifted(notebook)


def test_texts_are_small_and_reviewable() -> None:
    for notebook in CHAPTERS:
        lines = texts.text_path(notebook).read_text(encoding="utf-8").splitlines()
        assert max(len(line) for line in lines) <= 400, notebook.name
        assert "outputs" not in texts.text_path(notebook).read_text(encoding="utf-8").split("\n---\n", 1)[0]


@pytest.mark.build
def test_the_book_builds_each_page_from_one_source() -> None:
    html = ROOT / "_build" / "html"
    assert (html / "chapters" / "01-thesis.html").is_file(), "the book is not built"
    assert not (html / "chapters" / texts.SOURCE_DIR).exists()


@pytest.mark.build
def test_an_edited_text_re_executes_its_chapter_and_only_it(built_small: Path, tmp_path: Path) -> None:  # noqa: F811
    root = copy_book(built_small, tmp_path / "book")
    chapters = pipeline.chapter_notebooks(root)
    for notebook in chapters:
        texts.write_text(notebook)
    done = cli("build", root=root)
    assert done.returncode == 0, done.stderr
    assert "all 2 up to date" in done.stdout or "none executed" in done.stdout, done.stdout
    first = chapters[0]
    before_other = chapters[1].read_bytes()
    text = texts.text_path(first)
    text.write_text(text.read_text().replace("# Chapter", "# Chapter, as edited in its text", 1))
    done = cli("build", root=root)
    assert done.returncode == 0, done.stderr
    assert f"executing chapters/{first.name}" in done.stdout and f"executing chapters/{chapters[1].name}" \
        not in done.stdout, done.stdout
    nb = nbformat.read(first, as_version=4)
    assert nb.cells[0].source == "# Chapter, as edited in its text"
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "the outputs were not recorded"
    assert not texts.drifted(first)
    assert chapters[1].read_bytes() == before_other
