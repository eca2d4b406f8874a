"""The chapters' longer chart specifications, one builder per figure.

Each builder takes the rows a chapter has computed and returns the Altair chart it shows with
``Chapter.figure``; it computes nothing itself (the rows come from ``analysis.models``), so the chart
drawn is the chart of exactly the frame the chapter glues as the figure's data. Columns named
``source_ids`` are dropped from the drawn data: the sources are cited, not plotted. Short chart
specifications stay in their chapter cells.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from analysis.models import ceilings

SOURCE_COLUMN = "source_ids"
USD_PER_MTOK_LOG = "USD per 1M output tokens (log scale)"


def _drawn(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its sources column (if it has one)."""
    return frame.drop(columns=SOURCE_COLUMN) if SOURCE_COLUMN in frame else frame


def _panel_header() -> alt.Header:
    """The header of a facet row: the panel's label, bold, above the panel at its left."""
    return alt.Header(labelAngle=0, labelAlign="left", labelOrient="top", labelFontWeight="bold",
                      labelFontSize=13)


def price_trend(band: pd.DataFrame, points: pd.DataFrame) -> alt.LayerChart:
    """Chapter 1: dated list prices (``points``: date, provider, model, model_name_as_listed and the
    output and input prices) over the fitted decline and its band (``band``, from
    ``trends.fitted_band``), on a log price axis."""
    base = alt.Chart(band).encode(x=alt.X("date:T", title="Date observed"))
    return alt.layer(
        base.mark_area(opacity=0.18, color="#1f5a94").encode(
            y=alt.Y("low:Q", scale=alt.Scale(type="log"), title=USD_PER_MTOK_LOG), y2="high:Q"),
        base.mark_line(color="#1f5a94").encode(y="fitted:Q"),
        alt.Chart(_drawn(points)).mark_point(filled=True, size=55, opacity=0.8).encode(
            x="date:T", y="output_usd_per_mtok:Q", color=alt.Color("model:N", title="Model"),
            tooltip=["provider", "model", alt.Tooltip("model_name_as_listed:N", title="listed as"),
                     alt.Tooltip("date:T", format="%Y-%m-%d"),
                     alt.Tooltip("output_usd_per_mtok:Q", format="$.2f", title="output"),
                     alt.Tooltip("input_usd_per_mtok:Q", format="$.2f", title="input")],
        ),
    ).properties(width=620, height=340)


def mlperf_strip(results: pd.DataFrame) -> alt.FacetChart:
    """Chapter 2: every MLPerf result per accelerator (``evidence.per_chip_results``), one point per
    result on a log axis, a row of chips per model panel; colours are rounds, shapes divisions."""
    return alt.Chart(_drawn(results)).mark_point(filled=True, size=28, opacity=0.65).encode(
        x=alt.X("per_accelerator_tokens_per_s:Q", scale=alt.Scale(type="log"),
                title="tokens/s per accelerator (log scale)"),
        y=alt.Y("chip_name:N", title=None, sort="-x", axis=alt.Axis(labelLimit=230)),
        color=alt.Color("round:N", title="MLPerf round"),
        shape=alt.Shape("division:N", title="Division"),
        tooltip=["chip_name", "round", "division", "scenario", "submitter", "system", "accelerators",
                 "precision_bits",
                 alt.Tooltip("per_accelerator_tokens_per_s:Q", format=",.0f",
                             title="tokens/s per accelerator")],
    ).properties(width=460).facet(
        row=alt.Row("model_slug:N", title=None, header=_panel_header())
    ).resolve_scale(y="independent")


def fraction_of_ceiling(points: pd.DataFrame, rounds: list[str]) -> alt.FacetChart:
    """Chapter 2: each result's fraction of its ceiling (``fractions.drawn_points``) by round, in the
    order ``rounds`` (the article's claims first, drawn as diamonds), one panel per model; a line
    joins each chip's best result of each round (the rows whose ``best`` is true)."""
    base = alt.Chart().encode(
        x=alt.X("round:O", sort=rounds, title="MLPerf round (the article's claims at left)"),
        y=alt.Y("fraction_of_ceiling:Q", scale=alt.Scale(type="log"), title="fraction of ceiling (log)"),
        color=alt.Color("vendor:N", title="Vendor"))
    dots = base.mark_point(filled=True, size=30, opacity=0.6).encode(
        shape=alt.condition(alt.datum.round == ceilings.ARTICLE_ROUND, alt.value("diamond"),
                            alt.value("circle")),
        tooltip=["chip_name", "round", "scenario", "submitter", "accelerators", "weight_bits",
                 alt.Tooltip("measured_tokens_per_s:Q", format=",.0f",
                             title="measured tok/s per accelerator"),
                 alt.Tooltip("ceiling_tokens_per_s:Q", format=",.0f", title="ceiling tok/s per accelerator"),
                 alt.Tooltip("fraction_of_ceiling:Q", format=".1%", title="fraction of ceiling")])
    lines = base.transform_filter(alt.datum.best).mark_line(strokeWidth=1.2).encode(detail="chip_name:N")
    return alt.layer(dots, lines, data=_drawn(points)).properties(width=380, height=170).facet(
        row=alt.Row("model_slug:N", title=None, header=_panel_header()))


def claims_vs_prices(prices: pd.DataFrame, boxes: pd.DataFrame) -> alt.LayerChart:
    """Chapter 4: the article's claimed cost ranges (``boxes``, from ``market.claimed_boxes``) as
    shaded spans of their year, under the dated list prices (``prices``: date_observed, provider,
    model, segment, output_usd_per_mtok) coloured by segment, on a log price axis."""
    points = alt.Chart(_drawn(prices)).mark_point(filled=True, size=50).encode(
        x=alt.X("date_observed:T", title="Date observed"),
        y=alt.Y("output_usd_per_mtok:Q", scale=alt.Scale(type="log"), title=USD_PER_MTOK_LOG),
        color=alt.Color("segment:N", title="Segment"),
        tooltip=["provider", "model", "segment", alt.Tooltip("date_observed:T", format="%Y-%m-%d"),
                 alt.Tooltip("output_usd_per_mtok:Q", format="$.2f")],
    )
    spans = alt.Chart(boxes).mark_rect(opacity=0.15, color="#d1495b").encode(
        x="start:T", x2="end:T", y="value_low:Q", y2="value_high:Q",
        tooltip=["subject", "year", "value_low", "value_high", "qualifier"])
    return alt.layer(spans, points).properties(width=620, height=340)
