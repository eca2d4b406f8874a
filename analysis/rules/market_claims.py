"""Verdicts on the article's cost table and funding figures, in the book's vocabulary.

Cost verdict rules, per claim (segment x year), using list prices for 70B-class models on offer in
that year (``analysis.models.market.class_prices``: a price counts in every year between the first and
the last date it is seen), or in the latest year observed for a projection whose year has not ended:

* ``contradicted``: the claimed range lies entirely above the highest observed price, or entirely
  below the lowest (a list price is what a buyer pays, so a cost above every price is overstated);
* ``supported``: the claimed range overlaps the middle half of the observed prices (their first to
  third quartile), where most buyers paid;
* ``misleading``: it overlaps only the tails: some price falls in the range, but the range misses
  the middle half (a few outliers make it possible, not typical);
* ``unverifiable``: no observed price for the segment, or no value claimed, or the cell claims an
  owner's amortised cost (``OWNER_COST_SUBJECTS``: on-premises dedicated chips), which a list price can
  neither confirm nor refute (cost is compared with cost, price with price).

A consumer-device cell (``DEVICE_SUBJECTS``) claims what a token costs the owner of a desk machine, so
it is compared with the least that machine's tokens can cost (``analysis.models.devices.desk_cost``,
``judge_device``). "About zero" is read as at most ``ABOUT_ZERO_SHARE`` of the cheapest 70B-class list
price observed in the claim's year: what the token would otherwise be bought for.

* ``misleading``: the machine's own price, repaid over its life and busy every hour at its ceiling,
  already costs more than that per token, whatever the electricity (the marginal cost may be small,
  the token is not free);
* ``supported``: both the machine's share and the electricity (an upper estimate) are that small;
* ``unverifiable``: otherwise, or without a costed machine or an observed price.

When no price of the segment is on offer in the claim's year, the earliest later observations are
used, and the reason says so. Funding rules: ``check_funding_claims``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.models.devices import DeskCost
from analysis.models.market import CLOUD, DEDICATED
from analysis.rules import vocabulary
from analysis.rules.vocabulary import Judgement

SEGMENT_OF_SUBJECT = {
    "cloud-gpu-h100": CLOUD,
    "onprem-dedicated-chip": DEDICATED,
    "cloud-custom-silicon": None,
    "consumer-device": None,
}
# Cells of the cost table that claim what owning the hardware costs, not what a buyer of tokens pays:
# a list price cannot confirm or refute them (cost is compared with cost, price with price).
OWNER_COST_SUBJECTS = ("onprem-dedicated-chip",)
DEVICE_SUBJECTS = ("consumer-device",)
ABOUT_ZERO_SHARE = 0.1
LATER_SERIES = r"Series [B-Z]"
FUNDING_TOLERANCE = 0.05


def _seen_prices(observed: pd.DataFrame, segment: str | None, year: int | None,
                 latest_year: int | None) -> tuple[pd.DataFrame, int | None, str]:
    """The prices of ``segment`` a claim of ``year`` is set against, the year they are from, and a note
    when they come from a later year than the claim's."""
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
    return seen, used_year, note


def judge_cost(claim: pd.Series, record: dict[str, Any], note: str) -> Judgement:
    """The cost rule (module docstring) for one claim and the observed range in ``record``."""
    lo, hi = claim["value_low"], claim["value_high"]
    if pd.isna(lo) or pd.isna(hi):
        return vocabulary.unverifiable("no value claimed")
    seen = record["observations"] > 0
    if claim["subject"] in OWNER_COST_SUBJECTS:
        prices = (f"; the providers' list prices run {record['observed_low']:.2f}–{record['observed_high']:.2f} USD"
                  if seen else "")
        return vocabulary.unverifiable("an owner's amortised cost, which a list price cannot confirm or refute, and "
                                       f"no measured throughput of these chips to cost it{prices}{note}")
    if not seen:
        return vocabulary.unverifiable("no list price observed for this segment and year")
    if lo > record["observed_high"]:
        return vocabulary.contradicted(
            f"{lo / record['observed_median']:.0f}x the median list price, above every price observed{note}")
    if hi < record["observed_low"]:
        return vocabulary.contradicted(f"below every price observed{note}")
    q1, q3 = record["observed_q1"], record["observed_q3"]
    middle = f"the middle half of the {record['observations']} prices runs {q1:.2f}–{q3:.2f} USD"
    if lo <= q3 and hi >= q1:
        return vocabulary.supported(f"overlaps the observed list prices; {middle}{note}")
    inside = record["inside"]
    verb = "is" if inside == 1 else "are"
    return vocabulary.misleading(f"only {inside} of the {record['observations']} prices {verb} in the range; {middle}{note}")


