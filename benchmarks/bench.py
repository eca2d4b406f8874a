"""Benchmarks: what building, rebuilding and rerunning the book cost, measured against the floor.

``python -m benchmarks`` (``make bench``) works on a copy of the book in a temporary folder,
never on the repository itself, and reports each measurement with its budget:

``clean``
    A clean build after install: a fresh copy with no ``_build``, no store and no recorded chapter
    state, built by the one build sequence (``analysis.build.workflow``, forced) that ``build`` runs:
    seconds of its validate, store (with the analyses' derived tables), execute, html and commit
    steps, and in total.
``floor``
    The same chapters executed bare by nbclient, one after another, with no papermill, no
    normalization and no state. Budget: the pipeline's execute stage takes at most 1.3 x the floor.
``rebuild``
    ``python -m analysis build`` again on the built copy, nothing changed. Budget: at most 5 % of the
    clean build.
``rerun``
    ``python -m analysis rerun --json`` merging the example new chip (``chips.csv`` with the
    ``sources.csv`` rows it cites). Budget: the chapters that ran are exactly those whose recorded
    reads include a changed table or a changed row (both lists are reported); its time is reported
    as a fraction of the clean build.
``sweep``
    A million scenarios: ``costs.cost_sweep`` (owned hardware, every input drawn) and
    ``roofline.roofline_grid`` over the store's chips and models with enough batches and contexts for
    about a million rows, against a plain-Python loop over a sample (Python floats for costs,
    ``roofline_point`` for rooflines) extrapolated per scenario. Budget: at least 1e6 scenarios/s each.
``store``
    ``validation.validate`` + ``store.build`` (the data tables, without the analyses' derived tables) of a copy of ``data/`` whose ``prices.csv`` has a million
    valid rows (the real rows plus synthetic ones), in a child process that reports its own peak
    resident memory. Budget: at most 5 s and under 1 GB. A miss is profiled with cProfile.
``pages``
    Bytes of each chapter page's own HTML and of the shared scripts, and the time headless Chromium
    (network cut to 127.0.0.1) takes to draw every chart of the heaviest page: every ``fig-*-chart``
    (and ``chart-*`` explorer) container holding its ``svg.marks``. Budget: each chapter page at most
    500 KB of its own bytes.

A full run writes ``benchmarks/RESULTS.md`` and ``benchmarks/results.json`` with the machine, the
versions and the date. ``--only NAME`` runs one measurement (and the clean build it needs) and writes
nothing unless ``--results`` is given.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.build import bookstore, offline, pipeline
from analysis.data import reader, store, validation

ROOT = pipeline.ROOT
RESULTS_DIR = ROOT / "benchmarks"
BOOK_FILES = ("_config.yml", "_toc.yml", "_static", "_ext", "chapters", "data", "analyses", "intro.md")
EXAMPLE = ROOT / "examples" / "new-chip"
EXAMPLE_TABLES = ("chips.csv", "sources.csv")
CHART_SELECTOR = "div[id^='fig-'][id$='-chart'], div[id^='chart-']"
CHART_TIMEOUT_MS = 60000
PAGE_LOADS = 3
NBCLIENT_TIMEOUT_S = 600

FLOOR_RATIO_BUDGET = 1.3
REBUILD_FRACTION_BUDGET = 0.05
SCENARIOS_PER_S_BUDGET = 1e6
STORE_SECONDS_BUDGET = 5.0
STORE_BYTES_BUDGET = 1_000_000_000
PAGE_BYTES_BUDGET = 500_000

SWEEP_SCENARIOS = 1_000_000
SWEEP_SAMPLE = 10_000
SWEEP_REPEATS = 3
ROOFLINE_BITS = (4, 8, 16)
STORE_ROWS = 1_000_000
PROFILE_LINES = 15

MEASUREMENTS = ("clean", "floor", "rebuild", "rerun", "sweep", "store", "pages", "import")
NEEDS_BUILD = frozenset({"floor", "rebuild", "rerun", "pages"})
RUN_ORDER = ("clean", "rebuild", "pages", "floor", "rerun", "sweep", "store", "import")

OWNED_RANGES: dict[str, tuple[float, float]] = {
    "capex_usd": (10_000.0, 400_000.0),
    "amortization_years": (2.0, 6.0),
    "power_w": (300.0, 12_000.0),
    "pue": (1.05, 1.6),
    "electricity_usd_per_kwh": (0.03, 0.25),
    "hosting_usd_per_hour": (0.0, 2.0),
    "tokens_per_s": (100.0, 50_000.0),
    "utilization": (0.1, 1.0),
}
OWNED_LOG = ("capex_usd", "tokens_per_s")


@dataclass
class Budget:
    """One budget line: what was measured, the limit, and whether it was met."""

    name: str
    value: str
    limit: str
    met: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "limit": self.limit, "met": self.met}


@dataclass
class Row:
    """One line of the results table."""

    measurement: str
    result: str
    budget: Budget | None = None


@dataclass
class Outcome:
    """What one measurement found: table rows, budgets and the numbers behind them."""

    name: str
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def budgets(self) -> list[Budget]:
        return [r.budget for r in self.rows if r.budget is not None]


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _quiet(message: str) -> None:
    pass


def copy_book(dest: Path | None = None) -> Path:
    """A copy of the book's sources (no ``_build``, no store) in a new temporary folder; files of
    ``BOOK_FILES`` the book no longer has are skipped."""
    root = dest or Path(tempfile.mkdtemp(prefix="bench-book-"))
    for name in BOOK_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns(".*", "__pycache__", "*.duckdb*"))
        elif src.is_file():
            shutil.copy(src, root / name)
    return root


def time_store_build(root: Path, echo: Callable[[str], None]) -> dict[str, float]:
    """Validate ``root/data`` and build its store as ``python -m analysis build`` does (with the
    analyses' derived tables when the book has them); seconds of each step."""
    data_dir = root / "data"
    start = time.perf_counter()
    tables = validation.validate(data_dir)
    validated = time.perf_counter() - start
    mark = time.perf_counter()
    bookstore.build_tables(tables, data_dir / store.STORE_NAME, root=root, echo=echo)
    return {"validate": validated, "store": time.perf_counter() - mark}


def _tree_bytes(folder: Path, pattern: str) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(folder.glob(pattern)) if p.is_file()}


