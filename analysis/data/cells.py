"""A table's cells against its column contracts: type, emptiness, length, pattern, allowed values, bounds.

``check_column`` reads one column of a table's raw text cells (as ``analysis.data.validation`` loads
them, stripped) and returns what is wrong with them as ``Finding`` triples: the file line of the
record, the column and the message. It knows nothing of files; ``validation`` turns each finding into
a ``Problem`` naming the file. At most ``MAX_REPORTS_PER_CHECK`` cells are named per check, followed by
one line (with no line number) counting the rest.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from analysis.data.contracts import LIST_SEPARATOR, Column
from analysis.data.safety import compile_pattern

MAX_REPORTS_PER_CHECK = 10
DATE_RE = r"\d{4}-\d{2}-\d{2}"

Finding = tuple[int | None, str | None, str]
"""One problem in a table's cells: file line (None for a count of further cells), column, message."""

__all__ = ["DATE_RE", "MAX_REPORTS_PER_CHECK", "Finding", "check_column", "findings"]


def findings(
    lines: np.ndarray, mask: np.ndarray, column: str, describe: Callable[[int], str]
) -> list[Finding]:
    """A finding for each of the first ``MAX_REPORTS_PER_CHECK`` rows where ``mask`` is set (row ``i``
    is on file line ``lines[i]``, its message ``describe(i)``), then one counting the rest."""
    idx = np.flatnonzero(mask)
    found: list[Finding] = [(int(lines[i]), column, describe(int(i))) for i in idx[:MAX_REPORTS_PER_CHECK]]
    if len(idx) > MAX_REPORTS_PER_CHECK:
        found.append((None, column, f"... and {len(idx) - MAX_REPORTS_PER_CHECK} more rows like these"))
    return found


def _typed(values: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray]:
    """Values converted to the column's type (NaN/NaT where empty) and a mask of unparsable cells."""
    present = (values != "").to_numpy()
    if col.type in ("number", "integer"):
        numbers = pd.to_numeric(values.where(values != ""), errors="coerce").astype("float64")
        ok = np.isfinite(numbers.to_numpy())
        if col.type == "integer":
            ok &= np.equal(np.mod(np.nan_to_num(numbers.to_numpy()), 1), 0)
        return numbers, present & ~ok
    if col.type == "date":
        shaped = values.str.fullmatch(DATE_RE).fillna(False).to_numpy(dtype=bool)
        dates = pd.to_datetime(values.where(shaped), format="%Y-%m-%d", errors="coerce")
        return dates, present & ~(shaped & dates.notna().to_numpy())
    if col.type == "boolean":
        ok = values.str.lower().isin(["true", "false"]).to_numpy()
        return values.str.lower() == "true", present & ~ok
    return values, np.zeros(len(values), dtype=bool)


def _expected(col: Column) -> str:
    return {
        "number": "a number (plain decimal, no units or thousands separators)",
        "integer": "a whole number",
        "date": "a date as YYYY-MM-DD",
        "boolean": "true or false",
    }.get(col.type, col.type)


def check_column(frame: pd.DataFrame, col: Column, lines: np.ndarray) -> list[Finding]:
    """Every problem in the cells of column ``col`` of ``frame`` (raw text, one row per record, record
    ``i`` on file line ``lines[i]``). A column with over-long values is reported for those alone."""
    values = frame[col.name]
    lengths = values.str.len().to_numpy()
    too_long = lengths > col.max_length
    if too_long.any():
        return findings(lines, too_long, col.name, lambda i: f"the value has {int(lengths[i])} characters; "
                        f"at most {col.max_length} are allowed")
    found: list[Finding] = []
    present = (values != "").to_numpy()
    if col.required:
        found += findings(lines, ~present, col.name, lambda i: "empty, but the column is required")
    typed, bad = _typed(values, col)
    found += findings(lines, bad, col.name, lambda i: f"expected {_expected(col)}, got {values.iat[i]!r}")
    good = present & ~bad
    if col.type == "list":
        return found + _list_checks(values[good], col, lines, frame.index)
    if col.type == "string":
        rows = frame.index.to_numpy()[good]
        return found + _string_checks(values[good], col, lines, frame.index, rows)
    if col.type in ("number", "integer", "date"):
        found += _bound_checks(typed, values, good, col, lines)
    if col.allowed is not None:
        allowed = {str(a) for a in col.allowed}
        out = good & ~values.isin(allowed).to_numpy()
        found += findings(lines, out, col.name,
                          lambda i: f"value {values.iat[i]!r} is not one of {', '.join(sorted(allowed))}")
    return found


