"""The store benchmark: validating and building a store whose price table has a million rows, against
the floor of DuckDB alone reading the same files as text and running the same checks.

``prepare_folder`` copies ``data/`` and fills its ``prices.csv`` with valid synthetic rows
(``write_price_table``), lifting the contract's ``max_rows`` for the copy. ``measure_store`` then
runs, in turn and ``REPEATS`` times each, two child processes that report their own peak resident
memory: ``benchmarks/store_child.py`` validates and builds the copy (the data tables and the
catalogue, without the analyses' derived tables and without the forecast-rule check, whose rules'
evidence outgrows its length over a million synthetic prices), and ``benchmarks.floor_child`` reads
every file of the copy with DuckDB alone, every column as text, and runs the same checks in plain SQL
(``benchmarks.floor``). The fastest run of each is kept. Budgets: validate + build at most
``FLOOR_FACTOR`` times the floor, and at most ``STORE_BYTES_BUDGET`` of peak memory; a run that
misses one is profiled. The micro-benchmarks (``benchmarks/test_micro.py``) time a smaller build
with pytest-benchmark.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import paths
from analysis.data import contracts, store, validation
from benchmarks.outcome import Budget, Outcome, Row

FLOOR_FACTOR = 2.0
STORE_BYTES_BUDGET = 600_000_000
STORE_ROWS = 1_000_000
REPEATS = 3
PROFILE_LINES = 15


def write_price_table(data_dir: Path, rows: int, seed: int = 0) -> int:
    """Replace ``data_dir/prices.csv`` with ``rows`` valid rows (the real ones plus synthetic ones)."""
    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(data_dir / name, dtype=str, keep_default_na=False, na_filter=False)

    real = read("prices.csv")
    models = read("models.csv")["slug"].to_numpy()
    sources = read("sources.csv")["source_id"].to_numpy()
    providers = np.array(sorted(set(real["provider"])))
    n = max(rows - len(real), 0)
    rng = np.random.default_rng(seed)
    provider = providers[rng.integers(0, len(providers), n)]
    model = models[rng.integers(0, len(models), n)]
    days = np.datetime64("2023-01-01") + rng.integers(0, 365 * 12, n).astype("timedelta64[D]")
    first = sources[rng.integers(0, len(sources), n)]
    second = sources[rng.integers(0, len(sources), n)]
    both = rng.random(n) < 0.2
    index = pd.Series(np.arange(n)).astype(str)
    synthetic = pd.DataFrame({
        "price_id": "synthetic-" + index,
        "provider": provider,
        "model_slug": model,
        "model_name_as_listed": pd.Series(provider) + "/" + pd.Series(model),
        "date_observed": np.datetime_as_string(days, unit="D"),
        "date_last_seen": "",
        "input_usd_per_mtok": np.round(rng.uniform(0.05, 15.0, n), 3).astype(str),
        "output_usd_per_mtok": np.round(rng.uniform(0.05, 60.0, n), 3).astype(str),
        "source_ids": np.where(both, pd.Series(first) + ";" + pd.Series(second), first),
        "note": np.where(rng.random(n) < 0.1, "Synthetic row, for the benchmark, with a comma", ""),
    })
    table = pd.concat([real, synthetic[real.columns]], ignore_index=True)
    table.to_csv(data_dir / "prices.csv", index=False)
    return len(table)


STORE_CHILD = Path(__file__).with_name("store_child.py")


def prepare_folder(folder: Path, rows: int) -> tuple[Path, int]:
    """A copy of ``data/`` in ``folder`` whose ``prices.csv`` has ``rows`` rows (its contract's
    ``max_rows`` lifted to the most any table may have); the folder and the rows written."""
    data_dir = folder / "data"
    shutil.copytree(validation.DEFAULT_DATA_DIR, data_dir, ignore=shutil.ignore_patterns(".*", "*.duckdb*"))
    written = write_price_table(data_dir, rows)
    sidecar = data_dir / "prices.meta.yml"
    text = re.sub(r"(?m)^max_rows: [0-9]+$", f"max_rows: {contracts.MAX_ROWS}", sidecar.read_text(encoding="utf-8"))
    sidecar.write_text(text, encoding="utf-8")
    return data_dir, written


def _child(command: list[str]) -> dict[str, Any]:
    done = subprocess.run(command, capture_output=True, text=True, cwd=paths.ROOT)
    if done.returncode != 0:
        raise RuntimeError("store benchmark child failed:\n" + done.stderr[-4000:])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _store_child(data_dir: Path, out: Path, *, profile: bool) -> dict[str, Any]:
    out.unlink(missing_ok=True)
    return _child([sys.executable, str(STORE_CHILD), str(data_dir), str(out), "1" if profile else "0",
                   str(PROFILE_LINES)])


def _floor_child(data_dir: Path) -> dict[str, Any]:
    result = _child([sys.executable, "-m", "benchmarks.floor_child", str(data_dir)])
    if any(result["refused"].values()):
        raise RuntimeError(f"the floor refused valid data: {result['refused']}")
    return result


def _runs(data_dir: Path, out: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``REPEATS`` runs of the floor and of the book's validate + build, taken in turn."""
    floors, stores = [], []
    for _ in range(REPEATS):
        floors.append(_floor_child(data_dir))
        stores.append(_store_child(data_dir, out, profile=False))
    return floors, stores


