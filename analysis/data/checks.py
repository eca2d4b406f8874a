"""The checks of a table's cells against its column contracts, as SQL over the text DuckDB read.

When a file is read (``analysis.data.tables``), ``flags`` adds to each row, per column, whether its
cell is blank (missing or nothing but white space: ``_b<position>``) and, for a string, whether it is
padded (starts or ends with white space: ``_p<position>``), so the checks below test a flag instead
of repeating the test. Each column's contract becomes a list of ``Check``: a condition on a row (the
cell too long, empty but required, padded, not of its type, out of bounds, off its pattern or its
allowed set; for a list, an empty or padded item, an item off the pattern or the set), the value to
show and the sentence saying what was expected. ``run`` counts every check of a table in one pass
and asks only the checks that found something for their first ``MAX_REPORTS_PER_CHECK`` rows, so
every problem of the table comes back at once. A column with over-long values is reported for those
alone.

Every value that comes from a contract (a pattern, a bound, the allowed values) is a query parameter;
names are written by ``safety.quote_ident``; nothing of a data file becomes SQL. The book is strict
where the Table Schema standard is loose (``tests/test_frictionless.py``): a cell with leading or
trailing white space is refused (one of nothing but white space is empty), an integer is digits with
an optional sign, a number a plain decimal with an optional exponent and finite, a date ``YYYY-MM-DD``
of a real day, a boolean one of ``true``, ``True``, ``TRUE`` and their ``false`` counterparts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from analysis.data.contracts import LIST_SEPARATOR, Column, TableSchema
from analysis.data.problems import MAX_REPORTS_PER_CHECK
from analysis.data.safety import quote_ident

WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
              "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
"""Every character Python's ``str.isspace`` calls white space (those ``str.strip`` removes)."""
_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"
BLANK_RE = f"{_CLASS}*"
EDGE_RE = f"^{_CLASS}|{_CLASS}$"
_SEP = re.escape(LIST_SEPARATOR)
LIST_EDGE_RE = f"(^|{_SEP})({_CLASS}|{_SEP}|$)|{_CLASS}({_SEP}|$)"
"""A list cell with an empty item, or an item that starts or ends with white space."""
INTEGER_RE = r"[+-]?[0-9]+"
NUMBER_RE = r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?"
DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
BOOLEANS = ("true", "True", "TRUE", "false", "False", "FALSE")
EXPECTED = {
    "number": "a number (plain decimal, no units or thousands separators)",
    "integer": "a whole number written in digits (no decimal point, exponent or separator)",
    "date": "a date as YYYY-MM-DD",
    "boolean": "true or false (true, True, TRUE, false, False or FALSE)",
}
CASTS = {"number": "DOUBLE", "integer": "BIGINT", "date": "DATE"}
ITEM = "_item"
PLACEHOLDER = re.compile(r"\$(p[0-9]+)")

Finding = tuple[int | None, str | None, str]
"""One problem in a table's cells: the record (0 = the first after the header; None for a count of
further cells), the column and the message."""


