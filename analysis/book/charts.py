"""The chapters' chart specifications, one builder per figure (chapters 1 and 2 here, 3 to 7 in
``analysis.book.charts_market``).

Each builder takes the rows a chapter has computed and returns the Altair chart it shows with
``Chapter.figure``; it computes nothing itself (the rows come from ``analysis.models``), so the chart
drawn is the chart of exactly the frame the chapter glues as the figure's data. Columns named
``source_ids`` are dropped from the drawn data: the sources are cited, not plotted. What the store
names by slug is drawn in words (``analysis.book.chart_words``): chips and models by name, in a column
of its own beside the slug, which stays in the drawn rows (the figure's CSV) for joining.

Single and layered charts are given a width for the exported files; in the page they follow their
column (``analysis.book.chart_layout.responsive``). A chart of one panel per model is a vertical stack
of panels that are ``"container"`` wide (a facet cannot follow its container), sharing their scales
and legends. No categorical colour shows more than ten categories (the theme's palette).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import altair as alt
import pandas as pd

from analysis.book import chart_words
from analysis.models import ceilings

SOURCE_COLUMN = "source_ids"
USD_PER_MTOK_LOG = "USD per 1M output tokens (log scale)"
WIDTH = 620
CONTAINER = "container"
ROW_STEP = 14


def drawn_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its sources column (if it has one)."""
    return frame.drop(columns=SOURCE_COLUMN) if SOURCE_COLUMN in frame else frame


def rows_height(frame: pd.DataFrame, column: str, step: int = ROW_STEP) -> int:
    """The height that gives each distinct value of ``frame[column]`` a row of ``step`` pixels (a
    number, not a Vega-Lite step, so that the chart can still be fitted to its container's width)."""
    return step * max(1, int(frame[column].nunique()))


def _panel_title(text: str) -> alt.Title:
    """The title of one panel of a stack: its label, bold, at its left."""
    return alt.Title(text, anchor="start", fontSize=13, fontWeight="bold", offset=4)


def _stack(frame: pd.DataFrame, by: str, names: Mapping[str, str],
           panel: Callable[[bool, int], alt.TopLevelMixin], *, rows: str | None = None,
           spacing: int = 18) -> alt.VConcatChart:
    """One ``panel(last, n)`` per value of ``frame[by]`` in the order of their names, each titled by
    its name and as wide as the page, over ``frame``'s rows; ``last`` is true for the bottom panel (the
    one that titles the shared axis), ``n`` the panel's number of distinct ``rows`` values."""
    values = sorted({str(v) for v in frame[by].dropna()}, key=lambda v: (names.get(v, v).casefold(), v))
    count = (lambda v: int(frame.loc[frame[by].astype(str) == v, rows].nunique())) if rows else (lambda v: 1)
    panels = [panel(i == len(values) - 1, count(v)).transform_filter(alt.datum[by] == v).properties(
        width=CONTAINER, title=_panel_title(names.get(v, chart_words.words(v)))) for i, v in enumerate(values)]
    return alt.vconcat(*panels, data=drawn_rows(frame), spacing=spacing)


def price_trend(band: pd.DataFrame, points: pd.DataFrame) -> alt.LayerChart:
    """Chapter 1: dated list prices (``points``: date, provider, model, model_name_as_listed and the
    output and input prices) over the fitted decline and its band (``band``, from
    ``trends.fitted_band``), on a log price axis; one colour per model, the provider by name."""
    drawn = drawn_rows(points).assign(provider_name=points["provider"].map(chart_words.provider_name))
    base = alt.Chart(band).encode(x=alt.X("date:T", title="Date observed"))
    return alt.layer(
        base.mark_area(opacity=0.18, color="#1f5a94").encode(
            y=alt.Y("low:Q", scale=alt.Scale(type="log"), title=USD_PER_MTOK_LOG), y2="high:Q"),
        base.mark_line(color="#1f5a94").encode(y="fitted:Q"),
        alt.Chart(drawn).mark_point(filled=True, size=55, opacity=0.8).encode(
            x="date:T", y="output_usd_per_mtok:Q", color=alt.Color("model:N", title="Model"),
            tooltip=[alt.Tooltip("provider_name:N", title="Provider"), alt.Tooltip("model:N", title="Model"),
                     alt.Tooltip("model_name_as_listed:N", title="listed as"),
                     alt.Tooltip("date:T", format="%Y-%m-%d", title="Observed"),
                     alt.Tooltip("output_usd_per_mtok:Q", format="$.2f", title="output"),
                     alt.Tooltip("input_usd_per_mtok:Q", format="$.2f", title="input")],
        ),
    ).properties(width=WIDTH, height=340)


