"""A CSV file before its cells are checked: its bytes, its header and where each record starts.

``scan`` reads a file once, in chunks: the SHA-256 of its bytes, whether they are UTF-8, how many
lines it has, whether a carriage return stands alone anywhere, and whether it holds anything but
white space. ``read_header`` reads the header record alone. DuckDB then reads the cells
(``analysis.data.tables``), and ``LineMap`` says on which line of the file each record starts: a record
whose values hold line breaks spans more than one line, and lines are counted as an editor shows them.

When DuckDB refuses the file, or its records do not account for every line (a blank line),
``structure`` reads the records with Python's csv module, which says exactly where: ragged rows,
blank lines, an unreadable header, missing or unexpected columns, too many rows. A file with carriage
returns (CRLF, lone CR or mixed line endings, which DuckDB's reader does not take reliably), or with
spaces between a quote and its comma (which DuckDB drops and the csv module keeps), is read by the csv
module and handed to DuckDB rewritten with line feeds and every field quoted (``relay``). ``decode`` says where bytes
that are not UTF-8 are.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.data.contracts import MAX_ROWS, TableSchema
from analysis.data.problems import MAX_REPORTS_PER_CHECK, Problem

CHUNK_BYTES = 1 << 20
SPACED_QUOTE = re.compile(rb'(^|,) +"|" +(,|\r|$)', re.MULTILINE)


@dataclass
class Scan:
    """What one pass over a file's bytes found: its digest (a ``hashlib`` object, still open), its
    lines (counted at line feeds), whether it holds a carriage return anywhere, nothing but white
    space, bytes that are not UTF-8, or spaces between a quote and the comma or line break beside it
    (``SPACED_QUOTE``: DuckDB drops those spaces, the csv module keeps them as part of the value)."""

    digest: Any
    lines: int
    cr: bool
    blank: bool
    utf8: bool
    spaced_quote: bool = False


def scan(path: Path) -> Scan:
    """One pass over the bytes of the file at ``path``, in chunks."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, blank, breaks, cr, last, spaced, tail = True, True, 0, False, b"", False, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            if not spaced:
                spaced, tail = _spaced_quote(tail + chunk)
            digest.update(chunk)
            if utf8 and (not chunk.isascii() or decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if blank:
                blank = not chunk.decode("utf-8", "ignore").lstrip("\ufeff").strip()
            breaks += chunk.count(b"\n")
            cr = cr or b"\r" in chunk
            last = chunk[-1:]
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    lines = breaks + (1 if last not in (b"", b"\n") else 0)
    return Scan(digest, lines, cr, blank, utf8, spaced)


def _spaced_quote(data: bytes) -> tuple[bool, bytes]:
    """Whether ``data`` has spaces between a quote and a comma or line break, and the end of it (its
    trailing spaces and the byte before them) to put before the next chunk."""
    codes = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(codes == ord('"'))
    beside = np.concatenate([quotes[quotes >= 1] - 1, quotes[quotes < len(codes) - 1] + 1])
    if (codes[beside] == ord(" ")).any() and SPACED_QUOTE.search(data):  # a cheap screen, then the pattern
        return True, b""
    kept = len(data.rstrip(b" "))
    return False, data[max(kept - 1, 0):]


def decode(raw: bytes, label: str) -> tuple[str | None, list[Problem]]:
    """The text of a file (without a byte order mark), or the line and bytes that are not UTF-8."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.end].hex(" ")
        return None, [Problem(label, line, None, f"bytes {bad} are not UTF-8; save the file as UTF-8")]
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, []


def read_header(path: Path) -> tuple[list[str], int] | None:
    """The header record's names (stripped) and how many lines it spans; None when the csv module
    cannot read it (``structure`` then says why)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except (StopIteration, csv.Error):
            return None
        return [h.strip() for h in header], reader.line_num


def header_problems(header: list[str], label: str, schema: TableSchema) -> list[Problem]:
    """Columns of the contract missing from the header, columns it does not declare, names twice."""
    expected = list(schema.column_names)
    problems = [Problem(label, 1, name, "missing column (declared in the sidecar)")
                for name in expected if name not in header]
    problems += [Problem(label, 1, name, "unexpected column (not declared in the sidecar)")
                 for name in header if name not in expected]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(label, 1, name, "column appears twice in the header"))
        seen.add(name)
    return problems


def too_many_rows(schema: TableSchema) -> str:
    return (f"the table has more than {schema.max_rows} rows, the most its contract allows "
            f"(max_rows, at most {MAX_ROWS} for any table)")


def structure(text: str, label: str, schema: TableSchema) -> tuple[np.ndarray, list[Problem]]:
    """The starting line of every record as the csv module reads ``text``, and its ragged rows,
    blank lines, header problems and rows beyond the contract's ``max_rows``."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return np.empty(0, dtype=np.int64), [Problem(label, None, None, "the file is empty; expected a header line")]
    except csv.Error as exc:
        return np.empty(0, dtype=np.int64), [Problem(label, 1, None, f"unreadable header: {exc}")]
    problems = header_problems(header, label, schema)
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
                problems.append(Problem(label, start, None, too_many_rows(schema)))
                break
            if len(row) != width:
                ragged += 1
                if ragged <= MAX_REPORTS_PER_CHECK:
                    problems.append(Problem(label, start, None, f"ragged row: {len(row)} fields, the header has {width}"))
    except csv.Error as exc:
        problems.append(Problem(label, previous + 1, None, f"unreadable CSV: {exc}"))
    if ragged > MAX_REPORTS_PER_CHECK:
        problems.append(Problem(label, None, None, f"... and {ragged - MAX_REPORTS_PER_CHECK} more ragged rows"))
    return np.asarray(starts, dtype=np.int64), problems


def relay(text: str, out: Path) -> None:
    """Write the records of ``text`` as the csv module reads them to ``out``: every field quoted,
    line feeds between records (so carriage returns stay inside the values that hold them)."""
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        reader = csv.reader(io.StringIO(text, newline=""))
        writer.writerow([h.strip() for h in next(reader)])
        writer.writerows(reader)


@dataclass(frozen=True)
class LineMap:
    """The file line on which each of ``rows`` records starts.

    Either every start is given (``starts``, from ``structure``), or record 0 starts on line
    ``first`` and each record starts on the line after the previous one ended: ``spans`` lists the
    records whose values hold line breaks (ascending) and ``breaks`` how many each holds.
    """

    rows: int
    first: int = 2
    spans: np.ndarray | None = None
    breaks: np.ndarray | None = None
    starts: np.ndarray | None = None

    def line(self, row: int) -> int:
        """The line on which record ``row`` (0 = the first after the header) starts."""
        if self.starts is not None:
            return int(self.starts[row])
        before = 0
        if self.spans is not None and len(self.spans):
            k = int(np.searchsorted(self.spans, row, side="left"))
            before = int(self.breaks[:k].sum()) if k else 0  # type: ignore[index]
        return self.first + row + before

    def lines(self) -> np.ndarray:
        """The starting line of every record."""
        if self.starts is not None:
            return self.starts.copy()
        shift = np.zeros(self.rows + 1, dtype=np.int64)
        if self.spans is not None and len(self.spans):
            np.add.at(shift, self.spans + 1, self.breaks)
        return self.first + np.arange(self.rows, dtype=np.int64) + np.cumsum(shift)[: self.rows]
