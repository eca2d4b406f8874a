"""Charts in words and in few colours (issue 17, item 3): the builders of ``analysis.book.charts`` and
``analysis.book.charts_market`` on synthetic rows, and ``analysis.book.chart_words``' tables against the
committed data (every slug a chart can meet has its words)."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest
import yaml

from analysis.book import chart_layout, chart_words, charts, charts_market, figures
from analysis.models import costs, market
from tests.conftest import ROOT

SLUG = re.compile(r"^(?!\d+-bit$)[a-z0-9]+(?:[-_][a-z0-9]+)+$")  # "8-bit" is a word, "h100-sxm" an id
CHANNELS = ("x", "y", "color", "shape")


def _spec(chart: Any) -> dict[str, Any]:
    return chart_layout.responsive(chart.to_dict())


def drawn_values(spec: dict[str, Any]) -> dict[str, set[str]]:
    """The values each nominal or ordinal axis, colour or shape of ``spec`` shows, by field."""
    data = figures.spec_data(spec)
    out: dict[str, set[str]] = {}
    for leaf in chart_layout.leaves(spec):
        for channel in CHANNELS:
            enc = (leaf.get("encoding") or {}).get(channel)
            if isinstance(enc, dict) and enc.get("type") in ("nominal", "ordinal") and enc.get("field") in data:
                out.setdefault(enc["field"], set()).update(str(v) for v in data[enc["field"]].dropna())
    return out


def official_names() -> set[str]:
    """Names the store gives things, which may look like ids (OpenAI calls its model gpt-oss-120b)."""
    names: set[str] = set()
    for table in ("models", "chips", "companies"):
        names |= set(pd.read_csv(ROOT / "data" / f"{table}.csv")["name"].dropna().astype(str))
    return names


def assert_in_words(spec: dict[str, Any]) -> None:
    names = official_names()
    for field, values in drawn_values(spec).items():
        slugs = sorted(v for v in values if SLUG.match(v) and v not in names)
        assert not slugs, f"{field} is drawn as ids: {slugs[:5]}"


def _chips(n: int) -> pd.DataFrame:
    vendors = ["NVIDIA", "AMD", "Intel"]
    return pd.DataFrame({"slug": [f"chip-{i}" for i in range(n)], "vendor": [vendors[i % 3] for i in range(n)],
                         "name": [f"{vendors[i % 3]} Chip {i} (board)" for i in range(n)]})


def test_the_energy_chart_names_nineteen_chips_in_three_colours() -> None:
    chips = _chips(19)
    energy = pd.DataFrame({"benchmark_id": [f"r{i}" for i in range(19)], "chip_slug": chips["slug"],
                           "round": ["v5.1"] * 19, "precision_bits": [8] * 19, "kwh_per_million_tokens": range(19),
                           "per_accelerator_tokens_per_s": [1.0] * 19, "tdp_w": [700] * 19,
                           "joules_per_token": [1.0] * 19, "source_ids": [["s"]] * 19})
    spec = _spec(charts_market.energy_per_token(energy, chips))
    data = figures.spec_data(spec)
    assert chart_layout.colour_counts(spec, data) == {"vendor": 3}
    assert "Chip 4 (v5.1)" in set(data["bar"]) and "chip-4" in set(data["chip_slug"]), "each bar names its chip (without vendor or bracket) and round"
    assert spec["height"] == 19 * charts_market.BAR_STEP and chart_layout.is_fluid(spec)
    assert_in_words(spec)


def test_events_are_drawn_in_six_groups_on_rows_in_words() -> None:
    kinds = yaml.safe_load((ROOT / "data" / "events.meta.yml").read_text())["columns"]
    allowed = next(c["allowed"] for c in kinds if c["name"] == "kind")
    forecasts = list(chart_words.FORECAST_TOPICS)
    events = pd.DataFrame({"event_id": [f"e{i}" for i in range(len(allowed))], "kind": allowed,
                           "date": pd.date_range("2025-01-01", periods=len(allowed)).strftime("%Y-%m-%d"),
                           "forecast": [forecasts[i % len(forecasts)] for i in range(len(allowed))],
                           "title": ["t"] * len(allowed), "source_ids": [["s"]] * len(allowed)})
    spec = _spec(charts_market.prediction_evidence(events))
    assert len(allowed) == 10 and chart_layout.colour_counts(spec, figures.spec_data(spec)) == {"group": 6}
    assert_in_words(spec)


def test_chapter_two_charts_name_chips_and_models() -> None:
    chips = pd.DataFrame({"slug": ["h100-sxm", "mi300x"], "name": ["NVIDIA H100 SXM5 80GB", "AMD Instinct MI300X"],
                          "vendor": ["NVIDIA", "AMD"]})
    names = chart_words.chip_labels(chips)
    needed = pd.DataFrame({"chip": ["h100-sxm", "mi300x"], "memory": ["hbm", "hbm"], "precision": ["8-bit", "16-bit"],
                           "bits": [8, 16], "weights_gb": [70.0, 140.0], "chips_for_weights": [1, 1]})
    frontier = pd.DataFrame({"chip": ["h100-sxm", "mi300x"], "batch": [1, 1], "chips": [8, 8], "bound": ["memory"] * 2,
                             "per_user_tokens_per_s": [50.0, 60.0], "tokens_per_s_per_chip": [6.0, 7.0]})
    grid = frontier.assign(model=["llama-2-70b", "mixtral-8x7b"], source_ids=[["s"], ["s"]])
    models = {"llama-2-70b": "Llama 2 70B", "mixtral-8x7b": "Mixtral 8x7B"}
    for chart in (charts.chips_needed(needed, names), charts.user_vs_chip(frontier, names),
                  charts.roofline_grid(grid, names, models)):
        spec = _spec(chart)
        assert_in_words(spec)
        assert chart_layout.is_fluid(spec) and spec["width"] == "container"
    assert drawn_values(_spec(charts.chips_needed(needed, names)))["memory_kind"] == {"HBM"}
    assert drawn_values(_spec(charts.roofline_grid(grid, names, models)))["model_name"] == set(models.values())
    rows = figures.spec_data(_spec(charts.chips_needed(needed, names)))
    assert set(rows["chip"]) == {"h100-sxm", "mi300x"}, "the figure's CSV keeps the ids beside the words"


def test_prices_name_their_providers_and_segments() -> None:
    latest = pd.DataFrame({"provider": ["groq", "aws-bedrock", "new-cloud"], "segment": ["Groq (LPU)", "other", "other"],
                           "date_observed": ["2026-01-01"] * 3, "output_usd_per_mtok": [0.79, 0.99, 1.2],
                           "source_ids": [["s"]] * 3})
    spec = _spec(charts_market.latest_prices(latest))
    assert drawn_values(spec)["provider_name"] == {"Groq", "AWS Bedrock", "New cloud"}
    prices = pd.DataFrame({"date_observed": ["2025-01-01"], "provider": ["together"], "model": ["Llama 3.3 70B"],
                           "segment": [market.DEDICATED], "output_usd_per_mtok": [0.8], "source_ids": [["s"]]})
    boxes = pd.DataFrame({"subject": ["cloud-gpu"], "year": [2024], "value_low": [15.0], "value_high": [25.0],
                          "qualifier": [""], "start": ["2024-01-01"], "end": ["2024-12-31"]})
    spec = _spec(charts.claims_vs_prices(prices, boxes))
    assert drawn_values(spec)["sold_by"] == {"dedicated-chip providers"}


def test_the_tornado_names_its_inputs() -> None:
    swing = pd.DataFrame({"input": ["capex_usd", "pue"], "swing": [2.0, 1.0], "output_low": [0.1, 0.2],
                          "output_high": [0.3, 0.25]})
    ends = pd.DataFrame({"input": ["capex_usd", "capex_usd"], "swing": [2.0, 2.0],
                         "end": ["input at its low", "input at its high"], "usd_per_mtok": [0.1, 0.3]})
    spec = _spec(charts_market.cost_tornado(swing, ends))
    assert drawn_values(spec)["input_name"] == {"Purchase price", "PUE"}
    assert chart_words.in_sentence("Purchase price") == "purchase price" and chart_words.in_sentence("PUE") == "PUE"


def test_chip_labels_are_short_unique_and_keyed_by_slug_and_name() -> None:
    chips = pd.read_csv(ROOT / "data" / "chips.csv")
    labels = chart_words.chip_labels(chips)
    by_slug = [labels[s] for s in chips["slug"]]
    assert len(set(by_slug)) == len(by_slug), "two chips would share an axis row"
    assert labels["h100-sxm"] == "H100 SXM5 80GB" == labels["NVIDIA H100 SXM5 80GB"]
    assert labels["mi300x"] == "MI300X" and labels["tpu-v5e"] == "TPU v5e" and labels["groq-lpu"] == "Groq LPU"
    assert max(len(v) for v in by_slug) <= 26, "a chip label must fit a phone's axis"
    twins = pd.DataFrame({"slug": ["a-1", "a-2"], "name": ["X (one)", "X (two)"]})
    assert chart_words.chip_labels(twins)["a-1"] == "X (a-1)"


@pytest.mark.parametrize("table, values", [
    ("FORECAST_TOPICS", lambda: {v for cell in pd.read_csv(ROOT / "data" / "events.csv")["bears_on"].dropna()
                                 for v in str(cell).split(";")}),
    ("EVENT_GROUPS", lambda: set(pd.read_csv(ROOT / "data" / "events.csv")["kind"])),
    ("PROVIDERS", lambda: set(pd.read_csv(ROOT / "data" / "prices.csv")["provider"])),
    ("MEMORY_KINDS", lambda: set(pd.read_csv(ROOT / "data" / "chips.csv")["memory_kind"])),
    ("SEGMENTS", lambda: {market.CLOUD, market.DEDICATED}),
    ("COST_INPUTS", lambda: {*costs.OWNED_INPUTS, *costs.RENTAL_INPUTS, *costs.OPTIONAL_OWNED_INPUTS}),
])
def test_every_slug_a_chart_meets_has_words(table: str, values: Any) -> None:
    missing = sorted(values() - set(getattr(chart_words, table)))
    assert not missing, f"chart_words.{table} has no words for {missing}"


def _lab(colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of an ``#rrggbb`` colour."""
    def linear(c: float) -> float:
        return ((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92

    r, g, b = (linear(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    x, y, z = ((r * 0.4124 + g * 0.3576 + b * 0.1805) / 0.95047, r * 0.2126 + g * 0.7152 + b * 0.0722,
               (r * 0.0193 + g * 0.1192 + b * 0.9505) / 1.08883)

    def f(v: float) -> float:
        return v ** (1 / 3) if v > 0.008856 else 7.787 * v + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_colours_are_ten_and_distinct() -> None:
    assert len(figures.PALETTE) == len(set(figures.PALETTE)) == 10
    labs = [_lab(c) for c in figures.PALETTE]
    closest = min(sum((a - b) ** 2 for a, b in zip(p, q)) ** 0.5 for i, p in enumerate(labs) for q in labs[i + 1:])
    assert closest > 30, f"two colours of the palette are only {closest:.0f} apart in CIELAB"