def _cli(args: Sequence[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "analysis", *args], cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"python -m analysis {' '.join(args)} failed ({done.returncode}):\n"
                           + (done.stdout + done.stderr)[-4000:])
    return done, seconds


def _ratio(value: float, limit: float, *, at_most: bool = True) -> bool:
    return value <= limit if at_most else value >= limit


def measure_clean_build(root: Path) -> Outcome:
    """Build ``root`` from nothing with ``workflow.run`` (forced), timing each of its steps."""
    from analysis.build import workflow

    (root / "chapters" / pipeline.STATE_FILE.name).unlink(missing_ok=True)
    shutil.rmtree(root / "_build", ignore_errors=True)
    data_dir = root / "data"
    store_path = data_dir / store.STORE_NAME
    store_path.unlink(missing_ok=True)
    stamps: list[tuple[float, str]] = []

    def echo(line: str) -> None:
        stamps.append((time.perf_counter(), line))

    start = time.perf_counter()
    outcome = workflow.run(root, "build", force=True, echo=echo)
    total = time.perf_counter() - start
    steps = outcome.seconds
    stages: dict[str, float] = {"validate": steps.get("check", 0.0) + steps.get("validate", 0.0),
                                "store": steps.get("store", 0.0), "execute": steps.get("chapters", 0.0),
                                "html": steps.get("html", 0.0), "commit": steps.get("commit", 0.0)}
    ran = [root / "chapters" / f"{name}.ipynb" for name in outcome.chapters]
    state = pipeline.load_state(root / "chapters" / pipeline.STATE_FILE.name)
    walls = _chapter_walls(stamps)
    chapters = {p.stem: {"papermill_s": state[p.relative_to(root).as_posix()]["seconds"],
                         "wall_s": round(walls.get(p.relative_to(root).as_posix(), float("nan")), 2)}
                for p in ran}
    rows = [Row("Clean build, total", f"{total:.1f} s")]
    rows += [Row(f"Clean build, {name}", f"{seconds:.2f} s ({seconds / total:.0%})") for name, seconds in stages.items()]
    return Outcome("clean", rows, {"total_s": total, "stages_s": stages, "chapters": chapters,
                                   "chapters_executed": len(ran)})


