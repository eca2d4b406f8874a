"""The inputs of chapter 4's sensitivity charts (``analysis.models.sensitivity``), on a synthetic scenario."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.models import assumptions, costs, sensitivity
from analysis.models.cost_sensitivity import tornado

ROW = pd.Series({"capex_usd": 25000, "amortization_years": 5, "power_w": 700, "pue": 1.5,
                 "electricity_usd_per_kwh": 0.1, "hosting_usd_per_hour": 0.2, "cost_of_capital": 0.1,
                 "tokens_per_s": 1000, "ceiling_tokens_per_s": 4000, "utilization": 0.5, "bits": 8})
RECORDED = {"amortization_years": (4.0, 6.0), "pue": (1.1, 1.8), "electricity_usd_per_kwh": (0.05, 0.3),
            "cost_of_capital": (0.05, 0.15), "hosting_usd_per_kw_month": (100.0, 200.0)}


def test_owned_base_takes_every_input_of_the_owned_cost_as_a_float() -> None:
    base = sensitivity.owned_base(ROW)
    assert list(base) == list(sensitivity.BASE_INPUTS)
    assert all(type(v) is float for v in base.values()) and base["tokens_per_s"] == 1000.0
    assert float(costs.owned_cost_fn(base)) > 0


def test_owned_spans_take_recorded_ranges_and_stated_ones() -> None:
    spans = sensitivity.owned_spans(ROW, pd.Series([20000.0, 40000.0, 30000.0]), RECORDED)
    assert set(spans) == set(sensitivity.BASE_INPUTS)
    assert spans["capex_usd"] == (20000.0, 40000.0)
    assert spans["pue"] == (1.1, 1.8)
    assert spans["hosting_usd_per_hour"] == pytest.approx((0.7 * 100 / 730, 0.7 * 200 / 730))
    assert spans["tokens_per_s"] == (1000.0, 4000.0)
    assert spans["utilization"] == assumptions.UTILIZATION_SPAN
    assert spans["power_w"] == (350.0, 700.0)
    with pytest.raises(ValueError, match="no purchase price"):
        sensitivity.owned_spans(ROW, pd.Series([], dtype=float), RECORDED)


def test_swing_ends_give_two_rows_per_input_at_its_low_and_high_cost() -> None:
    swing = tornado(sensitivity.owned_base(ROW),
                          sensitivity.owned_spans(ROW, pd.Series([20000.0, 40000.0]), RECORDED))
    ends = sensitivity.swing_ends(swing)
    assert len(ends) == 2 * len(swing)
    assert set(ends["end"]) == {"input at its low", "input at its high"}
    low = ends[(ends["input"] == "utilization") & (ends["end"] == "input at its low")]["usd_per_mtok"]
    assert float(low.iloc[0]) == pytest.approx(float(swing.set_index("input").loc["utilization", "output_low"]))


def test_utilization_sweep_prices_the_lowest_median_and_highest_rental() -> None:
    rented = pd.DataFrame({"chip_slug": ["h", "h", "h", "o"], "usd": [1.0, 2.0, 6.0, 9.0],
                           "per_accelerator_tokens_per_s": [1000.0] * 3 + [5.0],
                           "source_ids": [["s1"], ["s2", "s1"], ["s3"], ["s9"]]})
    sweep = sensitivity.utilization_sweep(rented, "h", utilizations=(0.5, 1.0))
    assert list(sweep.columns) == ["rental", "usd", "utilization", "usd_per_mtok", "source_ids"]
    assert len(sweep) == 6 and sweep["source_ids"].iloc[0] == ["s1", "s2", "s3"]
    one = sweep[(sweep["rental"] == "median") & (sweep["utilization"] == 1.0)]["usd_per_mtok"]
    assert float(one.iloc[0]) == pytest.approx(2.0 / 3600 / 1000 * 1e6)
    half = sweep[(sweep["rental"] == "highest") & (sweep["utilization"] == 0.5)]["usd_per_mtok"]
    assert float(half.iloc[0]) == pytest.approx(2 * 6.0 / 3600 / 1000 * 1e6)
    with pytest.raises(ValueError, match="no rental cost"):
        sensitivity.utilization_sweep(rented, "none")
