"""Every measurement against the physical ceiling at its own conditions.

A published speed is only comparable with a roofline computed under the conditions it was measured in.
For each row of ``benchmarks`` this module takes

* the **system**: the chip (``chips``) and how many of them ran it (``accelerators``), sharded perfectly;
* the **weights** at the row's precision and the **attention cache** from the model's architecture
  (``attention``) at the most compact precision a submission would use
  (``assumptions.KV_BITS_MOST_COMPACT``);
* the **sequence lengths** of its MLPerf benchmark (``mlperf_benchmarks``): each cached sequence holds
  on average its prompt plus half its answer;
* the **scenario**: Offline has no latency limit; Server and Interactive require each user's time per
  output token under the benchmark's limit, which caps the batch a step may carry;
* **speculative decoding** where the benchmark allows it (DeepSeek-R1 Interactive from v6.0): a step
  may emit up to ``max_tokens_per_step`` tokens per sequence for one pass over the weights.

and computes the most tokens per second the chips could produce, with every other cost set to its
kindest value: 100% of peak bandwidth and FLOP/s, no prefill time, no interconnect, and for a mixture
of experts the kindest routing (all tokens of a step use the same experts, so only the active
parameters are read). What remains is a ceiling a measurement cannot pass unless the model is wrong,
so ``above_ceiling`` is a check the build runs: a row above its ceiling stops it.

Throughput rows (MLPerf) are compared per accelerator, per-user rows (a provider's speed for one user)
per user at batch 1. A per-user row that does not say how many chips served it has no ceiling; the
table gives instead the fewest chips that could have (to hold the weights and to reach the speed).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from analysis.models import assumptions, attention, roofline

FloatArray = npt.NDArray[np.float64]

SCENARIO_OF_KIND = {"mlperf-offline": "offline", "mlperf-server": "server", "mlperf-interactive": "interactive"}
PER_USER_KINDS = ("vendor-per-user", "third-party-per-user", "llamacpp-decode")
TPOT_COLUMN = {"server": "server_tpot_ms", "interactive": "interactive_tpot_ms"}
MS_PER_S = 1000.0
TOLERANCE = 1e-9

BASIS_ACCELERATOR = "per accelerator"
BASIS_USER = "per user"
STATUS_BOUNDED = "bounded"
STATUS_NO_CHIP = "no chip in the book"
STATUS_NO_SHAPE = "model shape not published"
STATUS_NO_COUNT = "chip count not published"
STATUS_NO_FIT = "weights do not fit"
STATUS_NO_SPEED = "no speed measured"
STATUS_NO_PEAK = "compute peak not published"
LIMIT_CAPACITY = "memory capacity"
LIMIT_LATENCY = "latency limit"
LIMIT_NONE = "none"

COLUMNS = [
    "benchmark_id", "chip_slug", "model_slug", "kind", "scenario", "round", "division", "submitter", "basis",
    "accelerators", "weight_bits", "kv_bits", "context_tokens", "tpot_limit_ms", "tokens_per_step",
    "measured_tokens_per_s", "ceiling_tokens_per_s", "fraction_of_ceiling", "batch_at_ceiling",
    "batch_limited_by", "regime", "implied_min_chips", "status", "conditions",
]


def _round_key(label: object) -> tuple[int, ...]:
    text = str(label or "").lstrip("v")
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return ()


def _weight_bits(bits: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The precision each row is bounded at, and a note where it is not the row's own."""
    stated = pd.to_numeric(bits, errors="coerce")
    unknown = int(assumptions.UNKNOWN_PRECISION_BITS.value)
    widest = int(assumptions.WIDEST_MODELLED_BITS.value)
    used = stated.fillna(unknown).clip(upper=widest).astype(int)
    note = pd.Series("", index=bits.index, dtype=object)
    note[stated.isna()] = f"precision not stated: bounded at {unknown} bits"
    wider = stated.gt(widest)
    note[wider] = [f"{widest}-bit ceiling for a {bits:.0f}-bit row" for bits in stated[wider]]
    return used, note