def _chapter_walls(stamps: Sequence[tuple[float, str]]) -> dict[str, float]:
    started: dict[str, float] = {}
    walls: dict[str, float] = {}
    for when, line in stamps:
        found = re.match(r"\[\d+/\d+\] (?:executing )?(\S+\.ipynb)", line)
        if not found:
            continue
        if " executing " in line:
            started[found.group(1)] = when
        elif found.group(1) in started:
            walls[found.group(1)] = when - started[found.group(1)]
    return walls


def measure_floor(clean: Outcome) -> Outcome:
    """Execute the chapters bare with nbclient in a fresh copy; compare with the execute stage."""
    import nbformat
    from nbclient import NotebookClient

    root = copy_book()
    try:
        time_store_build(root, _quiet)
        chapters_dir = root / "chapters"
        per_chapter: dict[str, float] = {}
        start = time.perf_counter()
        for nb_path in pipeline.chapter_notebooks(root):
            mark = time.perf_counter()
            nb = nbformat.read(nb_path, as_version=4)
            NotebookClient(nb, timeout=NBCLIENT_TIMEOUT_S, kernel_name=pipeline.KERNEL_NAME,
                           resources={"metadata": {"path": str(chapters_dir)}}).execute()
            per_chapter[nb_path.stem] = time.perf_counter() - mark
        floor = time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)
    execute = float(clean.data["stages_s"]["execute"])
    ratio = execute / floor
    budget = Budget("execute stage / nbclient floor", f"{ratio:.2f}x", f"<= {FLOOR_RATIO_BUDGET}x",
                    _ratio(ratio, FLOOR_RATIO_BUDGET))
    rows = [Row("Floor: chapters bare in nbclient", f"{floor:.1f} s ({len(per_chapter)} chapters)"),
            Row("Pipeline execute stage / floor", f"{ratio:.2f}x ({execute:.1f} s / {floor:.1f} s)", budget)]
    return Outcome("floor", rows, {"floor_s": floor, "execute_s": execute, "ratio": ratio,
                                   "chapters_s": {k: round(v, 2) for k, v in per_chapter.items()}})


def measure_rebuild(root: Path, clean: Outcome) -> Outcome:
    """``python -m analysis build`` on the built copy with nothing changed."""
    done, seconds = _cli(["build", "--root", str(root)], root)
    fraction = seconds / float(clean.data["total_s"])
    budget = Budget("no-change rebuild / clean build", f"{fraction:.1%}", f"<= {REBUILD_FRACTION_BUDGET:.0%}",
                    _ratio(fraction, REBUILD_FRACTION_BUDGET))
    rows = [Row("No-change rebuild (CLI, incl. interpreter start)",
                f"{seconds:.2f} s = {fraction:.1%} of clean build", budget)]
    return Outcome("rebuild", rows, {"seconds": seconds, "fraction": fraction,
                                     "output": done.stdout.strip().splitlines()})


def _expected_reruns(state: Mapping[str, Any], tables: Sequence[Mapping[str, Any]]) -> list[str]:
    """Chapters whose recorded reads include a changed table: read whole, through the catalogue
    (``_tables``/``_columns``, which change with any table), or row by row on a changed row."""
    changed = {t["table"] for t in tables if t["added"] or t["updated"] or t["removed"]}
    rows = {f"{t['table']}#{key}" for t in tables for key in [*t["updated"], *t["removed"]]}
    expected = []
    for key, record in state.items():
        reads = [r for r in record.get("tables", []) if not r.startswith("py:")]
        whole = {r for r in reads if "#" not in r}
        row_hit = any(f"{r.split('#', 1)[0]}#{r.split('=', 1)[-1]}" in rows for r in reads if "#" in r)
        if whole & changed or (changed and whole & set(store.META_TABLES)) or row_hit:
            expected.append(Path(key).stem)
    return sorted(expected)


