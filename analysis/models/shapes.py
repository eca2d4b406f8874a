"""The units of the roofline arithmetic, and the figures of a chip or model row read as float arrays.

The lowest module of the roofline family: ``analysis.models.attention`` (the attention cache of a
model, from its architecture) and ``analysis.models.roofline`` (the bytes, FLOPs, peaks and memory
fit) both read rows through it, so the roofline can size the cache from the architecture without the
two importing each other. ``roofline`` re-exports every name here; its module docstring states the
units (parameters in billions, memory in GB, bandwidth in TB/s, peaks in TFLOP/s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
ChipLike = Mapping[str, Any] | pd.Series | pd.DataFrame
ModelLike = Mapping[str, Any] | pd.Series | pd.DataFrame

BITS_PER_BYTE = 8
BYTES_PER_GB = 1e9
BYTES_PER_TB = 1e12
PARAMS_PER_BILLION = 1e9
FLOPS_PER_TERA = 1e12
FLOPS_PER_MULTIPLY_ADD = 2
KV_TENSORS_PER_LAYER = 2
ATTENTION_MATMULS = 2
DEFAULT_KV_BITS = 16

__all__ = [
    "ATTENTION_MATMULS",
    "BITS_PER_BYTE",
    "BYTES_PER_GB",
    "BYTES_PER_TB",
    "DEFAULT_KV_BITS",
    "FLOPS_PER_MULTIPLY_ADD",
    "FLOPS_PER_TERA",
    "KV_TENSORS_PER_LAYER",
    "PARAMS_PER_BILLION",
    "ChipLike",
    "FloatArray",
    "ModelLike",
    "as_floats",
    "head_arrays",
    "model_arrays",
    "numeric_field",
]


def as_floats(value: Any) -> FloatArray:
    """``value`` as a float64 array (a 0-d array for a scalar)."""
    return np.asarray(value, dtype=np.float64)


def numeric_field(record: ChipLike | ModelLike, name: str) -> FloatArray:
    """Column ``name`` of a row or frame as floats (NaN where missing or not a number)."""
    value = record.get(name, None) if hasattr(record, "get") else None
    if value is None:
        return as_floats(np.nan)
    if isinstance(value, pd.Series):
        return pd.to_numeric(value, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        return as_floats(value)
    except (TypeError, ValueError):
        return as_floats(np.nan)


def head_arrays(model: ModelLike) -> dict[str, FloatArray]:
    """A model row's (or frame's) layers and attention heads as float arrays: ``layers``, ``kv_heads``,
    ``attention_heads`` and ``head_dim``, a missing head dimension being ``d_model / attention_heads``."""
    heads = numeric_field(model, "attention_heads")
    head_dim = numeric_field(model, "head_dim")
    with np.errstate(divide="ignore", invalid="ignore"):
        head_dim = np.where(np.isnan(head_dim), numeric_field(model, "d_model") / heads, head_dim)
    return {
        "layers": numeric_field(model, "layers"),
        "kv_heads": numeric_field(model, "kv_heads"),
        "head_dim": as_floats(head_dim),
        "attention_heads": heads,
    }


def _dense(architecture: Any, shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """Where the ``architecture`` column says ``dense`` (any case)."""
    if architecture is None:
        return np.zeros(shape, dtype=bool)
    if np.ndim(architecture) == 0 and not isinstance(architecture, pd.Series):
        return np.asarray(str(architecture).lower() == "dense")
    dense = np.asarray(pd.Series(architecture, dtype="object").astype(str).str.lower() == "dense")
    return dense.reshape(shape) if dense.size == int(np.prod(shape)) else dense


def model_arrays(model: ModelLike) -> dict[str, FloatArray]:
    """A model row's (or frame's) parameters, layers and heads as float arrays.

    A dense model without active parameters uses its total; a missing head dimension is
    ``d_model / attention_heads``. Keys: ``total_params_b``, ``active_params_b``, ``layers``,
    ``kv_heads``, ``head_dim``, ``attention_heads``, ``context_length``.
    """
    total = numeric_field(model, "total_params_b")
    active = numeric_field(model, "active_params_b")
    architecture = model.get("architecture", None) if hasattr(model, "get") else None
    active = np.where(np.isnan(active) & _dense(architecture, np.shape(active)), total, active)
    heads = head_arrays(model)
    return {
        "total_params_b": total,
        "active_params_b": as_floats(active),
        "layers": heads["layers"],
        "kv_heads": heads["kv_heads"],
        "head_dim": heads["head_dim"],
        "attention_heads": heads["attention_heads"],
        "context_length": numeric_field(model, "context_length"),
    }
