"""What energy a token costs: rated power over measured throughput, at the meter.

For each measured result, the chip's rated power (``tdp_w``) times the data centre's overhead (PUE)
over its throughput per accelerator gives the energy per token (``costs.kwh_per_million_tokens``);
at the lowest and highest electricity price the store records, that energy has a price per million
tokens. Rated power overstates what a chip draws on average, so every number is an upper estimate
for the chip alone (host CPUs and networking are not counted).
"""

from __future__ import annotations

import pandas as pd

from analysis.models import costs

ELECTRICITY = "electricity_usd_per_kwh"
COLUMNS = ("benchmark_id", "result", "chip_slug", "round", "kind", "precision_bits",
           "per_accelerator_tokens_per_s", "tdp_w", "joules_per_token", "kwh_per_million_tokens",
           "usd_per_mtok_low", "usd_per_mtok_high", "source_ids")


def price_range(energy: pd.DataFrame, parameter: str = ELECTRICITY) -> tuple[float, float]:
    """The lowest and highest value the ``energy`` table records for ``parameter``."""
    values = energy.loc[energy["parameter"] == parameter, "value"]
    if values.empty:
        raise ValueError(f"energy records no {parameter}")
    return float(values.min()), float(values.max())


def energy_per_token(results: pd.DataFrame, benchmarks: pd.DataFrame, chips: pd.DataFrame, *, pue: float,
                     electricity: tuple[float, float]) -> pd.DataFrame:
    """The energy of each result in ``results`` (rows naming a ``benchmark_id`` of ``benchmarks``) whose
    chip has a rated power: joules per token, kWh per million tokens at ``pue``, and that energy's
    price per million tokens at the low and high ``electricity`` price (USD per kWh), in ``COLUMNS``;
    ``result`` labels a row by its chip and round."""
    measured = (benchmarks[benchmarks["benchmark_id"].isin(results["benchmark_id"])]
                .merge(chips[["slug", "tdp_w"]], left_on="chip_slug", right_on="slug"))
    measured["result"] = measured["chip_slug"] + " " + measured["round"]
    measured = measured[measured["tdp_w"].notna()].copy()
    kwh = costs.kwh_per_million_tokens(measured["tdp_w"].to_numpy(), pue,
                                       measured["per_accelerator_tokens_per_s"].to_numpy())
    measured["kwh_per_million_tokens"] = kwh
    measured["joules_per_token"] = (measured["kwh_per_million_tokens"] * costs.JOULES_PER_KWH
                                    / costs.TOKENS_PER_MILLION)
    low, high = electricity
    measured["usd_per_mtok_low"] = measured["kwh_per_million_tokens"] * low
    measured["usd_per_mtok_high"] = measured["kwh_per_million_tokens"] * high
    return measured[list(COLUMNS)]
