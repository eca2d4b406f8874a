"""The panels the explorers are drawn with: bar panels per chip, the cost readout and the price panel.

``analysis.book.explorers`` stacks these panels over its inline tables; every field they draw is
computed in the page by the explorer's ``calculate`` transforms (``analysis.book.explorer_formulas``
and ``readout_steps`` here). Their axes keep fixed domains, given by the explorer from the range of
every state its controls can reach, so moving a control moves the bars, not the axis. Panels are
sized to fit a 375 px phone at their full font size (no text under 11 px).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from analysis.book.explorer_formulas import PARAM_MODEL, STATUS_OK, Step
from analysis.models import roofline

PANEL_WIDTH = 130
COST_WIDTH = 220
ROW_HEIGHT = 14
CHIP_LABEL_LIMIT = 110
FONT = 11
BOUND_COLORS = {roofline.BOUND_MEMORY: "#1f5a94", roofline.BOUND_COMPUTE: "#d1495b"}
COST_COLOR = "#d1495b"
PRICE_COLOR = "#66737f"


def bar_panel(base: alt.Chart, field: str, title: str, chip_order: Sequence[str], number_format: str,
              scale: alt.Scale) -> alt.LayerChart:
    """One measure per chip as bars (the chips that can run the setting), the number beside each bar,
    and the reason in place of the bar for the others; chips by name, in ``chip_order``."""
    ok = alt.datum.status == STATUS_OK
    y = alt.Y("chip_label:N", sort=list(chip_order), title=None, axis=alt.Axis(labelLimit=CHIP_LABEL_LIMIT))
    tooltip = [
        alt.Tooltip("chip_label:N", title="Chip"),
        alt.Tooltip("chips:Q", title="Chips needed", format=",d"),
        alt.Tooltip("per_user_tokens_per_s:Q", title="Tokens/s per user", format=",.4~g"),
        alt.Tooltip("tokens_per_s_per_chip:Q", title="Tokens/s per chip", format=",.4~g"),
        alt.Tooltip("bound:N", title="Bound"),
    ]
    bars = base.transform_filter(ok).mark_bar(height=ROW_HEIGHT - 3, clip=True).encode(
        x=alt.X(f"{field}:Q", scale=scale, stack=None, title=title, axis=alt.Axis(format="~s", tickCount=3)),
        x2=alt.value(0),
        y=y,
        color=alt.Color("bound:N", title="Bound", scale=alt.Scale(domain=list(BOUND_COLORS),
                                                                range=list(BOUND_COLORS.values()))),
        tooltip=tooltip,
    )
    numbers = base.transform_filter(ok).transform_calculate(
        label=f"format(datum.{field}, '{number_format}')"
    ).mark_text(align="left", dx=4, fontSize=FONT).encode(x=alt.value(PANEL_WIDTH), y=y, text="label:N")
    refused = base.transform_filter(~ok).mark_text(align="left", dx=2, fontSize=FONT, color="#666").encode(
        x=alt.value(0), y=y, text="status:N",
    )
    return alt.layer(bars, numbers, refused).properties(width=PANEL_WIDTH, height=alt.Step(ROW_HEIGHT))


def readout_steps() -> list[Step]:
    """The six lines of text above the cost chart (``line1`` to ``line6``) and ``usd``, the
    modelled cost on the price axis, computed after ``cost_steps``."""
    readout = {
        "line1": (f"datum.status == '{STATUS_OK}' ? format(datum.chips, ',d') + ' \u00d7 ' + datum.chip_label"
                  f" : datum.chip_label + ': ' + datum.status"),
        "line2": (f"datum.status == '{STATUS_OK}' ? 'batch ' + format(datum.batch_size, ',d') + ', '"
                  f" + datum.bound + '-bound' : ''"),
        "line3": (f"datum.status == '{STATUS_OK}' ? '$' + format(datum.usd_per_million_tokens, ',.4~g')"
                  f" + ' per 1M output tokens' : 'no cost'"),
        "line4": (f"datum.status == '{STATUS_OK}' ? format(datum.tokens_per_s_per_chip, ',.4~g')"
                  f" + ' tokens/s per chip' : ''"),
        "line5": (f"datum.status == '{STATUS_OK}' ? 'at $' + format(datum.hourly_usd_per_chip, ',.2f')"
                  " + ' per chip-hour' : ''"),
        "line6": ("datum.rent_count > 0 ? 'observed rentals $' + format(datum.rent_low, ',.2f')"
                  " + '\u2013$' + format(datum.rent_high, ',.2f')"
                  " : 'No observed rental price for this chip'"),
        "usd": "datum.usd_per_million_tokens",
    }
    return [Step(k, v) for k, v in readout.items()]


def readout_panel() -> alt.LayerChart:
    """The readout: chips, batch and bound, cost (bold), throughput, hourly cost, observed rentals;
    each line but the cost cut to the panel's width, so that the explorer keeps its width."""
    return alt.layer(*(
        alt.Chart().mark_text(align="left", baseline="top", fontSize=size, fontWeight=weight,
                              limit=COST_WIDTH if weight == "normal" else 0).encode(
            x=alt.value(0), y=alt.value(y), text=f"{name}:N")
        for name, y, size, weight in (("line1", 0, FONT, "normal"), ("line2", 15, FONT, "normal"),
                                      ("line3", 32, 12, "bold"), ("line4", 50, FONT, "normal"),
                                      ("line5", 65, FONT, "normal"), ("line6", 80, FONT, "normal"))
    )).properties(width=COST_WIDTH, height=96, view=alt.ViewBackground(stroke=None))


