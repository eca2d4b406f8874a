"""Rerun the book with new data: merge by key, then the one build sequence, then report what changed.

``rerun(root, incoming)`` takes a folder of table files named as in ``data/`` (``chips.csv``,
``prices.csv``, ...). Each file's rows are merged into the table of the same name by its primary key:
a row whose key exists replaces it, a new key is added. A file named ``<table>.replace.csv`` replaces
the whole table instead. A file is checked against the sidecar beside it in the incoming folder, or
else the one in ``data/``.

The merge (``merge_with_origins``) writes the merged tables into the staging copy of ``data/`` and
validates them there, reporting every problem with the file, line and column of the *incoming* file
the row came from. Everything after that -- the store, the stale chapters, the HTML and putting the
new edition in place -- is ``analysis.build.workflow``: one transaction shared with ``build`` and
``store``, which changes nothing the reader sees unless every step succeeded. The report says which
tables changed (rows added, updated, removed), which chapters re-ran, and the glued headline numbers
that moved, before and after; it is printed and kept as the book page ``chapters/appendix-changes.md``
("What changed in this edition").
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from analysis import paths
from analysis.build.lock import LOCK_NAME, BuildLocked
from analysis.data import validation
from analysis.data.contracts import SIDECAR_SUFFIX, SchemaError, load_schema

__all__ = ["LOCK_NAME", "BuildLocked", "merge", "merge_with_origins", "relocate"]
REPLACE_SUFFIX = validation.REPLACE_SUFFIX
CHANGES_PAGE = paths.CHANGES_NAME
GLUE_KEY = "scrapbook"
GLUE_PLAIN = "application/papermill.record/text/plain"


@dataclass
class TableChange:
    """How one table changed."""

    table: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    replaced: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass
class RerunReport:
    """What a rerun changed."""

    tables: list[TableChange]
    chapters: list[str]
    moved: list[dict[str, str]]
    parameters: dict[str, str]

    def text(self) -> str:
        lines = ["What changed:"]
        for t in self.tables:
            mode = " (whole table replaced)" if t.replaced else ""
            lines.append(f"  table {t.table}{mode}: {len(t.added)} added, {len(t.updated)} updated, "
                         f"{len(t.removed)} removed")
        if not any(t.changed for t in self.tables):
            lines.append("  no table changed")
        if self.parameters:
            lines.append("  parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(self.parameters.items())))
        lines.append("  chapters re-run: " + (", ".join(self.chapters) or "none"))
        for m in self.moved:
            lines.append(f"  {m['chapter']} {m['name']}: {m['before']} -> {m['after']}")
        return "\n".join(lines)


def _read_rows(path: Path) -> pd.DataFrame:
    text = path.read_bytes().decode("utf-8").lstrip("\ufeff")
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)


def _key(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    return frame[list(key)].astype(str).agg("\x1f".join, axis=1)


def contract_diff(old: Path, new: Path) -> str:
    """The difference between two contracts, as a unified diff (empty when they are the same)."""
    import difflib

    a = old.read_text(encoding="utf-8").splitlines(keepends=True) if old.exists() else []
    b = new.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, f"data/{old.name}", str(new)))


def incoming_tables(data_dir: Path, incoming: Path, *, allow_contract_change: bool = False,
                    ) -> tuple[dict[str, tuple[Path, Path, bool]], list[validation.Problem]]:
    """Table name -> (incoming csv, sidecar, replace?) for every CSV in ``incoming``.

    What a rerun folder may hold (see SECURITY.md): only regular files named ``<table>.csv``,
    ``<table>.replace.csv`` and ``<table>.meta.yml`` (``validation.check_files``). A table not in
    ``data/`` may be added when its contract comes with it. A contract for a table that ``data/``
    already has must be identical to the one in ``data/``, unless ``allow_contract_change`` is given
    (``--allow-contract-change``), in which case ``rerun`` prints the difference; so a rerun folder
    can never loosen a contract silently."""
    found: dict[str, tuple[Path, Path, bool]] = {}
    if not incoming.is_dir() or incoming.is_symlink():
        return found, [validation.Problem(str(incoming), None, None, "not a folder")]
    problems = validation.check_files(incoming, incoming=True)
    if problems:
        return found, problems
    for path in sorted(incoming.glob("*.csv")):
        replace = path.name.endswith(REPLACE_SUFFIX)
        name = path.name[: -len(REPLACE_SUFFIX)] if replace else path.stem
        sidecar = incoming / f"{name}{SIDECAR_SUFFIX}"
        existing = data_dir / f"{name}{SIDECAR_SUFFIX}"
        if sidecar.exists() and existing.exists() and sidecar.read_bytes() != existing.read_bytes():
            if not allow_contract_change:
                diff = contract_diff(existing, sidecar)
                shown = "".join(diff.splitlines(keepends=True)[:40])
                problems.append(validation.Problem(str(sidecar), None, None,
                                              f"changes the contract of the existing table {name!r}; a rerun may "
                                              "not change a contract unless --allow-contract-change is given. "
                                              f"The difference:\n{shown}"))
                continue
        if not sidecar.exists():
            sidecar = existing
        if not sidecar.exists():
            problems.append(validation.Problem(str(path), None, None,
                                          f"no table {name!r} in data/ and no sidecar {name}{SIDECAR_SUFFIX} beside it"))
            continue
        if name in found:
            problems.append(validation.Problem(str(path), None, None, f"table {name!r} is given twice"))
            continue
        found[name] = (path, sidecar, replace)
    for sidecar in sorted(incoming.glob(f"*{SIDECAR_SUFFIX}")):
        name = sidecar.name[: -len(SIDECAR_SUFFIX)]
        if name not in found and not any(p.file == str(sidecar) for p in problems):
            problems.append(validation.Problem(str(sidecar), None, None,
                                          f"a contract without its table: no {name}.csv beside it"))
    if not found and not problems:
        problems.append(validation.Problem(str(incoming), None, None, "no table files (*.csv) to merge"))
    return found, problems


def _record_lines(text: str) -> list[str]:
    """The raw text of each record of a CSV (header first), multi-line quoted fields kept whole."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines)
    records, start = [], 0
    for _ in reader:
        end = reader.line_num
        records.append("".join(lines[start:end]))
        start = end
    return records


