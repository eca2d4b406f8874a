"""Verdicts on the article's statements that no chip, cost, funding or forecast rule judges.

Every row of ``claims`` gets a verdict from exactly one rule (``RULE_OF_METRIC`` and ``covered``): the
chip table (``verdicts.check_chip_claims``), the cost table and the funding totals
(``market.check_cost_claims``, ``market.check_funding_claims`` in ``analysis.rules.market_claims``), a forecast of the ``forecasts`` table
(``FORECAST_OF_CLAIM``), or one of the rules here, in the shared vocabulary of ``vocabulary.VERDICTS`` (each rule returns a ``Judgement``):

* **a chip specification** (the claim's metric is a column of ``chips``): ``supported`` within
  ``SPEC_TOLERANCE`` of the recorded value, ``contradicted`` outside it, ``unverifiable`` when the book
  records no such specification for the chip;
* **inference precision** (a precision claim about no chip): MLPerf's closed division holds every
  result to at least 99% of the reference model's accuracy, so a closed-division result at a precision
  shows that precision serves with little loss; ``supported`` when every claimed inference precision has
  one, ``misleading`` when only some do, ``unverifiable`` when none does;
* **a chip's number formats** (a precision claim about a chip, outside its chip-table row): a claim
  that the chip computes only in integers is ``contradicted`` when its record lists a floating-point
  format, else ``supported``;
* **a chip's execution model** (``execution_model``, the models named in ``qualifier``): against the
  chip's recorded ``execution_model`` terms, ``supported`` when every named model is on record,
  ``misleading`` when only some are, ``contradicted`` when none is, ``unverifiable`` when the chip has
  no record;
* **a model on one chip** (a parameter count claimed to run on a chip without model parallelism): at
  the precision the article itself gives the chip, ``contradicted`` when the weights alone need more
  than one chip's memory, else ``supported``;
* **a chip said to be in development** (``chip_in_development``, its name in ``qualifier``): against the
  chips of that developer on record, ``misleading`` when one had already launched before the year of
  the statement (the name or the news is out of date), ``supported`` when one launched only later,
  ``unverifiable`` when none is on record;
* **a deployment** (``deployment``, the site or customer in ``qualifier``): ``supported`` when an event of
  kind ``deployment`` of that company, dated by the end of the statement's year, names the site in its
  title; else ``unverifiable``;
* **no measurable outcome** (a statement with no quantity the book can observe and no forecast): it is
  ``unverifiable`` by construction, and the reason says so;
* **no recorded evidence** (a quantity the book does not track, such as repository stars):
  ``unverifiable``, with the quantity named.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.models import roofline
from analysis.rules import verdicts, vocabulary
from analysis.rules.vocabulary import Judgement, Verdict

SPEC_TOLERANCE = 0.05
RULE_SPEC = "chip specification"
RULE_PRECISION = "inference precision in MLPerf's closed division"
RULE_UNTESTABLE = "no measurable outcome"
RULE_NO_EVIDENCE = "no recorded evidence"
RULE_NATIVE = "chip's native number formats"
RULE_ONE_CHIP = "model fits on one chip"
RULE_IN_DEVELOPMENT = "a developer's chips on record"
RULE_DEPLOYMENT = "a deployment on record"
RULE_ARCHITECTURE = "a chip's execution model on record"
ARCHITECTURE_METRIC = "execution_model"
RULE_CHIP_TABLE = "chip table (chapter 2)"
RULE_COST_TABLE = "cost table (chapter 4)"
RULE_FUNDING = "funding total (chapter 3)"
RULE_FORECAST = "forecast (chapter 6)"

CHIP_TABLE_METRICS = ("throughput_tokens_per_s", "latency_ms_per_token", "precision")
COST_METRICS = ("cost_usd_per_mtok",)
FUNDING_METRICS = ("funding_usd",)
UNTESTABLE_METRICS = ("other",)

# The article's predictions that the forecasts table tests, by claim.
FORECAST_OF_CLAIM = {
    "c34-phones-30b": "phones-30b-by-2027",
    "c37-consolidation": "consolidation-2027",
    "c39-pred-subscription-pricing": "p1-subscription-pricing",
    "c40-pred-10b-app-company": "p2-inference-native-10b",
    "c41-pred-nvidia-inference-chip": "p3-nvidia-inference-chip",
}
# What the book would need to judge a quantity it does not track.
UNTRACKED = {
    "stars": "the book records no dated GitHub star counts",
    "params_b": "the book records no measurement on a laptop (its Apple measurements are desktop Mac Studios)",
}
INFERENCE_PRECISIONS = {"int8": 8, "int4": 4, "fp8": 8, "fp4": 4, "binary": 1, "ternary": 2}


def rule_of(claim: pd.Series, chip_columns: set[str]) -> str:
    """Which rule judges a claim."""
    metric = str(claim["metric"])
    if claim["claim_id"] in FORECAST_OF_CLAIM:
        return RULE_FORECAST
    if pd.notna(claim["chip_slug"]) and pd.notna(claim["model_slug"]) and metric in CHIP_TABLE_METRICS:
        return RULE_CHIP_TABLE
    if metric in COST_METRICS:
        return RULE_COST_TABLE
    if metric in FUNDING_METRICS:
        return RULE_FUNDING
    if metric == ARCHITECTURE_METRIC and pd.notna(claim["chip_slug"]):
        return RULE_ARCHITECTURE
    if metric in chip_columns and pd.notna(claim["chip_slug"]):
        return RULE_SPEC
    if metric == "precision" and pd.notna(claim["chip_slug"]):
        return RULE_NATIVE
    if metric == "params_b" and pd.notna(claim["chip_slug"]):
        return RULE_ONE_CHIP
    if metric == "chip_in_development":
        return RULE_IN_DEVELOPMENT
    if metric == "deployment":
        return RULE_DEPLOYMENT
    if metric == "precision":
        return RULE_PRECISION
    if metric in UNTESTABLE_METRICS:
        return RULE_UNTESTABLE
    return RULE_NO_EVIDENCE


def _spec(claim: pd.Series, chips: pd.DataFrame) -> Judgement:
    value = pd.to_numeric(chips.set_index("slug").loc[claim["chip_slug"], claim["metric"]], errors="coerce")
    claimed = float(claim["value_low"])
    if pd.isna(value):
        return vocabulary.unverifiable(f"no recorded {claim['metric']} for {claim['chip_slug']}")
    ok = abs(claimed - float(value)) <= SPEC_TOLERANCE * float(value)
    reason = f"the chip's record gives {verdicts.format_number(float(value))} {claim['unit']}"
    return vocabulary.agreement(ok, agrees=reason, disagrees=reason)


def claimed_inference_precisions(text: str) -> list[str]:
    """The inference precisions a statement names (after the word 'inference' when it has one)."""
    tail = re.split(r"(?i)inference", str(text), maxsplit=1)[-1].lower()
    return [name for name in INFERENCE_PRECISIONS if re.search(rf"\b{name}\b", tail)]


def _precision(claim: pd.Series, benchmarks: pd.DataFrame) -> Judgement:
    named = claimed_inference_precisions(claim["qualifier"])
    closed = benchmarks[benchmarks["division"].eq("closed")]
    bits = set(pd.to_numeric(closed["precision_bits"], errors="coerce").dropna().astype(int))
    held = [p for p in named if INFERENCE_PRECISIONS[p] in bits]
    missing = [p for p in named if INFERENCE_PRECISIONS[p] not in bits]
    verdict: Verdict = "supported" if named and not missing else "misleading" if held else "unverifiable"
    shown = ", ".join(p.upper() for p in held) or "none"
    absent = ", ".join(p for p in missing) or "none"
    return Judgement(verdict, f"closed-division MLPerf results meet the accuracy target at {shown}; none at {absent}")


def _native(claim: pd.Series, chips: pd.DataFrame) -> Judgement:
    listed = chips.set_index("slug").loc[claim["chip_slug"], "precisions"]
    formats = [str(p).strip().lower() for p in (listed.split(";") if isinstance(listed, str) else list(listed))]
    floating = [p for p in formats if p.startswith(("fp", "bf"))]
    if floating:
        return vocabulary.contradicted("the chip's record lists floating-point formats: "
                                       + ", ".join(p.upper() for p in floating))
    return vocabulary.supported("the chip's record lists only integer formats")


def _architecture(claim: pd.Series, chips: pd.DataFrame) -> Judgement:
    # a list cell, as the CSV (";"-separated) or the store (an array) gives it
    recorded = sorted(roofline.precision_names(chips.set_index("slug").loc[claim["chip_slug"], ARCHITECTURE_METRIC]))
    named = sorted(roofline.precision_names(claim["qualifier"]))
    if not recorded:
        return vocabulary.unverifiable(f"no execution model of {claim['chip_slug']} on record")
    held = [t for t in named if t in recorded]
    missing = [t for t in named if t not in recorded]
    reason = (f"the chip's record gives {', '.join(recorded)}; the statement names {', '.join(named) or 'nothing'}"
              + (f" ({', '.join(missing)} not on record)" if missing else ""))
    if held and not missing:
        return vocabulary.supported(reason)
    return vocabulary.misleading(reason) if held else vocabulary.contradicted(reason)


def _one_chip(claim: pd.Series, chips: pd.DataFrame, bits: int | None) -> Judgement:
    memory = float(chips.set_index("slug").loc[claim["chip_slug"], "memory_gb"])
    if bits is None:
        return vocabulary.unverifiable("the article gives the chip no precision")
    weights_gb = float(claim["value_low"]) * bits / 8
    if weights_gb > memory:
        return vocabulary.contradicted(
            f"at the article's {bits}-bit precision the weights alone take {weights_gb:,.0f} GB, "
            f"more than the chip's {verdicts.format_number(memory)} GB: several chips, so model parallelism")
    return vocabulary.supported(f"at {bits} bits the weights take {weights_gb:,.0f} GB of its "
                                f"{verdicts.format_number(memory)} GB")


def _in_development(claim: pd.Series, chips: pd.DataFrame) -> Judgement:
    mine = chips[chips["vendor"].astype(str).str.lower().eq(str(claim["subject"]).lower())].sort_values(["year", "slug"])
    if mine.empty:
        return vocabulary.unverifiable(f"no chip of {claim['subject']} on record")
    listed = "; ".join(f"{r.name} ({int(r.year)})" for r in mine.itertuples())
    year = int(claim["year"])
    if (mine["year"] < year).any():
        return vocabulary.misleading(f"chips of this developer had launched before {year}: {listed}")
    return vocabulary.supported(f"launched after {year}: {listed}")


def _deployment(claim: pd.Series, events: pd.DataFrame) -> Judgement:
    site = str(claim["qualifier"])
    mine = events[events["kind"].eq("deployment") & events["company_slug"].eq(claim["subject"])
                  & events["title"].str.contains(site, case=False, regex=False)]
    mine = mine[pd.to_datetime(mine["date"]).dt.year <= int(claim["year"])].sort_values(["date", "event_id"])
    if mine.empty:
        return vocabulary.unverifiable(f"no deployment of {claim['subject']} naming {site} on record by {int(claim['year'])}")
    first = mine.iloc[0]
    return vocabulary.supported(f"on record: {first['title']} ({pd.Timestamp(first['date']):%B %Y})")


def _article_bits(claims: pd.DataFrame, chips: pd.DataFrame, chip_slug: str) -> int | None:
    rows = claims[claims["chip_slug"].eq(chip_slug) & claims["metric"].eq("precision") & claims["model_slug"].notna()]
    if rows.empty:
        return None
    return verdicts.claim_bits(chips.set_index("slug").loc[chip_slug], rows.sort_values("claim_id")["qualifier"].iloc[0])


def _spec_columns(chips: pd.DataFrame) -> set[str]:
    return set(chips.columns) - {"slug", "name", "vendor", "source_ids", "note"}


def check_other_claims(claims: pd.DataFrame, chips: pd.DataFrame, benchmarks: pd.DataFrame,
                       events: pd.DataFrame) -> pd.DataFrame:
    """Verdict, rule and reason for every claim that the chip, cost, funding and forecast rules leave."""
    columns = _spec_columns(chips)
    rows = []
    for _, claim in claims.sort_values("claim_id").iterrows():
        rule = rule_of(claim, columns)
        if rule == RULE_SPEC:
            result = _spec(claim, chips)
        elif rule == RULE_PRECISION:
            result = _precision(claim, benchmarks)
        elif rule == RULE_NATIVE:
            result = _native(claim, chips)
        elif rule == RULE_ARCHITECTURE:
            result = _architecture(claim, chips)
        elif rule == RULE_IN_DEVELOPMENT:
            result = _in_development(claim, chips)
        elif rule == RULE_DEPLOYMENT:
            result = _deployment(claim, events)
        elif rule == RULE_ONE_CHIP:
            result = _one_chip(claim, chips, _article_bits(claims, chips, claim["chip_slug"]))
        elif rule == RULE_UNTESTABLE:
            result = vocabulary.unverifiable("states no quantity the book can observe, and no forecast tests it")
        elif rule == RULE_NO_EVIDENCE:
            result = vocabulary.unverifiable(UNTRACKED.get(str(claim["metric"]), "no recorded evidence"))
        else:
            continue
        rows.append({"claim_id": claim["claim_id"], "claim": claim["claim"], "rule": rule, **result.fields(),
                     "source_ids": claim["source_ids"]})
    return pd.DataFrame(rows, columns=["claim_id", "claim", "rule", "verdict", "reason", "source_ids"])


def covered(claims: pd.DataFrame, chips: pd.DataFrame) -> pd.Series:
    """The rule that judges each claim, by claim id (every claim has exactly one)."""
    columns = _spec_columns(chips)
    return pd.Series({c["claim_id"]: rule_of(c, columns) for _, c in claims.iterrows()}, name="rule")