def conditions(benchmarks: pd.DataFrame, definitions: pd.DataFrame) -> pd.DataFrame:
    """The conditions of every benchmark row: scenario, chip count, precisions, cached context,
    latency limit and tokens per step (one row per benchmark row, same order)."""
    b = benchmarks.reset_index(drop=True)
    d = definitions.set_index("benchmark")
    scenario = b["kind"].map(SCENARIO_OF_KIND).fillna("")
    bits, bits_note = _weight_bits(b["precision_bits"])
    kv_bits = np.minimum(bits, int(assumptions.KV_BITS_MOST_COMPACT.value))
    bench = b["benchmark"].where(b["benchmark"].isin(d.index))
    mean_in = pd.to_numeric(bench.map(d["mean_input_tokens"]), errors="coerce").fillna(0.0)
    mean_out = pd.to_numeric(bench.map(d["mean_output_tokens"]), errors="coerce").fillna(0.0)
    tpot = pd.Series(np.nan, index=b.index)
    for name, column in TPOT_COLUMN.items():
        chosen = scenario.eq(name)
        tpot[chosen] = pd.to_numeric(bench[chosen].map(d[column]), errors="coerce")
    per_step = pd.Series(1.0, index=b.index)
    if "max_tokens_per_step" in d:
        spec_scenario = bench.map(d["speculative_scenario"]).fillna("")
        first = bench.map(d["speculative_first_round"])
        after = [bool(f) and _round_key(r) >= _round_key(f) for r, f in zip(b["round"], first.fillna(""))]
        allowed = spec_scenario.eq(scenario) & pd.Series(after, index=b.index)
        steps = pd.to_numeric(bench.map(d["max_tokens_per_step"]), errors="coerce").fillna(1.0)
        per_step = per_step.where(~allowed, steps)
    per_user = b["kind"].isin(PER_USER_KINDS)
    accelerators = pd.to_numeric(b["accelerators"], errors="coerce")
    return pd.DataFrame({
        "scenario": scenario.where(~per_user, "per user"),
        "accelerators": accelerators,
        "weight_bits": bits,
        "kv_bits": kv_bits,
        "context_tokens": mean_in + mean_out / 2.0,
        "tpot_limit_ms": tpot,
        "tokens_per_step": per_step,
        "basis": np.where(per_user, BASIS_USER, BASIS_ACCELERATOR),
        "precision_note": bits_note,
        "context_note": np.where(bench.notna() & bench.map(d["mean_input_tokens"]).isna(),
                                 "prompt length not published: taken as empty", ""),
    })


def _step_parts(rows: pd.DataFrame, cond: pd.DataFrame) -> dict[str, FloatArray]:
    """Per-step costs of the rows' systems: weight bytes, cache bytes per sequence, FLOPs per token,
    aggregate bandwidth, aggregate peak and free memory, with ``chips`` chips (NaN where unknown)."""
    arrays = roofline.model_arrays(rows)
    bits = cond["weight_bits"].to_numpy(dtype=np.float64)
    chips = cond["accelerators"].to_numpy(dtype=np.float64)
    all_weights = roofline.weight_bytes(arrays["total_params_b"], bits)
    active_weights = roofline.weight_bytes(arrays["active_params_b"], bits)
    context = cond["context_tokens"].to_numpy(dtype=np.float64)
    per_sequence = attention.kv_cache_bytes(rows, context, kv_bits=cond["kv_bits"].to_numpy(dtype=np.float64))
    flops = (roofline.FLOPS_PER_MULTIPLY_ADD * arrays["active_params_b"] * roofline.PARAMS_PER_BILLION
             + attention.attention_flops_per_token(rows, context))
    bandwidth = roofline.numeric_field(rows, "memory_bw_tbps") * roofline.BYTES_PER_TB
    memory = roofline.numeric_field(rows, "memory_gb") * roofline.BYTES_PER_GB
    peak = roofline.peak_flops_for_bits(rows, bits.astype(int))
    return {
        "weights": active_weights, "all_weights": all_weights, "per_sequence": per_sequence,
        "flops": flops, "bandwidth": bandwidth, "peak": peak, "memory": memory, "chips": chips,
        "tokens_per_step": cond["tokens_per_step"].to_numpy(dtype=np.float64),
    }


