"""Chapters as reviewable text: each chapter notebook is paired with a MyST Markdown text by jupytext.

``chapters/source/<chapter>.md`` is the reviewed source of ``chapters/<chapter>.ipynb``: its prose and
code cells, without outputs, one line per line. The ``.ipynb`` stays the executed, recorded artefact
that papermill writes and nbval checks. The pairing is declared in each notebook's metadata
(``jupytext.formats``), so JupyterLab with jupytext keeps the two in step as the chapter is edited.

The build reads the text: before the stale chapters are planned, ``sync`` gives each staged notebook
the cells of its text, keeping the outputs of every cell whose source did not change, so an edited
text makes its chapter stale and re-executes it. Jupyter Book never sees the texts (``_config.yml``
excludes ``chapters/source``): one source per page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs

from analysis import paths
from analysis.build import notebooks, pipeline

FORMAT = "md:myst"
SOURCE_DIR = "source"
FORMATS = f"ipynb,{SOURCE_DIR}//{FORMAT}"


def text_path(notebook: Path) -> Path:
    """Where the text of ``notebook`` lives: ``chapters/source/<name>.md``."""
    return notebook.parent / SOURCE_DIR / f"{notebook.stem}.md"


def cells(nb: Any) -> list[tuple[str, str, list[str]]]:
    """What the text holds of each cell: its type, its source and its tags."""
    return [(c.cell_type, c.source, list(c.metadata.get("tags") or [])) for c in nb.cells]


def read_text(notebook: Path) -> Any:
    return jupytext.read(text_path(notebook), fmt=FORMAT)


def drifted(notebook: Path) -> bool:
    """The notebook's cells differ from its text's (a notebook without a text never drifts)."""
    text = text_path(notebook)
    if not text.is_file():
        return False
    return cells(read_text(notebook)) != cells(nbformat.read(notebook, as_version=4))


def sync(notebook: Path) -> bool:
    """Give ``notebook`` the cells of its text, keeping the outputs of unchanged cells; True if it changed."""
    if not drifted(notebook):
        return False
    nb = nbformat.read(notebook, as_version=4)
    combined = combine_inputs_with_outputs(read_text(notebook), nb, fmt=FORMAT)
    combined.metadata = nb.metadata
    combined.metadata["jupytext"] = {"formats": FORMATS}
    notebooks.write_notebook(notebooks.normalize(combined), notebook)
    return True


def sync_book(root: Path) -> list[Path]:
    """``sync`` every chapter of the book in ``root``; the notebooks that took their text's cells."""
    return [nb for nb in pipeline.chapter_notebooks(root) if sync(nb)]


def drifted_chapters(root: Path = paths.ROOT) -> list[Path]:
    return [nb for nb in pipeline.chapter_notebooks(root) if drifted(nb)]


def write_text(notebook: Path) -> Path:
    """Write (or rewrite) the text of ``notebook`` from its cells and declare the pairing in it."""
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata["jupytext"] = {"formats": FORMATS}
    notebooks.write_notebook(nb, notebook)
    out = text_path(notebook)
    out.parent.mkdir(exist_ok=True)
    jupytext.write(nb, out, fmt=FORMAT)
    return out
