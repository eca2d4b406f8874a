"""Validate the data files against their contracts, collecting every problem before anything is written.

Validation reads every ``data/<table>.csv`` with its ``<table>.meta.yml``: undecodable bytes, an
empty file, missing or unexpected columns, ragged rows, values of the wrong type, empty required
cells, values outside their range or allowed set, duplicate keys and references to rows that do not
exist. Each ``Problem`` names the file, the line, the column and what was expected; ``check_files``
refuses anything in a data folder that is not a regular, plainly named table file first. This module
reads the files and checks their structure, keys and references; ``analysis.data.cells`` checks the
cells themselves (type, emptiness, length, pattern, allowed values, bounds).
``analysis.data.store`` builds the store from what ``validate`` returns.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import paths
from analysis.data.cells import MAX_REPORTS_PER_CHECK, Finding, check_column, findings
from analysis.data.contracts import (
    LIST_SEPARATOR,
    MAX_ROWS,
    SIDECAR_SUFFIX,
    SOURCES_TABLE,
    SchemaError,
    TableSchema,
    load_schema,
)
from analysis.data.safety import is_identifier
from analysis.errors import InputError

DEFAULT_DATA_DIR = paths.ROOT / paths.DATA
MAX_CSV_BYTES = 64 * 1024 * 1024
MAX_SIDECAR_BYTES = 256 * 1024
TABLE_SUFFIXES = (".csv", SIDECAR_SUFFIX)
REPLACE_SUFFIX = ".replace.csv"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a data file."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{where}: {self.message}"


class ValidationError(InputError):
    """The data files have problems; ``problems`` lists every one."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__(self.report())

    def report(self) -> str:
        head = f"{len(self.problems)} problem(s) in the data; the store was not changed."
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


@dataclass
class LoadedTable:
    """A table that passed its own checks: raw text cells plus what the build needs."""

    schema: TableSchema
    frame: pd.DataFrame
    lines: np.ndarray
    csv_path: Path
    sha256: str
    file_label: str = field(default="")


def file_label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _decode(raw: bytes, label: str) -> tuple[str | None, list[Problem]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.end].hex(" ")
        return None, [Problem(label, line, None, f"bytes {bad} are not UTF-8; save the file as UTF-8")]
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, []


def _structure(text: str, label: str, schema: TableSchema) -> tuple[list[str], np.ndarray, list[Problem]]:
    """Header and the starting line of every record; ragged rows and header problems."""
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], np.empty(0, dtype=np.int64), [Problem(label, None, None, "the file is empty; expected a header line")]
    except csv.Error as exc:
        return [], np.empty(0, dtype=np.int64), [Problem(label, 1, None, f"unreadable header: {exc}")]
    header = [h.strip() for h in header]
    expected = list(schema.column_names)
    for name in expected:
        if name not in header:
            problems.append(Problem(label, 1, name, "missing column (declared in the sidecar)"))
    for name in header:
        if name not in expected:
            problems.append(Problem(label, 1, name, "unexpected column (not declared in the sidecar)"))
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(label, 1, name, "column appears twice in the header"))
        seen.add(name)
    width = len(header)
    starts: list[int] = []
    previous = reader.line_num
    ragged = 0
    try:
        for row in reader:
            start = previous + 1
            previous = reader.line_num
            if not row:
                problems.append(Problem(label, start, None, "blank line inside the table"))
                starts.append(-1)
                continue
            starts.append(start)
            if len(starts) > schema.max_rows:
                problems.append(Problem(label, start, None,
                                        f"the table has more than {schema.max_rows} rows, the most its contract "
                                        f"allows (max_rows, at most {MAX_ROWS} for any table)"))
                break
            if len(row) != width:
                ragged += 1
                if ragged <= MAX_REPORTS_PER_CHECK:
                    problems.append(
                        Problem(label, start, None, f"ragged row: {len(row)} fields, the header has {width}")
                    )
    except csv.Error as exc:
        problems.append(Problem(label, previous + 1, None, f"unreadable CSV: {exc}"))
    if ragged > MAX_REPORTS_PER_CHECK:
        problems.append(Problem(label, None, None, f"... and {ragged - MAX_REPORTS_PER_CHECK} more ragged rows"))
    if not starts and not problems:
        problems.append(Problem(label, None, None, "the table has a header but no rows"))
    return header, np.asarray(starts, dtype=np.int64), problems


def _problems(label: str, found: Iterable[Finding]) -> list[Problem]:
    """``analysis.data.cells`` findings as problems of the file ``label``."""
    return [Problem(label, line, column, message) for line, column, message in found]


