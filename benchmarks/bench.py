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
    A million scenarios: ``cost_sensitivity.cost_sweep`` (owned hardware, every input drawn) and
    ``roofline_grid.roofline_grid`` over the store's chips and models with enough batches and contexts for
    about a million rows, against a plain-Python loop over a sample (Python floats for costs,
    ``roofline_point`` for rooflines) extrapolated per scenario. Budget: at least 1e6 scenarios/s each.
``store``
    ``validation.validate`` + ``store.build`` (the data tables and the catalogue, without the analyses'
    derived tables and without the forecast-rule check) of a copy of ``data/`` whose ``prices.csv`` has a
    million valid rows (the real rows plus synthetic ones), beside the floor: DuckDB alone reading the
    same files with every column as text and running the same checks in plain SQL. Each in a child
    process that reports its own peak resident memory, three runs each in turn, the fastest kept.
    Budget: at most 2 x the floor and 600 MB. A miss is profiled with cProfile.
``pages``
    Bytes of each chapter page's own HTML and of the shared scripts, and the time headless Chromium
    (network cut to 127.0.0.1) takes to draw every chart of the heaviest page: every ``fig-*-chart``
    (and ``chart-*`` explorer) container holding its ``svg.marks``. Budget: each chapter page at most
    500 KB of its own bytes.

``import``
    Every public release the book is built from, imported into a rerun folder as ``python -m
    analysis import book`` does (skipped without the raw releases). Budget: at most 30 s.

A full run writes ``benchmarks/RESULTS.md`` and ``benchmarks/results.json`` with the machine, the
versions and the date. ``--only NAME`` runs one measurement (and the clean build it needs) and writes
nothing unless ``--results`` is given.

This module runs the measurements and prints the table; each lives in a module of its own:
``builds`` (clean, floor, rebuild, rerun), ``sweeps``, ``large_store`` (store), ``pages`` and
``import_book`` (import), each returning an ``outcome.Outcome``; ``environment`` describes the
machine and ``report`` writes the results.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.builds import copy_book, measure_clean_build, measure_floor, measure_rebuild, measure_rerun
from benchmarks.environment import git, machine, versions
from benchmarks.import_book import measure_import
from benchmarks.large_store import STORE_ROWS, measure_store
from benchmarks.outcome import MEASUREMENTS, Outcome
from benchmarks.pages import measure_pages
from benchmarks.report import RESULTS_DIR, text_table, write
from benchmarks.sweeps import SWEEP_SCENARIOS, measure_sweep

NEEDS_BUILD = frozenset({"floor", "rebuild", "rerun", "pages"})
RUN_ORDER = ("clean", "rebuild", "pages", "floor", "rerun", "sweep", "store", "import")


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


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
                           "versions": versions(), "git": git(), "complete": not only, "measurements": {}}
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
            outcomes[name] = _measure(name, root, outcomes, store_rows=store_rows,
                                      sweep_scenarios=sweep_scenarios)
            echo(f"{name} done in {time.perf_counter() - mark:.1f} s")
    finally:
        if root is not None:
            if keep:
                echo(f"kept the copy of the book at {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)
    doc["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    doc["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    doc["measurements"] = _measurements(outcomes)
    doc["budgets"] = [b.to_dict() for name in MEASUREMENTS if name in outcomes for b in outcomes[name].budgets]
    return doc


def _measure(name: str, root: Path | None, outcomes: Mapping[str, Outcome], *, store_rows: int,
             sweep_scenarios: int) -> Outcome:
    """Measurement ``name``; those after ``clean`` work on its built copy of the book, ``root``."""
    if name == "clean":
        assert root is not None
        return measure_clean_build(root)
    if name == "floor":
        return measure_floor(outcomes["clean"])
    if name == "rebuild":
        assert root is not None
        return measure_rebuild(root, outcomes["clean"])
    if name == "rerun":
        assert root is not None
        return measure_rerun(root, outcomes["clean"])
    if name == "sweep":
        return measure_sweep(sweep_scenarios)
    if name == "store":
        return measure_store(store_rows)
    if name == "pages":
        assert root is not None
        return measure_pages(root)
    assert name == "import", name
    return measure_import()


def _measurements(outcomes: Mapping[str, Outcome]) -> dict[str, Any]:
    """Each outcome's rows (budgets as mappings) and numbers, in ``MEASUREMENTS`` order."""
    found: dict[str, Any] = {}
    for name in MEASUREMENTS:
        if name in outcomes:
            o = outcomes[name]
            found[name] = {"rows": [{"measurement": r.measurement, "result": r.result,
                                     "budget": r.budget.to_dict() if r.budget else None}
                                    for r in o.rows], **o.data}
    return found


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
