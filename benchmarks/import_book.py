"""The import benchmark: every public release the book is built from, imported into a rerun folder.

``measure_import`` reads the raw releases from ``BOOK_RAW_RELEASES`` (default ``../shared/raw``
beside the repository), as ``python -m analysis import book`` does; it is skipped when they are absent.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from analysis import importers, paths
from benchmarks.outcome import Budget, Outcome, Row, within

IMPORT_BUDGET_S = 30.0
IMPORT_REPEATS = 3


def measure_import(raw: Path | None = None) -> Outcome:
    """Import every public release the book is built from (three MLPerf rounds, both price histories,
    Epoch's hardware prices) into a rerun folder, as ``python -m analysis import book`` does; best of three."""
    raw = raw or Path(os.environ.get("BOOK_RAW_RELEASES") or paths.ROOT.parent / "shared" / "raw")
    if not raw.is_dir():
        return Outcome("import", [Row("import book (all public releases)", f"not run: no raw releases at {raw}")])
    data_dir = paths.ROOT / "data"
    per_release: dict[str, float] = {}
    totals: list[float] = []
    rows_made: dict[str, int] = {}
    for _ in range(IMPORT_REPEATS):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            results = []
            for item in importers.BOOK_RELEASES:
                mark = time.perf_counter()
                results.append(importers.import_file(raw / item.file, item.release, data_dir))
                took = time.perf_counter() - mark
                per_release[item.release.source_id] = min(took, per_release.get(item.release.source_id, took))
            rows_made = importers.write_folder(results, Path(tmp) / "out", data_dir)
            totals.append(time.perf_counter() - start)
    best = min(totals)
    rows = [Row("import book: 3 MLPerf rounds, 2 price histories, Epoch hardware prices, written as a rerun folder",
                f"{best:.2f} s (best of {IMPORT_REPEATS}); " + ", ".join(f"{t} {n:,}" for t, n in sorted(rows_made.items())),
                Budget("import of every public release", f"{best:.2f} s", f"<= {IMPORT_BUDGET_S:.0f} s",
                       within(best, IMPORT_BUDGET_S)))]
    rows += [Row(f"  {name}", f"{seconds:.2f} s") for name, seconds in per_release.items()]
    return Outcome("import", rows, {"seconds": best, "runs_s": totals, "per_release_s": per_release, "rows_made": rows_made})
