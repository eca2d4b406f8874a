"""A data folder's tables read into DuckDB and checked there: ``load_table`` and ``check_references``.

A ``Workspace`` is an in-memory DuckDB database holding, in its schema ``incoming``, each CSV file
of a run read once with every column as text (``read_csv`` with the dialect fixed: comma, ``"``
quoting, a header, strict about quotes and row widths). ``load_table`` scans the file's bytes
(``csvfile.scan``: digest, UTF-8, lines), reads it, places every record on its line of the file
(``csvfile.LineMap``), and runs the cell checks (``checks.run``), the key check and ``must_include``
(``keys``) on it; ``check_references`` then checks every reference across the tables. A
``LoadedTable`` keeps its workspace: ``analysis.data.store`` builds the typed tables of the store
from the same relations.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analysis.data import checks, csvfile, keys
from analysis.data.contracts import TableSchema
from analysis.data.problems import Problem, file_label
from analysis.data.safety import quote_ident

SCHEMA = "incoming"
CONFIG = {"autoload_known_extensions": False, "autoinstall_known_extensions": False,
          "allow_community_extensions": False, "preserve_insertion_order": True}
READ_CSV = ("read_csv($path, header = true, auto_detect = false, columns = $columns, delim = ',', quote = '\"', "
            "escape = '\"', new_line = '\\n', strict_mode = true, null_padding = false, compression = 'none', "
            "encoding = 'utf-8')")
GLOB_CHARACTERS = frozenset("*?[]{}")


class Workspace:
    """The in-memory DuckDB database in which a run's CSV files are read and checked."""

    def __init__(self) -> None:
        self.con = duckdb.connect(":memory:", config=dict(CONFIG))
        self.con.execute(f"CREATE SCHEMA {SCHEMA}")

    def relation(self, name: str) -> str:
        return f"{SCHEMA}.{quote_ident(name)}"

    def read(self, schema: TableSchema, path: Path, columns: list[str]) -> int:
        """Read the CSV at ``path`` (header ``columns``, every one as text) into the relation of the
        table, with the flags the checks test (``checks.flags``); the number of records.
        ``duckdb.Error`` when DuckDB refuses the file."""
        name = schema.name
        self.drop(name)
        source = str(path.absolute())
        copy = None
        if GLOB_CHARACTERS & set(source):  # read_csv would take the name for a pattern
            copy = Path(tempfile.mkdtemp(prefix="inference-book-")) / "table.csv"
            shutil.copyfile(path, copy)
            source = str(copy)
        p = checks.Params()
        sql = f"CREATE TABLE {self.relation(name)} AS SELECT *, {checks.flags(schema, p)} FROM {READ_CSV}"
        try:
            self.con.execute(sql, {**p.of(sql), "path": source, "columns": {c: "VARCHAR" for c in columns}})
        finally:
            if copy is not None:
                shutil.rmtree(copy.parent, ignore_errors=True)
        counted = self.con.execute(f"SELECT count(*) FROM {self.relation(name)}").fetchone()
        return int(counted[0]) if counted else 0

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {self.relation(name)}")


@dataclass(eq=False)
class LoadedTable:
    """A table that passed its own checks, as text in its workspace, with what the build needs."""

    schema: TableSchema
    workspace: Workspace
    rows: int
    linemap: csvfile.LineMap
    csv_path: Path
    sha256: str
    file_label: str = ""

    @property
    def relation(self) -> str:
        return self.workspace.relation(self.schema.name)

    @cached_property
    def frame(self) -> pd.DataFrame:
        """Every cell as text ('' where blank), one row per record, in file order."""
        cells = ", ".join(f"{checks.text(c, i)} AS {quote_ident(c.name)}" for i, c in enumerate(self.schema.columns))
        return self.workspace.con.execute(f"SELECT {cells} FROM {self.relation} ORDER BY rowid").df()

    @cached_property
    def lines(self) -> np.ndarray:
        """The file line on which each record starts."""
        return self.linemap.lines()


