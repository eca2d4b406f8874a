"""The decode roofline of one chip, one model and one configuration, checked: ``roofline_point``.

The scalar entry point used by the command line and the chapters. It takes rows of the chips and
models tables, refuses with a one-line ValueError what cannot be bounded (an unsupported
precision, missing chip or model data, a context beyond the model's window, a batch that does not
fit), chooses the number of chips and the batch, and returns a ``RooflineResult`` of plain floats
from ``analysis.models.roofline_bounds.decode_bound``. Each sequence's attention cache and the
attention FLOPs per token come from the model's architecture (``analysis.models.attention``:
grouped-query heads, latent attention, windowed layers). The assumptions are those stated in
``analysis.models.roofline``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from analysis.models import attention
from analysis.models.roofline import (
    DEFAULT_KV_BITS,
    FloatArray,
    check_bits,
    chips_needed,
    max_batch,
    model_arrays,
    numeric_field,
    peak_flops_for_bits,
    positive_int,
    precision_names,
    supports_bits,
    weight_bytes,
)
from analysis.models.roofline_bounds import DecodeBound, decode_bound

__all__ = ["RooflineResult", "roofline_point"]


@dataclass(frozen=True)
class RooflineResult:
    """The decode roofline of one chip, model, precision, batch and context."""

    chip: str
    model: str
    bits: int
    kv_bits: int
    batch: int
    context: int
    chips: int
    max_batch: int
    bytes_per_step: float
    flops_per_step: float
    time_memory_s: float
    time_compute_s: float
    step_time_s: float
    per_user_tokens_per_s: float
    tokens_per_s_per_chip: float
    system_tokens_per_s: float
    critical_batch: float
    bound: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python fields; an infinite ``critical_batch`` (never compute-bound) becomes None."""
        out = asdict(self)
        if not math.isfinite(out["critical_batch"]):
            out["critical_batch"] = None
        return out


def _label(record: Mapping[str, Any] | pd.Series, fallback: str) -> str:
    slug = record.get("slug", None)
    if slug is None or (isinstance(slug, float) and math.isnan(slug)):
        name = record.get("name", None)
        return str(name) if name is not None else fallback
    return str(slug)


