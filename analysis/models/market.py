"""What serving tokens costs and what it is sold for: list prices and rental-based cost.

* ``class_prices``: the dated list prices of one capability class, each tagged with the segment of
  its provider: ``dedicated-chip`` when the provider is a start-up that serves on its own chips
  (its ``companies`` row is a start-up and it sells per-token access), ``cloud`` otherwise.
* ``rental_costs``: cost per million output tokens of renting a chip, from its rental price and
  the best published per-chip throughput on a model, at a given utilization
  (``analysis.models.costs.usd_per_million_tokens``).
* ``against_claimed_ranges``: where each price lies against the article's claimed ranges.

The article's cost and funding claims are judged against these numbers in ``analysis.rules.market_claims``.
"""

from __future__ import annotations

import pandas as pd

from analysis.models import costs

DEDICATED = "dedicated-chip"
CLOUD = "cloud"
MLPERF_KINDS = ("mlperf-offline", "mlperf-server", "mlperf-interactive")


def class_prices(prices: pd.DataFrame, models: pd.DataFrame, companies: pd.DataFrame, *,
                 capability_class: str, as_of: str | pd.Timestamp) -> pd.DataFrame:
    """List prices of one capability class up to ``as_of``, with their provider's segment and year.

    A price seen over a span of dates (``date_observed`` to ``date_last_seen``) is on offer in every
    calendar year the span touches up to ``as_of``: it appears once per such year (the same
    ``price_id``), so a price set in 2025 and still listed in 2026 counts in both years."""
    in_class = models.loc[models["capability_class"] == capability_class, ["slug", "name"]]
    frame = prices.merge(in_class, left_on="model_slug", right_on="slug").drop(columns="slug")
    frame = frame[frame["date_observed"] <= pd.Timestamp(as_of)].rename(columns={"name": "model"})
    startups = set(companies.loc[companies["kind"] == "startup", "company_slug"])
    frame["segment"] = frame["provider"].map(lambda p: DEDICATED if p in startups else CLOUD)
    last = pd.to_datetime(frame["date_last_seen"]) if "date_last_seen" in frame else frame["date_observed"]
    last = last.fillna(frame["date_observed"]).clip(upper=pd.Timestamp(as_of))
    first_year = frame["date_observed"].dt.year.to_numpy()
    last_year = last.dt.year.to_numpy()
    frame["year"] = [list(range(a, max(a, b) + 1)) for a, b in zip(first_year, last_year)]
    frame = frame.explode("year").astype({"year": "int64"})
    return frame.sort_values(["date_observed", "provider", "price_id", "year"]).reset_index(drop=True)


def median_list_price(observed: pd.DataFrame, model_slug: str) -> tuple[float, int]:
    """The median output list price of one model (by its slug) in ``observed`` and the number of
    prices it is the median of. Raises ``ValueError`` when the model has no price, so a chapter never
    states a median of nothing."""
    unique = observed.drop_duplicates("price_id")
    rows = unique.loc[unique["model_slug"] == model_slug, "output_usd_per_mtok"].dropna()
    if rows.empty:
        known = ", ".join(sorted(observed["model_slug"].dropna().unique()))
        raise ValueError(f"no list price of model {model_slug!r} in the prices shown (models priced: {known})")
    return float(rows.median()), int(len(rows))


def price_summary(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Lowest, median and highest output price per group, with counts."""
    return (frame.groupby(by, as_index=False)
            .agg(observations=("price_id", "count"), providers=("provider", "nunique"),
                 lowest=("output_usd_per_mtok", "min"), median=("output_usd_per_mtok", "median"),
                 highest=("output_usd_per_mtok", "max")))


def rental_costs(hardware_costs: pd.DataFrame, benchmarks: pd.DataFrame, *, model_slug: str,
                 utilization: float, kinds: tuple[str, ...] = ("rental-on-demand", "rental-reserved")) -> pd.DataFrame:
    """Cost per million output tokens of each rental price, at the chip's best per-chip throughput
    (the best closed-division MLPerf result for the model, where results carry a division)."""
    closed = benchmarks["division"].eq("closed") if "division" in benchmarks else True
    best = (benchmarks[(benchmarks["model_slug"] == model_slug) & benchmarks["kind"].isin(MLPERF_KINDS)
                       & benchmarks["per_accelerator_tokens_per_s"].notna() & closed]
            .sort_values(["per_accelerator_tokens_per_s", "benchmark_id"], ascending=[False, True])
            .drop_duplicates("chip_slug")
            [["chip_slug", "benchmark_id", "kind", "precision_bits", "per_accelerator_tokens_per_s", "source_ids"]]
            .rename(columns={"source_ids": "benchmark_sources", "kind": "benchmark_kind"}))
    rentals = hardware_costs[hardware_costs["kind"].isin(kinds) & (hardware_costs["unit"] == "usd-per-chip-hour")]
    frame = rentals.merge(best, on="chip_slug")
    frame["usd_per_mtok"] = costs.usd_per_million_tokens(
        frame["usd"].to_numpy(), frame["per_accelerator_tokens_per_s"].to_numpy(), utilization)
    frame["utilization"] = utilization
    frame["source_ids"] = [sorted({*a, *b}) for a, b in zip(frame["source_ids"], frame["benchmark_sources"])]
    return frame.drop(columns="benchmark_sources").sort_values(["chip_slug", "date", "cost_id"]).reset_index(drop=True)


def rental_summary(rented: pd.DataFrame) -> pd.DataFrame:
    """Per chip: how many dated rental prices, their range per hour, and the cost range they give."""
    return (rented.groupby("chip_slug", as_index=False)
            .agg(rentals=("cost_id", "count"), first=("date", "min"), last=("date", "max"),
                 lowest_usd_per_hour=("usd", "min"), highest_usd_per_hour=("usd", "max"),
                 tokens_per_s_per_chip=("per_accelerator_tokens_per_s", "first"),
                 lowest_usd_per_mtok=("usd_per_mtok", "min"), highest_usd_per_mtok=("usd_per_mtok", "max"),
                 source_ids=("source_ids", lambda ids: sorted({s for row in ids for s in row}))))


def against_claimed_ranges(prices: pd.DataFrame, ranges: pd.DataFrame) -> pd.Series:
    """Where each price (``date_observed``, ``output_usd_per_mtok``) lies against the claimed ranges
    (``year``, ``value_low``, ``value_high``) of its year: ``inside`` one of them, ``above`` every one,
    ``below`` every one, ``between`` ranges, or ``no claim`` for a year without one."""
    years = pd.to_datetime(prices["date_observed"]).dt.year.to_numpy()
    usd = prices["output_usd_per_mtok"].to_numpy(dtype=float)
    out = []
    for year, price in zip(years, usd):
        mine = ranges[ranges["year"].astype(int) == int(year)]
        if mine.empty:
            out.append("no claim")
        elif ((mine["value_low"] <= price) & (price <= mine["value_high"])).any():
            out.append("inside")
        elif price > mine["value_high"].max():
            out.append("above")
        elif price < mine["value_low"].min():
            out.append("below")
        else:
            out.append("between")
    return pd.Series(out, index=prices.index, name="against_claims")
