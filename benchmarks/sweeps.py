"""The sweep benchmark: a million scenarios of the vectorized cost and roofline sweeps, against plain Python.

``measure_sweep`` times ``owned_cost_sweep`` (``cost_sensitivity.cost_sweep`` over ``OWNED_RANGES``),
``costs.usd_per_million_tokens`` on arrays and ``roofline_sweep`` (``roofline_grid.roofline_grid`` over
the store's chips and models with ``grid_axes`` batches and contexts), each the best of
``SWEEP_REPEATS``, against a plain-Python loop over a sample extrapolated per scenario. The
micro-benchmarks (``benchmarks/test_micro.py``) time the same calls with pytest-benchmark.
"""

from __future__ import annotations

import math
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.build import bookstore
from analysis.data import reader, store, validation
from analysis.models import costs
from analysis.models.cost_sensitivity import cost_sweep
from analysis.models.roofline_grid import roofline_grid
from analysis.models.roofline_point import roofline_point
from benchmarks.outcome import Budget, Outcome, Row, within

SCENARIOS_PER_S_BUDGET = 1e6
SWEEP_SCENARIOS = 1_000_000
SWEEP_SAMPLE = 10_000
SWEEP_REPEATS = 3
ROOFLINE_BITS = (4, 8, 16)
OWNED_RANGES: dict[str, tuple[float, float]] = {
    "capex_usd": (10_000.0, 400_000.0),
    "amortization_years": (2.0, 6.0),
    "power_w": (300.0, 12_000.0),
    "pue": (1.05, 1.6),
    "electricity_usd_per_kwh": (0.03, 0.25),
    "hosting_usd_per_hour": (0.0, 2.0),
    "tokens_per_s": (100.0, 50_000.0),
    "utilization": (0.1, 1.0),
}
OWNED_LOG = ("capex_usd", "tokens_per_s")


