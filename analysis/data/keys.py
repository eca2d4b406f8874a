"""The checks that look beyond one cell: duplicate keys, values a contract requires, references.

Each is SQL over the text DuckDB read (``analysis.data.tables``): a key is unique when no group of
its columns has two rows (``GROUP BY``); a reference resolves when the value (each item of a list)
is found among the referenced column's values (an anti-join). Each returns ``checks.Finding``
triples naming the record (0 = the first after the header), the column and the message; at most
``MAX_REPORTS_PER_CHECK`` records are named per check, then a count of the rest. Values come back
from DuckDB and are shown with ``repr``; names are written by ``safety.quote_ident`` and values from
a contract are query parameters.
"""

from __future__ import annotations

import duckdb

from analysis.data.checks import ITEM, Finding, Params, flag_names, good_item, items, usable
from analysis.data.contracts import TableSchema
from analysis.data.problems import MAX_REPORTS_PER_CHECK
from analysis.data.safety import quote_ident

LIMIT = MAX_REPORTS_PER_CHECK


def _more(found: list[Finding], count: int, column: str) -> list[Finding]:
    if count > LIMIT:
        found.append((None, column, f"... and {count - LIMIT} more rows like these"))
    return found


def duplicates(con: duckdb.DuckDBPyConnection, schema: TableSchema, relation: str) -> list[Finding]:
    """Each row whose primary key (all its columns, as written) an earlier row already has."""
    key = ", ".join(quote_ident(k) for k in schema.primary_key)
    extra = con.execute(f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {relation} "
                        f"GROUP BY {key} HAVING count(*) > 1)").fetchone()
    count = int(extra[0]) if extra else 0
    if not count:
        return []
    rows = con.execute(f"SELECT r, {key} FROM (SELECT rowid AS r, {key}, row_number() OVER "
                       f"(PARTITION BY {key} ORDER BY rowid) AS n FROM {relation}) WHERE n > 1 "
                       f"ORDER BY r LIMIT {LIMIT}").fetchall()
    column = ",".join(schema.primary_key)
    found: list[Finding] = [(int(r[0]), column, "duplicate key " + "/".join(repr(v or "") for v in r[1:]))
                            for r in rows]
    return _more(found, count, column)


def absent(con: duckdb.DuckDBPyConnection, schema: TableSchema, relation: str) -> list[tuple[str, str]]:
    """(column, value) for each value of ``must_include`` that no row holds."""
    missing = []
    for column, wanted in schema.must_include:
        q = quote_ident(column)
        present = {r[0] for r in con.execute(f"SELECT DISTINCT {q} FROM {relation} WHERE list_contains($w, {q})",
                                             {"w": list(wanted)}).fetchall()}
        missing += [(column, value) for value in wanted if value not in present]
    return missing


def _values(schema: TableSchema, position: int, relation: str, p: Params, *, numbered: bool) -> str:
    """SQL: (r: record, v: value, i: its place in the cell) for each usable value of the column at
    ``position`` (each good item, for a list); without ``numbered``, i is 1."""
    col = schema.columns[position]
    q = quote_ident(col.name)
    if col.type != "list":
        return f"SELECT rowid AS r, {q} AS v, 1 AS i FROM {relation} WHERE {usable(col, position)}"
    place = f"generate_subscripts({items(q, p)}, 1)" if numbered else "1"
    pad = flag_names(position)[1]  # the cell holds an empty or padded item
    return (f"SELECT r, {ITEM} AS v, i FROM (SELECT rowid AS r, {pad} AS pad, unnest({items(q, p)}) AS {ITEM}, "
            f"{place} AS i FROM {relation} WHERE {usable(col, position)}) "
            f"WHERE CASE WHEN pad THEN {good_item(p)} ELSE true END")


def dangling(con: duckdb.DuckDBPyConnection, schema: TableSchema, column: str, relation: str,
             target: tuple[str, str, str]) -> list[Finding]:
    """Each row whose value of ``column`` (each item, for a list) is not a value of the referenced
    column; ``target`` is (the relation holding it, its table's name, the column). Blank and padded
    cells, empty and padded items are left to the column's own checks."""
    p = Params()
    position = schema.column_names.index(column)
    target_relation, target_table, target_col = target
    unknown = f"NOT EXISTS (SELECT 1 FROM {target_relation} AS t WHERE t.{quote_ident(target_col)} = cells.v)"
    sql = f"SELECT count(DISTINCT r) FROM ({_values(schema, position, relation, p, numbered=False)}) AS cells WHERE {unknown}"
    counted = con.execute(sql, p.of(sql)).fetchone()
    count = int(counted[0]) if counted else 0
    if not count:
        return []
    sql = (f"SELECT r, list(v ORDER BY i) FROM ({_values(schema, position, relation, p, numbered=True)}) AS cells "
           f"WHERE {unknown} GROUP BY r ORDER BY r LIMIT {LIMIT}")
    rows = con.execute(sql, p.of(sql)).fetchall()
    found: list[Finding] = [(int(r), column, f"{', '.join(map(repr, shown))} not found in {target_table}.{target_col}")
                            for r, shown in rows]
    return _more(found, count, column)
