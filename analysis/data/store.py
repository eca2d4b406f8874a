"""Build the DuckDB store from validated tables, into a temporary file renamed into place when complete.

``build`` writes each table of ``validation.validate`` with the SQL types of its contract, straight
from the text DuckDB read it as during validation (the tables' workspace, with the new file
attached there: no copy of the cells passes through Python), runs the
checks it is given on the closed, complete file (the book passes its forecast-rule checks), adds the
catalogue tables ``_tables`` and ``_columns`` and the inputs digest, lets ``extend`` add derived
tables, and only then renames the file over the store: a failure at any point leaves the previous
store untouched. This module knows nothing of the layers above it; ``analysis.build.bookstore`` is
the book's one way of building a store.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pandas as pd

from analysis import paths
from analysis.data.checks import stored
from analysis.data.contracts import MAX_FIELD_CHARS, TableSchema
from analysis.data.problems import Problem, ValidationError
from analysis.data.safety import quote_ident
from analysis.data.tables import LoadedTable

STORE_NAME = paths.STORE_NAME
META_TABLES = ("_tables", "_columns")
INPUTS_TABLE = "_inputs"

Check = Callable[[Path, dict[str, LoadedTable]], list[Problem]]


OUT = "store_out"


def _select_sql(schema: TableSchema) -> str:
    """The typed columns of a validated table, from its text and the values its checks parsed
    (``checks.stored``: blank cells NULL)."""
    return ", ".join(f"{stored(col, position)} AS {quote_ident(col.name)}"
                     for position, col in enumerate(schema.columns))


def _write_tables(tables: dict[str, LoadedTable], path: Path) -> None:
    """Create every table in the store file ``path`` from its validated text, in the workspace that
    read it (the file attached there), and checkpoint it."""
    workspaces = {id(t.workspace): t.workspace for t in tables.values()}
    if not workspaces:
        duckdb.connect(str(path)).close()
    for key, workspace in workspaces.items():
        con = workspace.con
        con.execute(f"ATTACH $path AS {OUT}", {"path": str(path)})
        try:
            for name, t in sorted(tables.items()):
                if id(t.workspace) == key:
                    con.execute(f"CREATE TABLE {OUT}.{quote_ident(name)} AS SELECT {_select_sql(t.schema)} "
                                f"FROM {t.relation}")
            con.execute(f"CHECKPOINT {OUT}")
        finally:
            con.execute(f"DETACH {OUT}")


def _meta_frames(tables: dict[str, LoadedTable]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows_t, rows_c = [], []
    for name, t in sorted(tables.items()):
        o = t.schema.origin
        rows_t.append({
            "table_name": name, "title": t.schema.title, "description": t.schema.description,
            "origin_title": o.title, "producer": o.producer, "url": o.url,
            "date_accessed": o.date_accessed, "licence": o.licence, "citation": o.citation,
            "primary_key": ",".join(t.schema.primary_key), "row_count": t.rows,
            "sha256": t.sha256, "file": f"data/{name}.csv",
        })
        for pos, c in enumerate(t.schema.columns):
            checks = []
            if c.min is not None:
                checks.append(f">= {c.min}")
            if c.max is not None:
                checks.append(f"<= {c.max}")
            if c.exclusive_minimum is not None:
                checks.append(f"> {c.exclusive_minimum}")
            if c.exclusive_maximum is not None:
                checks.append(f"< {c.exclusive_maximum}")
            if c.max_length != MAX_FIELD_CHARS:
                checks.append(f"at most {c.max_length} characters")
            if c.allowed is not None:
                checks.append("one of " + ", ".join(map(str, c.allowed)))
            if c.pattern is not None:
                checks.append(f"matches {c.pattern}")
            if c.references is not None:
                checks.append("refers to " + ".".join(c.references))
            rows_c.append({
                "table_name": name, "position": pos, "column_name": c.name, "type": c.type,
                "unit": c.unit, "description": c.description, "required": c.required,
                "checks": "; ".join(checks), "is_key": c.name in t.schema.primary_key,
            })
    return pd.DataFrame(rows_t), pd.DataFrame(rows_c)


def inputs_digest(tables: dict[str, LoadedTable], extra: bytes = b"") -> str:
    """Hash of everything a store is built from: each table's files, plus ``extra`` (the analyses)."""
    h = hashlib.sha256(extra)
    for name, t in sorted(tables.items()):
        h.update(f"{name}={t.sha256};".encode())
    return h.hexdigest()


def built_from(store_path: Path) -> str | None:
    """The inputs digest recorded in an existing store, if any."""
    if not store_path.exists():
        return None
    try:
        con = duckdb.connect(str(store_path), read_only=True)
        try:
            return str(con.execute(f"SELECT digest FROM {quote_ident(INPUTS_TABLE)}").fetchone()[0])
        finally:
            con.close()
    except duckdb.Error:
        return None


def build(tables: dict[str, LoadedTable], store_path: Path, *, checks: Iterable[Check] = (),
          extend: Callable[[Path], None] | None = None, digest: str | None = None) -> Path:
    """Write the validated tables into a new store and rename it over ``store_path``.

    Each of ``checks`` is called with the path of the closed store holding the tables and with the
    tables; any problem it returns is raised as ``ValidationError`` and nothing is renamed.
    ``extend``, when given, is called with the path of the complete new store (closed) before it is
    renamed into place; the book uses it to run its parametrized analyses and add their tables, so
    a failure there also leaves the previous store untouched. ``digest`` (``inputs_digest``) is
    recorded in the store so that a later build from the same inputs can be skipped.
    """
    store_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = store_path.with_name(f".{store_path.name}.{os.getpid()}.tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        _write_tables(tables, tmp)
        problems = [p for check in checks for p in check(tmp, tables)]
        if problems:
            raise ValidationError(problems)
        con = duckdb.connect(str(tmp))
        try:
            if digest is not None:
                con.execute(f"CREATE TABLE {quote_ident(INPUTS_TABLE)} AS SELECT ? AS digest", [digest])
            meta_t, meta_c = _meta_frames(tables)
            for name, frame in zip(META_TABLES, (meta_t, meta_c)):
                con.register("incoming", frame)
                con.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT * FROM incoming")
                con.unregister("incoming")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        if extend is not None:
            extend(tmp)
        os.replace(tmp, store_path)
    finally:
        tmp.unlink(missing_ok=True)
    return store_path
