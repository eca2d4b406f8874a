"""The store holds exactly what the CSV files say, typed by their contracts: a reference reading of
``data/`` by Python's own csv module, compared table by table, row by row, with the store built from it.

The reference is independent of the validator and the store builder: it reads each file with ``csv``,
leaves a blank cell empty (NULL), and types every other cell as its contract says (``int``, ``float``,
``datetime.date``, ``true``/``false``, a list split on ``;``). Whatever reads and types the cells inside
the book, the chapters see the same tables: same columns, same SQL types, same values, same order.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import duckdb
import pytest

from analysis.data import store, validation
from analysis.data.contracts import LIST_SEPARATOR, Column, load_schema
from tests.conftest import ROOT

DATA = ROOT / "data"


def _typed(col: Column, text: str) -> Any:
    """One cell as the reference reads it."""
    value = text.strip()
    if value == "":
        return None
    if col.type == "integer":
        return int(value)
    if col.type == "number":
        return float(value)
    if col.type == "date":
        return dt.date.fromisoformat(value)
    if col.type == "boolean":
        return value.lower() == "true"
    if col.type == "list":
        return [item.strip() for item in value.split(LIST_SEPARATOR)]
    return value


def _reference(name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The columns (in contract order) and typed rows of ``data/<name>.csv``."""
    schema = load_schema(DATA / f"{name}.meta.yml")
    with (DATA / f"{name}.csv").open(encoding="utf-8-sig", newline="") as fh:
        records = list(csv.reader(fh))
    header = [h.strip() for h in records[0]]
    where = [header.index(c.name) for c in schema.columns]
    rows = [tuple(_typed(c, r[i]) for c, i in zip(schema.columns, where)) for r in records[1:]]
    return list(schema.column_names), rows


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data tables of ``data/`` in a store (no derived tables, no forecast-rule check)."""
    path = tmp_path_factory.mktemp("values") / "s.duckdb"
    store.build(validation.validate(DATA), path)
    return path


TABLES = sorted(p.name[: -len(".meta.yml")] for p in DATA.glob("*.meta.yml"))


@pytest.mark.parametrize("name", TABLES)
def test_each_table_holds_what_its_csv_says(built: Path, name: str) -> None:
    columns, expected = _reference(name)
    schema = load_schema(DATA / f"{name}.meta.yml")
    con = duckdb.connect(str(built), read_only=True)
    try:
        described = con.execute(f'DESCRIBE "{name}"').fetchall()
        rows = con.execute(f'SELECT * FROM "{name}"').fetchall()
    finally:
        con.close()
    assert [(d[0], d[1]) for d in described] == [(c.name, c.sql_type) for c in schema.columns]
    assert [d[0] for d in described] == columns
    assert len(rows) == len(expected)
    for line, (got, want) in enumerate(zip(rows, expected), start=2):
        assert got == want, f"{name}.csv, record starting near line {line}"


def test_the_catalogue_names_every_table_with_its_rows_and_digest(built: Path) -> None:
    con = duckdb.connect(str(built), read_only=True)
    try:
        catalogue = con.execute("SELECT table_name, row_count, sha256 FROM _tables ORDER BY table_name").fetchall()
    finally:
        con.close()
    expected = []
    for name in TABLES:
        digest = hashlib.sha256((DATA / f"{name}.csv").read_bytes() + (DATA / f"{name}.meta.yml").read_bytes())
        expected.append((name, len(_reference(name)[1]), digest.hexdigest()))
    assert catalogue == expected
