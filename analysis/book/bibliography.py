"""The book's bibliography: every row of the store's ``sources`` table as a BibTeX entry.

``write_bib`` renders the table into a ``.bib`` file that sphinxcontrib-bibtex reads; each entry's
key is the source's ``source_id``, so a chapter cites exactly the sources its rows name. The file is
regenerated from the store before each HTML build and rewritten only when its text changes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.data.reader import open_store
from analysis.escape import bibtex_entry, bibtex_text, bibtex_url

BIB_NAME = "sources.bib"


def _year(row: pd.Series) -> str:
    for column in ("date_published", "date_accessed"):
        value = row.get(column)
        if value is not None and not pd.isna(value):
            return str(pd.Timestamp(value).year)
    return "n.d."


def entry(row: pd.Series) -> str:
    """One source as a BibTeX ``@misc`` entry keyed by its ``source_id``, written by the book's one
    BibTeX writer (``safety.bibtex_entry``): every text escaped, the URL kept only if it is http(s)."""
    accessed = pd.Timestamp(row["date_accessed"]).strftime("%Y-%m-%d")
    fields = [
        ("author", "{" + bibtex_text(row["producer"]) + "}"),
        ("title", bibtex_text(row["title"])),
        ("year", _year(row)),
    ]
    url = bibtex_url(row["url"])
    if url is not None:
        fields.append(("url", url))
    fields.append(("note", f"Accessed {accessed}. Licence: {bibtex_text(row['licence'])}."))
    return bibtex_entry("misc", str(row["source_id"]), fields) + "\n"


def bib_text(sources: pd.DataFrame) -> str:
    """Every source as BibTeX, sorted by key."""
    return "\n".join(entry(r) for _, r in sources.sort_values("source_id").iterrows())


def write_bib(store_path: Path, out_path: Path) -> Path:
    """Render the store's sources into ``out_path`` (only rewritten when the text changes)."""
    with open_store(store_path) as db:
        text = bib_text(db.table("sources"))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not out_path.exists() or out_path.read_text(encoding="utf-8") != text:
        out_path.write_text(text, encoding="utf-8")
    return out_path
