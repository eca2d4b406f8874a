"""Roofline bounds for autoregressive LLM inference: the fastest a chip could possibly go.

The model follows the roofline derivation of the JAX scaling book (jax-ml/scaling-book): a step
moves some bytes through memory and does some floating-point operations, so it takes at least

    time_memory  = bytes moved / memory bandwidth
    time_compute = FLOPs / peak FLOP/s
    step time    = max(time_memory, time_compute)

and the *critical batch size* is the batch at which the two are equal. Below it a decode step is
memory-bound (adding users is nearly free); above it the step is compute-bound.

Every number this module returns is a **bound**, never a prediction: real systems reach some
fraction of it. The assumptions, all chosen so that the result is an upper limit on speed:

* **Efficiency is 100%.** Peak bandwidth and peak FLOP/s are reached; kernels overlap memory and
  compute perfectly (hence max, not sum); there is no launch, scheduling or sampling overhead.
* **Compute peaks are dense.** Structured-sparsity peaks are never used.
* **Weights are stored at the requested precision** (``bits``: 4, 8 or 16), and **the KV cache at
  ``kv_bits``** (default 16). Activations, framework overhead and fragmentation take no memory.
* **Compute precision.** 16-bit weights compute at the bf16 peak; 8-bit weights at the larger of
  the fp8 and int8 peaks, or the bf16 peak when the chip lists neither; 4-bit weights at the fp4
  peak, else the 8-bit peak, else the bf16 peak. All FLOPs of a step, attention included, run at
  that one peak.
* **Supported precisions** (``supports_bits``). 16-bit needs bf16 or fp16; 8-bit needs fp8 or
  int8. 4-bit is accepted on any chip that natively computes at 4, 8 or 16 bits: 4-bit weights
  without 4-bit arithmetic are weight-only quantization, dequantized on load and multiplied at the
  next supported precision (as llama.cpp does on Apple silicon and GPTQ/AWQ kernels do on GPUs).
* **One decode step** produces one token for each of ``batch`` sequences. It reads the weights
  once for the whole batch, plus every sequence's KV cache of ``context`` tokens, where ``context``
  is the number of tokens already in the cache at that step. Bytes written (one new KV entry per
  sequence) are negligible and ignored.
* **FLOPs per token** are ``2 x active parameters`` (one multiply-add per parameter in the matrix
  products) plus attention over the cache: ``2 x 2 x layers x context x attention_heads x
  head_dim`` (the QK^T and AV products, two FLOPs per multiply-add each).
* **KV cache bytes per token** are ``2 x layers x kv_heads x head_dim x kv_bits / 8`` (a key and a
  value vector per layer per KV head). Grouped-query attention enters through ``kv_heads``; a
  compressed cache (such as multi-head latent attention) must be expressed as an equivalent
  ``kv_heads x head_dim``.
* **Mixture of experts.** FLOPs use the active parameters; memory capacity uses the total
  parameters (every expert is resident). Weight *traffic* per step uses an expected-experts
  estimate: each of the ``n`` tokens in a step touches a random fraction ``r = active / total`` of
  the weights, independently and uniformly, so the expected fraction read is ``1 - (1 - r)^n``.
  This is exact at one token (the active parameters are read) and tends to all parameters at large
  batch; it never exceeds ``min(total, n x active)``. Uniform routing touches the most distinct
  experts of any routing with the same marginals, and attention and shared experts are treated as
  routed, so at intermediate batch the estimate overstates traffic (and understates speed)
  somewhat. For a dense model ``r = 1`` and the whole model is read every step.
* **Several chips** shard the model perfectly (tensor parallelism): bandwidth, FLOP/s and memory
  add up, and interconnect time is ignored. ``memory_gb`` and ``memory_bw_tbps`` are those of the
  tier that holds the weights (HBM, GDDR, on-chip SRAM or unified memory).
* **Prefill** of a ``P``-token prompt is causal: token ``i`` attends to ``i`` tokens, so attention
  FLOPs are those of ``P`` tokens at an average context of ``(P + 1) / 2``. Its bytes are the
  weights read once (expected-experts estimate over the batch's ``B x P`` tokens) plus the KV cache
  written; attention's reads of the KV being built are assumed to stay on chip.

Units: parameters in billions, memory in GB (1e9 bytes), bandwidth in TB/s (1e12 bytes/s), peaks
in TFLOP/s or TOP/s (1e12 per second); functions return bytes, FLOPs, seconds and FLOP/s.

The array functions broadcast their inputs with numpy's rules and return float arrays (numpy
scalars for scalar inputs). ``roofline_point`` is the scalar entry point used by the command line;
``roofline_grid`` evaluates a cross product of chips, models, precisions, batches and contexts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

BITS_PER_BYTE = 8
BYTES_PER_GB = 1e9
BYTES_PER_TB = 1e12
PARAMS_PER_BILLION = 1e9
FLOPS_PER_TERA = 1e12
FLOPS_PER_MULTIPLY_ADD = 2
KV_TENSORS_PER_LAYER = 2
ATTENTION_MATMULS = 2
DEFAULT_KV_BITS = 16
SUPPORTED_BITS = (4, 8, 16)
PRECISION_SEPARATOR = ";"
NATIVE_PRECISIONS = {16: ("bf16", "fp16"), 8: ("fp8", "int8"), 4: ("int4", "fp4")}
FIT_RTOL = 1e-12
BOUND_MEMORY = "memory"
BOUND_COMPUTE = "compute"
BOUND_LABELS = (BOUND_MEMORY, BOUND_COMPUTE)
CRITICAL_BATCH_ITERATIONS = 80
CRITICAL_BATCH_LOG_SPAN = 40.0

ChipLike = Mapping[str, Any] | pd.Series | pd.DataFrame
ModelLike = Mapping[str, Any] | pd.Series | pd.DataFrame

__all__ = [
    "BITS_PER_BYTE",
    "BYTES_PER_GB",
    "BYTES_PER_TB",
    "DEFAULT_KV_BITS",
    "FLOPS_PER_TERA",
    "PARAMS_PER_BILLION",
    "SUPPORTED_BITS",
    "DecodeBound",
    "PrefillBound",
    "RooflineResult",
    "chips_needed",
    "critical_batch",
    "decode_bound",
    "decode_bytes_per_step",
    "flops_per_token",
    "kv_bytes_per_token",
    "max_batch",
    "model_arrays",
    "numeric_field",
    "peak_flops_for_bits",
    "prefill_bound",
    "roofline_grid",
    "roofline_point",
    "supports_bits",
    "weight_bytes",
    "weight_bytes_read",
]


def _floats(value: Any) -> FloatArray:
    return np.asarray(value, dtype=np.float64)


def numeric_field(record: ChipLike | ModelLike, name: str) -> FloatArray:
    """Column ``name`` of a row or frame as floats (NaN where missing or not a number)."""
    value = record.get(name, None) if hasattr(record, "get") else None
    if value is None:
        return _floats(np.nan)
    if isinstance(value, pd.Series):
        return pd.to_numeric(value, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        return _floats(value)
    except (TypeError, ValueError):
        return _floats(np.nan)


def _check_bits(bits: Any, name: str = "bits") -> None:
    values = np.unique(np.asarray(bits))
    bad = [v for v in values.tolist() if v not in SUPPORTED_BITS]
    if bad:
        allowed = ", ".join(str(b) for b in SUPPORTED_BITS)
        raise ValueError(f"{name} must be one of {allowed}; got {bad[0]}")


def weight_bytes(total_params_b: npt.ArrayLike, bits: npt.ArrayLike) -> FloatArray:
    """Bytes needed to hold all the weights: total parameters times bits per weight / 8."""
    return _floats(total_params_b) * PARAMS_PER_BILLION * _floats(bits) / BITS_PER_BYTE


def weight_bytes_read(
    total_params_b: npt.ArrayLike,
    active_params_b: npt.ArrayLike,
    bits: npt.ArrayLike,
    tokens: npt.ArrayLike,
) -> FloatArray:
    """Expected bytes of weights read by a step that processes ``tokens`` tokens together.

    Each token touches a fraction ``r = active / total`` of the weights, independently and
    uniformly, so the step reads ``weight_bytes x (1 - (1 - r)^tokens)``. A dense model (``r = 1``)
    reads all its weights; a mixture of experts reads its active parameters at one token and tends
    to all of them as ``tokens`` grows.
    """
    total = _floats(total_params_b)
    fraction = np.clip(_floats(active_params_b) / total, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        touched = -np.expm1(_floats(tokens) * np.log1p(-fraction))
    return weight_bytes(total, bits) * touched


def kv_bytes_per_token(
    layers: npt.ArrayLike,
    kv_heads: npt.ArrayLike,
    head_dim: npt.ArrayLike,
    *,
    kv_bits: npt.ArrayLike = DEFAULT_KV_BITS,
) -> FloatArray:
    """KV-cache bytes per token of one sequence: ``2 x layers x kv_heads x head_dim x kv_bits / 8``."""
    return (
        KV_TENSORS_PER_LAYER
        * _floats(layers)
        * _floats(kv_heads)
        * _floats(head_dim)
        * _floats(kv_bits)
        / BITS_PER_BYTE
    )


def decode_bytes_per_step(
    total_params_b: npt.ArrayLike,
    active_params_b: npt.ArrayLike,
    bits: npt.ArrayLike,
    layers: npt.ArrayLike,
    kv_heads: npt.ArrayLike,
    head_dim: npt.ArrayLike,
    batch: npt.ArrayLike,
    context: npt.ArrayLike,
    *,
    kv_bits: npt.ArrayLike = DEFAULT_KV_BITS,
) -> FloatArray:
    """Bytes read by one decode step: weights read once (expected-experts estimate over ``batch``
    tokens) plus ``batch x context`` tokens of KV cache."""
    weights = weight_bytes_read(total_params_b, active_params_b, bits, batch)
    kv = _floats(batch) * _floats(context) * kv_bytes_per_token(layers, kv_heads, head_dim, kv_bits=kv_bits)
    return weights + kv


def flops_per_token(
    active_params_b: npt.ArrayLike,
    layers: npt.ArrayLike,
    attention_heads: npt.ArrayLike,
    head_dim: npt.ArrayLike,
    context: npt.ArrayLike,
) -> FloatArray:
    """FLOPs to produce one token attending to ``context`` cached tokens.

    ``2 x active parameters`` for the matrix products plus ``2 x 2 x layers x context x
    attention_heads x head_dim`` for attention (QK^T and AV, two FLOPs per multiply-add).
    """
    matmul = FLOPS_PER_MULTIPLY_ADD * _floats(active_params_b) * PARAMS_PER_BILLION
    attention = (
        ATTENTION_MATMULS
        * FLOPS_PER_MULTIPLY_ADD
        * _floats(layers)
        * _floats(context)
        * _floats(attention_heads)
        * _floats(head_dim)
    )
    return matmul + attention


def peak_flops_for_bits(chip: ChipLike, bits: npt.ArrayLike) -> FloatArray:
    """Dense peak FLOP/s (or OP/s) at which a chip computes with ``bits``-bit weights.

    ``chip`` is one row (a mapping or Series) or a chips DataFrame; ``bits`` broadcasts against it.
    16 bits use the bf16 peak; 8 bits the larger of the fp8 and int8 peaks, else the bf16 peak;
    4 bits the fp4 peak, else the 8-bit peak, else the bf16 peak (4-bit weights without 4-bit
    arithmetic are dequantized and multiplied at the higher precision). NaN when the peak is unknown.
    """
    _check_bits(bits)
    bits_arr = _floats(bits)
    bf16 = numeric_field(chip, "peak_bf16_tflops")
    eight = np.fmax(numeric_field(chip, "peak_fp8_tflops"), numeric_field(chip, "peak_int8_tops"))
    eight = np.where(np.isnan(eight), bf16, eight)
    fp4 = numeric_field(chip, "peak_fp4_tflops")
    four = np.where(np.isnan(fp4), eight, fp4)
    peak = np.where(bits_arr == 16, bf16, np.where(bits_arr == 8, eight, four))
    return _floats(peak) * FLOPS_PER_TERA


def _precision_names(precisions: Any) -> set[str]:
    if precisions is None:
        return set()
    if isinstance(precisions, str):
        items: Sequence[Any] = precisions.split(PRECISION_SEPARATOR)
    elif isinstance(precisions, (Sequence, np.ndarray, pd.Series)):
        items = list(precisions)
    else:
        return set()
    return {str(item).strip().lower() for item in items if str(item).strip()}


def supports_bits(precisions: str | Sequence[str] | None, bits: int) -> bool:
    """Whether a chip listing ``precisions`` (``"bf16;fp8"`` or a list) can run ``bits``-bit weights.

    16 bits need bf16 or fp16; 8 bits need fp8 or int8. 4 bits are native with int4 or fp4 and are
    otherwise accepted as weight-only quantization on any chip that computes at 8 or 16 bits.
    """
    _check_bits(bits)
    names = _precision_names(precisions)
    if bits == 4:
        accepted = NATIVE_PRECISIONS[4] + NATIVE_PRECISIONS[8] + NATIVE_PRECISIONS[16]
    else:
        accepted = NATIVE_PRECISIONS[int(bits)]
    return bool(names.intersection(accepted))


def chips_needed(bytes_needed: npt.ArrayLike, memory_gb: npt.ArrayLike) -> FloatArray:
    """Fewest chips of ``memory_gb`` each whose combined memory holds ``bytes_needed`` bytes.

    Returned as whole-number floats (NaN when either input is missing)."""
    per_chip = _floats(memory_gb) * BYTES_PER_GB
    with np.errstate(divide="ignore", invalid="ignore"):
        count = np.ceil(_floats(bytes_needed) / per_chip * (1.0 - FIT_RTOL))
    return np.maximum(count, 1.0)


def max_batch(
    n_chips: npt.ArrayLike,
    memory_gb: npt.ArrayLike,
    bits: npt.ArrayLike,
    model: ModelLike,
    context: npt.ArrayLike,
    *,
    kv_bits: npt.ArrayLike = DEFAULT_KV_BITS,
) -> FloatArray:
    """Largest batch whose weights plus KV caches of ``context`` tokens fit on ``n_chips`` chips.

    ``model`` is a mapping, Series or DataFrame with ``total_params_b``, ``layers``, ``kv_heads`` and
    ``head_dim`` (or ``d_model`` and ``attention_heads``). Zero when the weights plus one sequence
    do not fit; returned as whole-number floats.
    """
    params = model_arrays(model)
    capacity = _floats(n_chips) * _floats(memory_gb) * BYTES_PER_GB * (1.0 + FIT_RTOL)
    free = capacity - weight_bytes(params["total_params_b"], bits)
    per_sequence = _floats(context) * kv_bytes_per_token(
        params["layers"], params["kv_heads"], params["head_dim"], kv_bits=kv_bits
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        batch = np.floor(free / per_sequence)
    return np.maximum(batch, 0.0)


def model_arrays(model: ModelLike) -> dict[str, FloatArray]:
    total = numeric_field(model, "total_params_b")
    active = numeric_field(model, "active_params_b")
    architecture = model.get("architecture", None) if hasattr(model, "get") else None
    if architecture is None:
        dense = np.zeros(np.shape(active), dtype=bool)
    else:
        dense = np.asarray(pd.Series(architecture, dtype="object").astype(str).str.lower() == "dense")
        dense = dense.reshape(np.shape(active)) if dense.size == np.size(active) else dense
    active = np.where(np.isnan(active) & dense, total, active)
    heads = numeric_field(model, "attention_heads")
    head_dim = numeric_field(model, "head_dim")
    with np.errstate(divide="ignore", invalid="ignore"):
        head_dim = np.where(np.isnan(head_dim), numeric_field(model, "d_model") / heads, head_dim)
    return {
        "total_params_b": total,
        "active_params_b": _floats(active),
        "layers": numeric_field(model, "layers"),
        "kv_heads": numeric_field(model, "kv_heads"),
        "head_dim": _floats(head_dim),
        "attention_heads": heads,
        "context_length": numeric_field(model, "context_length"),
    }


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
) -> FloatArray:
    """Batch at which a decode step's memory time equals its compute time (a real number).

    Per sequence, a step costs ``k = context x kv_bytes / bandwidth`` of memory time and
    ``c = flops_per_token / peak`` of compute time, and the weights cost ``w(B) / bandwidth``. The
    times are equal where ``w(B) / (B x bandwidth) = c - k``. For a dense model this is
    ``B* = (weight_bytes / bandwidth) / (c - k)``; at short context and 16-bit weights it reduces to
    the scaling book's ``peak / bandwidth``. A mixture of experts is solved by bisection. Infinite
    when ``c <= k``: reading each sequence's KV cache takes longer than its FLOPs, so the step is
    memory-bound at every batch. Independent of the number of chips, which scales both sides.
    """
    bandwidth = _floats(memory_bw_tbps) * BYTES_PER_TB
    peak = _floats(peak_flops)
    total = _floats(total_params_b)
    fraction = np.clip(_floats(active_params_b) / total, 0.0, 1.0)
    weights_time = weight_bytes(total, bits) / bandwidth
    kv_time = _floats(context) * kv_bytes_per_token(layers, kv_heads, head_dim, kv_bits=kv_bits) / bandwidth
    compute_time = flops_per_token(active_params_b, layers, attention_heads, head_dim, context) / peak
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
    return _floats(result)


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
    return _floats(np.where(margin >= limit_at_zero, 0.0, answer))


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


def _decode_times(
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
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    chips = _floats(n_chips)
    batch_arr = _floats(batch)
    step_bytes = decode_bytes_per_step(
        total_params_b, active_params_b, bits, layers, kv_heads, head_dim, batch_arr, context, kv_bits=kv_bits
    )
    step_flops = batch_arr * flops_per_token(active_params_b, layers, attention_heads, head_dim, context)
    time_memory = step_bytes / (chips * _floats(memory_bw_tbps) * BYTES_PER_TB)
    time_compute = step_flops / (chips * _floats(peak_flops))
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
) -> DecodeBound:
    """Roofline of one decode step of ``batch`` sequences with ``context`` cached tokens each.

    ``memory_bw_tbps`` is per chip in TB/s, ``peak_flops`` per chip in FLOP/s (see
    ``peak_flops_for_bits``); ``n_chips`` chips shard the model perfectly. All inputs broadcast.
    It does not check that the batch fits in memory (see ``max_batch``). ``bound`` is ``"memory"``
    when memory time is at least compute time, ``"compute"`` when it is less, and empty where an
    input is missing.
    """
    step_bytes, step_flops, time_memory, time_compute = _decode_times(
        memory_bw_tbps=memory_bw_tbps,
        peak_flops=peak_flops,
        total_params_b=total_params_b,
        active_params_b=active_params_b,
        bits=bits,
        layers=layers,
        kv_heads=kv_heads,
        head_dim=head_dim,
        attention_heads=attention_heads,
        batch=batch,
        context=context,
        n_chips=n_chips,
        kv_bits=kv_bits,
    )
    shape = np.broadcast_shapes(np.shape(time_memory), np.shape(time_compute))
    step_time = np.maximum(time_memory, time_compute)
    system = _floats(batch) / step_time
    critical = critical_batch(
        memory_bw_tbps=memory_bw_tbps,
        peak_flops=peak_flops,
        total_params_b=total_params_b,
        active_params_b=active_params_b,
        bits=bits,
        layers=layers,
        kv_heads=kv_heads,
        head_dim=head_dim,
        attention_heads=attention_heads,
        context=context,
        kv_bits=kv_bits,
    )
    return DecodeBound(
        bytes_per_step=np.broadcast_to(step_bytes, shape),
        flops_per_step=np.broadcast_to(step_flops, shape),
        time_memory_s=np.broadcast_to(time_memory, shape),
        time_compute_s=np.broadcast_to(time_compute, shape),
        step_time_s=_floats(step_time),
        per_user_tokens_per_s=_floats(1.0 / step_time),
        system_tokens_per_s=np.broadcast_to(system, shape),
        tokens_per_s_per_chip=np.broadcast_to(system / _floats(n_chips), shape),
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
    counts prompt tokens processed.
    """
    tokens = _floats(batch) * _floats(prompt_tokens)
    average_context = (_floats(prompt_tokens) + 1.0) / 2.0
    moved = weight_bytes_read(total_params_b, active_params_b, bits, tokens) + tokens * kv_bytes_per_token(
        layers, kv_heads, head_dim, kv_bits=kv_bits
    )
    flops = tokens * flops_per_token(active_params_b, layers, attention_heads, head_dim, average_context)
    chips = _floats(n_chips)
    time_memory = moved / (chips * _floats(memory_bw_tbps) * BYTES_PER_TB)
    time_compute = flops / (chips * _floats(peak_flops))
    shape = np.broadcast_shapes(np.shape(time_memory), np.shape(time_compute))
    time = _floats(np.maximum(time_memory, time_compute))
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


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _positive_int(value: Any, name: str) -> int:
    if not _is_int(value) or int(value) < 1:
        raise ValueError(f"{name} must be a positive whole number; got {value!r}")
    return int(value)


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
    _check_bits(bits, "bits")
    _check_bits(kv_bits, "kv_bits")
    context = _positive_int(context, "context")
    if chips is not None:
        chips = _positive_int(chips, "chips")
    if isinstance(batch, str):
        if batch.strip().lower() != "max":
            raise ValueError(f"batch must be a positive whole number or 'max'; got {batch!r}")
        wanted: int | None = None
    else:
        wanted = _positive_int(batch, "batch")

    precisions = chip.get("precisions", None)
    if not supports_bits(precisions, bits):
        listed = ", ".join(sorted(_precision_names(precisions))) or "none"
        raise ValueError(f"{chip_name} does not support {bits}-bit weights (it lists: {listed})")
    bandwidth = _required(numeric_field(chip, "memory_bw_tbps"), f"memory bandwidth of {chip_name}")
    memory = _required(numeric_field(chip, "memory_gb"), f"memory capacity of {chip_name}")
    peak = _required(peak_flops_for_bits(chip, bits), f"{bits}-bit peak compute of {chip_name}")

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

    weights = float(weight_bytes(m["total_params_b"], bits))
    per_sequence = context * float(kv_bytes_per_token(m["layers"], m["kv_heads"], m["head_dim"], kv_bits=kv_bits))
    if wanted is None:
        n_chips = chips if chips is not None else int(chips_needed(weights + per_sequence, memory))
        size = int(max_batch(n_chips, memory, bits, params, context, kv_bits=kv_bits))
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
    largest = int(max_batch(n_chips, memory, bits, params, context, kv_bits=kv_bits))
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
    )
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