def load_table(schema: TableSchema, csv_path: Path, *, whole: bool = True) -> tuple[LoadedTable | None, list[Problem]]:
    """Read one CSV and check it against its own schema (references are checked later). ``whole=False``
    for rows to be merged into a table, which need not hold the rows ``must_include`` asks for."""
    label = file_label(csv_path)
    if not csv_path.exists():
        return None, [Problem(label, None, None, f"missing: the sidecar {schema.path.name} has no CSV beside it")]
    raw = csv_path.read_bytes()
    text, problems = _decode(raw, label)
    if text is None:
        return None, problems
    if not text.strip():
        return None, [Problem(label, None, None, "the file is empty; expected a header line and rows")]
    header, lines, problems = _structure(text, label, schema)
    if problems:
        return None, problems
    frame = pd.read_csv(
        io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False, skipinitialspace=False,
    )
    frame.columns = header
    frame = frame[list(schema.column_names)]
    for col in schema.columns:
        frame[col.name] = frame[col.name].str.strip()
        problems += _problems(label, check_column(frame, col, lines))
    key = list(schema.primary_key)
    dup = frame.duplicated(subset=key, keep="first").to_numpy()
    duplicate = findings(lines, dup, ",".join(key),
                         lambda i: "duplicate key " + "/".join(repr(frame[k].iat[i]) for k in key))
    problems += _problems(label, duplicate)
    for column, wanted in schema.must_include if whole else ():
        present = set(frame[column])
        for value in wanted:
            if value not in present:
                problems.append(Problem(label, None, column,
                                        f"no row has {column} {value!r}; the contract requires at least one "
                                        "(must_include: the chapters read these rows)"))
    digest = hashlib.sha256(raw + schema.path.read_bytes()).hexdigest()
    return LoadedTable(schema, frame, lines, csv_path, digest, label), problems


def _check_references(tables: dict[str, LoadedTable], problems: list[Problem]) -> None:
    for table in tables.values():
        for col in table.schema.columns:
            if col.references is None:
                continue
            target_table, target_col = col.references
            target = tables.get(target_table)
            if target is None or target_col not in target.frame.columns:
                problems.append(Problem(table.file_label, None, col.name,
                                        f"refers to {target_table}.{target_col}, which is not a valid table column"))
                continue
            known = set(target.frame[target_col])
            values = table.frame[col.name]
            present = values != ""
            if col.type == "list":
                items = values[present].str.split(LIST_SEPARATOR).explode().str.strip()
                unknown = items[~items.isin(known)]
                shown = unknown.groupby(level=0).agg(lambda s: ", ".join(map(repr, s)))
            else:
                unknown = values[present & ~values.isin(known)]
                shown = unknown.map(repr)
            mask = np.zeros(len(values), dtype=bool)
            mask[table.frame.index.get_indexer(shown.index)] = True
            problems += _problems(table.file_label, findings(
                table.lines, mask, col.name,
                lambda i, s=shown, t=target_table, c=target_col:
                f"{s.loc[table.frame.index[i]]} not found in {t}.{c}"))


def file_kind(mode: int) -> str | None:
    """What a non-regular file is, for the message."""
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return word
    return None if stat.S_ISREG(mode) else "not a regular file"


def table_name_of(file_name: str) -> str | None:
    """The table a file in a data folder belongs to (``chips.csv``, ``chips.replace.csv`` and
    ``chips.meta.yml`` all give ``chips``), or None when the name is not a table file's."""
    for suffix in (REPLACE_SUFFIX, SIDECAR_SUFFIX, ".csv"):
        if file_name.endswith(suffix):
            return file_name[: -len(suffix)]
    return None


def check_files(folder: Path, *, incoming: bool = False) -> list[Problem]:
    """File-level checks of a data folder, before any file in it is read as a table or contract.

    Every entry whose name ends (in any letter case) with ``.csv`` or ``.meta.yml`` -- and, for an
    ``incoming`` rerun folder, every entry at all -- must be a regular file (not a symbolic link,
    directory, FIFO, device or socket), not hidden (no leading dot), named ``<table>.csv``,
    ``<table>.meta.yml`` (or, incoming, ``<table>.replace.csv``) in lower case with a table name
    matching ``safety.IDENTIFIER_RE`` (so no path separator, ``..``, quote or space), at most
    ``MAX_CSV_BYTES`` (CSV) or ``MAX_SIDECAR_BYTES`` (contract) long, and free of NUL bytes. Each
    problem names the file; nothing is changed.
    """
    problems: list[Problem] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        return [Problem(file_label(folder), None, None, f"cannot list the folder: {exc.strerror}")]
    for entry in entries:
        if not entry.name.lower().endswith(TABLE_SUFFIXES) and not incoming:
            continue
        problem = _file_problem(Path(folder) / entry.name, incoming=incoming)
        if problem is not None:
            problems.append(problem)
    return problems


