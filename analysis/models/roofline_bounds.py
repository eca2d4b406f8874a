"""Roofline bounds of one decode step and of one prefill pass, and the critical batch between them.

``decode_bound`` times one decode step of ``batch`` sequences (memory time, compute time, the larger
of the two, the speeds it allows and which of the two binds); ``critical_batch`` is the batch at which
the two times are equal; ``prefill_bound`` times the prefill of ``batch`` prompts in one pass, the
lower bound on time to first token. The bytes and FLOPs they add up come from
``analysis.models.roofline``, whose module docstring states the assumptions (every number is a bound,
never a prediction) and the units. All inputs broadcast with numpy's rules.

The decode functions take the model as bare figures (parameters, layers, heads). Its attention cache
and attention FLOPs are passed as ``kv_cache_bytes`` (bytes one sequence holds at ``context``) and
``attention_flops`` (attention FLOPs per token at ``context``), which ``roofline_point`` and
``roofline_grid`` take from the model's architecture (``analysis.models.attention``: grouped-query
heads, latent attention, windowed layers). Left out, they follow the grouped-query formula
(``roofline.kv_bytes_per_token``; every layer over the whole context), exact only for a model without
windowed layers or latent attention. ``prefill_bound`` always uses that formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from analysis.models.roofline import (
    BOUND_COMPUTE,
    BOUND_MEMORY,
    BYTES_PER_TB,
    DEFAULT_KV_BITS,
    FloatArray,
    as_floats,
    flops_per_token,
    kv_bytes_per_token,
    matmul_flops_per_token,
    weight_bytes,
    weight_bytes_read,
)

CRITICAL_BATCH_ITERATIONS = 80
CRITICAL_BATCH_LOG_SPAN = 40.0

__all__ = [
    "DecodeBound",
    "PrefillBound",
    "critical_batch",
    "decode_bound",
    "decode_times",
    "prefill_bound",
    "sequence_costs",
]


def sequence_costs(
    *,
    active_params_b: npt.ArrayLike,
    layers: npt.ArrayLike,
    kv_heads: npt.ArrayLike,
    head_dim: npt.ArrayLike,
    attention_heads: npt.ArrayLike,
    context: npt.ArrayLike,
    kv_bits: npt.ArrayLike = DEFAULT_KV_BITS,
    kv_cache_bytes: npt.ArrayLike | None = None,
    attention_flops: npt.ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray]:
    """The cache bytes one sequence holds at ``context`` and the FLOPs to produce one of its tokens.

    ``kv_cache_bytes`` and ``attention_flops`` (from ``analysis.models.attention``) are used where
    given; otherwise the grouped-query formula, ``context x kv_bytes_per_token`` and
    ``flops_per_token``, every layer over the whole context. FLOPs add the matrix products,
    ``2 x active parameters``, to the attention FLOPs either way.
    """
    if kv_cache_bytes is None:
        cache = as_floats(context) * kv_bytes_per_token(layers, kv_heads, head_dim, kv_bits=kv_bits)
    else:
        cache = as_floats(kv_cache_bytes)
    if attention_flops is None:
        flops = flops_per_token(active_params_b, layers, attention_heads, head_dim, context)
    else:
        flops = matmul_flops_per_token(active_params_b) + as_floats(attention_flops)
    return cache, flops


def critical_batch(
    *,
    memory_bw_tbps: npt.ArrayLike,
    peak_flops: npt.ArrayLike,
    total_params_b: npt.ArrayLike,
    active_params_b: npt.ArrayLike,
    bits: npt.ArrayLike,
    layers: npt.ArrayLike,
    kv_heads: npt.ArrayLike,
    head_dim: npt.ArrayLike,
    attention_heads: npt.ArrayLike,
    context: npt.ArrayLike,
    kv_bits: npt.ArrayLike = DEFAULT_KV_BITS,
    kv_cache_bytes: npt.ArrayLike | None = None,
    attention_flops: npt.ArrayLike | None = None,
) -> FloatArray:
    """Batch at which a decode step's memory time equals its compute time (a real number).

    Per sequence, a step costs ``k = cache bytes / bandwidth`` of memory time and
    ``c = flops_per_token / peak`` of compute time, and the weights cost ``w(B) / bandwidth``. The
    times are equal where ``w(B) / (B x bandwidth) = c - k``. For a dense model this is
    ``B* = (weight_bytes / bandwidth) / (c - k)``; at short context and 16-bit weights it reduces to
    the scaling book's ``peak / bandwidth``. A mixture of experts is solved by bisection. Infinite
    when ``c <= k``: reading each sequence's KV cache takes longer than its FLOPs, so the step is
    memory-bound at every batch. Independent of the number of chips, which scales both sides.
    """
    bandwidth = as_floats(memory_bw_tbps) * BYTES_PER_TB
    peak = as_floats(peak_flops)
    total = as_floats(total_params_b)
    fraction = np.clip(as_floats(active_params_b) / total, 0.0, 1.0)
    weights_time = weight_bytes(total, bits) / bandwidth
    cache, flops = sequence_costs(
        active_params_b=active_params_b, layers=layers, kv_heads=kv_heads, head_dim=head_dim,
        attention_heads=attention_heads, context=context, kv_bits=kv_bits,
        kv_cache_bytes=kv_cache_bytes, attention_flops=attention_flops,
    )
    kv_time = cache / bandwidth
    compute_time = flops / peak
    margin = compute_time - kv_time
    shape = np.broadcast_shapes(
        np.shape(weights_time), np.shape(margin), np.shape(fraction)
    )
    weights_time, margin, fraction = (np.broadcast_to(a, shape) for a in (weights_time, margin, fraction))
    with np.errstate(divide="ignore", invalid="ignore"):
        dense_answer = weights_time / margin
    result = np.where(margin > 0, dense_answer, np.inf)
    result = np.where(np.isnan(margin) | np.isnan(weights_time), np.nan, result)
    moe = (fraction < 1.0) & (margin > 0) & np.isfinite(dense_answer)
    if np.any(moe):
        result = np.array(result, dtype=np.float64, copy=True)
        result[moe] = _moe_critical_batch(weights_time[moe], margin[moe], fraction[moe])
    return as_floats(result)


def _moe_critical_batch(weights_time: FloatArray, margin: FloatArray, fraction: FloatArray) -> FloatArray:
    log_keep = np.log1p(-fraction)
    limit_at_zero = weights_time * -log_keep
    high = np.log(weights_time / margin)
    low = high - CRITICAL_BATCH_LOG_SPAN
    for _ in range(CRITICAL_BATCH_ITERATIONS):
        mid = 0.5 * (low + high)
        batch = np.exp(mid)
        per_sequence = weights_time * -np.expm1(batch * log_keep) / batch
        above = per_sequence > margin
        low = np.where(above, mid, low)
        high = np.where(above, high, mid)
    answer = np.exp(0.5 * (low + high))
    return as_floats(np.where(margin >= limit_at_zero, 0.0, answer))


@dataclass(frozen=True)
class DecodeBound:
    """Arrays describing the roofline of one decode step (all broadcast to one shape)."""

    bytes_per_step: FloatArray
    flops_per_step: FloatArray
    time_memory_s: FloatArray
    time_compute_s: FloatArray
    step_time_s: FloatArray
    per_user_tokens_per_s: FloatArray
    system_tokens_per_s: FloatArray
    tokens_per_s_per_chip: FloatArray
    bound: npt.NDArray[np.str_]
    critical_batch: FloatArray


def decode_times(
    *,
    memory_bw_tbps: npt.ArrayLike,
    peak_flops: npt.ArrayLike,
    total_params_b: npt.ArrayLike,
    active_params_b: npt.ArrayLike,
    bits: npt.ArrayLike,
    layers: npt.ArrayLike,
    kv_heads: npt.ArrayLike,
    head_dim: npt.ArrayLike,
    attention_heads: npt.ArrayLike,
    batch: npt.ArrayLike,
    context: npt.ArrayLike,
    n_chips: npt.ArrayLike,
    kv_bits: npt.ArrayLike,
    kv_cache_bytes: npt.ArrayLike | None = None,
    attention_flops: npt.ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Bytes, FLOPs, memory time and compute time of one decode step on ``n_chips`` chips.

    The arguments are those of ``decode_bound``, every one required but the cache size and the
    attention FLOPs (see ``sequence_costs``). The step reads the weights once (expected-experts
    estimate over ``batch`` tokens) and every sequence's cache."""
    chips = as_floats(n_chips)
    batch_arr = as_floats(batch)
    cache, flops = sequence_costs(
        active_params_b=active_params_b, layers=layers, kv_heads=kv_heads, head_dim=head_dim,
        attention_heads=attention_heads, context=context, kv_bits=kv_bits,
        kv_cache_bytes=kv_cache_bytes, attention_flops=attention_flops,
    )
    step_bytes = weight_bytes_read(total_params_b, active_params_b, bits, batch_arr) + batch_arr * cache
    step_flops = batch_arr * flops
    time_memory = step_bytes / (chips * as_floats(memory_bw_tbps) * BYTES_PER_TB)
    time_compute = step_flops / (chips * as_floats(peak_flops))
    return step_bytes, step_flops, time_memory, time_compute


