"""Verdict rules for the article's claims, and the roofline against every published measurement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data.reader import open_store
from analysis.models import market, roofline
from analysis.rules import market_claims, verdicts, vocabulary
from tests.conftest import ROOT

CHIP = {"slug": "x1", "memory_kind": "hbm", "memory_gb": 80.0, "memory_bw_tbps": 3.35, "peak_bf16_tflops": 989.0,
        "peak_fp8_tflops": 1979.0, "peak_int8_tops": 1979.0, "peak_fp4_tflops": float("nan"),
        "precisions": ["bf16", "fp16", "fp8", "int8"], "source_ids": ["s"]}
MODEL = {"slug": "m70", "name": "M 70B", "architecture": "dense", "total_params_b": 70.0, "active_params_b": 70.0,
         "layers": 80, "d_model": 8192, "attention_heads": 64, "kv_heads": 8, "head_dim": 128,
         "context_length": 4096, "capability_class": "70b-class"}


def _claims(rows: list[dict]) -> pd.DataFrame:
    base = {"section": "technical", "subject": "x1", "chip_slug": "x1", "model_slug": "m70", "year": None,
            "scope": "unspecified", "qualifier": None, "unit": "tokens/s", "value_low": None, "value_high": None}
    return pd.DataFrame([{**base, **r} for r in rows])


def _bench(rows: list[dict]) -> pd.DataFrame:
    base = {"chip_slug": "x1", "model_slug": "m70", "precision_bits": 8, "accelerators": None,
            "per_accelerator_tokens_per_s": None, "per_user_tokens_per_s": None, "source_ids": ["s"]}
    return pd.DataFrame([{**base, **r} for r in rows])


EMPTY_BENCH = pd.DataFrame(columns=["benchmark_id", "chip_slug", "model_slug", "kind", "precision_bits", "accelerators",
                                    "per_accelerator_tokens_per_s", "per_user_tokens_per_s", "source_ids"])


def _check(claims: pd.DataFrame, bench: pd.DataFrame) -> pd.DataFrame:
    return verdicts.check_chip_claims(claims, pd.DataFrame([CHIP]), pd.DataFrame([MODEL]), bench).set_index("claim_id")


def test_throughput_rules() -> None:
    claims = _claims([
        {"claim_id": "near", "metric": "throughput_tokens_per_s", "value_low": 3000, "value_high": 3000},
        {"claim_id": "far", "metric": "throughput_tokens_per_s", "value_low": 9000, "value_high": 9000},
        {"claim_id": "impossible", "metric": "throughput_tokens_per_s", "value_low": 50000, "value_high": 50000},
        {"claim_id": "prec", "metric": "precision", "qualifier": "FP8; FP16"},
    ])
    bench = _bench([{"benchmark_id": "b1", "kind": "mlperf-offline", "accelerators": 8,
                     "per_accelerator_tokens_per_s": 3065.6}])
    out = _check(claims, bench)
    assert out.loc["near", "verdict"] == "supported"
    assert out.loc["far", "verdict"] == "contradicted"
    assert out.loc["impossible", "verdict"] == "contradicted" and "above what one chip" in out.loc["impossible", "reason"]
    assert out.loc["near", "ceiling"] == pytest.approx(1979e12 / float(roofline.flops_per_token(70, 80, 64, 128, 2048)))


def test_per_user_speed_presented_per_chip_is_misleading() -> None:
    small = {**CHIP, "memory_gb": 0.23}
    claims = _claims([{"claim_id": "t", "metric": "throughput_tokens_per_s", "value_low": 500, "value_high": 500},
                      {"claim_id": "l", "metric": "latency_ms_per_token", "value_low": None, "value_high": 1}])
    bench = _bench([{"benchmark_id": "u", "kind": "vendor-per-user", "per_user_tokens_per_s": 480}])
    out = verdicts.check_chip_claims(claims, pd.DataFrame([small]), pd.DataFrame([MODEL]), bench).set_index("claim_id")
    assert out.loc["t", "verdict"] == "misleading"
    assert out.loc["l", "verdict"] == "contradicted"
    assert out.loc["l", "measurement"] == pytest.approx(1000 / 480)


def test_latency_within_tolerance_is_supported_and_missing_is_unverifiable() -> None:
    claims = _claims([{"claim_id": "l", "metric": "latency_ms_per_token", "value_low": 15, "value_high": 30}])
    assert _check(claims, EMPTY_BENCH)["verdict"].iloc[0] == "unverifiable"
    bench = _bench([{"benchmark_id": "u", "kind": "third-party-per-user", "per_user_tokens_per_s": 50}])
    assert _check(claims, bench)["verdict"].iloc[0] == "supported"


def test_precision_rules() -> None:
    claims = _claims([{"claim_id": "some", "metric": "precision", "qualifier": "INT4; INT8"},
                      {"claim_id": "none", "metric": "precision", "qualifier": "FP4"}])
    out = _check(claims, EMPTY_BENCH)
    assert out.loc["some", "verdict"] == "misleading" and "INT4" in out.loc["some", "reason"]
    assert out.loc["none", "verdict"] == "contradicted"


def test_cost_claims_against_observed_prices() -> None:
    claims = pd.DataFrame([
        {"claim_id": "hi", "metric": "cost_usd_per_mtok", "subject": "cloud-gpu-h100", "year": 2026, "value_low": 5.0, "value_high": 10.0},
        {"claim_id": "ok", "metric": "cost_usd_per_mtok", "subject": "cloud-gpu-h100", "year": 2026, "value_low": 0.3, "value_high": 1.0},
        {"claim_id": "old", "metric": "cost_usd_per_mtok", "subject": "cloud-gpu-h100", "year": 2024, "value_low": 15.0, "value_high": 25.0},
        {"claim_id": "na", "metric": "cost_usd_per_mtok", "subject": "consumer-device", "year": 2024, "value_low": None, "value_high": None},
        {"claim_id": "tail", "metric": "cost_usd_per_mtok", "subject": "cloud-gpu-h100", "year": 2026, "value_low": 0.85, "value_high": 1.0},
    ])
    observed = pd.DataFrame({"price_id": ["a", "b", "c"], "provider": ["p", "q", "p"], "segment": "cloud",
                             "year": [2026, 2026, 2025], "date_observed": pd.to_datetime(["2026-01-01", "2026-02-01", "2025-02-06"]),
                             "output_usd_per_mtok": [0.4, 0.9, 0.8]})
    out = market_claims.check_cost_claims(claims, observed, device=None).set_index("claim_id")
    assert out.loc["hi", "verdict"] == "contradicted"
    assert out.loc["ok", "verdict"] == "supported"
    assert out.loc["old", "verdict"] == "contradicted" and "2025-02-06" in out.loc["old", "reason"]
    assert out.loc["na", "verdict"] == "unverifiable"
    # 0.85-1.00 holds the highest 2026 price (0.90) but misses the middle half (0.525-0.775)
    assert out.loc["tail", "verdict"] == "misleading" and "only 1 of the 2 prices is in the range" in out.loc["tail", "reason"]


def test_funding_round_presented_as_total_is_misleading() -> None:
    claims = pd.DataFrame([{"claim_id": "f", "metric": "funding_usd", "subject": "acme", "value_low": 676e6}])
    funding = pd.DataFrame({"company_slug": ["acme", "acme"], "date": pd.to_datetime(["2020-01-01", "2021-04-13"]),
                            "round": ["Series C", "Series D"], "amount_usd_m": [250.0, 676.0]})
    out = market_claims.check_funding_claims(claims, funding, before="2025-01-01")
    assert out["verdict"].iloc[0] == "misleading"
    sums = market_claims.check_funding_claims(claims.assign(value_low=926e6), funding, before="2025-01-01")
    assert sums["verdict"].iloc[0] == "supported"


@pytest.mark.data
def test_no_published_measurement_exceeds_its_roofline_ceiling() -> None:
    """The bound is never below a measurement in the store for the same chip, model and precision."""
    with open_store(ROOT / "data" / "inference.duckdb") as db:
        bench = db.table("benchmarks")
        chips = db.table("chips").set_index("slug", drop=False)
        models = db.table("models").set_index("slug", drop=False)
    checked = 0
    for _, b in bench.dropna(subset=["per_accelerator_tokens_per_s", "precision_bits", "chip_slug", "model_slug"]).iterrows():
        if int(b["precision_bits"]) not in roofline.SUPPORTED_BITS:
            continue  # the roofline models 4, 8 and 16 bits (a few open-division entries ran at 32)
        chip, model = chips.loc[b["chip_slug"]], models.loc[b["model_slug"]]
        ceiling = verdicts.compute_ceiling_per_chip(chip, model, int(b["precision_bits"]), 1)
        if ceiling is None:
            continue
        assert b["per_accelerator_tokens_per_s"] <= ceiling, b["benchmark_id"]
        checked += 1
    assert checked >= 15


def test_one_user_on_one_chip_is_that_chips_throughput() -> None:
    claims = _claims([{"claim_id": "t", "metric": "throughput_tokens_per_s", "value_low": 100, "value_high": 100},
                      {"claim_id": "far", "metric": "throughput_tokens_per_s", "value_low": 300, "value_high": 300}])
    one = _bench([{"benchmark_id": "u", "kind": "llamacpp-decode", "accelerators": 1, "per_user_tokens_per_s": 94.3}])
    out = _check(claims, one)
    assert out.loc["t", "verdict"] == "supported" and "one user on one chip" in out.loc["t", "reason"]
    assert out.loc["far", "verdict"] == "contradicted"
    many = _bench([{"benchmark_id": "u", "kind": "llamacpp-decode", "accelerators": 4, "per_user_tokens_per_s": 94.3}])
    assert _check(claims, many).loc["t", "verdict"] == "misleading", "four chips: a per-user speed is not per chip"


def test_a_per_chip_claim_from_a_per_user_speed_states_the_concurrency_it_needs() -> None:
    claims = _claims([{"claim_id": "t", "metric": "throughput_tokens_per_s", "value_low": 900, "value_high": 900}])
    bench = _bench([{"benchmark_id": "u", "kind": "vendor-per-user", "per_user_tokens_per_s": 300}])
    small = {**CHIP, "memory_gb": 0.23}
    out = verdicts.check_chip_claims(claims, pd.DataFrame([small]), pd.DataFrame([MODEL]), bench).set_index("claim_id")
    users, tokens = verdicts.max_mean_context(900, 300, pd.Series(small), pd.Series(MODEL), 8)
    assert users == pytest.approx(3.0)
    assert tokens == pytest.approx(0.23e9 / (3 * 2 * 80 * 8 * 128))
    assert out.loc["t", "verdict"] == "unverifiable" and f"{tokens:,.0f} tokens" in out.loc["t", "reason"]
    tiny = {**small, "memory_gb": 1e-6}
    out = verdicts.check_chip_claims(claims, pd.DataFrame([tiny]), pd.DataFrame([MODEL]), bench).set_index("claim_id")
    assert out.loc["t", "verdict"] == "contradicted", "caches that cannot fit one token each rule the claim out"


def test_small_ceilings_keep_their_digits() -> None:
    assert verdicts.format_number(0.031) == "0.031"
    assert verdicts.format_number(3.3) == "3.3"
    assert verdicts.format_number(14304.0) == "14,304"


def recorded(*names: str) -> list[pd.DataFrame]:
    """The committed tables ``names``, read from ``data/`` as the rules get them in a unit test."""
    return [pd.read_csv(ROOT / "data" / f"{name}.csv") for name in names]


def test_every_claim_is_judged_by_exactly_one_rule() -> None:
    from analysis.rules import claims as claim_rules

    claims, chips, benchmarks, events = recorded("claims", "chips", "benchmarks", "events")
    rules = claim_rules.covered(claims, chips)
    assert sorted(rules.index) == sorted(claims["claim_id"])
    others = claim_rules.check_other_claims(claims, chips, benchmarks, events)
    left = set(rules[~rules.isin([claim_rules.RULE_CHIP_TABLE, claim_rules.RULE_COST_TABLE, claim_rules.RULE_FUNDING,
                                  claim_rules.RULE_FORECAST])].index)
    assert set(others["claim_id"]) == left and others["verdict"].isin(vocabulary.VERDICTS).all()
    chip_ids = set(verdicts.check_chip_claims(claims, chips.assign(precisions=chips["precisions"].str.split(";")),
                                              pd.read_csv(ROOT / "data" / "models.csv"), benchmarks)["claim_id"])
    assert chip_ids == set(rules[rules.eq(claim_rules.RULE_CHIP_TABLE)].index)
    cost_ids = set(claims.loc[claims["metric"].eq("cost_usd_per_mtok"), "claim_id"])
    assert cost_ids == set(rules[rules.eq(claim_rules.RULE_COST_TABLE)].index)
    forecast_ids = set(pd.read_csv(ROOT / "data" / "forecasts.csv")["forecast_id"])
    assert set(claim_rules.FORECAST_OF_CLAIM.values()) <= forecast_ids


def test_statements_about_formats_and_fitting_are_checked_against_the_records() -> None:
    from analysis.rules import claims as claim_rules

    claims, chips, benchmarks, events = recorded("claims", "chips", "benchmarks", "events")
    out = claim_rules.check_other_claims(claims, chips, benchmarks, events).set_index("claim_id")
    assert out.loc["c43-lpu-integer-only", "verdict"] == "contradicted" and "FP16" in out.loc["c43-lpu-integer-only", "reason"]
    assert out.loc["c44-wse3-70b-one-wafer", "verdict"] == "contradicted"
    assert out.loc["c18-wse3-sram", "verdict"] == "supported"
    doctored = chips.assign(memory_gb=chips["memory_gb"].where(chips["slug"].ne("wse-3"), 200.0),
                            precisions=chips["precisions"].where(chips["slug"].ne("groq-lpu"), "int8"))
    again = claim_rules.check_other_claims(claims, doctored, benchmarks, events).set_index("claim_id")
    assert again.loc["c44-wse3-70b-one-wafer", "verdict"] == "supported", "a wafer of 200 GB would hold 70B at 16 bits"
    assert again.loc["c43-lpu-integer-only", "verdict"] == "supported"
    assert again.loc["c18-wse3-sram", "verdict"] == "contradicted"
    assert claim_rules.claimed_inference_precisions(
        "training FP16/BF16; inference INT8, INT4, binary/ternary") == ["int8", "int4", "binary", "ternary"]


def test_a_wafers_transistors_and_cores_are_checked_against_its_record() -> None:
    from analysis.rules import claims as claim_rules

    claims, chips, benchmarks, events = recorded("claims", "chips", "benchmarks", "events")
    out = claim_rules.check_other_claims(claims, chips, benchmarks, events).set_index("claim_id")
    for claim_id in ("c16-wse3-transistors", "c17-wse3-cores"):
        assert out.loc[claim_id, "rule"] == claim_rules.RULE_SPEC and out.loc[claim_id, "verdict"] == "supported"
    wse3 = chips["slug"].eq("wse-3")
    fewer = chips.assign(transistors=chips["transistors"].where(~wse3, 2.6e12), cores=chips["cores"].where(~wse3))
    again = claim_rules.check_other_claims(claims, fewer, benchmarks, events).set_index("claim_id")
    assert again.loc["c16-wse3-transistors", "verdict"] == "contradicted"
    assert again.loc["c17-wse3-cores", "verdict"] == "unverifiable"


def test_an_execution_model_is_checked_against_the_chips_record() -> None:
    from analysis.rules import claims as claim_rules

    claims, chips, benchmarks, events = recorded("claims", "chips", "benchmarks", "events")

    def verdict_with(record: str | None) -> str:
        doctored = chips.assign(execution_model=chips["execution_model"].where(chips["slug"].ne("groq-lpu"), record))
        out = claim_rules.check_other_claims(claims, doctored, benchmarks, events).set_index("claim_id")
        return str(out.loc["c48-groqchip-simt", "verdict"])

    out = claim_rules.check_other_claims(claims, chips, benchmarks, events).set_index("claim_id")
    assert out.loc["c48-groqchip-simt", "rule"] == claim_rules.RULE_ARCHITECTURE
    assert out.loc["c48-groqchip-simt", "verdict"] == "misleading" and "simt not on record" in out.loc["c48-groqchip-simt", "reason"]
    assert verdict_with("simt;static-schedule") == "supported"
    assert verdict_with("simd") == "contradicted"
    assert verdict_with(None) == "unverifiable"
    # the store hands list columns over as arrays, not as the CSV's strings
    as_arrays = chips.assign(execution_model=chips["execution_model"].map(
        lambda v: np.array(v.split(";")) if isinstance(v, str) else None))
    from_store = claim_rules.check_other_claims(claims, as_arrays, benchmarks, events).set_index("claim_id")
    assert from_store.loc["c48-groqchip-simt", "verdict"] == "misleading"


def test_deployments_are_checked_against_the_events_on_record() -> None:
    from analysis.rules import claims as claim_rules

    claims, chips, benchmarks, events = recorded("claims", "chips", "benchmarks", "events")
    out = claim_rules.check_other_claims(claims, chips, benchmarks, events).set_index("claim_id")
    for claim_id in ("c46-cerebras-argonne", "c47-sambanova-doe"):
        assert out.loc[claim_id, "rule"] == claim_rules.RULE_DEPLOYMENT and out.loc[claim_id, "verdict"] == "supported"
    assert "September 2019" in out.loc["c46-cerebras-argonne", "reason"]
    later = events.assign(date=events["date"].where(events["kind"].ne("deployment"), "2026-01-01"))
    again = claim_rules.check_other_claims(claims, chips, benchmarks, later).set_index("claim_id")
    assert again.loc["c46-cerebras-argonne", "verdict"] == "unverifiable", "a deployment after the statement cannot back it"
    elsewhere = events.assign(title=events["title"].str.replace("Argonne", "Oak Ridge"))
    assert claim_rules.check_other_claims(claims, chips, benchmarks, elsewhere).set_index("claim_id").loc[
        "c46-cerebras-argonne", "verdict"] == "unverifiable"


def test_an_owners_cost_is_not_judged_by_list_prices() -> None:
    claims = pd.DataFrame([{"claim_id": "own", "metric": "cost_usd_per_mtok", "subject": "onprem-dedicated-chip",
                            "year": 2026, "value_low": 1.0, "value_high": 3.0}])
    observed = pd.DataFrame({"price_id": ["a"], "provider": ["groq"], "segment": market.DEDICATED, "year": [2026],
                             "date_observed": pd.to_datetime(["2026-01-01"]), "output_usd_per_mtok": [2.0]})
    out = market_claims.check_cost_claims(claims, observed, device=None).set_index("claim_id")
    assert out.loc["own", "verdict"] == "unverifiable", "a price inside the claimed range confirms no cost"
    assert "owner's amortised cost" in out.loc["own", "reason"] and "2.00" in out.loc["own", "reason"]


def test_prices_are_placed_against_the_claimed_ranges_of_their_year() -> None:
    prices = pd.DataFrame({"date_observed": pd.to_datetime(["2024-03-01", "2024-05-01", "2024-06-01", "2025-01-01"]),
                           "output_usd_per_mtok": [20.0, 0.5, 40.0, 1.0]})
    ranges = pd.DataFrame({"year": [2024, 2024], "value_low": [15.0, 5.0], "value_high": [25.0, 10.0]})
    assert market.against_claimed_ranges(prices, ranges).tolist() == ["inside", "below", "above", "no claim"]


def test_a_chip_said_to_be_in_development_is_checked_against_the_developers_chips() -> None:
    from analysis.rules import claims as claim_rules

    claims, chips, bench, events = recorded("claims", "chips", "benchmarks", "events")
    out = claim_rules.check_other_claims(claims, chips, bench, events).set_index("claim_id")
    assert out.loc["c45-microsoft-athena", "verdict"] == "misleading" and "Maia 100" in out.loc["c45-microsoft-athena", "reason"]
    later = chips.assign(year=chips["year"].where(chips["vendor"].ne("Microsoft"), 2026))
    assert claim_rules.check_other_claims(claims, later, bench, events).set_index("claim_id").loc[
        "c45-microsoft-athena", "verdict"] == "supported"
    none = chips[chips["vendor"].ne("Microsoft")]
    assert claim_rules.check_other_claims(claims, none, bench, events).set_index("claim_id").loc[
        "c45-microsoft-athena", "verdict"] == "unverifiable"


def test_every_rule_answers_in_one_vocabulary() -> None:
    with pytest.raises(ValueError, match="not one of supported, contradicted, misleading, unverifiable"):
        vocabulary.Judgement("true", "a forecast outcome is not a verdict")  # type: ignore[arg-type]
    assert vocabulary.agreement(True, agrees="a", disagrees="b") == vocabulary.supported("a")
    assert vocabulary.agreement(False, agrees="a", disagrees="b") == vocabulary.contradicted("b")
    assert vocabulary.misleading("m").fields() == {"verdict": "misleading", "reason": "m"}
    assert set(vocabulary.OUTCOMES).isdisjoint(vocabulary.VERDICTS)
