"""The one rule by which numbers are rounded before they are recorded.

Processors differ in the last bits of a float: numpy dispatches to different SIMD kernels (SSE, AVX2,
AVX-512) whose sums and transcendental functions may round differently. The book records its outputs
byte for byte (nbval compares them), and Altair names each chart dataset by a hash of its content, so a
last-bit difference would change a recorded output on another machine. Every number that enters a
recorded output (chart datasets and specs, tables, glued values, explorer tables, exported figure CSVs,
the results of the parametrized analyses) is therefore rounded where it is emitted, by ``round_value``,
to ``SIGNIFICANT_DIGITS`` significant digits, before any name or hash is computed from it.

Rounding goes through Python's correctly rounded decimal formatting, which gives the same result on
every platform, and is idempotent (rounding a rounded number changes nothing). Integers, text, missing
values and infinities pass unchanged. Six digits keep every quantity of the book (prices to a tenth of
a cent per million tokens, throughputs to a token per second) far below its measurement error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

SIGNIFICANT_DIGITS = 6


def round_sig(x: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``x`` to ``digits`` significant digits (NaN and infinities unchanged)."""
    x = float(x)
    if not math.isfinite(x) or x == 0.0:
        return x
    return float(f"{x:.{digits - 1}e}")


def round_series(series: pd.Series, digits: int = SIGNIFICANT_DIGITS) -> pd.Series:
    """A float column rounded by ``round_sig``; other columns unchanged."""
    if not pd.api.types.is_float_dtype(series):
        return series
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    rounded = np.array([round_sig(v, digits) for v in values], dtype="float64")
    out = pd.Series(rounded, index=series.index, name=series.name)
    return out.astype(series.dtype) if str(series.dtype) != "float64" else out


def round_frame(frame: pd.DataFrame, digits: int = SIGNIFICANT_DIGITS) -> pd.DataFrame:
    """Every float column of ``frame`` rounded by ``round_sig``."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    if not floats:
        return frame
    out = frame.copy()
    for column in floats:
        out[column] = round_series(frame[column], digits)
    return out


def round_value(value: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """``value`` with every float inside it rounded: floats, numpy floats, and (recursively) the
    items of dicts, lists and tuples, the columns of data frames and series. Anything else unchanged."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (float, np.floating)):
        return round_sig(value, digits)
    if isinstance(value, Mapping):
        return {k: round_value(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [round_value(v, digits) for v in value]
    if isinstance(value, tuple):
        return tuple(round_value(v, digits) for v in value)
    if isinstance(value, pd.DataFrame):
        return round_frame(value, digits)
    if isinstance(value, pd.Series):
        return round_series(value, digits)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return np.array([round_sig(v, digits) for v in value.ravel()], dtype=value.dtype).reshape(value.shape)
    return value


def is_rounded(value: Any, digits: int = SIGNIFICANT_DIGITS) -> bool:
    """Whether rounding ``value`` would change nothing (a check for emitters)."""
    rounded = round_value(value, digits)
    if isinstance(value, pd.DataFrame):
        return bool(rounded.equals(value))
    return _same(rounded, value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b) if not isinstance(a, np.ndarray) else bool(np.array_equal(a, b, equal_nan=True))
