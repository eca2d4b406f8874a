"""Verdicts on the article's chip claims: claim, physical ceiling, best measurement, verdict.

For each throughput, latency and precision claim about a chip, the article's number is set beside

* the **ceiling** the roofline model allows (``analysis.models.roofline``), computed at the precision the
  article itself claims for the chip, so the ceiling is as generous to the claim as the article's
  own framing allows:
  - throughput: the compute ceiling of one chip, ``peak FLOP/s / FLOPs per token``, which no batch
    size can exceed (unknown when the chip's peak at that precision is not published);
  - latency: the floor on the fewest chips that hold the model at batch 1 (the time to stream the
    weights once with every chip's bandwidth added up). A system of more chips can go below it,
    so it frames the claim but does not decide it;
* the **best published measurement** in ``benchmarks`` for the same chip and model, or for a model
  of the same size class when none exists (Llama 3.1 70B stands in for Llama 2 70B), preferring a
  per-chip aggregate for throughput and a per-user speed for latency;

and a **verdict** follows by fixed rules, stated with its reason:

* ``contradicted``: the claim is beyond the physical ceiling of one chip, or the measurement lies
  outside the claim by more than the tolerance (a factor of ``THROUGHPUT_TOLERANCE`` for
  throughput, ``LATENCY_TOLERANCE`` for latency), or none of the claimed precisions is supported;
* ``supported``: a measurement of the same scope agrees within the tolerance (a per-user speed of one
  user on one chip counts as that chip's throughput), or every claimed precision is supported by the
  chip;
* ``misleading``: the number matches a measurement of a different scope (a per-user speed on a
  system of many chips presented as a per-chip throughput), or only some claimed precisions hold;
* ``unverifiable``: nothing published measures it and physics does not rule it out. Where the only
  measurement is a per-user speed on an unpublished number of chips, the reason states what the claim
  would require: at least ``claim / per-user speed`` users served at once by every chip, each holding
  an attention cache in the chip's memory, so their cached contexts must average under
  ``memory / (users per chip x cache bytes per token)`` tokens (cache at the claim's precision, at
  most ``assumptions.KV_BITS_MOST_COMPACT`` bits; weights ignored, which only loosens it). A claim
  that would need less than one token per user is ``contradicted``.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.models import assumptions, attention, roofline
from analysis.rules import vocabulary
from analysis.rules.vocabulary import Judgement, Verdict

THROUGHPUT_TOLERANCE = 1.5
LATENCY_TOLERANCE = 1.3
SIZE_CLASS_TOLERANCE = 0.1
DEFAULT_CONTEXT = 2048
MS_PER_S = 1000.0
PRECISION_BITS = {"int4": 4, "fp4": 4, "int8": 8, "fp8": 8, "fp16": 16, "bf16": 16, "int16": 16, "fp32": 32}
AGGREGATE_KINDS = ("mlperf-offline", "mlperf-server", "mlperf-interactive")
# Speeds of one user on one chip (a batch of one): there the per-user speed is the chip's throughput.
SINGLE_STREAM_KINDS = ("llamacpp-decode",)


@dataclass(frozen=True)
class ChipClaimCheck:
    """One claim of the article's chip table, checked."""

    claim_id: str
    chip_slug: str
    model_slug: str | None
    metric: str
    claimed: str
    bits: int | None
    ceiling: float | None
    ceiling_basis: str
    measurement: float | None
    measurement_basis: str
    benchmark_id: str | None
    verdict: Verdict
    reason: str


def claimed_precisions(qualifier: str | None) -> list[str]:
    """Precision names in a claim's text, lower-case (``"FP8; FP16"`` -> ``["fp8", "fp16"]``)."""
    if not qualifier:
        return []
    return [p for p in re.findall(r"[a-z]+\d+", qualifier.lower()) if p in PRECISION_BITS]


def claim_bits(chip: pd.Series, precision_claim: str | None) -> int:
    """The lowest claimed precision the roofline can use on this chip (16 when none is usable)."""
    usable = sorted(
        b for b in {PRECISION_BITS[p] for p in claimed_precisions(precision_claim)}
        if b in roofline.SUPPORTED_BITS and roofline.supports_bits(chip["precisions"], b)
    )
    return usable[0] if usable else 16


