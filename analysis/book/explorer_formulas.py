"""The explorers' arithmetic: the roofline and cost formulas as Vega expression strings.

Every number an explorer (``analysis.book.explorers``) draws is computed in the browser by
``calculate`` transforms whose expressions ``roofline_steps`` and ``cost_steps`` generate here, from
the same constants as ``analysis.models.roofline`` and ``analysis.models.costs``. Each ``Step`` adds
one field to every row of the explorer's inline chip table (``analysis.book.explorer_tables``), read
from the row (``datum.<column>``) and from the explorer's parameters (named by the ``PARAM_*`` names).

Roofline explorer (``roofline_steps``), per chip, for the chosen model, precision ``bits``,
``batch`` and ``context``::

    weight_bytes      = total_params_b x 1e9 x bits / 8
    values/token/layer = kv_lora_rank + rope_head_dim              (attention_kind "mla")
                         2 x kv_heads x head_dim                    (otherwise)
    token-layers      = (layers - windowed_layers) x context + windowed_layers x min(context, window_tokens)
    sequence_bytes    = values/token/layer x token-layers x 16 / 8  (KV cache at 16 bits)
    chips             = max(1, ceil((weight_bytes + batch x sequence_bytes)
                                    / (memory_gb x 1e9) x (1 - 1e-12)))
    r                 = clamp(active_params_b / total_params_b, 0, 1)
    bytes per step    = weight_bytes x (1 - (1 - r)^batch) + batch x sequence_bytes
    FLOPs per token   = 2 x active_params_b x 1e9 + 2 x 2 x attention_heads x head_dim x token-layers
    peak (FLOP/s)     = 16 bits: bf16; 8 bits: the larger listed of fp8 and int8, else bf16;
                        4 bits: fp4, else the 8-bit peak; in TFLOP/s x 1e12
    time_memory       = bytes per step / (chips x memory_bw_tbps x 1e12)
    time_compute      = batch x FLOPs per token / (chips x peak)
    step time         = max(time_memory, time_compute)
    per-user tokens/s = 1 / step time;  per-chip tokens/s = batch / step time / chips
    bound             = "memory" when time_memory >= time_compute, else "compute"

The attention cache is that of ``analysis.models.attention`` (``kv_cache_bytes``,
``attention_flops_per_token``), from the model's architecture columns (``ATTENTION_COLUMNS``, carried
in the explorer's model table): multi-head latent attention caches its latent and rotary key, and a
windowed layer holds at most ``window_tokens`` tokens (a model without a window has
``windowed_layers`` taken as 0). A row's ``status`` is ``STATUS_OK`` or the reason it has no numbers:
the chip does not support the precision (``roofline.supports_bits``, evaluated in Python and exported
as ``supports_4/8/16``), the chip lacks a bandwidth, memory or compute figure or the model a shape
figure (a latent-attention model its latent rank), or the context exceeds the model's window: exactly
the cases in which ``roofline.roofline_point`` refuses.

Cost explorer (``cost_steps``), for the chosen chip, model, precision and context, serves the
**largest batch that fits on the fewest chips** (``roofline_point(batch="max")``): the fewest chips
that hold the weights plus one sequence's KV cache, then the most sequences their memory holds::

    chips   = max(1, ceil((weight_bytes + sequence_bytes) / (memory_gb x 1e9) x (1 - 1e-12)))
    batch   = max(0, floor((chips x memory_gb x 1e9 x (1 + 1e-12) - weight_bytes) / sequence_bytes))
    hourly  = rent: the hourly price per chip;
              own:  capex / (years x 8760) + tdp_w / 1000 x pue x USD per kWh   (no hosting charge)
    USD per 1M output tokens = hourly / (per-chip tokens/s x 3600 x utilization) x 1e6

When owning, a chip without a TDP figure has the status ``STATUS_NO_POWER`` and no cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.models import attention, costs, roofline

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
RENT = "rent"
OWN = "own"
STATUS_OK = "ok"
STATUS_UNSUPPORTED = "precision not supported"
STATUS_NO_MEMORY = "no memory figure"
STATUS_NO_PEAK = "no compute peak"
STATUS_WINDOW = "context > model window"
STATUS_NO_MODEL = "no model figures"
STATUS_NO_POWER = "no power (TDP) figure"

# The chip and model columns the expressions read (``analysis.book.explorer_tables`` exports them).
CHIP_COLUMNS = (
    "memory_gb", "memory_bw_tbps", "peak_bf16_tflops", "peak_fp8_tflops", "peak_int8_tops", "peak_fp4_tflops",
)
REQUIRED_MODEL_COLUMNS = (
    "total_params_b", "active_params_b", "layers", "kv_heads", "head_dim", "attention_heads",
)
ATTENTION_COLUMNS = ("attention_kind", "kv_lora_rank", "rope_head_dim", "windowed_layers", "window_tokens")
MODEL_COLUMNS = (*REQUIRED_MODEL_COLUMNS, "context_length", *ATTENTION_COLUMNS)

__all__ = [
    "ATTENTION_COLUMNS",
    "CHIP_COLUMNS",
    "MODEL_COLUMNS",
    "OWN",
    "PARAM_BATCH",
    "PARAM_BITS",
    "PARAM_CAPEX",
    "PARAM_CHIP",
    "PARAM_CONTEXT",
    "PARAM_ELECTRICITY",
    "PARAM_HOURLY",
    "PARAM_MODEL",
    "PARAM_OWNERSHIP",
    "PARAM_PUE",
    "PARAM_UTILIZATION",
    "PARAM_YEARS",
    "RENT",
    "REQUIRED_MODEL_COLUMNS",
    "STATUS_NO_MEMORY",
    "STATUS_NO_MODEL",
    "STATUS_NO_PEAK",
    "STATUS_NO_POWER",
    "STATUS_OK",
    "STATUS_UNSUPPORTED",
    "STATUS_WINDOW",
    "Step",
    "cost_steps",
    "roofline_steps",
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


def _attention_steps(*, context: str) -> tuple[list[Step], list[Step]]:
    """The attention cache's steps (``analysis.models.attention`` in Vega): values cached per token and
    layer, before the status; then the tokens held summed over layers, the sequence's cache bytes and
    the attention FLOPs per token at ``context``, after it."""
    kv_lora_rank, rope, window, windowed = "kv_lora_rank", "rope_head_dim", "window_tokens", "windowed_layers"
    latent = (f"{_valid(kv_lora_rank)} ? {_d(kv_lora_rank)} + ({_valid(rope)} ? {_d(rope)} : 0) : null")
    grouped = f"{roofline.KV_TENSORS_PER_LAYER} * {_d('kv_heads')} * {_d('head_dim')}"
    values = f"{_d('attention_kind')} == '{attention.KIND_LATENT}' ? ({latent}) : {grouped}"
    windowed_count = f"({_valid(window)} && {_valid(windowed)} ? {_d(windowed)} : 0)"
    held = f"({_valid(window)} ? min(({context}), {_d(window)}) : ({context}))"
    token_layers = f"({_d('layers')} - {windowed_count}) * ({context}) + {windowed_count} * {held}"
    cache = (f"{_d('kv_values_per_token_layer')} * {_d('cached_token_layers')}"
             f" * {roofline.DEFAULT_KV_BITS} / {roofline.BITS_PER_BYTE}")
    flops = (f"{roofline.ATTENTION_MATMULS} * {roofline.FLOPS_PER_MULTIPLY_ADD} * {_d('attention_heads')}"
             f" * {_d('head_dim')} * {_d('cached_token_layers')}")
    return [Step("kv_values_per_token_layer", values)], [
        Step("cached_token_layers", token_layers),
        Step("sequence_bytes", cache),
        Step("attention_flops", flops),
    ]


def _status(*, bits: str, context: str) -> str:
    """The row's status expression: ``STATUS_OK`` or the first reason it cannot be bounded."""
    model_known = " && ".join(f"{_valid(c)} && {_d(c)} > 0" for c in REQUIRED_MODEL_COLUMNS)
    cache_known = f"{_valid('kv_values_per_token_layer')} && {_d('kv_values_per_token_layer')} > 0"
    supported = (
        f"({bits}) == 16 ? {_d('supports_16')} : (({bits}) == 8 ? {_d('supports_8')} : {_d('supports_4')})"
    )
    return (
        f"!({supported}) ? '{STATUS_UNSUPPORTED}' : "
        f"!({_valid('memory_gb')} && {_d('memory_gb')} > 0 && {_valid('memory_bw_tbps')}"
        f" && {_d('memory_bw_tbps')} > 0) ? '{STATUS_NO_MEMORY}' : "
        f"!({_valid('peak_tflops')} && {_d('peak_tflops')} > 0) ? '{STATUS_NO_PEAK}' : "
        f"!({model_known} && {cache_known}) ? '{STATUS_NO_MODEL}' : "
        f"({_valid('context_length')} && ({context}) > {_d('context_length')}) ? '{STATUS_WINDOW}'"
        f" : '{STATUS_OK}'"
    )


