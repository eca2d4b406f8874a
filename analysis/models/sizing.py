"""What a model asks of the chips that serve it: memory for its weights, and the batch trade-off.

* ``weights_by_precision``: the gigabytes that hold each model's weights at each modelled precision
  (``roofline.SUPPORTED_BITS``), weights only, no KV cache.
* ``chips_for_weights``: for one model, how many chips of each kind hold its weights at each
  precision the chip runs (``roofline.supports_bits``).
* ``batch_frontier``: per-user speed against per-chip throughput on a server of a fixed number of
  chips, from one sequence up to the largest batch whose caches fit (``roofline_point.roofline_point``).

Every number is a roofline quantity and shares its assumptions (100% efficiency, perfect sharding).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.models import roofline
from analysis.models.roofline_point import roofline_point


def weights_gb(total_params_b: Any, bits: int) -> float:
    """Gigabytes (10^9 bytes) that hold ``total_params_b`` billion weights at ``bits`` bits each."""
    return float(roofline.weight_bytes(total_params_b, bits)) / roofline.BYTES_PER_GB


def weights_by_precision(models: pd.DataFrame) -> pd.DataFrame:
    """One row per model with a parameter count and per modelled precision: ``model`` (its name),
    ``architecture``, ``bits``, ``weights_gb`` and the model's ``source_ids``."""
    rows = []
    for _, m in models[models["total_params_b"].notna()].iterrows():
        for bits in roofline.SUPPORTED_BITS:
            rows.append({"model": m["name"], "architecture": m["architecture"], "bits": bits,
                         "weights_gb": weights_gb(m["total_params_b"], bits), "source_ids": m["source_ids"]})
    return pd.DataFrame(rows)


def chips_for_weights(model: pd.Series, chips: pd.DataFrame) -> pd.DataFrame:
    """For each chip (a row of ``chips``) and each precision it runs: ``chip`` (slug), ``memory`` (its
    kind), ``bits``, ``weights_gb`` of ``model``, the chip's ``memory_gb``, ``chips_for_weights`` (the
    fewest chips whose memory holds the weights) and the chip's ``source_ids``."""
    rows = []
    for _, chip in chips.iterrows():
        for bits in roofline.SUPPORTED_BITS:
            gb = weights_gb(model["total_params_b"], bits)
            rows.append({
                "chip": chip["slug"], "memory": chip["memory_kind"], "bits": bits,
                "weights_gb": gb, "memory_gb": chip["memory_gb"],
                "chips_for_weights": int(roofline.chips_needed(gb * roofline.BYTES_PER_GB,
                                                               chip["memory_gb"])),
                "supported": roofline.supports_bits(chip["precisions"], bits),
                "source_ids": chip["source_ids"],
            })
    needed = pd.DataFrame(rows)
    return needed[needed["supported"]].drop(columns="supported")


def batch_sizes(largest: int) -> list[int]:
    """The batches a frontier is traced at: the powers of two below ``largest`` (up to 2^11), then
    ``largest`` itself."""
    return sorted({*(2 ** k for k in range(12) if 2 ** k < largest), largest})


def batch_frontier(chips: pd.DataFrame, model: pd.Series, *, bits: int, context: int,
                   server_chips: int) -> pd.DataFrame:
    """For each chip (a row of ``chips``) on a server of ``server_chips`` chips, the roofline at each
    of ``batch_sizes`` up to the largest batch that fits: ``chip``, ``batch``, ``chips``,
    ``per_user_tokens_per_s``, ``tokens_per_s_per_chip`` and the binding ``bound``."""
    points = []
    for _, chip in chips.iterrows():
        largest = roofline_point(chip, model, bits=bits, batch="max", context=context,
                                 chips=server_chips).batch
        for batch in batch_sizes(largest):
            r = roofline_point(chip, model, bits=bits, batch=batch, context=context,
                               chips=server_chips)
            points.append({"chip": chip["slug"], "batch": batch, "chips": r.chips,
                           "per_user_tokens_per_s": r.per_user_tokens_per_s,
                           "tokens_per_s_per_chip": r.tokens_per_s_per_chip, "bound": r.bound})
    return pd.DataFrame(points)
