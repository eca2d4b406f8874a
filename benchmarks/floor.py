"""The floor of the store benchmark: DuckDB alone reading a data folder and running the same checks.

``check_folder`` reads every CSV of a data folder once with every column as text and runs, as plain
SQL with no line numbers, no messages and no store, the checks the book's validation makes: required
cells, surrounding white space (of strings and list items; the patterns of the other types admit none), length, type (a strict pattern, then ``TRY_CAST``), bounds, pattern
and allowed values (each list item too), the primary key (``GROUP BY``), and every reference (an
anti-join, list items unnested). It returns how many cells each kind of check refuses, so that a
floor that fails early cannot pass for a fast one. ``benchmarks/floor_child.py`` times it in a
process of its own; ``benchmarks.large_store`` sets the book's validate + build beside it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

from analysis.data.contracts import LIST_SEPARATOR, SIDECAR_SUFFIX, Column, TableSchema, load_schema
from analysis.data.safety import quote_ident

WS = r"[\s\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{0b}\x{1c}-\x{1f}]"
TYPES = {"integer": (r"[+-]?[0-9]+", "BIGINT"),
         "number": (r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?", "DOUBLE"),
         "date": (r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "DATE")}


def _cell_checks(col: Column, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, SQL condition) for each check of one column's cells."""
    def param(value: Any) -> str:
        params[f"p{len(params)}"] = value
        return f"$p{len(params) - 1}"

    q = quote_ident(col.name)
    found = [("length", f"length({q}) > {param(col.max_length)}")]
    if col.type == "string":  # the patterns of the other types admit no white space
        found.append(("padding", f"regexp_matches({q}, {param(f'^{WS}|{WS}$')})"))
    if col.required:
        found.append(("required", f"{q} IS NULL"))
    if col.type in TYPES:
        pattern, sql_type = TYPES[col.type]
        found.append(("type", f"{q} IS NOT NULL AND (NOT regexp_full_match({q}, {param(pattern)}) "
                              f"OR TRY_CAST({q} AS {sql_type}) IS NULL)"))
        for bound, op in ((col.min, "<"), (col.max, ">"), (col.exclusive_minimum, "<="), (col.exclusive_maximum, ">=")):
            if bound is not None:
                found.append(("bound", f"TRY_CAST({q} AS {sql_type}) {op} {param(bound)}"))
    values = f"string_split({q}, {param(LIST_SEPARATOR)})" if col.type == "list" else f"[{q}]"
    if col.type == "list":
        found.append(("item", f"list_bool_or(list_transform({values}, lambda x: x = '' OR regexp_matches(x, "
                              f"{param(f'^{WS}|{WS}$')})))"))
    if col.pattern is not None:
        found.append(("pattern", f"list_bool_or(list_transform({values}, lambda x: NOT regexp_full_match(x, "
                                 f"{param(col.pattern)})))"))
    if col.allowed is not None:
        allowed = param([str(a) for a in col.allowed])
        found.append(("allowed", f"list_bool_or(list_transform({values}, lambda x: NOT list_contains({allowed}, x)))"))
    return found


def _check_table(con: duckdb.DuckDBPyConnection, schema: TableSchema) -> Counter[str]:
    """The cells of one table refused by each kind of check, and its duplicate keys."""
    params: dict[str, Any] = {}
    checks = [c for col in schema.columns for c in _cell_checks(col, params)]
    table = quote_ident(schema.name)
    counts = con.execute(f"SELECT {', '.join(f'count(*) FILTER (WHERE {w})' for _, w in checks)} FROM {table}",
                         params).fetchone() or ()
    found: Counter[str] = Counter()
    for (kind, _), n in zip(checks, counts):
        found[kind] += int(n)
    key = ", ".join(quote_ident(k) for k in schema.primary_key)
    dup = con.execute(f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY {key} HAVING count(*) > 1)").fetchone()
    found["key"] += int(dup[0]) if dup else 0
    return found


def _check_references(con: duckdb.DuckDBPyConnection, schema: TableSchema) -> int:
    """The values (list items) of one table that are not found where its contract says they refer."""
    missing = 0
    for col in schema.columns:
        if col.references is None:
            continue
        q, (target, key) = quote_ident(col.name), col.references
        values = (f"SELECT unnest(string_split({q}, $sep)) AS v FROM {quote_ident(schema.name)}" if col.type == "list"
                  else f"SELECT {q} AS v FROM {quote_ident(schema.name)} WHERE {q} IS NOT NULL")
        sql = (f"SELECT count(*) FROM ({values}) AS c WHERE NOT EXISTS "
               f"(SELECT 1 FROM {quote_ident(target)} AS t WHERE t.{quote_ident(key)} = c.v)")
        row = con.execute(sql, {"sep": LIST_SEPARATOR} if col.type == "list" else None).fetchone()
        missing += int(row[0]) if row else 0
    return missing


def check_folder(data_dir: Path) -> dict[str, int]:
    """Read every table of ``data_dir`` into DuckDB as text and run the checks: refusals by kind."""
    con = duckdb.connect(":memory:", config={"autoload_known_extensions": False, "autoinstall_known_extensions": False})
    schemas = [load_schema(p) for p in sorted(data_dir.glob(f"*{SIDECAR_SUFFIX}"))]
    for schema in schemas:
        con.execute(f"CREATE TABLE {quote_ident(schema.name)} AS SELECT * FROM read_csv($path, all_varchar = true, "
                    "header = true, delim = ',', quote = '\"', escape = '\"')",
                    {"path": str((data_dir / f"{schema.name}.csv").absolute())})
    found: Counter[str] = Counter()
    for schema in schemas:
        found.update(_check_table(con, schema))
        found["reference"] += _check_references(con, schema)
    con.close()
    return {kind: found[kind] for kind in sorted(found)}
