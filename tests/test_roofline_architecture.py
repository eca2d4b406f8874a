"""The decode roofline sizes each sequence's attention cache from the model's architecture.

``roofline_point``, ``roofline_grid`` and ``max_batch`` take the cache and the attention FLOPs from
``analysis.models.attention``. For a grouped-query (or multi-head) model without windowed layers that
is the heads formula, and every number must stay what the heads formula gave, bit for bit; a model
with windowed layers holds at most its window in them, and a latent-attention model its latent and
rotary key. The checks run on the committed ``data/chips.csv`` and ``data/models.csv``; the hand
computations below read the models' columns and write the arithmetic out, calling none of the code
under test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.models import roofline as rl
from analysis.models.roofline_bounds import critical_batch
from analysis.models.roofline_grid import roofline_grid
from analysis.models.roofline_point import roofline_point
from tests.conftest import ROOT

BITS = [4, 8, 16]
BATCHES = [1, 4, 16, 64, 256, 1024]
CONTEXTS = [1, 1024, 2048, 8192, 32768, 131072]
SPEEDS = ["per_user_tokens_per_s", "tokens_per_s_per_chip", "system_tokens_per_s", "critical_batch"]


@pytest.fixture(scope="module")
def chips() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / "chips.csv")


@pytest.fixture(scope="module")
def models() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / "models.csv")


def _plain(models: pd.DataFrame) -> pd.DataFrame:
    """The grouped-query and multi-head models without windowed layers, with a published shape."""
    plain = models["attention_kind"].isin(["gqa", "mha"]) & models["windowed_layers"].isna()
    return models[plain & models["layers"].notna()].reset_index(drop=True)


def _row(frame: pd.DataFrame, slug: str) -> pd.Series:
    return frame.set_index("slug").loc[slug]


def _heads_formula_grid(grid: pd.DataFrame, chips: pd.DataFrame, models: pd.DataFrame) -> dict[str, np.ndarray]:
    """The grid's chips, speeds and bound by the heads formula alone (every layer caches every token),
    with the functions that take bare layer and head counts, row by row of ``grid``."""
    c = chips.set_index("slug").loc[grid["chip_slug"].astype(str)].reset_index()
    m = models.set_index("slug").loc[grid["model_slug"].astype(str)].reset_index()
    bits, batch, context = (grid[k].to_numpy(dtype=np.float64) for k in ("bits", "batch", "context"))
    kv = rl.kv_bytes_per_token(m["layers"], m["kv_heads"], m["head_dim"])
    weights = rl.weight_bytes(m["total_params_b"], bits)
    memory, bandwidth = c["memory_gb"].to_numpy(), c["memory_bw_tbps"].to_numpy()
    n = rl.chips_needed(weights + batch * context * kv, memory)
    peak = np.select([bits == b for b in BITS], [rl.peak_flops_for_bits(c, b) for b in BITS])
    step_bytes = rl.decode_bytes_per_step(m["total_params_b"], m["active_params_b"], bits, m["layers"],
                                          m["kv_heads"], m["head_dim"], batch, context)
    flops = batch * rl.flops_per_token(m["active_params_b"], m["layers"], m["attention_heads"], m["head_dim"], context)
    time_memory = step_bytes / (n * bandwidth * rl.BYTES_PER_TB)
    time_compute = flops / (n * peak)
    step = np.maximum(time_memory, time_compute)
    critical = critical_batch(memory_bw_tbps=bandwidth, peak_flops=peak, total_params_b=m["total_params_b"],
                              active_params_b=m["active_params_b"], bits=bits, layers=m["layers"],
                              kv_heads=m["kv_heads"], head_dim=m["head_dim"],
                              attention_heads=m["attention_heads"], context=context)
    return {"chips": n, "per_user_tokens_per_s": 1.0 / step, "tokens_per_s_per_chip": batch / step / n,
            "system_tokens_per_s": batch / step, "critical_batch": critical,
            "bound": np.where(time_memory >= time_compute, rl.BOUND_MEMORY, rl.BOUND_COMPUTE)}


def test_plain_grouped_query_grid_is_the_heads_formula_bit_for_bit(chips: pd.DataFrame,
                                                                    models: pd.DataFrame) -> None:
    plain = _plain(models)
    assert len(plain) >= 10 and set(plain["attention_kind"]) == {"gqa", "mha"}
    grid = roofline_grid(chips, plain, bits=BITS, batches=BATCHES, contexts=CONTEXTS)
    fits = grid[grid["fits"]].reset_index(drop=True)
    assert len(fits) > 10_000
    heads = _heads_formula_grid(fits, chips, plain)
    assert np.array_equal(fits["chips"].to_numpy(dtype=np.float64), heads["chips"])
    for column in SPEEDS:
        assert np.array_equal(fits[column].to_numpy(dtype=np.float64), heads[column]), column
    assert (fits["bound"].astype(str).to_numpy() == heads["bound"]).all()


def test_plain_grouped_query_points_are_the_heads_formula_bit_for_bit(chips: pd.DataFrame,
                                                                      models: pd.DataFrame) -> None:
    plain = _plain(models)
    chip = _row(chips, "h100-sxm")
    checked = 0
    for _, model in plain.iterrows():
        for context in (128, 2048):
            point = roofline_point(chip, model, bits=8, batch="max", context=context)
            kv = float(rl.kv_bytes_per_token(model["layers"], model["kv_heads"], model["head_dim"]))
            weights = float(rl.weight_bytes(model["total_params_b"], 8))
            assert point.chips == float(rl.chips_needed(weights + context * kv, chip["memory_gb"]))
            free = point.chips * chip["memory_gb"] * rl.BYTES_PER_GB * (1.0 + rl.FIT_RTOL) - weights
            assert point.batch == point.max_batch == math.floor(free / (context * kv))
            step_bytes = float(rl.decode_bytes_per_step(model["total_params_b"], model["active_params_b"], 8,
                                                        model["layers"], model["kv_heads"], model["head_dim"],
                                                        point.batch, context))
            flops = point.batch * float(rl.flops_per_token(model["active_params_b"], model["layers"],
                                                           model["attention_heads"], model["head_dim"], context))
            assert point.bytes_per_step == step_bytes
            assert point.flops_per_step == flops
            checked += 1
    assert checked == 2 * len(plain)


def _windowed_by_hand(chip: pd.Series, model: pd.Series, *, bits: int, batch: int,
                      context: int) -> dict[str, float]:
    """One grid row of a grouped-query model with windowed layers, worked out from its columns."""
    full_layers = model["layers"] - model["windowed_layers"]
    token_layers = full_layers * context + model["windowed_layers"] * min(context, model["window_tokens"])
    cache = 2 * model["kv_heads"] * model["head_dim"] * token_layers * 16 / 8
    weights = model["total_params_b"] * 1e9 * bits / 8
    n_chips = max(1, math.ceil((weights + batch * cache) / (chip["memory_gb"] * 1e9) * (1 - 1e-12)))
    touched = 1 - (1 - model["active_params_b"] / model["total_params_b"]) ** batch
    step_bytes = weights * touched + batch * cache
    flops = batch * (2 * model["active_params_b"] * 1e9 + 2 * 2 * model["attention_heads"] * model["head_dim"]
                     * token_layers)
    peak = {4: chip["peak_fp4_tflops"], 8: max(chip["peak_fp8_tflops"], chip["peak_int8_tops"]),
            16: chip["peak_bf16_tflops"]}[bits] * 1e12
    time_memory = step_bytes / (n_chips * chip["memory_bw_tbps"] * 1e12)
    time_compute = flops / (n_chips * peak)
    step = max(time_memory, time_compute)
    return {"chips": n_chips, "per_user_tokens_per_s": 1 / step, "tokens_per_s_per_chip": batch / step / n_chips,
            "bound": "memory" if time_memory >= time_compute else "compute"}


@pytest.mark.parametrize("slug", ["gpt-oss-120b", "llama-4-maverick"])
def test_windowed_grid_row_equals_the_hand_computation(chips: pd.DataFrame, models: pd.DataFrame,
                                                       slug: str) -> None:
    chip, model = _row(chips, "h100-sxm"), _row(models, slug)
    assert model["windowed_layers"] > 0 and model["window_tokens"] < 32768
    grid = roofline_grid(chips[chips["slug"].eq("h100-sxm")], models[models["slug"].eq(slug)],
                         bits=[8], batches=[64], contexts=[32768])
    row = grid.iloc[0]
    hand = _windowed_by_hand(chip, model, bits=8, batch=64, context=32768)
    assert row["fits"] and row["chips"] == hand["chips"] and row["bound"] == hand["bound"]
    for column in ("per_user_tokens_per_s", "tokens_per_s_per_chip"):
        assert row[column] == pytest.approx(hand[column], rel=1e-12), column


@pytest.mark.parametrize("slug", ["gpt-oss-120b", "llama-4-maverick"])
def test_windowed_grid_bound_beats_the_heads_formula_at_long_context(chips: pd.DataFrame, models: pd.DataFrame,
                                                                     slug: str) -> None:
    chosen = models[models["slug"].eq(slug)].reset_index(drop=True)
    window = int(chosen.loc[0, "window_tokens"])
    grid = roofline_grid(chips, chosen, bits=[8], batches=[1, 64, 256], contexts=[window, 32768])
    grid = grid[grid["fits"]].reset_index(drop=True)
    heads = _heads_formula_grid(grid, chips, chosen)
    long = grid["context"].eq(32768).to_numpy()
    assert long.sum() > 20
    per_chip = grid["tokens_per_s_per_chip"].to_numpy(dtype=np.float64)
    assert (per_chip[long] > heads["tokens_per_s_per_chip"][long]).all()
    assert (grid["chips"].to_numpy(dtype=np.float64)[long] <= heads["chips"][long]).all()
    at_window = ~long
    assert np.array_equal(per_chip[at_window], heads["tokens_per_s_per_chip"][at_window]), \
        "up to its window a windowed layer holds every token, as the heads formula says"


def test_windowed_cache_stops_growing_beyond_the_window(chips: pd.DataFrame, models: pd.DataFrame) -> None:
    chip, model = _row(chips, "b200"), _row(models, "gpt-oss-120b")
    small, large = (roofline_point(chip, model, bits=8, batch=1, context=c, chips=1) for c in (16384, 32768))
    weights_read = model["active_params_b"] * 1e9
    growth = (large.bytes_per_step - weights_read) / (small.bytes_per_step - weights_read)
    full = model["layers"] - model["windowed_layers"]
    expected = (full * 32768 + model["windowed_layers"] * model["window_tokens"]) / (
        full * 16384 + model["windowed_layers"] * model["window_tokens"])
    assert growth == pytest.approx(expected, rel=1e-9) and growth < 2


def test_latent_attention_fits_its_latent_cache(chips: pd.DataFrame, models: pd.DataFrame) -> None:
    chip, model = _row(chips, "h200"), _row(models, "deepseek-r1")
    context = 8192
    point = roofline_point(chip, model, bits=8, batch="max", context=context)
    cache = (model["kv_lora_rank"] + model["rope_head_dim"]) * model["layers"] * context * 16 / 8
    weights = model["total_params_b"] * 1e9
    assert point.chips == math.ceil((weights + cache) / (chip["memory_gb"] * 1e9) * (1 - 1e-12))
    free = point.chips * chip["memory_gb"] * 1e9 * (1 + 1e-12) - weights
    assert point.batch == point.max_batch == math.floor(free / cache)
    heads = 2 * model["layers"] * model["kv_heads"] * model["head_dim"] * context * 16 / 8
    assert point.batch > 50 * math.floor(free / heads)


def test_latent_attention_without_its_rank_is_refused(chips: pd.DataFrame, models: pd.DataFrame) -> None:
    chip = _row(chips, "h200")
    broken = models[models["slug"].eq("deepseek-r1")].assign(kv_lora_rank=np.nan).reset_index(drop=True)
    with pytest.raises(ValueError, match="attention cache of deepseek-r1 is missing"):
        roofline_point(chip, broken.iloc[0], bits=8, batch=1, context=1024, chips=8)
    grid = roofline_grid(chips[chips["slug"].eq("h200")], broken, bits=[8], batches=[1], contexts=[1024])
    assert not grid["fits"].any() and grid["per_user_tokens_per_s"].isna().all()


def test_max_batch_reads_the_architecture(models: pd.DataFrame) -> None:
    oss = _row(models, "gpt-oss-120b")
    context = 65536
    token_layers = (oss["layers"] - oss["windowed_layers"]) * context + oss["windowed_layers"] * oss["window_tokens"]
    cache = 2 * oss["kv_heads"] * oss["head_dim"] * token_layers * 16 / 8
    free = 4 * 80e9 * (1 + 1e-12) - oss["total_params_b"] * 1e9
    assert float(rl.max_batch(4, 80, 8, oss, context)) == math.floor(free / cache)