def judge_device(claim: pd.Series, device: DeskCost | None, cheapest: float | None, year: int | None) -> Judgement:
    """The consumer-device rule (module docstring) for one claim, the costed desk machine and the
    cheapest list price of the class in ``year``."""
    if pd.isna(claim["value_low"]) or pd.isna(claim["value_high"]):
        return vocabulary.unverifiable("no value claimed")
    if device is None or cheapest is None or pd.isna(cheapest):
        return vocabulary.unverifiable("no desk machine costed, or no list price observed to call a cost about zero")
    limit = ABOUT_ZERO_SHARE * cheapest
    energy = (f"its electricity at most {device.energy_usd_per_mtok_low:.2f}–{device.energy_usd_per_mtok_high:.2f} USD "
              f"per 1M at maximum power")
    if device.device_usd_per_mtok > limit:
        return vocabulary.misleading(
            f"{energy}, but a machine with the {device.chip_name.split(' (')[0]}, bought for {device.price_usd:,.0f} USD, repaid over "
            f"{device.years:.0f} years and busy every hour at its single-stream ceiling of "
            f"{device.tokens_per_s:.0f} tokens/s, costs at least {device.device_usd_per_mtok:.2f} USD per 1M, "
            f"{device.device_usd_per_mtok / cheapest:.1f}x the cheapest 70B-class list price of {year} "
            f"({cheapest:.2f} USD)")
    if device.energy_usd_per_mtok_high <= limit:
        return vocabulary.supported(f"{energy}, and the machine's share at least {device.device_usd_per_mtok:.2f} "
                                    f"USD: both under a tenth of the cheapest list price of {year}")
    return vocabulary.unverifiable(f"{energy}, which may or may not be near zero: the machine's real draw is not recorded")


def cheapest_price(observed: pd.DataFrame, year: int | None, latest_year: int | None) -> tuple[float | None, int | None]:
    """The lowest list price of any segment in ``year`` (or the latest year observed, for a claim about a
    year not yet observed), and the year it is from."""
    used = year if year is None or latest_year is None or year <= latest_year else latest_year
    usd = observed.loc[observed["year"] == used, "output_usd_per_mtok"].dropna()
    return (float(usd.min()), used) if len(usd) else (None, used)


def check_cost_claims(claims: pd.DataFrame, observed: pd.DataFrame, *, device: DeskCost | None) -> pd.DataFrame:
    """The article's cost table, each row with the observed price range of its segment and year; the
    consumer-device cells against the costed desk machine ``device`` (None: none costed)."""
    rows = claims[claims["metric"] == "cost_usd_per_mtok"].sort_values("claim_id")
    latest_year = int(observed["year"].max()) if len(observed) else None
    out = []
    for _, c in rows.iterrows():
        year = int(c["year"]) if pd.notna(c["year"]) else None
        seen, used_year, note = _seen_prices(observed, SEGMENT_OF_SUBJECT.get(c["subject"]), year, latest_year)
        usd = seen["output_usd_per_mtok"]
        record = {
            "claim_id": c["claim_id"], "segment": c["subject"], "year": year,
            "claimed_low": c["value_low"], "claimed_high": c["value_high"],
            "observed_year": used_year if len(seen) else None,
            "observed_low": usd.min() if len(seen) else None,
            "observed_median": usd.median() if len(seen) else None,
            "observed_high": usd.max() if len(seen) else None,
            "observations": len(seen),
        }
        quartiles = {"observed_q1": usd.quantile(0.25) if len(seen) else None,
                     "observed_q3": usd.quantile(0.75) if len(seen) else None,
                     "inside": int(usd.between(c["value_low"], c["value_high"]).sum())}
        if c["subject"] in DEVICE_SUBJECTS:
            cheapest, cheapest_year = cheapest_price(observed, year, latest_year)
            judgement = judge_device(c, device, cheapest, cheapest_year)
        else:
            judgement = judge_cost(c, {**record, **quartiles}, note)
        out.append({**record, **judgement.fields()})
    return pd.DataFrame(out)


def judge_funding(claim_usd: float, rounds: pd.DataFrame, total: float) -> Judgement:
    """The funding rule (``check_funding_claims``) for one claimed total, the rounds on record and
    their recorded sum in USD."""
    single = rounds[((rounds["amount_usd_m"] * 1e6 - claim_usd).abs() <= FUNDING_TOLERANCE * claim_usd)
                    & rounds["round"].str.fullmatch(LATER_SERIES)]
    if len(single):
        r = single.iloc[0]
        return vocabulary.misleading(f"equals one round ({r['round']}, {r['date']:%B %Y}), which followed earlier rounds")
    if rounds["amount_usd_m"].notna().any() and abs(total - claim_usd) <= FUNDING_TOLERANCE * claim_usd:
        return vocabulary.supported("equals the sum of the recorded rounds")
    return vocabulary.unverifiable("no recorded round or sum matches; the record of early rounds is incomplete")


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
        claim = float(c["value_low"])
        total = float((rounds["amount_usd_m"].dropna() * 1e6).sum())
        out.append({"claim_id": c["claim_id"], "company": c["subject"], "claimed_usd_m": claim / 1e6,
                    "rounds_on_record": len(rounds), "recorded_total_usd_m": total / 1e6,
                    **judge_funding(claim, rounds, total).fields()})
    return pd.DataFrame(out)
