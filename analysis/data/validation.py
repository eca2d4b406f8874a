"""Validate the data files against their contracts, collecting every problem before anything is written.

Validation reads every ``data/<table>.csv`` with its ``<table>.meta.yml``: undecodable bytes, an
empty file, missing or unexpected columns, ragged rows, values of the wrong type, empty required
cells, values outside their range or allowed set, duplicate keys and references to rows that do not
exist. Each ``Problem`` names the file, the line, the column and what was expected, and every
problem of every file is reported at once, references included. ``check_files`` refuses anything in
a data folder that is not a regular, plainly named table file first. The files are read and checked
in DuckDB (``analysis.data.tables``: the cells by ``checks``, keys and references by ``keys``);
``analysis.data.store`` builds the store from what ``validate`` returns.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from analysis import paths
from analysis.data.contracts import SIDECAR_SUFFIX, SOURCES_TABLE, SchemaError, load_schema
from analysis.data.problems import Problem, ValidationError, file_label
from analysis.data.safety import is_identifier
from analysis.data.tables import LoadedTable, Workspace, check_references, load_table

DEFAULT_DATA_DIR = paths.ROOT / paths.DATA
MAX_CSV_BYTES = 64 * 1024 * 1024
MAX_SIDECAR_BYTES = 256 * 1024
TABLE_SUFFIXES = (".csv", SIDECAR_SUFFIX)
REPLACE_SUFFIX = ".replace.csv"
CHUNK_BYTES = 1 << 20

__all__ = ["DEFAULT_DATA_DIR", "LoadedTable", "Problem", "ValidationError", "check_files", "file_kind",
           "file_label", "load_table", "table_files", "table_name_of", "validate"]


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
        return _nul_problem(path, label)
    except OSError as exc:
        return Problem(label, None, None, f"cannot read it: {exc.strerror}")


def _nul_problem(path: Path, label: str) -> Problem | None:
    """The line and character of the first NUL byte of the file (read in chunks), or None."""
    offset = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                fh.seek(0)
                before = fh.read(offset + nul)
                line = before.count(b"\n") + 1
                column = len(before) - (before.rfind(b"\n") + 1) + 1
                return Problem(label, line, None, f"a NUL byte at character {column}; text files only")
            offset += len(chunk)
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
    workspace = Workspace()
    broken: set[str] = set()
    for name, (sidecar, csv_path) in files.items():
        try:
            schema = load_schema(sidecar)
        except SchemaError as exc:
            problems.append(Problem(file_label(sidecar), None, None, str(exc).split(": ", 1)[-1]))
            broken.add(name)
            continue
        table, found = load_table(schema, csv_path, workspace=workspace)
        problems.extend(found)
        if table is None:
            broken.add(name)
        else:
            tables[name] = table
    if SOURCES_TABLE not in files:
        problems.append(Problem(file_label(data_dir), None, None, f"no {SOURCES_TABLE} table: every row must cite a source"))
    problems += check_references(tables, broken)
    if problems:
        raise ValidationError(problems)
    return tables
