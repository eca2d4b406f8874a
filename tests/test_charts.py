"""The chart builders of ``analysis.book.charts``: what each draws, from which columns, without sources."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.book import charts
from analysis.models import ceilings, fractions


def rows_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for rows in spec.get("datasets", {}).values() for row in rows]


def marks(spec: dict[str, Any]) -> list[str]:
    layers = spec.get("layer") or spec.get("spec", {}).get("layer") or [spec.get("spec", spec)]
    return [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in layers]


def test_price_trend_draws_band_line_and_points_without_sources() -> None:
    band = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2025-01-01"]), "fitted": [2.0, 1.0],
                         "low": [1.5, 0.8], "high": [2.5, 1.2]})
    points = pd.DataFrame({"date": pd.to_datetime(["2024-06-01"]), "provider": ["p"], "model": ["m"],
                           "model_name_as_listed": ["m-70b"], "output_usd_per_mtok": [0.9],
                           "input_usd_per_mtok": [0.5], "source_ids": [["s"]]})
    spec = charts.price_trend(band, points).to_dict()
    assert marks(spec) == ["area", "line", "point"]
    assert spec["layer"][0]["encoding"]["y"]["scale"] == {"type": "log"}
    assert all("source_ids" not in row for row in rows_of(spec))
    assert any({"date", "fitted", "low", "high"} == set(row) for row in rows_of(spec))


def test_mlperf_strip_is_one_panel_per_model_on_a_log_axis() -> None:
    results = pd.DataFrame({"model_slug": ["a", "b"], "chip_name": ["NVIDIA H100 SXM5 80GB", "AMD Instinct MI300X"],
                            "round": ["v5.1", "v6.0"],
                            "division": ["closed", "open"], "scenario": ["offline", "server"], "submitter": ["x", "y"],
                            "system": ["s", "t"], "accelerators": [8, 8], "precision_bits": [8, 8],
                            "per_accelerator_tokens_per_s": [3000.0, 2000.0], "source_ids": [["s1"], ["s2"]]})
    spec = charts.mlperf_strip(results, {"a": "Model A", "b": "Model B"}).to_dict()
    panels = spec["vconcat"]
    assert [p["title"]["text"] for p in panels] == ["Model A", "Model B"]
    assert [p["transform"] for p in panels] == [[{"filter": "(datum['model_slug'] === 'a')"}],
                                                [{"filter": "(datum['model_slug'] === 'b')"}]]
    assert all(p["width"] == "container" and isinstance(p["height"], int) for p in panels)
    assert panels[0]["encoding"]["x"]["scale"] == {"type": "log"}
    assert spec["resolve"]["scale"] == {"x": "shared", "y": "independent", "color": "shared", "shape": "shared"}
    assert {r["chip_label"] for r in rows_of(spec)} == {"H100 SXM5 80GB", "MI300X"}, "chips by name, no vendor"
    assert all("source_ids" not in row for row in rows_of(spec)) and len(rows_of(spec)) == 2


def test_fraction_of_ceiling_orders_rounds_and_joins_the_best_results() -> None:
    points = pd.DataFrame({c: ["x", "y"] for c in fractions.DRAWN_COLUMNS})
    points = points.assign(round=[ceilings.ARTICLE_ROUND, "v6.0"], best=[True, False], source_ids=[["a"], ["b"]],
                           fraction_of_ceiling=[0.5, 0.1])
    rounds = [ceilings.ARTICLE_ROUND, "v6.0"]
    spec = charts.fraction_of_ceiling(points, rounds, {"x": "Model X"}).to_dict()
    assert [p["title"]["text"] for p in spec["vconcat"]] == ["Model X", "Y"], "an unknown slug is shown as words"
    dots, lines = spec["vconcat"][0]["layer"]
    assert dots["encoding"]["x"]["sort"] == rounds
    assert lines["transform"] == [{"filter": "datum.best"}]
    assert "title" not in dots["encoding"]["x"] or dots["encoding"]["x"]["title"] is None, "only the last panel titles x"
    assert spec["vconcat"][-1]["layer"][0]["encoding"]["x"]["title"]
    assert all("source_ids" not in row for row in rows_of(spec))


def test_claims_vs_prices_draws_claimed_spans_under_the_prices() -> None:
    prices = pd.DataFrame({"date_observed": pd.to_datetime(["2025-01-01"]), "provider": ["p"], "model": ["m"],
                           "segment": ["cloud"], "output_usd_per_mtok": [0.8], "source_ids": [["s"]]})
    boxes = pd.DataFrame({"subject": ["cloud-gpu"], "year": [2024], "value_low": [15.0], "value_high": [25.0],
                          "qualifier": [""], "start": pd.to_datetime(["2024-01-01"]),
                          "end": pd.to_datetime(["2024-12-31"])})
    spec = charts.claims_vs_prices(prices, boxes).to_dict()
    assert marks(spec) == ["rect", "point"]
    assert spec["layer"][0]["encoding"]["x2"]["field"] == "end"
    assert all("source_ids" not in row for row in rows_of(spec))
