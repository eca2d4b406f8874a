"""The book's bibliography: every row of the store's ``sources`` table as a biblatex entry.

``write_bib`` renders the table into a ``.bib`` file that sphinxcontrib-bibtex reads; each entry's
key is the source's ``source_id``, so a chapter cites exactly the sources its rows name. A web page is
an ``@online`` entry, a dataset or a benchmark's result file a ``@dataset``; each carries its
publisher as author, its title with capitals protected, its publication date only when the source
states one (a style then prints "n.d."), the date it was read as ``urldate`` and its licence in
``note``. The entries are written by the book's one BibTeX writer (``analysis.book.bibtex``). The file
is regenerated from the store before each HTML build and rewritten only when its text changes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from analysis.book.bibtex import Record, bib_string
from analysis.data.reader import open_store

BIB_NAME = "sources.bib"
ENTRY_TYPE = {"dataset": "dataset", "benchmark": "dataset"}
"""The entry type of each kind of source; every other kind is ``online``."""


def _date(value: object) -> dt.date | None:
    """A date from the store or a CSV cell; None for an empty cell."""
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10]) if value.strip() else None
    if value is None or pd.isna(value):  # None, NaN, NaT, pd.NA
        return None
    return pd.Timestamp(value).date()


def record(row: pd.Series) -> Record:
    """One source as a ``Record`` keyed by its ``source_id``."""
    return Record(
        kind=ENTRY_TYPE.get(str(row.get("kind", "")), "online"),
        key=str(row["source_id"]),
        author=str(row["producer"]),
        title=str(row["title"]),
        url=str(row["url"]),
        published=_date(row.get("date_published")),
        accessed=_date(row["date_accessed"]),
        extra=(("note", f"Licence: {row['licence']}."),),
    )


def bib_text(sources: pd.DataFrame) -> str:
    """Every source as BibTeX, sorted by key."""
    return bib_string(record(r) for _, r in sources.sort_values("source_id").iterrows())


def write_bib(store_path: Path, out_path: Path) -> Path:
    """Render the store's sources into ``out_path`` (only rewritten when the text changes)."""
    with open_store(store_path) as db:
        text = bib_text(db.table("sources"))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not out_path.exists() or out_path.read_text(encoding="utf-8") != text:
        out_path.write_text(text, encoding="utf-8")
    return out_path
