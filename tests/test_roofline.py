"""Tests of the roofline bounds, on synthetic chips and models built here."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.models import roofline as rl
from analysis.models.roofline_bounds import critical_batch, decode_bound, prefill_bound
from analysis.models.roofline_grid import roofline_grid
from analysis.models.roofline_point import roofline_point

H100: dict[str, Any] = {
    "slug": "h100-sxm",
    "name": "H100 SXM",
    "vendor": "nvidia",
    "kind": "gpu",
    "year": 2022,
    "memory_kind": "hbm",
    "memory_gb": 80.0,
    "memory_bw_tbps": 3.35,
    "sram_mb": 50.0,
    "peak_bf16_tflops": 989.0,
    "peak_fp8_tflops": 1979.0,
    "peak_int8_tops": 1979.0,
    "peak_fp4_tflops": float("nan"),
    "tdp_w": 700.0,
    "precisions": "fp32;bf16;fp16;fp8;int8",
}
SRAM_CHIP: dict[str, Any] = {
    "slug": "sram-lpu",
    "name": "SRAM LPU",
    "vendor": "groq",
    "kind": "asic",
    "year": 2020,
    "memory_kind": "sram",
    "memory_gb": 0.23,
    "memory_bw_tbps": 80.0,
    "sram_mb": 230.0,
    "peak_bf16_tflops": 188.0,
    "peak_fp8_tflops": float("nan"),
    "peak_int8_tops": 750.0,
    "peak_fp4_tflops": float("nan"),
    "tdp_w": 300.0,
    "precisions": "fp16;int8",
}
BF16_ONLY: dict[str, Any] = {
    "slug": "old-tpu",
    "name": "Old TPU",
    "vendor": "google",
    "kind": "tpu",
    "year": 2018,
    "memory_kind": "hbm",
    "memory_gb": 32.0,
    "memory_bw_tbps": 1.2,
    "sram_mb": float("nan"),
    "peak_bf16_tflops": 275.0,
    "peak_fp8_tflops": float("nan"),
    "peak_int8_tops": float("nan"),
    "peak_fp4_tflops": float("nan"),
    "tdp_w": 250.0,
    "precisions": "fp32;bf16",
}
LLAMA70: dict[str, Any] = {
    "slug": "llama-70b",
    "name": "Llama 70B",
    "architecture": "dense",
    "total_params_b": 70.0,
    "active_params_b": 70.0,
    "layers": 80,
    "d_model": 8192,
    "attention_heads": 64,
    "kv_heads": 8,
    "head_dim": 128,
    "context_length": 131072,
}
MOE: dict[str, Any] = {
    "slug": "big-moe",
    "name": "Big MoE",
    "architecture": "moe",
    "total_params_b": 671.0,
    "active_params_b": 37.0,
    "layers": 61,
    "d_model": 7168,
    "attention_heads": 128,
    "kv_heads": 8,
    "head_dim": 128,
    "context_length": 131072,
}
SHORT_WINDOW: dict[str, Any] = {
    "slug": "small-8k",
    "name": "Small 8k",
    "architecture": "dense",
    "total_params_b": 8.0,
    "active_params_b": 8.0,
    "layers": 32,
    "d_model": 4096,
    "attention_heads": 32,
    "kv_heads": 8,
    "head_dim": float("nan"),
    "context_length": 8192,
}

LLAMA70_KV_BYTES = 2 * 80 * 8 * 128 * 2


def _decode_args(chip: dict[str, Any], model: dict[str, Any], bits: int) -> dict[str, Any]:
    return {
        "memory_bw_tbps": chip["memory_bw_tbps"],
        "peak_flops": float(rl.peak_flops_for_bits(chip, bits)),
        "total_params_b": model["total_params_b"],
        "active_params_b": model["active_params_b"],
        "bits": bits,
        "layers": model["layers"],
        "kv_heads": model["kv_heads"],
        "head_dim": model["head_dim"],
        "attention_heads": model["attention_heads"],
    }


def test_kv_and_weight_bytes_by_hand() -> None:
    assert float(rl.kv_bytes_per_token(80, 8, 128)) == LLAMA70_KV_BYTES
    assert float(rl.kv_bytes_per_token(80, 8, 128, kv_bits=8)) == LLAMA70_KV_BYTES / 2
    assert float(rl.weight_bytes(70, 8)) == 70e9
    assert float(rl.weight_bytes(70, 4)) == 35e9


def test_batch_one_decode_of_70b_at_8_bits_is_bandwidth_over_weights() -> None:
    result = roofline_point(H100, LLAMA70, bits=8, batch=1, context=128)
    hand = 3.35e12 / 70e9
    # 128 cached tokens add 128 x 327,680 B = 0.06% to the 70 GB read, so 1% is ample.
    assert result.per_user_tokens_per_s == pytest.approx(hand, rel=0.01)
    assert result.per_user_tokens_per_s == pytest.approx(3.35e12 / (70e9 + 128 * LLAMA70_KV_BYTES), rel=1e-12)
    assert result.chips == 1
    assert result.bound == "memory"
    assert result.system_tokens_per_s == pytest.approx(result.per_user_tokens_per_s)
    assert result.tokens_per_s_per_chip == pytest.approx(result.system_tokens_per_s)


def test_critical_batch_matches_arithmetic_intensity_by_hand() -> None:
    args = _decode_args(H100, LLAMA70, 16)
    short = float(critical_batch(context=1, **args))
    assert short == pytest.approx(989e12 / 3.35e12, rel=0.01)

    context = 1024
    weights_time = 140e9 / 3.35e12
    kv_time = context * LLAMA70_KV_BYTES / 3.35e12
    compute_time = (2 * 70e9 + 2 * 2 * 80 * context * 64 * 128) / 989e12
    hand = weights_time / (compute_time - kv_time)
    assert float(critical_batch(context=context, **args)) == pytest.approx(hand, rel=1e-9)

    eight = float(critical_batch(context=1, **_decode_args(H100, LLAMA70, 8)))
    assert eight == pytest.approx(1979e12 / 3.35e12 / 2, rel=0.01)

    below = decode_bound(batch=math.floor(hand), context=context, **args)
    above = decode_bound(batch=math.ceil(hand), context=context, **args)
    assert str(below.bound) == "memory"
    assert str(above.bound) == "compute"


def test_critical_batch_is_infinite_when_kv_reads_outweigh_flops() -> None:
    mha = dict(LLAMA70, kv_heads=64)
    args = _decode_args(H100, mha, 16)
    assert math.isinf(float(critical_batch(context=100_000, **args)))
    huge = decode_bound(batch=10_000, context=100_000, **args)
    assert str(huge.bound) == "memory"
    result = roofline_point(dict(H100, memory_gb=1e6), dict(mha, slug="mha"), bits=16, batch=1, context=100_000)
    assert math.isinf(result.critical_batch)
    assert result.to_dict()["critical_batch"] is None


def test_missing_head_dim_is_d_model_over_heads() -> None:
    result = roofline_point(H100, SHORT_WINDOW, bits=16, batch=4, context=1000)
    kv = 2 * 32 * 8 * (4096 / 32) * 2
    assert result.bytes_per_step == pytest.approx(16e9 + 4 * 1000 * kv, rel=1e-12)


def test_chips_needed_for_70b_at_16_bits_on_sram_chips() -> None:
    assert float(rl.chips_needed(rl.weight_bytes(70, 16), 0.23)) == 609
    assert float(rl.chips_needed(160e9, 80)) == 2
    assert float(rl.chips_needed(160e9 + 1, 80)) == 3
    result = roofline_point(SRAM_CHIP, LLAMA70, bits=16, batch=1, context=2048)
    assert result.chips == math.ceil((140e9 + 2048 * LLAMA70_KV_BYTES) / 0.23e9)


def test_moe_uses_active_parameters_for_flops_and_total_for_memory() -> None:
    args = _decode_args(H100, MOE, 8)
    bound = decode_bound(batch=1, context=1, **args)
    attention = 2 * 2 * 61 * 1 * 128 * 128
    assert float(bound.flops_per_step) == pytest.approx(2 * 37e9 + attention, rel=1e-12)
    assert float(bound.bytes_per_step) == pytest.approx(37e9 + 2 * 61 * 8 * 128 * 2, rel=1e-9)
    big = decode_bound(batch=100_000, context=1, **args)
    assert float(big.bytes_per_step) - 100_000 * 2 * 61 * 8 * 128 * 2 == pytest.approx(671e9, rel=1e-6)

    result = roofline_point(H100, MOE, bits=8, batch=1, context=1024)
    assert result.chips == math.ceil((671e9 + 1024 * 2 * 61 * 8 * 128 * 2) / 80e9)
    dense_twin = roofline_point(H100, dict(MOE, architecture="dense", active_params_b=671.0), bits=8, batch=1, context=1024)
    assert dense_twin.chips == result.chips
    assert result.per_user_tokens_per_s > 10 * dense_twin.per_user_tokens_per_s


def test_moe_critical_batch_equalizes_memory_and_compute_time() -> None:
    args = _decode_args(H100, MOE, 8)
    critical = float(critical_batch(context=256, **args))
    assert 1 < critical < 1e6
    at = decode_bound(batch=critical, context=256, **args)
    assert float(at.time_memory_s) == pytest.approx(float(at.time_compute_s), rel=1e-6)
    assert str(decode_bound(batch=critical * 0.9, context=256, **args).bound) == "memory"
    assert str(decode_bound(batch=critical * 1.1, context=256, **args).bound) == "compute"
    assert math.isinf(float(critical_batch(context=2048, **args)))


def test_supports_bits_rules() -> None:
    assert rl.supports_bits("bf16;fp16", 16)
    assert rl.supports_bits("fp16", 16)
    assert not rl.supports_bits("fp32;bf16", 8)
    assert rl.supports_bits("bf16;int8", 8)
    assert rl.supports_bits(["bf16", "fp8"], 8)
    assert not rl.supports_bits("fp8;int8", 16)
    assert rl.supports_bits("fp32;bf16", 4)
    assert rl.supports_bits("fp4", 4)
    assert not rl.supports_bits("fp32", 4)
    assert not rl.supports_bits(None, 16)
    with pytest.raises(ValueError):
        rl.supports_bits("bf16", 32)


def test_peak_flops_fallbacks() -> None:
    b200 = dict(H100, slug="b200", peak_fp4_tflops=9000.0)
    mixed = dict(H100, slug="mixed", peak_fp8_tflops=1500.0, peak_int8_tops=2500.0)
    chips = pd.DataFrame([H100, SRAM_CHIP, BF16_ONLY, b200, mixed])
    assert list(rl.peak_flops_for_bits(chips, 16) / 1e12) == [989.0, 188.0, 275.0, 989.0, 989.0]
    assert list(rl.peak_flops_for_bits(chips, 8) / 1e12) == [1979.0, 750.0, 275.0, 1979.0, 2500.0]
    assert list(rl.peak_flops_for_bits(chips, 4) / 1e12) == [1979.0, 750.0, 275.0, 9000.0, 2500.0]
    assert float(rl.peak_flops_for_bits(pd.Series(H100), 8)) == 1979e12


def test_point_rejects_bad_input_with_one_line_messages() -> None:
    cases: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]] = [
        (BF16_ONLY, LLAMA70, {"bits": 8}, "does not support 8-bit"),
        (H100, LLAMA70, {"bits": 16, "chips": 1}, "needs 2"),
        (H100, LLAMA70, {"bits": 8, "batch": 10_000, "chips": 1}, "needs"),
        (H100, LLAMA70, {"bits": 16, "batch": "max", "chips": 1}, "does not fit"),
        (H100, LLAMA70, {"bits": 8, "batch": 0}, "batch"),
        (H100, LLAMA70, {"bits": 8, "batch": "lots"}, "batch"),
        (H100, LLAMA70, {"bits": 8, "context": -5}, "context"),
        (H100, LLAMA70, {"bits": 8, "chips": 0}, "chips"),
        (H100, LLAMA70, {"bits": 32}, "bits"),
        (H100, LLAMA70, {"bits": 8, "kv_bits": 3}, "kv_bits"),
        (dict(H100, memory_bw_tbps=float("nan")), LLAMA70, {"bits": 8}, "bandwidth"),
        (dict(H100, memory_gb=None), LLAMA70, {"bits": 8}, "capacity"),
        (dict(H100, peak_bf16_tflops=float("nan")), LLAMA70, {"bits": 16, "chips": 2}, "peak"),
        (H100, dict(LLAMA70, kv_heads=None), {"bits": 8}, "KV head"),
        (H100, dict(MOE, active_params_b=float("nan")), {"bits": 8}, "active"),
        (H100, LLAMA70, {"bits": 8, "context": 200_000}, "window"),
    ]
    for chip, model, kwargs, fragment in cases:
        with pytest.raises(ValueError, match=fragment) as info:
            roofline_point(chip, model, **kwargs)
        assert "\n" not in str(info.value)


def test_batch_max_fills_the_fewest_chips() -> None:
    result = roofline_point(H100, LLAMA70, bits=16, batch="max", context=4096)
    assert result.chips == 2
    free = 2 * 80e9 - 140e9
    assert result.batch == math.floor(free / (4096 * LLAMA70_KV_BYTES))
    assert result.max_batch == result.batch
    roofline_point(H100, LLAMA70, bits=16, batch=result.batch, context=4096, chips=2)
    with pytest.raises(ValueError):
        roofline_point(H100, LLAMA70, bits=16, batch=result.batch + 1, context=4096, chips=2)
    wider = roofline_point(H100, LLAMA70, bits=16, batch="max", context=4096, chips=4)
    assert wider.batch > result.batch


def test_max_batch_is_the_boundary_of_what_fits() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        model = {
            "total_params_b": rng.uniform(0.5, 800),
            "layers": int(rng.integers(8, 128)),
            "kv_heads": int(rng.integers(1, 64)),
            "head_dim": int(rng.choice([64, 128, 256])),
        }
        bits = int(rng.choice(rl.SUPPORTED_BITS))
        memory = float(rng.choice([0.23, 24, 80, 141, 192]))
        n = int(rng.integers(1, 64))
        context = int(rng.integers(1, 200_000))
        weights = float(rl.weight_bytes(model["total_params_b"], bits))
        per_seq = context * float(rl.kv_bytes_per_token(model["layers"], model["kv_heads"], model["head_dim"]))
        size = int(rl.max_batch(n, memory, bits, model, context))
        if size == 0:
            assert rl.chips_needed(weights + per_seq, memory) > n
        else:
            assert rl.chips_needed(weights + size * per_seq, memory) <= n
            assert rl.chips_needed(weights + (size + 1) * per_seq, memory) > n


def _random_case(rng: np.random.Generator) -> dict[str, Any]:
    total = float(rng.uniform(1, 1000))
    moe = bool(rng.random() < 0.5)
    return {
        "memory_bw_tbps": float(rng.uniform(0.1, 100)),
        "peak_flops": float(rng.uniform(10, 5000)) * 1e12,
        "total_params_b": total,
        "active_params_b": total * float(rng.uniform(0.01, 0.5)) if moe else total,
        "bits": int(rng.choice(rl.SUPPORTED_BITS)),
        "layers": int(rng.integers(4, 128)),
        "kv_heads": int(rng.integers(1, 64)),
        "head_dim": int(rng.choice([64, 128, 256])),
        "attention_heads": int(rng.integers(8, 128)),
        "context": int(rng.integers(1, 500_000)),
        "n_chips": int(rng.integers(1, 512)),
    }


def test_more_bandwidth_or_compute_never_slows_a_user() -> None:
    rng = np.random.default_rng(11)
    for _ in range(500):
        case = _random_case(rng)
        batch = int(rng.integers(1, 4096))
        base = float(decode_bound(batch=batch, **case).per_user_tokens_per_s)
        faster_memory = dict(case, memory_bw_tbps=case["memory_bw_tbps"] * rng.uniform(1, 10))
        faster_compute = dict(case, peak_flops=case["peak_flops"] * rng.uniform(1, 10))
        assert float(decode_bound(batch=batch, **faster_memory).per_user_tokens_per_s) >= base
        assert float(decode_bound(batch=batch, **faster_compute).per_user_tokens_per_s) >= base


def test_larger_batch_raises_system_throughput_and_never_per_user_speed() -> None:
    rng = np.random.default_rng(23)
    for _ in range(300):
        case = _random_case(rng)
        batches = np.sort(rng.integers(1, 100_000, size=20))
        bound = decode_bound(batch=batches, **case)
        system = np.asarray(bound.system_tokens_per_s)
        per_user = np.asarray(bound.per_user_tokens_per_s)
        assert np.all(np.diff(system) >= -1e-9 * system[1:])
        assert np.all(np.diff(per_user) <= 1e-9 * per_user[1:])


def test_point_with_more_bandwidth_or_compute_is_never_slower() -> None:
    rng = np.random.default_rng(5)
    for _ in range(100):
        chip = dict(H100, memory_bw_tbps=float(rng.uniform(0.5, 10)), peak_fp8_tflops=float(rng.uniform(100, 5000)))
        batch = int(rng.integers(1, 64))
        context = int(rng.integers(1, 8192))
        base = roofline_point(chip, LLAMA70, bits=8, batch=batch, context=context, chips=8)
        more_bw = roofline_point(
            dict(chip, memory_bw_tbps=chip["memory_bw_tbps"] * 2), LLAMA70, bits=8, batch=batch, context=context, chips=8
        )
        more_flops = roofline_point(
            dict(chip, peak_fp8_tflops=chip["peak_fp8_tflops"] * 2), LLAMA70, bits=8, batch=batch, context=context, chips=8
        )
        assert more_bw.per_user_tokens_per_s >= base.per_user_tokens_per_s
        assert more_flops.per_user_tokens_per_s >= base.per_user_tokens_per_s
        assert more_bw.per_user_tokens_per_s > base.per_user_tokens_per_s or base.bound == "compute"


def test_prefill_by_hand_and_against_decode() -> None:
    args = _decode_args(H100, LLAMA70, 16)
    prompt = 2048
    pre = prefill_bound(batch=1, prompt_tokens=prompt, **args)
    flops = prompt * (2 * 70e9 + 2 * 2 * 80 * 64 * 128 * (prompt + 1) / 2)
    moved = 140e9 + prompt * LLAMA70_KV_BYTES
    expected = max(flops / 989e12, moved / 3.35e12)
    assert float(pre.time_to_first_token_s) == pytest.approx(expected, rel=1e-12)
    assert str(pre.bound) == "compute"
    assert float(pre.tokens_per_s) == pytest.approx(prompt / expected, rel=1e-12)

    one = prefill_bound(batch=4, prompt_tokens=1, **args)
    step = decode_bound(batch=4, context=1, **args)
    assert float(one.time_s) == pytest.approx(float(step.step_time_s), rel=1e-12)


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    chips = pd.DataFrame([H100, SRAM_CHIP, BF16_ONLY, dict(H100, slug="no-bw", memory_bw_tbps=float("nan"))])
    models = pd.DataFrame([LLAMA70, MOE, SHORT_WINDOW])
    return chips, models


def test_grid_agrees_with_point() -> None:
    chips, models = _tables()
    grid = roofline_grid(chips, models, bits=[4, 8, 16], batches=[1, 7, 64], contexts=[128, 4096, 16_384])
    assert len(grid) == 4 * 3 * 3 * 3 * 3
    assert list(grid.columns) == [
        "chip_slug", "model_slug", "bits", "batch", "context", "chips", "fits",
        "per_user_tokens_per_s", "tokens_per_s_per_chip", "system_tokens_per_s", "bound", "critical_batch",
    ]
    first = grid.iloc[1]
    assert (first.chip_slug, first.model_slug, first.bits, first.batch, first.context) == ("h100-sxm", "llama-70b", 4, 1, 4096)
    chip_rows = {c["slug"]: c for c in chips.to_dict("records")}
    model_rows = {m["slug"]: m for m in models.to_dict("records")}
    fitting = 0
    for row in grid.itertuples(index=False):
        chip, model = chip_rows[str(row.chip_slug)], model_rows[str(row.model_slug)]
        kwargs = {"bits": int(row.bits), "batch": int(row.batch), "context": int(row.context)}
        if not row.fits:
            with pytest.raises(ValueError):
                roofline_point(chip, model, **kwargs)
            assert math.isnan(row.per_user_tokens_per_s)
            continue
        fitting += 1
        point = roofline_point(chip, model, **kwargs)
        assert row.chips == point.chips
        assert row.bound == point.bound
        assert row.per_user_tokens_per_s == pytest.approx(point.per_user_tokens_per_s, rel=1e-12)
        assert row.system_tokens_per_s == pytest.approx(point.system_tokens_per_s, rel=1e-12)
        assert row.tokens_per_s_per_chip == pytest.approx(point.tokens_per_s_per_chip, rel=1e-12)
        assert row.critical_batch == pytest.approx(point.critical_batch, rel=1e-9)
    assert 0 < fitting < len(grid)


def test_grid_marks_what_does_not_fit() -> None:
    chips, models = _tables()
    grid = roofline_grid(chips, models, bits=[8, 16], batches=[1], contexts=[16_384], max_chips=8)
    by_key = grid.set_index(["chip_slug", "model_slug", "bits"])
    assert not by_key.loc[("old-tpu", "llama-70b", 8), "fits"]
    assert by_key.loc[("old-tpu", "llama-70b", 16), "fits"]
    assert not by_key.loc[("no-bw", "llama-70b", 16), "fits"]
    assert not by_key.loc[("h100-sxm", "small-8k", 16), "fits"]
    assert not by_key.loc[("sram-lpu", "llama-70b", 16), "fits"]
    assert by_key.loc[("sram-lpu", "llama-70b", 16), "chips"] > 8
    assert by_key.loc[("h100-sxm", "big-moe", 8), "chips"] == 9
    with pytest.raises(ValueError):
        roofline_grid(chips, models, bits=[12], batches=[1], contexts=[1])
    with pytest.raises(ValueError):
        roofline_grid(chips, models, bits=[8], batches=[0], contexts=[1])


def test_grid_of_a_million_rows_is_vectorized() -> None:
    rng = np.random.default_rng(3)
    n_chips, n_models = 20, 25
    chips = pd.DataFrame(
        [dict(H100, slug=f"chip-{i}", memory_bw_tbps=float(rng.uniform(0.5, 8))) for i in range(n_chips)]
    )
    models = pd.DataFrame(
        [dict(MOE if i % 2 else LLAMA70, slug=f"model-{i}", total_params_b=float(rng.uniform(1, 700))) for i in range(n_models)]
    )
    batches = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    contexts = list(range(512, 512 * 68, 512))[:67]
    grid = roofline_grid(chips, models, bits=[4, 8, 16], batches=batches, contexts=contexts)
    assert len(grid) == n_chips * n_models * 3 * len(batches) * len(contexts) > 1_000_000
    assert grid["fits"].all()  # its speed is measured by `make bench` (the sweep benchmark), not here
