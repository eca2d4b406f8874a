"""Testable forecasts: a registry of predictions, each resolved by a rule over the store, and scored.

The registry is ``data/forecasts.csv`` (contract in ``forecasts.meta.yml``). Every row carries a
**resolution rule**: one DuckDB ``SELECT`` that returns exactly one row with the columns

* ``outcome`` (BOOLEAN): true, false, or NULL while the store cannot decide, and
* ``evidence`` (VARCHAR): the ids of the rows used, or a short text naming them.

A rule may use two named parameters, ``$as_of`` (DATE) and ``$resolve_by`` (DATE, the row's
deadline). The rules of the registry follow these conventions, which ``check_rules`` enforces where it
can and the tests check for the real registry:

* evidence is restricted to rows dated on or before ``$as_of``;
* a rule returns false only once the deadline has passed (``$as_of > $resolve_by``) or when evidence
  dated on or before ``$as_of`` already decides the statement;
* a decision (true or false) comes with non-empty evidence.

**Resolution** (``resolve``): as of a date before a forecast's ``made_on`` the forecast is pending,
whatever its rule says; otherwise its rule runs with ``$as_of`` bound to the date and the status is
``'true'``, ``'false'`` or ``'pending'`` (NULL outcome). A forecast is thus resolved before its
deadline only when its rule already decides from evidence dated on or before ``as_of``.

**Checks at build time** (``check_rules``, run by ``rule_problems`` on the just-built store): every
rule must be a single SELECT that runs as of the forecast's ``made_on`` and as of its ``resolve_by``
and returns one row with exactly the columns ``outcome`` BOOLEAN and ``evidence`` VARCHAR, with
evidence whenever it decides; the tables it reads must be listed in ``evidence_tables`` (and exist);
``resolve_by`` must not precede ``made_on``; an interval needs ``value_low <= value_high``; an
article forecast needs a probability and its ``hedging`` rule. Each problem names data/forecasts.csv,
the line and the column.

**Probabilities of unhedged predictions.** The article states its predictions without
probabilities. The book scores them by a fixed rule, written in each row's ``hedging`` column and
stored as its ``probability``: a prediction stated with certainty ("will", "we predict", an
unqualified projection) is scored as ``UNHEDGED_PROBABILITY`` = 0.9; an expectation ("we
anticipate") as ``SOFT_HEDGE_PROBABILITY`` = 0.7. The book's own forecasts carry the probability
chosen and justified in their note. For an interval forecast the probability is that the value falls
inside the interval.

**Scores** (over resolved forecasts that have a probability; outcome 1 for 'true', 0 for 'false'):

* Brier score ``mean((p - o)^2)``: 0 is perfect, 0.25 is what always saying 0.5 earns; lower is better.
* Log score ``mean(ln(p if o else 1 - p))``, probabilities clipped to ``[1e-6, 1 - 1e-6]`` so that a
  certain forecast proven wrong costs ``ln(1e-6)`` rather than minus infinity; higher (nearer 0) is
  better.
* Interval coverage: of the resolved forecasts with an interval (both ends), how many held.
* Calibration table: forecasts binned by probability, with the mean probability and the observed
  share true in each bin.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from analysis.data import reader, sandbox, store, validation
from analysis.data.safety import quote_ident
from analysis.escape import md_code_block, md_text

TABLE = "forecasts"
RULE_COLUMN = "rule"
OUTCOME = "outcome"
EVIDENCE = "evidence"
PARAMS = ("as_of", "resolve_by")
STATUSES = ("true", "false", "pending")
UNHEDGED_PROBABILITY = 0.9
SOFT_HEDGE_PROBABILITY = 0.7
LOG_CLIP = 1e-6
DEFAULT_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
RESOLVED_COLUMNS = (
    "id", "statement", "source", "status", "resolve_by", "probability", "evidence",
    "made_on", "value_low", "value_high", "interval_level", "unit",
)
JSON_FIELDS = ("id", "statement", "source", "status", "resolve_by", "probability", "evidence")

__all__ = [
    "ForecastError",
    "brier",
    "calibration_table",
    "check_rules",
    "forecasts_json",
    "interval_coverage",
    "load",
    "log_score",
    "resolve",
    "resolve_con",
    "rules_markdown",
    "run_rule",
    "scores",
    "scores_table",
]


class ForecastError(ValueError):
    """A rule that cannot be run or returns something other than one (outcome, evidence) row."""


def _used_params(rule: str) -> list[str]:
    return [p for p in PARAMS if re.search(rf"\${p}\b", rule)]


def _as_date(value: Any) -> dt.date:
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        raise ValueError(f"not a date: {value!r}")
    return stamp.date()


def _declared(listed: Any) -> list[str]:
    if isinstance(listed, str):
        return [t.strip() for t in listed.split(store.LIST_SEPARATOR) if t.strip()]
    if listed is None or (isinstance(listed, float) and math.isnan(listed)):
        return []
    return [str(t) for t in listed]


def _sandbox_for(target: Any) -> tuple[sandbox.RuleSandbox, bool]:
    """The sandbox a rule runs in: ``target`` itself, or one opened on the store file behind a
    connection or ``StoreReader`` (a rule never runs on the caller's own connection)."""
    if isinstance(target, sandbox.RuleSandbox):
        return target, False
    path = getattr(target, "path", None)
    if not isinstance(path, Path):
        path = sandbox.store_path_of(_connection(target))
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
    values = {"as_of": _as_date(as_of), "resolve_by": _as_date(resolve_by)}
    params = {p: values[p] for p in _used_params(rule)}
    box, opened = _sandbox_for(target)
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


def _tables_read(rule: str) -> set[str]:
    try:
        return set(duckdb.get_table_names(reader.PLACEHOLDER_RE.sub("NULL", rule)))
    except duckdb.Error:
        return set()


def _num(value: str) -> float | None:
    return float(value) if value != "" else None


TABLE = "forecasts"


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
        listed = set(_declared(row.evidence_tables))
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


def _connection(db_or_con: Any) -> duckdb.DuckDBPyConnection:
    if isinstance(db_or_con, duckdb.DuckDBPyConnection):
        return db_or_con
    con = getattr(db_or_con, "_con", None)
    if isinstance(con, duckdb.DuckDBPyConnection):
        return con
    raise TypeError(f"expected a duckdb connection or a StoreReader, got {type(db_or_con).__name__}")


def _note_reads(db_or_con: Any, names: Iterable[str]) -> None:
    note = getattr(db_or_con, "_note", None)
    if callable(note):
        note(names)


def load(db_or_con: Any) -> pd.DataFrame:
    """The forecasts table of the store."""
    _note_reads(db_or_con, [TABLE])
    return _connection(db_or_con).execute(f"SELECT * FROM {quote_ident(TABLE)} ORDER BY made_on, forecast_id").df()


def resolve_con(target: Any, forecasts: pd.DataFrame, *, as_of: Any) -> pd.DataFrame:
    """Status of every forecast as of a date, from its rule run in the sandbox of ``target`` (a
    ``RuleSandbox``, or a connection or ``StoreReader`` on a store file; see the module docstring)."""
    when = _as_date(as_of)
    out = []
    box, opened = _sandbox_for(target)
    try:
        for row in forecasts.to_dict("records"):
            made_on, resolve_by = _as_date(row["made_on"]), _as_date(row["resolve_by"])
            status, evidence = "pending", ""
            if when >= made_on:
                try:
                    outcome, text = run_rule(box, row["rule"], as_of=when, resolve_by=resolve_by,
                                             declared=_declared(row.get("evidence_tables")),
                                             name=f"rule {row['forecast_id']!r}")
                except ForecastError as exc:
                    raise ForecastError(f"forecast {row['forecast_id']!r}: {exc}") from None
                evidence = text or ""
                if outcome is not None:
                    status = "true" if outcome else "false"
            out.append({
                "id": row["forecast_id"], "statement": row["statement"], "source": row["source"],
                "status": status, "resolve_by": pd.Timestamp(resolve_by),
                "probability": _float(row.get("probability")), "evidence": evidence,
                "made_on": pd.Timestamp(made_on), "value_low": _float(row.get("value_low")),
                "value_high": _float(row.get("value_high")), "interval_level": _float(row.get("interval_level")),
                "unit": row.get("unit") if isinstance(row.get("unit"), str) and row.get("unit") else None,
            })
    finally:
        if opened:
            box.close()
    return pd.DataFrame(out, columns=list(RESOLVED_COLUMNS))


def resolve(db_or_con: Any, forecasts: pd.DataFrame | None = None, *, as_of: Any) -> pd.DataFrame:
    """``resolve_con`` for a duckdb connection or a ``reader.StoreReader`` (the rules run in a sandbox
    opened on its store file); the forecasts default to the store's forecasts table. Columns: id,
    statement, source, status ('true', 'false', 'pending'), resolve_by, probability, evidence,
    made_on, value_low, value_high, interval_level, unit."""
    if forecasts is None:
        forecasts = load(db_or_con)
    tables: set[str] = set()
    for rule, listed in zip(forecasts["rule"], forecasts["evidence_tables"]):
        tables |= _tables_read(rule)
        tables |= set(_declared(listed))
    _note_reads(db_or_con, tables)
    return resolve_con(db_or_con, forecasts, as_of=as_of)


def rules_markdown(resolved: pd.DataFrame, rules: Mapping[str, str]) -> str:
    """MyST for a list of forecasts with their rules: each forecast's id, deadline, probability,
    status, statement and interval, then its rule verbatim in a code block. Every text from the data
    goes through ``safety.md_text`` (shown as text, never read as Markdown, HTML, a role, directive or
    math) and each rule through ``safety.md_code_block`` (a fence it cannot close)."""
    blocks = []
    for _, f in resolved.iterrows():
        interval = ""
        if not pd.isna(f["value_low"]):
            unit = md_text(f["unit"]) if isinstance(f["unit"], str) and f["unit"] else ""
            interval = f" Interval: {f['value_low']:.3f} to {f['value_high']:.3f} {unit}."
        probability = "" if pd.isna(f["probability"]) else f", probability {f['probability']:.2f}"
        blocks.append(
            f"**{md_text(f['id'])}** (by {f['resolve_by']:%Y-%m-%d}{probability}, now "
            f"*{md_text(f['status'])}*): {md_text(f['statement'])}{interval}\n\n"
            + md_code_block(str(rules[f["id"]]).strip())
        )
    return "\n".join(blocks)


def _float(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _pairs(probabilities: npt.ArrayLike, outcomes: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    o = np.asarray(outcomes, dtype=np.float64).ravel()
    if p.size != o.size:
        raise ValueError(f"probabilities and outcomes differ in length: {p.size} and {o.size}")
    if p.size == 0:
        raise ValueError("no forecasts to score")
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("probabilities must be numbers between 0 and 1")
    if np.any(~np.isin(o, (0.0, 1.0))):
        raise ValueError("outcomes must be true/false (1/0)")
    return p, o


def brier(probabilities: npt.ArrayLike, outcomes: npt.ArrayLike) -> float:
    """Mean squared difference between probability and outcome (1 true, 0 false); lower is better."""
    p, o = _pairs(probabilities, outcomes)
    return float(np.mean((p - o) ** 2))


def log_score(probabilities: npt.ArrayLike, outcomes: npt.ArrayLike) -> float:
    """Mean natural log of the probability given to what happened, clipped at 1e-6; higher is better."""
    p, o = _pairs(probabilities, outcomes)
    given = np.clip(np.where(o == 1.0, p, 1.0 - p), LOG_CLIP, 1.0)
    return float(np.mean(np.log(given)))


def _resolved(resolved: pd.DataFrame) -> pd.DataFrame:
    return resolved[resolved["status"].isin(("true", "false"))]


def _scored(resolved: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    done = _resolved(resolved)
    done = done[pd.to_numeric(done["probability"], errors="coerce").notna()]
    return (pd.to_numeric(done["probability"]).to_numpy(dtype=np.float64),
            (done["status"] == "true").to_numpy(dtype=np.float64))


def interval_coverage(resolved: pd.DataFrame) -> tuple[int, int]:
    """(covered, total) over resolved forecasts with both interval ends: how many intervals held."""
    done = _resolved(resolved)
    done = done[done["value_low"].notna() & done["value_high"].notna()]
    return int((done["status"] == "true").sum()), int(len(done))


def calibration_table(resolved: pd.DataFrame, bins: Sequence[float] = DEFAULT_BINS) -> pd.DataFrame:
    """Resolved forecasts binned by probability: n, mean probability and observed share true per bin
    (bins closed on the right, the first also on the left)."""
    p, o = _scored(resolved)
    edges = list(bins)
    labels = [f"{lo:g}-{hi:g}" for lo, hi in zip(edges[:-1], edges[1:])]
    frame = pd.DataFrame({"probability": p, "outcome": o})
    frame["bin"] = pd.cut(frame["probability"], edges, labels=labels, include_lowest=True)
    table = frame.groupby("bin", observed=False).agg(
        n=("outcome", "size"), mean_probability=("probability", "mean"), observed_rate=("outcome", "mean"))
    return table.reset_index()


def scores(resolved: pd.DataFrame) -> dict[str, Any]:
    """Counts by status and the scores of the resolved forecasts (None where nothing is scored)."""
    p, o = _scored(resolved)
    covered, total = interval_coverage(resolved)
    counts = resolved["status"].value_counts()
    return {
        "forecasts": int(len(resolved)),
        **{status: int(counts.get(status, 0)) for status in STATUSES},
        "scored": int(p.size),
        "brier": brier(p, o) if p.size else None,
        "log_score": log_score(p, o) if p.size else None,
        "intervals_covered": covered,
        "intervals_resolved": total,
    }


def scores_table(resolved: pd.DataFrame) -> pd.DataFrame:
    """``scores`` for the article's forecasts, the book's and all together, one row each."""
    rows = [{"source": name, **scores(resolved[resolved["source"] == name])}
            for name in sorted(resolved["source"].unique())]
    rows.append({"source": "all", **scores(resolved)})
    return pd.DataFrame(rows)


def _jsonable(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.date().isoformat() if isinstance(value, pd.Timestamp) else value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def forecasts_json(resolved: pd.DataFrame) -> list[dict[str, Any]]:
    """One plain dict per forecast (id, statement, source, status, resolve_by, probability,
    evidence), dates as ISO strings, ready for ``json.dumps``."""
    return [{k: _jsonable(row[k]) for k in JSON_FIELDS} for row in resolved.to_dict("records")]
