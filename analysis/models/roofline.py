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
  products) plus attention over the cache: ``2 x 2 x attention_heads x head_dim`` per cached token
  and layer (the QK^T and AV products, two FLOPs per multiply-add each), a windowed layer attending
  to at most its window (``analysis.models.attention.attention_flops_per_token``).
* **The KV cache of a sequence** comes from the model's architecture
  (``analysis.models.attention.kv_cache_bytes``, at ``kv_bits`` per value): grouped-query and
  multi-head attention cache ``2 x kv_heads x head_dim`` values per layer and token, multi-head
  latent attention ``kv_lora_rank + rope_head_dim``, and a sliding-window or chunked layer holds at
  most ``window_tokens`` tokens however long the context. ``roofline_point``, ``roofline_grid`` and
  ``max_batch`` size it so. ``kv_bytes_per_token`` is the grouped-query formula without windows,
  ``2 x layers x kv_heads x head_dim x kv_bits / 8`` per token of context; the array functions that
  take bare layer and head counts (``decode_bytes_per_step``, ``flops_per_token``, and the
  ``roofline_bounds`` functions when no cache size is passed) use it, which is exact only for a
  model without windowed layers or latent attention.
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
scalars for scalar inputs).

This module holds the per-token arithmetic (bytes of weights and KV cache, FLOPs), the chips' peaks
and precisions and the memory fit (chips needed, largest batch); it re-exports the units, constants
and row readers of ``analysis.models.shapes`` (``numeric_field``, ``model_arrays``). The bounds built
from them live next to it:
``analysis.models.roofline_bounds`` (one decode step, one prefill pass, the critical batch),
``analysis.models.roofline_point`` (the scalar entry point used by the command line, which checks
one chip, model and configuration) and ``analysis.models.roofline_grid`` (a cross product of chips,
models, precisions, batches and contexts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from analysis.models import attention
from analysis.models.shapes import (
    ATTENTION_MATMULS,
    BITS_PER_BYTE,
    BYTES_PER_GB,
    BYTES_PER_TB,
    DEFAULT_KV_BITS,
    FLOPS_PER_MULTIPLY_ADD,
    FLOPS_PER_TERA,
    KV_TENSORS_PER_LAYER,
    PARAMS_PER_BILLION,
    ChipLike,
    FloatArray,
    ModelLike,
    as_floats,
    model_arrays,
    numeric_field,
)

SUPPORTED_BITS = (4, 8, 16)
PRECISION_SEPARATOR = ";"
NATIVE_PRECISIONS = {16: ("bf16", "fp16"), 8: ("fp8", "int8"), 4: ("int4", "fp4")}
FIT_RTOL = 1e-12
BOUND_MEMORY = "memory"
BOUND_COMPUTE = "compute"
BOUND_LABELS = (BOUND_MEMORY, BOUND_COMPUTE)

__all__ = [
    "BITS_PER_BYTE",
    "BYTES_PER_GB",
    "BYTES_PER_TB",
    "DEFAULT_KV_BITS",
    "FLOPS_PER_TERA",
    "PARAMS_PER_BILLION",
    "SUPPORTED_BITS",
    "as_floats",
    "check_bits",
    "chips_needed",
    "decode_bytes_per_step",
    "flops_per_token",
    "kv_bytes_per_token",
    "matmul_flops_per_token",
    "max_batch",
    "model_arrays",
    "numeric_field",
    "peak_flops_for_bits",
    "positive_int",
    "precision_names",
    "supports_bits",
    "weight_bytes",
    "weight_bytes_read",
]


def check_bits(bits: Any, name: str = "bits") -> None:
    """Raise ValueError naming ``name`` unless every value of ``bits`` is one of ``SUPPORTED_BITS``."""
    values = np.unique(np.asarray(bits))
    bad = [v for v in values.tolist() if v not in SUPPORTED_BITS]
    if bad:
        allowed = ", ".join(str(b) for b in SUPPORTED_BITS)
        raise ValueError(f"{name} must be one of {allowed}; got {bad[0]}")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int; ValueError naming ``name`` unless it is a whole number >= 1 (not a bool)."""
    if not _is_int(value) or int(value) < 1:
        raise ValueError(f"{name} must be a positive whole number; got {value!r}")
    return int(value)


def weight_bytes(total_params_b: npt.ArrayLike, bits: npt.ArrayLike) -> FloatArray:
    """Bytes needed to hold all the weights: total parameters times bits per weight / 8."""
    return as_floats(total_params_b) * PARAMS_PER_BILLION * as_floats(bits) / BITS_PER_BYTE


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
    total = as_floats(total_params_b)
    fraction = np.clip(as_floats(active_params_b) / total, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        touched = -np.expm1(as_floats(tokens) * np.log1p(-fraction))
    return weight_bytes(total, bits) * touched


def kv_bytes_per_token(
    layers: npt.ArrayLike,
    kv_heads: npt.ArrayLike,
    head_dim: npt.ArrayLike,
    *,
    kv_bits: npt.ArrayLike = DEFAULT_KV_BITS,
) -> FloatArray:
    """KV-cache bytes per token of one sequence by the grouped-query formula,
    ``2 x layers x kv_heads x head_dim x kv_bits / 8``.

    Exact for grouped-query and multi-head attention without windowed layers; it overstates the cache
    of a model with sliding-window or chunked layers or with latent attention. For a model row use
    ``analysis.models.attention.kv_cache_bytes``, which reads the architecture columns.
    """
    return (
        KV_TENSORS_PER_LAYER
        * as_floats(layers)
        * as_floats(kv_heads)
        * as_floats(head_dim)
        * as_floats(kv_bits)
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
    tokens) plus ``batch x context`` tokens of KV cache by the grouped-query formula
    (``kv_bytes_per_token``: no windowed layers, no latent attention)."""
    weights = weight_bytes_read(total_params_b, active_params_b, bits, batch)
    kv = as_floats(batch) * as_floats(context) * kv_bytes_per_token(
        layers, kv_heads, head_dim, kv_bits=kv_bits
    )
    return weights + kv


def matmul_flops_per_token(active_params_b: npt.ArrayLike) -> FloatArray:
    """FLOPs of the matrix products for one token: ``2 x active parameters`` (attention excluded)."""
    return FLOPS_PER_MULTIPLY_ADD * as_floats(active_params_b) * PARAMS_PER_BILLION


def flops_per_token(
    active_params_b: npt.ArrayLike,
    layers: npt.ArrayLike,
    attention_heads: npt.ArrayLike,
    head_dim: npt.ArrayLike,
    context: npt.ArrayLike,
) -> FloatArray:
    """FLOPs to produce one token attending to ``context`` cached tokens.

    ``2 x active parameters`` for the matrix products plus ``2 x 2 x layers x context x
    attention_heads x head_dim`` for attention (QK^T and AV, two FLOPs per multiply-add), every layer
    attending to the whole context; ``analysis.models.attention.attention_flops_per_token`` caps a
    windowed layer at its window.
    """
    matmul = matmul_flops_per_token(active_params_b)
    attention = (
        ATTENTION_MATMULS
        * FLOPS_PER_MULTIPLY_ADD
        * as_floats(layers)
        * as_floats(context)
        * as_floats(attention_heads)
        * as_floats(head_dim)
    )
    return matmul + attention


def peak_flops_for_bits(chip: ChipLike, bits: npt.ArrayLike) -> FloatArray:
    """Dense peak FLOP/s (or OP/s) at which a chip computes with ``bits``-bit weights.

    ``chip`` is one row (a mapping or Series) or a chips DataFrame; ``bits`` broadcasts against it.
    16 bits use the bf16 peak; 8 bits the larger of the fp8 and int8 peaks, else the bf16 peak;
    4 bits the fp4 peak, else the 8-bit peak, else the bf16 peak (4-bit weights without 4-bit
    arithmetic are dequantized and multiplied at the higher precision). NaN when the peak is unknown.
    """
    check_bits(bits)
    bits_arr = as_floats(bits)
    bf16 = numeric_field(chip, "peak_bf16_tflops")
    eight = np.fmax(numeric_field(chip, "peak_fp8_tflops"), numeric_field(chip, "peak_int8_tops"))
    eight = np.where(np.isnan(eight), bf16, eight)
    fp4 = numeric_field(chip, "peak_fp4_tflops")
    four = np.where(np.isnan(fp4), eight, fp4)
    peak = np.where(bits_arr == 16, bf16, np.where(bits_arr == 8, eight, four))
    return as_floats(peak) * FLOPS_PER_TERA


def precision_names(precisions: Any) -> set[str]:
    """The lower-cased names in a ``"bf16;fp8"`` string or a list of them (empty for anything else)."""
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
    check_bits(bits)
    names = precision_names(precisions)
    if bits == 4:
        accepted = NATIVE_PRECISIONS[4] + NATIVE_PRECISIONS[8] + NATIVE_PRECISIONS[16]
    else:
        accepted = NATIVE_PRECISIONS[int(bits)]
    return bool(names.intersection(accepted))


def chips_needed(bytes_needed: npt.ArrayLike, memory_gb: npt.ArrayLike) -> FloatArray:
    """Fewest chips of ``memory_gb`` each whose combined memory holds ``bytes_needed`` bytes.

    Returned as whole-number floats (NaN when either input is missing)."""
    per_chip = as_floats(memory_gb) * BYTES_PER_GB
    with np.errstate(divide="ignore", invalid="ignore"):
        count = np.ceil(as_floats(bytes_needed) / per_chip * (1.0 - FIT_RTOL))
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
    ``head_dim`` (or ``d_model`` and ``attention_heads``), and where they apply the attention
    columns ``attention_kind``, ``kv_lora_rank``, ``rope_head_dim``, ``windowed_layers`` and
    ``window_tokens``: each sequence's cache is ``analysis.models.attention.kv_cache_bytes``. Zero when
    the weights plus one sequence do not fit; returned as whole-number floats.
    """
    params = model_arrays(model)
    capacity = as_floats(n_chips) * as_floats(memory_gb) * BYTES_PER_GB * (1.0 + FIT_RTOL)
    free = capacity - weight_bytes(params["total_params_b"], bits)
    per_sequence = attention.kv_cache_bytes(model, context, kv_bits=kv_bits)
    with np.errstate(divide="ignore", invalid="ignore"):
        batch = np.floor(free / per_sequence)
    return np.maximum(batch, 0.0)
