"""Chart builders of chapters 3 to 7: funding, cost sensitivity, utilization, energy, events, prices.

As in ``analysis.book.charts``: each builder draws the rows its chapter computed and glues, without
their sources column, with what the store names by slug in words (``analysis.book.chart_words``) and
at most ten categories by colour. Where a chart would need more (one colour per chip for nineteen
chips, ten kinds of event), the chip's name is written on its bar and the colour shows a coarser
grouping (its vendor; six groups of events).
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from analysis.book import chart_layout, chart_words
from analysis.book.charts import USD_PER_MTOK_LOG, WIDTH, drawn_rows, rows_height

BAR_STEP = 16
RENTAL_ORDER = ["lowest", "median", "highest"]


def funding(rounds: pd.DataFrame, article_date: str) -> alt.LayerChart:
    """Chapter 3: each funding round (``market.funding_rounds``: date, name, round, amount_usd_m,
    post_money_usd_b) as a bar coloured by company, and the article's date as a dashed rule."""
    bars = alt.Chart(drawn_rows(rounds)).mark_bar(size=14).encode(
        x=alt.X("date:T", title="Date of the round"),
        y=alt.Y("amount_usd_m:Q", title="Amount raised (USD million)"),
        color=alt.Color("name:N", title="Company"),
        tooltip=[alt.Tooltip("name:N", title="Company"), alt.Tooltip("round:N", title="Round"),
                 alt.Tooltip("date:T", format="%Y-%m-%d", title="Date"),
                 alt.Tooltip("amount_usd_m:Q", format=",.0f", title="USD million"),
                 alt.Tooltip("post_money_usd_b:Q", format=",.1f", title="valuation, USD billion")])
    rule = alt.Chart(pd.DataFrame({"date": [pd.Timestamp(article_date)]})).mark_rule(strokeDash=[4, 4]).encode(
        x="date:T")
    return alt.layer(bars, rule).properties(width=WIDTH, height=300)