def _bound_labels(time_memory: FloatArray, time_compute: FloatArray) -> npt.NDArray[np.str_]:
    labels = np.where(time_memory >= time_compute, BOUND_MEMORY, BOUND_COMPUTE)
    return np.where(np.isnan(time_memory) | np.isnan(time_compute), "", labels)


def decode_bound(
    *,
    memory_bw_tbps: npt.ArrayLike,
    peak_flops: npt.ArrayLike,
    total_params_b: npt.ArrayLike,
    active_params_b: npt.ArrayLike,
    bits: npt.ArrayLike,
    layers: npt.ArrayLike,
    kv_heads: npt.ArrayLike,
    head_dim: npt.ArrayLike,
    attention_heads: npt.ArrayLike,
    batch: npt.ArrayLike,
    context: npt.ArrayLike,
    n_chips: npt.ArrayLike = 1,
    kv_bits: npt.ArrayLike = DEFAULT_KV_BITS,
    kv_cache_bytes: npt.ArrayLike | None = None,
    attention_flops: npt.ArrayLike | None = None,
) -> DecodeBound:
    """Roofline of one decode step of ``batch`` sequences with ``context`` cached tokens each.

    ``memory_bw_tbps`` is per chip in TB/s, ``peak_flops`` per chip in FLOP/s (see
    ``peak_flops_for_bits``); ``n_chips`` chips shard the model perfectly. All inputs broadcast.
    ``kv_cache_bytes`` and ``attention_flops`` are one sequence's cache and attention FLOPs per token
    at ``context`` from the architecture (``analysis.models.attention``); left out, the grouped-query
    formula (see ``sequence_costs``).
    It does not check that the batch fits in memory (see ``max_batch``). ``bound`` is ``"memory"``
    when memory time is at least compute time, ``"compute"`` when it is less, and empty where an
    input is missing.
    """
    shared: dict[str, Any] = {
        "memory_bw_tbps": memory_bw_tbps, "peak_flops": peak_flops, "total_params_b": total_params_b,
        "active_params_b": active_params_b, "bits": bits, "layers": layers, "kv_heads": kv_heads,
        "head_dim": head_dim, "attention_heads": attention_heads, "context": context, "kv_bits": kv_bits,
        "kv_cache_bytes": kv_cache_bytes, "attention_flops": attention_flops,
    }
    step_bytes, step_flops, time_memory, time_compute = decode_times(batch=batch, n_chips=n_chips, **shared)
    critical = critical_batch(**shared)
    return _decode_result(step_bytes, step_flops, time_memory, time_compute, batch, n_chips, critical)