def _best(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def plain_owned_costs(n: int, seed: int) -> list[float]:
    """The cost per 1M output tokens of ``n`` owned scenarios drawn as ``owned_cost_sweep`` draws
    them, in plain Python floats, one scenario at a time (the baseline of the sweep benchmark)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        draw = {}
        for name, (low, high) in OWNED_RANGES.items():
            if name in OWNED_LOG:
                draw[name] = 10.0 ** rng.uniform(math.log10(low), math.log10(high))
            else:
                draw[name] = rng.uniform(low, high)
        hourly = (draw["capex_usd"] / (draw["amortization_years"] * 8760)
                  + draw["power_w"] / 1000 * draw["pue"] * draw["electricity_usd_per_kwh"]
                  + draw["hosting_usd_per_hour"])
        out.append(hourly / (draw["tokens_per_s"] * 3600 * draw["utilization"]) * 1e6)
    return out


def grid_axes(n_pairs: int, target: int) -> tuple[list[int], list[int]]:
    """Batches and contexts whose cross product with ``n_pairs`` chip-model-bits combinations is at
    least ``target`` rows."""
    per_pair = -(-target // n_pairs)
    n_contexts = 32
    n_batches = -(-per_pair // n_contexts)
    batches = sorted({max(1, round(1.12 ** i)) for i in range(4 * n_batches)})[:n_batches]
    while len(batches) < n_batches:
        batches.append(batches[-1] + 1)
    contexts = [128 * (i + 1) for i in range(n_contexts)]
    return batches, contexts


def load_chips_models() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chips and models tables of a store built from ``data/`` in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        path = bookstore.build(validation.DEFAULT_DATA_DIR, folder / store.STORE_NAME)
        with reader.open_store(path) as db:
            return db.table("chips"), db.table("models")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def owned_cost_sweep(scenarios: int) -> pd.DataFrame:
    """``cost_sensitivity.cost_sweep`` of ``scenarios`` owned-hardware scenarios, every input drawn from
    ``OWNED_RANGES`` (log-uniformly for ``OWNED_LOG``), seed 0."""
    return cost_sweep(scenarios, rng=0, ranges=dict(OWNED_RANGES), log_uniform=OWNED_LOG)


def price_inputs(scenarios: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs of ``costs.usd_per_million_tokens`` for ``scenarios`` scenarios, drawn from ``rng``:
    USD per chip-hour (1 to 10), tokens/s (100 to 50,000, log-uniform) and utilization (0.1 to 1)."""
    hourly = rng.uniform(1.0, 10.0, scenarios)
    throughput = 10.0 ** rng.uniform(2.0, 4.7, scenarios)
    busy = rng.uniform(0.1, 1.0, scenarios)
    return hourly, throughput, busy


def roofline_sweep(chips: pd.DataFrame, models: pd.DataFrame, batches: Sequence[int],
                   contexts: Sequence[int]) -> pd.DataFrame:
    """``roofline_grid.roofline_grid`` of every chip and model at ``ROOFLINE_BITS``, ``batches``, ``contexts``."""
    return roofline_grid(chips, models, bits=ROOFLINE_BITS, batches=batches, contexts=contexts)


def _time_costs(
    scenarios: int, sample: int, rng: np.random.Generator
) -> tuple[dict[str, float], dict[str, float]]:
    """Best seconds of ``owned_cost_sweep`` and of ``usd_per_million_tokens`` on ``scenarios`` draws
    (from ``rng``), and plain-Python seconds per scenario of each, on ``sample`` scenarios."""
    cost_s = _best(lambda: owned_cost_sweep(scenarios), SWEEP_REPEATS)
    hourly, throughput, busy = price_inputs(scenarios, rng)
    usd_s = _best(lambda: costs.usd_per_million_tokens(hourly, throughput, busy), SWEEP_REPEATS)
    plain_cost_s = _best(lambda: plain_owned_costs(sample, 0), SWEEP_REPEATS) / sample
    triples = list(zip(hourly[:sample].tolist(), throughput[:sample].tolist(), busy[:sample].tolist()))
    plain_usd_s = _best(lambda: [h / (t * 3600 * u) * 1e6 for h, t, u in triples], SWEEP_REPEATS) / sample
    return ({"cost_sweep": cost_s, "usd_per_million_tokens": usd_s},
            {"cost_sweep": plain_cost_s, "usd_per_million_tokens": plain_usd_s})


def _time_roofline(
    scenarios: int, sample: int, rng: np.random.Generator
) -> tuple[float, float, dict[str, Any]]:
    """Best seconds of ``roofline_sweep`` over at least ``scenarios`` rows, seconds per point of
    ``roofline_point`` on ``sample`` points drawn from the grid (with ``rng``), and the grid's shape."""
    chips, models = load_chips_models()
    batches, contexts = grid_axes(len(chips) * len(models) * len(ROOFLINE_BITS), scenarios)
    grid_rows = len(chips) * len(models) * len(ROOFLINE_BITS) * len(batches) * len(contexts)
    grid_s = _best(lambda: roofline_sweep(chips, models, batches, contexts), SWEEP_REPEATS)
    chip_rows = chips.to_dict("records")
    model_rows = models.to_dict("records")
    picks = rng.integers(0, [len(chip_rows), len(model_rows), len(ROOFLINE_BITS), len(batches), len(contexts)],
                         size=(sample, 5))
    cases = [(chip_rows[c], model_rows[m], ROOFLINE_BITS[p], batches[b], contexts[x])
             for c, m, p, b, x in picks.tolist()]
    start = time.perf_counter()
    unfit = 0
    for chip, model, bits, batch, context in cases:
        try:
            roofline_point(chip, model, bits=bits, batch=batch, context=context)
        except ValueError:
            unfit += 1
    point_s = (time.perf_counter() - start) / sample
    shape = {"chips": len(chips), "models": len(models), "bits": list(ROOFLINE_BITS),
             "batches": len(batches), "contexts": len(contexts), "rows": grid_rows,
             "sample_points_that_raised": unfit}
    return grid_s, point_s, shape


def measure_sweep(scenarios: int = SWEEP_SCENARIOS, sample: int = SWEEP_SAMPLE) -> Outcome:
    """Scenarios per second of the vectorized cost and roofline sweeps against plain Python."""
    rng = np.random.default_rng(1)
    seconds, plain_s = _time_costs(scenarios, sample, rng)
    grid_s, point_s, grid = _time_roofline(scenarios, sample, rng)
    seconds["roofline_grid"] = grid_s
    rates = {
        "cost_sweep": scenarios / seconds["cost_sweep"],
        "usd_per_million_tokens": scenarios / seconds["usd_per_million_tokens"],
        "roofline_grid": grid["rows"] / grid_s,
    }
    plain = {key: 1 / plain_s[key] for key in ("cost_sweep", "usd_per_million_tokens")}
    plain["roofline_grid"] = 1 / point_s
    labels = {
        "cost_sweep": (f"cost_sensitivity.cost_sweep, {scenarios:,} owned scenarios", "plain-Python floats"),
        "usd_per_million_tokens": (f"costs.usd_per_million_tokens on {scenarios:,}-element arrays",
                                   "plain-Python floats"),
        "roofline_grid": (f"roofline_grid.roofline_grid, {grid['rows']:,} rows", "roofline_point"),
    }
    rows = []
    for key, (label, baseline) in labels.items():
        budget = None
        if key != "usd_per_million_tokens":
            budget = Budget(f"{key} scenarios/s", f"{rates[key]:,.0f}/s", f">= {SCENARIOS_PER_S_BUDGET:,.0f}/s",
                            within(rates[key], SCENARIOS_PER_S_BUDGET, at_most=False))
        rows.append(Row(label, f"{rates[key]:,.0f}/s; {rates[key] / plain[key]:,.0f}x {baseline} "
                               f"({plain[key]:,.0f}/s on {sample:,})", budget))
    return Outcome("sweep", rows, {
        "scenarios": scenarios, "sample": sample, "rates_per_s": rates, "plain_rates_per_s": plain,
        "speedup": {k: rates[k] / plain[k] for k in rates}, "seconds": seconds, "roofline_grid": grid,
    })