def price_panel(price_rows: pd.DataFrame, classes: dict[str, str], usd_domain: Sequence[float],
                dates: Sequence[Any]) -> alt.LayerChart:
    """Observed output list prices of the chosen model's class over time (grey points), with the
    modelled cost as a labelled rule (red) on the same log axis; both axes fixed (``usd_domain``,
    ``dates``), a cost outside the price axis drawn at its edge."""
    class_expr = f"{json.dumps(classes, sort_keys=True)}[{PARAM_MODEL}]"
    ok = alt.datum.status == STATUS_OK
    y = alt.Y("usd:Q", scale=alt.Scale(type="log", domain=list(usd_domain), clamp=True, nice=False),
              title="USD per 1M output tokens (log)", axis=alt.Axis(format="$~g"))
    points = alt.Chart(price_rows).transform_filter(
        f"datum.price_class == {class_expr}"
    ).transform_calculate(usd="datum.output_usd_per_mtok").mark_point(
        filled=True, size=40, color=PRICE_COLOR, opacity=0.7
    ).encode(
        x=alt.X("date_observed:T", title="List price observed", scale=alt.Scale(domain=list(dates)),
                axis=alt.Axis(format="%Y", tickCount="year")),
        y=y,
        tooltip=[alt.Tooltip("provider:N", title="Provider"), alt.Tooltip("listed_model:N", title="Model"),
                 alt.Tooltip("date_observed:T", title="Observed", format="%Y-%m-%d"),
                 alt.Tooltip("output_usd_per_mtok:Q", title="USD per 1M output", format="$.3~f")],
    )
    rule = alt.Chart().transform_filter(ok).mark_rule(color=COST_COLOR, strokeWidth=2).encode(
        y=y,
        tooltip=[alt.Tooltip("usd_per_million_tokens:Q", title="Roofline cost, USD per 1M", format="$.4~g"),
                 alt.Tooltip("hourly_usd_per_chip:Q", title="USD per chip-hour", format="$.2f")],
    )
    label = alt.Chart().transform_filter(ok).transform_calculate(
        label="'roofline floor $' + format(datum.usd_per_million_tokens, ',.3~g')"
    ).mark_text(align="right", baseline="bottom", dy=-3, color=COST_COLOR, fontSize=FONT).encode(
        x=alt.value(COST_WIDTH), y=y, text="label:N",
    )
    return alt.layer(points, rule, label).properties(width=COST_WIDTH, height=220)