class Params:
    """The named parameters of a table's queries: ``p(value)`` is the placeholder standing for
    ``value`` (the same one each time for the same text, number or date); ``of(sql)`` the values of
    the placeholders ``sql`` uses."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self._names: dict[tuple[type, Any], str] = {}

    def __call__(self, value: Any) -> str:
        key = (type(value), value if isinstance(value, str | int | float | dt.date) else id(value))
        if key not in self._names:
            self._names[key] = f"p{len(self.values)}"
            self.values[self._names[key]] = value
        return f"${self._names[key]}"

    def of(self, sql: str) -> dict[str, Any]:
        return {name: self.values[name] for name in dict.fromkeys(PLACEHOLDER.findall(sql))}


def blank(expr: str, p: Params) -> str:
    """SQL: the text ``expr`` is missing, empty or nothing but white space (only text that sorts
    before ``!`` or from U+0085 on can start with white space, so the pattern runs on little else)."""
    return (f"({expr} IS NULL OR CASE WHEN {expr} >= '!' AND {expr} < {p(chr(0x85))} THEN false "
            f"ELSE regexp_full_match({expr}, {p(BLANK_RE)}) END)")


def edged(expr: str, p: Params) -> str:
    """SQL: the text ``expr`` starts or ends with white space (the pattern runs only on text whose
    first or last character sorts before ``!`` or from U+0085 on, as ``blank``)."""
    hi = p(chr(0x85))
    return (f"CASE WHEN {expr} >= '!' AND {expr} < {hi} AND {expr}[-1] >= '!' AND {expr}[-1] < {hi} THEN false "
            f"ELSE regexp_matches({expr}, {p(EDGE_RE)}) END")


def flag_names(position: int) -> tuple[str, str, str]:
    """The flags of the column at ``position``: blank; padded (a string), or holding an empty or
    padded item (a list); the typed value (numbers, integers, dates, booleans: NULL where the text
    is not of the type)."""
    return quote_ident(f"_b{position}"), quote_ident(f"_p{position}"), quote_ident(f"_v{position}")


def _typed(col: Column, q: str, p: Params) -> str:
    """SQL: the text ``q`` as a value of the column's type, NULL where it does not read as one."""
    if col.type == "boolean":
        return f"CASE WHEN list_contains({p(list(BOOLEANS))}, {q}) THEN lower({q}) = 'true' END"
    pattern = {"number": NUMBER_RE, "integer": INTEGER_RE, "date": DATE_RE}[col.type]
    return f"CASE WHEN regexp_full_match({q}, {p(pattern)}) THEN TRY_CAST({q} AS {CASTS[col.type]}) END"


def flags(schema: TableSchema, p: Params) -> str:
    """SQL: the flag columns ``flag_names`` names, for a select list over the text of the table."""
    out = []
    for position, col in enumerate(schema.columns):
        q = quote_ident(col.name)
        b, pad, value = flag_names(position)
        out.append(f"{blank(q, p)} AS {b}")
        if col.type == "string":
            out.append(f"coalesce({edged(q, p)} AND NOT {blank(q, p)}, false) AS {pad}")
        elif col.type == "list":
            out.append(f"coalesce(regexp_matches({q}, {p(LIST_EDGE_RE)}), false) AS {pad}")
        else:
            out.append(f"{_typed(col, q, p)} AS {value}")
    return ", ".join(out)


def _typed_ok(col: Column, position: int) -> str:
    """SQL: the cell reads as a (finite, for a number; of a year from 1, for a date) value of its type."""
    value = flag_names(position)[2]
    if col.type == "number":
        return f"coalesce(isfinite({value}), false)"
    if col.type == "date":
        return f"coalesce({value} >= DATE '0001-01-01', false)"
    return f"{value} IS NOT NULL"


def usable(col: Column, position: int) -> str:
    """SQL: the cell is present and, if a string, unpadded (what a reference looks up)."""
    b, pad, _ = flag_names(position)
    return f"NOT {b} AND NOT {pad}" if col.type == "string" else f"NOT {b}"


def stored(col: Column, position: int) -> str:
    """SQL: a cell that passed its checks as the store holds it, of the column's SQL type (NULL when
    blank)."""
    b, _, value = flag_names(position)
    q = quote_ident(col.name)
    if col.type == "string":
        return f"CASE WHEN {b} THEN NULL ELSE {q} END"
    if col.type == "list":
        return f"CASE WHEN {b} THEN NULL ELSE string_split({q}, '{LIST_SEPARATOR}') END"
    return value


def text(col: Column, position: int) -> str:
    """SQL: a cell that passed its checks as text, '' where blank."""
    return f"CASE WHEN {flag_names(position)[0]} THEN '' ELSE {quote_ident(col.name)} END"


