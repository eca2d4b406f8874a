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

In the page (``analysis.book.explorer_state``) the controls sit above the chart with a reset button,
their state is kept in the page's address, choosing a chip brings that chip's own observed rental and
purchase prices (``explorer_tables.chip_prices``; a chip without one keeps the current value, and the
readout says no rental is observed), and the context slider stops at the chosen model's window. The
axes are fixed, from the range of every state the controls reach (``explorer_tables``), so a moved
control moves the bars and the rule, not the axes. Chips are named, not identified by slug.

The computed rows of an explorer are readable in the page with ``EXPLORER_ROWS_JS`` (given a
vega-embed result and the name of a computed field, it returns the rows of the largest dataset that
carries that field); the controls are the ``<select>`` and ``<input>`` elements vega-embed draws,
named by the parameter names in ``ROOFLINE_PARAMS`` and ``COST_PARAMS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from analysis.book import chart_words, explorer_state
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
    Step,
    cost_steps,
    roofline_steps,
)
from analysis.book.explorer_panels import bar_panel, price_panel, readout_panel, readout_steps
from analysis.book.explorer_tables import (
    chip_prices,
    chip_table,
    cost_table,
    id_list,
    log_domain,
    model_table,
    model_windows,
    price_classes,
    price_table,
    reachable_rooflines,
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
CHIPS_AXIS_MIN = 0.6
HOURLY_SLIDER_MAX = 15.0
HOURLY_HEADROOM = 1.25
CAPEX_SLIDER_MAX = 60000.0
RESET_LABEL = "Reset to the default state"
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


def _named(table: pd.DataFrame, chips: pd.DataFrame) -> pd.DataFrame:
    """``table`` (one row per chip, by slug in ``chip``) with each chip's name as ``chip_label``."""
    labels = chart_words.chip_labels(chips)
    return table.assign(chip_label=table["chip"].map(lambda s: labels.get(s, s)))


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
                   [f"{b}-bit" for b in roofline.SUPPORTED_BITS], "Weight precision ")


def _context_param(context: int) -> alt.Parameter:
    if not CONTEXT_RANGE[0] <= context <= CONTEXT_RANGE[1]:
        raise ValueError(f"context must be in {CONTEXT_RANGE}; got {context}")
    return _slider(PARAM_CONTEXT, context, *CONTEXT_RANGE, CONTEXT_STEP, "Context (tokens per sequence) ")


def _controls(params: Sequence[alt.Parameter]) -> list[dict[str, Any]]:
    """Each control's name, default and options or range, for ``explorer_state.usermeta``."""
    out = []
    for param in params:
        spec = param.param.to_dict()
        bind = spec["bind"]
        control = {"name": spec["name"], "value": spec["value"]}
        if "options" in bind:
            control["options"] = list(bind["options"])
        else:
            control.update(min=bind["min"], max=bind["max"], step=bind["step"])
        out.append(control)
    return out


def _state(key: str, layout: str, params: Sequence[alt.Parameter], models: pd.DataFrame,
           presets: dict[str, Any] | None = None) -> dict[str, Any]:
    """The explorer's ``usermeta``: its controls, the context capped at each model's window, and
    (``presets``) the prices each chip brings."""
    limits = {"by": PARAM_MODEL, "param": PARAM_CONTEXT, "max": model_windows(models)}
    return explorer_state.usermeta(key=key, layout=layout, params=_controls(params), reset=RESET_LABEL,
                                   limits=limits, presets=presets)


