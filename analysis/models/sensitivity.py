"""What moves the cost of a token: the inputs of the sensitivity charts of chapter 4.

* ``owned_base`` and ``owned_spans``: the base case and the range of every input of an owned chip's
  cost (``costs.owned_cost_fn``), for ``cost_sensitivity.tornado``. Ranges are the lowest and highest value the
  store records (purchase prices, and the ``energy`` inputs of ``assumptions.spans``), or stated
  ones where it records none: utilization over ``assumptions.UTILIZATION_SPAN``, the throughput from
  the measured rate up to its ceiling, the power from ``POWER_SHARE_LOW`` of the chip's rating to all
  of it.
* ``swing_ends``: the two ends of each input's swing, as rows a chart draws.
* ``utilization_sweep``: the cost per million tokens of one rented chip at its lowest, median and
  highest rental price as the share of busy hours varies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from analysis.models import assumptions, costs

BASE_INPUTS = ("capex_usd", "amortization_years", "power_w", "pue", "electricity_usd_per_kwh",
               "hosting_usd_per_hour", "cost_of_capital", "tokens_per_s", "utilization")
RECORDED_INPUTS = ("amortization_years", "pue", "electricity_usd_per_kwh", "cost_of_capital")
POWER_SHARE_LOW = 0.5
UTILIZATIONS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)
RENTAL_LEVELS = ("lowest", "median", "highest")


def owned_base(row: Mapping[str, Any] | pd.Series) -> dict[str, float]:
    """The base case of an owned chip's cost: the ``BASE_INPUTS`` of one cost-scenario row, as floats."""
    return {name: float(row[name]) for name in BASE_INPUTS}


def owned_spans(row: Mapping[str, Any] | pd.Series, purchases: pd.Series,
                recorded: Mapping[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """The (low, high) range of every input of an owned chip's cost around the scenario ``row``:
    the chip's purchase prices (``purchases``, USD per chip), the ``recorded`` ranges of the energy
    inputs (``assumptions.spans``; colocation turned into USD per hour at the row's power), the
    measured throughput up to its ceiling, ``assumptions.UTILIZATION_SPAN`` and the power from
    ``POWER_SHARE_LOW`` of the row's to all of it."""
    if purchases.dropna().empty:
        raise ValueError("no purchase price: the range of the capital cost is unknown")
    power_w = float(row["power_w"])
    return {
        "capex_usd": (float(purchases.min()), float(purchases.max())),
        **{name: recorded[name] for name in RECORDED_INPUTS},
        "hosting_usd_per_hour": tuple(float(costs.hosting_per_hour(power_w, v))
                                      for v in recorded["hosting_usd_per_kw_month"]),
        "tokens_per_s": (float(row["tokens_per_s"]), float(row["ceiling_tokens_per_s"])),
        "utilization": assumptions.UTILIZATION_SPAN,
        "power_w": (POWER_SHARE_LOW * power_w, power_w),
    }


def swing_ends(swing: pd.DataFrame) -> pd.DataFrame:
    """The two ends of each input's swing (a ``cost_sensitivity.tornado`` frame): one row per input and end, with
    ``end`` "input at its low" or "input at its high" and the cost there as ``usd_per_mtok``."""
    ends = swing.melt(id_vars=["input", "swing"], value_vars=["output_low", "output_high"], var_name="end",
                      value_name="usd_per_mtok")
    return ends.assign(end=ends["end"].str.replace("output_", "input at its "))


def utilization_sweep(rented: pd.DataFrame, chip_slug: str,
                      utilizations: Sequence[float] = UTILIZATIONS) -> pd.DataFrame:
    """The cost per million tokens of ``chip_slug`` rented at its lowest, median and highest price in
    ``rented`` (``market.rental_costs``), at its best throughput, for each of ``utilizations``: one
    row per utilization and level (``rental``, ``usd`` per hour, ``utilization``, ``usd_per_mtok``),
    with the sources of all the chip's rental rows."""
    chip = rented[rented["chip_slug"] == chip_slug]
    if chip.empty:
        raise ValueError(f"no rental cost of {chip_slug!r}")
    levels = pd.DataFrame({"rental": list(RENTAL_LEVELS),
                           "usd": [chip["usd"].min(), chip["usd"].median(), chip["usd"].max()]})
    levels["per_accelerator_tokens_per_s"] = float(chip["per_accelerator_tokens_per_s"].iloc[0])
    levels["source_ids"] = [sorted({s for row in chip["source_ids"] for s in row})] * len(levels)
    sweep = pd.DataFrame({"utilization": list(utilizations)}).merge(levels, how="cross")
    sweep["usd_per_mtok"] = costs.usd_per_million_tokens(
        sweep["usd"].to_numpy(), sweep["per_accelerator_tokens_per_s"].to_numpy(),
        sweep["utilization"].to_numpy())
    return sweep[["rental", "usd", "utilization", "usd_per_mtok", "source_ids"]]