def _same_class(models: pd.DataFrame, model_slug: str) -> list[str]:
    """Models of the same size and architecture as ``model_slug`` (itself first)."""
    m = models.set_index("slug")
    if model_slug not in m.index:
        return [model_slug]
    ref = m.loc[model_slug]
    close = (
        (m["architecture"] == ref["architecture"])
        & ((m["total_params_b"] - ref["total_params_b"]).abs() <= SIZE_CLASS_TOLERANCE * ref["total_params_b"])
    )
    others = sorted(s for s in m.index[close] if s != model_slug)
    return [model_slug, *others]


def best_measurement(benchmarks: pd.DataFrame, models: pd.DataFrame, chip: str, model: str,
                     column: str, *, kinds: tuple[str, ...] | None = None) -> pd.Series | None:
    """The highest value of ``column`` for the chip on the model, or on its closest size class."""
    for candidate in _same_class(models, model):
        rows = benchmarks[(benchmarks["chip_slug"] == chip) & (benchmarks["model_slug"] == candidate)]
        if kinds is not None:
            rows = rows[rows["kind"].isin(kinds)]
        rows = rows[rows[column].notna()]
        if len(rows):
            return rows.sort_values([column, "benchmark_id"], ascending=[False, True]).iloc[0]
    return None


def _flops_per_token(model: pd.Series, context: int) -> float:
    """FLOPs of one token at ``context`` cached tokens: the matrix products plus attention over the
    cache the architecture keeps (``attention.attention_flops_per_token``: windowed layers over at
    most their window)."""
    return float(roofline.matmul_flops_per_token(model["active_params_b"])
                 + attention.attention_flops_per_token(model, context))


def compute_ceiling_per_chip(chip: pd.Series, model: pd.Series, bits: int, context: int) -> float | None:
    """Tokens/s one chip can never exceed at any batch: its peak over the FLOPs of one token."""
    peak = float(roofline.peak_flops_for_bits(chip, bits))
    if not math.isfinite(peak) or peak <= 0:
        return None
    return peak / _flops_per_token(model, context)


def latency_floor_ms(chip: pd.Series, model: pd.Series, bits: int, context: int) -> tuple[float, int]:
    """Least time per token at batch 1 on the fewest chips that hold the model, and that count.

    The sequence's cache of ``context`` tokens is sized from the architecture
    (``attention.kv_cache_bytes``, 16 bits per value)."""
    cache = float(attention.kv_cache_bytes(model, context))
    step_bytes = float(roofline.weight_bytes_read(model["total_params_b"], model["active_params_b"], bits, 1)) + cache
    held = float(roofline.weight_bytes(model["total_params_b"], bits)) + cache
    n = int(roofline.chips_needed(held, chip["memory_gb"]))
    seconds = step_bytes / (n * chip["memory_bw_tbps"] * roofline.BYTES_PER_TB)
    peak = float(roofline.peak_flops_for_bits(chip, bits))
    if math.isfinite(peak) and peak > 0:
        seconds = max(seconds, _flops_per_token(model, context) / (n * peak))
    return seconds * MS_PER_S, n


def format_number(x: float) -> str:
    """A number as the verdict tables print it: grouped whole numbers from 100, one decimal from 1,
    two significant digits below (so a ceiling of 0.03 ms does not print as 0.0)."""
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 1:
        return f"{x:.1f}"
    return f"{x:.2g}"


def claimed_text(row: pd.Series) -> str:
    lo, hi = row["value_low"], row["value_high"]
    if row["metric"] == "precision":
        return str(row["qualifier"])
    if pd.isna(lo) and not pd.isna(hi):
        return f"< {format_number(hi)} {row['unit']}"
    if pd.isna(hi) or lo == hi:
        return f"~{format_number(lo)} {row['unit']}"
    return f"{format_number(lo)}–{format_number(hi)} {row['unit']}"


def _bench_model_note(bench: pd.Series, model: str) -> str:
    return "" if bench["model_slug"] == model else f" on {bench['model_slug']} (same size class)"


def _throughput_measured(row: pd.Series, benchmarks: pd.DataFrame,
                         models: pd.DataFrame) -> tuple[dict[str, Any], pd.Series | None, pd.Series | None]:
    """The measurement a throughput claim is set against (a per-chip aggregate before a per-user
    speed), and the two best rows it was chosen from."""
    agg = best_measurement(benchmarks, models, row["chip_slug"], row["model_slug"],
                           "per_accelerator_tokens_per_s", kinds=AGGREGATE_KINDS)
    user = best_measurement(benchmarks, models, row["chip_slug"], row["model_slug"], "per_user_tokens_per_s")
    if agg is not None:
        details = {"measurement": float(agg["per_accelerator_tokens_per_s"]), "benchmark_id": agg["benchmark_id"],
                   "measurement_basis": f"per chip, {agg['kind']}, {agg['accelerators']:.0f} chips"
                                        f"{_bench_model_note(agg, row['model_slug'])}"}
    elif user is not None:
        details = {"measurement": float(user["per_user_tokens_per_s"]), "benchmark_id": user["benchmark_id"],
                   "measurement_basis": f"per user, {user['kind']}{_bench_model_note(user, row['model_slug'])}"}
    else:
        details = {"measurement": None, "benchmark_id": None, "measurement_basis": "none published"}
    return details, agg, user