def _not_typed(expected: str) -> Callable[[Any], str]:
    """The sentence for a cell not of its type; a padded one is told so (types admit no white space)."""
    def say(value: Any) -> str:
        if value != value.strip():
            return f"expected no leading or trailing white space, got {value!r}"
        return f"expected {expected}, got {value!r}"
    return say


@dataclass(frozen=True)
class Check:
    """One check of one column: the rows it fails (``where``), what to show of each (``shown``) and
    the sentence for it. With ``per_item``, ``shown`` is the list of a row's offending items, counted
    one by one over the rows of ``where``."""

    column: str
    where: str
    shown: str
    say: Callable[[Any], str]
    more: str = "rows"
    per_item: bool = False
    alone: bool = False
    screen: str | None = None

    def count_sql(self) -> str:
        if self.per_item:
            return f"coalesce(sum(len({self.shown})) FILTER (WHERE {self.where}), 0)"
        return f"count(*) FILTER (WHERE {self.where})"

    def screen_sql(self) -> str:
        """What the counting pass asks: the count, or for a check with a ``screen`` (a cheaper
        condition that holds wherever the check fails) the rows the screen lets through."""
        return self.count_sql() if self.screen is None else f"count(*) FILTER (WHERE {self.screen})"

    def rows_sql(self) -> str:
        return f"{self.where} AND len({self.shown}) > 0" if self.per_item else self.where


def column_checks(col: Column, position: int, p: Params) -> list[Check]:
    """Every check of the contract of ``col`` (at ``position`` in its table), in the order its
    problems are reported."""
    q = quote_ident(col.name)
    b, pad, value = flag_names(position)
    limit = p(col.max_length)
    found = [Check(col.name, f"length({q}) > {limit}", f"length({q})",
                   lambda n, m=col.max_length: f"the value has {n} characters; at most {m} are allowed", alone=True,
                   screen=f"strlen({q}) > {limit}")]  # a character takes at least a byte
    if col.required:
        found.append(Check(col.name, b, "NULL", lambda v: "empty, but the column is required"))
    if col.type == "list":
        return found + _list_checks(col, q, b, pad, p)
    if col.type == "string":
        found.append(Check(col.name, pad, q, lambda v: f"expected no leading or trailing white space, got {v!r}",
                           "values"))
        good = f"NOT {b} AND NOT {pad}"
    else:
        good = _typed_ok(col, position)
        found.append(Check(col.name, f"NOT {b} AND NOT {good}", q, _not_typed(EXPECTED[col.type])))
    if col.type in CASTS:
        found += _bound_checks(col, q, value, good, p)
    more = "values" if col.type == "string" else "rows"
    if col.pattern is not None:
        found.append(Check(col.name, f"{good} AND NOT regexp_full_match({q}, {p(col.pattern)})", q,
                           lambda v, pat=col.pattern: f"value {v!r} does not match the pattern {pat}", "values"))
    if col.allowed is not None:
        allowed = sorted({str(a) for a in col.allowed})
        found.append(Check(col.name, f"{good} AND NOT list_contains({p(allowed)}, {q})", q,
                           lambda v, a=", ".join(allowed): f"value {v!r} is not one of {a}", more))
    return found


def _bound_checks(col: Column, q: str, value: str, good: str, p: Params) -> list[Check]:
    """Parsed cells (``value``, where ``good``) of a number, integer or date column outside its
    (exclusive) bounds."""
    found = []
    for bound, op, word in ((col.min, "<", "at least"), (col.max, ">", "at most"),
                            (col.exclusive_minimum, "<=", "more than"), (col.exclusive_maximum, ">=", "less than")):
        if bound is None:
            continue
        where = f"{good} AND {value} {op} {p(bound)}"
        found.append(Check(col.name, where, q, lambda v, w=word, x=bound: f"value {v!r} is out of range: expected {w} {x}"))
    return found


def items(q: str, p: Params) -> str:
    """SQL: the items of the list cell ``q``."""
    return f"string_split({q}, {p(LIST_SEPARATOR)})"


