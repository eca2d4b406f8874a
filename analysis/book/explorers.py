"""What-if explorers: charts whose controls change the assumptions and whose arithmetic runs in the page.

Each explorer is an Altair chart over small inline tables exported from the store, with controls
bound to Vega-Lite parameters. Every number it draws is computed in the browser by ``calculate``
transforms whose expression strings are generated here, in ``roofline_steps`` and ``cost_steps``,
from the same constants as ``analysis.models.roofline`` and ``analysis.models.costs``. The tests drive the
explorers in Chromium and compare every computed value with those modules' Python functions.

Roofline explorer (``roofline_explorer``), per chip, for the chosen model, precision ``bits``,
``batch`` and ``context``::

    weight_bytes      = total_params_b x 1e9 x bits / 8
    kv_bytes/token    = 2 x layers x kv_heads x head_dim x 16 / 8        (KV cache at 16 bits)
    chips             = max(1, ceil((weight_bytes + batch x context x kv_bytes/token)
                                    / (memory_gb x 1e9) x (1 - 1e-12)))
    r                 = clamp(active_params_b / total_params_b, 0, 1)
    bytes per step    = weight_bytes x (1 - (1 - r)^batch) + batch x context x kv_bytes/token
    FLOPs per token   = 2 x active_params_b x 1e9 + 2 x 2 x layers x context x attention_heads x head_dim
    peak (FLOP/s)     = 16 bits: bf16; 8 bits: the larger listed of fp8 and int8, else bf16;
                        4 bits: fp4, else the 8-bit peak; in TFLOP/s x 1e12
    time_memory       = bytes per step / (chips x memory_bw_tbps x 1e12)
    time_compute      = batch x FLOPs per token / (chips x peak)
    step time         = max(time_memory, time_compute)
    per-user tokens/s = 1 / step time;  per-chip tokens/s = batch / step time / chips
    bound             = "memory" when time_memory >= time_compute, else "compute"

A chip is drawn without numbers (and labelled why) when it does not support the precision
(``roofline.supports_bits``, evaluated in Python and exported as ``supports_4/8/16``), when the
chip lacks a bandwidth, memory or compute figure or the model a shape figure, and when the context
exceeds the model's window: exactly the cases in which ``roofline.roofline_point`` refuses.

Cost explorer (``cost_explorer``), for the chosen chip, model, precision and context, serves the
**largest batch that fits on the fewest chips** (``roofline_point(batch="max")``): the fewest chips
that hold the weights plus one sequence's KV cache, then the most sequences their memory holds::

    chips   = max(1, ceil((weight_bytes + context x kv_bytes/token) / (memory_gb x 1e9) x (1 - 1e-12)))
    batch   = max(0, floor((chips x memory_gb x 1e9 x (1 + 1e-12) - weight_bytes)
                           / (context x kv_bytes/token)))
    hourly  = rent: the hourly price per chip;
              own:  capex / (years x 8760) + tdp_w / 1000 x pue x USD per kWh   (no hosting charge)
    USD per 1M output tokens = hourly / (per-chip tokens/s x 3600 x utilization) x 1e6

It is set against the observed list prices of the model's capability class (the model itself when
it has no class). Assumptions are those of ``analysis.models.roofline`` (a bound: 100% efficiency, perfect
sharding, no interconnect time) and ``analysis.models.costs`` (straight-line amortization with no cost of
capital, power drawn around the clock, every cost charged to output tokens), so the result is a
floor on the cost of that configuration, not a price. Power is the chip's TDP (``tdp_w``), not a
whole server's draw, and there is no hosting charge; when owning, a chip without a TDP figure has
no cost. Serving on more chips than the fewest would allow a larger batch and a lower cost.

The computed rows of an explorer are readable in the page with ``EXPLORER_ROWS_JS`` (given a
vega-embed result and the name of a computed field, it returns the rows of the largest dataset that
carries that field); the controls are the ``<select>`` and ``<input>`` elements vega-embed draws,
named by the parameter names in ``ROOFLINE_PARAMS`` and ``COST_PARAMS``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from analysis.models import costs, roofline

PARAM_MODEL = "model"
PARAM_CHIP = "chip"
PARAM_BITS = "bits"
PARAM_BATCH = "batch"
PARAM_CONTEXT = "context"
PARAM_OWNERSHIP = "ownership"
PARAM_HOURLY = "hourly_usd"
PARAM_CAPEX = "capex_usd"
PARAM_YEARS = "amortization_years"
PARAM_ELECTRICITY = "electricity_usd_per_kwh"
PARAM_PUE = "pue"
PARAM_UTILIZATION = "utilization"

ROOFLINE_PARAMS = (PARAM_MODEL, PARAM_BITS, PARAM_BATCH, PARAM_CONTEXT)
COST_PARAMS = (
    PARAM_CHIP, PARAM_MODEL, PARAM_BITS, PARAM_CONTEXT, PARAM_OWNERSHIP, PARAM_HOURLY, PARAM_CAPEX,
    PARAM_YEARS, PARAM_ELECTRICITY, PARAM_PUE, PARAM_UTILIZATION,
)
RENT = "rent"
OWN = "own"
STATUS_OK = "ok"
STATUS_UNSUPPORTED = "precision not supported"
STATUS_NO_MEMORY = "no memory figure"
STATUS_NO_PEAK = "no compute peak"
STATUS_WINDOW = "context > model window"
STATUS_NO_MODEL = "no model figures"
STATUS_NO_POWER = "no power (TDP) figure"
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

CHIP_COLUMNS = (
    "memory_gb", "memory_bw_tbps", "peak_bf16_tflops", "peak_fp8_tflops", "peak_int8_tops", "peak_fp4_tflops",
)
MODEL_COLUMNS = (
    "total_params_b", "active_params_b", "layers", "kv_heads", "head_dim", "attention_heads",
    "context_length",
)
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
    "OWN",
    "RENT",
    "ROOFLINE_PARAMS",
    "STATUS_NO_MEMORY",
    "STATUS_NO_MODEL",
    "STATUS_NO_PEAK",
    "STATUS_NO_POWER",
    "STATUS_OK",
    "STATUS_UNSUPPORTED",
    "STATUS_WINDOW",
    "Step",
    "chip_table",
    "cost_explorer",
    "cost_steps",
    "cost_table",
    "model_table",
    "price_table",
    "roofline_explorer",
    "roofline_steps",
    "source_ids",
]


@dataclass(frozen=True)
class Step:
    """One ``calculate`` transform: the field it adds and the Vega expression that computes it."""

    field: str
    expr: str


def _num(value: float) -> str:
    return repr(float(value))


def _d(name: str) -> str:
    return f"datum.{name}"


def _valid(name: str) -> str:
    return f"isValid({_d(name)})"


def _guard(step: Step) -> Step:
    return Step(step.field, f"{_d('status')} == '{STATUS_OK}' ? ({step.expr}) : null")


def _chip_model_steps(*, bits: str, context: str) -> list[Step]:
    bf16, fp8, int8, fp4 = "peak_bf16_tflops", "peak_fp8_tflops", "peak_int8_tops", "peak_fp4_tflops"
    eight = (
        f"{_valid(fp8)} && {_valid(int8)} ? max({_d(fp8)}, {_d(int8)}) : "
        f"{_valid(fp8)} ? {_d(fp8)} : {_valid(int8)} ? {_d(int8)} : ({_valid(bf16)} ? {_d(bf16)} : null)"
    )
    kv_bytes = (
        f"{roofline.KV_TENSORS_PER_LAYER} * {_d('layers')} * {_d('kv_heads')} * {_d('head_dim')}"
        f" * {roofline.DEFAULT_KV_BITS} / {roofline.BITS_PER_BYTE}"
    )
    billion = _num(roofline.PARAMS_PER_BILLION)
    matmul = f"{roofline.FLOPS_PER_MULTIPLY_ADD} * {_d('active_params_b')} * {billion}"
    attention = (
        f"{roofline.ATTENTION_MATMULS} * {roofline.FLOPS_PER_MULTIPLY_ADD} * {_d('layers')} * ({context})"
        f" * {_d('attention_heads')} * {_d('head_dim')}"
    )
    model_known = " && ".join(
        f"{_valid(c)} && {_d(c)} > 0" for c in MODEL_COLUMNS if c != "context_length"
    )
    supported = (
        f"({bits}) == 16 ? {_d('supports_16')} : (({bits}) == 8 ? {_d('supports_8')} : {_d('supports_4')})"
    )
    status = (
        f"!({supported}) ? '{STATUS_UNSUPPORTED}' : "
        f"!({_valid('memory_gb')} && {_d('memory_gb')} > 0 && {_valid('memory_bw_tbps')}"
        f" && {_d('memory_bw_tbps')} > 0) ? '{STATUS_NO_MEMORY}' : "
        f"!({_valid('peak_tflops')} && {_d('peak_tflops')} > 0) ? '{STATUS_NO_PEAK}' : "
        f"!({model_known}) ? '{STATUS_NO_MODEL}' : "
        f"({_valid('context_length')} && ({context}) > {_d('context_length')}) ? '{STATUS_WINDOW}'"
        f" : '{STATUS_OK}'"
    )
    return [
        Step("peak8_tflops", eight),
        Step("peak4_tflops", f"{_valid(fp4)} ? {_d(fp4)} : {_d('peak8_tflops')}"),
        Step(
            "peak_tflops",
            f"({bits}) == 16 ? ({_valid(bf16)} ? {_d(bf16)} : null) : "
            f"(({bits}) == 8 ? {_d('peak8_tflops')} : {_d('peak4_tflops')})",
        ),
        Step("status", status),
        Step(
            "weight_bytes",
            f"{_d('total_params_b')} * {billion} * ({bits}) / {roofline.BITS_PER_BYTE}",
        ),
        Step("expert_fraction", f"clamp({_d('active_params_b')} / {_d('total_params_b')}, 0, 1)"),
        Step("kv_bytes_per_token", kv_bytes),
        Step("sequence_bytes", f"({context}) * {_d('kv_bytes_per_token')}"),
        Step("flops_per_token", f"{matmul} + {attention}"),
    ]


def _chips_for(bytes_expr: str) -> str:
    per_chip = f"({_d('memory_gb')} * {_num(roofline.BYTES_PER_GB)})"
    return f"max(ceil(({bytes_expr}) / {per_chip} * (1 - {_num(roofline.FIT_RTOL)})), 1)"


def _step_steps() -> list[Step]:
    batch = _d("batch_size")
    chips = _d("chips")
    touched = f"(1 - pow(1 - {_d('expert_fraction')}, {batch}))"
    steps = [
        Step("bytes_per_step", f"{_d('weight_bytes')} * {touched} + {batch} * {_d('sequence_bytes')}"),
        Step("flops_per_step", f"{batch} * {_d('flops_per_token')}"),
        Step(
            "time_memory_s",
            f"{_d('bytes_per_step')} / ({chips} * {_d('memory_bw_tbps')} * {_num(roofline.BYTES_PER_TB)})",
        ),
        Step(
            "time_compute_s",
            f"{_d('flops_per_step')} / ({chips} * {_d('peak_tflops')} * {_num(roofline.FLOPS_PER_TERA)})",
        ),
        Step("step_time_s", f"max({_d('time_memory_s')}, {_d('time_compute_s')})"),
        Step("per_user_tokens_per_s", f"1 / {_d('step_time_s')}"),
        Step("system_tokens_per_s", f"{batch} / {_d('step_time_s')}"),
        Step("tokens_per_s_per_chip", f"{batch} / {_d('step_time_s')} / {chips}"),
        Step(
            "bound",
            f"{_d('time_memory_s')} >= {_d('time_compute_s')}"
            f" ? '{roofline.BOUND_MEMORY}' : '{roofline.BOUND_COMPUTE}'",
        ),
    ]
    return [_guard(s) for s in steps]


def roofline_steps(
    *, bits: str = PARAM_BITS, batch: str = PARAM_BATCH, context: str = PARAM_CONTEXT
) -> list[Step]:
    """The roofline explorer's calculations, in order, for the given parameter expressions.

    ``chips`` is the fewest chips holding the weights plus ``batch`` KV caches of ``context`` tokens.
    """
    return [
        *_chip_model_steps(bits=bits, context=context),
        Step("batch_size", f"({batch})"),
        _guard(Step(
            "chips", _chips_for(f"{_d('weight_bytes')} + {_d('batch_size')} * {_d('sequence_bytes')}")
        )),
        *_step_steps(),
    ]


def cost_steps(
    *,
    bits: str = PARAM_BITS,
    context: str = PARAM_CONTEXT,
    ownership: str = PARAM_OWNERSHIP,
    hourly_usd: str = PARAM_HOURLY,
    capex_usd: str = PARAM_CAPEX,
    years: str = PARAM_YEARS,
    electricity: str = PARAM_ELECTRICITY,
    pue: str = PARAM_PUE,
    utilization: str = PARAM_UTILIZATION,
) -> list[Step]:
    """The cost explorer's calculations, in order: the roofline at the largest batch that fits on
    the fewest chips, the hourly cost per chip (rented or owned) and the cost per 1M output tokens."""
    capacity = (
        f"{_d('chips')} * {_d('memory_gb')} * {_num(roofline.BYTES_PER_GB)} * (1 + {_num(roofline.FIT_RTOL)})"
    )
    owning = f"({ownership}) == '{OWN}'"
    capital = f"({capex_usd}) / (({years}) * {costs.HOURS_PER_YEAR})"
    energy = f"{_d('tdp_w')} / {costs.WATTS_PER_KILOWATT} * ({pue}) * ({electricity})"
    per_hour = f"{_d('tokens_per_s_per_chip')} * {costs.SECONDS_PER_HOUR} * ({utilization})"
    unpowered = f"{owning} && !({_valid('tdp_w')} && {_d('tdp_w')} >= 0)"
    return [
        *_chip_model_steps(bits=bits, context=context),
        Step(
            "status", f"{_d('status')} == '{STATUS_OK}' && {unpowered} ? '{STATUS_NO_POWER}' : {_d('status')}"
        ),
        _guard(Step("chips", _chips_for(f"{_d('weight_bytes')} + {_d('sequence_bytes')}"))),
        _guard(Step(
            "batch_size", f"max(floor(({capacity} - {_d('weight_bytes')}) / {_d('sequence_bytes')}), 0)"
        )),
        *_step_steps(),
        _guard(Step("hourly_usd_per_chip", f"{owning} ? {capital} + {energy} : ({hourly_usd})")),
        _guard(Step(
            "usd_per_million_tokens",
            f"{_d('hourly_usd_per_chip')} / ({per_hour}) * {_num(costs.TOKENS_PER_MILLION)}",
        )),
    ]


def _numbers(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.to_numeric(frame[c], errors="coerce") if c in frame else np.nan for c in columns},
        index=frame.index,
    )


def _ids(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return [s.strip() for s in value.split(roofline.PRECISION_SEPARATOR) if s.strip()]
    return [str(s) for s in value]


def chip_table(chips: pd.DataFrame, *, extra_columns: Sequence[str] = ()) -> pd.DataFrame:
    """One row per chip with the columns the formulas need, plus ``source_ids`` (a list).

    ``supports_4``, ``supports_8`` and ``supports_16`` come from ``roofline.supports_bits``.
    """
    table = _numbers(chips, (*CHIP_COLUMNS, *extra_columns)).reset_index(drop=True)
    table.insert(0, "chip", chips["slug"].astype(str).to_numpy())
    precisions = chips["precisions"] if "precisions" in chips else pd.Series([None] * len(chips))
    for bits in roofline.SUPPORTED_BITS:
        table[f"supports_{bits}"] = [roofline.supports_bits(p, bits) for p in precisions]
    table["source_ids"] = [_ids(v) for v in chips.get("source_ids", pd.Series([None] * len(chips)))]
    return table


SHAPE_COLUMNS = ("total_params_b", "layers", "kv_heads")


def with_shapes(models: pd.DataFrame) -> pd.DataFrame:
    """The models whose shape is published (parameters, layers, KV heads): the only ones a roofline or a
    cost from first principles can be computed for. Closed models, which the book follows by price
    alone, are left out of the explorers."""
    present = [c for c in SHAPE_COLUMNS if c in models]
    return models[models[present].notna().all(axis=1)].reset_index(drop=True) if present else models


def model_table(models: pd.DataFrame) -> pd.DataFrame:
    """One row per model with the columns the formulas need, plus ``source_ids`` (a list).

    Parameters go through ``analysis.models.roofline``'s own reading: a dense model without active
    parameters uses its total, and a missing head dimension is ``d_model / attention_heads``.
    """
    params = roofline.model_arrays(models)
    table = pd.DataFrame({c: params[c] for c in MODEL_COLUMNS})
    table.insert(0, "model", models["slug"].astype(str).to_numpy())
    table["source_ids"] = [_ids(v) for v in models.get("source_ids", pd.Series([None] * len(models)))]
    return table


def price_table(prices: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """Observed output prices with the class they are compared in: the model's capability class,
    or the model's own slug when it has none."""
    classes = _price_classes(models)
    frame = prices[prices["model_slug"].isin(classes)]
    return pd.DataFrame({
        "price_class": frame["model_slug"].map(classes).to_numpy(),
        "provider": frame["provider"].astype(str).to_numpy(),
        "listed_model": frame["model_slug"].astype(str).to_numpy(),
        "date_observed": pd.to_datetime(frame["date_observed"]).dt.strftime("%Y-%m-%d").to_numpy(),
        "output_usd_per_mtok": pd.to_numeric(frame["output_usd_per_mtok"], errors="coerce").to_numpy(),
        "source_ids": [_ids(v) for v in frame.get("source_ids", pd.Series([None] * len(frame)))],
    }).dropna(subset=["output_usd_per_mtok"]).reset_index(drop=True)