def _bound_checks(typed: pd.Series, values: pd.Series, good: np.ndarray, col: Column,
                  lines: np.ndarray) -> list[Finding]:
    """Parsed cells (``good``) of a number, integer or date column outside its (exclusive) bounds."""
    found: list[Finding] = []
    arr = typed.to_numpy()
    for bound, op, word in ((col.min, np.less, "at least"), (col.max, np.greater, "at most"),
                            (col.exclusive_minimum, np.less_equal, "more than"),
                            (col.exclusive_maximum, np.greater_equal, "less than")):
        if bound is None:
            continue
        b = np.datetime64(bound) if col.type == "date" else bound
        with np.errstate(invalid="ignore"):
            out = good & op(arr, b)
        found += findings(lines, out, col.name,
                          lambda i, b=bound, w=word:
                          f"value {values.iat[i]!r} is out of range: expected {w} {b}")
    return found


def _list_checks(values: pd.Series, col: Column, lines: np.ndarray, index: pd.Index) -> list[Finding]:
    """The items of a list column's non-empty cells: no empty item, then the string checks on each."""
    items = values.str.split(LIST_SEPARATOR).explode()
    item_rows = items.index.to_numpy()
    item_values = items.astype(str).str.strip()
    empty_item = (item_values == "").to_numpy()
    found = _rows_with(lines, index, item_rows, empty_item, col.name, "an empty item in the list (stray ';')")
    return found + _string_checks(item_values, col, lines, index, item_rows)


def _rows_with(
    lines: np.ndarray, index: pd.Index, item_rows: np.ndarray, bad: np.ndarray, column: str, message: str,
) -> list[Finding]:
    """One finding per record (not per item) holding an item where ``bad`` is set."""
    rows = np.unique(item_rows[bad])
    mask = np.zeros(len(index), dtype=bool)
    mask[index.get_indexer(rows)] = True
    return findings(lines, mask, column, lambda i: message)


def _string_checks(
    values: pd.Series, col: Column, lines: np.ndarray, index: pd.Index, rows: np.ndarray,
) -> list[Finding]:
    """``values`` (cells or list items, from records ``rows`` of ``index``) against the column's
    pattern and allowed values."""
    found: list[Finding] = []
    if col.pattern is not None:
        compiled = compile_pattern(col.pattern)
        bad = ~np.fromiter((compiled.fullmatch(v) is not None for v in values.astype(str)),
                           dtype=bool, count=len(values))
        found += _bad_values(lines, index, rows, values, bad, col.name,
                             f"does not match the pattern {col.pattern}")
    if col.allowed is not None:
        allowed = {str(a) for a in col.allowed}
        bad = ~values.isin(allowed).to_numpy()
        found += _bad_values(lines, index, rows, values, bad, col.name,
                             f"is not one of {', '.join(sorted(allowed))}")
    return found


def _bad_values(
    lines: np.ndarray, index: pd.Index, rows: np.ndarray, values: pd.Series, bad: np.ndarray, column: str,
    message: str,
) -> list[Finding]:
    """A finding per value where ``bad`` is set (the first ``MAX_REPORTS_PER_CHECK``), then a count."""
    positions = index.get_indexer(rows[bad])
    shown = values.to_numpy()[bad]
    found: list[Finding] = [(int(lines[pos]), column, f"value {val!r} {message}")
                            for pos, val in list(zip(positions, shown))[:MAX_REPORTS_PER_CHECK]]
    if len(positions) > MAX_REPORTS_PER_CHECK:
        more = len(positions) - MAX_REPORTS_PER_CHECK
        found.append((None, column, f"... and {more} more values like these"))
    return found
