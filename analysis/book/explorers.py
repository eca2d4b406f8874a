"""What-if explorers: charts whose controls change the assumptions and whose arithmetic runs in the page.

Each explorer is an Altair chart over small inline tables exported from the store
(``analysis.book.explorer_tables``), with controls bound to Vega-Lite parameters. Every number it
draws is computed in the browser by ``calculate`` transforms whose expression strings
``analysis.book.explorer_formulas`` generates (``roofline_steps`` and ``cost_steps``, where the
formulas are written out), from the same constants as ``analysis.models.roofline`` and
``analysis.models.costs``; each sequence's attention cache is ``analysis.models.attention``'s, from
the architecture columns the model table carries (latent attention, windowed layers). The tests drive
the explorers in Chromium, and evaluate their expressions in Python, and compare every computed value
with those modules' Python functions.

The roofline explorer (``roofline_explorer``) draws, per chip, the chosen model's decode roofline at
the chosen precision, batch and context. A chip is drawn without numbers (and labelled why) when it
does not support the precision, when the chip lacks a bandwidth, memory or compute figure or the
model a shape figure, and when the context exceeds the model's window: exactly the cases in which
``roofline_point.roofline_point`` refuses.

The cost explorer (``cost_explorer``), for the chosen chip, model, precision and context, serves the
**largest batch that fits on the fewest chips** (``roofline_point(batch="max")``), on rented or owned
chips, and sets the cost per 1M output tokens against the observed list prices of the model's
capability class (the model itself when it has no class). Assumptions are those of
``analysis.models.roofline`` (a bound: 100% efficiency, perfect sharding, no interconnect time) and
``analysis.models.costs`` (straight-line amortization with no cost of capital, power drawn around the
clock, every cost charged to output tokens), so the result is a floor on the cost of that
configuration, not a price. Power is the chip's TDP (``tdp_w``), not a whole server's draw, and there
is no hosting charge; when owning, a chip without a TDP figure has no cost. Serving on more chips
than the fewest would allow a larger batch and a lower cost.

The computed rows of an explorer are readable in the page with ``EXPLORER_ROWS_JS`` (given a
vega-embed result and the name of a computed field, it returns the rows of the largest dataset that
carries that field); the controls are the ``<select>`` and ``<input>`` elements vega-embed draws,
named by the parameter names in ``ROOFLINE_PARAMS`` and ``COST_PARAMS``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from analysis.book.explorer_formulas import (
    MODEL_COLUMNS,
    OWN,
    PARAM_BATCH,
    PARAM_BITS,
    PARAM_CAPEX,
    PARAM_CHIP,
    PARAM_CONTEXT,
    PARAM_ELECTRICITY,
    PARAM_HOURLY,
    PARAM_MODEL,
    PARAM_OWNERSHIP,
    PARAM_PUE,
    PARAM_UTILIZATION,
    PARAM_YEARS,
    RENT,
    STATUS_OK,
    Step,
    cost_steps,
    roofline_steps,
)
from analysis.book.explorer_tables import (
    chip_table,
    cost_table,
    id_list,
    model_table,
    price_classes,
    price_table,
    with_shapes,
)
from analysis.models import costs, roofline

ROOFLINE_PARAMS = (PARAM_MODEL, PARAM_BITS, PARAM_BATCH, PARAM_CONTEXT)
COST_PARAMS = (
    PARAM_CHIP, PARAM_MODEL, PARAM_BITS, PARAM_CONTEXT, PARAM_OWNERSHIP, PARAM_HOURLY, PARAM_CAPEX,
    PARAM_YEARS, PARAM_ELECTRICITY, PARAM_PUE, PARAM_UTILIZATION,
)
BATCH_RANGE = (1, 1024)
CONTEXT_RANGE = (128, 32768)
CONTEXT_STEP = 128
PANEL_WIDTH = 170
COST_WIDTH = 250
ROW_HEIGHT = 14
CHIPS_AXIS_MIN = 0.6
HOURLY_SLIDER_MAX = 15.0
HOURLY_HEADROOM = 1.25
BOUND_COLORS = {roofline.BOUND_MEMORY: "#1f5a94", roofline.BOUND_COMPUTE: "#d1495b"}
COST_COLOR = "#d1495b"
PRICE_COLOR = "#66737f"
EXPLORER_ROWS_JS = """(result, field) => {
  const names = result.vgSpec.data.map(d => d.name);
  let best = [];
  for (const name of names) {
    const rows = result.view.data(name) || [];
    if (rows.length && field in rows[0] && rows.length > best.length) best = rows;
  }
  return best.map(r => Object.assign({}, r));
}"""


__all__ = [
    "COST_PARAMS",
    "EXPLORER_ROWS_JS",
    "ROOFLINE_PARAMS",
    "cost_explorer",
    "roofline_explorer",
    "source_ids",
]


def source_ids(*frames: pd.DataFrame) -> list[str]:
    """Every source id in the ``source_ids`` columns of ``frames`` (lists or ``;``-joined text)."""
    found: set[str] = set()
    for frame in frames:
        if "source_ids" in frame:
            for value in frame["source_ids"]:
                found.update(id_list(value))
    return sorted(found)


def _inline(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=["source_ids"], errors="ignore")


def _with_model(chart: Any, models: pd.DataFrame) -> Any:
    return chart.transform_calculate(as_="model", calculate=PARAM_MODEL).transform_lookup(
        lookup="model",
        from_=alt.LookupData(data=_inline(model_table(models)), key="model", fields=list(MODEL_COLUMNS)),
    )


def _calculate(chart: Any, steps: Sequence[Step]) -> Any:
    for step in steps:
        chart = chart.transform_calculate(as_=step.field, calculate=step.expr)
    return chart


def _check_choice(value: Any, allowed: Sequence[Any], name: str) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")


def _select(
    name: str, value: Any, options: Sequence[Any], labels: Sequence[str], label: str
) -> alt.Parameter:
    return alt.param(name=name, value=value,
                     bind=alt.binding_select(options=list(options), labels=list(labels), name=label))


def _slider(name: str, value: float, low: float, high: float, step: float, label: str) -> alt.Parameter:
    return alt.param(name=name, value=value, bind=alt.binding_range(min=low, max=high, step=step, name=label))


def _model_param(models: pd.DataFrame, model: str) -> alt.Parameter:
    slugs = models["slug"].astype(str).tolist()
    _check_choice(model, slugs, "model")
    names = models["name"].astype(str).tolist() if "name" in models else slugs
    return _select(PARAM_MODEL, model, slugs, names, "Model ")


def _bits_param(bits: int) -> alt.Parameter:
    _check_choice(bits, roofline.SUPPORTED_BITS, "bits")
    return _select(PARAM_BITS, bits, roofline.SUPPORTED_BITS,
                   [f"{b}-bit" for b in roofline.SUPPORTED_BITS], "Weight precision (bits) ")


def _context_param(context: int) -> alt.Parameter:
    if not CONTEXT_RANGE[0] <= context <= CONTEXT_RANGE[1]:
        raise ValueError(f"context must be in {CONTEXT_RANGE}; got {context}")
    return _slider(PARAM_CONTEXT, context, *CONTEXT_RANGE, CONTEXT_STEP, "Context (tokens in each KV cache) ")


def _bar_panel(base: alt.Chart, field: str, title: str, chip_order: list[str], number_format: str,
               scale: alt.Scale) -> alt.LayerChart:
    ok = alt.datum.status == STATUS_OK
    y = alt.Y("chip:N", sort=chip_order, title=None, axis=alt.Axis(labelLimit=80))
    tooltip = [
        alt.Tooltip("chip:N", title="Chip"),
        alt.Tooltip("chips:Q", title="Chips needed", format=",d"),
        alt.Tooltip("per_user_tokens_per_s:Q", title="Tokens/s per user", format=",.4~g"),
        alt.Tooltip("tokens_per_s_per_chip:Q", title="Tokens/s per chip", format=",.4~g"),
        alt.Tooltip("bound:N", title="Bound"),
    ]
    bars = base.transform_filter(ok).mark_bar(height=ROW_HEIGHT - 3).encode(
        x=alt.X(f"{field}:Q", scale=scale, stack=None, title=title,
                axis=alt.Axis(format="~s", tickCount=3)),
        x2=alt.value(0),
        y=y,
        color=alt.Color("bound:N", title="Bound", scale=alt.Scale(domain=list(BOUND_COLORS),
                                                                range=list(BOUND_COLORS.values()))),
        tooltip=tooltip,
    )
    numbers = base.transform_filter(ok).transform_calculate(
        label=f"format(datum.{field}, '{number_format}')"
    ).mark_text(align="left", dx=4, fontSize=11).encode(
        x=alt.value(PANEL_WIDTH), y=y, text="label:N",
    )
    refused = base.transform_filter(~ok).mark_text(align="left", dx=2, fontSize=10, color="#888").encode(
        x=alt.value(0), y=y, text="status:N",
    )
    return alt.layer(bars, numbers, refused).properties(
        width=PANEL_WIDTH, height=alt.Step(ROW_HEIGHT)
    )


def roofline_explorer(chips: pd.DataFrame, models: pd.DataFrame, *, model: str, bits: int, batch: int,
                      context: int) -> alt.VConcatChart:
    """Per-chip decode roofline of the chosen model, with controls for model, precision, batch and context.

    Three panels share the chip axis: tokens/s each user receives, tokens/s per chip (all users) and
    chips needed to hold the weights plus the batch's KV caches, coloured by the binding bound.
    Chips that cannot run the setting are named with the reason instead of a bar. All arithmetic is
    ``roofline_steps`` evaluated in the page; the defaults are the keyword arguments.
    """
    if not BATCH_RANGE[0] <= batch <= BATCH_RANGE[1]:
        raise ValueError(f"batch must be in {BATCH_RANGE}; got {batch}")
    models = with_shapes(models)
    params = [
        _model_param(models, model),
        _bits_param(bits),
        _slider(PARAM_BATCH, batch, *BATCH_RANGE, 1, "Batch (concurrent sequences) "),
        _context_param(context),
    ]
    table = _inline(chip_table(chips))
    chip_order = chips["slug"].astype(str).tolist()
    base = alt.Chart()
    log = alt.Scale(type="log")
    panels = [
        _bar_panel(base, "per_user_tokens_per_s", "Tokens/s per user (log)", chip_order, ",.3~s", log),
        _bar_panel(base, "tokens_per_s_per_chip", "Tokens/s per chip, all users (log)", chip_order, ",.3~s",
                   log),
        _bar_panel(base, "chips", "Chips for weights + KV cache (log)", chip_order, ",d",
                   alt.Scale(type="log", domainMin=CHIPS_AXIS_MIN, nice=False)),
    ]
    chart = alt.vconcat(*panels, data=table, spacing=14)
    chart = _calculate(_with_model(chart, models), roofline_steps())
    return chart.add_params(*params).properties(
        title=alt.Title("Decode roofline per chip", subtitle="A bound: 100% of peak bandwidth and compute"),
    ).configure_legend(orient="top", columns=2)




def _hourly_ceiling(table: pd.DataFrame, hourly_usd: float) -> float:
    """The rental slider's top: the default maximum, the dearest observed rental with headroom, or
    the chosen price, whichever is highest."""
    observed_high = float(np.nanmax(table["rent_high"].to_numpy(dtype=float), initial=0.0))
    return max(HOURLY_SLIDER_MAX, observed_high * HOURLY_HEADROOM, hourly_usd)


def _cost_params(
    table: pd.DataFrame, models: pd.DataFrame, *, chip: str, model: str, bits: int, context: int,
    ownership: str, hourly_usd: float, capex_usd: float, amortization_years: float,
    electricity_usd_per_kwh: float, pue: float, utilization: float,
) -> list[alt.Parameter]:
    """The cost explorer's controls, in ``COST_PARAMS`` order, set to the given values; the chip and
    rental ranges come from ``table`` (``cost_table``), the models from ``models`` (with shapes)."""
    slugs = table["chip"].astype(str).tolist()
    hourly_high = _hourly_ceiling(table, hourly_usd)
    return [
        _select(PARAM_CHIP, chip, slugs, slugs, "Chip "),
        _model_param(models, model),
        _bits_param(bits),
        _context_param(context),
        alt.param(name=PARAM_OWNERSHIP, value=ownership, bind=alt.binding_radio(
            options=[RENT, OWN], labels=["rent (hourly price)", "own (purchase + power)"],
            name="Chips are ")),
        _slider(PARAM_HOURLY, hourly_usd, 0.1, round(hourly_high, 1), 0.01, "Rental (USD per chip-hour) "),
        _slider(PARAM_CAPEX, capex_usd, 500, max(60000, capex_usd), 100, "Purchase (USD per chip) "),
        _slider(PARAM_YEARS, amortization_years, 1, 10, 0.5, "Amortization (years) "),
        _slider(PARAM_ELECTRICITY, electricity_usd_per_kwh, 0.01, max(0.5, electricity_usd_per_kwh), 0.005,
                "Electricity (USD per kWh) "),
        _slider(PARAM_PUE, pue, 1.0, max(2.5, pue), 0.01, "PUE (facility W per chip W) "),
        _slider(PARAM_UTILIZATION, utilization, 0.05, 1.0, 0.01, "Utilization (share of hours busy) "),
    ]


def _readout_steps() -> list[Step]:
    """The four lines of text above the cost chart (``line1`` to ``line4``) and ``usd``, the
    modelled cost on the price axis, computed after ``cost_steps``."""
    readout = {
        "line1": (f"datum.status == '{STATUS_OK}' ? format(datum.chips, ',d') + ' \u00d7 ' + datum.chip"
                  f" + ', batch ' + format(datum.batch_size, ',d') + ' (' + datum.bound + '-bound)'"
                  f" : datum.chip + ': ' + datum.status"),
        "line2": (f"datum.status == '{STATUS_OK}' ? format(datum.tokens_per_s_per_chip, ',.4~g')"
                  f" + ' tokens/s per chip at $' + format(datum.hourly_usd_per_chip, ',.2f')"
                  f" + ' per chip-hour'"
                  f" : ''"),
        "line3": (f"datum.status == '{STATUS_OK}' ? '$' + format(datum.usd_per_million_tokens, ',.4~g')"
                  f" + ' per 1M output tokens' : 'no cost'"),
        "line4": ("datum.rent_count > 0 ? 'Observed rental: $' + format(datum.rent_low, ',.2f')"
                  " + '\u2013$' + format(datum.rent_high, ',.2f') + ' per chip-hour'"
                  " : 'No observed rental price for this chip'"),
        "usd": "datum.usd_per_million_tokens",
    }
    return [Step(k, v) for k, v in readout.items()]


def _readout_panel() -> alt.LayerChart:
    """The readout: configuration and bound, throughput and hourly cost, cost (bold), observed rentals."""
    return alt.layer(*(
        alt.Chart().mark_text(align="left", baseline="top", fontSize=size, fontWeight=weight).encode(
            x=alt.value(0), y=alt.value(y), text=f"{name}:N")
        for name, y, size, weight in (("line1", 0, 11, "normal"), ("line2", 15, 11, "normal"),
                                      ("line3", 31, 13, "bold"), ("line4", 50, 11, "normal"))
    )).properties(width=COST_WIDTH, height=64, view=alt.ViewBackground(stroke=None))


def _price_panel(price_rows: pd.DataFrame, classes: dict[str, str]) -> alt.LayerChart:
    """Observed output list prices of the chosen model's class over time (grey points), with the
    modelled cost as a labelled rule (red) on the same log axis."""
    class_expr = f"{json.dumps(classes, sort_keys=True)}[{PARAM_MODEL}]"
    ok = alt.datum.status == STATUS_OK
    y = alt.Y("usd:Q", scale=alt.Scale(type="log"), title="USD per 1M output tokens (log)",
              axis=alt.Axis(format="$~g"))
    points = alt.Chart(price_rows).transform_filter(
        f"datum.price_class == {class_expr}"
    ).transform_calculate(usd="datum.output_usd_per_mtok").mark_point(
        filled=True, size=40, color=PRICE_COLOR, opacity=0.7
    ).encode(
        x=alt.X("date_observed:T", title="List price observed", axis=alt.Axis(format="%Y", tickCount="year")),
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
    ).mark_text(align="right", baseline="bottom", dy=-3, color=COST_COLOR, fontSize=11).encode(
        x=alt.value(COST_WIDTH), y=y, text="label:N",
    )
    return alt.layer(points, rule, label).properties(width=COST_WIDTH, height=220)


def cost_explorer(
    chips: pd.DataFrame,
    models: pd.DataFrame,
    hardware_costs: pd.DataFrame,
    prices: pd.DataFrame,
    *,
    chip: str,
    model: str,
    bits: int,
    utilization: float,
    hourly_usd: float,
    capex_usd: float,
    amortization_years: float,
    electricity_usd_per_kwh: float,
    pue: float,
    context: int = 2048,
    ownership: str = RENT,
) -> alt.VConcatChart:
    """Cost per 1M output tokens of serving the chosen model on the chosen chip, against list prices.

    Controls: chip, model, precision, context, rent or own, hourly price (USD per chip-hour),
    purchase price (USD per chip), amortization (years), electricity (USD per kWh), PUE and
    utilization. Throughput is the roofline per-chip rate at the largest batch that fits on the
    fewest chips (``cost_steps``); the result is drawn as a rule over the observed output list prices
    of the model's class (``price_table``). The defaults are the keyword arguments.
    """
    _check_choice(chip, chips["slug"].astype(str).tolist(), "chip")
    _check_choice(ownership, (RENT, OWN), "ownership")
    costs.usd_per_million_tokens(hourly_usd, 1.0, utilization)
    costs.hourly_cost_owned(capex_usd, amortization_years, 0.0, pue, electricity_usd_per_kwh)
    table = cost_table(chips, hardware_costs)
    price_rows = _inline(price_table(prices, models))
    classes = price_classes(models)
    models = with_shapes(models)
    params = _cost_params(
        table, models, chip=chip, model=model, bits=bits, context=context, ownership=ownership,
        hourly_usd=hourly_usd, capex_usd=capex_usd, amortization_years=amortization_years,
        electricity_usd_per_kwh=electricity_usd_per_kwh, pue=pue, utilization=utilization,
    )
    chart = alt.vconcat(_readout_panel(), _price_panel(price_rows, classes), data=_inline(table), spacing=10)
    chart = _with_model(chart.transform_filter(f"datum.chip == {PARAM_CHIP}"), models)
    chart = _calculate(chart, [*cost_steps(), *_readout_steps()])
    return chart.add_params(*params).properties(
        title=alt.Title("Cost per 1M output tokens",
                        subtitle="Roofline floor (red) vs observed list prices (grey)"),
    )
