"""Energy per token from rated power and measured throughput (``analysis.models.energy``)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.models import energy


def test_price_range_is_the_lowest_and_highest_recorded_value() -> None:
    table = pd.DataFrame({"parameter": ["electricity_usd_per_kwh", "pue", "electricity_usd_per_kwh"],
                          "value": [0.3, 1.5, 0.05]})
    assert energy.price_range(table) == (0.05, 0.3)
    assert energy.price_range(table, "pue") == (1.5, 1.5)
    with pytest.raises(ValueError, match="records no"):
        energy.price_range(table, "amortization_years")


def test_energy_per_token_is_power_times_pue_over_throughput() -> None:
    benchmarks = pd.DataFrame({
        "benchmark_id": ["a", "b", "c", "d"], "chip_slug": ["gpu", "gpu", "nopower", "gpu"],
        "round": ["v5.1", "v6.0", "v5.1", "v6.0"], "kind": ["mlperf-offline"] * 4, "precision_bits": [8] * 4,
        "per_accelerator_tokens_per_s": [1000.0, 2000.0, 500.0, 9999.0], "source_ids": [["s"]] * 4})
    chips = pd.DataFrame({"slug": ["gpu", "nopower"], "tdp_w": [700.0, None]})
    best = pd.DataFrame({"benchmark_id": ["a", "b", "c"]})
    got = energy.energy_per_token(best, benchmarks, chips, pue=1.5, electricity=(0.1, 0.2))
    assert list(got.columns) == list(energy.COLUMNS)
    assert list(got["result"]) == ["gpu v5.1", "gpu v6.0"]  # no rated power, no row; d is not a best result
    assert list(got["joules_per_token"]) == pytest.approx([1.05, 0.525])
    assert list(got["kwh_per_million_tokens"]) == pytest.approx([1.05e6 / 3.6e6, 0.525e6 / 3.6e6])
    assert list(got["usd_per_mtok_high"]) == pytest.approx(list(2 * got["usd_per_mtok_low"]))
