"""The book's modelling assumptions: each a named constant with its unit, its reason and its sources.

A number the models use that is not a measurement of the row at hand lives here, once, with the
``source_id`` rows of ``data/sources.csv`` that support it (a test checks they exist). A chapter that
relies on one names it and prints its value from here, so a reader can see every assumption behind a
bound or a cost in one place, and a rerunner can change one and rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


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


@dataclass(frozen=True)
class StoreValue:
    """A base-case input taken from one sourced row of the store's ``energy`` table."""

    input: str
    parameter_id: str
    reason: str


COST_BASE_CASE: tuple[StoreValue, ...] = (
    StoreValue("cost_of_capital", "capital-coreweave-ddtl2-2025",
               "the effective rate of the largest GPU-backed loan of the largest GPU cloud to publish its debt"),
    StoreValue("hosting_usd_per_kw_month", "hosting-cbre-2024",
               "the latest average asking rate for wholesale colocation in North America's primary markets"),
    StoreValue("pue", "pue-uptime-2023", "the industry average of the latest Uptime Institute survey"),
    StoreValue("electricity_usd_per_kwh", "elec-industrial-illinois-2024",
               "an industrial tariff in a state with many data centres, between the recorded lowest and highest"),
    StoreValue("amortization_years", "life-amazon-2025", "the shortest useful life a hyperscaler now books for servers"),
)
"""The owned-cost base case: each input's value is the named ``energy`` row; the sensitivity chart
moves each between the lowest and highest value the table records for it."""

SCENARIO_UTILIZATION = 0.5
"""Share of hours a chip is busy in the cost scenarios: a scenario choice, not a measurement (no
public source reports the utilization of inference fleets); the sensitivity chart varies it from
``UTILIZATION_SPAN[0]`` to ``UTILIZATION_SPAN[1]``."""
UTILIZATION_SPAN = (0.2, 0.9)


def base_case(energy: pd.DataFrame) -> dict[str, float]:
    """The owned-cost base case from the ``energy`` table (``COST_BASE_CASE``)."""
    values = energy.set_index("parameter_id")["value"]
    missing = [v.parameter_id for v in COST_BASE_CASE if v.parameter_id not in values.index]
    if missing:
        raise KeyError(f"energy has no row {', '.join(missing)} for the cost base case")
    return {v.input: float(values[v.parameter_id]) for v in COST_BASE_CASE}


def spans(energy: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Lowest and highest recorded value of each base-case input."""
    grouped = energy.groupby("parameter")["value"]
    return {v.input: (float(grouped.min()[v.input]), float(grouped.max()[v.input])) for v in COST_BASE_CASE}
