"""The attention cache of a model, from its architecture.

A decoding sequence keeps, for every layer and every token it has seen, what attention needs to look
back at. How much that is depends on the kind of attention (the ``attention_kind`` column of
``models``):

* ``mha`` and ``gqa`` (multi-head and grouped-query attention): a key and a value vector of
  ``head_dim`` values for each of ``kv_heads`` heads, so ``2 x kv_heads x head_dim`` values per layer
  and token. Multi-head attention is the case ``kv_heads = attention_heads``.
* ``mla`` (multi-head latent attention, DeepSeek-V2/V3/R1): one compressed latent of
  ``kv_lora_rank`` values plus a shared rotary key of ``rope_head_dim`` values per layer and token,
  whatever the number of heads (DeepSeek-R1: 512 + 64 = 576 values, against 2 x 128 x 128 = 32,768
  for the same heads uncompressed).
* **Windowed layers**: ``windowed_layers`` of the ``layers`` attend only to the last ``window_tokens``
  tokens (sliding-window or chunked attention: Mistral 7B, Gemma 2, gpt-oss, Llama 4), so they hold at
  most that many tokens however long the context grows.

A model without ``attention_kind`` is read as grouped-query (the formula the columns describe). The
cache is stored at ``kv_bits`` bits per value, a parameter: serving systems keep it at 16 or 8 bits
(and some at 4) independently of the weights.

Attention's arithmetic follows the same shape: for each token produced, every query head multiplies
against the cached tokens of its layer, ``2 x 2 x attention_heads x head_dim`` FLOPs per cached token
and layer (QK^T and AV, two FLOPs per multiply-add), over at most ``window_tokens`` in a windowed
layer. For latent attention this counts the uncompressed heads, the smaller of the two ways of
computing it (the absorbed form multiplies against the 576-value latent in every head), so the count
is a lower limit on the work and the speed derived from it an upper limit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from analysis.models import shapes

FloatArray = npt.NDArray[np.float64]
ModelLike = shapes.ModelLike

KIND_MULTI_HEAD = "mha"
KIND_GROUPED_QUERY = "gqa"
KIND_LATENT = "mla"
KINDS = (KIND_MULTI_HEAD, KIND_GROUPED_QUERY, KIND_LATENT)

__all__ = [
    "KINDS",
    "KIND_GROUPED_QUERY",
    "KIND_LATENT",
    "KIND_MULTI_HEAD",
    "attention_flops_per_token",
    "cached_token_layers",
    "kinds",
    "kv_cache_bytes",
    "kv_values_per_token_layer",
]


def kinds(model: ModelLike) -> npt.NDArray[np.str_]:
    """The attention kind of a model row (or of each row of a frame), lower-cased: ``mha``, ``gqa`` or
    ``mla``, grouped-query where the column is missing or empty. ValueError for any other kind."""
    value = model.get("attention_kind", None) if hasattr(model, "get") else None
    shape = np.shape(shapes.numeric_field(model, "layers"))
    if value is None:
        return np.full(shape, KIND_GROUPED_QUERY)
    if np.ndim(value) == 0 and not isinstance(value, pd.Series):
        return np.full(shape, _one_kind(value))
    names = pd.Series(np.ravel(np.asarray(value, dtype=object))).fillna("").astype(str).str.strip().str.lower()
    names = names.where(names.ne(""), KIND_GROUPED_QUERY)
    unknown = sorted(set(names) - set(KINDS))
    if unknown:
        raise ValueError(f"attention_kind must be one of {', '.join(KINDS)}; got {unknown[0]!r}")
    return names.to_numpy(dtype=str).reshape(shape)


def _one_kind(value: object) -> str:
    """One ``attention_kind`` cell, lower-cased (grouped-query when empty); ValueError if unknown."""
    name = "" if pd.isna(value) else str(value).strip().lower()
    name = name or KIND_GROUPED_QUERY
    if name not in KINDS:
        raise ValueError(f"attention_kind must be one of {', '.join(KINDS)}; got {name!r}")
    return name


def _zero_if_missing(values: FloatArray) -> FloatArray:
    return np.where(np.isnan(values), 0.0, values)


def kv_values_per_token_layer(model: ModelLike) -> FloatArray:
    """Values cached per token in one layer: ``2 x kv_heads x head_dim``, or for latent attention
    ``kv_lora_rank + rope_head_dim``. NaN where the architecture is not published."""
    arrays = shapes.head_arrays(model)
    grouped = shapes.KV_TENSORS_PER_LAYER * arrays["kv_heads"] * arrays["head_dim"]
    latent = shapes.numeric_field(model, "kv_lora_rank") + _zero_if_missing(shapes.numeric_field(model, "rope_head_dim"))
    return np.where(kinds(model) == KIND_LATENT, latent, grouped)


def cached_token_layers(model: ModelLike, context: npt.ArrayLike) -> FloatArray:
    """Tokens held summed over layers for one sequence of ``context`` tokens: full layers hold all of
    them, windowed layers at most ``window_tokens``."""
    arrays = shapes.head_arrays(model)
    layers = arrays["layers"]
    windowed = _zero_if_missing(shapes.numeric_field(model, "windowed_layers"))
    window = shapes.numeric_field(model, "window_tokens")
    tokens = np.asarray(context, dtype=np.float64)
    held_in_window = np.where(np.isnan(window), tokens, np.minimum(tokens, window))
    windowed = np.where(np.isnan(window), 0.0, windowed)
    return (layers - windowed) * tokens + windowed * held_in_window


def kv_cache_bytes(model: ModelLike, context: npt.ArrayLike, *,
                   kv_bits: npt.ArrayLike = shapes.DEFAULT_KV_BITS) -> FloatArray:
    """Bytes of attention cache one sequence holds after ``context`` tokens, at ``kv_bits`` per value."""
    values = kv_values_per_token_layer(model) * cached_token_layers(model, context)
    return values * np.asarray(kv_bits, dtype=np.float64) / shapes.BITS_PER_BYTE


def attention_flops_per_token(model: ModelLike, context: npt.ArrayLike) -> FloatArray:
    """Attention FLOPs to produce one token with ``context`` tokens cached (windowed layers over at
    most their window): ``2 x 2 x attention_heads x head_dim`` per cached token and layer."""
    arrays = shapes.head_arrays(model)
    per_token_layer = (shapes.ATTENTION_MATMULS * shapes.FLOPS_PER_MULTIPLY_ADD
                       * arrays["attention_heads"] * arrays["head_dim"])
    return per_token_layer * cached_token_layers(model, context)

