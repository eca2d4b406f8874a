"""One CSV dialect: every data and example CSV is LF-only UTF-8, and both DuckDB's auto-detection and
Python's csv module read the columns its contract names."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from analysis.data.contracts import load_schema
from tests.conftest import ROOT

CSVS = sorted((ROOT / "data").glob("*.csv")) + sorted((ROOT / "examples").rglob("*.csv"))


def _contract_columns(path: Path) -> list[str]:
    table = path.stem
    sidecar = path.with_name(f"{table}.meta.yml")
    if not sidecar.exists():
        sidecar = ROOT / "data" / f"{table}.meta.yml"
    return [c.name for c in load_schema(sidecar).columns]


def test_every_csv_is_found() -> None:
    assert len(CSVS) >= 16


@pytest.mark.parametrize("path", CSVS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_csv_is_lf_only(path: Path) -> None:
    raw = path.read_bytes()
    assert b"\r" not in raw, f"{path.relative_to(ROOT)} has carriage returns"
    assert raw.endswith(b"\n")


@pytest.mark.parametrize("path", CSVS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_duckdb_and_python_read_the_contract_columns(path: Path) -> None:
    expected = _contract_columns(path)
    con = duckdb.connect()
    try:
        relation = con.read_csv(str(path))
        assert relation.columns == expected
        rows = relation.shape[0]
    finally:
        con.close()
    with path.open(encoding="utf-8", newline="") as fh:
        records = list(csv.reader(fh))
    assert records[0] == expected
    assert len(records) - 1 == rows
    assert all(len(r) == len(expected) for r in records[1:])


def test_gitattributes_pins_lf() -> None:
    text = (ROOT / ".gitattributes").read_text(encoding="utf-8")
    for folder in ("data", "examples", "chapters", "analyses"):
        assert f"{folder}/** text eol=lf" in text