def measure_rerun(root: Path, clean: Outcome) -> Outcome:
    """Merge the example new chip into the built copy with ``python -m analysis rerun --json``."""
    incoming = Path(tempfile.mkdtemp(prefix="bench-incoming-"))
    try:
        for name in EXAMPLE_TABLES:
            shutil.copy(EXAMPLE / name, incoming / name)
        state = pipeline.load_state(root / "chapters" / pipeline.STATE_FILE.name)
        done, seconds = _cli(["rerun", "--root", str(root), "--data", str(incoming), "--json"], root)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    lines = done.stdout.splitlines()
    report = json.loads("\n".join(lines[lines.index("{"):]))
    ran = sorted(report["chapters"])
    expected = _expected_reruns(state, report["tables"])
    fraction = seconds / float(clean.data["total_s"])
    changed = ", ".join(f"{t['table']} (+{len(t['added'])}/~{len(t['updated'])}/-{len(t['removed'])})"
                        for t in report["tables"])
    budget = Budget("rerun executes exactly the readers of the changed tables",
                    f"{len(ran)} ran, {len(expected)} expected", "ran == expected", ran == expected)
    rows = [Row("Rerun after a new chip (CLI)", f"{seconds:.1f} s = {fraction:.0%} of clean build; tables {changed}"),
            Row("Rerun: chapters re-run vs readers of changed tables",
                f"ran [{', '.join(ran)}]; expected [{', '.join(expected)}]", budget)]
    return Outcome("rerun", rows, {"seconds": seconds, "fraction": fraction, "ran": ran, "expected": expected,
                                   "tables": report["tables"], "moved": report["moved"]})