def _price_classes(models: pd.DataFrame) -> dict[str, str]:
    out: dict[str, str] = {}
    classes = models.get("capability_class", pd.Series([None] * len(models)))
    for slug, klass in zip(models["slug"].astype(str), classes):
        out[slug] = str(klass) if isinstance(klass, str) and klass.strip() else slug
    return out


def _rental_ranges(hardware_costs: pd.DataFrame) -> pd.DataFrame:
    rented = hardware_costs["kind"].astype(str).str.startswith("rental")
    rentals = hardware_costs[rented & (hardware_costs["unit"] == "usd-per-chip-hour")]
    return (rentals.groupby("chip_slug")["usd"].agg(["min", "max", "count"])
            .rename(columns={"min": "rent_low", "max": "rent_high", "count": "rent_count"})
            .reset_index().rename(columns={"chip_slug": "chip"}))


def cost_table(chips: pd.DataFrame, hardware_costs: pd.DataFrame) -> pd.DataFrame:
    """``chip_table`` with each chip's TDP and the range of its observed rental prices."""
    table = chip_table(chips, extra_columns=("tdp_w",))
    table = table.merge(_rental_ranges(hardware_costs), on="chip", how="left")
    table["rent_count"] = table["rent_count"].fillna(0).astype(int)
    return table