def measure_store(rows: int = STORE_ROWS) -> Outcome:
    """Validate and build a store whose price table has ``rows`` rows, and the floor, in child processes."""
    folder = Path(tempfile.mkdtemp(prefix="bench-prices-"))
    try:
        data_dir, written = prepare_folder(folder, rows)
        csv_bytes = (data_dir / "prices.csv").stat().st_size
        floors, stores = _runs(data_dir, folder / store.STORE_NAME)
        result = min(stores, key=lambda r: r["validate_s"] + r["build_s"])
        floor = min(floors, key=lambda r: r["floor_s"])
        seconds, floor_s = result["validate_s"] + result["build_s"], floor["floor_s"]
        peak, floor_peak = max(r["maxrss_kb"] for r in stores) * 1024, max(r["maxrss_kb"] for r in floors) * 1024
        time_ok, memory_ok = seconds <= FLOOR_FACTOR * floor_s, peak <= STORE_BYTES_BUDGET
        profiled = {} if time_ok and memory_ok else _store_child(data_dir, folder / "profiled.duckdb", profile=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    total_rows = sum(result["table_rows"].values())
    rows_out = [
        Row(f"Store from a {written:,}-row prices.csv ({csv_bytes / 1e6:.0f} MB), against DuckDB alone",
            f"validate {result['validate_s']:.2f} s + build {result['build_s']:.2f} s = {seconds:.2f} s; "
            f"floor (read as text + the same checks in SQL) {floor_s:.2f} s; {seconds / floor_s:.2f} x the floor",
            Budget("million-row store: validate + build against the floor", f"{seconds / floor_s:.2f} x",
                   f"<= {FLOOR_FACTOR:g} x floor", time_ok)),
        Row(f"Store from a {written:,}-row prices.csv: peak memory",
            f"{peak / 1e6:,.0f} MB (floor {floor_peak / 1e6:,.0f} MB; after imports: "
            f"{result['import_peak_kb'] * 1024 / 1e6:,.0f} MB)",
            Budget("million-row store: peak RSS", f"{peak / 1e6:,.0f} MB", f"<= {STORE_BYTES_BUDGET / 1e6:,.0f} MB",
                   memory_ok)),
    ]
    return Outcome("store", rows_out, {
        "prices_rows": written, "csv_bytes": csv_bytes, "rows_total": total_rows, **result,
        "seconds": seconds, "rows_per_s": total_rows / seconds, "peak_bytes": peak,
        "floor_s": floor_s, "floor_peak_bytes": floor_peak, "repeats": REPEATS,
        "runs_s": [round(r["validate_s"] + r["build_s"], 3) for r in stores],
        "floor_runs_s": [round(r["floor_s"], 3) for r in floors],
        "profile": profiled.get("profile", []),
        "profiled_run": {k: profiled[k] for k in ("validate_s", "build_s")} if profiled else {},
    })
