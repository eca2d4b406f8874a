"""Run the chapters that are stale and record what each read.

A chapter is stale when the hash of its inputs differs from the one recorded in
``chapters/_execution.json`` after its last run. The inputs are: the notebook's cell sources (not its
outputs, not the cell papermill injects), the parameters passed to it, the content hash of every
store table it read on its last run (recorded while it ran, through ``StoreReader``), and the source
of the ``analysis`` modules chapters import. Stale chapters are executed by papermill into a
temporary file; only a successful run replaces the notebook, after the metadata papermill changes on
every run (timestamps, durations, kernel versions, random cell ids) has been normalized away
(``analysis.build.notebooks``), so an unchanged chapter executed again is the same bytes. Its kernel
runs with ``notebook_view.BUILD_ENV`` set, so it emits what the book needs and not the outputs a
JupyterLab reader is shown; a chapter whose outputs were saved from such a session is stale. The HTML
is built from the executed chapters by ``analysis.build.html_build``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

from analysis import paths
from analysis.book import notebook_view
from analysis.build import limits, notebooks
from analysis.build import parameters as params_mod
from analysis.data import reader
from analysis.data import store as store_mod
from analysis.data.safety import quote_ident
from analysis.errors import StepError

ROOT = paths.ROOT
CHAPTERS_DIR = ROOT / paths.CHAPTERS
STATE_FILE = CHAPTERS_DIR / paths.STATE_NAME
STATUS_PAGE = CHAPTERS_DIR / paths.STATUS_NAME
KERNEL_NAME = "python3"
QUIET_KERNEL = ["--IPKernelApp.log_level=CRITICAL"]


def toc_files(root: Path = ROOT) -> list[Path]:
    """Every page of the book, in the order of ``_toc.yml``."""
    toc = yaml.safe_load((root / paths.TOC).read_text(encoding="utf-8"))
    found: list[str] = [toc["root"]]

    def walk(entries: Iterable[Mapping[str, Any]]) -> None:
        for entry in entries:
            if "file" in entry:
                found.append(entry["file"])
            walk(entry.get("sections", []) or [])

    for part in toc.get("parts", []) or []:
        walk(part.get("chapters", []) or [])
    walk(toc.get("chapters", []) or [])
    pages = []
    for f in found:
        for ext in (".ipynb", ".md"):
            p = root / f"{f}{ext}"
            if p.exists():
                pages.append(p)
                break
    return pages


def chapter_notebooks(root: Path = ROOT) -> list[Path]:
    """The executable chapters, in book order."""
    return [p for p in toc_files(root) if p.suffix == ".ipynb"]


def store_table_hashes(store_path: Path) -> dict[str, str]:
    """Content hash of every table in the store."""
    if not store_path.exists():
        return {}
    with reader.open_store(store_path) as db:
        frame = db.sql("SELECT table_name, sha256 FROM _tables ORDER BY table_name")
    hashes = dict(zip(frame["table_name"], frame["sha256"]))
    catalogue = hashlib.sha256("".join(f"{k}={v};" for k, v in sorted(hashes.items())).encode()).hexdigest()
    hashes.update({name: catalogue for name in store_mod.META_TABLES})
    return hashes


def dependency_hashes(store_path: Path, entries: Iterable[str], tables: Mapping[str, str]) -> dict[str, str | None]:
    """Hash of each recorded read: a whole table (``chips``), one row (``sources#source_id=x``) or a
    source file of the ``analysis`` package (``py:analysis/models/roofline.py``)."""
    entries = list(entries)
    out: dict[str, str | None] = {}
    wanted: dict[tuple[str, str], list[str]] = {}
    for entry in entries:
        if entry.startswith("py:"):
            path = paths.ROOT / entry[3:]
            out[entry] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        elif "#" in entry:
            table, _, cond = entry.partition("#")
            column, _, value = cond.partition("=")
            wanted.setdefault((table, column), []).append(value)
            out[entry] = None
        else:
            out[entry] = tables.get(entry)
    if wanted and store_path.exists():
        with reader.open_store(store_path) as db:
            for (table, column), values in wanted.items():
                try:
                    sql = f"SELECT * FROM {quote_ident(table)} WHERE {quote_ident(column)} IN ?"
                    frame = db.sql(sql, [values])
                except Exception:  # noqa: BLE001 - a vanished table or column leaves the reads stale
                    continue
                for value, row in frame.groupby(column, sort=False):
                    text = row.drop(columns=[]).to_json(orient="records", date_format="iso")
                    out[f"{table}#{column}={value}"] = hashlib.sha256(text.encode()).hexdigest()
    return out


def inputs_hash(source: str, parameters: Mapping[str, Any], tables: Mapping[str, str | None]) -> str:
    """Hash of everything a chapter's outputs depend on: its cells, its parameters, and the store
    tables, table rows and ``analysis`` source files it read on its last run."""
    payload = {"source": source, "parameters": dict(parameters), "tables": dict(tables)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()



def load_state(path: Path = STATE_FILE) -> dict[str, Any]:
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def save_state(state: Mapping[str, Any], path: Path = STATE_FILE) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True)
class Plan:
    """Whether a chapter must run, and why."""

    notebook: Path
    stale: bool
    reason: str
    inputs: str


def plan(
    store_path: Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    root: Path = ROOT,
    state: Mapping[str, Any] | None = None,
    force: bool = False,
) -> list[Plan]:
    """Which chapters are stale against the store and the recorded state."""
    state = load_state(root / paths.CHAPTERS / STATE_FILE.name) if state is None else state
    tables = store_table_hashes(store_path)
    every = sorted({e for rec in state.values() for e in rec.get("tables", [])})
    known = dependency_hashes(store_path, every, tables)
    plans = []
    for nb_path in chapter_notebooks(root):
        key = nb_path.relative_to(root).as_posix()
        nb = nbformat.read(nb_path, as_version=4)
        recorded = state.get(key)
        params = chapter_parameters(nb, parameters)
        if recorded is None:
            plans.append(Plan(nb_path, True, "never executed", ""))
            continue
        read = {t: known.get(t) for t in recorded.get("tables", [])}
        digest = inputs_hash(notebooks.source_hash(nb), params, read)
        if force:
            plans.append(Plan(nb_path, True, "forced", digest))
        elif notebook_view.made_in_notebook_view(nb):
            plans.append(Plan(nb_path, True, "outputs saved from a notebook session, not the build", digest))
        elif recorded.get("inputs") != digest:
            plans.append(Plan(nb_path, True, _why(recorded, nb, params, read), digest))
        else:
            plans.append(Plan(nb_path, False, "up to date", digest))
    return plans


def _why(recorded: Mapping[str, Any], nb: nbformat.NotebookNode, params: Mapping[str, Any],
         read: Mapping[str, str | None]) -> str:
    reasons = []
    if recorded.get("source") != notebooks.source_hash(nb):
        reasons.append("notebook changed")
    if recorded.get("parameters", {}) != dict(params):
        reasons.append("parameters changed")
    changed = [t for t, h in read.items() if recorded.get("table_hashes", {}).get(t) != h]
    data = sorted({t.split("#", 1)[0] for t in changed if not t.startswith("py:")})
    code = sorted(t[3:] for t in changed if t.startswith("py:"))
    if data:
        reasons.append("data changed: " + ", ".join(data))
    if code:
        reasons.append("code changed: " + ", ".join(code))
    return "; ".join(reasons) or "inputs changed"


def chapter_parameters(nb: nbformat.NotebookNode | Path, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters a chapter receives: those of ``parameters`` its parameters cell declares."""
    if not parameters:
        return {}
    return params_mod.for_notebook(parameters, params_mod.declared(nb))


class ChapterFailed(StepError):
    """A chapter raised while executing; its notebook was left as it was."""


class CellTimeout(ChapterFailed):
    """A cell ran longer than ``limits.cell_timeout()``."""


def run_notebook(nb_path: Path, out: Path, parameters: Mapping[str, Any] | None) -> list[str]:
    """Execute ``nb_path`` into ``out`` with papermill (in the notebook's folder, quiet kernel) and
    return what it read from the store, as recorded by ``StoreReader`` through the reads log.
    Raises papermill's ``PapermillExecutionError`` when a cell fails."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    log = out.with_name(out.name + ".reads")
    log.write_text("")
    previous = os.environ.get(reader.READS_LOG_ENV)
    os.environ[reader.READS_LOG_ENV] = str(log)
    timeout = limits.cell_timeout()
    try:
        with notebook_view.book_build():  # the kernel emits what the book needs (and nbval compares)
            papermill.execute_notebook(
                str(nb_path), str(out), parameters=dict(parameters) if parameters else None,
                cwd=str(nb_path.parent), kernel_name=KERNEL_NAME, progress_bar=False, log_output=False,
                request_save_on_cell_execute=False, extra_arguments=QUIET_KERNEL,
                execution_timeout=timeout, start_timeout=min(timeout, 120),
            )
    except CellTimeoutError:
        raise CellTimeout(f"{nb_path.name}: a cell ran longer than the limit of {timeout:g} s "
                          f"({limits.CELL_TIMEOUT_ENV}); it was stopped") from None
    except DeadKernelError:
        raise ChapterFailed(f"{nb_path.name}: the kernel died while running it (out of memory?)") from None
    finally:
        if previous is None:
            os.environ.pop(reader.READS_LOG_ENV, None)
        else:
            os.environ[reader.READS_LOG_ENV] = previous
    return sorted({line.strip() for line in log.read_text().splitlines() if line.strip()})


def execute(
    nb_path: Path,
    store_path: Path,
    parameters: Mapping[str, Any] | None = None,
) -> tuple[nbformat.NotebookNode, list[str], float]:
    """Run one chapter with papermill; return the normalized notebook, tables read and seconds."""
    import papermill

    params = dict(parameters or {})
    with tempfile.TemporaryDirectory(prefix="chapter-") as tmp:
        out = Path(tmp) / nb_path.name
        start = time.perf_counter()
        try:
            tables = run_notebook(nb_path, out, params)
        except papermill.PapermillExecutionError as exc:
            raise ChapterFailed(f"{nb_path.name}: cell {exc.exec_count} raised {exc.ename}: {exc.evalue}") from None
        seconds = time.perf_counter() - start
        nb = notebooks.normalize(nbformat.read(out, as_version=4))
    return nb, tables, seconds


def run_stale(
    store_path: Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    root: Path = ROOT,
    force: bool = False,
    echo: Callable[[str], None] = print,
    after_each: Callable[[int], None] | None = None,
) -> list[Path]:
    """Execute every stale chapter (papermill), record the new state, return what ran. Each chapter
    receives the ``parameters`` its parameters cell declares (``chapter_parameters``)."""
    state = load_state(root / paths.CHAPTERS / STATE_FILE.name)
    plans = plan(store_path, parameters, root=root, state=state, force=force)
    stale = [p for p in plans if p.stale]
    tables = store_table_hashes(store_path)
    ran: list[Path] = []
    if not stale:
        echo(f"chapters: all {len(plans)} up to date, none executed")
    for i, p in enumerate(stale, 1):
        rel = p.notebook.relative_to(root).as_posix()
        echo(f"[{i}/{len(stale)}] executing {rel} ({p.reason}) ...")
        params = chapter_parameters(p.notebook, parameters)
        nb, read, seconds = execute(p.notebook, store_path, params)
        read_hashes = dependency_hashes(store_path, read, tables)
        src = notebooks.source_hash(nb)
        notebooks.write_notebook(nb, p.notebook)
        state[rel] = {
            "inputs": inputs_hash(src, params, read_hashes),
            "source": src,
            "parameters": params,
            "tables": read,
            "table_hashes": read_hashes,
            "seconds": round(seconds, 1),
        }
        save_state(state, root / paths.CHAPTERS / STATE_FILE.name)
        echo(f"[{i}/{len(stale)}] {rel} done in {seconds:.1f} s; read {describe_reads(read)}")
        ran.append(p.notebook)
        if after_each is not None:
            after_each(i)
    write_status_page(state, root)
    return ran


def describe_reads(entries: Iterable[str]) -> str:
    """``chips, sources (3 rows)``: tables read whole, and tables read row by row with a count."""
    entries = [e for e in entries if not e.startswith("py:")]
    whole = sorted(e for e in entries if "#" not in e)
    rows: dict[str, int] = {}
    for e in entries:
        if "#" in e:
            rows[e.split("#", 1)[0]] = rows.get(e.split("#", 1)[0], 0) + 1
    parts = whole + [f"{t} ({n} rows)" for t, n in sorted(rows.items()) if t not in whole]
    return ", ".join(parts) or "no table"


def write_status_page(state: Mapping[str, Any], root: Path = ROOT) -> None:
    """The appendix page listing each chapter's last execution; rewritten only when it changes."""
    lines = [
        "# Execution status",
        "",
        "Each chapter is a notebook executed by papermill against the data store. A chapter runs",
        "again only when its notebook, its parameters, the analysis code or one of the tables it",
        "reads has changed; this page lists what each chapter read and how long its last run took.",
        "",
        "| Chapter | Tables read | Parameters | Last run (s) |",
        "|---|---|---|---:|",
    ]
    for nb_path in chapter_notebooks(root):
        rel = nb_path.relative_to(root).as_posix()
        rec = state.get(rel, {})
        params = ", ".join(f"`{k}={v}`" for k, v in sorted(rec.get("parameters", {}).items())) or "defaults"
        tables = describe_reads(rec.get("tables", [])).replace("no table", "–")
        seconds = rec.get("seconds")
        lines.append(f"| [{nb_path.stem}]({nb_path.name}) | {tables} | {params} | "
                     f"{'–' if seconds is None else f'{seconds:.1f}'} |")
    text = "\n".join(lines) + "\n"
    path = root / paths.CHAPTERS / STATUS_PAGE.name
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