def _throughput_ceiling(p: dict[str, FloatArray], tpot_s: FloatArray) -> dict[str, FloatArray]:
    """Most tokens per second of ``chips`` chips, with the batch capped by memory and by the latency
    limit (``tpot_s``, infinite when none): tokens per step x batch / step time at the largest batch."""
    a, w, kv, f = p["tokens_per_step"], p["weights"], p["per_sequence"], p["flops"]
    bw, peak = p["chips"] * p["bandwidth"], p["chips"] * p["peak"]
    free = p["chips"] * p["memory"] - p["all_weights"]
    step_limit = a * tpot_s
    with np.errstate(divide="ignore", invalid="ignore"):
        by_capacity = np.where(kv > 0, free / kv, np.inf)
        by_latency_memory = np.where(kv > 0, (step_limit * bw - w) / kv,
                                     np.where(step_limit * bw >= w, np.inf, 0.0))
        by_latency_compute = step_limit * peak / (a * f)
        batch = np.maximum(np.fmin(by_capacity, np.fmin(by_latency_memory, by_latency_compute)), 0.0)
        weights_per_sequence = np.where(np.isinf(batch), 0.0, w / batch)
        memory_time = (weights_per_sequence + kv) / (a * bw)
        compute_time = f / peak
        rate = np.where(batch > 0, 1.0 / np.fmax(memory_time, compute_time), 0.0)
    limited = np.where(batch == by_capacity, LIMIT_CAPACITY, LIMIT_LATENCY)
    limited = np.where(np.isinf(batch), LIMIT_NONE, limited)
    return {"rate": rate, "batch": batch, "limited_by": limited,
            "regime": np.where(compute_time >= memory_time, roofline.BOUND_COMPUTE, roofline.BOUND_MEMORY),
            "fits": free > 0}