def _best(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _plain_owned_costs(n: int, seed: int) -> list[float]:
    import math
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(n):
        draw = {}
        for name, (low, high) in OWNED_RANGES.items():
            if name in OWNED_LOG:
                draw[name] = 10.0 ** rng.uniform(math.log10(low), math.log10(high))
            else:
                draw[name] = rng.uniform(low, high)
        hourly = (draw["capex_usd"] / (draw["amortization_years"] * 8760)
                  + draw["power_w"] / 1000 * draw["pue"] * draw["electricity_usd_per_kwh"]
                  + draw["hosting_usd_per_hour"])
        out.append(hourly / (draw["tokens_per_s"] * 3600 * draw["utilization"]) * 1e6)
    return out


def _grid_axes(n_pairs: int, target: int) -> tuple[list[int], list[int]]:
    """Batches and contexts whose cross product with ``n_pairs`` chip-model-bits combinations is at
    least ``target`` rows."""
    per_pair = -(-target // n_pairs)
    n_contexts = 32
    n_batches = -(-per_pair // n_contexts)
    batches = sorted({max(1, round(1.12 ** i)) for i in range(4 * n_batches)})[:n_batches]
    while len(batches) < n_batches:
        batches.append(batches[-1] + 1)
    contexts = [128 * (i + 1) for i in range(n_contexts)]
    return batches, contexts


def _load_chips_models() -> tuple[Any, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        path = bookstore.build(validation.DEFAULT_DATA_DIR, folder / store.STORE_NAME)
        with reader.open_store(path) as db:
            return db.table("chips"), db.table("models")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure_sweep(scenarios: int = SWEEP_SCENARIOS, sample: int = SWEEP_SAMPLE) -> Outcome:
    """Scenarios per second of the vectorized cost and roofline sweeps against plain Python."""
    import numpy as np

    from analysis.models import costs
    from analysis.models.cost_sensitivity import cost_sweep
    from analysis.models.roofline_grid import roofline_grid
    from analysis.models.roofline_point import roofline_point

    ranges = dict(OWNED_RANGES)
    cost_s = _best(lambda: cost_sweep(scenarios, rng=0, ranges=ranges, log_uniform=OWNED_LOG), SWEEP_REPEATS)
    rng = np.random.default_rng(1)
    hourly = rng.uniform(1.0, 10.0, scenarios)
    throughput = 10.0 ** rng.uniform(2.0, 4.7, scenarios)
    busy = rng.uniform(0.1, 1.0, scenarios)
    usd_s = _best(lambda: costs.usd_per_million_tokens(hourly, throughput, busy), SWEEP_REPEATS)
    plain_cost_s = _best(lambda: _plain_owned_costs(sample, 0), SWEEP_REPEATS) / sample
    triples = list(zip(hourly[:sample].tolist(), throughput[:sample].tolist(), busy[:sample].tolist()))
    plain_usd_s = _best(lambda: [h / (t * 3600 * u) * 1e6 for h, t, u in triples], SWEEP_REPEATS) / sample

    chips, models = _load_chips_models()
    batches, contexts = _grid_axes(len(chips) * len(models) * len(ROOFLINE_BITS), scenarios)
    grid_rows = len(chips) * len(models) * len(ROOFLINE_BITS) * len(batches) * len(contexts)
    grid_s = _best(lambda: roofline_grid(chips, models, bits=ROOFLINE_BITS, batches=batches,
                                         contexts=contexts), SWEEP_REPEATS)
    chip_rows = chips.to_dict("records")
    model_rows = models.to_dict("records")
    picks = rng.integers(0, [len(chip_rows), len(model_rows), len(ROOFLINE_BITS), len(batches), len(contexts)],
                         size=(sample, 5))
    cases = [(chip_rows[c], model_rows[m], ROOFLINE_BITS[p], batches[b], contexts[x]) for c, m, p, b, x in picks.tolist()]

    def points() -> int:
        failed = 0
        for chip, model, bits, batch, context in cases:
            try:
                roofline_point(chip, model, bits=bits, batch=batch, context=context)
            except ValueError:
                failed += 1
        return failed

    start = time.perf_counter()
    unfit = points()
    point_s = (time.perf_counter() - start) / sample

    rates = {
        "cost_sweep": scenarios / cost_s,
        "usd_per_million_tokens": scenarios / usd_s,
        "roofline_grid": grid_rows / grid_s,
    }
    plain = {"cost_sweep": 1 / plain_cost_s, "usd_per_million_tokens": 1 / plain_usd_s, "roofline_grid": 1 / point_s}
    rows = []
    labels = {
        "cost_sweep": (f"costs.cost_sweep, {scenarios:,} owned scenarios", "plain-Python floats"),
        "usd_per_million_tokens": (f"costs.usd_per_million_tokens on {scenarios:,}-element arrays",
                                   "plain-Python floats"),
        "roofline_grid": (f"roofline.roofline_grid, {grid_rows:,} rows", "roofline_point"),
    }
    for key, (label, baseline) in labels.items():
        budget = None
        if key != "usd_per_million_tokens":
            budget = Budget(f"{key} scenarios/s", f"{rates[key]:,.0f}/s", f">= {SCENARIOS_PER_S_BUDGET:,.0f}/s",
                            _ratio(rates[key], SCENARIOS_PER_S_BUDGET, at_most=False))
        rows.append(Row(label, f"{rates[key]:,.0f}/s; {rates[key] / plain[key]:,.0f}x {baseline} "
                               f"({plain[key]:,.0f}/s on {sample:,})", budget))
    return Outcome("sweep", rows, {
        "scenarios": scenarios, "sample": sample, "rates_per_s": rates, "plain_rates_per_s": plain,
        "speedup": {k: rates[k] / plain[k] for k in rates},
        "seconds": {"cost_sweep": cost_s, "usd_per_million_tokens": usd_s, "roofline_grid": grid_s},
        "roofline_grid": {"chips": len(chips), "models": len(models), "bits": list(ROOFLINE_BITS),
                          "batches": len(batches), "contexts": len(contexts), "rows": grid_rows,
                          "sample_points_that_raised": unfit},
    })


IMPORT_BUDGET_S = 30.0
IMPORT_REPEATS = 3


def measure_import(raw: Path | None = None) -> Outcome:
    """Import every public release the book is built from (three MLPerf rounds, both price histories,
    Epoch's hardware prices) into a rerun folder, as ``python -m analysis import book`` does; best of three."""
    import tempfile

    from analysis import importers

    raw = raw or Path(os.environ.get("BOOK_RAW_RELEASES") or ROOT.parent / "shared" / "raw")
    if not raw.is_dir():
        return Outcome("import", [Row("import book (all public releases)", f"not run: no raw releases at {raw}")])
    data_dir = ROOT / "data"
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
                       _ratio(best, IMPORT_BUDGET_S)))]
    rows += [Row(f"  {name}", f"{seconds:.2f} s") for name, seconds in per_release.items()]
    return Outcome("import", rows, {"seconds": best, "runs_s": totals, "per_release_s": per_release, "rows": rows_made})


def write_price_table(data_dir: Path, rows: int, seed: int = 0) -> int:
    """Replace ``data_dir/prices.csv`` with ``rows`` valid rows (the real ones plus synthetic ones)."""
    import numpy as np
    import pandas as pd

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


def _draw_ms(browser: Any, url: str) -> tuple[float, float, int, list[str]]:
    """Load ``url`` offline; return wall ms and in-page ms until every chart holds an SVG."""
    blocked: list[str] = []
    context = offline.offline_context(browser, blocked, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(
            f"""() => {{
                const charts = [...document.querySelectorAll("{CHART_SELECTOR}")];
                return document.readyState !== "loading" && charts.length > 0
                    && charts.every(d => d.querySelector("svg.marks, canvas.marks"));
            }}""",
            polling="raf", timeout=CHART_TIMEOUT_MS,
        )
        wall = (time.perf_counter() - start) * 1000
        in_page = float(page.evaluate("performance.now()"))
        charts = int(page.locator(CHART_SELECTOR).count())
    finally:
        context.close()
    return wall, in_page, charts, blocked


def measure_pages(root: Path) -> Outcome:
    """Bytes of each chapter page and of the shared scripts; time to draw the heaviest page's charts."""
    html = root / "_build" / "html"
    pages = _tree_bytes(html / "chapters", "*.html")
    scripts = _tree_bytes(html / "_static", "*.js")
    heaviest = max(pages, key=lambda name: pages[name])
    loads = []
    with offline.serve(html) as base, offline.browser() as browser:
        for _ in range(PAGE_LOADS):
            loads.append(_draw_ms(browser, f"{base}/chapters/{heaviest}"))
    walls = [w for w, _, _, _ in loads]
    in_page = [p for _, p, _, _ in loads]
    charts = loads[0][2]
    blocked = sorted({u for *_, b in loads for u in b})
    largest = pages[heaviest]
    budget = Budget("largest chapter page, own HTML", f"{largest / 1e3:,.0f} KB ({heaviest})",
                    f"<= {PAGE_BYTES_BUDGET / 1e3:,.0f} KB each", all(v <= PAGE_BYTES_BUDGET for v in pages.values()))
    rows = [
        Row("Chapter pages, own HTML", f"{len(pages)} pages, {min(pages.values()) / 1e3:,.0f}-{largest / 1e3:,.0f} KB, "
                                      f"{sum(pages.values()) / 1e3:,.0f} KB in all", budget),
        Row("Shared scripts (_static/*.js)", f"{len(scripts)} files, {sum(scripts.values()) / 1e3:,.0f} KB "
                                             f"(largest {max(scripts, key=lambda k: scripts[k])}, "
                                             f"{max(scripts.values()) / 1e3:,.0f} KB)"),
        Row(f"Chromium draws all {charts} charts of {heaviest}",
            f"{statistics.median(walls):,.0f} ms median of {len(walls)} (first {walls[0]:,.0f} ms)"),
    ]
    return Outcome("pages", rows, {
        "pages_bytes": pages, "scripts_bytes": scripts, "heaviest": heaviest, "charts": charts,
        "draw_wall_ms": walls, "draw_in_page_ms": in_page, "draw_median_ms": statistics.median(walls),
        "offsite_requests_blocked": blocked,
    })


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, operating system and load when the run started."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "memory_bytes": memory,
            "os": platform.platform(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def versions() -> dict[str, str]:
    """Python and the packages the measurements depend on, and Chromium."""
    out = {"python": platform.python_version()}
    for name in ("duckdb", "pandas", "numpy", "jupyter-book", "papermill", "nbclient", "sphinx", "playwright"):
        out[name] = _version(name)
    try:
        out["chromium"] = subprocess.run([offline.CHROMIUM, "--version"], capture_output=True, text=True,
                                         timeout=30).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        out["chromium"] = "unknown"
    return out


def _git() -> dict[str, Any]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": run("rev-parse", "HEAD"), "dirty": bool(run("status", "--porcelain", "--untracked-files=no"))}


def run(only: Sequence[str] = (), *, store_rows: int = STORE_ROWS, sweep_scenarios: int = SWEEP_SCENARIOS,
        keep: bool = False, echo: Callable[[str], None] = _say) -> dict[str, Any]:
    """Run the selected measurements (all by default) and return the results document."""
    unknown = [name for name in only if name not in MEASUREMENTS]
    if unknown:
        raise ValueError(f"unknown measurement {unknown[0]!r}; choose from {', '.join(MEASUREMENTS)}")
    selected = set(only or MEASUREMENTS)
    if selected & NEEDS_BUILD:
        selected.add("clean")
    started = dt.datetime.now(dt.timezone.utc)
    doc: dict[str, Any] = {"date": started.isoformat(timespec="seconds"), "machine": machine(),
                           "versions": versions(), "git": _git(), "complete": not only, "measurements": {}}
    outcomes: dict[str, Outcome] = {}
    root: Path | None = None
    try:
        for name in RUN_ORDER:
            if name not in selected:
                continue
            echo(f"{name} ...")
            mark = time.perf_counter()
            if name == "clean":
                root = copy_book()
                outcomes[name] = measure_clean_build(root)
            elif name == "floor":
                outcomes[name] = measure_floor(outcomes["clean"])
            elif name == "rebuild":
                assert root is not None
                outcomes[name] = measure_rebuild(root, outcomes["clean"])
            elif name == "rerun":
                assert root is not None
                outcomes[name] = measure_rerun(root, outcomes["clean"])
            elif name == "sweep":
                outcomes[name] = measure_sweep(sweep_scenarios)
            elif name == "store":
                outcomes[name] = measure_store(store_rows)
            elif name == "pages":
                assert root is not None
                outcomes[name] = measure_pages(root)
            elif name == "import":
                outcomes[name] = measure_import()
            echo(f"{name} done in {time.perf_counter() - mark:.1f} s")
    finally:
        if root is not None:
            if keep:
                echo(f"kept the copy of the book at {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)
    doc["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    doc["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    for name in MEASUREMENTS:
        if name in outcomes:
            o = outcomes[name]
            doc["measurements"][name] = {"rows": [{"measurement": r.measurement, "result": r.result,
                                                   "budget": r.budget.to_dict() if r.budget else None}
                                                  for r in o.rows], **o.data}
    doc["budgets"] = [b.to_dict() for name in MEASUREMENTS if name in outcomes for b in outcomes[name].budgets]
    return doc


def _status(budget: Mapping[str, Any] | None) -> str:
    if budget is None:
        return ""
    return "met" if budget["met"] else "**missed**"


def table_rows(doc: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measurement, result, budget, met/missed) for every row of every measurement."""
    out = []
    for name in MEASUREMENTS:
        for row in doc["measurements"].get(name, {}).get("rows", []):
            budget = row["budget"]
            out.append((row["measurement"], row["result"], budget["limit"] if budget else "",
                        _status(budget).strip("*")))
    return out


def text_table(doc: Mapping[str, Any]) -> str:
    """The results table as aligned plain text."""
    rows = [("Measurement", "Result", "Budget", "Status"), *table_rows(doc)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(doc: Mapping[str, Any]) -> str:
    """``RESULTS.md``: the table, the run's machine and versions, and the details behind each line."""
    m, v = doc["machine"], doc["versions"]
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m benchmarks` (`make bench`); see `benchmarks/bench.py` for what each line",
        "measures. Every build and rerun ran on a copy of the book in a temporary folder.",
        "",
        f"- Date: {doc['date']} (finished {doc['finished']})",
        f"- Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"{m['memory_bytes'] / 2**30:.1f} GiB memory; {m['os']}",
        f"- Load average at start / end: {', '.join(map(str, m['load_average']))} / "
        f"{', '.join(map(str, doc['load_average_at_end']))}",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- Code: commit {doc['git']['commit'][:12] or 'unknown'}{' with uncommitted changes' if doc['git']['dirty'] else ''}",
        "",
        "| Measurement | Result | Budget | Status |",
        "|---|---|---|---|",
    ]
    for name in MEASUREMENTS:
        for row in doc["measurements"].get(name, {}).get("rows", []):
            budget = row["budget"]
            lines.append(f"| {_md_cell(row['measurement'])} | {_md_cell(row['result'])} | "
                         f"{_md_cell(budget['limit']) if budget else ''} | {_status(budget)} |")
    missed = [b for b in doc["budgets"] if not b["met"]]
    lines += ["", f"Budgets: {len(doc['budgets']) - len(missed)} of {len(doc['budgets'])} met"
              + (": missed " + "; ".join(f"{b['name']} ({b['value']}, budget {b['limit']})" for b in missed)
                 if missed else ".")]
    meas = doc["measurements"]
    if "clean" in meas:
        c = meas["clean"]
        lines += ["", "## Clean build, per chapter", "",
                  "Seconds papermill spent on each chapter, and the pipeline's wall time for it (papermill,",
                  "normalization, writing the notebook and the state)."]
        floor = meas.get("floor", {}).get("chapters_s", {})
        lines += ["", "| Chapter | papermill (s) | pipeline wall (s) | nbclient floor (s) |", "|---|---:|---:|---:|"]
        for chapter, t in c["chapters"].items():
            f = floor.get(chapter)
            lines.append(f"| {chapter} | {t['papermill_s']:.1f} | {t['wall_s']:.2f} | {'' if f is None else f'{f:.2f}'} |")
    if "rerun" in meas:
        r = meas["rerun"]
        lines += ["", "## Rerun with a new chip", "",
                  "Tables changed: " + "; ".join(f"`{t['table']}` added {', '.join(t['added']) or 'none'}, "
                                                 f"updated {', '.join(t['updated']) or 'none'}"
                                                 for t in r["tables"]) + ".",
                  "", f"- Chapters re-run: {', '.join(r['ran']) or 'none'}",
                  f"- Chapters whose recorded reads include a changed table: {', '.join(r['expected']) or 'none'}"]
    if "sweep" in meas:
        s = meas["sweep"]
        g = s["roofline_grid"]
        lines += ["", "## Sweeps", "",
                  f"Vectorized times are the best of {SWEEP_REPEATS}; plain-Python rates are measured on "
                  f"{s['sample']:,} scenarios one by one and extrapolated per scenario. The roofline grid is "
                  f"{g['chips']} chips x {g['models']} models x {len(g['bits'])} precisions x {g['batches']} "
                  f"batches x {g['contexts']} contexts = {g['rows']:,} rows "
                  f"({g['sample_points_that_raised']:,} of the sampled points raise because they do not fit)."]
    if "store" in meas:
        st = meas["store"]
        lines += ["", "## Million-row store", "",
                  f"{st['prices_rows']:,} price rows ({st['csv_bytes'] / 1e6:.0f} MB of CSV), "
                  f"{st['rows_total']:,} rows in all tables; importing `analysis.data.store` took {st['import_s']:.2f} s "
                  "(not counted)."]
        if st["profile"]:
            lines += ["", "Where the time goes (cProfile, by own time):", "",
                      "| Function | Calls | Own (s) | Cumulative (s) |", "|---|---:|---:|---:|"]
            for p in st["profile"]:
                lines.append(f"| `{p['function']}` | {p['calls']:,} | {p['tottime_s']:.2f} | {p['cumtime_s']:.2f} |")
    if "pages" in meas:
        p = meas["pages"]
        lines += ["", "## Page weight", "", "| Page | Own HTML (KB) |", "|---|---:|"]
        lines += [f"| chapters/{k} | {val / 1e3:,.1f} |" for k, val in p["pages_bytes"].items()]
        lines += ["", "| Shared script | KB |", "|---|---:|"]
        lines += [f"| _static/{k} | {val / 1e3:,.1f} |" for k, val in p["scripts_bytes"].items()]
        lines += ["", f"Chart drawing times for {p['heaviest']} (ms, wall from navigation to the last chart's SVG): "
                  + ", ".join(f"{w:,.0f}" for w in p["draw_wall_ms"])
                  + f"; off-machine requests blocked: {len(p['offsite_requests_blocked'])}."]
    return "\n".join(lines) + "\n"


def write(doc: Mapping[str, Any], folder: Path = RESULTS_DIR) -> tuple[Path, Path]:
    """Write ``RESULTS.md`` and ``results.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    md, js = folder / "RESULTS.md", folder / "results.json"
    md.write_text(markdown(doc), encoding="utf-8")
    js.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return md, js


def main(only: Sequence[str] = (), *, results: Path | None = None, write_results: bool = True,
         store_rows: int = STORE_ROWS, sweep_scenarios: int = SWEEP_SCENARIOS, keep: bool = False) -> int:
    """Run, print the table, and write the results (a full run, or any run given ``results``)."""
    doc = run(only, store_rows=store_rows, sweep_scenarios=sweep_scenarios, keep=keep)
    print(text_table(doc))
    missed = [b for b in doc["budgets"] if not b["met"]]
    print(f"\nbudgets: {len(doc['budgets']) - len(missed)} of {len(doc['budgets'])} met"
          + "".join(f"\n  missed: {b['name']}: {b['value']} (budget {b['limit']})" for b in missed))
    if write_results and (results is not None or not only):
        md, js = write(doc, results or RESULTS_DIR)
        print(f"written: {md} and {js}")
    return 0
