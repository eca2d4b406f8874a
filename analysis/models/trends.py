"""How fast prices fall: a log-linear trend with a bootstrap interval, and published rates.

The model is exponential decline: ``log10(price) = intercept + slope x t``, with ``t`` the time
in years since the first date, fitted by ordinary least squares. From the slope follow

    factor_per_year    = 10 ** -slope            (prices divide by this each year; > 1 means falling)
    halving_time_years = log10(2) / -slope       (only when prices fall)

Assumptions:

* **One constant rate.** The decline is exponential over the whole period; changes of pace
  (the fastest drops often come last) are averaged away.
* **Scatter is multiplicative.** Errors are symmetric in log price, so the fitted line
  ``10 ** (intercept + slope x t)`` estimates the *median* price at a date, not the mean.
* **Years are 365.25 days**, counted from the earliest date to the nanosecond.
* **The interval is a pairs bootstrap.** Rows (date, price) are resampled with replacement
  ``n_boot`` times with ``numpy.random.default_rng(seed)``, the line is refitted on each resample
  and the central ``ci`` share of the refitted factors gives ``ci_low`` and ``ci_high``
  (percentile method). Resamples whose dates are all equal have no slope and are dropped. The
  interval reflects sampling scatter only, not the choice of which models or thresholds to include.

``cheapest_by_date`` builds the "cheapest available" series that such a fit is usually run on:
the rows that set a new price low. The rates others have published, for comparison, are data:
the ``published_rates`` table of the store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

DAYS_PER_YEAR = 365.25
MIN_POINTS = 3
DEFAULT_N_BOOT = 2000
DEFAULT_CI = 0.9
LOG10_2 = math.log10(2.0)
BOOT_CHUNK_ELEMENTS = 4_000_000

RUNNING_MIN_COL = "running_min"
RECORD_COL = "is_record"

DateLike = str | pd.Timestamp | np.datetime64
DatesLike = DateLike | Sequence[DateLike] | npt.ArrayLike | pd.Series | pd.DatetimeIndex

__all__ = [
    "DAYS_PER_YEAR",
    "DeclineFit",
    "annual_factor",
    "cheapest_by_date",
    "fit_decline",
    "fitted_band",
    "halving_time_years",
]


def _is_scalar(dates: Any) -> bool:
    return np.ndim(dates) == 0


def _to_datetime(dates: Any, name: str = "dates") -> pd.DatetimeIndex:
    values = [dates] if _is_scalar(dates) else dates
    try:
        index = pd.DatetimeIndex(pd.to_datetime(values))
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"{name} must be dates (datetime64, Timestamps or ISO strings): {error}") from None
    if index.tz is not None:
        index = index.tz_convert(None)
    return index


def _years_since(index: pd.DatetimeIndex, origin: pd.Timestamp) -> FloatArray:
    elapsed = (index - origin) / pd.Timedelta(days=DAYS_PER_YEAR)
    return np.asarray(elapsed, dtype=np.float64)


def _ols(t: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Least-squares slope and intercept of each row of ``y`` on the same row of ``t``."""
    t_mean = t.mean(axis=-1, keepdims=True)
    y_mean = y.mean(axis=-1, keepdims=True)
    dt = t - t_mean
    spread = np.sum(dt * dt, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.sum(dt * (y - y_mean), axis=-1) / spread
    slope = np.where(spread > 0, slope, np.nan)
    intercept = y_mean[..., 0] - slope * t_mean[..., 0]
    return slope, intercept


def annual_factor(fold_change: npt.ArrayLike, years: npt.ArrayLike) -> FloatArray:
    """The constant yearly factor that compounds to ``fold_change`` over ``years``:
    ``fold_change ** (1 / years)``."""
    fold = np.asarray(fold_change, dtype=np.float64)
    span = np.asarray(years, dtype=np.float64)
    if np.any(~(fold > 0)) or np.any(~(span > 0)):
        raise ValueError("fold_change and years must be positive")
    return fold ** (1.0 / span)


def halving_time_years(factor_per_year: npt.ArrayLike) -> FloatArray:
    """Years for the price to halve at a yearly decline factor: ``log(2) / log(factor)``;
    infinite when the factor is 1 or less (prices flat or rising)."""
    factor = np.asarray(factor_per_year, dtype=np.float64)
    if np.any(~(factor > 0)):
        raise ValueError("factor_per_year must be positive")
    with np.errstate(divide="ignore"):
        return np.where(factor > 1, LOG10_2 / np.log10(np.where(factor > 1, factor, 2.0)), np.inf)


@dataclass(frozen=True)
class DeclineFit:
    """A fitted exponential price decline with its bootstrap interval.

    ``slope_log10_per_year`` and ``intercept`` describe ``log10(price) = intercept + slope x t``,
    with ``t`` in years since ``start``; ``intercept`` is thus the fitted log10 price at
    ``start``. ``factor_per_year = 10 ** -slope`` is the x-fold decline per year (> 1 means prices
    fall) and ``ci_low``/``ci_high`` bound it at level ``ci``. ``halving_time_years`` is None when
    prices do not fall. ``n_boot`` counts the bootstrap resamples used (those with a slope).
    """

    slope_log10_per_year: float
    intercept: float
    factor_per_year: float
    halving_time_years: float | None
    ci: float
    ci_low: float
    ci_high: float
    n_points: int
    n_boot: int
    start: pd.Timestamp
    end: pd.Timestamp
    r_squared: float
    residual_sd_log10: float
    boot_slopes: FloatArray = field(repr=False, compare=False)
    boot_intercepts: FloatArray = field(repr=False, compare=False)

    def _years(self, dates: Any) -> FloatArray:
        return _years_since(_to_datetime(dates), self.start)

    def predict(self, dates: DatesLike) -> float | FloatArray:
        """Fitted (median) price at one date or at each of several dates."""
        prices = 10.0 ** (self.intercept + self.slope_log10_per_year * self._years(dates))
        return float(prices[0]) if _is_scalar(dates) else prices

    def predict_interval(
        self, dates: DatesLike, ci: float | None = None
    ) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
        """Low and high edges of the bootstrap band of the fitted line at the dates.

        At each date, the band holds the central ``ci`` share (default: the fit's ``ci``) of the
        lines refitted on the bootstrap resamples.
        """
        level = self.ci if ci is None else _check_ci(ci)
        t = self._years(dates)
        lines = self.boot_intercepts[:, None] + self.boot_slopes[:, None] * t[None, :]
        low, high = np.quantile(lines, [(1 - level) / 2, (1 + level) / 2], axis=0)
        if _is_scalar(dates):
            return float(10.0 ** low[0]), float(10.0 ** high[0])
        return 10.0**low, 10.0**high

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python fields; dates as ISO strings, bootstrap draws left out."""
        out = {name: value for name, value in asdict(self).items() if not name.startswith("boot_")}
        out["start"] = self.start.isoformat()
        out["end"] = self.end.isoformat()
        return out


def _check_ci(ci: float) -> float:
    level = float(ci)
    if not 0 < level < 1:
        raise ValueError(f"ci must be between 0 and 1 (exclusive); got {ci!r}")
    return level


def _bootstrap(t: FloatArray, y: FloatArray, n_boot: int, seed: int | None) -> tuple[FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    n = t.size
    rows = rng.integers(0, n, size=(n_boot, n))
    per_chunk = max(1, BOOT_CHUNK_ELEMENTS // n)
    slopes = np.empty(n_boot)
    intercepts = np.empty(n_boot)
    for first in range(0, n_boot, per_chunk):
        chunk = rows[first : first + per_chunk]
        slopes[first : first + len(chunk)], intercepts[first : first + len(chunk)] = _ols(t[chunk], y[chunk])
    usable = np.isfinite(slopes)
    return slopes[usable], intercepts[usable]


def fit_decline(
    dates: DatesLike,
    prices: npt.ArrayLike,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | None = 0,
    ci: float = DEFAULT_CI,
) -> DeclineFit:
    """Least-squares fit of log10(price) on time in years, with a pairs-bootstrap interval.

    ``dates`` may be datetime64 values, pandas Timestamps or ISO strings; ``prices`` must be
    positive and as many as the dates, with at least three points on at least two distinct dates.
    """
    index = _to_datetime(dates)
    values = np.asarray(prices, dtype=np.float64).ravel()
    if len(index) != values.size:
        raise ValueError(f"dates and prices must have the same length; got {len(index)} and {values.size}")
    if values.size < MIN_POINTS:
        raise ValueError(f"a trend needs at least {MIN_POINTS} points; got {values.size}")
    if index.hasnans:
        raise ValueError(f"dates must not be missing; {int(index.isna().sum())} of {len(index)} are")
    bad = int(np.count_nonzero(~(np.isfinite(values) & (values > 0))))
    if bad:
        raise ValueError(f"prices must be positive numbers; {bad} of {values.size} are not")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive whole number; got {n_boot!r}")
    level = _check_ci(ci)
    start, end = index.min(), index.max()
    if start == end:
        raise ValueError("dates must not all be the same; a trend needs time to pass")
    t = _years_since(index, start)
    y = np.log10(values)
    slope, intercept = (float(v) for v in _ols(t, y))
    residuals = y - (intercept + slope * t)
    total = float(np.sum((y - y.mean()) ** 2))
    r_squared = 1.0 - float(np.sum(residuals**2)) / total if total > 0 else 1.0
    residual_sd = float(np.sqrt(np.sum(residuals**2) / (values.size - 2)))
    boot_slopes, boot_intercepts = _bootstrap(t, y, int(n_boot), seed)
    if boot_slopes.size == 0:
        raise ValueError("no bootstrap resample had two distinct dates; use more points")
    factors = 10.0**-boot_slopes
    ci_low, ci_high = (float(q) for q in np.quantile(factors, [(1 - level) / 2, (1 + level) / 2]))
    return DeclineFit(
        slope_log10_per_year=slope,
        intercept=intercept,
        factor_per_year=10.0**-slope,
        halving_time_years=LOG10_2 / -slope if slope < 0 else None,
        ci=level,
        ci_low=ci_low,
        ci_high=ci_high,
        n_points=int(values.size),
        n_boot=int(boot_slopes.size),
        start=start,
        end=end,
        r_squared=r_squared,
        residual_sd_log10=residual_sd,
        boot_slopes=boot_slopes,
        boot_intercepts=boot_intercepts,
    )


def cheapest_by_date(
    df: pd.DataFrame,
    *,
    date_col: str,
    price_col: str,
    records_only: bool = True,
) -> pd.DataFrame:
    """The price frontier: the cheapest price available at each date.

    Rows are sorted by date (then price) and given ``running_min``, the lowest price seen up to
    and including that row, and ``is_record``, True where the row's price is strictly below every
    earlier one. With ``records_only`` (the default) only the record rows are returned: the
    series a "cheapest available" trend is fitted on. Rows missing a date or a price are
    dropped; the original index and columns are kept.
    """
    absent = [col for col in (date_col, price_col) if col not in df.columns]
    if absent:
        raise ValueError(f"df has no column {absent[0]!r}")
    when = _to_datetime(df[date_col], date_col)
    price = pd.to_numeric(df[price_col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    keep = ~np.asarray(when.isna()) & ~np.isnan(price)
    ticks = when[keep].asi8
    kept_price = price[keep]
    order = np.lexsort((np.arange(kept_price.size), kept_price, ticks))
    sorted_price = kept_price[order]
    running = np.minimum.accumulate(sorted_price) if sorted_price.size else sorted_price
    record = np.ones(sorted_price.size, dtype=bool)
    record[1:] = sorted_price[1:] < running[:-1]
    out = df.loc[keep].iloc[order].copy()
    out[RUNNING_MIN_COL] = running
    out[RECORD_COL] = record
    return out.loc[out[RECORD_COL]] if records_only else out


def fitted_band(fit: DeclineFit, periods: int = 40) -> pd.DataFrame:
    """The fitted line and its bootstrap band at ``periods`` evenly spaced dates from the fit's first
    date to its last: columns ``date``, ``fitted`` (the median price), ``low`` and ``high`` (the
    band's edges at the fit's ``ci``), the rows a chart draws the fit from."""
    if periods < 2:
        raise ValueError(f"a band needs at least 2 dates, not {periods}")
    dates = pd.date_range(fit.start, fit.end, periods=periods)
    low, high = fit.predict_interval(dates)
    return pd.DataFrame({"date": dates, "fitted": fit.predict(dates), "low": low, "high": high})
