"""The store, read-only, for chapters and analyses: ``open_store`` returns a ``StoreReader``.

Every query's tables are recorded (and, in a chapter run by the pipeline, appended to the file that
``READS_LOG_ENV`` names), so the pipeline knows which tables, rows and modules a chapter depends on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import pandas as pd

from analysis import edition, paths
from analysis.data.safety import quote_ident

READS_LOG_ENV = "INFERENCE_BOOK_READS_LOG"
PLACEHOLDER_RE = re.compile(r"\?|\$[A-Za-z_][A-Za-z0-9_]*|\$\d+")


class StoreReader:
    """A read-only view of the store for chapters: queries return DataFrames.

    The names of the tables each query reads are remembered (and appended to the file named by the
    environment variable ``INFERENCE_BOOK_READS_LOG`` when the pipeline sets it), so the pipeline
    knows which tables a chapter depends on.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(missing_store_message(self.path))
        self._con = duckdb.connect(str(self.path), read_only=True)
        self.tables_read: set[str] = set()
        self._tables = {r[0] for r in self._con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}

    def note_code(self, modules: Iterable[str]) -> None:
        """Record source files of the ``analysis`` package a chapter ran (``py:analysis/models/roofline.py``)."""
        self._note(f"py:{m}" for m in modules)

    def _note(self, names: Iterable[str]) -> None:
        new = {n for n in names if n.startswith("py:") or n.split("#", 1)[0] in self._tables} - self.tables_read
        if not new:
            return
        self.tables_read |= new
        log = os.environ.get(READS_LOG_ENV)
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                fh.writelines(f"{n}\n" for n in sorted(new))

    def sql(self, query: str, params: Sequence[object] | dict[str, object] | None = None) -> pd.DataFrame:
        """Run a query and return its result; the tables it reads are recorded."""
        self._note(duckdb.get_table_names(PLACEHOLDER_RE.sub("NULL", query)))
        return self._con.execute(query, params).df() if params else self._con.execute(query).df()

    def rows(self, table: str, column: str, values: Sequence[str]) -> pd.DataFrame:
        """The rows of ``table`` whose ``column`` is one of ``values``; only those rows are recorded
        as read (``table#column=value``), so a chapter that cites three sources depends on those
        three rows, not on every row of the table."""
        sql = f"SELECT * FROM {quote_ident(table)} WHERE {quote_ident(column)} IN ?"
        self._note(f"{table}#{column}={v}" for v in values)
        return self._con.execute(sql, [list(values)]).df()

    def table(self, name: str) -> pd.DataFrame:
        """A whole table."""
        return self.sql(f"SELECT * FROM {quote_ident(name)}")

    def scalar(self, query: str, params: Sequence[object] | dict[str, object] | None = None) -> object:
        """The single value a query returns."""
        frame = self.sql(query, params)
        if frame.shape != (1, 1):
            raise ValueError(f"expected one value, the query returned shape {frame.shape}")
        return frame.iat[0, 0]

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "StoreReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def missing_store_message(path: Path) -> str:
    """What to do when there is no store at ``path``: build it, or download the published one (its
    address comes from ``CITATION.cff``) and point the chapter's ``store`` parameter at it."""
    try:
        where = f"download the published store from {edition.store_url()}"
    except (OSError, KeyError, ValueError):  # a package installed without its CITATION.cff
        where = f"download {paths.STORE_NAME} from the book's data release (data/ at the book's address)"
    shown = path if path.is_absolute() else f"{path} (from {Path.cwd()})"
    return (f"no store at {shown}; build it with `make store` in a clone of the book, or {where} and point "
            "the chapter's `store` parameter at the file: edit `store = ...` in its parameters cell, or run "
            "`papermill CHAPTER.ipynb OUT.ipynb -p store PATH`")


def open_store(path: str | Path) -> StoreReader:
    """Open the store read-only."""
    return StoreReader(path)