def _axis_values(values: Sequence[int], name: str, *, bits: bool = False) -> npt.NDArray[np.int64]:
    array = np.asarray(list(values))
    if array.size == 0:
        raise ValueError(f"{name} must list at least one value")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be whole numbers; got {list(values)!r}")
    if bits:
        _check_bits(array, name)
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
    _check_bits(kv_bits, "kv_bits")
    if max_chips is not None:
        max_chips = _positive_int(max_chips, "max_chips")

    n_c, n_m, n_p, n_b, n_x = len(chips), len(models), bits_axis.size, batch_axis.size, context_axis.size
    shape = (n_c, n_m, n_p, n_b, n_x)
    chip_ax = (n_c, 1, 1, 1, 1)
    model_ax = (1, n_m, 1, 1, 1)

    bandwidth = numeric_field(chips, "memory_bw_tbps").reshape(chip_ax)
    memory = numeric_field(chips, "memory_gb").reshape(chip_ax)
    peak = np.stack([peak_flops_for_bits(chips, int(b)) for b in bits_axis], axis=-1).reshape(n_c, 1, n_p, 1, 1)
    precision_column = chips["precisions"] if "precisions" in chips else pd.Series([None] * n_c)
    supported = np.array(
        [[supports_bits(p, int(b)) for b in bits_axis] for p in precision_column], dtype=bool
    ).reshape(n_c, 1, n_p, 1, 1)

    params = {key: value.reshape(model_ax) for key, value in model_arrays(models).items()}
    bits_b = bits_axis.astype(np.float64).reshape(1, 1, n_p, 1, 1)
    batch_b = batch_axis.astype(np.float64).reshape(1, 1, 1, n_b, 1)
    context_b = context_axis.astype(np.float64).reshape(1, 1, 1, 1, n_x)

    needed = weight_bytes(params["total_params_b"], bits_b) + batch_b * context_b * kv_bytes_per_token(
        params["layers"], params["kv_heads"], params["head_dim"], kv_bits=kv_bits
    )
    n_chips = chips_needed(needed, memory)
    model_ok = np.ones(model_ax, dtype=bool)
    for key in ("total_params_b", "active_params_b", "layers", "kv_heads", "head_dim", "attention_heads"):
        model_ok &= np.isfinite(params[key]) & (params[key] > 0)
    window = params["context_length"]
    model_ok = model_ok & ~(np.isfinite(window) & (context_b > window))
    chip_ok = supported & np.isfinite(bandwidth) & (bandwidth > 0) & np.isfinite(memory) & (memory > 0)
    chip_ok = chip_ok & np.isfinite(peak) & (peak > 0)
    fits = np.broadcast_to(chip_ok & model_ok, shape) & np.isfinite(n_chips)
    if max_chips is not None:
        fits = fits & (n_chips <= max_chips)

    model_kwargs: dict[str, Any] = {
        key: params[key]
        for key in ("total_params_b", "active_params_b", "layers", "kv_heads", "head_dim", "attention_heads")
    }
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        _, _, time_memory, time_compute = _decode_times(
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
    missing = ~fits
    flat = missing.ravel()

    def column(values: FloatArray) -> FloatArray:
        out = np.array(np.broadcast_to(values, shape), dtype=np.float64).ravel()
        out[flat] = np.nan
        return out

    index = np.indices(shape, sparse=True)
    bound_codes = np.where(np.broadcast_to(time_memory >= time_compute, shape), 0, 1).ravel()
    bound_codes[flat] = -1
    chip_count = np.broadcast_to(n_chips, shape).ravel()
    chip_known = np.isfinite(chip_count)
    slug_column = chips["slug"] if "slug" in chips else pd.Series(range(n_c))
    model_slug_column = models["slug"] if "slug" in models else pd.Series(range(n_m))
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
            "per_user_tokens_per_s": column(1.0 / step_time),
            "tokens_per_s_per_chip": column(system / n_chips),
            "system_tokens_per_s": column(system),
            "bound": pd.Categorical.from_codes(bound_codes, categories=list(BOUND_LABELS)),
            "critical_batch": column(critical),
        },
        copy=False,
    )