def _merged_text(base_path: Path, base_keys: pd.Series, new: pd.DataFrame, new_keys: pd.Series,
                 columns: list[str], new_lines: Any, new_path: Path, *, replace: bool,
                 changed: set[str]) -> tuple[str, list[tuple[str, int]]]:
    """The merged table as CSV text: unchanged rows keep their exact bytes and place, updated rows are
    rewritten in place, new rows are appended; and, for each data row, the file and line it came from."""
    raw = base_path.read_bytes().decode("utf-8").lstrip("\ufeff") if base_path.exists() else ""
    # The book's CSVs are LF only (.gitattributes): records are rewritten with LF whatever they had.
    records = [r.replace("\r\n", "\n") for r in _record_lines(raw)] if raw else [",".join(columns) + "\n"]
    newline = "\n"

    def render(row: tuple[object, ...]) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator=newline).writerow(row)
        return out.getvalue()

    incoming = {k: (render(tuple(r)), int(line)) for k, r, line in
                zip(new_keys, new[columns].itertuples(index=False), new_lines)}
    body: list[str] = []
    origin: list[tuple[str, int]] = []
    if not replace:
        line = 2
        for key, record in zip(base_keys, records[1:]):
            if key.replace("\x1f", "/") in changed and key in incoming:
                text, src = incoming.pop(key)
                body.append(text)
                origin.append((str(new_path), src))
            else:
                body.append(record if record.endswith(("\n", "\r")) else record + newline)
                origin.append((str(base_path), line))
            line += record.count("\n") or 1
    for key, (text, src) in incoming.items():
        if replace or key.replace("\x1f", "/") in changed:
            body.append(text)
            origin.append((str(new_path), src))
    return records[0] + "".join(body), origin