def _within(ratio: float, tolerance: float) -> bool:
    return 1 / tolerance <= ratio <= tolerance


def _judge_throughput(claim: float, ceiling: float | None, agg: pd.Series | None, user: pd.Series | None,
                      measurement: float | None, need: tuple[pd.Series, pd.Series, int, int]) -> Judgement:
    """The throughput rule (module docstring); ``need`` is (chip, model, bits, fewest chips)."""
    chip, model, bits, n_chips = need
    if ceiling is not None and claim > ceiling:
        return vocabulary.contradicted(f"above what one chip can compute ({format_number(ceiling)} tokens/s)")
    if measurement is None or (agg is None and user is None):
        return vocabulary.unverifiable("no published measurement")
    ok = _within(claim / measurement, THROUGHPUT_TOLERANCE)
    if agg is not None:
        return vocabulary.agreement(ok, agrees="matches the best per-chip aggregate of a batched system",
                                    disagrees=f"the best per-chip measurement is {format_number(measurement)} tokens/s")
    if user is not None and _single_stream(user):
        return vocabulary.agreement(ok, agrees="matches the speed of one user on one chip, which is the chip's throughput",
                                    disagrees=f"one user on one chip gets {format_number(measurement)} tokens/s")
    if n_chips > 1 and ok:
        return vocabulary.misleading(f"matches a per-user speed, but the model needs at least {n_chips} chips")
    return _concurrency_requirement(claim, measurement, chip, model, bits)


def _check_throughput(row: pd.Series, chip: pd.Series, model: pd.Series, bits: int,
                      benchmarks: pd.DataFrame, models: pd.DataFrame, context: int) -> dict[str, Any]:
    claim = float(np.nanmean([row["value_low"], row["value_high"]]))
    ceiling = compute_ceiling_per_chip(chip, model, bits, context)
    out: dict[str, Any] = {"ceiling": ceiling, "ceiling_basis": (
        f"compute ceiling per chip at {bits}-bit" if ceiling is not None else f"no published {bits}-bit peak")}
    details, agg, user = _throughput_measured(row, benchmarks, models)
    out.update(details)
    above = ceiling is not None and claim > ceiling
    if not above and agg is None and user is not None and _single_stream(user):
        out["measurement_basis"] += ", one user on one chip"
    _, n_chips = latency_floor_ms(chip, model, bits, context)
    judgement = _judge_throughput(claim, ceiling, agg, user, out["measurement"], (chip, model, bits, n_chips))
    return {**out, **judgement.fields()}


def _single_stream(bench: pd.Series) -> bool:
    return bench["kind"] in SINGLE_STREAM_KINDS and pd.to_numeric(bench["accelerators"], errors="coerce") == 1


def max_mean_context(claim: float, per_user: float, chip: pd.Series, model: pd.Series, bits: int) -> tuple[float, float]:
    """Users each chip must serve at once for a per-chip ``claim`` when each user gets ``per_user``
    tokens/s, and the longest mean cached context at which their caches fit in one chip's memory."""
    users = claim / per_user
    kv_bits = min(bits, int(assumptions.KV_BITS_MOST_COMPACT.value))
    per_token = float(np.asarray(attention.kv_cache_bytes(model.to_frame().T, 1, kv_bits=kv_bits)).ravel()[0])
    return users, float(chip["memory_gb"]) * roofline.BYTES_PER_GB / (users * per_token)


def _concurrency_requirement(claim: float, per_user: float, chip: pd.Series, model: pd.Series,
                             bits: int) -> Judgement:
    users, tokens = max_mean_context(claim, per_user, chip, model, bits)
    if tokens < 1:
        return vocabulary.contradicted(f"needs {format_number(users)} users per chip, whose caches cannot fit in its memory")
    return vocabulary.unverifiable(f"no per-chip measurement; at the measured per-user speed it needs {format_number(users)} "
                                   f"users per chip at once, their caches averaging under {tokens:,.0f} tokens each")


