"""The one rounding rule: numbers are rounded where they are emitted, so last-bit differences between
processors never reach a recorded output or a dataset's name."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd
import pytest

from analysis import precision
from analysis.book import chapter, figures


def test_round_sig_keeps_six_significant_digits() -> None:
    assert precision.round_sig(0.123456789) == 0.123457
    assert precision.round_sig(123456789.0) == 123457000.0
    assert precision.round_sig(-2.0000004) == -2.0
    assert precision.round_sig(0.0) == 0.0
    assert math.isnan(precision.round_sig(float("nan")))
    assert precision.round_sig(float("inf")) == float("inf")


@pytest.mark.parametrize("x", [0.1 + 0.2, 1 / 3, 2 / 3 * 1e-9, 12345.678901, 7.0, 0.72, 1e300])
def test_rounding_is_idempotent(x: float) -> None:
    once = precision.round_sig(x)
    assert precision.round_sig(once) == once


def test_a_last_bit_difference_disappears() -> None:
    x = 0.8123456789
    y = np.nextafter(x, 1.0)
    assert x != y
    assert precision.round_sig(x) == precision.round_sig(y)


def test_round_value_walks_containers_and_frames() -> None:
    value = {"a": [1.23456789, (2.0000000001, "text")], "b": 3, "c": None, "d": True}
    assert precision.round_value(value) == {"a": [1.23457, (2.0, "text")], "b": 3, "c": None, "d": True}
    frame = pd.DataFrame({"x": [1.23456789, None], "n": [1, 2], "s": ["a", "b"],
                          "y": pd.array([0.333333333, None], dtype="Float64")})
    out = precision.round_frame(frame)
    assert out["x"].iloc[0] == 1.23457 and pd.isna(out["x"].iloc[1])
    assert out["y"].dtype == frame["y"].dtype and out["y"].iloc[0] == 0.333333
    assert out["n"].tolist() == [1, 2] and out["s"].tolist() == ["a", "b"]
    assert not precision.is_rounded(frame) and precision.is_rounded(out)


def _band(perturb: bool) -> alt.Chart:
    values = np.linspace(0.1, 0.9, 12) ** 1.7
    if perturb:
        values = np.nextafter(values, 2.0)
    return alt.Chart(pd.DataFrame({"x": range(12), "y": values})).mark_line().encode(x="x:Q", y="y:Q")


def test_chart_datasets_are_named_after_rounded_rows() -> None:
    # Teeth: with Altair's own transformer, a last-bit change renames the dataset.
    with alt.data_transformers.enable("default"):
        assert _band(False).to_dict()["datasets"].keys() != _band(True).to_dict()["datasets"].keys()
    figures.enable()
    a, b = _band(False).to_dict(), _band(True).to_dict()
    assert a == b
    assert precision.is_rounded(a["datasets"])


def test_figure_spec_and_table_cells_are_rounded() -> None:
    figures.enable()
    fig = figures.Figure(chart=_band(True), label="fig-test", title="t", chapter="c", sources=[], version="0",
                         date="2026-01-01", page="chapters/x.html")
    assert precision.is_rounded(fig.spec)
    shown = chapter.Chapter._formatted(object.__new__(chapter.Chapter), pd.DataFrame({"v": [0.1250000000000001]}), 2)
    assert shown["v"].tolist() == ["0.12"]
