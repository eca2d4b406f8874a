"""Tables for readers: column headings in words with their units, years as years, the result first.

A chapter's tables come straight from the store, whose columns are named for code (``claimed_low``,
``per_accelerator_tokens_per_s``). ``heading`` turns such a name into words: a name the book knows is
looked up in ``HEADINGS``; any other is split at its underscores, its unit words written as units
(``usd`` as USD, ``tbps`` as TB/s) and a trailing unit put in brackets, so ``memory_bw_tbps`` reads
"memory bandwidth (TB/s)". A name without underscores is the chapter's own wording and stays as it is.

``is_year`` tells which columns hold calendar years, printed without a thousands separator, and
``result_first`` moves a table's verdict and its reason right after the first column, so the result of
a table is never behind a sideways scroll.
"""

from __future__ import annotations

from collections.abc import Sequence

HEADINGS = {
    "claim_id": "claim",
    "claimed_low": "claimed, from",
    "claimed_high": "claimed, to",
    "observed_year": "year observed",
    "observed_low": "lowest observed",
    "observed_median": "median observed",
    "observed_high": "highest observed",
    "value_low": "value, from",
    "value_high": "value, to",
    "chip_slug": "chip",
    "model_slug": "model",
    "benchmark_id": "result",
    "forecast_id": "forecast",
    "per_accelerator_tokens_per_s": "tokens/s per accelerator",
    "per_user_tokens_per_s": "tokens/s per user",
    "system_tokens_per_s": "tokens/s per system",
    "tokens_per_s": "tokens/s",
    "ceiling_tokens_per_s": "ceiling (tokens/s)",
    "measured_tokens_per_s": "measured (tokens/s)",
    "fraction_of_ceiling": "share of ceiling",
    "usd_per_million_tokens": "USD per 1M tokens",
    "usd_per_mtok": "USD per 1M tokens",
    "output_usd_per_mtok": "output price (USD per 1M tokens)",
    "input_usd_per_mtok": "input price (USD per 1M tokens)",
    "tdp_w": "rated power (W)",
    "precision_bits": "weight bits",
    "factor_per_year": "factor per year",
    "hourly_usd": "USD per hour",
    "capex_usd": "purchase price (USD)",
}
# How a word of a column name is written in a heading; a unit word that ends the name goes in brackets.
WORDS = {
    "usd": "USD", "mtok": "1M tokens", "kwh": "kWh", "gb": "GB", "mb": "MB", "tb": "TB", "tbps": "TB/s",
    "tflops": "TFLOP/s", "tops": "TOPS", "w": "W", "ms": "ms", "pct": "%", "bw": "bandwidth", "id": "",
    "bf16": "BF16", "fp8": "FP8", "fp4": "FP4", "int8": "INT8", "kv": "KV", "mlperf": "MLPerf",
    "pue": "PUE", "api": "API", "b": "billion",
}
UNITS = ("usd", "kwh", "gb", "mb", "tb", "tbps", "tflops", "tops", "w", "ms", "pct")
RESULT_COLUMNS = ("verdict", "reason")


def heading(name: object) -> str:
    """The heading of a column named ``name`` (module docstring)."""
    text = str(name)
    if text in HEADINGS:
        return HEADINGS[text]
    if "_" not in text:
        return text
    parts = [p for p in text.split("_") if p]
    unit = WORDS[parts[-1]] if parts[-1] in UNITS and len(parts) > 1 else None
    words = [WORDS.get(p, p) for p in (parts[:-1] if unit else parts)]
    label = " ".join(w for w in words if w)
    return f"{label} ({unit})" if unit else label


def headings(names: list[object]) -> list[str]:
    """The headings of a table's columns: ``heading`` of each, except that two columns never share one
    (a column whose heading another column already has keeps its name, underscores as spaces)."""
    words = [heading(n) for n in names]
    return [w if words.count(w) == 1 or heading(n) == str(n) else str(n).replace("_", " ")
            for n, w in zip(names, words)]


def is_year(name: object) -> bool:
    """Whether a column named ``name`` holds calendar years."""
    text = str(name).lower()
    return text == "year" or text.endswith("_year") or text.startswith("year_") or text.endswith(" year")


def result_first(columns: Sequence[object]) -> list[object]:
    """``columns`` with the verdict and reason (those present) moved right after the first column."""
    result = [c for c in RESULT_COLUMNS if c in columns]
    if not result or not columns:
        return list(columns)
    rest = [c for c in columns if c not in result]
    if columns[0] in result or not rest:
        return [*result, *rest]
    return [rest[0], *result, *rest[1:]]
