"""The price observations and MLPerf results of ``analysis.models.evidence`` added for the chapters."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.models import evidence


def test_recent_spread_takes_only_the_last_days_of_the_record() -> None:
    observed = pd.DataFrame({"date": pd.to_datetime(["2023-01-01", "2025-03-01", "2025-12-31", "2026-01-01"]),
                             "output_usd_per_mtok": [0.1, 2.0, 0.5, 0.9]})
    assert evidence.recent_spread(observed, days=365) == (0.5, 2.0)
    assert evidence.recent_spread(observed, days=1) == (0.5, 0.9)
    with pytest.raises(ValueError, match="no observations"):
        evidence.recent_spread(observed.iloc[:0])


def results() -> pd.DataFrame:
    base = {c: "x" for c in evidence.PER_CHIP_COLUMNS}
    rows = [
        {**base, "benchmark_id": "a", "benchmark": "llama2", "round": "v5.1", "chip_slug": "h100",
         "model_slug": "m", "per_accelerator_tokens_per_s": 100.0},
        {**base, "benchmark_id": "b", "benchmark": "llama2", "round": "v6.0", "chip_slug": None,
         "model_slug": "m", "per_accelerator_tokens_per_s": 100.0},
        {**base, "benchmark_id": "c", "benchmark": "llama2", "round": "v6.0", "chip_slug": "h100",
         "model_slug": "m", "per_accelerator_tokens_per_s": None},
        {**base, "benchmark_id": "d", "benchmark": "mixtral", "round": "v6.0", "chip_slug": "h100",
         "model_slug": None, "per_accelerator_tokens_per_s": 5.0},
    ]
    return pd.DataFrame(rows)


def test_per_chip_results_need_a_chip_a_model_and_a_per_accelerator_rate() -> None:
    got = evidence.per_chip_results(results())
    assert list(got.columns) == list(evidence.PER_CHIP_COLUMNS)
    assert list(got["benchmark_id"]) == ["a"]


def test_results_per_round_count_every_result_of_each_benchmark() -> None:
    counts = evidence.results_per_round(results())
    assert list(counts.columns) == ["benchmark", "v5.1", "v6.0"]
    assert counts.set_index("benchmark").to_dict("index") == {"llama2": {"v5.1": 1, "v6.0": 2},
                                                              "mixtral": {"v5.1": 0, "v6.0": 1}}