def _decode_result(
    step_bytes: FloatArray,
    step_flops: FloatArray,
    time_memory: FloatArray,
    time_compute: FloatArray,
    batch: npt.ArrayLike,
    n_chips: npt.ArrayLike,
    critical: FloatArray,
) -> DecodeBound:
    """The ``DecodeBound`` of one step's bytes, FLOPs, times and critical batch: its step time, its
    speeds and which time binds, every array broadcast to one shape."""
    shape = np.broadcast_shapes(np.shape(time_memory), np.shape(time_compute))
    step_time = np.maximum(time_memory, time_compute)
    system = as_floats(batch) / step_time
    return DecodeBound(
        bytes_per_step=np.broadcast_to(step_bytes, shape),
        flops_per_step=np.broadcast_to(step_flops, shape),
        time_memory_s=np.broadcast_to(time_memory, shape),
        time_compute_s=np.broadcast_to(time_compute, shape),
        step_time_s=as_floats(step_time),
        per_user_tokens_per_s=as_floats(1.0 / step_time),
        system_tokens_per_s=np.broadcast_to(system, shape),
        tokens_per_s_per_chip=np.broadcast_to(system / as_floats(n_chips), shape),
        bound=_bound_labels(time_memory, time_compute),
        critical_batch=np.broadcast_to(critical, shape),
    )


