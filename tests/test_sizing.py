"""Memory for a model's weights and the batch trade-off (``analysis.models.sizing``), on synthetic rows."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.models import roofline, sizing
from analysis.models.roofline_point import roofline_point

HBM = {"slug": "hbm-gpu", "name": "HBM GPU", "memory_kind": "hbm", "memory_gb": 80.0, "memory_bw_tbps": 3.35,
       "peak_bf16_tflops": 989.0, "peak_fp8_tflops": 1979.0, "peak_int8_tops": 1979.0,
       "peak_fp4_tflops": float("nan"), "tdp_w": 700.0, "precisions": "bf16;fp8", "source_ids": ["spec-a"]}
SRAM = {"slug": "sram-asic", "name": "SRAM ASIC", "memory_kind": "sram", "memory_gb": 0.23, "memory_bw_tbps": 80.0,
        "peak_bf16_tflops": 188.0, "peak_fp8_tflops": float("nan"), "peak_int8_tops": 750.0,
        "peak_fp4_tflops": float("nan"), "tdp_w": 300.0, "precisions": "int8", "source_ids": ["spec-b"]}
DENSE = {"slug": "dense-70b", "name": "Dense 70B", "architecture": "dense", "total_params_b": 70.0,
         "active_params_b": 70.0, "layers": 80, "d_model": 8192, "attention_heads": 64, "kv_heads": 8,
         "head_dim": 128, "context_length": 131072, "source_ids": ["card-a"]}
NO_COUNT = {**DENSE, "slug": "unknown", "name": "Unknown", "total_params_b": float("nan")}


def test_weights_gb_is_parameters_times_bytes_per_weight() -> None:
    assert sizing.weights_gb(70.0, 16) == pytest.approx(140.0)
    assert sizing.weights_gb(70.0, 4) == pytest.approx(35.0)


def test_weights_by_precision_has_a_row_per_model_and_precision_with_a_size() -> None:
    table = sizing.weights_by_precision(pd.DataFrame([DENSE, NO_COUNT]))
    assert list(table.columns) == ["model", "architecture", "bits", "weights_gb", "source_ids"]
    assert list(table["model"]) == ["Dense 70B"] * len(roofline.SUPPORTED_BITS)
    assert dict(zip(table["bits"], table["weights_gb"])) == pytest.approx({4: 35.0, 8: 70.0, 16: 140.0})


def test_chips_for_weights_counts_chips_and_leaves_out_precisions_a_chip_lacks() -> None:
    needed = sizing.chips_for_weights(pd.Series(DENSE), pd.DataFrame([HBM, SRAM]))
    got = {(r.chip, r.bits): r.chips_for_weights for r in needed.itertuples()}
    assert got[("hbm-gpu", 16)] == 2 and got[("hbm-gpu", 8)] == 1 and got[("hbm-gpu", 4)] == 1
    assert got[("sram-asic", 8)] == 305  # 70 GB over 0.23 GB, rounded up
    assert ("sram-asic", 16) not in got  # int8 only: no 16-bit weights
    assert "supported" not in needed.columns and list(needed["source_ids"].iloc[0]) == ["spec-a"]


def test_batch_sizes_are_powers_of_two_below_the_largest_then_the_largest() -> None:
    assert sizing.batch_sizes(5) == [1, 2, 4, 5]
    assert sizing.batch_sizes(1) == [1]
    assert sizing.batch_sizes(8) == [1, 2, 4, 8]
    assert sizing.batch_sizes(10_000)[-2:] == [2048, 10_000]


def test_batch_frontier_trades_per_user_speed_for_per_chip_throughput() -> None:
    frontier = sizing.batch_frontier(pd.DataFrame([HBM]), pd.Series(DENSE), bits=8, context=2048, server_chips=8)
    largest = roofline_point(HBM, DENSE, bits=8, batch="max", context=2048, chips=8).batch
    assert list(frontier["batch"]) == sizing.batch_sizes(largest)
    assert set(frontier["chips"]) == {8}
    assert frontier["per_user_tokens_per_s"].is_monotonic_decreasing
    assert frontier["tokens_per_s_per_chip"].is_monotonic_increasing
    one = roofline_point(HBM, DENSE, bits=8, batch=1, context=2048, chips=8)
    assert frontier["per_user_tokens_per_s"].iloc[0] == pytest.approx(one.per_user_tokens_per_s)
