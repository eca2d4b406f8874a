"""The results of a run: the table printed by ``python -m benchmarks`` and the files ``RESULTS.md``
and ``results.json`` it writes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis import paths
from benchmarks.outcome import MEASUREMENTS
from benchmarks.sweeps import SWEEP_REPEATS

RESULTS_DIR = paths.ROOT / "benchmarks"


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
    meas = doc["measurements"]
    lines = [*_head(doc), *_table(doc)]
    if "clean" in meas:
        lines += _clean_section(meas)
    if "rerun" in meas:
        lines += _rerun_section(meas["rerun"])
    if "sweep" in meas:
        lines += _sweep_section(meas["sweep"])
    if "store" in meas:
        lines += _store_section(meas["store"])
    if "pages" in meas:
        lines += _pages_section(meas["pages"])
    return "\n".join(lines) + "\n"


def _head(doc: Mapping[str, Any]) -> list[str]:
    """The title and the run: date, machine, load, versions and commit."""
    m, v = doc["machine"], doc["versions"]
    return [
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
    ]


def _table(doc: Mapping[str, Any]) -> list[str]:
    """The results table in Markdown and the count of budgets met, naming those missed."""
    lines = ["| Measurement | Result | Budget | Status |", "|---|---|---|---|"]
    for name in MEASUREMENTS:
        for row in doc["measurements"].get(name, {}).get("rows", []):
            budget = row["budget"]
            lines.append(f"| {_md_cell(row['measurement'])} | {_md_cell(row['result'])} | "
                         f"{_md_cell(budget['limit']) if budget else ''} | {_status(budget)} |")
    missed = [b for b in doc["budgets"] if not b["met"]]
    lines += ["", f"Budgets: {len(doc['budgets']) - len(missed)} of {len(doc['budgets'])} met"
              + (": missed " + "; ".join(f"{b['name']} ({b['value']}, budget {b['limit']})" for b in missed)
                 if missed else ".")]
    return lines


def _clean_section(meas: Mapping[str, Any]) -> list[str]:
    """Seconds of each chapter in the clean build, beside its nbclient floor when measured."""
    c = meas["clean"]
    lines = ["", "## Clean build, per chapter", "",
             "Seconds papermill spent on each chapter, and the pipeline's wall time for it (papermill,",
             "normalization, writing the notebook and the state)."]
    floor = meas.get("floor", {}).get("chapters_s", {})
    lines += ["", "| Chapter | papermill (s) | pipeline wall (s) | nbclient floor (s) |", "|---|---:|---:|---:|"]
    for chapter, t in c["chapters"].items():
        f = floor.get(chapter)
        lines.append(f"| {chapter} | {t['papermill_s']:.1f} | {t['wall_s']:.2f} | {'' if f is None else f'{f:.2f}'} |")
    return lines


def _rerun_section(r: Mapping[str, Any]) -> list[str]:
    """The tables the rerun changed, the chapters it re-ran and those expected to."""
    return ["", "## Rerun with a new chip", "",
            "Tables changed: " + "; ".join(f"`{t['table']}` added {', '.join(t['added']) or 'none'}, "
                                           f"updated {', '.join(t['updated']) or 'none'}"
                                           for t in r["tables"]) + ".",
            "", f"- Chapters re-run: {', '.join(r['ran']) or 'none'}",
            f"- Chapters whose recorded reads include a changed table: {', '.join(r['expected']) or 'none'}"]


def _sweep_section(s: Mapping[str, Any]) -> list[str]:
    """How the sweep rates were measured and the shape of the roofline grid."""
    g = s["roofline_grid"]
    return ["", "## Sweeps", "",
            f"Vectorized times are the best of {SWEEP_REPEATS}; plain-Python rates are measured on "
            f"{s['sample']:,} scenarios one by one and extrapolated per scenario. The roofline grid is "
            f"{g['chips']} chips x {g['models']} models x {len(g['bits'])} precisions x {g['batches']} "
            f"batches x {g['contexts']} contexts = {g['rows']:,} rows "
            f"({g['sample_points_that_raised']:,} of the sampled points raise because they do not fit)."]


def _store_section(st: Mapping[str, Any]) -> list[str]:
    """The size of the million-row store, every run of it and of the floor, and, for a run that missed
    its budget, its profile."""
    lines = ["", "## Million-row store", "",
             f"{st['prices_rows']:,} price rows ({st['csv_bytes'] / 1e6:.0f} MB of CSV), "
             f"{st['rows_total']:,} rows in all tables; importing `analysis.data.store` took {st['import_s']:.2f} s "
             "(not counted)."]
    if "floor_s" in st:
        lines += ["", f"Validate + build and the floor (DuckDB alone: every file read as text, the same checks "
                      f"in plain SQL, `benchmarks/floor.py`), {st['repeats']} runs each in turn, the fastest kept:", "",
                  "| | Fastest (s) | Runs (s) | Peak memory (MB) |", "|---|---:|---|---:|",
                  f"| validate + build | {st['seconds']:.2f} | {', '.join(f'{x:.2f}' for x in st['runs_s'])} "
                  f"| {st['peak_bytes'] / 1e6:,.0f} |",
                  f"| floor | {st['floor_s']:.2f} | {', '.join(f'{x:.2f}' for x in st['floor_runs_s'])} "
                  f"| {st['floor_peak_bytes'] / 1e6:,.0f} |"]
    if st["profile"]:
        lines += ["", "Where the time goes (cProfile, by own time):", "",
                  "| Function | Calls | Own (s) | Cumulative (s) |", "|---|---:|---:|---:|"]
        for p in st["profile"]:
            lines.append(f"| `{p['function']}` | {p['calls']:,} | {p['tottime_s']:.2f} | {p['cumtime_s']:.2f} |")
    return lines


def _pages_section(p: Mapping[str, Any]) -> list[str]:
    """The weight of every chapter page and shared script, and the chart drawing times."""
    lines = ["", "## Page weight", "", "| Page | Own HTML (KB) |", "|---|---:|"]
    lines += [f"| chapters/{k} | {val / 1e3:,.1f} |" for k, val in p["pages_bytes"].items()]
    lines += ["", "| Shared script | KB |", "|---|---:|"]
    lines += [f"| _static/{k} | {val / 1e3:,.1f} |" for k, val in p["scripts_bytes"].items()]
    lines += ["", f"Chart drawing times for {p['heaviest']} (ms, wall from navigation to the last chart's SVG): "
              + ", ".join(f"{w:,.0f}" for w in p["draw_wall_ms"])
              + f"; off-machine requests blocked: {len(p['offsite_requests_blocked'])}."]
    return lines


def write(doc: Mapping[str, Any], folder: Path = RESULTS_DIR) -> tuple[Path, Path]:
    """Write ``RESULTS.md`` and ``results.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    md, js = folder / "RESULTS.md", folder / "results.json"
    md.write_text(markdown(doc), encoding="utf-8")
    js.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return md, js