def roofline_explorer(chips: pd.DataFrame, models: pd.DataFrame, *, model: str, bits: int, batch: int,
                      context: int) -> alt.VConcatChart:
    """Per-chip decode roofline of the chosen model, with controls for model, precision, batch and context.

    Three panels share the chip axis: tokens/s each user receives, tokens/s per chip (all users) and
    chips needed to hold the weights plus the batch's KV caches, coloured by the binding bound.
    Chips that cannot run the setting are named with the reason instead of a bar. All arithmetic is
    ``roofline_steps`` evaluated in the page; the defaults are the keyword arguments. Each panel's
    axis spans every value the controls can reach (``explorer_tables.reachable_rooflines``).
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
    table = _named(_inline(chip_table(chips)), chips)
    reach = reachable_rooflines(chips, models, batch_range=BATCH_RANGE, context_range=CONTEXT_RANGE)
    base = alt.Chart()

    def log(field: str) -> alt.Scale:
        return alt.Scale(type="log", domain=log_domain(reach[field]), nice=False)

    order = table["chip_label"].tolist()
    chips_top = log_domain(reach["chips"])[1]
    panels = [
        bar_panel(base, "per_user_tokens_per_s", "Tokens/s per user (log)", order, ",.3~s",
                  log("per_user_tokens_per_s")),
        bar_panel(base, "tokens_per_s_per_chip", "Tokens/s per chip, all users (log)", order, ",.3~s",
                  log("tokens_per_s_per_chip")),
        bar_panel(base, "chips", "Chips for weights + KV cache (log)", order, ",d",
                  alt.Scale(type="log", domain=[CHIPS_AXIS_MIN, chips_top], nice=False)),
    ]
    chart = alt.vconcat(*panels, data=table, spacing=14)
    chart = _calculate(_with_model(chart, models), roofline_steps())
    return chart.add_params(*params).properties(
        title=alt.Title("Decode roofline per chip", subtitle="A bound: 100% of peak bandwidth and compute"),
        usermeta=_state("roofline", "sticky", params, models),
    ).configure_legend(orient="top", columns=2)


def _hourly_ceiling(table: pd.DataFrame, hourly_usd: float) -> float:
    """The rental slider's top: the default maximum, the dearest observed rental with headroom, or
    the chosen price, whichever is highest."""
    observed_high = float(np.nanmax(table["rent_high"].to_numpy(dtype=float), initial=0.0))
    return max(HOURLY_SLIDER_MAX, observed_high * HOURLY_HEADROOM, hourly_usd)


def _cost_params(
    table: pd.DataFrame, models: pd.DataFrame, presets: dict[str, dict[str, float]], *, chip: str, model: str,
    bits: int, context: int, ownership: str, hourly_usd: float, capex_usd: float, amortization_years: float,
    electricity_usd_per_kwh: float, pue: float, utilization: float,
) -> list[alt.Parameter]:
    """The cost explorer's controls, in ``COST_PARAMS`` order, set to the given values; the chips (by
    name) and the rental range come from ``table`` (``cost_table`` with ``chip_label``), the models
    from ``models`` (with shapes); the purchase slider reaches the dearest chip of ``presets``."""
    slugs = table["chip"].astype(str).tolist()
    hourly_high = _hourly_ceiling(table, hourly_usd)
    capex_high = max([CAPEX_SLIDER_MAX, capex_usd, *(p.get(PARAM_CAPEX, 0.0) for p in presets.values())])
    return [
        _select(PARAM_CHIP, chip, slugs, table["chip_label"].astype(str).tolist(), "Chip "),
        _model_param(models, model),
        _bits_param(bits),
        _context_param(context),
        alt.param(name=PARAM_OWNERSHIP, value=ownership, bind=alt.binding_radio(
            options=[RENT, OWN], labels=["rent (hourly price)", "own (purchase + power)"],
            name="Chips are ")),
        _slider(PARAM_HOURLY, hourly_usd, 0.1, round(hourly_high, 1), 0.01, "Rental (USD per chip-hour) "),
        _slider(PARAM_CAPEX, capex_usd, 500, float(np.ceil(capex_high / 100) * 100), 100,
                "Purchase (USD per chip) "),
        _slider(PARAM_YEARS, amortization_years, 1, 10, 0.5, "Amortization (years) "),
        _slider(PARAM_ELECTRICITY, electricity_usd_per_kwh, 0.01, max(0.5, electricity_usd_per_kwh), 0.005,
                "Electricity (USD per kWh) "),
        _slider(PARAM_PUE, pue, 1.0, max(2.5, pue), 0.01, "PUE (facility W per chip W) "),
        _slider(PARAM_UTILIZATION, utilization, 0.05, 1.0, 0.01, "Utilization (share of hours busy) "),
    ]


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
    of the model's class (``price_table``). The defaults are the keyword arguments; choosing another
    chip in the page brings its own rental and purchase prices (``explorer_tables.chip_prices``).
    The price axis spans every observed price; a cost beyond it is drawn at its edge.
    """
    _check_choice(chip, chips["slug"].astype(str).tolist(), "chip")
    _check_choice(ownership, (RENT, OWN), "ownership")
    costs.usd_per_million_tokens(hourly_usd, 1.0, utilization)
    costs.hourly_cost_owned(capex_usd, amortization_years, 0.0, pue, electricity_usd_per_kwh)
    table = _named(cost_table(chips, hardware_costs), chips)
    price_rows = _price_rows(prices, models)
    classes = price_classes(models)
    models = with_shapes(models)
    presets = chip_prices(hardware_costs)
    params = _cost_params(
        table, models, presets, chip=chip, model=model, bits=bits, context=context, ownership=ownership,
        hourly_usd=hourly_usd, capex_usd=capex_usd, amortization_years=amortization_years,
        electricity_usd_per_kwh=electricity_usd_per_kwh, pue=pue, utilization=utilization,
    )
    dates = pd.to_datetime(price_rows["date_observed"])
    years = [dt.date(int(dates.min().year), 1, 1), dt.date(int(dates.max().year) + 1, 1, 1)] if len(dates) else []
    axis_dates = [alt.DateTime(year=d.year, month=1, date=1) for d in years]
    panel = price_panel(price_rows, classes, log_domain(price_rows["output_usd_per_mtok"]),
                        axis_dates)
    chart = alt.vconcat(readout_panel(), panel, data=_inline(table), spacing=10)
    chart = _with_model(chart.transform_filter(f"datum.chip == {PARAM_CHIP}"), models)
    chart = _calculate(chart, [*cost_steps(), *readout_steps()])
    state = _state("cost", "beside", params, models,
                   presets={"by": PARAM_CHIP, "values": {c: p for c, p in presets.items() if c in set(table["chip"])}})
    return chart.add_params(*params).properties(
        title=alt.Title("Cost per 1M output tokens",
                        subtitle="Roofline floor (red), list prices (grey)"),
        usermeta=state,
    )


def _price_rows(prices: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """The observed prices the explorer compares with (``price_table``), providers and models by name."""
    rows = _inline(price_table(prices, models))
    names = chart_words.model_names(models)
    return rows.assign(provider=rows["provider"].map(chart_words.provider_name),
                       listed_model=rows["listed_model"].map(lambda s: names.get(s, s)))