def good_item(p: Params) -> str:
    """SQL: the list item ``_item`` is neither empty nor padded."""
    return f"NOT {blank(ITEM, p)} AND NOT {edged(ITEM, p)}"


def _list_checks(col: Column, q: str, b: str, pad: str, p: Params) -> list[Check]:
    """The items of a list column's non-blank cells: none empty, none padded, then each against the
    column's pattern and allowed values."""
    def bad_items(condition: str) -> str:
        return f"list_filter({items(q, p)}, lambda {ITEM}: {condition})"

    present = f"NOT {b}"
    screen = f"{present} AND {pad}"
    found = [Check(col.name, f"{present} AND len({bad_items(blank(ITEM, p))}) > 0", "NULL",
                   lambda v: f"an empty item in the list (stray '{LIST_SEPARATOR}')", screen=screen),
             Check(col.name, present, bad_items(f"NOT {blank(ITEM, p)} AND {edged(ITEM, p)}"),
                   lambda v: f"item {v!r} has leading or trailing white space: separate the items "
                             f"with '{LIST_SEPARATOR}' alone", "values", per_item=True, screen=screen)]
    if col.pattern is not None:
        shown = bad_items(f"{good_item(p)} AND NOT regexp_full_match({ITEM}, {p(col.pattern)})")
        found.append(Check(col.name, present, shown,
                           lambda v, pat=col.pattern: f"value {v!r} does not match the pattern {pat}", "values",
                           per_item=True))
    if col.allowed is not None:
        allowed = sorted({str(a) for a in col.allowed})
        shown = bad_items(f"{good_item(p)} AND NOT list_contains({p(allowed)}, {ITEM})")
        found.append(Check(col.name, present, shown,
                           lambda v, a=", ".join(allowed): f"value {v!r} is not one of {a}", "values", per_item=True))
    return found


def run(con: duckdb.DuckDBPyConnection, schema: TableSchema, relation: str) -> list[Finding]:
    """Every problem in the cells of the table ``relation`` (read with ``flags``) against ``schema``:
    one counting pass, then the first rows of each check that failed."""
    p = Params()
    checks = [c for position, col in enumerate(schema.columns) for c in column_checks(col, position, p)]
    asked = list(dict.fromkeys(c.screen_sql() for c in checks))
    sql = f"SELECT {', '.join(asked)} FROM {relation}"
    answers = dict(zip(asked, con.execute(sql, p.of(sql)).fetchone() or ()))
    counts = [answers[c.screen_sql()] for c in checks]
    for i, check in enumerate(checks):
        if check.screen is not None and counts[i]:
            sql = f"SELECT {check.count_sql()} FROM {relation}"
            counts[i] = (con.execute(sql, p.of(sql)).fetchone() or (0,))[0]
    too_long = {c.column for c, n in zip(checks, counts) if c.alone and n}
    found: list[Finding] = []
    for check, n in zip(checks, counts):
        if n and (check.alone or check.column not in too_long):
            found += _details(con, check, int(n), relation, p)
    return found


def _details(con: duckdb.DuckDBPyConnection, check: Check, count: int, relation: str, p: Params) -> list[Finding]:
    """The findings of one check that failed ``count`` times (cells, or items with ``per_item``)."""
    sql = (f"SELECT rowid, {check.shown} FROM {relation} WHERE {check.rows_sql()} "
           f"ORDER BY rowid LIMIT {MAX_REPORTS_PER_CHECK}")
    rows = con.execute(sql, p.of(sql)).fetchall()
    shown = [(r, v) for r, values in rows for v in values] if check.per_item else rows
    found: list[Finding] = [(int(r), check.column, check.say(v)) for r, v in shown[:MAX_REPORTS_PER_CHECK]]
    if count > MAX_REPORTS_PER_CHECK:
        found.append((None, check.column, f"... and {count - MAX_REPORTS_PER_CHECK} more {check.more} like these"))
    return found