def merge(data_dir: Path, incoming: Path, staging: Path, *, allow_contract_change: bool = False,
          ) -> tuple[list[TableChange], list[validation.Problem]]:
    """Write ``data_dir`` merged with ``incoming`` into ``staging`` and validate it there.

    Problems in merged rows are reported against the incoming file and line they came from.
    """
    changes, problems, _, _ = merge_with_origins(data_dir, incoming, staging,
                                                 allow_contract_change=allow_contract_change)
    return changes, problems


Origins = dict[str, Any]


def merge_with_origins(data_dir: Path, incoming: Path, staging: Path, *, allow_contract_change: bool = False,
                       ) -> tuple[list[TableChange], list[validation.Problem], Origins, dict[str, validation.LoadedTable]]:
    """``merge``, also returning where each staged line and file came from (for ``relocate``) and the
    validated tables of the staging folder (empty when there are problems)."""
    from analysis.data import folder

    problems = folder.problems(data_dir)
    if problems:
        return [], problems, {}, {}
    folder.copy(data_dir, staging)
    tables, problems = incoming_tables(data_dir, incoming, allow_contract_change=allow_contract_change)
    changes: list[TableChange] = []
    origins: Origins = {"files": {}}
    for name, (path, sidecar, replace) in tables.items():
        change, found = _merge_table(name, path, sidecar, replace, data_dir, incoming, staging, origins)
        if change is None:
            problems.extend(found)
            continue
        changes.append(change)
    if problems:
        return changes, problems, origins, {}
    try:
        validated = validation.validate(staging)
    except validation.ValidationError as exc:
        for p in exc.problems:
            problems.append(relocate(p, staging, origins, data_dir))
        return changes, problems, origins, {}
    return changes, problems, origins, validated


def _merge_table(name: str, path: Path, sidecar: Path, replace: bool, data_dir: Path, incoming: Path,
                 staging: Path, origins: Origins) -> tuple[TableChange | None, list[validation.Problem]]:
    """Merge the incoming file ``path`` into table ``name`` of ``data_dir``, writing the result into
    ``staging`` when it changes, and note in ``origins`` where its files and lines came from. Returns
    the change, or None and the problems of the incoming file or its contract."""
    try:
        schema = load_schema(sidecar)
    except SchemaError as exc:
        return None, [validation.Problem(str(sidecar), None, None, str(exc).split(": ", 1)[-1])]
    loaded, found = validation.load_table(schema, path, whole=False)
    if found:
        return None, found
    assert loaded is not None
    new = loaded.frame
    base_path = data_dir / f"{name}.csv"
    base = _read_rows(base_path) if base_path.exists() else pd.DataFrame(columns=list(schema.column_names))
    columns = [c for c in base.columns if c in schema.column_names] or list(schema.column_names)
    columns += [c for c in schema.column_names if c not in columns]
    new_keys, base_keys = _key(new, schema.primary_key), _key(base, schema.primary_key)
    change = _table_change(name, replace, base, base_keys, new, new_keys, columns)
    text, origin = _merged_text(base_path, base_keys, new, new_keys, columns, loaded.lines, path,
                                replace=replace, changed=set(change.added) | set(change.updated))
    if change.changed or replace:
        (staging / f"{name}.csv").write_text(text, encoding="utf-8", newline="")
    by_line = _origin_by_line(text, origin)
    if sidecar.parent == incoming:
        shutil.copy(sidecar, staging / sidecar.name)
        origins["files"][sidecar.name] = str(sidecar)
    if change.changed or replace:
        origins["files"][f"{name}.csv"] = str(path)
    origins[name] = by_line
    return change, []


def _table_change(name: str, replace: bool, base: pd.DataFrame, base_keys: pd.Series, new: pd.DataFrame,
                  new_keys: pd.Series, columns: list[str]) -> TableChange:
    """The rows of ``new`` added to ``base`` or updated in it, compared on ``columns`` (and, for a
    whole-table replacement, the rows of ``base`` removed), by key."""
    change = TableChange(name, replaced=replace)
    base_rows = {k: tuple(r) for k, r in zip(base_keys, base[columns].itertuples(index=False))} if len(base) else {}
    for k, row in zip(new_keys, new[columns].itertuples(index=False)):
        if k not in base_rows:
            change.added.append(k.replace("\x1f", "/"))
        elif base_rows[k] != tuple(row):
            change.updated.append(k.replace("\x1f", "/"))
    if replace:
        change.removed = [k.replace("\x1f", "/") for k in base_keys if k not in set(new_keys)]
    return change


