"""The explorers' inline tables: the chip, model, price and rental rows an explorer carries into the page.

``analysis.book.explorers`` embeds these frames in its chart; ``analysis.book.explorer_formulas``
computes on their columns in the browser. Each table has one row per chip, model or price, with the
columns the formulas need (as numbers, missing values NaN) and ``source_ids`` as a list, which the
explorers drop before embedding and ``explorers.source_ids`` reads to cite them.

The explorers' fixed ranges come from here too: ``reachable_rooflines`` (every roofline the controls
can reach) and ``log_domain`` (the decades around them) give the axes, ``chip_prices`` the prices a
chip brings when it is chosen, and ``model_windows`` the longest context each model reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.book.explorer_formulas import ATTENTION_COLUMNS, CHIP_COLUMNS, MODEL_COLUMNS
from analysis.models import attention, roofline
from analysis.models.roofline_grid import roofline_grid

SHAPE_COLUMNS = ("total_params_b", "layers", "kv_heads")

__all__ = [
    "SHAPE_COLUMNS",
    "chip_prices",
    "chip_table",
    "cost_table",
    "id_list",
    "log_domain",
    "model_table",
    "model_windows",
    "price_classes",
    "price_table",
    "reachable_rooflines",
    "with_shapes",
]


def _numbers(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.to_numeric(frame[c], errors="coerce") if c in frame else np.nan for c in columns},
        index=frame.index,
    )


def id_list(value: Any) -> list[str]:
    """Source ids of one ``source_ids`` cell: a list, ``;``-joined text, or nothing (None, NaN)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return [s.strip() for s in value.split(roofline.PRECISION_SEPARATOR) if s.strip()]
    return [str(s) for s in value]


def chip_table(chips: pd.DataFrame, *, extra_columns: Sequence[str] = ()) -> pd.DataFrame:
    """One row per chip with the columns the formulas need, plus ``source_ids`` (a list).

    ``supports_4``, ``supports_8`` and ``supports_16`` come from ``roofline.supports_bits``.
    """
    table = _numbers(chips, (*CHIP_COLUMNS, *extra_columns)).reset_index(drop=True)
    table.insert(0, "chip", chips["slug"].astype(str).to_numpy())
    precisions = chips["precisions"] if "precisions" in chips else pd.Series([None] * len(chips))
    for bits in roofline.SUPPORTED_BITS:
        table[f"supports_{bits}"] = [roofline.supports_bits(p, bits) for p in precisions]
    table["source_ids"] = [id_list(v) for v in chips.get("source_ids", pd.Series([None] * len(chips)))]
    return table


def with_shapes(models: pd.DataFrame) -> pd.DataFrame:
    """The models whose shape is published (parameters, layers, KV heads): the only ones a roofline or a
    cost from first principles can be computed for. Closed models, which the book follows by price
    alone, are left out of the explorers."""
    present = [c for c in SHAPE_COLUMNS if c in models]
    return models[models[present].notna().all(axis=1)].reset_index(drop=True) if present else models


def model_table(models: pd.DataFrame) -> pd.DataFrame:
    """One row per model with the columns the formulas need, plus ``source_ids`` (a list).

    Parameters go through ``analysis.models.roofline``'s own reading: a dense model without active
    parameters uses its total, and a missing head dimension is ``d_model / attention_heads``. The
    attention columns are those ``analysis.models.attention`` reads, its kind lower-cased
    (grouped-query where it is not given) and the others numbers, missing where not published.
    """
    params = roofline.model_arrays(models)
    table = pd.DataFrame({c: params[c] for c in MODEL_COLUMNS if c in params})
    for column in ATTENTION_COLUMNS:
        if column == "attention_kind":
            table[column] = attention.kinds(models)
        else:
            table[column] = np.broadcast_to(roofline.numeric_field(models, column), (len(models),))
    table = table[list(MODEL_COLUMNS)]
    table.insert(0, "model", models["slug"].astype(str).to_numpy())
    table["source_ids"] = [id_list(v) for v in models.get("source_ids", pd.Series([None] * len(models)))]
    return table


