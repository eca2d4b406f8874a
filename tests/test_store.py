"""The store builder: every kind of bad data is rejected precisely and leaves the store untouched."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from analysis.build import bookstore
from analysis.data import reader, store, validation
from tests.conftest import ROOT, WIDGETS_CSV


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_valid_folder_builds_a_typed_store(data_dir: Path, tmp_path: Path) -> None:
    path = bookstore.build(data_dir, tmp_path / "s.duckdb")
    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute("SELECT slug, memory_gb, cores, launched, precisions, source_ids FROM widgets ORDER BY slug").fetchall()
    con.close()
    assert rows[0][0] == "alpha" and rows[0][1] == 80.0 and rows[0][2] == 132
    assert str(rows[0][3]) == "2022-03-22"
    assert rows[0][4] == ["fp16", "fp8"]
    assert rows[1][2] is None
    assert rows[1][5] == ["spec-a", "spec-b"]


def test_store_has_catalogue_tables(data_dir: Path, tmp_path: Path) -> None:
    path = bookstore.build(data_dir, tmp_path / "s.duckdb")
    with reader.open_store(path) as db:
        tables = db.sql("SELECT table_name, row_count, licence FROM _tables ORDER BY table_name")
        cols = db.sql("SELECT column_name, unit FROM _columns WHERE table_name = 'widgets' ORDER BY position")
    assert list(tables["table_name"]) == ["sources", "widgets"]
    assert list(tables["row_count"]) == [2, 2]
    assert cols.set_index("column_name").loc["memory_gb", "unit"] == "GB"


BAD_INPUTS = {
    "missing column": (
        lambda t: t.replace("slug,kind,", "slug,").replace("alpha,gpu,", "alpha,").replace("beta,asic,", "beta,"),
        "line 1, column 'kind': missing column",
    ),
    "unexpected column": (
        lambda t: t.replace(",note\n", ",note,extra\n", 1).replace("spec-a,\n", "spec-a,,x\n").replace(
            '"SRAM only, no DRAM"', '"SRAM only, no DRAM",y'),
        "line 1, column 'extra': unexpected column",
    ),
    "word where a number belongs": (
        lambda t: t.replace("alpha,gpu,80,", "alpha,gpu,lots,"),
        "line 2, column 'memory_gb': expected a number (plain decimal, no units or thousands separators), got 'lots'",
    ),
    "thousands separator": (
        lambda t: t.replace("alpha,gpu,80,", 'alpha,gpu,"1,000",'),
        "line 2, column 'memory_gb': expected a number",
    ),
    "fractional integer": (
        lambda t: t.replace(",132,", ",13.5,"),
        "line 2, column 'cores': expected a whole number written in digits (no decimal point, exponent or "
        "separator), got '13.5'",
    ),
    "negative value": (
        lambda t: t.replace("beta,asic,0.23,", "beta,asic,-0.23,"),
        "line 3, column 'memory_gb': value '-0.23' is out of range: expected at least 0.0",
    ),
    "impossible value": (
        lambda t: t.replace("alpha,gpu,80,", "alpha,gpu,80000,"),
        "line 2, column 'memory_gb': value '80000' is out of range: expected at most 1000.0",
    ),
    "value outside the allowed set": (
        lambda t: t.replace("beta,asic,", "beta,fpga,"),
        "line 3, column 'kind': value 'fpga' is not one of asic, gpu",
    ),
    "duplicate key": (
        lambda t: t.replace("beta,asic,", "alpha,asic,"),
        "line 3, column 'slug': duplicate key 'alpha'",
    ),
    "unknown source": (
        lambda t: t.replace("spec-a;spec-b", "spec-a;spec-z"),
        "line 3, column 'source_ids': 'spec-z' not found in sources.source_id",
    ),
    "row without a source": (
        lambda t: t.replace("2022-03-22,fp16;fp8,spec-a,", "2022-03-22,fp16;fp8,,"),
        "line 2, column 'source_ids': empty, but the column is required",
    ),
    "bad date": (
        lambda t: t.replace("2020-05-01", "2020-13-01"),
        "line 3, column 'launched': expected a date as YYYY-MM-DD, got '2020-13-01'",
    ),
    "date in another format": (
        lambda t: t.replace("2020-05-01", "05/01/2020"),
        "line 3, column 'launched': expected a date as YYYY-MM-DD, got '05/01/2020'",
    ),
    "ragged row": (
        lambda t: t.replace("alpha,gpu,80,132,", "alpha,gpu,80,"),
        "line 2: ragged row: 7 fields, the header has 8",
    ),
    "empty file": (lambda t: "", "widgets.csv: the file is empty"),
    "header only": (lambda t: t.splitlines()[0] + "\n", "the table has a header but no rows"),
    "bad list item": (
        lambda t: t.replace("fp16;fp8", "fp16;fp4"),
        "line 2, column 'precisions': value 'fp4' is not one of fp16, fp8, int8",
    ),
    "stray separator": (
        lambda t: t.replace("fp16;fp8", "fp16;;fp8"),
        "line 2, column 'precisions': an empty item in the list",
    ),
    "pattern": (
        lambda t: t.replace("beta,asic", "Beta Chip,asic"),
        "line 3, column 'slug': value 'Beta Chip' does not match the pattern",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_rejected_precisely(case: str, data_dir: Path, tmp_path: Path) -> None:
    good_store = bookstore.build(data_dir, tmp_path / "s.duckdb")
    before = _digest(good_store)
    mutate, expected = BAD_INPUTS[case]
    (data_dir / "widgets.csv").write_text(mutate(WIDGETS_CSV), encoding="utf-8")
    with pytest.raises(validation.ValidationError) as info:
        bookstore.build(data_dir, good_store)
    report = info.value.report()
    assert expected in report, report
    assert "widgets.csv" in report
    assert _digest(good_store) == before


def test_bytes_that_are_not_utf8(data_dir: Path, tmp_path: Path) -> None:
    good_store = bookstore.build(data_dir, tmp_path / "s.duckdb")
    before = _digest(good_store)
    raw = WIDGETS_CSV.replace("SRAM only", "SRAM \xb5only").encode("latin-1")
    (data_dir / "widgets.csv").write_bytes(raw)
    with pytest.raises(validation.ValidationError) as info:
        bookstore.build(data_dir, good_store)
    assert "widgets.csv, line 3: bytes b5 are not UTF-8" in info.value.report()
    assert _digest(good_store) == before


def test_every_problem_is_reported_at_once(data_dir: Path) -> None:
    text = WIDGETS_CSV.replace("alpha,gpu,80,", "alpha,gpu,lots,").replace("beta,asic,", "alpha,fpga,")
    (data_dir / "widgets.csv").write_text(text, encoding="utf-8")
    with pytest.raises(validation.ValidationError) as info:
        validation.validate(data_dir)
    messages = [str(p) for p in info.value.problems]
    assert any("'memory_gb'" in m for m in messages)
    assert any("'kind'" in m for m in messages)
    assert any("duplicate key" in m for m in messages)


def test_csv_without_sidecar_and_sidecar_without_field(data_dir: Path) -> None:
    (data_dir / "orphans.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    meta = (data_dir / "widgets.meta.yml").read_text().replace("  licence: CC0-1.0\n", "")
    (data_dir / "widgets.meta.yml").write_text(meta)
    with pytest.raises(validation.ValidationError) as info:
        validation.validate(data_dir)
    report = info.value.report()
    assert "orphans.csv: no sidecar orphans.meta.yml" in report
    assert "origin lacks licence" in report


def test_markup_in_text_is_stored_as_text(data_dir: Path, tmp_path: Path) -> None:
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    text = WIDGETS_CSV.replace('"SRAM only, no DRAM"', f'"{evil}"')
    (data_dir / "widgets.csv").write_text(text, encoding="utf-8")
    path = bookstore.build(data_dir, tmp_path / "s.duckdb")
    with reader.open_store(path) as db:
        assert db.scalar("SELECT note FROM widgets WHERE slug = 'beta'") == evil


def test_a_failed_build_leaves_no_temporary_file(data_dir: Path, tmp_path: Path) -> None:
    (data_dir / "widgets.csv").write_text(WIDGETS_CSV.replace(",80,", ",x,"), encoding="utf-8")
    with pytest.raises(validation.ValidationError):
        bookstore.build(data_dir, tmp_path / "s.duckdb")
    assert list(tmp_path.glob("*.duckdb*")) == []


def test_reader_is_read_only_and_records_tables(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = bookstore.build(data_dir, tmp_path / "s.duckdb")
    log = tmp_path / "reads.log"
    monkeypatch.setenv(reader.READS_LOG_ENV, str(log))
    with reader.open_store(path) as db:
        db.sql("SELECT w.slug FROM widgets w JOIN sources s ON list_contains(w.source_ids, s.source_id)")
        with pytest.raises(duckdb.Error):
            db.sql("CREATE TABLE x (a INT)")
    assert sorted(log.read_text().split()) == ["sources", "widgets"]


def test_cli_reports_bad_data_without_traceback(data_dir: Path) -> None:
    (data_dir / "widgets.csv").write_text(WIDGETS_CSV.replace(",80,", ",eighty,"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "analysis", "store", "--data", str(data_dir)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "column 'memory_gb': expected a number" in done.stderr
    assert not (data_dir / store.STORE_NAME).exists()


def test_the_real_data_validates() -> None:
    tables = validation.validate(ROOT / "data")
    assert {"sources", "chips", "claims"} <= set(tables)
    for name, table in tables.items():
        if name != "sources":
            assert (table.frame["source_ids"] != "").all(), name
