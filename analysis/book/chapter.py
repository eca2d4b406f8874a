"""What a chapter notebook uses: the store, glued numbers and citable figures, in one object.

A chapter's first code cell after its parameters does::

    ch = Chapter("02-technical", "Technical deep dive", store=store, as_of=as_of)

and then reads with ``ch.db.sql(...)``, puts numbers into the prose with ``ch.glue(name, value)``
(referred to in Markdown as ``{glue:text}`name:.1f```) and shows charts with ``ch.figure(...)``, which
returns a citable ``Figure`` glued under its label for a ``{glue:figure}`` block in the prose. Run
outside the book's build (in JupyterLab), each glued value and figure is also shown in the notebook
(``analysis.book.notebook_view``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
from IPython.display import HTML

from analysis import edition, paths
from analysis.book import figures, labels, notebook_view
from analysis.data.reader import StoreReader, open_store
from analysis.escape import BIBTEX_KEY_RE, md_text
from analysis.precision import round_series, round_value

SOURCE_COLUMN = "source_ids"
DOWNLOAD_SENTENCE = ("Every table it reads can be downloaded with its contract, the Data Package descriptor and "
                     "the DuckDB store from the <a href='../data/index.html'>data release</a>.")
MISSING = "\u2014"  # how a missing value is shown: an em dash, never nan, None, NaT or <NA>


def _flatten_sources(values: Iterable[Any]) -> list[str]:
    found: set[str] = set()
    for v in values:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            continue
        if isinstance(v, str):
            found.update(s.strip() for s in v.split(";") if s.strip())
        else:
            found.update(str(s) for s in v)
    return sorted(found)


class Chapter:
    """One chapter's view of the book: its store, its glued values and its figures."""

    def __init__(self, slug: str, title: str, *, store: str, as_of: str):
        self.slug = slug
        self.title = title
        self.as_of = as_of
        self.db: StoreReader = open_store(store)
        self.figure_labels: list[str] = []
        self.cited: set[str] = set()
        figures.enable()
        self._note_code()

    def _note_code(self) -> None:
        """Record which ``analysis`` modules this chapter has imported, and ``CITATION.cff`` (the
        edition its figure citations print), for the pipeline's staleness check."""
        root = paths.ROOT
        files = [edition.CITATION_NAME]
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None)
            if (name == "analysis" or name.startswith("analysis.")) and path:
                files.append(Path(path).resolve().relative_to(root).as_posix())
        self.db.note_code(files)

    @property
    def page(self) -> str:
        return f"chapters/{self.slug}.html"

    def source_publishers(self, ids: Sequence[str]) -> list[str]:
        """The publisher (``producer``) of each source id, in order."""
        if not ids:
            return []
        frame = self.db.rows("sources", "source_id", list(ids))
        publishers = dict(zip(frame["source_id"], frame["producer"]))
        return [publishers.get(i, i) for i in ids]

    def figure(
        self,
        chart: alt.TopLevelMixin,
        *,
        label: str,
        title: str,
        data: pd.DataFrame | None = None,
        sources: Sequence[str] | None = None,
    ) -> None:
        """A citable figure, glued under ``label`` for the prose to place with ``{glue:figure}``."""
        ids = list(sources) if sources is not None else (
            _flatten_sources(data[SOURCE_COLUMN]) if data is not None and SOURCE_COLUMN in data else []
        )
        self.cited.update(ids)
        book = edition.edition()
        fig = figures.Figure(
            chart=chart, label=label, title=title, chapter=self.title, sources=self.source_publishers(ids),
            version=book.version, date=book.date_released.isoformat(), page=self.page,
        )
        self.figure_labels.append(label)
        self._note_code()
        self.glue(label, fig)

    def glue(self, name: str, value: Any) -> None:
        """Make ``value`` available to the prose as ``{glue:text}`name```. Outside the book's build it
        is also shown to the notebook's reader (``notebook_view.show_glued``)."""
        from myst_nb import glue

        value = round_value(value)
        glue(name, value, display=False)
        if not notebook_view.building():
            notebook_view.show_glued(name, value)
        self._note_code()

    def glue_md(self, name: str, text: str) -> None:
        """Make Markdown ``text`` available to the prose as ``{glue:md}`name```."""
        from IPython.display import Markdown

        self.glue(name, Markdown(text))

    def cite(self, ids: Iterable[str]) -> None:
        """Add source ids to the chapter's list of sources (``sources_section``)."""
        self.cited.update(str(i) for i in ids)

    def sources_section(self) -> None:
        """Glue ``chapter_sources``: a citation of every source this chapter's figures and tables used,
        for a ``{glue:md}`` block that renders it against the book's bibliography."""
        keys = sorted(self.cited)
        bad = [k for k in keys if not BIBTEX_KEY_RE.fullmatch(k)]
        if bad:
            raise ValueError(f"source id(s) {', '.join(map(repr, bad))} cannot be cited: not a citation key")
        self.db.rows("sources", "source_id", keys)
        text = ("This chapter draws on " + ", ".join(f"{{cite:t}}`{k}`" for k in keys) + "."
                if keys else "This chapter uses no external source.")
        text += f" {DOWNLOAD_SENTENCE}"
        self.glue_md("chapter_sources", text)

    def numbered_table(self, name: str, frame: pd.DataFrame, *, digits: int = 2) -> None:
        """Glue ``frame`` as a Markdown table under ``name`` for a numbered, labelled table in the prose::

            :::{table} Caption
            :name: tbl-name

            ```{glue:md} name
            :format: myst
            ```
            :::

        Every cell is escaped (each ASCII punctuation character backslash-escaped), so text from the
        data is shown as text and never read as Markdown or HTML."""
        shown = self._formatted(frame, digits)
        header = "| " + " | ".join(_md_cell(c) for c in shown.columns) + " |"
        rule = "|" + "|".join("---" for _ in shown.columns) + "|"
        rows = ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in shown.itertuples(index=False)]
        self.glue_md(name, "\n".join([header, rule, *rows]))

    def table(self, frame: pd.DataFrame, *, digits: int = 2) -> HTML:
        """A table for display: numbers rounded and grouped, no index, every cell escaped. The sources
        named in a ``source_ids`` column join the chapter's sources and are not shown as a column."""
        shown = self._formatted(frame, digits)
        table = shown.to_html(index=False, escape=True, na_rep=MISSING, classes="book-table", border=0)
        return HTML(f'<div class="book-table-wrap">{table}</div>')

    def _formatted(self, frame: pd.DataFrame, digits: int) -> pd.DataFrame:
        """Cells as display text: numbers rounded and grouped, years as years, lists joined, headings in
        words, the verdict and reason first (``labels``); sources cited, not shown."""
        shown = frame.copy()
        if SOURCE_COLUMN in shown.columns:
            self.cite(_flatten_sources(shown[SOURCE_COLUMN]))
            shown = shown.drop(columns=SOURCE_COLUMN)
        shown = shown[labels.result_first(list(shown.columns))]
        for col in shown.columns:
            if labels.is_year(col) and pd.api.types.is_numeric_dtype(shown[col]):
                shown[col] = shown[col].map(lambda v: MISSING if _missing(v) else f"{int(v)}")
            elif pd.api.types.is_float_dtype(shown[col]):
                shown[col] = round_series(shown[col]).map(lambda v: MISSING if _missing(v) else f"{v:,.{digits}f}")
            elif pd.api.types.is_integer_dtype(shown[col]):
                shown[col] = shown[col].map(lambda v: MISSING if _missing(v) else f"{v:,d}")
            else:
                shown[col] = shown[col].map(_cell_text)
        shown.columns = labels.headings(list(shown.columns))  # a new index: no corner name either
        return shown


def _md_cell(value: Any) -> str:
    return md_text(value)


def _missing(value: Any) -> bool:
    """None, NaN, NaT and pandas' NA (lists and arrays are values, even when empty)."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _cell_text(value: Any) -> str:
    if _missing(value):
        return MISSING
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        return "; ".join(str(v) for v in value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)
