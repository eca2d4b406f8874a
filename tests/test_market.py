"""Prices, funding and cost spreads of ``analysis.models.market`` added for the chapters, on synthetic rows."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.models import market


def test_funding_rounds_keep_the_named_companies_rounds_with_an_amount() -> None:
    funding = pd.DataFrame({"company_slug": ["a", "a", "b", "c"], "date": pd.to_datetime(["2020-01-01"] * 4),
                            "amount_usd_m": [100.0, None, 50.0, 70.0]})
    companies = pd.DataFrame({"company_slug": ["a", "b", "c"], "name": ["A Inc", "B Ltd", "C plc"]})
    rounds = market.funding_rounds(funding, companies, ["a", "b"])
    assert sorted(zip(rounds["name"], rounds["amount_usd_m"])) == [("A Inc", 100.0), ("B Ltd", 50.0)]


def test_raised_after_sums_only_later_rounds_in_billions() -> None:
    rounds = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2025-04-15", "2025-06-01", "2026-01-01"]),
                           "amount_usd_m": [900.0, 100.0, 640.0, 1100.0]})
    raised, n = market.raised_after(rounds, "2025-04-15")
    assert raised == pytest.approx(1.74) and n == 2


def test_claimed_boxes_span_their_year_and_drop_ranges_without_values() -> None:
    claims = pd.DataFrame({"claim_id": ["x", "y", "z"], "year": [2024.0, 2026.0, 2024.0],
                           "value_low": [15.0, None, 0.0], "value_high": [25.0, 5.0, 0.0]})
    boxes = market.claimed_boxes(claims)
    assert list(boxes["claim_id"]) == ["x"]
    assert boxes["start"].iloc[0] == pd.Timestamp("2024-01-01") and boxes["end"].iloc[0] == pd.Timestamp("2024-12-31")


def test_measured_costs_spread_leaves_out_ceiling_rows() -> None:
    scenarios = pd.DataFrame({
        "chip": ["h", "h", "m", "x"], "basis": ["owned", "rented", "owned", "owned"],
        "throughput_basis": ["measured: a", "measured: a", "measured: b", "ceiling: none"],
        "usd_per_million_tokens": [0.2, 0.5, 0.3, 0.01],
        "tokens_per_s": [100.0, 100.0, 50.0, 400.0], "ceiling_tokens_per_s": [400.0, 400.0, 500.0, 400.0]})
    got = market.measured_costs(scenarios)
    assert got == market.MeasuredCosts(chips=2, owned_low=0.2, owned_high=0.3, rented_low=0.5, rented_high=0.5,
                                       share_low_pct=10.0, share_high_pct=25.0)
    with pytest.raises(ValueError, match="no cost scenario"):
        market.measured_costs(scenarios[scenarios["chip"] == "x"])


def energy_rows() -> pd.DataFrame:
    return pd.DataFrame({
        "parameter_id": ["pue-a", "pue-b", "pue-late", "el-a", "el-b", "life-a", "life-b"],
        "parameter": ["pue", "pue", "pue", "electricity_usd_per_kwh", "electricity_usd_per_kwh",
                      "amortization_years", "amortization_years"],
        "date": pd.to_datetime(["2023-01-01", "2024-01-01", "2030-01-01", "2024-01-01", "2024-06-01",
                                "2025-01-01", "2025-01-01"]),
        "value": [1.6, 1.5, 1.1, 0.08, 0.12, 4.0, 6.0]})


def test_cost_defaults_are_medians_and_the_latest_pue_up_to_the_date() -> None:
    hardware = pd.DataFrame({"chip_slug": ["h", "h", "h", "h", "o"],
                             "kind": ["rental-on-demand", "rental-on-demand", "purchase", "rental-reserved",
                                      "purchase"],
                             "usd": [2.0, 4.0, 25000.0, 1.0, 9.0]})
    values, rows = market.cost_defaults(hardware, energy_rows(), chip="h", as_of="2026-11-29")
    assert values == pytest.approx({"hourly_usd": 3.0, "capex_usd": 25000.0, "amortization_years": 5.0,
                                    "electricity_usd_per_kwh": 0.10, "pue": 1.5})
    assert [list(r["parameter_id"]) for r in rows] == [["pue-b"], ["el-a", "el-b"], ["life-a", "life-b"]]
    with pytest.raises(ValueError, match="lacks"):
        market.cost_defaults(hardware, energy_rows(), chip="h", as_of="2023-06-01")


def test_latest_prices_keep_each_providers_last_price_and_label_its_segment() -> None:
    prices = pd.DataFrame({"provider": ["groq", "groq", "cloud-a", "cloud-b"],
                           "date_observed": pd.to_datetime(["2025-01-01", "2025-06-01", "2025-03-01", "2024-01-01"]),
                           "output_usd_per_mtok": [0.79, 0.99, 0.6, 0.9]})
    latest = market.latest_prices(prices, {"groq": "Groq (LPU)"}, other="others")
    got = {r.provider: (r.output_usd_per_mtok, r.segment) for r in latest.itertuples()}
    assert got == {"groq": (0.99, "Groq (LPU)"), "cloud-a": (0.6, "others"), "cloud-b": (0.9, "others")}
