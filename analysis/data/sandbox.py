"""The one place where SQL that a data file supplies (a forecast's resolution rule) is run.

A ``RuleSandbox`` is a DuckDB connection of its own, opened on a complete store file and fenced in:

* the store is attached **read-only** to an in-memory database, then ``enable_external_access`` is
  turned off (no file, no URL, no other database: ``read_csv``, ``read_text``, ``glob``, ``COPY``,
  ``ATTACH`` all fail) and ``lock_configuration`` on, so no ``SET`` can undo any of it;
  extensions are neither installed nor loaded automatically;
* ``threads`` = 1, ``memory_limit`` = ``MEMORY_LIMIT`` and no spilling to disk
  (``max_temp_directory_size`` = 0), so a huge ``string_agg`` stops with DuckDB's out-of-memory
  error;
* a **time limit**: a timer thread interrupts a statement still running after ``TIME_LIMIT_S`` seconds,
  so ``range(1e15)`` or a recursive CTE without end reports "exceeded N s" rather than hanging;
* each rule must be **exactly one SELECT** as DuckDB itself parses it (``duckdb.extract_statements``),
  and its parse tree (``json_serialize_sql``) may name only the tables the rule declares in
  ``evidence_tables`` (and its own CTEs), unqualified, and no table function but ``range``,
  ``generate_series`` and ``unnest`` -- so ``query_table('other')``, ``duckdb_settings()`` or
  ``read_text(...)`` are refused before anything runs;
* at most ``MAX_ROWS`` rows are fetched and evidence is at most ``MAX_EVIDENCE`` characters.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb

from analysis.errors import InputError

TIME_LIMIT_S = 10.0
MEMORY_LIMIT = "512MB"
MAX_ROWS = 2
MAX_EVIDENCE = 4000
ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
CATALOG = "store"
CONFIG = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "threads": 1,
    "memory_limit": MEMORY_LIMIT,
    "max_temp_directory_size": "0B",
}


class RuleRefused(InputError, ValueError):
    """A rule that may not run, or that failed or exceeded a limit while running."""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _walk(node: Any) -> Iterable[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


class RuleSandbox:
    """A fenced, read-only connection to the store file at ``path`` for running rules."""

    def __init__(self, path: str | Path, *, time_limit_s: float | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no store at {self.path}")
        self.time_limit_s = TIME_LIMIT_S if time_limit_s is None else time_limit_s
        self._con = duckdb.connect(":memory:", config=dict(CONFIG))
        try:
            self._con.execute(f"ATTACH {_literal(str(self.path))} AS {CATALOG} (READ_ONLY)")
            self._con.execute(f"USE {CATALOG}")
            self._con.execute("SET enable_external_access = false")
            self._con.execute("SET lock_configuration = true")
            self.tables = {r[0] for r in self._con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [CATALOG]).fetchall()}
        except BaseException:
            self._con.close()
            raise

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "RuleSandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def parse(self, sql: str) -> tuple[set[str], set[str]]:
        """(tables read, table functions called) by one SELECT, from DuckDB's own parse tree."""
        try:
            statements = duckdb.extract_statements(sql)
        except duckdb.Error as exc:
            raise RuleRefused(f"does not parse: {str(exc).splitlines()[0]}") from None
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise RuleRefused("must be exactly one SELECT statement")
        tree = json.loads(self._con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
        if tree.get("error"):
            raise RuleRefused(f"does not parse: {tree.get('error_message', 'unknown error')}")
        ctes: set[str] = set()
        tables: set[str] = set()
        functions: set[str] = set()
        for node in _walk(tree):
            cte_map = node.get("cte_map")
            if isinstance(cte_map, dict):
                ctes |= {entry.get("key") for entry in cte_map.get("map", []) if isinstance(entry, dict)}
            kind = node.get("type")
            if kind == "BASE_TABLE":
                if node.get("catalog_name") or node.get("schema_name"):
                    raise RuleRefused(f"may read only unqualified table names, not "
                                      f"{node.get('catalog_name') or node.get('schema_name')}.{node.get('table_name')}")
                tables.add(str(node.get("table_name")))
            elif kind == "TABLE_FUNCTION":
                function = node.get("function") or {}
                functions.add(str(function.get("function_name", "?")).lower())
        return tables - ctes, functions

    def check(self, sql: str, declared: Iterable[str]) -> set[str]:
        """Refuse a rule that reads a table it does not declare or calls a table function; return
        the tables it reads."""
        tables, functions = self.parse(sql)
        banned = sorted(functions - ALLOWED_TABLE_FUNCTIONS)
        if banned:
            raise RuleRefused(f"may not call the table function(s) {', '.join(banned)}; "
                              f"only {', '.join(sorted(ALLOWED_TABLE_FUNCTIONS))} are allowed")
        undeclared = sorted(tables - set(declared))
        if undeclared:
            raise RuleRefused(f"reads {', '.join(undeclared)}, which is not listed in evidence_tables")
        return tables

    def run(self, sql: str, params: Mapping[str, Any], *, declared: Iterable[str],
            name: str = "rule") -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
        """Run one checked rule within the limits; (rows, [(column, type)])."""
        self.check(sql, declared)
        timer = threading.Timer(self.time_limit_s, self._con.interrupt)
        timer.daemon = True
        timer.start()
        try:
            cursor = self._con.execute(sql, dict(params)) if params else self._con.execute(sql)
            rows = cursor.fetchmany(MAX_ROWS + 1)
            description = [(d[0], str(d[1])) for d in cursor.description or []]
        except duckdb.InterruptException:
            raise RuleRefused(f"{name} exceeded {self.time_limit_s:g} s") from None
        except duckdb.OutOfMemoryException:
            raise RuleRefused(f"{name} exceeded the memory limit of {MEMORY_LIMIT}") from None
        except duckdb.Error as exc:
            raise RuleRefused(f"fails to run: {str(exc).splitlines()[0]}") from None
        finally:
            timer.cancel()
        return rows, description


def store_path_of(con: duckdb.DuckDBPyConnection) -> Path:
    """The file behind a DuckDB connection (rules never run on the connection itself)."""
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    if row is None or not row[0]:
        raise RuleRefused("rules run only against a store file, not an in-memory database")
    return Path(row[0])