def mlperf_strip(results: pd.DataFrame, model_names: Mapping[str, str],
                 chip_names: Mapping[str, str] | None = None) -> alt.VConcatChart:
    """Chapter 2: every MLPerf result per accelerator (``evidence.per_chip_results``), one point per
    result on a log axis, one panel of chips per model (titled by ``model_names``; chips by
    ``chip_names``, keyed by chip name, else by ``chart_words.chip_label``); colours are rounds,
    shapes divisions."""
    names = chip_names or {}
    drawn = results.assign(chip_label=results["chip_name"].map(lambda n: names.get(n) or chart_words.chip_label(n)))

    def panel(last: bool, rows: int) -> alt.Chart:
        return alt.Chart().mark_point(filled=True, size=28, opacity=0.65).encode(
            x=alt.X("per_accelerator_tokens_per_s:Q", scale=alt.Scale(type="log"),
                    title="Tokens/s per accelerator (log scale)" if last else None),
            y=alt.Y("chip_label:N", title=None, sort="-x"),
            color=alt.Color("round:N", title="MLPerf round"),
            shape=alt.Shape("division:N", title="Division"),
            tooltip=[alt.Tooltip("chip_name:N", title="Chip"), "round", "division", "scenario", "submitter",
                     "system", "accelerators", alt.Tooltip("precision_bits:Q", title="weight bits"),
                     alt.Tooltip("per_accelerator_tokens_per_s:Q", format=",.0f",
                                 title="tokens/s per accelerator")],
        ).properties(height=ROW_STEP * rows)

    return _stack(drawn, "model_slug", model_names, panel, rows="chip_label").resolve_scale(
        x="shared", y="independent", color="shared", shape="shared")


def fraction_of_ceiling(points: pd.DataFrame, rounds: list[str], model_names: Mapping[str, str]) -> alt.VConcatChart:
    """Chapter 2: each result's fraction of its ceiling (``fractions.drawn_points``) by round, in the
    order ``rounds`` (the article's claims first, drawn as diamonds), one panel per model (titled by
    ``model_names``); a line joins each chip's best result of each round (the rows whose ``best`` is
    true)."""

    def panel(last: bool, _rows: int) -> alt.LayerChart:
        base = alt.Chart().encode(
            x=alt.X("round:O", sort=rounds, title=["MLPerf round", "(the article's claims at left)"] if last else None,
                    axis=alt.Axis(labelAngle=0)),
            y=alt.Y("fraction_of_ceiling:Q", scale=alt.Scale(type="log"), title="Share of ceiling (log)"),
            color=alt.Color("vendor:N", title="Vendor"))
        dots = base.mark_point(filled=True, size=30, opacity=0.6).encode(
            shape=alt.condition(alt.datum.round == ceilings.ARTICLE_ROUND, alt.value("diamond"),
                                alt.value("circle")),
            tooltip=[alt.Tooltip("chip_name:N", title="Chip"), "round", "scenario", "submitter", "accelerators",
                     alt.Tooltip("weight_bits:Q", title="weight bits"),
                     alt.Tooltip("measured_tokens_per_s:Q", format=",.0f", title="measured tok/s per accelerator"),
                     alt.Tooltip("ceiling_tokens_per_s:Q", format=",.0f", title="ceiling tok/s per accelerator"),
                     alt.Tooltip("fraction_of_ceiling:Q", format=".1%", title="share of ceiling")])
        lines = base.transform_filter(alt.datum.best).mark_line(strokeWidth=1.2).encode(detail="chip_name:N")
        return alt.layer(dots, lines).properties(height=170)

    return _stack(points, "model_slug", model_names, panel).resolve_scale(x="shared", y="shared", color="shared")


def chips_needed(needed: pd.DataFrame, chip_names: Mapping[str, str]) -> alt.Chart:
    """Chapter 2: the chips needed to hold a model's weights (``sizing.chips_for_weights`` with a
    ``precision`` label), per chip by name, coloured by precision, shaped by the memory that holds
    them; the chips that need most at the top."""
    drawn = drawn_rows(needed).assign(
        chip_name=needed["chip"].map(lambda s: chip_names.get(s, s)),
        memory_kind=needed["memory"].map(lambda m: chart_words.named(m, chart_words.MEMORY_KINDS)))
    return alt.Chart(drawn).mark_point(filled=True, size=70).encode(
        x=alt.X("chips_for_weights:Q", scale=alt.Scale(type="log"),
                title=["Chips needed to hold the weights", "(log scale)"]),
        y=alt.Y("chip_name:N", sort=alt.EncodingSortField("chips_for_weights", op="max", order="descending"),
                title=None),
        color=alt.Color("precision:N", title="Weights"),
        shape=alt.Shape("memory_kind:N", title="Weights held in"),
        tooltip=[alt.Tooltip("chip_name:N", title="Chip"), alt.Tooltip("memory_kind:N", title="Memory"),
                 alt.Tooltip("precision:N", title="Weights"),
                 alt.Tooltip("weights_gb:Q", format=",.0f", title="weights (GB)"),
                 alt.Tooltip("chips_for_weights:Q", format=",d", title="chips needed")],
    ).properties(width=WIDTH, height=rows_height(drawn, "chip_name"))