def _required(value: FloatArray, what: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{what} is missing or not positive; cannot bound it")
    return number


def roofline_point(
    chip: Mapping[str, Any] | pd.Series,
    model: Mapping[str, Any] | pd.Series,
    *,
    bits: int,
    batch: int | str = 1,
    context: int = 2048,
    chips: int | None = None,
    kv_bits: int = DEFAULT_KV_BITS,
) -> RooflineResult:
    """Decode roofline of ``model`` on ``chip`` (rows of the chips and models tables).

    ``batch`` is a number of concurrent sequences or ``"max"`` for the largest that fits.
    ``chips`` is the number of chips, or None for the fewest that hold the weights plus the KV
    caches of the batch (with ``batch="max"``: the fewest that hold the weights plus one sequence,
    then the largest batch on that many chips). ``context`` is the number of tokens in each
    sequence's cache. Raises ValueError with a one-line message for an unsupported precision,
    a batch that does not fit, non-positive numbers, a context beyond the model's window, or missing
    chip or model data.
    """
    chip_name = _label(chip, "the chip")
    model_name = _label(model, "the model")
    check_bits(bits, "bits")
    check_bits(kv_bits, "kv_bits")
    context = positive_int(context, "context")
    if chips is not None:
        chips = positive_int(chips, "chips")
    wanted = _wanted_batch(batch)
    bandwidth, memory, peak = _chip_figures(chip, chip_name, bits)
    m = _model_figures(model, model_name, context, kv_bits)
    n_chips, size = _chips_and_batch(
        chip_name=chip_name, model_name=model_name, bits=bits, kv_bits=kv_bits, context=context,
        chips=chips, wanted=wanted, memory=memory, model=model, m=m,
    )
    largest = int(max_batch(n_chips, memory, bits, model, context, kv_bits=kv_bits))
    result = decode_bound(
        memory_bw_tbps=bandwidth,
        peak_flops=peak,
        total_params_b=m["total_params_b"],
        active_params_b=m["active_params_b"],
        bits=bits,
        layers=m["layers"],
        kv_heads=m["kv_heads"],
        head_dim=m["head_dim"],
        attention_heads=m["attention_heads"],
        batch=size,
        context=context,
        n_chips=n_chips,
        kv_bits=kv_bits,
        kv_cache_bytes=m["kv_cache_bytes"],
        attention_flops=m["attention_flops"],
    )
    return _point_result(chip_name, model_name, bits, kv_bits, size, context, n_chips, largest, result)


def _wanted_batch(batch: int | str) -> int | None:
    """The batch asked for: a positive whole number, or None for ``"max"`` (the largest that fits)."""
    if isinstance(batch, str):
        if batch.strip().lower() != "max":
            raise ValueError(f"batch must be a positive whole number or 'max'; got {batch!r}")
        return None
    return positive_int(batch, "batch")


def _chip_figures(
    chip: Mapping[str, Any] | pd.Series, chip_name: str, bits: int
) -> tuple[float, float, float]:
    """Memory bandwidth (TB/s), memory capacity (GB) and ``bits``-bit peak FLOP/s of ``chip``.

    ValueError when the chip does not support ``bits``-bit weights or a figure is missing."""
    precisions = chip.get("precisions", None)
    if not supports_bits(precisions, bits):
        listed = ", ".join(sorted(precision_names(precisions))) or "none"
        raise ValueError(f"{chip_name} does not support {bits}-bit weights (it lists: {listed})")
    bandwidth = _required(numeric_field(chip, "memory_bw_tbps"), f"memory bandwidth of {chip_name}")
    memory = _required(numeric_field(chip, "memory_gb"), f"memory capacity of {chip_name}")
    peak = _required(peak_flops_for_bits(chip, bits), f"{bits}-bit peak compute of {chip_name}")
    return bandwidth, memory, peak


def _model_figures(
    model: Mapping[str, Any] | pd.Series, model_name: str, context: int, kv_bits: int
) -> dict[str, float]:
    """The model's parameters, layers and heads as positive numbers (from ``model_arrays``), with one
    sequence's attention cache at ``context`` and the attention FLOPs per token
    (``kv_cache_bytes``, ``attention_flops``, from ``analysis.models.attention``).

    ValueError when one is missing (a latent-attention model without its latent rank, say) or
    ``context`` exceeds the model's window."""
    params = model_arrays(model)
    fields = {
        "total_params_b": "total parameters",
        "active_params_b": "active parameters",
        "layers": "layer count",
        "kv_heads": "KV head count",
        "head_dim": "head dimension",
        "attention_heads": "attention head count",
    }
    m = {key: _required(params[key], f"{label} of {model_name}") for key, label in fields.items()}
    window = float(params["context_length"])
    if math.isfinite(window) and context > window:
        raise ValueError(f"context {context} exceeds {model_name}'s window of {int(window)} tokens")
    m["kv_cache_bytes"] = _required(attention.kv_cache_bytes(model, context, kv_bits=kv_bits),
                                    f"attention cache of {model_name}")
    m["attention_flops"] = _required(attention.attention_flops_per_token(model, context),
                                     f"attention FLOPs of {model_name}")
    return m


def _chips_and_batch(
    *,
    chip_name: str,
    model_name: str,
    bits: int,
    kv_bits: int,
    context: int,
    chips: int | None,
    wanted: int | None,
    memory: float,
    model: Mapping[str, Any] | pd.Series,
    m: dict[str, float],
) -> tuple[int, int]:
    """The number of chips and the batch (see ``roofline_point``); ValueError when the batch does not fit."""
    weights = float(weight_bytes(m["total_params_b"], bits))
    per_sequence = m["kv_cache_bytes"]
    if wanted is None:
        n_chips = chips if chips is not None else int(chips_needed(weights + per_sequence, memory))
        size = int(max_batch(n_chips, memory, bits, model, context, kv_bits=kv_bits))
        if size < 1:
            raise ValueError(
                f"{model_name} at {bits}-bit plus one {context}-token sequence does not fit on "
                f"{n_chips} x {chip_name}"
            )
    else:
        size = wanted
        fewest = int(chips_needed(weights + size * per_sequence, memory))
        n_chips = chips if chips is not None else fewest
        if fewest > n_chips:
            raise ValueError(
                f"batch {size} of {model_name} at {bits}-bit and context {context} needs {fewest} x "
                f"{chip_name}; {n_chips} given"
            )
    return n_chips, size


def _point_result(
    chip_name: str,
    model_name: str,
    bits: int,
    kv_bits: int,
    size: int,
    context: int,
    n_chips: int,
    largest: int,
    result: DecodeBound,
) -> RooflineResult:
    """The scalar ``RooflineResult`` of a one-point ``DecodeBound``."""
    return RooflineResult(
        chip=chip_name,
        model=model_name,
        bits=int(bits),
        kv_bits=int(kv_bits),
        batch=size,
        context=context,
        chips=n_chips,
        max_batch=largest,
        bytes_per_step=float(result.bytes_per_step),
        flops_per_step=float(result.flops_per_step),
        time_memory_s=float(result.time_memory_s),
        time_compute_s=float(result.time_compute_s),
        step_time_s=float(result.step_time_s),
        per_user_tokens_per_s=float(result.per_user_tokens_per_s),
        tokens_per_s_per_chip=float(result.tokens_per_s_per_chip),
        system_tokens_per_s=float(result.system_tokens_per_s),
        critical_batch=float(result.critical_batch),
        bound=str(result.bound),
    )
