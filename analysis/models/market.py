"""What serving tokens costs and what it is sold for: list prices and rental-based cost.

* ``class_prices``: the dated list prices of one capability class, each tagged with the segment of
  its provider: ``dedicated-chip`` when the provider is a start-up that serves on its own chips
  (its ``companies`` row is a start-up and it sells per-token access), ``cloud`` otherwise.
* ``rental_costs``: cost per million output tokens of renting a chip, from its rental price and
  the best published per-chip throughput on a model, at a given utilization
  (``analysis.models.costs.usd_per_million_tokens``).
* ``against_claimed_ranges``: where each price lies against the article's claimed ranges
  (``claimed_boxes``: those ranges as spans of dates).
* ``measured_costs``: the spread of the cost scenarios costed at a measured throughput;
  ``cost_defaults``: the owner's inputs a cost explorer starts from.
* ``latest_prices``: each provider's latest list price; ``funding_rounds`` and ``raised_after``:
  the recorded funding of a few companies.

The article's cost and funding claims are judged against these numbers in ``analysis.rules.market_claims``.
"""

from __future__ import annotations

from dataclasses import dataclass

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


USD_M_PER_B = 1000.0


def funding_rounds(funding: pd.DataFrame, companies: pd.DataFrame, slugs: list[str]) -> pd.DataFrame:
    """The funding rounds of the companies ``slugs`` that record an amount, each with its company's
    ``name`` (from ``companies``)."""
    rounds = funding[funding["company_slug"].isin(slugs) & funding["amount_usd_m"].notna()]
    return rounds.merge(companies[["company_slug", "name"]], on="company_slug")


def raised_after(rounds: pd.DataFrame, date: str | pd.Timestamp) -> tuple[float, int]:
    """The USD billion raised in the rounds dated after ``date`` (``amount_usd_m`` is in USD million),
    and how many rounds those are."""
    after = rounds[rounds["date"] > pd.Timestamp(date)]
    return float(after["amount_usd_m"].sum()) / USD_M_PER_B, len(after)


def claimed_boxes(cost_claims: pd.DataFrame) -> pd.DataFrame:
    """The claimed cost ranges that can be drawn: rows of ``cost_claims`` with a low value and a high
    value above zero, each spanning its ``year`` from ``start`` (1 January) to ``end`` (31 December)."""
    boxes = cost_claims.dropna(subset=["value_low"])
    year = boxes["year"].astype(int).astype(str)
    boxes = boxes.assign(start=pd.to_datetime(year + "-01-01"), end=pd.to_datetime(year + "-12-31"))
    return boxes[boxes["value_high"] > 0]


@dataclass(frozen=True)
class MeasuredCosts:
    """The spread of the cost scenarios costed at a measured throughput: how many chips, the lowest
    and highest cost per million tokens owned and rented, and the lowest and highest measured
    throughput as a percentage of its ceiling."""

    chips: int
    owned_low: float
    owned_high: float
    rented_low: float
    rented_high: float
    share_low_pct: float
    share_high_pct: float


def measured_costs(scenarios: pd.DataFrame) -> MeasuredCosts:
    """``MeasuredCosts`` of the rows of ``scenarios`` (``derived_cost_scenarios``) whose
    ``throughput_basis`` is a measurement; raises ``ValueError`` when none is."""
    rows = scenarios[scenarios["throughput_basis"].str.startswith("measured")]
    if rows.empty:
        raise ValueError("no cost scenario has a measured throughput")
    owned = rows.loc[rows["basis"] == "owned", "usd_per_million_tokens"]
    rented = rows.loc[rows["basis"] != "owned", "usd_per_million_tokens"]
    share = rows["tokens_per_s"] / rows["ceiling_tokens_per_s"]
    return MeasuredCosts(chips=rows["chip"].nunique(),
                         owned_low=float(owned.min()), owned_high=float(owned.max()),
                         rented_low=float(rented.min()), rented_high=float(rented.max()),
                         share_low_pct=float(share.min() * 100), share_high_pct=float(share.max() * 100))


def cost_defaults(hardware_costs: pd.DataFrame, energy: pd.DataFrame, *, chip: str,
                  as_of: str | pd.Timestamp) -> tuple[dict[str, float], list[pd.DataFrame]]:
    """The owner's inputs a cost explorer starts from, as keyword arguments of
    ``analysis.book.explorers.cost_explorer``: the median on-demand rental (``hourly_usd``) and
    purchase price (``capex_usd``) of ``chip``, and from the ``energy`` rows dated up to ``as_of`` the
    median useful life, the median electricity price and the latest PUE (ties by ``parameter_id``).
    Second, the energy rows they come from (PUE, electricity, lives), for the figure's sources."""
    energy = energy[energy["date"] <= pd.Timestamp(as_of)]
    own = hardware_costs[hardware_costs["chip_slug"] == chip]
    pue = energy[energy["parameter"] == "pue"].sort_values(["date", "parameter_id"]).tail(1)
    electricity = energy[energy["parameter"] == "electricity_usd_per_kwh"]
    lives = energy[energy["parameter"] == "amortization_years"]
    if pue.empty or electricity.empty or lives.empty:
        raise ValueError(f"energy up to {as_of} lacks a PUE, an electricity price or a useful life")
    values = {"hourly_usd": float(own.loc[own["kind"] == "rental-on-demand", "usd"].median()),
              "capex_usd": float(own.loc[own["kind"] == "purchase", "usd"].median()),
              "amortization_years": float(lives["value"].median()),
              "electricity_usd_per_kwh": float(electricity["value"].median()),
              "pue": float(pue["value"].iloc[0])}
    return values, [pue, electricity, lives]


def latest_prices(prices: pd.DataFrame, segments: dict[str, str], *, other: str) -> pd.DataFrame:
    """Each provider's latest list price (by ``date_observed``), with its ``segment``: the label that
    ``segments`` gives the provider, or ``other``."""
    latest = prices.sort_values("date_observed").groupby("provider", as_index=False).tail(1)
    return latest.assign(segment=latest["provider"].map(lambda p: segments.get(p, other)))