def _problems(label: str, linemap: csvfile.LineMap, found: list[checks.Finding]) -> list[Problem]:
    return [Problem(label, None if row is None else linemap.line(row), column, message)
            for row, column, message in found]


def load_table(schema: TableSchema, csv_path: Path, *, whole: bool = True,
               workspace: Workspace | None = None) -> tuple[LoadedTable | None, list[Problem]]:
    """Read one CSV into ``workspace`` (a new one by default) and check it against its own schema
    (references are checked later). ``whole=False`` for rows to be merged into a table, which need
    not hold the rows ``must_include`` asks for."""
    label = file_label(csv_path)
    if not csv_path.exists():
        return None, [Problem(label, None, None, f"missing: the sidecar {schema.path.name} has no CSV beside it")]
    scanned = csvfile.scan(csv_path)
    if not scanned.utf8:
        return None, csvfile.decode(csv_path.read_bytes(), label)[1]
    if scanned.blank:
        return None, [Problem(label, None, None, "the file is empty; expected a header line and rows")]
    ws = workspace if workspace is not None else Workspace()
    rows, linemap, problems = _read(ws, schema, csv_path, label, scanned)
    if linemap is None or problems:
        ws.drop(schema.name)
        return None, problems
    scanned.digest.update(schema.path.read_bytes())
    table = LoadedTable(schema, ws, rows, linemap, csv_path, scanned.digest.hexdigest(), label)
    relation = table.relation
    try:
        found = checks.run(ws.con, schema, relation) + keys.duplicates(ws.con, schema, relation)
    except duckdb.Error as exc:  # a contract's pattern that DuckDB's RE2 refuses, say
        ws.drop(schema.name)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, [Problem(file_label(schema.path), None, None, f"the contract's checks cannot run: {reason}")]
    problems = _problems(label, linemap, found)
    for column, value in keys.absent(ws.con, schema, relation) if whole else ():
        problems.append(Problem(label, None, column, f"no row has {column} {value!r}; the contract requires at "
                                "least one (must_include: the chapters read these rows)"))
    return table, problems


def _read(ws: Workspace, schema: TableSchema, path: Path, label: str, scanned: csvfile.Scan,
          ) -> tuple[int, csvfile.LineMap | None, list[Problem]]:
    """Read the file into ``ws``: its records, where each starts, and the problems that stop it being
    checked further (a bad header, ragged rows, blank lines, too many rows, no rows)."""
    header = csvfile.read_header(path)
    if header is None or sorted(header[0]) != sorted(schema.column_names):
        return 0, None, csvfile.structure(_text(path), label, schema)[1] or [Problem(label, 1, None, "unreadable header")]
    if scanned.cr or scanned.spaced_quote:
        return _relayed(ws, schema, path, label)
    names, header_lines = header
    try:
        rows = ws.read(schema, path, names)
    except duckdb.Error as exc:
        starts, problems = csvfile.structure(_text(path), label, schema)
        return 0, None, problems or [_refused(label, exc, starts)]
    linemap = _linemap(ws, schema, rows, header_lines, scanned.lines)
    if linemap is None:
        starts, problems = csvfile.structure(_text(path), label, schema)
        if problems or len(starts) != rows:
            return rows, None, problems or [_disagree(label, len(starts), rows)]
        linemap = csvfile.LineMap(rows, starts=starts)
    return rows, linemap, _size_problems(schema, label, rows, linemap)


def _relayed(ws: Workspace, schema: TableSchema, path: Path, label: str,
             ) -> tuple[int, csvfile.LineMap | None, list[Problem]]:
    """A file with carriage returns or spaced quotes (``csvfile.Scan``), read by the csv module and
    relayed to DuckDB (``csvfile.relay``)."""
    text = _text(path)
    starts, problems = csvfile.structure(text, label, schema)
    if problems:
        return 0, None, problems
    folder = Path(tempfile.mkdtemp(prefix="inference-book-"))
    try:
        relayed = folder / "table.csv"
        csvfile.relay(text, relayed)
        del text
        header = csvfile.read_header(relayed)
        assert header is not None
        rows = ws.read(schema, relayed, header[0])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if len(starts) != rows:
        return rows, None, [_disagree(label, len(starts), rows)]
    linemap = csvfile.LineMap(rows, starts=starts)
    return rows, linemap, _size_problems(schema, label, rows, linemap)


