"""The imported evidence as the chapters read it: dated price observations and MLPerf results.

Prices come from price maps as *spells* (first seen, last seen, one price). Two public copies of the
same map overlap in time, so a listing (provider, key, price) seen in both is one observation, dated
by its earliest first sighting. How an observation is dated matters for a trend fitted on it, and the
book shows three rules side by side (``DATING_RULES``):

* ``first-seen``: the date the price first appears in a copy (the book's default);
* ``spell-midpoint``: halfway between the first and the last date the price is seen;
* ``changes-only``: first-seen, leaving out prices already present in a copy's first snapshot, whose
  date is the copy's start rather than the day the provider set them.

MLPerf results are every row of ``benchmarks`` that carries an MLPerf round.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.models import trends

DATING_RULES = ("first-seen", "spell-midpoint", "changes-only")
MIN_FIT_POINTS = 8


def price_observations(prices: pd.DataFrame, rule: str = "first-seen") -> pd.DataFrame:
    """One row per (provider, listing, input and output price), with ``date`` set by ``rule``."""
    if rule not in DATING_RULES:
        raise ValueError(f"dating rule {rule!r} is not one of {', '.join(DATING_RULES)}")
    p = prices.copy()
    p["date_observed"] = pd.to_datetime(p["date_observed"])
    last = pd.to_datetime(p["date_last_seen"]) if "date_last_seen" in p else p["date_observed"]
    p["date_last_seen"] = last.fillna(p["date_observed"])
    p["release"] = p["source_ids"].astype(str).str.split(";").str[0]
    copy_start = p.groupby("release")["date_observed"].transform("min")
    p["in_first_snapshot"] = p["date_observed"].eq(copy_start) & p["date_last_seen"].gt(p["date_observed"])
    key = ["provider", "model_slug", "model_name_as_listed", "input_usd_per_mtok", "output_usd_per_mtok"]
    first = p.sort_values(["date_observed", "price_id"]).groupby(key, sort=False, dropna=False)
    out = first.first().reset_index()
    out["date_last_seen"] = first["date_last_seen"].max().to_numpy()
    out["in_first_snapshot"] = first["in_first_snapshot"].all().to_numpy()
    if rule == "changes-only":
        out = out[~out["in_first_snapshot"]]
    if rule == "spell-midpoint":
        out["date"] = out["date_observed"] + (out["date_last_seen"] - out["date_observed"]) / 2
    else:
        out["date"] = out["date_observed"]
    return out.sort_values(["date", "provider", "price_id"]).reset_index(drop=True)


def recent_spread(observed: pd.DataFrame, days: int = 365) -> tuple[float, float]:
    """The lowest and highest output price of the observations dated within ``days`` of the latest
    one (``date`` and ``output_usd_per_mtok`` columns, as ``price_observations`` returns them)."""
    if observed.empty:
        raise ValueError("no observations: a spread of nothing is not stated")
    recent = observed[observed["date"] >= observed["date"].max() - pd.Timedelta(days=days)]
    return float(recent["output_usd_per_mtok"].min()), float(recent["output_usd_per_mtok"].max())


def declines_by_class(prices: pd.DataFrame, models: pd.DataFrame, classes: Sequence[str], *,
                      rules: Sequence[str] = DATING_RULES, n_boot: int = 1000, seed: int = 0,
                      ci: float = 0.9) -> pd.DataFrame:
    """The fitted yearly price factor of output tokens for each capability class under each dating rule."""
    joined = prices.merge(models[["slug", "capability_class"]], left_on="model_slug", right_on="slug", how="inner")
    rows = []
    for cls in classes:
        in_class = joined[joined["capability_class"] == cls]
        for rule in rules:
            obs = price_observations(in_class, rule) if len(in_class) else in_class
            row: dict[str, object] = {"capability_class": cls, "dating_rule": rule, "n_points": len(obs)}
            if len(obs) >= MIN_FIT_POINTS and obs["date"].nunique() > 1:
                fit = trends.fit_decline(obs["date"], obs["output_usd_per_mtok"], n_boot=n_boot, seed=seed, ci=ci)
                row.update(start=fit.start, end=fit.end, factor_per_year=fit.factor_per_year, ci_low=fit.ci_low,
                           ci_high=fit.ci_high, r_squared=fit.r_squared)
            else:
                row.update(start=pd.NaT, end=pd.NaT, factor_per_year=np.nan, ci_low=np.nan, ci_high=np.nan,
                           r_squared=np.nan)
            rows.append(row)
    return pd.DataFrame(rows)


def mlperf_results(benchmarks: pd.DataFrame, chips: pd.DataFrame) -> pd.DataFrame:
    """Every MLPerf result in tokens per second, with its chip's name (rows without a chip keep the listing)."""
    res = benchmarks[benchmarks["round"].notna()].copy()
    res = res.merge(chips[["slug", "name"]].rename(columns={"slug": "chip_slug", "name": "chip_name"}),
                    on="chip_slug", how="left")
    res["chip_name"] = res["chip_name"].fillna("no single chip: " + res["accelerator"].fillna("(none)"))
    res["scenario"] = res["kind"].str.removeprefix("mlperf-")
    return res