def _origin_by_line(text: str, origin: list[tuple[str, int]]) -> dict[int, tuple[str, int]]:
    """Line of each data record in the merged CSV ``text`` -> the (file, line) it came from."""
    by_line: dict[int, tuple[str, int]] = {}
    line = 2
    for record, src in zip(_record_lines(text)[1:], origin):
        by_line[line] = src
        line += record.count("\n") or 1
    return by_line


def relocate(problem: validation.Problem, staging: Path, origins: Mapping[str, Any], data_dir: Path | None = None,
             ) -> validation.Problem:
    """``problem`` found in the staging copy, named as the user knows it: a merged row's incoming file and
    line, a contract's incoming file, or else the file of ``data/`` it is a copy of."""
    path = Path(problem.file)
    if not path.is_absolute():
        path = Path.cwd() / path
    try:
        rel = path.resolve().relative_to(staging.resolve())
    except ValueError:
        return problem
    name = rel.as_posix()
    table = name[:-4] if name.endswith(".csv") else None
    by_line = origins.get(table) if table is not None else None
    if by_line and problem.line in by_line:
        file, line = by_line[problem.line]
        return validation.Problem(file, line, problem.column, problem.message)
    if name in origins.get("files", {}) and (problem.line is None or not name.endswith(".csv")):
        return validation.Problem(origins["files"][name], problem.line, problem.column, problem.message)
    target = (data_dir / name) if data_dir is not None else paths.DATA / name
    return validation.Problem(validation.file_label(target), problem.line, problem.column, problem.message)


def glued_values(notebook: Path) -> dict[str, str]:
    """The text of every value a notebook glues for its prose."""
    nb = nbformat.read(notebook, as_version=4)
    values: dict[str, str] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            meta = out.get("metadata", {}).get(GLUE_KEY)
            text = out.get("data", {}).get(GLUE_PLAIN)
            if not meta or text is None or "inference-book/figure" in out.get("metadata", {}):
                continue
            values[meta["name"]] = str(text).strip("'\"")
    return values


def write_changes_page(report: RerunReport | None, root: Path) -> Path:
    """The book page "What changed in this edition", from the last rerun's report."""
    lines = ["# What changed in this edition", ""]
    if report is None:
        lines += ["No rerun with new data has been made since this edition was built."]
    else:
        lines += ["The last rerun with new data changed these tables:", "",
                  "| Table | Rows added | Rows updated | Rows removed |", "|---|---:|---:|---:|"]
        for t in report.tables:
            lines.append(f"| `{t.table}`{' (replaced)' if t.replaced else ''} | {len(t.added)} | "
                         f"{len(t.updated)} | {len(t.removed)} |")
        lines += ["", "Chapters executed again: " + (", ".join(f"{{doc}}`{c}`" for c in report.chapters) or "none") + "."]
        if report.parameters:
            lines += ["", "Parameters set for this edition: "
                      + ", ".join(f"`{k}={v}`" for k, v in sorted(report.parameters.items())) + "."]
        if report.moved:
            lines += ["", "Headline numbers that moved:", "", "| Chapter | Value | Before | After |", "|---|---|---|---|"]
            for m in report.moved:
                lines.append(f"| {m['chapter']} | `{m['name']}` | {m['before']} | {m['after']} |")
        else:
            lines += ["", "No headline number moved."]
    text = "\n".join(lines) + "\n"
    path = root / paths.CHAPTERS / CHANGES_PAGE
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def report_json(report: RerunReport) -> str:
    return json.dumps({
        "tables": [{"table": t.table, "added": t.added, "updated": t.updated, "removed": t.removed,
                    "replaced": t.replaced} for t in report.tables],
        "chapters": report.chapters, "moved": report.moved, "parameters": report.parameters,
    }, indent=2)

