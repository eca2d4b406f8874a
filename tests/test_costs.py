"""Tests of the cost-per-token model against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.models import costs
from analysis.models.cost_sensitivity import TORNADO_COLUMNS, cost_sweep, tornado

OWNED = {
    "capex_usd": 30_000.0,
    "amortization_years": 5.0,
    "power_w": 700.0,
    "pue": 1.2,
    "electricity_usd_per_kwh": 0.08,
}
OWNED_HOURLY = 30_000 / 43_800 + 0.7 * 1.2 * 0.08


def test_rental_price_per_million_tokens_by_hand() -> None:
    assert costs.usd_per_million_tokens(2.0, 1000.0, 1.0) == pytest.approx(2 / 3.6)
    assert costs.usd_per_million_tokens(2.0, 1000.0, 0.5) == pytest.approx(2 * 2 / 3.6)


def test_owned_hourly_cost_by_hand() -> None:
    assert OWNED_HOURLY == pytest.approx(0.68493 + 0.0672, abs=1e-5)
    assert costs.hourly_cost_owned(**OWNED) == pytest.approx(OWNED_HOURLY)
    with_hosting = costs.hourly_cost_owned(**OWNED, hosting_usd_per_hour=0.25)
    assert with_hosting == pytest.approx(OWNED_HOURLY + 0.25)


def test_owned_price_per_million_tokens_by_hand() -> None:
    value = costs.owned_usd_per_million_tokens(**OWNED, tokens_per_s=500.0, utilization=0.4)
    assert value == pytest.approx(OWNED_HOURLY / (500 * 3600 * 0.4) * 1e6)


def test_functions_broadcast() -> None:
    hourly = np.array([[1.0], [2.0]])
    tokens = np.array([1000.0, 2000.0, 4000.0])
    out = costs.usd_per_million_tokens(hourly, tokens, 1.0)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, hourly / (tokens * 3600) * 1e6)
    capex = np.array([10_000.0, 30_000.0])
    np.testing.assert_allclose(
        costs.hourly_cost_owned(capex, 5, 700, 1.2, 0.08), capex / 43_800 + 0.7 * 1.2 * 0.08
    )


@pytest.mark.parametrize("utilization", [0.0, 1.5, -0.1, float("nan")])
def test_utilization_out_of_range_is_rejected(utilization: float) -> None:
    with pytest.raises(ValueError, match=r"^utilization must be in \(0, 1\]; got"):
        costs.usd_per_million_tokens(2.0, 1000.0, utilization)


def test_utilization_of_one_is_accepted() -> None:
    assert math.isfinite(costs.usd_per_million_tokens(2.0, 1000.0, 1.0))


def test_negative_prices_are_rejected() -> None:
    with pytest.raises(ValueError, match="^hourly_usd must be"):
        costs.usd_per_million_tokens(-1.0, 1000.0, 1.0)
    with pytest.raises(ValueError, match="^electricity_usd_per_kwh must be"):
        costs.hourly_cost_owned(30_000, 5, 700, 1.2, -0.08)
    with pytest.raises(ValueError, match="^capex_usd must be"):
        costs.hourly_cost_owned(-30_000, 5, 700, 1.2, 0.08)
    with pytest.raises(ValueError, match="^hosting_usd_per_hour must be"):
        costs.hourly_cost_owned(30_000, 5, 700, 1.2, 0.08, hosting_usd_per_hour=-1)


def test_other_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="^tokens_per_s must be"):
        costs.usd_per_million_tokens(2.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="^amortization_years must be"):
        costs.hourly_cost_owned(30_000, 0, 700, 1.2, 0.08)
    with pytest.raises(ValueError, match="^pue must be"):
        costs.hourly_cost_owned(30_000, 5, 700, 0.9, 0.08)


def test_array_errors_count_the_bad_values() -> None:
    with pytest.raises(ValueError, match=r"^utilization must be in \(0, 1\]; 2 of 4 values are not$"):
        costs.usd_per_million_tokens(2.0, 1000.0, np.array([0.5, 0.0, 1.0, 1.2]))
    with pytest.raises(ValueError, match="^hourly_usd must be a finite number >= 0; 1 of 3 values are not$"):
        costs.usd_per_million_tokens([1.0, -2.0, 3.0], 1000.0, 1.0)


def test_cost_point_rental() -> None:
    result = costs.cost_point(tokens_per_s=1000, utilization=1, hourly_usd=2.0)
    assert result.usd_per_million_tokens == pytest.approx(2 / 3.6)
    assert result.hourly_usd == 2.0
    assert not result.owned
    assert result.capex_usd is None and result.hosting_usd_per_hour is None
    out = result.to_dict()
    assert out["owned"] is False and out["capex_usd"] is None
    assert out["usd_per_million_tokens"] == pytest.approx(2 / 3.6)


def test_cost_point_owned() -> None:
    result = costs.cost_point(tokens_per_s=1000, utilization=0.5, **OWNED)
    assert result.owned
    assert result.hourly_usd == pytest.approx(OWNED_HOURLY)
    assert result.usd_per_million_tokens == pytest.approx(OWNED_HOURLY / (1000 * 3600 * 0.5) * 1e6)
    assert result.to_dict()["pue"] == 1.2
    assert result.hosting_usd_per_hour == 0.0


def test_cost_point_result_is_frozen() -> None:
    result = costs.cost_point(tokens_per_s=1000, utilization=1, hourly_usd=2.0)
    with pytest.raises(AttributeError):
        result.hourly_usd = 3.0  # type: ignore[misc]


def test_cost_point_needs_exactly_one_complete_mode() -> None:
    with pytest.raises(ValueError, match="missing: power_w, pue, electricity_usd_per_kwh"):
        costs.cost_point(tokens_per_s=1000, utilization=1, capex_usd=30_000, amortization_years=5)
    with pytest.raises(ValueError, match="missing: capex_usd"):
        costs.cost_point(tokens_per_s=1000, utilization=1)
    with pytest.raises(ValueError, match="not both"):
        costs.cost_point(tokens_per_s=1000, utilization=1, hourly_usd=2.0, capex_usd=30_000)
    with pytest.raises(ValueError, match="single number"):
        costs.cost_point(tokens_per_s=[1000, 2000], utilization=1, hourly_usd=2.0)
    with pytest.raises(ValueError, match="^utilization"):
        costs.cost_point(tokens_per_s=1000, utilization=0, hourly_usd=2.0)


RANGES = {
    "capex_usd": (20_000.0, 40_000.0),
    "amortization_years": (3.0, 6.0),
    "power_w": (500.0, 1000.0),
    "pue": (1.1, 1.5),
    "electricity_usd_per_kwh": (0.05, 0.2),
    "tokens_per_s": (100.0, 10_000.0),
    "utilization": (0.2, 1.0),
}


def test_cost_sweep_owned_shape_and_values() -> None:
    frame = cost_sweep(1_000_000, rng=np.random.default_rng(0), ranges=RANGES)
    assert frame.shape == (1_000_000, len(costs.OWNED_INPUTS) + 2)
    assert list(frame.columns) == [*costs.OWNED_INPUTS, "hourly_usd", "usd_per_million_tokens"]
    for name, (low, high) in RANGES.items():
        assert frame[name].between(low, high).all()
    assert (frame["hosting_usd_per_hour"] == 0).all()
    sample = frame.iloc[:100]
    np.testing.assert_allclose(
        sample["usd_per_million_tokens"],
        costs.owned_cost_fn(sample[list(costs.OWNED_INPUTS)].to_dict("series")),
    )


def test_cost_sweep_is_reproducible_and_supports_fixed_and_log_ranges() -> None:
    kwargs = {
        "ranges": {"hourly_usd": (1.0, 4.0), "tokens_per_s": (10.0, 10_000.0)},
        "fixed": {"utilization": 0.5},
        "log_uniform": ["tokens_per_s"],
    }
    first = cost_sweep(20_000, rng=7, **kwargs)
    second = cost_sweep(20_000, rng=7, **kwargs)
    pd.testing.assert_frame_equal(first, second)
    assert list(first.columns) == [*costs.RENTAL_INPUTS, "usd_per_million_tokens"]
    assert (first["utilization"] == 0.5).all()
    log_tokens = np.log10(first["tokens_per_s"])
    assert log_tokens.between(1, 4).all()
    assert abs(float(np.median(log_tokens)) - 2.5) < 0.05
    np.testing.assert_allclose(
        first["usd_per_million_tokens"], first["hourly_usd"] / (first["tokens_per_s"] * 3600 * 0.5) * 1e6
    )


def test_cost_sweep_rejects_incomplete_or_mixed_inputs() -> None:
    partial = {k: v for k, v in RANGES.items() if k != "pue"}
    with pytest.raises(ValueError, match="needs inputs: pue"):
        cost_sweep(10, rng=0, ranges=partial)
    with pytest.raises(ValueError, match="unknown inputs: capex_usd"):
        cost_sweep(
            10,
            rng=0,
            ranges={"hourly_usd": (1, 2), "capex_usd": (1, 2)},
            fixed={"tokens_per_s": 100, "utilization": 1},
        )
    with pytest.raises(ValueError, match="low <= high"):
        cost_sweep(10, rng=0, ranges={**RANGES, "pue": (1.5, 1.1)})
    with pytest.raises(ValueError, match="^n must be"):
        cost_sweep(0, rng=0, ranges=RANGES)


BASE = {
    "capex_usd": 30_000.0,
    "amortization_years": 5.0,
    "power_w": 700.0,
    "pue": 1.2,
    "electricity_usd_per_kwh": 0.08,
    "hosting_usd_per_hour": 0.0,
    "tokens_per_s": 1000.0,
    "utilization": 0.5,
}


def test_tornado_puts_the_dominant_input_first() -> None:
    spans = {
        "pue": (1.1, 1.3),
        "tokens_per_s": (100.0, 10_000.0),
        "electricity_usd_per_kwh": (0.07, 0.09),
    }
    frame = tornado(BASE, spans)
    assert list(frame.columns) == list(TORNADO_COLUMNS)
    assert list(frame["input"]) == ["tokens_per_s", "electricity_usd_per_kwh", "pue"]
    assert frame["swing"].is_monotonic_decreasing
    top = frame.iloc[0]
    hourly = costs.hourly_cost_owned(30_000, 5, 700, 1.2, 0.08)
    assert top["output_low"] == pytest.approx(hourly / (100 * 3600 * 0.5) * 1e6)
    assert top["output_high"] == pytest.approx(hourly / (10_000 * 3600 * 0.5) * 1e6)
    assert top["swing"] == pytest.approx(abs(top["output_high"] - top["output_low"]))
    assert frame.attrs["base_output"] == pytest.approx(hourly / (1000 * 3600 * 0.5) * 1e6)


def test_tornado_holds_other_inputs_at_base() -> None:
    frame = tornado(BASE, {"pue": (1.0, 2.0), "capex_usd": (30_000.0, 30_000.0)})
    pue_row = frame.set_index("input").loc["pue"]
    assert pue_row["output_low"] == pytest.approx(
        costs.owned_usd_per_million_tokens(30_000, 5, 700, 1.0, 0.08, 1000, 0.5)
    )
    capex_row = frame.set_index("input").loc["capex_usd"]
    assert capex_row["swing"] == 0.0
    assert list(frame["input"]) == ["pue", "capex_usd"]


def test_tornado_with_a_custom_function() -> None:
    frame = tornado(
        {"a": 1.0, "b": 1.0}, {"a": (0.0, 2.0), "b": (0.0, 2.0)}, fn=lambda d: d["a"] + 10 * d["b"]
    )
    assert list(frame["input"]) == ["b", "a"]
    assert frame["swing"].tolist() == [20.0, 2.0]


def test_tornado_rejects_bad_spans() -> None:
    with pytest.raises(ValueError, match="missing from base: gpu_count"):
        tornado(BASE, {"gpu_count": (1, 8)})
    with pytest.raises(ValueError, match="at least one"):
        tornado(BASE, {})
    with pytest.raises(ValueError, match=r"^utilization must be in \(0, 1\]"):
        tornado(BASE, {"utilization": (0.5, 1.5)})


def test_kwh_per_million_tokens_by_hand() -> None:
    assert costs.kwh_per_million_tokens(700, 1.5, 3000) == pytest.approx(700 * 1.5 / 3000 * 1e6 / 3.6e6)
    with pytest.raises(ValueError, match="pue"):
        costs.kwh_per_million_tokens(700, 0.9, 3000)


def test_capital_is_repaid_as_an_annuity() -> None:
    assert float(costs.capital_recovery_factor(0.0, 5)) == pytest.approx(0.2)
    rate, years = 0.11, 5
    factor = float(costs.capital_recovery_factor(rate, years))
    present_value = sum(factor / (1 + rate) ** t for t in range(1, years + 1))
    assert present_value == pytest.approx(1.0, rel=1e-12), "the yearly payments repay the price with interest"
    straight = costs.hourly_cost_owned(30_000, 5, 0, 1.2, 0.1)
    financed = costs.hourly_cost_owned(30_000, 5, 0, 1.2, 0.1, cost_of_capital=rate)
    assert financed / straight == pytest.approx(factor / 0.2)
    with pytest.raises(ValueError, match="cost_of_capital"):
        costs.capital_recovery_factor(-0.01, 5)


def test_colocation_is_charged_per_kw_of_it_load() -> None:
    assert float(costs.hosting_per_hour(700, 184.06)) == pytest.approx(0.7 * 184.06 * 12 / 8760)
    with pytest.raises(ValueError, match="usd_per_kw_month"):
        costs.hosting_per_hour(700, -1)


def test_renting_refuses_a_cost_of_capital() -> None:
    with pytest.raises(ValueError, match="cost_of_capital"):
        costs.cost_point(tokens_per_s=1000, utilization=0.5, hourly_usd=2.0, cost_of_capital=0.1)