def price_table(prices: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """Observed output prices with the class they are compared in: the model's capability class,
    or the model's own slug when it has none."""
    classes = price_classes(models)
    frame = prices[prices["model_slug"].isin(classes)]
    return pd.DataFrame({
        "price_class": frame["model_slug"].map(classes).to_numpy(),
        "provider": frame["provider"].astype(str).to_numpy(),
        "listed_model": frame["model_slug"].astype(str).to_numpy(),
        "date_observed": pd.to_datetime(frame["date_observed"]).dt.strftime("%Y-%m-%d").to_numpy(),
        "output_usd_per_mtok": pd.to_numeric(frame["output_usd_per_mtok"], errors="coerce").to_numpy(),
        "source_ids": [id_list(v) for v in frame.get("source_ids", pd.Series([None] * len(frame)))],
    }).dropna(subset=["output_usd_per_mtok"]).reset_index(drop=True)


def price_classes(models: pd.DataFrame) -> dict[str, str]:
    """Model slug -> the class its prices are compared in: its capability class, else its own slug."""
    out: dict[str, str] = {}
    classes = models.get("capability_class", pd.Series([None] * len(models)))
    for slug, klass in zip(models["slug"].astype(str), classes):
        out[slug] = str(klass) if isinstance(klass, str) and klass.strip() else slug
    return out


def _rental_ranges(hardware_costs: pd.DataFrame) -> pd.DataFrame:
    rented = hardware_costs["kind"].astype(str).str.startswith("rental")
    rentals = hardware_costs[rented & (hardware_costs["unit"] == "usd-per-chip-hour")]
    return (rentals.groupby("chip_slug")["usd"].agg(["min", "max", "count"])
            .rename(columns={"min": "rent_low", "max": "rent_high", "count": "rent_count"})
            .reset_index().rename(columns={"chip_slug": "chip"}))


def cost_table(chips: pd.DataFrame, hardware_costs: pd.DataFrame) -> pd.DataFrame:
    """``chip_table`` with each chip's TDP and the range of its observed rental prices."""
    table = chip_table(chips, extra_columns=("tdp_w",))
    table = table.merge(_rental_ranges(hardware_costs), on="chip", how="left")
    table["rent_count"] = table["rent_count"].fillna(0).astype(int)
    return table



def log_domain(values: Iterable[float]) -> list[float]:
    """The powers of ten around the finite positive ``values`` (``[1, 10]`` if there are none): a
    fixed log axis for everything the values reach."""
    array = np.asarray([v for v in values if v is not None], dtype=float)
    array = array[np.isfinite(array) & (array > 0)]
    if array.size == 0:
        return [1.0, 10.0]
    low, high = math.floor(math.log10(array.min())), math.ceil(math.log10(array.max()))
    return [float(10.0 ** low), float(10.0 ** max(high, low + 1))]


def reachable_rooflines(chips: pd.DataFrame, models: pd.DataFrame, *, batch_range: tuple[int, int],
                        context_range: tuple[int, int]) -> pd.DataFrame:
    """The roofline of every chip and model (with shapes) at every precision, at batches and contexts
    doubling across ``batch_range`` and ``context_range`` (both ends included): the rows whose range
    the roofline explorer's axes must hold (``roofline_grid``; only the rows that fit)."""
    def doubling(low: int, high: int) -> list[int]:
        values = [int(low)]
        while values[-1] * 2 < high:
            values.append(values[-1] * 2)
        return sorted({*values, int(high)})

    grid = roofline_grid(chips, with_shapes(models), bits=roofline.SUPPORTED_BITS,
                         batches=doubling(*batch_range), contexts=doubling(*context_range))
    return grid[grid["fits"]]


def chip_prices(hardware_costs: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Each chip's own prices, where the store has them: the median on-demand rental (``hourly_usd``,
    USD per chip-hour) and the median purchase price (``capex_usd``), as ``market.cost_defaults``
    reads them for the chip a chapter starts from."""
    prices: dict[str, dict[str, float]] = {}
    for (chip, kind), rows in hardware_costs.groupby(["chip_slug", "kind"]):
        field = {"rental-on-demand": "hourly_usd", "purchase": "capex_usd"}.get(str(kind))
        value = float(pd.to_numeric(rows["usd"], errors="coerce").median())
        if field and math.isfinite(value):
            prices.setdefault(str(chip), {})[field] = value
    return dict(sorted(prices.items()))


def model_windows(models: pd.DataFrame) -> dict[str, int]:
    """Each model's context window in tokens (the models whose window is published)."""
    windows = pd.to_numeric(models.get("context_length", pd.Series(dtype=float)), errors="coerce")
    return {str(s): int(w) for s, w in zip(models["slug"], windows) if pd.notna(w) and w > 0}
