"""Cost per million output tokens over many scenarios at once: random draws and a tornado.

``cost_sweep`` draws ``n`` scenarios, every input independently (uniformly or log-uniformly) from a
range or held fixed, and prices them all in one vectorized call; ``tornado`` varies one input at a
time between a low and a high value around a base case and ranks the inputs by the swing of the
output. The costs themselves, their units and their assumptions are those of
``analysis.models.costs``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.models.costs import (
    OPTIONAL_OWNED_INPUTS,
    OWNED_INPUTS,
    RENTAL_INPUTS,
    FloatArray,
    check_names,
    checked_floats,
    hourly_cost_owned,
    owned_cost_fn,
    rental_cost_fn,
    usd_per_million_tokens,
)

TORNADO_COLUMNS = ("input", "low_value", "high_value", "output_low", "output_high", "swing")

CostFn = Callable[[Mapping[str, Any]], Any]

__all__ = ["TORNADO_COLUMNS", "CostFn", "cost_sweep", "tornado"]


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _draw(
    generator: np.random.Generator, n: int, name: str, span: tuple[float, float], log: bool
) -> FloatArray:
    try:
        low, high = (float(bound) for bound in span)
    except (TypeError, ValueError):
        raise ValueError(f"range of {name} must be a pair of numbers (low, high); got {span!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise ValueError(f"range of {name} must be finite with low <= high; got ({low}, {high})")
    if not log:
        return generator.uniform(low, high, n)
    if low <= 0:
        raise ValueError(f"log-uniform range of {name} must be positive; got ({low}, {high})")
    return 10.0 ** generator.uniform(math.log10(low), math.log10(high), n)


def cost_sweep(
    n: int,
    *,
    rng: np.random.Generator | int | None,
    ranges: Mapping[str, tuple[float, float]],
    fixed: Mapping[str, float] | None = None,
    log_uniform: Collection[str] = (),
) -> pd.DataFrame:
    """Cost per million output tokens of ``n`` random scenarios, one row each.

    Every input is drawn independently and uniformly from its ``(low, high)`` in ``ranges``
    (log-uniformly for names in ``log_uniform``), or held at its value in ``fixed``. The scenarios
    rent when ``hourly_usd`` is among the inputs (then the inputs are ``RENTAL_INPUTS``) and own
    otherwise (``OWNED_INPUTS``; ``hosting_usd_per_hour`` defaults to 0). ``rng`` is a numpy
    Generator or a seed. The frame has one column per input, then ``hourly_usd`` (when owning) and
    ``usd_per_million_tokens``. Ranges must lie inside each input's valid domain.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive whole number; got {n!r}")
    constants = dict(fixed or {})
    both = sorted(set(ranges) & set(constants))
    if both:
        raise ValueError(f"inputs given both a range and a fixed value: {', '.join(both)}")
    not_ranged = sorted(set(log_uniform) - set(ranges))
    if not_ranged:
        raise ValueError(f"log_uniform names inputs without a range: {', '.join(not_ranged)}")
    names = {**ranges, **constants}
    renting = "hourly_usd" in names
    inputs = RENTAL_INPUTS if renting else OWNED_INPUTS
    optional = () if renting else tuple(OPTIONAL_OWNED_INPUTS)
    check_names(names, inputs, optional, "cost_sweep (renting)" if renting else "cost_sweep (owning)")
    if not renting:
        constants = {**{k: v for k, v in OPTIONAL_OWNED_INPUTS.items() if k not in names}, **constants}
    generator = _generator(rng)
    columns: dict[str, FloatArray] = {}
    for name in inputs:
        if name in ranges:
            columns[name] = _draw(generator, int(n), name, ranges[name], name in log_uniform)
        else:
            columns[name] = np.full(int(n), float(checked_floats(constants[name], name)))
    if renting:
        columns["usd_per_million_tokens"] = rental_cost_fn(columns)
    else:
        hourly = hourly_cost_owned(
            columns["capex_usd"],
            columns["amortization_years"],
            columns["power_w"],
            columns["pue"],
            columns["electricity_usd_per_kwh"],
            hosting_usd_per_hour=columns["hosting_usd_per_hour"],
            cost_of_capital=columns["cost_of_capital"],
        )
        columns["hourly_usd"] = hourly
        columns["usd_per_million_tokens"] = usd_per_million_tokens(
            hourly, columns["tokens_per_s"], columns["utilization"]
        )
    return pd.DataFrame(columns, copy=False)


def tornado(
    base: Mapping[str, float],
    spans: Mapping[str, tuple[float, float]],
    *,
    fn: CostFn = owned_cost_fn,
) -> pd.DataFrame:
    """One-at-a-time sensitivity of ``fn`` around ``base``, widest swing first.

    For each input in ``spans``, ``fn`` is evaluated at the input's low and at its high value
    with every other input at ``base``. ``fn`` maps a dict of named inputs to the output and must
    broadcast: it is called once, with each varied input as an array of ``2 x len(spans)``
    values. Columns: ``input``, ``low_value``, ``high_value``, ``output_low``, ``output_high``
    and ``swing`` (``|output_high - output_low|``), sorted by swing descending (ties keep the
    order of ``spans``). ``frame.attrs["base_output"]`` holds ``fn(base)``.
    """
    names = list(spans)
    if not names:
        raise ValueError("spans must name at least one input")
    absent = [name for name in names if name not in base]
    if absent:
        raise ValueError(f"spans name inputs missing from base: {', '.join(absent)}")
    lows = np.empty(len(names))
    highs = np.empty(len(names))
    for i, name in enumerate(names):
        try:
            lows[i], highs[i] = (float(bound) for bound in spans[name])
        except (TypeError, ValueError):
            span = spans[name]
            raise ValueError(f"span of {name} must be a pair of numbers (low, high); got {span!r}") from None
    if not (np.all(np.isfinite(lows)) and np.all(np.isfinite(highs))):
        raise ValueError("spans must be finite numbers")
    scenarios = 2 * len(names)
    inputs: dict[str, Any] = dict(base)
    for i, name in enumerate(names):
        column = np.full(scenarios, float(checked_floats(base[name], name)))
        column[2 * i] = lows[i]
        column[2 * i + 1] = highs[i]
        inputs[name] = column
    outputs = np.broadcast_to(np.asarray(fn(inputs), dtype=np.float64), (scenarios,))
    output_low = outputs[0::2]
    output_high = outputs[1::2]
    frame = pd.DataFrame(
        {
            "input": names,
            "low_value": lows,
            "high_value": highs,
            "output_low": output_low,
            "output_high": output_high,
            "swing": np.abs(output_high - output_low),
        }
    )
    frame = frame.sort_values("swing", ascending=False, kind="mergesort").reset_index(drop=True)
    frame.attrs["base_output"] = float(np.asarray(fn(dict(base)), dtype=np.float64))
    return frame
