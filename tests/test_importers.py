"""The importers: public releases to the book's tables.

Small fixtures written for these tests (``tests/fixtures/releases/``) cover each format's edge cases;
the re-import test reads the real public releases in ``../shared/raw`` (where a clone has them) and
checks that the committed tables are exactly what the importers make, plus the hand-compiled rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import importers
from analysis.importers import common
from analysis.data import validation

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
FIXTURES = ROOT / "tests" / "fixtures" / "releases"
RAW = Path(os.environ.get("BOOK_RAW_RELEASES") or ROOT.parent / "shared" / "raw")
COMMIT = "1" * 40


def _release(fmt: str, source_id: str = "example-release") -> importers.Release:
    return importers.release_for(fmt, source_id=source_id, repository="example/releases", commit=COMMIT,
                                 path="file", published=dt.date(2026, 9, 1), accessed=dt.date(2026, 12, 3))


def _rows(result: importers.ImportResult, table: str) -> dict[str, dict[str, object]]:
    key = {"benchmarks": "benchmark_id", "prices": "price_id", "hardware_costs": "cost_id", "chips": "slug"}[table]
    return {str(r[key]): r for r in result.tables.get(table, [])}


# -- MLPerf --------------------------------------------------------------------------------------------

def test_mlperf_rows_carry_the_system_and_divide_by_every_accelerator() -> None:
    result = importers.import_file(FIXTURES / "mlperf-small.json", _release("mlperf"), DATA)
    rows = _rows(result, "benchmarks")
    server = rows["mlperf-v9.9-0001-llama2-70b-99-server"]
    assert server["accelerators"] == 16 and server["nodes"] == 2 and server["accelerators_per_node"] == 8
    assert server["per_accelerator_tokens_per_s"] == 2500 and server["system_tokens_per_s"] == 40000
    assert server["chip_slug"] == "h100-sxm" and server["model_slug"] == "llama-2-70b"
    assert server["precision_bits"] == 8 and server["kind"] == "mlperf-server"
    assert server["round"] == "v9.9" and server["division"] == "closed" and server["date"] == dt.date(2026, 9, 1)
    assert server["source_ids"] == ["example-release"]


def test_mlperf_keeps_unmatched_names_and_reports_them_with_counts() -> None:
    result = importers.import_file(FIXTURES / "mlperf-small.json", _release("mlperf"), DATA)
    rows = _rows(result, "benchmarks")
    future = rows["mlperf-v9.9-0002-llama2-70b-99.9-interactive"]
    assert future["chip_slug"] is None and future["accelerator"] == "Example Future Accelerator 1TB"
    assert future["model_slug"] == "llama-3.1-70b", "the open-division entry served Llama 3.1 70B"
    assert future["precision_bits"] is None and future["availability"] == "preview"
    assert result.unmatched["accelerator"] == {"Example Future Accelerator 1TB": 1}
    assert result.unmatched["benchmark"] == {"brand-new-llm-1t": 1}
    cpu = rows["mlperf-v9.9-0003-llama3.1-8b-offline"]
    assert cpu["chip_slug"] is None and cpu["accelerators"] is None and cpu["per_accelerator_tokens_per_s"] is None
    assert result.skipped == {"not a language-model benchmark": 1, "language-model result in Queries/s, not tokens/s": 1}
    report = result.report()
    assert "'Example Future Accelerator 1TB'" in report and "'brand-new-llm-1t'" in report
    assert len(rows) == 4


def test_mlperf_reads_v41_nvidia_fp16_as_the_fp8_the_notes_give() -> None:
    record = json.loads((FIXTURES / "mlperf-small.json").read_text())[0]
    record.update({"version": "v4.1", "weight_data_types": "fp16"})
    other = dict(record, ID="v4.1-0002", Accelerator="NVIDIA B200-SXM-180GB")
    text = json.dumps([record, other])
    result = _import_text("mlperf", text)
    bits = {r["chip_slug"]: r["precision_bits"] for r in result.tables["benchmarks"]}
    assert bits == {"h100-sxm": 8, "b200": 4}
    assert all("mlperf-inference-v4.1-nvidia-calibration" in r["source_ids"] for r in result.tables["benchmarks"])


def _import_text(fmt: str, text: str, tmp: Path | None = None, **kw: object) -> importers.ImportResult:
    import tempfile

    folder = Path(tempfile.mkdtemp()) if tmp is None else tmp
    path = folder / "release"
    path.write_text(text, encoding="utf-8")
    return importers.import_file(path, _release(fmt), DATA, **kw)  # type: ignore[arg-type]


MLPERF_RECORD = json.loads((FIXTURES / "mlperf-small.json").read_text())[0]


@pytest.mark.parametrize("text, message", [
    ((FIXTURES / "mlperf-small.json").read_text()[:700], "is not valid JSON"),
    (json.dumps({"not": "a list"}), "is not a JSON list"),
    (json.dumps([{k: v for k, v in MLPERF_RECORD.items() if k != "Scenario"}]), "record 1 (ID 'v9.9-0001'): field 'Scenario' is missing"),
    (json.dumps([dict(MLPERF_RECORD, Performance_Units="Tokens/hour")]), "unit 'Tokens/hour' is not one of"),
    (json.dumps([dict(MLPERF_RECORD, Performance_Result="fast")]), "field 'Performance_Result' is 'fast', not a number"),
    (json.dumps([dict(MLPERF_RECORD, Performance_Result=-5)]), "not a positive throughput"),
    (json.dumps([MLPERF_RECORD, MLPERF_RECORD]), "record 2 (ID 'v9.9-0001'): duplicates record 1"),
    (json.dumps([dict(MLPERF_RECORD, Scenario="Batch")]), "scenario 'Batch' is not one of"),
    (json.dumps([dict(MLPERF_RECORD, **{"a#": 2.5})]), "field 'a#' is 2.5, not a whole number"),
])
def test_a_malformed_mlperf_summary_fails_naming_the_file_and_record(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(importers.ReleaseError) as caught:
        _import_text("mlperf", text, tmp_path)
    assert message in str(caught.value) and "release" in str(caught.value)
    assert str(caught.value).endswith("nothing was written")


# -- LiteLLM -------------------------------------------------------------------------------------------

def test_a_price_history_gives_one_row_per_price_spell() -> None:
    result = importers.import_file(FIXTURES / "litellm-history-small.jsonl", _release("litellm-history"), DATA)
    spells = sorted((r["model_name_as_listed"], r["provider"], str(r["date_observed"]), str(r["date_last_seen"]),
                     r["input_usd_per_mtok"], r["output_usd_per_mtok"]) for r in result.tables["prices"])
    assert spells == [
        ("groq/llama3-70b-8192", "groq", "2024-02-01", "2024-06-01", 0.59, 0.79),
        ("together_ai/meta-llama/Llama-3-70b-chat-hf", "together", "2024-02-01", "2024-04-01", 0.9, 0.9),
        ("together_ai/meta-llama/Llama-3-70b-chat-hf", "together", "2024-05-01", "2024-08-01", 0.88, 0.88),
    ]
    assert {r["model_slug"] for r in result.tables["prices"]} == {"llama-3-70b"}
    assert result.skipped["keys matched as not the tracked model (fine-tunes, aliases)"] == 1
    assert result.unmatched["price-map key of a text model the book does not track"] == {"brandnew/some-model": 1}


def test_a_snapshot_gives_rows_dated_by_the_date_given() -> None:
    result = importers.import_file(FIXTURES / "litellm-snapshot-small.json", _release("litellm"), DATA,
                                   snapshot_date=dt.date(2026, 12, 3))
    got = {r["model_slug"]: (r["provider"], r["date_observed"], r["input_usd_per_mtok"]) for r in result.tables["prices"]}
    assert got == {"llama-3.3-70b": ("groq", dt.date(2026, 12, 3), 0.59), "llama-3.1-8b": ("groq", dt.date(2026, 12, 3), 0.05)}


def test_a_snapshot_needs_its_date() -> None:
    with pytest.raises(ValueError, match="needs the date"):
        importers.import_file(FIXTURES / "litellm-snapshot-small.json", _release("litellm"), DATA)


@pytest.mark.parametrize("lines, message", [
    (['{"date": "2024-02-01", "source": "s", "key": "k", "entry": {}', ], "line 1: is not valid JSON"),
    (['{"date": "2024-02-01", "key": "k", "entry": {}}'], "line 1: field 'source' is missing"),
    (['{"date": "01/02/2024", "source": "s", "key": "k", "entry": {}}'], "date '01/02/2024' is not an ISO date"),
    (['{"date": "2024-03-01", "source": "s", "key": "k", "entry": {}}',
      '{"date": "2024-02-01", "source": "s", "key": "k", "entry": {}}'], "line 2: date 2024-02-01 is earlier"),
    (['{"date": "2024-02-01", "source": "s", "key": "groq/llama3-70b-8192", "entry": {"input_cost_per_token": "cheap", '
      '"output_cost_per_token": 1e-6, "litellm_provider": "groq"}}'], "field 'input_cost_per_token' is 'cheap'"),
    (['{"date": "2024-02-01", "source": "s", "key": "k"}'], "has neither an 'entry' object nor 'removed'"),
])
def test_a_malformed_price_history_fails_naming_the_line(lines: list[str], message: str, tmp_path: Path) -> None:
    with pytest.raises(importers.ReleaseError, match="nothing was written") as caught:
        _import_text("litellm-history", "\n".join(lines) + "\n", tmp_path)
    assert message in str(caught.value)


# -- Epoch ---------------------------------------------------------------------------------------------

def test_epoch_prices_become_one_row_per_price_column() -> None:
    result = importers.import_file(FIXTURES / "hardware-prices-small.csv", _release("epoch-hardware-prices"), DATA)
    rows = result.tables["hardware_costs"]
    kinds = sorted((r["kind"], r["usd"], r["unit"]) for r in rows)
    assert kinds == [("purchase", 31000, "usd-per-chip"), ("rental-on-demand", 2.5, "usd-per-chip-hour"),
                     ("rental-reserved", 1.4, "usd-per-chip-hour"), ("rental-reserved", 1.9, "usd-per-chip-hour")]
    assert {r["chip_slug"] for r in rows} == {"h100-sxm"}
    assert result.skipped == {"rows repeating an earlier row": 1, "prices without a date": 1,
                              "hardware the mapping sets aside (NVIDIA A100)": 1}
    assert result.unmatched["hardware model"] == {"NVIDIA Tesla V100 SXM2": 1}
    on_demand = next(r for r in rows if r["kind"] == "rental-on-demand")
    assert "https://example.org/h100-cloud" in str(on_demand["note"]) and "8 chips" in str(on_demand["note"])


def test_an_epoch_table_without_its_columns_fails(tmp_path: Path) -> None:
    with pytest.raises(importers.ReleaseError, match=r"header: columns \['Price date'"):
        _import_text("epoch-hardware-prices", "Price source,Hardware model\nx,y\n", tmp_path)


# -- the rerun folder ----------------------------------------------------------------------------------

def test_the_folder_is_written_whole_and_validates_with_the_book(tmp_path: Path) -> None:
    result = importers.import_file(FIXTURES / "mlperf-small.json", _release("mlperf"), DATA)
    out = tmp_path / "incoming"
    counts = importers.write_folder([result], out, DATA)
    assert counts == {"benchmarks": 4, "releases": 1, "sources": 1}
    assert sorted(p.name for p in out.iterdir()) == ["benchmarks.csv", "releases.csv", "sources.csv"]
    source = next(csv.DictReader(io.StringIO((out / "sources.csv").read_text())))
    assert source["url"] == f"https://github.com/example/releases/blob/{COMMIT}/file"
    assert validation.check_files(out, incoming=True) == []


def test_a_failed_import_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    out = tmp_path / "incoming"
    done = subprocess.run([sys.executable, "-m", "analysis", "import", "mlperf", str(bad), "--out", str(out),
                           "--source-id", "mlperf-inference-v9.9", "--repository", "example/releases",
                           "--commit", COMMIT, "--path", "summary_results.json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode != 0 and "bad.json" in done.stderr and "is not valid JSON" in done.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_the_import_command_refuses_a_release_without_its_provenance(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "analysis", "import", "mlperf", str(FIXTURES / "mlperf-small.json"),
                           "--out", str(tmp_path / "x")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode != 0 and "--source-id, --repository, --commit, --path" in done.stderr
    assert not (tmp_path / "x").exists()


def test_a_non_empty_out_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = importers.import_file(FIXTURES / "mlperf-small.json", _release("mlperf"), DATA)
    with pytest.raises(FileExistsError):
        importers.write_folder([result], tmp_path, DATA)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_release_with_an_unsafe_name_is_refused() -> None:
    for bad in ({"repository": "../etc"}, {"commit": "main"}, {"path": "../../secret"}, {"source_id": "Bad Id"}):
        kw = {"source_id": "ok", "repository": "a/b", "commit": COMMIT, "path": "f.json", **bad}
        with pytest.raises(ValueError):
            importers.release_for("mlperf", **kw)


# -- the committed tables are what the importers make ---------------------------------------------------

def _committed(table: str) -> tuple[list[str], dict[tuple[str, ...], dict[str, str]]]:
    from analysis.data.contracts import load_schema

    key = list(load_schema(DATA / f"{table}.meta.yml").primary_key)
    with open(DATA / f"{table}.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return key, {tuple(r[c] for c in key): r for r in rows}


@pytest.mark.data
def test_the_committed_tables_are_exactly_what_the_importers_make_from_the_releases() -> None:
    if not RAW.is_dir():
        pytest.skip(f"the raw public releases are not beside this clone ({RAW}; set BOOK_RAW_RELEASES to their "
                    "folder): the re-import check did not run")
    results = importers.import_book(RAW, DATA)
    texts = common.ordered_tables(common.merge_results(results), DATA)
    release_ids = {item.release.source_id for item in importers.BOOK_RELEASES}
    for table, text in texts.items():
        key, committed = _committed(table)
        imported = {tuple(r[c] for c in key): r for r in csv.DictReader(io.StringIO(text))}
        missing = [k for k in imported if k not in committed]
        assert not missing, f"{table}: {len(missing)} imported rows are not committed, e.g. {missing[:3]}"
        differ = [k for k, row in imported.items() if committed[k] != row]
        assert not differ, f"{table}: {len(differ)} committed rows differ from the import, e.g. {differ[0]}: " \
                           f"{committed[differ[0]]} != {imported[differ[0]]}"
        if table in ("sources", "releases"):
            continue
        stale = [k for k, row in committed.items() if k not in imported
                 and release_ids & set(row["source_ids"].split(";"))]
        assert not stale, f"{table}: rows cite a release but the import does not make them: {stale[:3]}"


@pytest.mark.data
def test_the_evidence_reaches_the_counts_the_book_promises() -> None:
    import duckdb

    con = duckdb.connect(str(DATA / "inference.duckdb"), read_only=True)
    try:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        assert one("SELECT count(*) FROM benchmarks WHERE round IS NOT NULL") >= 1000
        assert one("SELECT count(DISTINCT round) FROM benchmarks") == 3
        assert one("SELECT count(*) FROM prices") >= 1000
        assert one("""SELECT count(*) FROM prices p JOIN models m ON m.slug = p.model_slug
                      WHERE m.capability_class = '70b-class' AND p.date_observed < DATE '2025-01-01'""") >= 40
        assert one("SELECT count(DISTINCT m.capability_class) FROM prices p JOIN models m ON m.slug = p.model_slug") >= 3
        assert one("SELECT count(*) FROM chips") >= 30
        for chip in ("gb200", "gb300", "b300", "mi355x"):
            assert one(f"SELECT count(*) FROM benchmarks WHERE chip_slug = '{chip}'") > 0, chip
    finally:
        con.close()


def test_epoch_chips_become_rows_of_chips_for_the_listed_hardware_only() -> None:
    result = importers.import_file(FIXTURES / "chip-dataset-small.csv", _release("epoch-chip-dataset"), DATA)
    (l4,) = result.tables["chips"]
    assert (l4["slug"], l4["kind"], l4["memory_kind"], l4["year"]) == ("l4", "gpu", "gddr", 2023)
    assert (l4["memory_gb"], l4["memory_bw_tbps"], l4["peak_bf16_tflops"], l4["peak_int8_tops"]) == (24, 0.3001, 121, 242)
    assert l4["peak_fp8_tflops"] is None and l4["precisions"] == ["fp32", "bf16", "fp16", "int8"]
    assert "https://example.org/l4.pdf" in str(l4["note"]) and "second link" not in str(l4["note"])
    assert result.skipped == {"listed chips without a memory size or bandwidth (NVIDIA HGX H20)": 1}
    assert set(result.unmatched["hardware the mapping lists but the dataset does not hold"]) == {
        "AMD Instinct MI300A", "NVIDIA B100"}