@dataclass(frozen=True)
class PrefillBound:
    """Arrays describing the roofline of prefilling ``batch`` prompts of ``prompt_tokens`` tokens."""

    bytes_moved: FloatArray
    flops: FloatArray
    time_memory_s: FloatArray
    time_compute_s: FloatArray
    time_s: FloatArray
    time_to_first_token_s: FloatArray
    tokens_per_s: FloatArray
    tokens_per_s_per_chip: FloatArray
    bound: npt.NDArray[np.str_]


def prefill_bound(
    *,
    memory_bw_tbps: npt.ArrayLike,
    peak_flops: npt.ArrayLike,
    total_params_b: npt.ArrayLike,
    active_params_b: npt.ArrayLike,
    bits: npt.ArrayLike,
    layers: npt.ArrayLike,
    kv_heads: npt.ArrayLike,
    head_dim: npt.ArrayLike,
    attention_heads: npt.ArrayLike,
    batch: npt.ArrayLike,
    prompt_tokens: npt.ArrayLike,
    n_chips: npt.ArrayLike = 1,
    kv_bits: npt.ArrayLike = DEFAULT_KV_BITS,
) -> PrefillBound:
    """Roofline of prefilling ``batch`` prompts of ``prompt_tokens`` tokens in one pass.

    FLOPs are ``batch x prompt_tokens x flops_per_token`` at the causal average context
    ``(prompt_tokens + 1) / 2``; bytes are the weights read once plus the KV cache written. The
    time is the larger of the memory and compute times; it is also the lower bound on time to
    first token, since no prompt's first token can come before its prefill ends. ``tokens_per_s``
    counts prompt tokens processed. The cache and attention follow the grouped-query formula (every
    layer over the whole prompt): exact without windowed layers or latent attention, an overstatement
    of the work (an understatement of the speed) with them.
    """
    tokens = as_floats(batch) * as_floats(prompt_tokens)
    average_context = (as_floats(prompt_tokens) + 1.0) / 2.0
    moved = weight_bytes_read(total_params_b, active_params_b, bits, tokens) + tokens * kv_bytes_per_token(
        layers, kv_heads, head_dim, kv_bits=kv_bits
    )
    flops = tokens * flops_per_token(active_params_b, layers, attention_heads, head_dim, average_context)
    chips = as_floats(n_chips)
    time_memory = moved / (chips * as_floats(memory_bw_tbps) * BYTES_PER_TB)
    time_compute = flops / (chips * as_floats(peak_flops))
    shape = np.broadcast_shapes(np.shape(time_memory), np.shape(time_compute))
    time = as_floats(np.maximum(time_memory, time_compute))
    rate = tokens / time
    return PrefillBound(
        bytes_moved=np.broadcast_to(moved, shape),
        flops=np.broadcast_to(flops, shape),
        time_memory_s=np.broadcast_to(time_memory, shape),
        time_compute_s=np.broadcast_to(time_compute, shape),
        time_s=time,
        time_to_first_token_s=time,
        tokens_per_s=np.broadcast_to(rate, shape),
        tokens_per_s_per_chip=np.broadcast_to(rate / chips, shape),
        bound=_bound_labels(time_memory, time_compute),
    )
