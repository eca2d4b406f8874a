"""Tests of the price-decline fit, the price frontier and the published rates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.models import trends


def synthetic(factor: float = 10.0, n: int = 40, noise_log10: float = 0.15, seed: int = 1):
    """Monthly prices 100 x factor^(-t), with multiplicative log-normal noise."""
    dates = pd.date_range("2021-01-01", periods=n, freq="30D")
    years = np.asarray((dates - dates[0]).days, dtype=float) / 365.25
    noise = np.random.default_rng(seed).normal(0.0, noise_log10, n)
    return dates, 100.0 * factor ** (-years) * 10.0**noise


def test_exact_decline_is_recovered() -> None:
    dates, prices = synthetic(noise_log10=0.0)
    fit = trends.fit_decline(dates, prices)
    assert fit.slope_log10_per_year == pytest.approx(-1.0)
    assert fit.factor_per_year == pytest.approx(10.0)
    assert fit.intercept == pytest.approx(2.0)
    assert fit.halving_time_years == pytest.approx(math.log10(2))
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.ci_low == pytest.approx(10.0) and fit.ci_high == pytest.approx(10.0)


def test_noisy_decline_is_recovered_within_its_interval() -> None:
    dates, prices = synthetic()
    fit = trends.fit_decline(dates, prices, n_boot=2000, seed=0, ci=0.9)
    assert fit.ci_low < 10.0 < fit.ci_high
    assert fit.ci_low < fit.factor_per_year < fit.ci_high
    assert 7.0 < fit.factor_per_year < 14.0
    assert fit.ci_high / fit.ci_low < 2.0
    assert fit.n_points == 40 and fit.n_boot == 2000


def test_interval_covers_the_truth_most_of_the_time() -> None:
    covered = 0
    for seed in range(20):
        dates, prices = synthetic(n=25, noise_log10=0.3, seed=100 + seed)
        fit = trends.fit_decline(dates, prices, n_boot=500, seed=seed, ci=0.9)
        covered += fit.ci_low < 10.0 < fit.ci_high
    assert covered >= 15


def test_bootstrap_is_seeded() -> None:
    dates, prices = synthetic()
    first = trends.fit_decline(dates, prices, seed=3)
    again = trends.fit_decline(dates, prices, seed=3)
    other = trends.fit_decline(dates, prices, seed=4)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.factor_per_year == other.factor_per_year


def test_wider_ci_gives_a_wider_interval() -> None:
    dates, prices = synthetic()
    narrow = trends.fit_decline(dates, prices, ci=0.5)
    wide = trends.fit_decline(dates, prices, ci=0.95)
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


def test_rising_prices_have_no_halving_time() -> None:
    fit = trends.fit_decline(["2023-01-01", "2024-01-01", "2025-01-01"], [1.0, 2.0, 4.0])
    assert fit.factor_per_year < 1.0
    assert fit.halving_time_years is None
    assert fit.to_dict()["halving_time_years"] is None


def test_predict_is_monotone_and_matches_the_line() -> None:
    dates, prices = synthetic()
    fit = trends.fit_decline(dates, prices)
    grid = pd.date_range("2020-06-01", "2025-06-01", freq="MS")
    predicted = fit.predict(grid)
    assert predicted.shape == (len(grid),)
    assert np.all(np.diff(predicted) < 0)
    assert fit.predict(fit.start) == pytest.approx(10**fit.intercept)
    one_year_on = fit.start + pd.Timedelta(days=365.25)
    assert fit.predict(one_year_on) == pytest.approx(10**fit.intercept / fit.factor_per_year)


def test_predict_accepts_strings_timestamps_and_datetime64() -> None:
    dates, prices = synthetic(noise_log10=0.0)
    fit = trends.fit_decline(dates, prices)
    from_string = fit.predict("2022-01-01")
    assert isinstance(from_string, float)
    assert fit.predict(pd.Timestamp("2022-01-01")) == pytest.approx(from_string)
    assert fit.predict(np.datetime64("2022-01-01")) == pytest.approx(from_string)
    expected = 100.0 * 10.0 ** (-(pd.Timestamp("2022-01-01") - pd.Timestamp("2021-01-01")).days / 365.25)
    assert from_string == pytest.approx(expected)


def test_fit_accepts_iso_strings() -> None:
    dates, prices = synthetic(noise_log10=0.0)
    as_strings = [d.strftime("%Y-%m-%d") for d in dates]
    fit = trends.fit_decline(as_strings, list(prices))
    assert fit.factor_per_year == pytest.approx(10.0)
    assert fit.start == pd.Timestamp("2021-01-01")
    assert fit.end == dates[-1]


def test_predict_interval_brackets_the_line() -> None:
    dates, prices = synthetic()
    fit = trends.fit_decline(dates, prices)
    grid = pd.date_range("2021-01-01", "2024-01-01", freq="QS")
    low, high = fit.predict_interval(grid)
    line = fit.predict(grid)
    assert low.shape == high.shape == (len(grid),)
    assert np.all(low < line) and np.all(line < high)
    wide_low, wide_high = fit.predict_interval(grid, ci=0.99)
    assert np.all(wide_low <= low) and np.all(high <= wide_high)
    centre = fit.predict_interval("2022-08-01")
    far = fit.predict_interval("2027-01-01")
    assert isinstance(centre[0], float)
    assert far[1] / far[0] > centre[1] / centre[0]


def test_to_dict_is_plain() -> None:
    dates, prices = synthetic()
    out = trends.fit_decline(dates, prices, n_boot=100).to_dict()
    assert "boot_slopes" not in out
    assert out["start"].startswith("2021-01-01")
    assert out["n_points"] == 40
    assert set(out) >= {"slope_log10_per_year", "factor_per_year", "ci_low", "ci_high", "intercept", "end"}


def test_fewer_than_three_points_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least 3 points; got 2"):
        trends.fit_decline(["2023-01-01", "2024-01-01"], [2.0, 1.0])


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_non_positive_prices_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="^prices must be positive numbers; 1 of 3 are not$"):
        trends.fit_decline(["2023-01-01", "2024-01-01", "2025-01-01"], [2.0, bad, 1.0])


def test_other_invalid_fits_are_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        trends.fit_decline(["2023-01-01", "2024-01-01", "2025-01-01"], [2.0, 1.0])
    with pytest.raises(ValueError, match="all be the same"):
        trends.fit_decline(["2023-01-01"] * 3, [3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="^dates must be dates"):
        trends.fit_decline(["2023-01-01", "not a date", "2025-01-01"], [3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="^ci must be"):
        trends.fit_decline(["2023-01-01", "2024-01-01", "2025-01-01"], [3.0, 2.0, 1.0], ci=1.0)


def test_cheapest_by_date_keeps_new_lows_in_date_order() -> None:
    df = pd.DataFrame(
        {
            "model": ["b", "a", "c", "d", "e", "f", "g"],
            "released": [
                "2023-01-01",
                "2022-01-01",
                "2023-06-01",
                "2023-06-01",
                "2024-01-01",
                None,
                "2022-06-01",
            ],
            "usd": [5.0, 10.0, 7.0, 3.0, 3.0, 0.5, 12.0],
        }
    )
    frontier = trends.cheapest_by_date(df, date_col="released", price_col="usd")
    assert frontier["model"].tolist() == ["a", "b", "d"]
    assert frontier["running_min"].tolist() == [10.0, 5.0, 3.0]
    every = trends.cheapest_by_date(df, date_col="released", price_col="usd", records_only=False)
    assert every["model"].tolist() == ["a", "g", "b", "d", "c", "e"]
    assert every["running_min"].tolist() == [10.0, 10.0, 5.0, 3.0, 3.0, 3.0]
    assert every["is_record"].tolist() == [True, False, True, True, False, False]
    assert every.index.tolist() == [1, 6, 0, 3, 2, 4]


def test_cheapest_by_date_feeds_a_fit() -> None:
    dates, prices = synthetic(noise_log10=0.0)
    df = pd.DataFrame({"date": dates, "price": prices})
    shuffled = df.sample(frac=1.0, random_state=0)
    frontier = trends.cheapest_by_date(shuffled, date_col="date", price_col="price")
    assert len(frontier) == len(df)
    fit = trends.fit_decline(frontier["date"], frontier["price"])
    assert fit.factor_per_year == pytest.approx(10.0)


def test_cheapest_by_date_rejects_missing_column() -> None:
    with pytest.raises(ValueError, match="no column 'price'"):
        trends.cheapest_by_date(pd.DataFrame({"date": []}), date_col="date", price_col="price")


def test_annual_factor_and_halving_time() -> None:
    assert trends.annual_factor(1000.0, 3.0) == pytest.approx(10.0)
    assert trends.halving_time_years(10.0) == pytest.approx(math.log10(2))
    assert trends.halving_time_years(2.0) == pytest.approx(1.0)
    assert math.isinf(trends.halving_time_years(0.5))
    with pytest.raises(ValueError):
        trends.annual_factor(-1.0, 1.0)




def test_fitted_band_spans_the_fit_with_the_line_inside_its_band() -> None:
    dates, prices = synthetic()
    fit = trends.fit_decline(dates, prices, n_boot=500, seed=0, ci=0.9)
    band = trends.fitted_band(fit, periods=12)
    assert list(band.columns) == ["date", "fitted", "low", "high"] and len(band) == 12
    assert band["date"].iloc[0] == fit.start and band["date"].iloc[-1] == fit.end
    assert band["fitted"].iloc[0] == pytest.approx(fit.predict(fit.start))
    assert (band["low"] <= band["fitted"]).all() and (band["fitted"] <= band["high"]).all()
    assert band["fitted"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="at least 2"):
        trends.fitted_band(fit, periods=1)
