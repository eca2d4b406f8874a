"""What a chapter shows when a person runs it as a notebook (JupyterLab), not while the book is built.

The book's build executes each chapter with ``BUILD_ENV`` set (``book_build``: the pipeline's papermill
runs, and the test suite's nbval kernels through ``tests/conftest.py``). Then a chapter emits exactly
what the book needs and nbval compares: each figure as the HTML the book's pages draw with their
vendored Vega bundle, and each glued value as an invisible myst_nb glue record.

Run anywhere else, ``building()`` is false and a chapter also shows itself to its reader:

* a figure (and any chart drawn by the book's Altair renderer) is emitted under ``VEGALITE_MIME``, the
  newest Vega-Lite mimetype that the pinned JupyterLab (4.6) renders with its own, bundled
  Vega-Lite 5 (nothing is fetched), with its title and citation as ``text/plain``. The book's HTML is
  not emitted beside it: JupyterLab ranks its HTML renderer (50) above its Vega renderer (57), so
  the HTML, whose script needs the book page's bundle, would win and draw nothing. Altair 6's own
  mimetype (``application/vnd.vegalite.v6.json``) is not emitted either: JupyterLab 4.6 has no
  renderer for it, and nbformat only allows JSON values under ``+json`` mimetypes;
* a glued value stays a glue record and is also displayed: a rich one (a figure, Markdown) as itself,
  any other as the line ``name = value``.

Every output made this way carries ``VIEW_KEY`` in its metadata, so a chapter saved from JupyterLab
is seen by the build (``made_in_notebook_view``) and executed again before the book uses it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

BUILD_ENV = "INFERENCE_BOOK_BUILD"
VEGALITE_MIME = "application/vnd.vegalite.v5+json"
VIEW_KEY = "inference-book/view"
VIEW = {VIEW_KEY: "notebook"}


def building() -> bool:
    """Whether this process (a chapter's kernel) runs as part of the book's build."""
    return os.environ.get(BUILD_ENV) == "1"


@contextmanager
def book_build() -> Iterator[None]:
    """Set ``BUILD_ENV`` for the block (kernels started in it inherit it), then restore it."""
    previous = os.environ.get(BUILD_ENV)
    os.environ[BUILD_ENV] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(BUILD_ENV, None)
        else:
            os.environ[BUILD_ENV] = previous


def chart_bundle(spec: Mapping[str, Any], text: str,
                 embed_options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A chart as JupyterLab draws it: the Vega-Lite spec, ``text`` for plain-text frontends, and
    vega-embed's options in the mimetype's metadata (where JupyterLab's renderer reads them)."""
    data = {VEGALITE_MIME: dict(spec), "text/plain": text}
    return data, {VEGALITE_MIME: {"embed_options": dict(embed_options)}, **VIEW}


def show_glued(name: str, value: Any) -> None:
    """Display a glued value to the notebook's reader: a rich value as itself, any other value as
    ``name = value`` (its ``text/plain``, as the glue record holds it)."""
    from IPython.core.formatters import format_display_data
    from IPython.display import display

    data, metadata = format_display_data(value)
    if set(data) - {"text/plain"}:
        display(data, raw=True, metadata={**metadata, **VIEW})
    else:
        display({"text/plain": f"{name} = {data.get('text/plain', '')}"}, raw=True, metadata=dict(VIEW))


def made_in_notebook_view(notebook: Mapping[str, Any]) -> bool:
    """Whether any output of ``notebook`` was made outside the book's build (``VIEW_KEY``)."""
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) or []:
            if VIEW_KEY in (output.get("metadata") or {}):
                return True
    return False