def cost_tornado(swing: pd.DataFrame, ends: pd.DataFrame) -> alt.LayerChart:
    """Chapter 4: how far each input moves the cost (``cost_sensitivity.tornado``) as a span from its
    low to its high end, the two ends (``sensitivity.swing_ends``) as points, on a log cost axis;
    inputs named in words and ordered by their swing."""
    def named(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(input_name=frame["input"].map(lambda s: chart_words.named(s, chart_words.COST_INPUTS)))

    spans, points = named(swing), named(ends)
    y = alt.Y("input_name:N", sort=alt.EncodingSortField("swing", order="descending"), title=None)
    bars = alt.Chart(drawn_rows(spans)).mark_rule(strokeWidth=8, opacity=0.35, color="#1f5a94").encode(
        x=alt.X("output_low:Q", scale=alt.Scale(type="log"), title=USD_PER_MTOK_LOG), x2="output_high:Q", y=y)
    dots = alt.Chart(drawn_rows(points)).mark_point(filled=True, size=80).encode(
        x="usd_per_mtok:Q", y=y, color=alt.Color("end:N", title="Cost with the"),
        tooltip=[alt.Tooltip("input_name:N", title="Input"), alt.Tooltip("end:N", title="End"),
                 alt.Tooltip("usd_per_mtok:Q", format="$.3f", title="USD per 1M tokens")])
    return alt.layer(bars, dots).properties(width=WIDTH - 60, height=280)


def utilization(sweep: pd.DataFrame, chip: str) -> alt.Chart:
    """Chapter 4: the cost per million tokens of a rented chip (``sensitivity.utilization_sweep``) at
    its lowest, median and highest rental price, against the share of busy hours."""
    return alt.Chart(drawn_rows(sweep)).mark_line(point=True).encode(
        x=alt.X("utilization:Q", title="Share of hours the chip is busy", axis=alt.Axis(format="%")),
        y=alt.Y("usd_per_mtok:Q", scale=alt.Scale(type="log"), title=USD_PER_MTOK_LOG),
        color=alt.Color("rental:N", title=f"{chip} rental price", sort=RENTAL_ORDER),
        tooltip=[alt.Tooltip("rental:N", title="Rental price"), alt.Tooltip("usd:Q", format="$.2f", title="USD per hour"),
                 alt.Tooltip("utilization:Q", format=".0%", title="Busy"),
                 alt.Tooltip("usd_per_mtok:Q", format="$.2f", title="USD per 1M tokens")],
    ).properties(width=WIDTH, height=320)


def energy_per_token(energy: pd.DataFrame, chips: pd.DataFrame) -> alt.Chart:
    """Chapter 5: the energy per million output tokens of each result (``energy.energy_per_token``),
    one bar per chip and round labelled in words, coloured by the chip's vendor."""
    labels = chart_words.chip_labels(chips)
    vendors = dict(zip(chips["slug"].astype(str), chips["vendor"].astype(str))) if "vendor" in chips else {}
    drawn = drawn_rows(energy).assign(
        chip_name=energy["chip_slug"].map(lambda s: labels.get(s, s)),
        vendor=energy["chip_slug"].map(lambda s: vendors.get(s, "other")))
    drawn = drawn.assign(bar=drawn["chip_name"] + " (" + drawn["round"].astype(str) + ")")
    return alt.Chart(drawn).mark_bar().encode(
        x=alt.X("kwh_per_million_tokens:Q", title=["kWh per million output tokens", "(at the meter)"]),
        y=alt.Y("bar:N", sort="x", title=None, axis=alt.Axis(labelLimit=chart_layout.narrow(160, 300))),
        color=alt.Color("vendor:N", title="Vendor"),
        tooltip=[alt.Tooltip("chip_name:N", title="Chip"), alt.Tooltip("round:N", title="MLPerf round"),
                 alt.Tooltip("benchmark_id:N", title="Result"), alt.Tooltip("precision_bits:Q", title="weight bits"),
                 alt.Tooltip("per_accelerator_tokens_per_s:Q", format=",.0f", title="tokens/s per chip"),
                 alt.Tooltip("tdp_w:Q", title="rated power (W)"),
                 alt.Tooltip("joules_per_token:Q", format=".3f", title="joules per token"),
                 alt.Tooltip("kwh_per_million_tokens:Q", format=".2f", title="kWh per 1M tokens")],
    ).properties(width=WIDTH, height=rows_height(drawn, "bar", BAR_STEP))


def prediction_evidence(events: pd.DataFrame) -> alt.Chart:
    """Chapter 6: each dated event (``event_id``, ``date``, ``kind``, ``forecast``, ``title``) on the
    row of the forecast it bears on, both in words; coloured by the group of its kind."""
    drawn = drawn_rows(events).assign(
        topic=events["forecast"].map(lambda s: chart_words.named(s, chart_words.FORECAST_TOPICS)),
        group=events["kind"].map(lambda s: chart_words.named(s, chart_words.EVENT_GROUPS)),
        kind_name=events["kind"].map(chart_words.words))
    return alt.Chart(drawn).mark_point(filled=True, size=80).encode(
        x=alt.X("date:T", title="Date"),
        y=alt.Y("topic:N", title=None),
        color=alt.Color("group:N", title="Kind of event"),
        tooltip=[alt.Tooltip("date:T", format="%Y-%m-%d", title="Date"), alt.Tooltip("title:N", title="Event"),
                 alt.Tooltip("kind_name:N", title="Kind"), alt.Tooltip("topic:N", title="Bears on")],
    ).properties(width=WIDTH, height=rows_height(drawn, "topic", 32))


def latest_prices(latest: pd.DataFrame, segments: Mapping[str, str] | None = None) -> alt.Chart:
    """Chapter 7: each provider's latest list price (``market.latest_prices``: provider, segment,
    date_observed, output_usd_per_mtok) as a bar, providers by name, coloured by segment."""
    drawn = drawn_rows(latest).assign(provider_name=latest["provider"].map(chart_words.provider_name))
    if segments:
        drawn = drawn.assign(segment=drawn["segment"].map(lambda s: segments.get(s, s)))
    return alt.Chart(drawn).mark_bar().encode(
        x=alt.X("output_usd_per_mtok:Q", title=["USD per 1M output tokens", "(latest list price)"]),
        y=alt.Y("provider_name:N", sort="x", title=None),
        color=alt.Color("segment:N", title=None),
        tooltip=[alt.Tooltip("provider_name:N", title="Provider"),
                 alt.Tooltip("date_observed:T", format="%Y-%m-%d", title="Observed"),
                 alt.Tooltip("output_usd_per_mtok:Q", format="$.2f", title="USD per 1M output tokens")],
    ).properties(width=WIDTH, height=rows_height(drawn, "provider_name", BAR_STEP))
