"""Micro-benchmarks with pytest-benchmark: the sweeps and the store build, timed in this process.

``make micro`` runs them (``python -m pytest benchmarks --benchmark-only``); pytest-benchmark prints
the minimum, maximum, mean, median and spread of each over its rounds. They call what ``make bench``
(``python -m benchmarks``) measures, by the same functions: the owned-hardware cost sweep,
``costs.usd_per_million_tokens`` on arrays and the roofline grid of ``benchmarks.sweeps``, and the
validation and store build of a data folder whose price table ``benchmarks.large_store`` fills
with synthetic rows, here a tenth of the benchmark's million. The store is built by
``analysis.data.store.build`` without the book's checks (``bookstore.CHECKS``, the forecast rules):
over this many synthetic prices the rules' evidence outgrows the length they may record, so the
checks refuse the store.

They are not part of ``make test`` or ``pytest -m unit``: pytest collects ``tests`` and
``chapters`` only (``testpaths``), and every test here is marked ``micro``. Nothing here asserts a
time; the budgets are ``make bench``'s. Each test checks only that the timed call did its work
(the rows it returns), so that a call that fails early cannot pass for a fast one.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.data import reader, store, validation
from analysis.models import costs
from benchmarks import large_store, sweeps

pytestmark = pytest.mark.micro

COST_SCENARIOS = 100_000
GRID_ROWS = 100_000
PRICE_ROWS = 100_000
STORE_ROUNDS = 3


@pytest.fixture(scope="module")
def chips_models() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chips and models of a store built from ``data/`` (once for the module)."""
    return sweeps.load_chips_models()


@pytest.fixture(scope="module")
def price_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``data/`` whose ``prices.csv`` has ``PRICE_ROWS`` valid rows."""
    data_dir = tmp_path_factory.mktemp("micro") / "data"
    shutil.copytree(validation.DEFAULT_DATA_DIR, data_dir, ignore=shutil.ignore_patterns(".*", "*.duckdb*"))
    large_store.write_price_table(data_dir, PRICE_ROWS)
    return data_dir


def test_owned_cost_sweep(benchmark: Any) -> None:
    frame = benchmark(sweeps.owned_cost_sweep, COST_SCENARIOS)
    assert len(frame) == COST_SCENARIOS


def test_usd_per_million_tokens(benchmark: Any) -> None:
    hourly, throughput, busy = sweeps.price_inputs(COST_SCENARIOS, np.random.default_rng(1))
    usd = benchmark(costs.usd_per_million_tokens, hourly, throughput, busy)
    assert np.shape(usd) == (COST_SCENARIOS,)


def test_roofline_sweep(benchmark: Any, chips_models: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    chips, models = chips_models
    combinations = len(chips) * len(models) * len(sweeps.ROOFLINE_BITS)
    batches, contexts = sweeps.grid_axes(combinations, GRID_ROWS)
    grid = benchmark(sweeps.roofline_sweep, chips, models, batches, contexts)
    assert len(grid) == combinations * len(batches) * len(contexts) >= GRID_ROWS


def test_validate_large_price_table(benchmark: Any, price_folder: Path) -> None:
    tables = benchmark.pedantic(validation.validate, args=(price_folder,), rounds=STORE_ROUNDS)
    assert tables["prices"].rows == PRICE_ROWS


def test_build_store_of_large_price_table(benchmark: Any, price_folder: Path, tmp_path: Path) -> None:
    tables = validation.validate(price_folder)
    out = tmp_path / store.STORE_NAME

    def fresh() -> None:
        out.unlink(missing_ok=True)

    benchmark.pedantic(store.build, args=(tables, out), setup=fresh, rounds=STORE_ROUNDS)
    with reader.open_store(out) as db:
        assert len(db.table("prices")) == PRICE_ROWS