PER_CHIP_COLUMNS = ("benchmark_id", "model_slug", "chip_name", "round", "division", "scenario", "submitter",
                    "system", "accelerators", "precision_bits", "per_accelerator_tokens_per_s", "source_ids")


def per_chip_results(results: pd.DataFrame) -> pd.DataFrame:
    """The results of ``mlperf_results`` that name one chip and one model and give a throughput per
    accelerator, in ``PER_CHIP_COLUMNS``: the points of a per-chip comparison."""
    per_chip = results[results["per_accelerator_tokens_per_s"].notna() & results["chip_slug"].notna()
                       & results["model_slug"].notna()]
    return per_chip[list(PER_CHIP_COLUMNS)]


def results_per_round(results: pd.DataFrame) -> pd.DataFrame:
    """How many results each benchmark has in each round: one row per benchmark, one column per round."""
    return (results.pivot_table(index="benchmark", columns="round", values="benchmark_id", aggfunc="count",
                                fill_value=0)
            .reset_index().rename_axis(columns=None))


def best_by_chip_and_round(results: pd.DataFrame, model_slug: str, *, division: str = "closed",
                           scenario: str = "offline") -> pd.DataFrame:
    """The highest per-accelerator throughput of each chip in each round for one model and scenario."""
    sel = results[(results["model_slug"] == model_slug) & (results["division"] == division)
                  & (results["scenario"] == scenario) & results["chip_slug"].notna()
                  & results["per_accelerator_tokens_per_s"].notna()]
    # ties broken by id with a stable sort: numpy's unstable sorts order equal keys differently per CPU
    best = sel.sort_values(["per_accelerator_tokens_per_s", "benchmark_id"], ascending=[False, True],
                           kind="stable").groupby(["chip_slug", "round"], as_index=False).first()
    return best.sort_values(["chip_slug", "round"]).reset_index(drop=True)[
        ["chip_slug", "chip_name", "round", "per_accelerator_tokens_per_s", "precision_bits", "accelerators",
         "submitter", "system", "benchmark_id", "source_ids"]]


SERVING_SCENARIOS = ("server", "offline")


def best_measured_throughput(benchmarks: pd.DataFrame, chip_slug: str, model_slug: str, bits: int, *,
                             scenarios: Sequence[str] = SERVING_SCENARIOS) -> pd.Series | None:
    """The highest closed-division MLPerf throughput per accelerator of one chip on one model at one
    weight precision, in the first of ``scenarios`` that has one (Server first: it is measured under
    a latency limit, as a service runs), or None. Ties go to the lower benchmark id."""
    kind = benchmarks["kind"].astype(str)
    sel = benchmarks[benchmarks["round"].notna() & benchmarks["division"].eq("closed")
                     & benchmarks["chip_slug"].eq(chip_slug) & benchmarks["model_slug"].eq(model_slug)
                     & pd.to_numeric(benchmarks["precision_bits"], errors="coerce").eq(bits)
                     & benchmarks["per_accelerator_tokens_per_s"].notna()]
    for scenario in scenarios:
        rows = sel[kind.loc[sel.index].eq(f"mlperf-{scenario}")]
        if len(rows):
            return rows.sort_values(["per_accelerator_tokens_per_s", "benchmark_id"], ascending=[False, True],
                                    kind="stable").iloc[0]
    return None