def user_vs_chip(frontier: pd.DataFrame, chip_names: Mapping[str, str]) -> alt.Chart:
    """Chapter 2: per-user speed against per-chip throughput as the batch grows
    (``sizing.batch_frontier``), one line per chip by name, both axes on log scales."""
    drawn = frontier.assign(chip_name=frontier["chip"].map(lambda s: chip_names.get(s, s)))
    return alt.Chart(drawn).mark_line(point=True).encode(
        x=alt.X("per_user_tokens_per_s:Q", scale=alt.Scale(type="log"),
                title=["Tokens/s each user receives", "(log scale)"]),
        y=alt.Y("tokens_per_s_per_chip:Q", scale=alt.Scale(type="log"),
                title="Tokens/s per chip, all users (log scale)"),
        color=alt.Color("chip_name:N", title="Chip"),
        order="batch:Q",
        tooltip=[alt.Tooltip("chip_name:N", title="Chip"), "batch", "chips",
                 alt.Tooltip("per_user_tokens_per_s:Q", format=".1f", title="tokens/s per user"),
                 alt.Tooltip("tokens_per_s_per_chip:Q", format=",.0f", title="tokens/s per chip"), "bound"],
    ).properties(width=WIDTH, height=380)


def roofline_grid(grid: pd.DataFrame, chip_names: Mapping[str, str], model_names: Mapping[str, str]) -> alt.Chart:
    """Chapter 2: the per-chip decode bound of every chip (rows) for every model (columns), by name,
    shaded on a log colour scale."""
    drawn = drawn_rows(grid).assign(chip_name=grid["chip"].map(lambda s: chip_names.get(s, s)),
                                    model_name=grid["model"].map(lambda s: model_names.get(s, s)))
    return alt.Chart(drawn).mark_rect().encode(
        x=alt.X("model_name:N", title=None, axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("chip_name:N", title=None),
        color=alt.Color("tokens_per_s_per_chip:Q", scale=alt.Scale(type="log", scheme="blues"),
                        title="Tokens/s per chip", legend=alt.Legend(format=",.0f")),
        tooltip=[alt.Tooltip("chip_name:N", title="Chip"), alt.Tooltip("model_name:N", title="Model"), "chips",
                 alt.Tooltip("tokens_per_s_per_chip:Q", format=",.0f", title="tokens/s per chip"),
                 alt.Tooltip("per_user_tokens_per_s:Q", format=",.1f", title="tokens/s per user"), "bound"],
    ).properties(width=WIDTH, height=rows_height(drawn, "chip_name"))


def claims_vs_prices(prices: pd.DataFrame, boxes: pd.DataFrame) -> alt.LayerChart:
    """Chapter 4: the article's claimed cost ranges (``boxes``, from ``market.claimed_boxes``) as
    shaded spans of their year, under the dated list prices (``prices``: date_observed, provider,
    model, segment, output_usd_per_mtok) coloured by segment, on a log price axis."""
    drawn = drawn_rows(prices).assign(
        provider_name=prices["provider"].map(chart_words.provider_name),
        sold_by=prices["segment"].map(lambda s: chart_words.named(s, chart_words.SEGMENTS)))
    points = alt.Chart(drawn).mark_point(filled=True, size=50).encode(
        x=alt.X("date_observed:T", title="Date observed"),
        y=alt.Y("output_usd_per_mtok:Q", scale=alt.Scale(type="log"), title=USD_PER_MTOK_LOG),
        color=alt.Color("sold_by:N", title="Sold by"),
        tooltip=[alt.Tooltip("provider_name:N", title="Provider"), alt.Tooltip("model:N", title="Model"),
                 alt.Tooltip("sold_by:N", title="Sold by"),
                 alt.Tooltip("date_observed:T", format="%Y-%m-%d", title="Observed"),
                 alt.Tooltip("output_usd_per_mtok:Q", format="$.2f", title="output")],
    )
    spans = alt.Chart(boxes).mark_rect(opacity=0.15, color="#d1495b").encode(
        x="start:T", x2="end:T", y="value_low:Q", y2="value_high:Q",
        tooltip=[alt.Tooltip("subject:N", title="Claim about"), alt.Tooltip("year:O", title="Year"),
                 alt.Tooltip("value_low:Q", title="claimed, from"), alt.Tooltip("value_high:Q", title="claimed, to"),
                 alt.Tooltip("qualifier:N", title="Qualifier")])
    return alt.layer(spans, points).properties(width=WIDTH, height=340)
