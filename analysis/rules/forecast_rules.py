"""A forecast's resolution rule: run in the sandbox as of a date, and every rule of the registry
checked when the store is built.

A **resolution rule** (the ``rule`` column of ``data/forecasts.csv``) is one DuckDB ``SELECT`` that
returns exactly one row with the columns

* ``outcome`` (BOOLEAN): true, false, or NULL while the store cannot decide, and
* ``evidence`` (VARCHAR): the ids of the rows used, or a short text naming them.

A rule may use two named parameters, ``$as_of`` (DATE) and ``$resolve_by`` (DATE, the row's
deadline). The rules of the registry follow these conventions, which ``check_rules`` enforces where it
can and the tests check for the real registry:

* evidence is restricted to rows dated on or before ``$as_of``;
* a rule returns false only once the deadline has passed (``$as_of > $resolve_by``) or when evidence
  dated on or before ``$as_of`` already decides the statement;
* a decision (true or false) comes with non-empty evidence.

A rule runs in ``sandbox.RuleSandbox`` (``run_rule``), never on the caller's own connection.

**Checks at build time** (``check_rules``, run by ``rule_problems`` on the just-built store): every
rule must be a single SELECT that runs as of the forecast's ``made_on`` and as of its ``resolve_by``
and returns one row with exactly the columns ``outcome`` BOOLEAN and ``evidence`` VARCHAR, with
evidence whenever it decides; the tables it reads must be listed in ``evidence_tables`` (and exist);
``resolve_by`` must not precede ``made_on``; an interval needs ``value_low <= value_high``; an
article forecast needs a probability and its ``hedging`` rule. Each problem names data/forecasts.csv,
the line and the column.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from analysis.data import sandbox, validation
from analysis.data.contracts import LIST_SEPARATOR
from analysis.errors import InputError

TABLE = "forecasts"
RULE_COLUMN = "rule"
OUTCOME = "outcome"
EVIDENCE = "evidence"
PARAMS = ("as_of", "resolve_by")

__all__ = [
    "ForecastError",
    "as_date",
    "check_rules",
    "connection_of",
    "declared_tables",
    "rule_problems",
    "run_rule",
    "sandbox_for",
]


class ForecastError(InputError, ValueError):
    """A rule that cannot be run or returns something other than one (outcome, evidence) row."""


def _used_params(rule: str) -> list[str]:
    return [p for p in PARAMS if re.search(rf"\${p}\b", rule)]


def as_date(value: Any) -> dt.date:
    """``value`` (a date, timestamp or ISO text) as a date; ``ValueError`` if it is none."""
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        raise ValueError(f"not a date: {value!r}")
    return stamp.date()


def declared_tables(listed: Any) -> list[str]:
    """The tables of a row's ``evidence_tables`` (a list, or the store's list text), as names."""
    if isinstance(listed, str):
        return [t.strip() for t in listed.split(LIST_SEPARATOR) if t.strip()]
    if listed is None or (isinstance(listed, float) and math.isnan(listed)):
        return []
    return [str(t) for t in listed]


def sandbox_for(target: Any) -> tuple[sandbox.RuleSandbox, bool]:
    """The sandbox a rule runs in: ``target`` itself, or one opened on the store file behind a
    connection or ``StoreReader`` (a rule never runs on the caller's own connection)."""
    if isinstance(target, sandbox.RuleSandbox):
        return target, False
    path = getattr(target, "path", None)
    if not isinstance(path, Path):
        path = sandbox.store_path_of(connection_of(target))
    return sandbox.RuleSandbox(path), True


def run_rule(
    target: Any, rule: str, *, as_of: Any, resolve_by: Any, declared: Iterable[str] | None = None,
    name: str = "rule",
) -> tuple[bool | None, str | None]:
    """Run one rule as of a date in the sandbox (``analysis.data.sandbox``) and return (outcome,
    evidence); ``ForecastError`` if it is refused, fails, exceeds a limit or does not return one row
    of (outcome BOOLEAN, evidence VARCHAR). ``target`` is a ``RuleSandbox``, or a connection or
    ``StoreReader`` whose store file a sandbox is opened on; ``declared`` lists the tables the rule
    may read (by default any table of the store)."""
    values = {"as_of": as_date(as_of), "resolve_by": as_date(resolve_by)}
    params = {p: values[p] for p in _used_params(rule)}
    box, opened = sandbox_for(target)
    try:
        allowed = box.tables if declared is None else set(declared)
        rows, description = box.run(rule, params, declared=allowed, name=name)
    except sandbox.RuleRefused as exc:
        raise ForecastError(str(exc)) from None
    finally:
        if opened:
            box.close()
    names = [d[0] for d in description]
    if names != [OUTCOME, EVIDENCE]:
        raise ForecastError(f"must return the columns outcome, evidence; returns {', '.join(names) or 'none'}")
    types = [d[1] for d in description]
    if types != ["BOOLEAN", "VARCHAR"]:
        raise ForecastError(f"must return outcome BOOLEAN and evidence VARCHAR; returns {' and '.join(types)}")
    if len(rows) != 1:
        raise ForecastError(f"must return exactly one row; returns {len(rows) if len(rows) <= sandbox.MAX_ROWS else 'more'}")
    outcome, evidence = rows[0]
    if outcome is not None and not (evidence or "").strip():
        raise ForecastError("decides (outcome is not NULL) without naming evidence")
    if evidence is not None and len(evidence) > sandbox.MAX_EVIDENCE:
        raise ForecastError(f"evidence has {len(evidence)} characters; at most {sandbox.MAX_EVIDENCE} are allowed")
    return outcome, evidence


def _num(value: str) -> float | None:
    return float(value) if value != "" else None



def rule_problems(store_path: Path, tables: Mapping[str, validation.LoadedTable]) -> list[validation.Problem]:
    """The build-time check of the forecasts table (a ``store.Check``): the rules come from a data file,
    so they run in ``sandbox.RuleSandbox`` on the closed, complete store file, never on the build's
    own connection."""
    if TABLE not in tables:
        return []
    with sandbox.RuleSandbox(store_path) as box:
        return check_rules(box, tables[TABLE])


def check_rules(box: sandbox.RuleSandbox, table: validation.LoadedTable) -> list[validation.Problem]:
    """Problems with the forecasts table that need the built store, whose rules run in ``box``: rules
    that are refused, fail, exceed a limit, return the wrong shape or types, or read unlisted tables;
    deadlines before made_on; inverted intervals."""
    problems: list[validation.Problem] = []
    existing = box.tables
    frame = table.frame
    label = table.file_label

    def add(i: int, column: str, message: str) -> None:
        problems.append(validation.Problem(label, int(table.lines[i]), column, message))

    for i, row in enumerate(frame.itertuples(index=False)):
        fid = row.forecast_id
        made_on, resolve_by = row.made_on, row.resolve_by
        if resolve_by < made_on:
            add(i, "resolve_by", f"deadline {resolve_by} is before made_on {made_on}")
        low, high = _num(row.value_low), _num(row.value_high)
        if low is not None and high is not None and low > high:
            add(i, "value_high", f"interval is inverted: value_low {low} > value_high {high}")
        if row.source == "article" and (row.probability == "" or row.hedging == ""):
            add(i, "probability" if row.probability == "" else "hedging",
                "an article forecast needs a probability and the hedging rule that fixed it")
        listed = set(declared_tables(row.evidence_tables))
        for name in sorted(listed - existing):
            add(i, "evidence_tables", f"{name!r} is not a table of the store")
        try:
            unlisted = (box.parse(row.rule)[0] & existing) - listed
        except sandbox.RuleRefused as exc:
            add(i, RULE_COLUMN, f"rule of {fid!r}: {exc}")
            continue
        if unlisted:
            add(i, "evidence_tables", f"the rule reads {', '.join(sorted(unlisted))}, which is not listed")
            continue
        for when in dict.fromkeys((made_on, resolve_by)):
            try:
                run_rule(box, row.rule, as_of=when, resolve_by=resolve_by, declared=listed & existing,
                         name=f"rule {fid!r}")
            except (ForecastError, ValueError) as exc:
                add(i, RULE_COLUMN, f"rule of {fid!r} as of {when}: {exc}")
                break
    return problems


def connection_of(db_or_con: Any) -> duckdb.DuckDBPyConnection:
    """The duckdb connection itself, or the one behind a ``StoreReader``."""
    if isinstance(db_or_con, duckdb.DuckDBPyConnection):
        return db_or_con
    con = getattr(db_or_con, "_con", None)
    if isinstance(con, duckdb.DuckDBPyConnection):
        return con
    raise TypeError(f"expected a duckdb connection or a StoreReader, got {type(db_or_con).__name__}")

