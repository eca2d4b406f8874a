"""What every importer shares: the release it reads, its errors, its result, and writing a rerun folder.

An importer turns one public release (a file as its publisher released it) into rows of the book's
tables. It never guesses where the file came from: the caller names the release (repository, commit,
path, publication date), and every row it makes cites the source row built from that release, so a
reader can open the exact file at the exact commit. Names the release uses (accelerator strings,
benchmark names, price-map keys) become the book's slugs only through the mapping tables in
``data/`` (``mlperf_accelerators``, ``mlperf_models``, ``mlperf_precisions``, ``litellm_models``,
``litellm_providers``, ``epoch_hardware``, ``epoch_chips``), which carry their own sources. A name no mapping knows is
counted and reported, never dropped silently.

A malformed release (not valid JSON or CSV, a missing field, a unit the importer does not know, a
duplicate key) raises ``ReleaseError`` naming the file and the record; ``write_folder`` then writes
nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from analysis.data import safety, validation
from analysis.data.contracts import SIDECAR_SUFFIX, load_schema
from analysis.errors import InputError

MAX_RELEASE_BYTES = 256 * 1024 * 1024
RELEASES_TABLE = "releases"
SOURCES_TABLE = "sources"
REPOSITORY_PATTERN = safety.compile_pattern(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,38}/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
COMMIT_PATTERN = safety.compile_pattern(r"[0-9a-f]{40}")
SOURCE_ID_PATTERN = safety.compile_pattern(r"[a-z0-9][a-z0-9.-]{0,99}")


class ReleaseError(InputError, ValueError):
    """A release the importer cannot read as its format: names the file and the record."""

    def __init__(self, file: str, record: str | None, message: str):
        self.file, self.record, self.message = file, record, message
        where = f"{file}: {record}" if record else file
        super().__init__(f"{where}: {message}; nothing was written")


@dataclass(frozen=True)
class Release:
    """One public release: where it lives (repository, commit, path), when and by whom it was published."""

    source_id: str
    format: str
    repository: str
    commit: str
    path: str
    title: str
    producer: str
    licence: str
    published: dt.date | None = None
    accessed: dt.date | None = None
    note: str = ""

    def __post_init__(self) -> None:
        for value, pattern, what in ((self.source_id, SOURCE_ID_PATTERN, "source id"),
                                     (self.repository, REPOSITORY_PATTERN, "repository (owner/name)"),
                                     (self.commit, COMMIT_PATTERN, "commit (40 lower-case hex digits)")):
            if not isinstance(value, str) or pattern.fullmatch(value) is None:
                raise ValueError(f"release {what} {value!r} is not accepted")
        if not self.path or self.path.startswith("/") or ".." in Path(self.path).parts or "\n" in self.path:
            raise ValueError(f"release path {self.path!r} is not a path inside a repository")

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repository}/blob/{self.commit}/{quote(self.path)}"

    def source_row(self) -> dict[str, object]:
        return {"source_id": self.source_id, "title": self.title, "producer": self.producer, "url": self.url,
                "date_published": self.published, "date_accessed": self.accessed or dt.date.today(),
                "licence": self.licence, "kind": "dataset" if self.format.startswith("epoch") else (
                    "benchmark" if self.format == "mlperf" else "price-list"),
                "note": (f"{self.repository} at commit {self.commit}, file {self.path}. " + self.note).strip()}

    def release_row(self, rows: int) -> dict[str, object]:
        return {"source_id": self.source_id, "format": self.format, "repository": self.repository,
                "commit": self.commit, "path": self.path, "date_published": self.published, "rows": rows,
                "source_ids": [self.source_id]}


@dataclass
class ImportResult:
    """Rows for the book's tables, and what the importer could not match or chose not to import."""

    release: Release
    tables: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    unmatched: dict[str, Counter[str]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    read: int = 0

    def add(self, table: str, row: dict[str, object]) -> None:
        self.tables.setdefault(table, []).append(row)

    def miss(self, kind: str, name: str) -> None:
        self.unmatched.setdefault(kind, Counter())[name] += 1

    @property
    def rows(self) -> int:
        return sum(len(v) for k, v in self.tables.items() if k not in (SOURCES_TABLE, RELEASES_TABLE))

    def report(self, limit: int = 40) -> str:
        lines = [f"{self.release.format} {self.release.source_id}: {self.read} records read"]
        for table, rows in sorted(self.tables.items()):
            lines.append(f"  {table}: {len(rows)} rows")
        for reason, count in sorted(self.skipped.items()):
            lines.append(f"  not imported ({reason}): {count}")
        for kind, names in sorted(self.unmatched.items()):
            hint = "" if kind.startswith("price above") else "; add a mapping row to import them"
            lines.append(f"  unmatched {kind} ({len(names)} names, {sum(names.values())} records{hint}):")
            for name, count in names.most_common(limit):
                lines.append(f"    {count:6d}  {name!r}")
            if len(names) > limit:
                lines.append(f"    ... and {len(names) - limit} more")
        return "\n".join(lines)


def read_release(path: Path) -> bytes:
    """The bytes of a release file: a regular file of bounded size, opened without following links."""
    label = validation.file_label(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ReleaseError(label, None, f"cannot be opened ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        kind = validation.file_kind(info.st_mode)
        if kind:
            raise ReleaseError(label, None, f"is {kind}, not a regular file")
        if info.st_size > MAX_RELEASE_BYTES:
            raise ReleaseError(label, None, f"is {info.st_size} bytes; a release may have at most {MAX_RELEASE_BYTES}")
        return f.read(MAX_RELEASE_BYTES + 1)


def read_text(path: Path) -> str:
    """A release (or mapping) file as text: ``read_release``, then UTF-8 (a byte-order mark allowed)."""
    try:
        return read_release(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReleaseError(validation.file_label(path), None, "is not UTF-8") from None


def read_json(path: Path, expected: type, what: str) -> Any:
    """A release file holding one JSON value of type ``expected`` (``what`` names it in the error)."""
    file = validation.file_label(path)
    try:
        value = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ReleaseError(file, None, f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(value, expected):
        raise ReleaseError(file, None, f"is not {what}")
    return value


def read_csv_rows(path: Path, required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """A CSV release as (first line, row) pairs, after checking that its header has ``required``."""
    file = validation.file_label(path)
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise ReleaseError(file, "header", f"columns {missing} are missing")
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        start = reader.line_num + 1
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ReleaseError(file, f"line {reader.line_num}", f"is not valid CSV ({exc})") from None
    return rows


def read_mapping(data_dir: Path, table: str) -> list[dict[str, str]]:
    """A mapping table of ``data/`` as text rows (its contract is checked by every build)."""
    return list(csv.DictReader(io.StringIO(read_text(data_dir / f"{table}.csv"), newline="")))


def number(value: object, file: str, record: str, name: str) -> float:
    """A finite number from a release field (JSON number or decimal text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ReleaseError(file, record, f"field {name!r} is {value!r}, not a number")
    try:
        result = float(value)
    except ValueError:
        raise ReleaseError(file, record, f"field {name!r} is {value!r}, not a number") from None
    if result != result or result in (float("inf"), float("-inf")):
        raise ReleaseError(file, record, f"field {name!r} is {value!r}, not a finite number")
    return result


def tidy(value: float, digits: int = 6) -> float | int:
    """A computed value without binary noise (``8.8e-07 * 1e6`` is 0.88, not 0.8799999999999999)."""
    if value == 0:
        return 0
    rounded = float(f"{value:.{digits}g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 1e15 else rounded


def slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def table_csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        extra = set(row) - set(columns)
        if extra:
            raise ValueError(f"row has columns the contract does not: {sorted(extra)}")
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def merge_results(results: Sequence[ImportResult]) -> dict[str, list[dict[str, object]]]:
    """The tables of several imports together; the same key from two imports is an error."""
    merged: dict[str, list[dict[str, object]]] = {}
    for result in results:
        for table, rows in result.tables.items():
            merged.setdefault(table, []).extend(rows)
        merged.setdefault(SOURCES_TABLE, []).append(result.release.source_row())
        merged.setdefault(RELEASES_TABLE, []).append(result.release.release_row(result.rows))
    return merged


def ordered_tables(tables: Mapping[str, list[dict[str, object]]], data_dir: Path) -> dict[str, str]:
    """Each table as CSV text in its contract's column order, rows sorted by primary key, keys unique."""
    texts: dict[str, str] = {}
    for table, rows in sorted(tables.items()):
        schema = load_schema(data_dir / f"{table}{SIDECAR_SUFFIX}")
        key = list(schema.primary_key)
        seen: dict[tuple[str, ...], int] = {}
        unique: list[Mapping[str, object]] = []
        for row in rows:
            k = tuple(_cell(row.get(c)) for c in key)
            if k in seen:
                if table in (SOURCES_TABLE, RELEASES_TABLE) and unique[seen[k]] == row:
                    continue
                raise ValueError(f"{table}: two imported rows have the key {dict(zip(key, k))}")
            seen[k] = len(unique)
            unique.append(row)
        unique.sort(key=lambda r: tuple(_cell(r.get(c)) for c in key))
        texts[table] = table_csv(schema.column_names, unique)
    return texts


def write_folder(results: Sequence[ImportResult], out: Path, data_dir: Path) -> dict[str, int]:
    """Write a rerun folder (``<table>.csv`` files in the book's format) at ``out``, all or nothing.

    ``out`` must not exist or be an empty folder. The files are written into a temporary folder beside
    it and renamed into place, so a failure leaves nothing behind. Returns the rows per table.
    """
    texts = ordered_tables(merge_results(results), data_dir)
    out = out.absolute()
    if out.exists() and (not out.is_dir() or out.is_symlink() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder: choose a new --out folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        for table, text in texts.items():
            (staging / f"{table}.csv").write_text(text, encoding="utf-8", newline="")
        if out.exists():
            out.rmdir()
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {table: text.count("\n") - 1 for table, text in texts.items()}