def _chip_model_steps(*, bits: str, context: str) -> list[Step]:
    bf16, fp8, int8, fp4 = "peak_bf16_tflops", "peak_fp8_tflops", "peak_int8_tops", "peak_fp4_tflops"
    eight = (
        f"{_valid(fp8)} && {_valid(int8)} ? max({_d(fp8)}, {_d(int8)}) : "
        f"{_valid(fp8)} ? {_d(fp8)} : {_valid(int8)} ? {_d(int8)} : ({_valid(bf16)} ? {_d(bf16)} : null)"
    )
    billion = _num(roofline.PARAMS_PER_BILLION)
    matmul = f"{roofline.FLOPS_PER_MULTIPLY_ADD} * {_d('active_params_b')} * {billion}"
    per_layer, cache = _attention_steps(context=context)
    return [
        Step("peak8_tflops", eight),
        Step("peak4_tflops", f"{_valid(fp4)} ? {_d(fp4)} : {_d('peak8_tflops')}"),
        Step(
            "peak_tflops",
            f"({bits}) == 16 ? ({_valid(bf16)} ? {_d(bf16)} : null) : "
            f"(({bits}) == 8 ? {_d('peak8_tflops')} : {_d('peak4_tflops')})",
        ),
        *per_layer,
        Step("status", _status(bits=bits, context=context)),
        Step(
            "weight_bytes",
            f"{_d('total_params_b')} * {billion} * ({bits}) / {roofline.BITS_PER_BYTE}",
        ),
        Step("expert_fraction", f"clamp({_d('active_params_b')} / {_d('total_params_b')}, 0, 1)"),
        *cache,
        Step("flops_per_token", f"{matmul} + {_d('attention_flops')}"),
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