def _per_user_ceiling(p: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """Most tokens per second one user could see at batch 1 on ``chips`` chips, and the fewest chips
    that could hold the model and reach a given speed (per chip of speed, ``seconds_per_token``)."""
    a = p["tokens_per_step"]
    memory_time = (p["weights"] + p["per_sequence"]) / p["bandwidth"]
    compute_time = a * p["flops"] / p["peak"]
    one_chip_step = np.fmax(memory_time, compute_time)
    with np.errstate(divide="ignore", invalid="ignore"):
        to_hold = np.ceil((p["all_weights"] + p["per_sequence"]) / p["memory"] * (1.0 - roofline.FIT_RTOL))
    return {"rate": a * p["chips"] / one_chip_step, "one_chip_step": one_chip_step / a,
            "to_hold": np.maximum(to_hold, 1.0),
            "regime": np.where(compute_time >= memory_time, roofline.BOUND_COMPUTE, roofline.BOUND_MEMORY),
            "fits": p["chips"] * p["memory"] > p["all_weights"]}


def _status(rows: pd.DataFrame, cond: pd.DataFrame, fits: npt.NDArray[np.bool_]) -> pd.Series:
    status = pd.Series(STATUS_BOUNDED, index=rows.index, dtype=object)
    shape = roofline.model_arrays(rows)
    no_shape = np.isnan(shape["layers"]) | np.isnan(shape["total_params_b"])
    status[~fits & cond["accelerators"].notna()] = STATUS_NO_FIT
    status[cond["accelerators"].isna()] = STATUS_NO_COUNT
    status[no_shape] = STATUS_NO_SHAPE
    status[rows["chip_slug"].isna() | rows["memory_bw_tbps"].isna()] = STATUS_NO_CHIP
    return status


def _measured(rows: pd.DataFrame, cond: pd.DataFrame) -> pd.Series:
    system = pd.to_numeric(rows["system_tokens_per_s"], errors="coerce")
    per_accelerator = pd.to_numeric(rows["per_accelerator_tokens_per_s"], errors="coerce")
    per_accelerator = per_accelerator.fillna(system / cond["accelerators"])
    per_user = pd.to_numeric(rows["per_user_tokens_per_s"], errors="coerce")
    return per_accelerator.where(cond["basis"].eq(BASIS_ACCELERATOR), per_user)


def _ratio(measured: FloatArray, ceiling: FloatArray) -> FloatArray:
    """measured / ceiling; infinite for a speed measured where the ceiling is zero (a latency limit the
    system could not meet even for one user), so the check stops on it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ceiling == 0, np.where(measured > 0, np.inf, np.nan), measured / ceiling)


def _describe(cond: pd.DataFrame) -> pd.Series:
    parts = []
    for row in cond.itertuples(index=False):
        words = [f"{row.weight_bits}-bit weights, {row.kv_bits}-bit cache",
                 f"{row.context_tokens:,.0f} cached tokens"]
        if not np.isnan(row.tpot_limit_ms):
            words.append(f"time per token under {row.tpot_limit_ms:g} ms")
        if row.tokens_per_step > 1:
            words.append(f"up to {row.tokens_per_step:g} tokens per step (speculative decoding)")
        words += [note for note in (row.precision_note, row.context_note) if note]
        parts.append("; ".join(words))
    return pd.Series(parts, index=cond.index, dtype=object)


def ceilings(benchmarks: pd.DataFrame, chips: pd.DataFrame, models: pd.DataFrame,
             definitions: pd.DataFrame) -> pd.DataFrame:
    """One row per benchmark row: its conditions, measured speed, ceiling at those conditions and
    the fraction of the ceiling it achieved (``COLUMNS``)."""
    b = benchmarks.reset_index(drop=True)
    cond = conditions(b, definitions)
    chip_cols = chips.drop(columns=["source_ids", "note", "name", "year"], errors="ignore")
    model_cols = models.drop(columns=["source_ids", "note", "name", "release_date"], errors="ignore")
    rows = (b[["benchmark_id", "chip_slug", "model_slug"]]
            .merge(chip_cols, left_on="chip_slug", right_on="slug", how="left").drop(columns="slug")
            .merge(model_cols, left_on="model_slug", right_on="slug", how="left").drop(columns="slug"))
    parts = _step_parts(rows, cond)
    tpot_s = (cond["tpot_limit_ms"] / MS_PER_S).fillna(np.inf).to_numpy(dtype=np.float64)
    throughput = _throughput_ceiling(parts, tpot_s)
    user = _per_user_ceiling(parts)
    is_user = cond["basis"].eq(BASIS_USER).to_numpy()
    measured = _measured(b, cond)
    ceiling = np.where(is_user, user["rate"], throughput["rate"] / parts["chips"])
    fits = np.where(is_user, user["fits"], throughput["fits"])
    status = _status(rows, cond, fits)
    bounded = status.eq(STATUS_BOUNDED).to_numpy()
    status[bounded & np.isinf(ceiling)] = STATUS_NO_PEAK
    status[status.eq(STATUS_BOUNDED).to_numpy() & measured.isna().to_numpy()] = STATUS_NO_SPEED
    # a row without a measured speed still has its ceiling (the cost scenarios ask for it)
    bounded = status.isin([STATUS_BOUNDED, STATUS_NO_SPEED]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        implied = np.maximum(user["to_hold"], np.ceil(measured.to_numpy(dtype=np.float64)
                                                      * user["one_chip_step"] * (1.0 - roofline.FIT_RTOL)))
    ceiling = np.where(bounded, ceiling, np.nan)
    out = pd.DataFrame({
        "benchmark_id": b["benchmark_id"], "chip_slug": b["chip_slug"], "model_slug": b["model_slug"],
        "kind": b["kind"], "scenario": cond["scenario"], "round": b["round"],
        "division": b["division"], "submitter": b["submitter"],
        "basis": cond["basis"], "accelerators": cond["accelerators"], "weight_bits": cond["weight_bits"],
        "kv_bits": cond["kv_bits"], "context_tokens": cond["context_tokens"],
        "tpot_limit_ms": cond["tpot_limit_ms"], "tokens_per_step": cond["tokens_per_step"],
        "measured_tokens_per_s": measured, "ceiling_tokens_per_s": ceiling,
        "fraction_of_ceiling": _ratio(measured.to_numpy(dtype=np.float64), ceiling),
        "batch_at_ceiling": np.where(bounded & ~is_user, throughput["batch"], np.where(bounded, 1.0, np.nan)),
        "batch_limited_by": np.where(bounded & ~is_user, throughput["limited_by"], ""),
        "regime": np.where(bounded, np.where(is_user, user["regime"], throughput["regime"]), ""),
        "implied_min_chips": np.where(is_user & np.isfinite(implied), implied, np.nan),
        "status": status, "conditions": _describe(cond),
    })
    return out[COLUMNS]


def above_ceiling(table: pd.DataFrame, tolerance: float = TOLERANCE) -> pd.DataFrame:
    """The rows of a ``ceilings`` table whose measurement exceeds its ceiling."""
    fraction = pd.to_numeric(table["fraction_of_ceiling"], errors="coerce")
    return table[fraction.gt(1.0 + tolerance)]


def check(table: pd.DataFrame) -> None:
    """Raise when a measurement exceeds its ceiling: the model or the row is wrong, and the build stops."""
    over = above_ceiling(table)
    if over.empty:
        return
    lines = [f"{r.benchmark_id}: measured {r.measured_tokens_per_s:,.1f} tok/s {r.basis} exceeds its ceiling "
             f"{r.ceiling_tokens_per_s:,.1f} ({r.conditions})" for r in over.itertuples(index=False)]
    raise ValueError(f"{len(over)} measurement(s) above the physical ceiling at their conditions:\n"
                     + "\n".join(lines))


CLAIM_KIND = "article-claim"
THROUGHPUT_METRIC = "throughput_tokens_per_s"


def claim_rows(claims: pd.DataFrame, chips: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """The article's throughput claims as rows shaped like ``benchmarks``, each on the fewest chips that
    hold its model's weights at the lowest modelled precision, with no latency limit and an empty
    cache: the kindest conditions the claim could describe, so a claim above this ceiling is
    impossible however it was meant."""
    c = claims[claims["metric"].eq(THROUGHPUT_METRIC) & claims["chip_slug"].notna() & claims["model_slug"].notna()]
    bits = int(assumptions.UNKNOWN_PRECISION_BITS.value)
    memory = c["chip_slug"].map(chips.set_index("slug")["memory_gb"])
    total = c["model_slug"].map(models.set_index("slug")["total_params_b"])
    needed = roofline.chips_needed(roofline.weight_bytes(total.to_numpy(dtype=np.float64), bits),
                                   pd.to_numeric(memory, errors="coerce").to_numpy(dtype=np.float64))
    value = pd.to_numeric(c["value_low"], errors="coerce").fillna(pd.to_numeric(c["value_high"], errors="coerce"))
    return pd.DataFrame({
        "benchmark_id": c["claim_id"], "chip_slug": c["chip_slug"], "model_slug": c["model_slug"],
        "kind": CLAIM_KIND, "precision_bits": bits, "accelerators": needed,
        "system_tokens_per_s": value.to_numpy() * needed, "per_accelerator_tokens_per_s": value,
        "per_user_tokens_per_s": np.nan, "round": "", "division": "", "submitter": "article",
        "benchmark": None,
    }).reset_index(drop=True)


ARTICLE_ROUND = "article"


def fraction_by_round(table: pd.DataFrame, benchmarks: pd.DataFrame, chips: pd.DataFrame,
                      claims_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The points of the fraction-of-ceiling figure: every bounded closed-division MLPerf result (and,
    given, every bounded article claim at ``ARTICLE_ROUND``), with its chip's name and vendor and the
    measurement's sources."""
    parts = [table[table["status"].eq(STATUS_BOUNDED) & table["division"].eq("closed")
                   & table["basis"].eq(BASIS_ACCELERATOR)]]
    if claims_table is not None:
        parts.append(claims_table[claims_table["status"].eq(STATUS_BOUNDED)].assign(round=ARTICLE_ROUND))
    points = pd.concat(parts, ignore_index=True)
    names = chips.set_index("slug")
    sources = benchmarks.set_index("benchmark_id")["source_ids"]
    return points.assign(
        chip_name=points["chip_slug"].map(names["name"]),
        vendor=points["chip_slug"].map(names["vendor"]),
        source_ids=points["benchmark_id"].map(sources),
    )


def best_fraction(points: pd.DataFrame) -> pd.DataFrame:
    """The highest fraction of its ceiling each chip reached on each model in each round."""
    order = points.sort_values(["fraction_of_ceiling", "benchmark_id"], ascending=[False, True], kind="stable")
    return order.drop_duplicates(["model_slug", "chip_slug", "round"]).sort_values(
        ["model_slug", "chip_slug", "round"], kind="stable").reset_index(drop=True)


def offline_row(chip_slug: str, model_slug: str, bits: int, chips: pd.DataFrame, models: pd.DataFrame,
                benchmark: str = "llama2-70b-99") -> pd.DataFrame:
    """A benchmark-shaped row for a chip that has no measurement: the MLPerf ``benchmark`` in Offline on
    the fewest chips that hold the model at ``bits``, so ``ceilings`` gives its ceiling there."""
    memory = float(chips.set_index("slug").loc[chip_slug, "memory_gb"])
    total = float(models.set_index("slug").loc[model_slug, "total_params_b"])
    needed = float(roofline.chips_needed(roofline.weight_bytes(total, bits), memory))
    return pd.DataFrame([{
        "benchmark_id": f"ceiling-{chip_slug}-{model_slug}-{bits}", "chip_slug": chip_slug, "model_slug": model_slug,
        "kind": "mlperf-offline", "precision_bits": bits, "accelerators": needed, "system_tokens_per_s": np.nan,
        "per_accelerator_tokens_per_s": np.nan, "per_user_tokens_per_s": np.nan, "round": "", "division": "",
        "submitter": "", "benchmark": benchmark,
    }])
