"""The book's modelling assumptions: each a named constant with its unit, its reason and its sources.

A number the models use that is not a measurement of the row at hand lives here, once, with the
``source_id`` rows of ``data/sources.csv`` that support it (a test checks they exist). A chapter that
relies on one names it and prints its value from here, so a reader can see every assumption behind a
bound or a cost in one place, and a rerunner can change one and rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Assumption:
    """One modelling constant: its value, unit, why the book takes it, and the sources behind it."""

    name: str
    value: float
    unit: str
    reason: str
    source_ids: tuple[str, ...]


KV_BITS_MOST_COMPACT = Assumption(
    name="most compact KV cache",
    value=8,
    unit="bits per value",
    reason=(
        "A measurement's ceiling stores the attention cache at the smaller of its weight precision and "
        "8 bits: MLPerf's largest submitter quantises the KV cache to FP8 alongside FP8 weights, and a "
        "4-bit submission may keep it at 4. A more compact cache than a row really used only raises its "
        "ceiling, so the comparison stays on the safe side."
    ),
    source_ids=("mlperf-inference-v4.1-nvidia-calibration",),
)

UNKNOWN_PRECISION_BITS = Assumption(
    name="precision of a row that states none",
    value=4,
    unit="bits per weight",
    reason=(
        "A measurement that gives no weight precision is bounded at 4 bits, the lowest the book models: "
        "fewer bytes per weight only raise the ceiling."
    ),
    source_ids=("mlperf-inference-v6.0",),
)

WIDEST_MODELLED_BITS = Assumption(
    name="widest modelled precision",
    value=16,
    unit="bits per weight",
    reason=(
        "The roofline models 4, 8 and 16-bit weights; a row at 32 bits is bounded as if at 16, which "
        "halves its bytes and raises its ceiling."
    ),
    source_ids=("mlperf-inference-v6.0",),
)

ALL: tuple[Assumption, ...] = (KV_BITS_MOST_COMPACT, UNKNOWN_PRECISION_BITS, WIDEST_MODELLED_BITS)
