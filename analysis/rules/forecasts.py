"""Testable forecasts: a registry of predictions, each resolved by a rule over the store, and scored.

The registry is ``data/forecasts.csv`` (contract in ``forecasts.meta.yml``). Every row carries a
**resolution rule**, one DuckDB ``SELECT`` returning one (``outcome``, ``evidence``) row;
``analysis.rules.forecast_rules`` says what a rule may do and return, runs it in the sandbox and
checks every rule of the registry when the store is built.

**Resolution** (``resolve``): as of a date before a forecast's ``made_on`` the forecast is pending,
whatever its rule says; otherwise its rule runs with ``$as_of`` bound to the date and the status is
``'true'``, ``'false'`` or ``'pending'`` (NULL outcome). A forecast is thus resolved before its
deadline only when its rule already decides from evidence dated on or before ``as_of``.

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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from analysis.data import reader
from analysis.data.safety import quote_ident
from analysis.escape import md_code_block, md_text
from analysis.rules import forecast_rules, vocabulary

STATUSES = vocabulary.OUTCOMES  # a forecast is resolved, not judged: true, false or pending
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
    "brier",
    "calibration_table",
    "forecasts_json",
    "interval_coverage",
    "load",
    "log_score",
    "resolve",
    "resolve_con",
    "rules_markdown",
    "scores",
    "scores_table",
]


def _tables_read(rule: str) -> set[str]:
    try:
        return set(duckdb.get_table_names(reader.PLACEHOLDER_RE.sub("NULL", rule)))
    except duckdb.Error:
        return set()


def _note_reads(db_or_con: Any, names: Iterable[str]) -> None:
    note = getattr(db_or_con, "_note", None)
    if callable(note):
        note(names)


def load(db_or_con: Any) -> pd.DataFrame:
    """The forecasts table of the store."""
    _note_reads(db_or_con, [forecast_rules.TABLE])
    sql = f"SELECT * FROM {quote_ident(forecast_rules.TABLE)} ORDER BY made_on, forecast_id"
    return forecast_rules.connection_of(db_or_con).execute(sql).df()


def resolve_con(target: Any, forecasts: pd.DataFrame, *, as_of: Any) -> pd.DataFrame:
    """Status of every forecast as of a date, from its rule run in the sandbox of ``target`` (a
    ``RuleSandbox``, or a connection or ``StoreReader`` on a store file; see the module docstring)."""
    when = forecast_rules.as_date(as_of)
    out = []
    box, opened = forecast_rules.sandbox_for(target)
    try:
        for row in forecasts.to_dict("records"):
            made_on, resolve_by = forecast_rules.as_date(row["made_on"]), forecast_rules.as_date(row["resolve_by"])
            status, evidence = "pending", ""
            if when >= made_on:
                try:
                    outcome, text = forecast_rules.run_rule(
                        box, row["rule"], as_of=when, resolve_by=resolve_by,
                        declared=forecast_rules.declared_tables(row.get("evidence_tables")),
                        name=f"rule {row['forecast_id']!r}")
                except forecast_rules.ForecastError as exc:
                    raise forecast_rules.ForecastError(f"forecast {row['forecast_id']!r}: {exc}") from None
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
        tables |= set(forecast_rules.declared_tables(listed))
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