def _file_problem(path: Path, *, incoming: bool) -> Problem | None:
    """The first thing wrong with one entry of a data folder (``check_files``), or None."""
    name = path.name
    label = file_label(path)
    if name.startswith("."):
        return Problem(label, None, None, "hidden file names are not allowed in a data folder")
    try:
        info = os.lstat(path)
    except OSError as exc:
        return Problem(label, None, None, f"cannot read it: {exc.strerror}")
    kind = file_kind(info.st_mode)
    if kind is not None:
        return Problem(label, None, None, f"is {kind}; a table file must be a regular file")
    wrong_name = _name_problem(name, incoming=incoming)
    if wrong_name is not None:
        return Problem(label, None, None, wrong_name)
    limit = MAX_SIDECAR_BYTES if name.endswith(SIDECAR_SUFFIX) else MAX_CSV_BYTES
    if info.st_size > limit:
        return Problem(label, None, None, f"the file has {info.st_size} bytes; at most {limit} are allowed")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Problem(label, None, None, f"cannot read it: {exc.strerror}")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        column = nul - (raw.rfind(b"\n", 0, nul) + 1) + 1
        return Problem(label, line, None, f"a NUL byte at character {column}; text files only")
    return None


def _name_problem(name: str, *, incoming: bool) -> str | None:
    """Why ``name`` is not a table file's name in a data folder (``incoming``: a rerun folder), or None."""
    table = table_name_of(name)
    if table is None:
        lower = name.lower()
        what = ("<table>.csv, <table>.replace.csv or <table>.meta.yml" if incoming
                else "<table>.csv or <table>.meta.yml")
        shown = (f"the extension must be lower case ({lower!r})" if table_name_of(lower) is not None
                 else f"only {what} may be here")
        return f"not a table file name: {shown}"
    if not incoming and name.endswith(REPLACE_SUFFIX) and not is_identifier(table):
        table = name[: -len(".csv")]
    if not is_identifier(table):
        return (f"table name {table!r} is not allowed: use a lower-case letter, then "
                "lower-case letters, digits or underscores (at most 63)")
    return None


def table_files(data_dir: Path, overrides: dict[str, Path] | None = None) -> dict[str, tuple[Path, Path]]:
    """Table name -> (sidecar, csv) for every sidecar in ``data_dir``, CSVs optionally replaced."""
    files = {}
    for sidecar in sorted(data_dir.glob(f"*{SIDECAR_SUFFIX}")):
        name = sidecar.name[: -len(SIDECAR_SUFFIX)]
        files[name] = (sidecar, data_dir / f"{name}.csv")
    for name, path in (overrides or {}).items():
        sidecar = files.get(name, (path.with_name(f"{name}{SIDECAR_SUFFIX}"), path))[0]
        files[name] = (sidecar, path)
    return files


def validate(data_dir: Path = DEFAULT_DATA_DIR, *, overrides: dict[str, Path] | None = None) -> dict[str, LoadedTable]:
    """Check every table in ``data_dir``; raise ``ValidationError`` listing every problem."""
    problems: list[Problem] = check_files(data_dir)
    if problems:
        raise ValidationError(problems)
    tables: dict[str, LoadedTable] = {}
    files = table_files(data_dir, overrides)
    for csv_path in sorted(data_dir.glob("*.csv")):
        if csv_path.stem not in files:
            problems.append(Problem(file_label(csv_path), None, None,
                                    f"no sidecar {csv_path.stem}{SIDECAR_SUFFIX}: every table needs its contract"))
    for name, (sidecar, csv_path) in files.items():
        try:
            schema = load_schema(sidecar)
        except SchemaError as exc:
            problems.append(Problem(file_label(sidecar), None, None, str(exc).split(": ", 1)[-1]))
            continue
        table, found = load_table(schema, csv_path)
        problems.extend(found)
        if table is not None:
            tables[name] = table
    if SOURCES_TABLE not in files:
        problems.append(Problem(file_label(data_dir), None, None, f"no {SOURCES_TABLE} table: every row must cite a source"))
    if not problems:
        _check_references(tables, problems)
    if problems:
        raise ValidationError(problems)
    return tables