def _check_latency(row: pd.Series, chip: pd.Series, model: pd.Series, bits: int,
                   benchmarks: pd.DataFrame, models: pd.DataFrame, context: int) -> dict[str, Any]:
    floor, n_chips = latency_floor_ms(chip, model, bits, context)
    hi = float(row["value_high"])
    lo = float(row["value_low"]) if not pd.isna(row["value_low"]) else 0.0
    out: dict[str, Any] = {"ceiling": floor,
                           "ceiling_basis": f"memory floor at batch 1 on {n_chips} chip(s), {bits}-bit"}
    user = best_measurement(benchmarks, models, row["chip_slug"], row["model_slug"], "per_user_tokens_per_s")
    if user is not None:
        measured = MS_PER_S / float(user["per_user_tokens_per_s"])
        out.update(measurement=measured, benchmark_id=user["benchmark_id"],
                   measurement_basis=f"1000 / per-user tokens/s, {user['kind']}"
                                     f"{_bench_model_note(user, row['model_slug'])}")
    else:
        out.update(measurement=None, benchmark_id=None, measurement_basis="no per-user measurement")
    if user is not None:
        ok = lo / LATENCY_TOLERANCE <= out["measurement"] <= hi * LATENCY_TOLERANCE
        judgement = vocabulary.agreement(
            ok, agrees="the measured per-user latency falls in the range",
            disagrees=f"the measured per-user latency is {format_number(out['measurement'])} ms/token")
    else:
        judgement = vocabulary.unverifiable("no per-user speed published for this chip and model")
    return {**out, **judgement.fields()}


def _check_precision(row: pd.Series, chip: pd.Series) -> dict[str, Any]:
    claimed = claimed_precisions(row["qualifier"])
    native = set(chip["precisions"]) if chip["precisions"] is not None else set()
    held = [p for p in claimed if p in native]
    missing = [p for p in claimed if p not in native]
    out: dict[str, Any] = {"ceiling": None, "ceiling_basis": "precisions the chip computes natively",
                           "measurement": None, "benchmark_id": None,
                           "measurement_basis": ", ".join(sorted(native)) or "none listed"}
    return {**out, **_judge_precision(claimed, held, missing).fields()}


def _judge_precision(claimed: list[str], held: list[str], missing: list[str]) -> Judgement:
    if claimed and not missing:
        return vocabulary.supported("every claimed precision is native to the chip")
    if held:
        return vocabulary.misleading("not native: " + ", ".join(m.upper() for m in missing))
    if claimed:
        return vocabulary.contradicted("none of the claimed precisions is native")
    return vocabulary.unverifiable("no precision named")


def check_chip_claims(claims: pd.DataFrame, chips: pd.DataFrame, models: pd.DataFrame,
                      benchmarks: pd.DataFrame, *, context: int = DEFAULT_CONTEXT) -> pd.DataFrame:
    """Every throughput, latency and precision claim about a chip, with ceiling, measurement, verdict."""
    metrics = ("throughput_tokens_per_s", "latency_ms_per_token", "precision")
    rows = claims[claims["chip_slug"].notna() & claims["model_slug"].notna() & claims["metric"].isin(metrics)]
    chip_rows = chips.set_index("slug")
    model_rows = models.set_index("slug")
    precision_claims = (rows[rows["metric"] == "precision"].sort_values("claim_id")
                        .drop_duplicates("chip_slug").set_index("chip_slug")["qualifier"])
    checks = []
    for _, row in rows.sort_values("claim_id").iterrows():
        chip = chip_rows.loc[row["chip_slug"]]
        model = model_rows.loc[row["model_slug"]]
        bits = claim_bits(chip, precision_claims.get(row["chip_slug"]))
        if row["metric"] == "throughput_tokens_per_s":
            result = _check_throughput(row, chip, model, bits, benchmarks, models, context)
        elif row["metric"] == "latency_ms_per_token":
            result = _check_latency(row, chip, model, bits, benchmarks, models, context)
        else:
            result = _check_precision(row, chip)
            bits = None
        checks.append(ChipClaimCheck(
            claim_id=row["claim_id"], chip_slug=row["chip_slug"], model_slug=row["model_slug"],
            metric=row["metric"], claimed=claimed_text(row), bits=bits, **result,
        ))
    return pd.DataFrame([asdict(c) for c in checks])
