"""Every measurement against its physical ceiling at its own conditions (``analysis.models.ceilings``)
and the attention cache from each model's architecture (``analysis.models.attention``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.build import analyses, bookstore
from analysis.data import reader, store
from analysis.models import assumptions, attention, ceilings, roofline
from tests.conftest import ROOT

DATA = ROOT / "data"


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv")


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return {name: _csv(name) for name in ("benchmarks", "chips", "models", "mlperf_benchmarks", "claims")}


def _model(tables: dict[str, pd.DataFrame], slug: str) -> pd.DataFrame:
    return tables["models"][tables["models"]["slug"].eq(slug)].reset_index(drop=True)


def test_latent_attention_caches_its_latent_not_its_heads(tables: dict[str, pd.DataFrame]) -> None:
    r1 = _model(tables, "deepseek-r1").iloc[0]
    latent = (r1["kv_lora_rank"] + r1["rope_head_dim"]) * r1["layers"] * 16 / 8
    per_token = float(attention.kv_cache_bytes(_model(tables, "deepseek-r1"), 1, kv_bits=16)[0])
    assert per_token == latent
    heads = float(roofline.kv_bytes_per_token(r1["layers"], r1["kv_heads"], r1["head_dim"], kv_bits=16))
    assert heads / per_token > 50, "the uncompressed heads would overstate the cache more than fifty-fold"


def test_grouped_query_cache_agrees_with_the_roofline_formula(tables: dict[str, pd.DataFrame]) -> None:
    llama = _model(tables, "llama-2-70b")
    row = llama.iloc[0]
    for bits in (4, 8, 16):
        expected = 2048 * roofline.kv_bytes_per_token(row["layers"], row["kv_heads"], row["head_dim"], kv_bits=bits)
        assert float(attention.kv_cache_bytes(llama, 2048, kv_bits=bits)[0]) == float(expected)


def test_windowed_layers_hold_at_most_their_window(tables: dict[str, pd.DataFrame]) -> None:
    oss = _model(tables, "gpt-oss-120b")
    row = oss.iloc[0]
    full = row["layers"] - row["windowed_layers"]
    for context in (64, row["window_tokens"], 4096, 131072):
        held = full * context + row["windowed_layers"] * min(context, row["window_tokens"])
        assert float(attention.cached_token_layers(oss, context)[0]) == held
    long, short = attention.kv_cache_bytes(oss, [131072, 65536], kv_bits=8)
    assert long < 2 * short, "the windowed half of the cache stops growing"


def test_unknown_attention_kind_is_an_error(tables: dict[str, pd.DataFrame]) -> None:
    bad = _model(tables, "llama-2-70b").assign(attention_kind="linear")
    with pytest.raises(ValueError, match="attention_kind must be one of"):
        attention.kv_cache_bytes(bad, 10)


def test_conditions_follow_each_benchmark_and_scenario(tables: dict[str, pd.DataFrame]) -> None:
    b = tables["benchmarks"]
    cond = ceilings.conditions(b, tables["mlperf_benchmarks"])
    d = tables["mlperf_benchmarks"].set_index("benchmark")
    interactive = b["kind"].eq("mlperf-interactive") & b["benchmark"].eq("llama2-70b-99")
    assert cond.loc[interactive, "tpot_limit_ms"].eq(d.loc["llama2-70b-99", "interactive_tpot_ms"]).all()
    offline = b["kind"].eq("mlperf-offline")
    assert cond.loc[offline, "tpot_limit_ms"].isna().all()
    speculative = b["benchmark"].eq("deepseek-r1") & b["kind"].eq("mlperf-interactive") & b["round"].eq("v6.0")
    assert speculative.any()
    assert cond.loc[speculative, "tokens_per_step"].eq(d.loc["deepseek-r1", "max_tokens_per_step"]).all()
    assert cond.loc[~speculative, "tokens_per_step"].eq(1).all()
    assert (cond["kv_bits"] <= cond["weight_bits"]).all()
    assert cond["kv_bits"].max() == assumptions.KV_BITS_MOST_COMPACT.value


def test_no_measurement_exceeds_its_ceiling(tables: dict[str, pd.DataFrame]) -> None:
    table = ceilings.ceilings(tables["benchmarks"], tables["chips"], tables["models"], tables["mlperf_benchmarks"])
    assert len(table) == len(tables["benchmarks"])
    bounded = table[table["status"].eq(ceilings.STATUS_BOUNDED)]
    assert len(bounded) > 0.9 * table["kind"].str.startswith("mlperf").sum()
    assert np.isfinite(bounded["ceiling_tokens_per_s"]).all()
    assert ceilings.above_ceiling(table).empty
    ceilings.check(table)


def test_a_measurement_above_its_ceiling_stops_the_check(tables: dict[str, pd.DataFrame]) -> None:
    b = tables["benchmarks"].copy()
    table = ceilings.ceilings(b, tables["chips"], tables["models"], tables["mlperf_benchmarks"])
    row = table[table["status"].eq(ceilings.STATUS_BOUNDED) & table["basis"].eq(ceilings.BASIS_ACCELERATOR)].iloc[0]
    at = b["benchmark_id"].eq(row["benchmark_id"])
    factor = 1.01 / row["fraction_of_ceiling"]
    b.loc[at, ["system_tokens_per_s", "per_accelerator_tokens_per_s"]] *= factor
    doctored = ceilings.ceilings(b, tables["chips"], tables["models"], tables["mlperf_benchmarks"])
    with pytest.raises(ValueError, match=row["benchmark_id"]):
        ceilings.check(doctored)


def test_speculative_decoding_raises_only_its_own_ceilings(tables: dict[str, pd.DataFrame]) -> None:
    # Llama 2 70B under a latency limit just above the time its system takes to read the weights once:
    # the weights then set the batch, so allowing four tokens per step lifts the ceiling; rows the
    # allowance does not cover keep theirs.
    b, chips = tables["benchmarks"], tables["chips"].set_index("slug")
    rows = b[b["benchmark"].eq("llama2-70b-99") & b["kind"].eq("mlperf-interactive") & b["chip_slug"].notna()]
    row = rows.iloc[0]
    total = tables["models"].set_index("slug").loc["llama-2-70b", "total_params_b"]
    read_s = total * 1e9 * row["precision_bits"] / 8 / (row["accelerators"] * chips.loc[row["chip_slug"], "memory_bw_tbps"] * 1e12)
    d = tables["mlperf_benchmarks"].set_index("benchmark")
    d.loc["llama2-70b-99", ["speculative_scenario", "speculative_first_round", "max_tokens_per_step"]] = [
        "interactive", "v5.1", 4]
    d.loc["llama2-70b-99", "interactive_tpot_ms"] = 1.05 * read_s * 1000
    spec = ceilings.ceilings(b, tables["chips"], tables["models"], d.reset_index()).set_index("benchmark_id")
    plain = ceilings.ceilings(b, tables["chips"], tables["models"],
                              d.assign(max_tokens_per_step=np.nan).reset_index()).set_index("benchmark_id")
    assert spec.loc[row["benchmark_id"], "ceiling_tokens_per_s"] > 1.5 * plain.loc[row["benchmark_id"], "ceiling_tokens_per_s"]
    assert (spec["ceiling_tokens_per_s"].fillna(0) >= plain["ceiling_tokens_per_s"].fillna(0)).all()
    raised = spec["ceiling_tokens_per_s"].gt(plain["ceiling_tokens_per_s"] * (1 + 1e-12))
    assert spec.loc[raised, "tokens_per_step"].gt(1).all()


def test_a_per_user_speed_without_a_chip_count_gets_the_fewest_chips_it_implies(
        tables: dict[str, pd.DataFrame]) -> None:
    table = ceilings.ceilings(tables["benchmarks"], tables["chips"], tables["models"], tables["mlperf_benchmarks"])
    unknown = table[table["status"].eq(ceilings.STATUS_NO_COUNT)]
    assert not unknown.empty and unknown["ceiling_tokens_per_s"].isna().all()
    groq = unknown[unknown["chip_slug"].eq("groq-lpu")]
    chips = tables["chips"].set_index("slug")
    sram_gb = chips.loc["groq-lpu", "memory_gb"]
    for r in groq.itertuples():
        total = tables["models"].set_index("slug").loc[r.model_slug, "total_params_b"]
        assert r.implied_min_chips >= total * r.weight_bits / 8 / sram_gb, "at least enough chips to hold the weights"


def test_the_article_claims_are_bounded_at_their_kindest_reading(tables: dict[str, pd.DataFrame]) -> None:
    rows = ceilings.claim_rows(tables["claims"], tables["chips"], tables["models"])
    table = ceilings.ceilings(rows, tables["chips"], tables["models"], tables["mlperf_benchmarks"])
    assert set(table["benchmark_id"]) >= {"c01-h100-throughput", "c04-groq-throughput"}
    groq = table.set_index("benchmark_id").loc["c04-groq-throughput"]
    assert groq["accelerators"] > 100, "a 70B model needs well over a hundred 230 MB chips"


def test_assumptions_cite_sources_the_book_has() -> None:
    known = set(_csv("sources")["source_id"])
    for item in assumptions.ALL:
        assert item.source_ids and set(item.source_ids) <= known, item.name


@pytest.mark.data
def test_the_store_holds_a_ceiling_for_every_benchmark_row() -> None:
    with reader.open_store(DATA / store.STORE_NAME) as db:
        derived = db.table("derived_ceilings")
        benchmarks = db.table("benchmarks")
    assert sorted(derived["benchmark_id"]) == sorted(benchmarks["benchmark_id"])
    assert ceilings.above_ceiling(derived).empty


@pytest.mark.build
@pytest.mark.slow
def test_the_build_stops_on_a_measurement_above_its_ceiling(tmp_path: Path, tables: dict[str, pd.DataFrame]) -> None:
    for name in ("analyses", "data"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("*.duckdb*", ".*"))
    path = tmp_path / "data" / "benchmarks.csv"
    b = pd.read_csv(path, dtype=str, keep_default_na=False)
    table = ceilings.ceilings(tables["benchmarks"], tables["chips"], tables["models"], tables["mlperf_benchmarks"])
    row = table[table["status"].eq(ceilings.STATUS_BOUNDED) & table["basis"].eq(ceilings.BASIS_ACCELERATOR)].iloc[0]
    at = b["benchmark_id"].eq(row["benchmark_id"])
    for column in ("system_tokens_per_s", "per_accelerator_tokens_per_s"):
        b.loc[at, column] = f"{float(b.loc[at, column].iloc[0]) * 2 / row['fraction_of_ceiling']:.1f}"
    b.to_csv(path, index=False, lineterminator="\n")
    target = tmp_path / "out.duckdb"
    with pytest.raises(analyses.AnalysisFailed, match=row["benchmark_id"]):
        bookstore.build(tmp_path / "data", target, root=tmp_path, echo=lambda _: None)
    assert not target.exists(), "nothing is swapped in when the check fails"


def test_the_cost_base_case_is_rows_of_the_energy_table() -> None:
    energy = _csv("energy")
    case = assumptions.base_case(energy)
    spans = assumptions.spans(energy)
    rows = energy.set_index("parameter_id")
    for item in assumptions.COST_BASE_CASE:
        assert rows.loc[item.parameter_id, "parameter"] == item.input
        low, high = spans[item.input]
        assert low <= case[item.input] <= high
    with pytest.raises(KeyError, match="capital-coreweave-ddtl2-2025"):
        assumptions.base_case(energy[energy["parameter_id"].ne("capital-coreweave-ddtl2-2025")])


def test_best_measured_throughput_prefers_the_server_scenario(tables: dict[str, pd.DataFrame]) -> None:
    from analysis.models import evidence

    b = tables["benchmarks"]
    best = evidence.best_measured_throughput(b, "h100-sxm", "llama-2-70b", 8)
    assert best is not None and best["kind"] == "mlperf-server" and best["division"] == "closed"
    same = b[b["chip_slug"].eq("h100-sxm") & b["model_slug"].eq("llama-2-70b") & b["kind"].eq("mlperf-server")
             & b["division"].eq("closed") & b["precision_bits"].eq(8)]
    assert best["per_accelerator_tokens_per_s"] == same["per_accelerator_tokens_per_s"].max()
    assert evidence.best_measured_throughput(b, "h100-sxm", "llama-2-70b", 16) is None


@pytest.mark.data
def test_cost_scenarios_use_measured_throughput_under_its_ceiling() -> None:
    with reader.open_store(DATA / store.STORE_NAME) as db:
        scenarios = db.table("derived_cost_scenarios")
        benchmarks = db.table("benchmarks").set_index("benchmark_id")
    measured = scenarios[scenarios["measured_benchmark_id"].notna()]
    assert len(measured) > 0
    expected = benchmarks.loc[measured["measured_benchmark_id"], "per_accelerator_tokens_per_s"].to_numpy()
    assert np.allclose(measured["tokens_per_s"].to_numpy(), expected, rtol=1e-4)
    assert (scenarios["tokens_per_s"] <= scenarios["ceiling_tokens_per_s"] * (1 + 1e-9)).all()
    owned = scenarios[scenarios["basis"].eq("owned")]
    assert (owned["hosting_usd_per_hour"] > 0).all() and (owned["cost_of_capital"] > 0).all()