def _disagree(label: str, python_rows: int, duckdb_rows: int) -> Problem:
    return Problem(label, None, None, f"unreadable CSV: {python_rows} records by Python's csv module, "
                   f"{duckdb_rows} by DuckDB; check the quotes and line breaks")


def _size_problems(schema: TableSchema, label: str, rows: int, linemap: csvfile.LineMap) -> list[Problem]:
    """More rows than the contract allows, or none."""
    if rows > schema.max_rows:
        return [Problem(label, linemap.line(schema.max_rows), None, csvfile.too_many_rows(schema))]
    if rows == 0:
        return [Problem(label, None, None, "the table has a header but no rows")]
    return []


def _text(path: Path) -> str:
    text, _ = csvfile.decode(path.read_bytes(), file_label(path))
    return text or ""


REFUSALS = (
    ("unterminated quote", "a quoted field goes on after its closing quote; expected the whole field quoted, "
                           "with each quote inside it doubled"),
    ("maximum line size", "a record is longer than DuckDB reads (2 MB)"),
)


def _refused(label: str, exc: duckdb.Error, starts: np.ndarray) -> Problem:
    """Why DuckDB refuses a file that Python's csv module reads, on the line of the record (DuckDB
    numbers records, the header being 1)."""
    text = str(exc)
    line = None
    match = re.search(r"CSV Error on Line: (\d+)", text)
    if match and 2 <= int(match.group(1)) <= len(starts) + 1:
        line = int(starts[int(match.group(1)) - 2])
    reason = next((why for words, why in REFUSALS if words in text.lower()), text.splitlines()[0] if text else "")
    return Problem(label, line, None, f"unreadable CSV: {reason}")


def _linemap(ws: Workspace, schema: TableSchema, rows: int, header_lines: int, lines: int) -> csvfile.LineMap | None:
    """Where each record starts, from the line breaks inside its values; None when the records do
    not account for every line of the file (a blank line: ``structure`` says where)."""
    first = header_lines + 1
    if lines == header_lines + rows:
        return csvfile.LineMap(rows, first)
    relation = ws.relation(schema.name)
    qs = [quote_ident(c) for c in schema.column_names]
    breaks = " + ".join(f"coalesce(strlen({q}) - strlen(replace({q}, chr(10), '')), 0)" for q in qs)
    holding = " OR ".join(f"contains({q}, chr(10))" for q in qs)
    found = ws.con.execute(f"SELECT rowid, {breaks} FROM {relation} WHERE {holding} ORDER BY rowid").fetchall()
    spans = np.asarray([r for r, _ in found], dtype=np.int64)
    counts = np.asarray([n for _, n in found], dtype=np.int64)
    if lines != header_lines + rows + int(counts.sum()):
        return None
    return csvfile.LineMap(rows, first, spans, counts)


def check_references(tables: Mapping[str, LoadedTable], broken: set[str]) -> list[Problem]:
    """Every value (list item) of a referencing column not found in the column it refers to; a
    reference to a table in ``broken`` (one that failed its own checks) is left until that table is
    fixed."""
    problems: list[Problem] = []
    for name, table in sorted(tables.items()):
        for col in table.schema.columns:
            if col.references is None:
                continue
            target_table, target_col = col.references
            target = tables.get(target_table)
            if target is None and target_table in broken:
                continue
            if target is None or target_col not in target.schema.column_names:
                problems.append(Problem(table.file_label, None, col.name,
                                        f"refers to {target_table}.{target_col}, which is not a valid table column"))
                continue
            if target.workspace is not table.workspace:
                raise ValueError(f"{name} and {target_table} were read into different workspaces")
            found = keys.dangling(table.workspace.con, table.schema, col.name, table.relation,
                                  (target.relation, target_table, target_col))
            problems += _problems(table.file_label, table.linemap, found)
    return problems

