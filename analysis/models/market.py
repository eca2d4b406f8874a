"""What serving tokens costs and what it is sold for: list prices, rental-based cost, claim verdicts.

* ``class_prices``: the dated list prices of one capability class, each tagged with the segment of
  its provider: ``dedicated-chip`` when the provider is a start-up that serves on its own chips
  (its ``companies`` row is a start-up and it sells per-token access), ``cloud`` otherwise.
* ``rental_costs``: cost per million output tokens of renting a chip, from its rental price and
  the best published per-chip throughput on a model, at a given utilization
  (``analysis.models.costs.usd_per_million_tokens``).
* ``check_cost_claims``: the article's cost table set against the list prices observed in each
  claim's year, with a verdict by fixed rules (below).
* ``check_funding_claims``: the article's funding figures set against the funding rounds.

Cost verdict rules, per claim (segment x year), using list prices for 70B-class models on offer in
that year (a price counts in every year between the first and the last date it is seen), or in the
latest year observed for a projection whose year has not ended:

* ``contradicted``: the claimed range lies entirely above the highest observed price, or entirely
  below the lowest (a list price is what a buyer pays, so a cost above every price is overstated);
* ``supported``: the claimed range overlaps the observed prices;
* ``unverifiable``: no observed price for the segment, or no value claimed, or the cell claims an
  owner's amortised cost (``OWNER_COST_SUBJECTS``: on-premises dedicated chips), which a list price can
  neither confirm nor refute (cost is compared with cost, price with price).

When no price of the segment is on offer in the claim's year, the earliest later observations are
used, and the reason says so.
"""

from __future__ import annotations

import pandas as pd

from analysis.models import costs

DEDICATED = "dedicated-chip"
CLOUD = "cloud"
SEGMENT_OF_SUBJECT = {
    "cloud-gpu-h100": CLOUD,
    "onprem-dedicated-chip": DEDICATED,
    "cloud-custom-silicon": None,
    "consumer-device": None,
}
# Cells of the cost table that claim what owning the hardware costs, not what a buyer of tokens pays:
# a list price cannot confirm or refute them (cost is compared with cost, price with price).
OWNER_COST_SUBJECTS = ("onprem-dedicated-chip",)
LATER_SERIES = r"Series [B-Z]"
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


def check_cost_claims(claims: pd.DataFrame, observed: pd.DataFrame) -> pd.DataFrame:
    """The article's cost table, each row with the observed price range of its segment and year."""
    rows = claims[claims["metric"] == "cost_usd_per_mtok"].sort_values("claim_id")
    latest_year = int(observed["year"].max()) if len(observed) else None
    out = []
    for _, c in rows.iterrows():
        segment = SEGMENT_OF_SUBJECT.get(c["subject"])
        year = int(c["year"]) if pd.notna(c["year"]) else None
        used_year = year if year is None or latest_year is None or year <= latest_year else latest_year
        in_segment = observed[observed["segment"] == segment] if segment else observed.iloc[0:0]
        seen = in_segment[in_segment["year"] == used_year]
        note = ""
        if not len(seen) and used_year is not None and len(in_segment):
            later = in_segment[in_segment["year"] > used_year]
            if len(later):
                first = later["date_observed"].min()
                seen = later[later["date_observed"] == first]
                used_year = int(first.year)
                note = f"; none dated {year}, so the earliest later observations ({first:%Y-%m-%d}) are used"
        lo, hi = c["value_low"], c["value_high"]
        record = {
            "claim_id": c["claim_id"], "segment": c["subject"], "year": year,
            "claimed_low": lo, "claimed_high": hi,
            "observed_year": used_year if len(seen) else None,
            "observed_low": seen["output_usd_per_mtok"].min() if len(seen) else None,
            "observed_median": seen["output_usd_per_mtok"].median() if len(seen) else None,
            "observed_high": seen["output_usd_per_mtok"].max() if len(seen) else None,
            "observations": len(seen),
        }
        if pd.isna(lo) or pd.isna(hi):
            record.update(verdict="unverifiable", reason="no value claimed")
        elif c["subject"] in OWNER_COST_SUBJECTS:
            prices = (f"; the providers' list prices run {record['observed_low']:.2f}–{record['observed_high']:.2f} USD"
                      if len(seen) else "")
            record.update(verdict="unverifiable",
                          reason="an owner's amortised cost, which a list price cannot confirm or refute, and no "
                                 f"measured throughput of these chips to cost it{prices}{note}")
        elif not len(seen):
            record.update(verdict="unverifiable", reason="no list price observed for this segment and year")
        elif lo > record["observed_high"]:
            record.update(verdict="contradicted",
                          reason=f"{lo / record['observed_median']:.0f}x the median list price, above every price observed{note}")
        elif hi < record["observed_low"]:
            record.update(verdict="contradicted", reason=f"below every price observed{note}")
        else:
            record.update(verdict="supported", reason=f"overlaps the observed list prices{note}")
        out.append(record)
    return pd.DataFrame(out)


def check_funding_claims(claims: pd.DataFrame, funding: pd.DataFrame, *, before: str | pd.Timestamp) -> pd.DataFrame:
    """Each claimed funding total against the rounds on record before ``before``.

    ``misleading`` when a single round equals the claim (within 5%) and that round is a Series B or
    later, which implies earlier rounds, so the total must be larger (a round presented as a total);
    ``supported`` when the sum of recorded rounds equals the claim; ``unverifiable`` otherwise (the
    record of rounds may be incomplete, so a larger claim cannot be ruled out).
    """
    rows = claims[claims["metric"] == "funding_usd"].sort_values("claim_id")
    out = []
    for _, c in rows.iterrows():
        rounds = funding[(funding["company_slug"] == c["subject"]) & (funding["date"] < pd.Timestamp(before))]
        amounts = rounds["amount_usd_m"].dropna() * 1e6
        total = float(amounts.sum())
        claim = float(c["value_low"])
        single = rounds[((rounds["amount_usd_m"] * 1e6 - claim).abs() <= 0.05 * claim)
                        & rounds["round"].str.fullmatch(LATER_SERIES)]
        if len(single):
            r = single.iloc[0]
            verdict = "misleading"
            reason = f"equals one round ({r['round']}, {r['date']:%B %Y}), which followed earlier rounds"
        elif len(amounts) and abs(total - claim) <= 0.05 * claim:
            verdict, reason = "supported", "equals the sum of the recorded rounds"
        else:
            verdict, reason = "unverifiable", "no recorded round or sum matches; the record of early rounds is incomplete"
        out.append({"claim_id": c["claim_id"], "company": c["subject"], "claimed_usd_m": claim / 1e6,
                    "rounds_on_record": len(rounds), "recorded_total_usd_m": total / 1e6,
                    "verdict": verdict, "reason": reason})
    return pd.DataFrame(out)
