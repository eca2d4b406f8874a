"""The desk machine's cost per token (analysis.models.devices) and the consumer-device cost rule."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from analysis.models import devices, market
from analysis.rules import market_claims
from tests.conftest import ROOT


def committed() -> dict[str, pd.DataFrame]:
    """The tables ``desk_cost`` reads, from the committed CSV files."""
    names = set(devices.TABLES) | {"prices", "companies", "claims"}
    tables = {name: pd.read_csv(ROOT / "data" / f"{name}.csv") for name in names}
    tables["prices"]["date_observed"] = pd.to_datetime(tables["prices"]["date_observed"])
    return tables


def test_the_desk_cost_is_the_price_over_the_tokens_of_a_life_at_the_ceiling() -> None:
    tables = committed()
    got = devices.desk_cost(tables)
    chip = tables["chips"].set_index("slug").loc[devices.DESK_CHIP]
    model = tables["models"].set_index("slug").loc[devices.DESK_MODEL]
    # one token reads every weight once: bandwidth over the bytes of the weights at 4 bits
    tokens_per_s = chip["memory_bw_tbps"] * 1e12 / (model["total_params_b"] * 1e9 * devices.DESK_BITS / 8)
    price = tables["hardware_costs"].query("chip_slug == @devices.DESK_CHIP and kind == 'purchase'")["usd"].min()
    years = tables["energy"].query("parameter == 'amortization_years'")["value"].max()
    assert got.tokens_per_s == pytest.approx(tokens_per_s, rel=1e-9)
    assert got.device_usd_per_mtok == pytest.approx(price / (years * 8760 * 3600 * tokens_per_s) * 1e6, rel=1e-9)
    kwh_per_mtok = chip["tdp_w"] / tokens_per_s * 1e6 / 3.6e6
    tariffs = tables["energy"].query("parameter == 'electricity_usd_per_kwh'")["value"]
    assert got.energy_usd_per_mtok_low == pytest.approx(kwh_per_mtok * tariffs.min(), rel=1e-9)
    assert got.energy_usd_per_mtok_high == pytest.approx(kwh_per_mtok * tariffs.max(), rel=1e-9)
    assert "sixcolors-mac-studio-2025" in got.source_ids and "apple-mac-studio-power" in got.source_ids


def test_a_machine_without_a_price_or_a_power_cannot_be_costed() -> None:
    tables = committed()
    unpriced = {**tables, "hardware_costs": tables["hardware_costs"].query("chip_slug != @devices.DESK_CHIP")}
    with pytest.raises(ValueError, match="no purchase price of m3-ultra"):
        devices.desk_cost(unpriced)
    chips = tables["chips"].assign(tdp_w=tables["chips"]["tdp_w"].where(tables["chips"]["slug"].ne(devices.DESK_CHIP)))
    with pytest.raises(ValueError, match="no rated power"):
        devices.desk_cost({**tables, "chips": chips})


CLAIM = pd.Series({"claim_id": "zero", "value_low": 0.0, "value_high": 0.0})


def _device(device_usd: float, energy_high: float) -> devices.DeskCost:
    return devices.DeskCost(chip="m", chip_name="Machine (big)", model="x", bits=4, price_usd=1000.0, years=5.0,
                            power_w=100.0, tokens_per_s=20.0, device_usd_per_mtok=device_usd,
                            energy_usd_per_mtok_low=energy_high / 2, energy_usd_per_mtok_high=energy_high, source_ids="s")


def test_about_zero_is_judged_against_a_tenth_of_the_cheapest_list_price() -> None:
    cheapest = 1.0
    assert market_claims.judge_device(CLAIM, _device(0.5, 0.01), cheapest, 2026).verdict == "misleading"
    assert market_claims.judge_device(CLAIM, _device(0.05, 0.05), cheapest, 2026).verdict == "supported"
    assert market_claims.judge_device(CLAIM, _device(0.05, 0.5), cheapest, 2026).verdict == "unverifiable"
    assert market_claims.judge_device(CLAIM, None, cheapest, 2026).verdict == "unverifiable"
    assert market_claims.judge_device(CLAIM, _device(0.05, 0.05), None, 2026).verdict == "unverifiable"
    unclaimed = CLAIM.copy()
    unclaimed["value_low"] = unclaimed["value_high"] = None
    assert market_claims.judge_device(unclaimed, _device(0.5, 0.01), cheapest, 2026).reason == "no value claimed"


def test_the_articles_consumer_cell_counts_the_machine() -> None:
    tables = committed()
    observed = market.class_prices(tables["prices"], tables["models"], tables["companies"],
                                   capability_class="70b-class", as_of="2026-12-01")
    device = devices.desk_cost(tables)
    out = market_claims.check_cost_claims(tables["claims"], observed, device=device).set_index("claim_id")
    cell = out.loc["c33-cost-consumer-2026"]
    assert cell["verdict"] == "misleading" and f"{device.device_usd_per_mtok:.2f} USD per 1M" in cell["reason"]
    assert out.loc["c32-cost-consumer-2024", "verdict"] == "unverifiable"
    # a machine a hundred times cheaper would make its share of a token about zero
    cheap = dataclasses.replace(device, device_usd_per_mtok=device.device_usd_per_mtok / 100)
    again = market_claims.check_cost_claims(tables["claims"], observed, device=cheap).set_index("claim_id")
    assert again.loc["c33-cost-consumer-2026", "verdict"] != "misleading"
