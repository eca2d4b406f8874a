"""The build benchmarks: a clean build, the bare nbclient floor, a no-change rebuild and a rerun.

Each works on a copy of the book (``copy_book``) in a temporary folder, never on the repository;
``benchmarks.bench`` says what each measures and against which budget.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis import paths
from analysis.book import notebook_view
from analysis.build import bookstore, pipeline
from analysis.data import store, validation
from benchmarks.outcome import Budget, Outcome, Row, within

BOOK_FILES = ("_config.yml", "_toc.yml", "_static", "_ext", "chapters", "data", "analyses", "intro.md")
EXAMPLE = paths.ROOT / "examples" / "new-chip"
EXAMPLE_TABLES = ("chips.csv", "sources.csv")
NBCLIENT_TIMEOUT_S = 600
FLOOR_RATIO_BUDGET = 1.3
REBUILD_FRACTION_BUDGET = 0.05


def _quiet(message: str) -> None:
    pass


def copy_book(dest: Path | None = None) -> Path:
    """A copy of the book's sources (no ``_build``, no store) in a new temporary folder; files of
    ``BOOK_FILES`` the book no longer has are skipped."""
    root = dest or Path(tempfile.mkdtemp(prefix="bench-book-"))
    for name in BOOK_FILES:
        src = paths.ROOT / name
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


def _cli(args: Sequence[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "analysis", *args], cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"python -m analysis {' '.join(args)} failed ({done.returncode}):\n"
                           + (done.stdout + done.stderr)[-4000:])
    return done, seconds


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
            with notebook_view.book_build():  # the same outputs as the build's execute stage
                NotebookClient(nb, timeout=NBCLIENT_TIMEOUT_S, kernel_name=pipeline.KERNEL_NAME,
                               resources={"metadata": {"path": str(chapters_dir)}}).execute()
            per_chapter[nb_path.stem] = time.perf_counter() - mark
        floor = time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)
    execute = float(clean.data["stages_s"]["execute"])
    ratio = execute / floor
    budget = Budget("execute stage / nbclient floor", f"{ratio:.2f}x", f"<= {FLOOR_RATIO_BUDGET}x",
                    within(ratio, FLOOR_RATIO_BUDGET))
    rows = [Row("Floor: chapters bare in nbclient", f"{floor:.1f} s ({len(per_chapter)} chapters)"),
            Row("Pipeline execute stage / floor", f"{ratio:.2f}x ({execute:.1f} s / {floor:.1f} s)", budget)]
    return Outcome("floor", rows, {"floor_s": floor, "execute_s": execute, "ratio": ratio,
                                   "chapters_s": {k: round(v, 2) for k, v in per_chapter.items()}})


def measure_rebuild(root: Path, clean: Outcome) -> Outcome:
    """``python -m analysis build`` on the built copy with nothing changed."""
    done, seconds = _cli(["build", "--root", str(root)], root)
    fraction = seconds / float(clean.data["total_s"])
    budget = Budget("no-change rebuild / clean build", f"{fraction:.1%}", f"<= {REBUILD_FRACTION_BUDGET:.0%}",
                    within(fraction, REBUILD_FRACTION_BUDGET))
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
