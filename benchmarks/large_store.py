"""The store benchmark: validating and building a store whose price table has a million rows.

``write_price_table`` fills a copy of ``data/prices.csv`` with valid synthetic rows;
``measure_store`` validates and builds that copy (the data tables, without the analyses' derived
tables) in a child process (``benchmarks/store_child.py``) that reports its own peak resident memory,
and profiles a run that misses its budget. The micro-benchmarks (``benchmarks/test_micro.py``)
time a smaller build with pytest-benchmark.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.data import store, validation
from benchmarks.outcome import Budget, Outcome, Row

STORE_SECONDS_BUDGET = 5.0
STORE_BYTES_BUDGET = 1_000_000_000
STORE_ROWS = 1_000_000
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


def _store_child(data_dir: Path, out: Path, *, profile: bool) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(STORE_CHILD), str(data_dir), str(out), "1" if profile else "0",
                           str(PROFILE_LINES)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("store benchmark child failed:\n" + done.stderr[-4000:])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure_store(rows: int = STORE_ROWS) -> Outcome:
    """Validate and build a store whose price table has ``rows`` rows, in a child process."""
    folder = Path(tempfile.mkdtemp(prefix="bench-prices-"))
    try:
        data_dir = folder / "data"
        shutil.copytree(validation.DEFAULT_DATA_DIR, data_dir, ignore=shutil.ignore_patterns(".*", "*.duckdb*"))
        written = write_price_table(data_dir, rows)
        csv_bytes = (data_dir / "prices.csv").stat().st_size
        result = _store_child(data_dir, folder / store.STORE_NAME, profile=False)
        seconds = result["validate_s"] + result["build_s"]
        peak = result["maxrss_kb"] * 1024
        time_ok = seconds <= STORE_SECONDS_BUDGET
        memory_ok = peak < STORE_BYTES_BUDGET
        profile: list[dict[str, Any]] = []
        profiled: dict[str, Any] = {}
        if not (time_ok and memory_ok):
            profiled = _store_child(data_dir, folder / "profiled.duckdb", profile=True)
            profile = profiled["profile"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    total_rows = sum(result["table_rows"].values())
    rows_out = [
        Row(f"Store from a {written:,}-row prices.csv ({csv_bytes / 1e6:.0f} MB)",
            f"validate {result['validate_s']:.2f} s + build {result['build_s']:.2f} s = {seconds:.2f} s; "
            f"{total_rows / seconds:,.0f} rows/s",
            Budget("million-row store: validate + build", f"{seconds:.2f} s", f"<= {STORE_SECONDS_BUDGET:g} s", time_ok)),
        Row(f"Store from a {written:,}-row prices.csv: peak memory",
            f"{peak / 1e6:,.0f} MB (after imports: {result['import_peak_kb'] * 1024 / 1e6:,.0f} MB)",
            Budget("million-row store: peak RSS", f"{peak / 1e6:,.0f} MB", f"< {STORE_BYTES_BUDGET / 1e9:g} GB",
                   memory_ok)),
    ]
    return Outcome("store", rows_out, {
        "prices_rows": written, "csv_bytes": csv_bytes, "rows_total": total_rows, **result,
        "seconds": seconds, "rows_per_s": total_rows / seconds, "peak_bytes": peak,
        "profile": profile, "profiled_run": {k: profiled[k] for k in ("validate_s", "build_s")} if profiled else {},
    })
