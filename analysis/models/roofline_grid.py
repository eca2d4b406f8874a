"""Decode rooflines over a grid: every chip x model x precision x batch x context, one row each.

``roofline_grid`` evaluates ``analysis.models.roofline_bounds`` on the cross product of two tables
(the chips and the models) and three axes (weight precisions, batches, contexts) at once, with numpy
broadcasting over one five-dimensional array, and returns a long DataFrame. Rows that cannot be
bounded (an unsupported precision, missing data, a context beyond the window, too many chips) are
kept with ``fits`` False and their speeds missing, rather than refused as ``roofline_point`` does.
Each sequence's attention cache and the attention FLOPs per token come from the model's architecture
(``analysis.models.attention``: grouped-query heads, latent attention, and windowed layers that hold
at most their window), at every context of the grid. The assumptions are those stated in
``analysis.models.roofline``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from analysis.models import attention
from analysis.models.roofline import (
    BOUND_LABELS,
    DEFAULT_KV_BITS,
    FloatArray,
    check_bits,
    chips_needed,
    model_arrays,
    numeric_field,
    peak_flops_for_bits,
    positive_int,
    supports_bits,
    weight_bytes,
)
from analysis.models.roofline_bounds import critical_batch, decode_times

BoolArray = npt.NDArray[np.bool_]

_MODEL_INPUTS = ("total_params_b", "active_params_b", "layers", "kv_heads", "head_dim", "attention_heads")
_ATTENTION_INPUTS = ("kv_cache_bytes", "attention_flops")

__all__ = ["roofline_grid"]


class _Speeds(NamedTuple):
    """A grid's decode times and speeds, each shaped to broadcast on the grid's axes."""

    time_memory: FloatArray
    time_compute: FloatArray
    step_time: FloatArray
    system: FloatArray
    critical: FloatArray


def _axis_values(values: Sequence[int], name: str, *, bits: bool = False) -> npt.NDArray[np.int64]:
    array = np.asarray(list(values))
    if array.size == 0:
        raise ValueError(f"{name} must list at least one value")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be whole numbers; got {list(values)!r}")
    if bits:
        check_bits(array, name)
    elif np.any(array < 1):
        raise ValueError(f"{name} must be positive; got {int(array.min())}")
    return array.astype(np.int64)


def _slug_categorical(slugs: pd.Series, codes: npt.NDArray[np.int64], table: str) -> pd.Categorical:
    labels = slugs.astype(str).tolist()
    if len(set(labels)) != len(labels):
        raise ValueError(f"{table} slugs must be unique to build a grid")
    return pd.Categorical.from_codes(codes, categories=labels)


def roofline_grid(
    chips: pd.DataFrame,
    models: pd.DataFrame,
    *,
    bits: Sequence[int],
    batches: Sequence[int],
    contexts: Sequence[int],
    kv_bits: int = DEFAULT_KV_BITS,
    max_chips: int | None = None,
) -> pd.DataFrame:
    """Decode rooflines for every chip x model x bits x batch x context, one row each.

    Rows are ordered by chip, model, bits, batch, context (the tables' row order and the given
    sequences' order). ``chips`` is the fewest chips that hold the weights plus the batch's KV
    caches. ``fits`` is False, and the speeds, ``bound`` and ``critical_batch`` are missing, when
    the chip does not support the precision, chip or model data are missing, the context exceeds
    the model's window, or more than ``max_chips`` chips would be needed. ``chip_slug``,
    ``model_slug`` and ``bound`` are categorical; ``chips`` is a nullable integer.
    """
    bits_axis = _axis_values(bits, "bits", bits=True)
    batch_axis = _axis_values(batches, "batches")
    context_axis = _axis_values(contexts, "contexts")
    check_bits(kv_bits, "kv_bits")
    if max_chips is not None:
        max_chips = positive_int(max_chips, "max_chips")

    n_c, n_m, n_p, n_b, n_x = len(chips), len(models), bits_axis.size, batch_axis.size, context_axis.size
    shape = (n_c, n_m, n_p, n_b, n_x)
    model_ax = (1, n_m, 1, 1, 1)

    bandwidth, memory, peak, supported = _chip_arrays(chips, bits_axis)
    params = {key: value.reshape(model_ax) for key, value in model_arrays(models).items()}
    params.update(_attention_arrays(models, context_axis, kv_bits))
    bits_b = bits_axis.astype(np.float64).reshape(1, 1, n_p, 1, 1)
    batch_b = batch_axis.astype(np.float64).reshape(1, 1, 1, n_b, 1)
    context_b = context_axis.astype(np.float64).reshape(1, 1, 1, 1, n_x)

    n_chips = _chips_for_batch(params, memory, bits_b, batch_b)
    chip_ok = supported & np.isfinite(bandwidth) & (bandwidth > 0) & np.isfinite(memory) & (memory > 0)
    chip_ok = chip_ok & np.isfinite(peak) & (peak > 0)
    fits = np.broadcast_to(chip_ok & _model_ok(params, context_b, model_ax), shape) & np.isfinite(n_chips)
    if max_chips is not None:
        fits = fits & (n_chips <= max_chips)

    speeds = _speeds(bandwidth, peak, params, bits_b, batch_b, context_b, n_chips, kv_bits)
    return _grid_frame(chips, models, (bits_axis, batch_axis, context_axis), fits, n_chips, speeds)


def _chip_arrays(
    chips: pd.DataFrame, bits_axis: npt.NDArray[np.int64]
) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
    """Each chip's memory bandwidth, memory capacity, peak FLOP/s at each of ``bits_axis`` and whether
    it supports those bits, shaped to broadcast on the grid's chip (and bits) axes."""
    n_c, n_p = len(chips), bits_axis.size
    chip_ax = (n_c, 1, 1, 1, 1)
    bandwidth = numeric_field(chips, "memory_bw_tbps").reshape(chip_ax)
    memory = numeric_field(chips, "memory_gb").reshape(chip_ax)
    peak = np.stack([peak_flops_for_bits(chips, int(b)) for b in bits_axis], axis=-1).reshape(n_c, 1, n_p, 1, 1)
    precision_column = chips["precisions"] if "precisions" in chips else pd.Series([None] * n_c)
    supported = np.array(
        [[supports_bits(p, int(b)) for b in bits_axis] for p in precision_column], dtype=bool
    ).reshape(n_c, 1, n_p, 1, 1)
    return bandwidth, memory, peak, supported


def _attention_arrays(
    models: pd.DataFrame, context_axis: npt.NDArray[np.int64], kv_bits: int
) -> dict[str, FloatArray]:
    """One sequence's attention cache (``kv_cache_bytes``) and the attention FLOPs per token
    (``attention_flops``) of each model at each context, from the architecture
    (``analysis.models.attention``), shaped to broadcast on the grid's model and context axes."""
    contexts = context_axis.astype(np.float64).reshape(-1, 1)
    n_m, n_x = len(models), context_axis.size

    def on_grid(values: FloatArray) -> FloatArray:
        """A (context, model) array laid out on the grid's (1, model, 1, 1, context) axes."""
        by_context = np.broadcast_to(values, (n_x, n_m))
        return np.ascontiguousarray(by_context.T).reshape(1, n_m, 1, 1, n_x)

    return {
        "kv_cache_bytes": on_grid(attention.kv_cache_bytes(models, contexts, kv_bits=kv_bits)),
        "attention_flops": on_grid(attention.attention_flops_per_token(models, contexts)),
    }


def _chips_for_batch(
    params: dict[str, FloatArray],
    memory: FloatArray,
    bits_b: FloatArray,
    batch_b: FloatArray,
) -> FloatArray:
    """The fewest chips that hold the weights plus the batch's attention caches, on the grid's axes."""
    needed = weight_bytes(params["total_params_b"], bits_b) + batch_b * params["kv_cache_bytes"]
    return chips_needed(needed, memory)


def _model_ok(params: dict[str, FloatArray], context_b: FloatArray, model_ax: tuple[int, ...]) -> BoolArray:
    """Whether each model has every figure a bound needs (its attention cache included: a
    latent-attention model needs its latent rank) and each context lies within its window."""
    model_ok = np.ones(model_ax, dtype=bool)
    for key in (*_MODEL_INPUTS, *_ATTENTION_INPUTS):
        model_ok = model_ok & np.isfinite(params[key]) & (params[key] > 0)
    window = params["context_length"]
    return model_ok & ~(np.isfinite(window) & (context_b > window))


def _speeds(
    bandwidth: FloatArray,
    peak: FloatArray,
    params: dict[str, FloatArray],
    bits_b: FloatArray,
    batch_b: FloatArray,
    context_b: FloatArray,
    n_chips: FloatArray,
    kv_bits: int,
) -> _Speeds:
    """Memory time, compute time, step time, system tokens/s and critical batch on the grid's axes,
    computed everywhere (missing or infinite where the inputs are)."""
    model_kwargs: dict[str, Any] = {key: params[key] for key in (*_MODEL_INPUTS, *_ATTENTION_INPUTS)}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        _, _, time_memory, time_compute = decode_times(
            memory_bw_tbps=bandwidth,
            peak_flops=peak,
            bits=bits_b,
            batch=batch_b,
            context=context_b,
            n_chips=n_chips,
            kv_bits=kv_bits,
            **model_kwargs,
        )
        step_time = np.maximum(time_memory, time_compute)
        system = batch_b / step_time
        critical = critical_batch(
            memory_bw_tbps=bandwidth,
            peak_flops=peak,
            bits=bits_b,
            context=context_b,
            kv_bits=kv_bits,
            **model_kwargs,
        )
    return _Speeds(time_memory, time_compute, step_time, system, critical)


def _grid_frame(
    chips: pd.DataFrame,
    models: pd.DataFrame,
    axes: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]],
    fits: BoolArray,
    n_chips: FloatArray,
    speeds: _Speeds,
) -> pd.DataFrame:
    """The grid's rows (see ``roofline_grid``), with the speeds missing where the row does not fit."""
    bits_axis, batch_axis, context_axis = axes
    n_c, n_m, n_p, n_b, n_x = len(chips), len(models), bits_axis.size, batch_axis.size, context_axis.size
    shape = (n_c, n_m, n_p, n_b, n_x)
    missing = ~fits
    flat = missing.ravel()

    def column(values: FloatArray) -> FloatArray:
        out = np.array(np.broadcast_to(values, shape), dtype=np.float64).ravel()
        out[flat] = np.nan
        return out

    index = np.indices(shape, sparse=True)
    bound_codes = np.where(np.broadcast_to(speeds.time_memory >= speeds.time_compute, shape), 0, 1).ravel()
    bound_codes[flat] = -1
    chip_count = np.broadcast_to(n_chips, shape).ravel()
    chip_known = np.isfinite(chip_count)
    slug_column = chips["slug"] if "slug" in chips else pd.Series(range(n_c))
    model_slug_column = models["slug"] if "slug" in models else pd.Series(range(n_m))
    system = speeds.system
    return pd.DataFrame(
        {
            "chip_slug": _slug_categorical(slug_column, np.broadcast_to(index[0], shape).ravel(), "chip"),
            "model_slug": _slug_categorical(model_slug_column, np.broadcast_to(index[1], shape).ravel(), "model"),
            "bits": np.broadcast_to(bits_axis.reshape(1, 1, n_p, 1, 1), shape).ravel(),
            "batch": np.broadcast_to(batch_axis.reshape(1, 1, 1, n_b, 1), shape).ravel(),
            "context": np.broadcast_to(context_axis.reshape(1, 1, 1, 1, n_x), shape).ravel(),
            "chips": pd.arrays.IntegerArray(
                np.where(chip_known, chip_count, 0).astype(np.int64), ~chip_known
            ),
            "fits": fits.ravel(),
            "per_user_tokens_per_s": column(1.0 / speeds.step_time),
            "tokens_per_s_per_chip": column(system / n_chips),
            "system_tokens_per_s": column(system),
            "bound": pd.Categorical.from_codes(bound_codes, categories=list(BOUND_LABELS)),
            "critical_batch": column(speeds.critical),
        },
        copy=False,
    )