def source_ids(*frames: pd.DataFrame) -> list[str]:
    """Every source id in the ``source_ids`` columns of ``frames`` (lists or ``;``-joined text)."""
    found: set[str] = set()
    for frame in frames:
        if "source_ids" in frame:
            for value in frame["source_ids"]:
                found.update(_ids(value))
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
    slugs = chips["slug"].astype(str).tolist()
    _check_choice(chip, slugs, "chip")
    _check_choice(ownership, (RENT, OWN), "ownership")
    costs.usd_per_million_tokens(hourly_usd, 1.0, utilization)
    costs.hourly_cost_owned(capex_usd, amortization_years, 0.0, pue, electricity_usd_per_kwh)
    table = cost_table(chips, hardware_costs)
    price_rows = _inline(price_table(prices, models))
    klass = _price_classes(models)
    models = with_shapes(models)
    observed_high = float(np.nanmax(table["rent_high"].to_numpy(dtype=float), initial=0.0))
    hourly_high = max(HOURLY_SLIDER_MAX, observed_high * HOURLY_HEADROOM, hourly_usd)
    params = [
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
    class_expr = f"{json.dumps(klass, sort_keys=True)}[{PARAM_MODEL}]"
    ok = alt.datum.status == STATUS_OK
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
    lines = alt.layer(*(
        alt.Chart().mark_text(align="left", baseline="top", fontSize=size, fontWeight=weight).encode(
            x=alt.value(0), y=alt.value(y), text=f"{name}:N")
        for name, y, size, weight in (("line1", 0, 11, "normal"), ("line2", 15, 11, "normal"),
                                      ("line3", 31, 13, "bold"), ("line4", 50, 11, "normal"))
    )).properties(width=COST_WIDTH, height=64, view=alt.ViewBackground(stroke=None))
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
    prices_chart = alt.layer(points, rule, label).properties(width=COST_WIDTH, height=220)
    chart = alt.vconcat(lines, prices_chart, data=_inline(table), spacing=10)
    chart = _with_model(chart.transform_filter(f"datum.chip == {PARAM_CHIP}"), models)
    chart = _calculate(chart, [*cost_steps(), *(Step(k, v) for k, v in readout.items())])
    return chart.add_params(*params).properties(
        title=alt.Title("Cost per 1M output tokens",
                        subtitle="Roofline floor (red) vs observed list prices (grey)"),
    )
