"""How close measurements come to their ceilings (``analysis.models.fractions``), on synthetic points."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.models import ceilings, fractions

ART = ceilings.ARTICLE_ROUND


def points() -> pd.DataFrame:
    rows = [
        ("b1", "m70", "gpu", "v5.1", 0.20), ("b2", "m70", "gpu", "v4.1", 0.10), ("b3", "m70", "gpu", "v5.1", 0.25),
        ("b4", "m8", "asic", "v4.1", 0.40), ("b5", "m8", "gpu", "v6.0", 0.05), ("c1", "m70", "gpu", ART, 3.0),
    ]
    frame = pd.DataFrame(rows, columns=["benchmark_id", "model_slug", "chip_slug", "round", "fraction_of_ceiling"])
    extra = {c: "x" for c in fractions.DRAWN_COLUMNS if c not in frame and c != "best"}
    return frame.assign(**extra)


def test_round_order_puts_the_article_first_then_sorted_rounds() -> None:
    assert fractions.round_order(points()) == [ART, "v4.1", "v5.1", "v6.0"]


def test_drawn_points_flag_the_best_rows_and_keep_the_drawn_columns() -> None:
    p = points()
    drawn = fractions.drawn_points(p, ceilings.best_fraction(p))
    assert list(drawn.columns) == list(fractions.DRAWN_COLUMNS)
    assert dict(zip(drawn["benchmark_id"], drawn["best"])) == {
        "b1": False, "b2": True, "b3": True, "b4": True, "b5": True, "c1": True}


def test_top_result_ignores_the_article_claims() -> None:
    top = fractions.top_result(points())
    assert top["benchmark_id"] == "b4" and top["fraction_of_ceiling"] == pytest.approx(0.40)


def test_share_by_round_follows_one_chip_on_one_model() -> None:
    p = points()
    share = fractions.share_by_round(ceilings.best_fraction(p[p["round"].ne(ART)]), "m70", "gpu")
    assert list(share.index) == ["v4.1", "v5.1"]
    assert list(share) == pytest.approx([0.10, 0.25])
    with pytest.raises(ValueError, match="no bounded result"):
        fractions.share_by_round(ceilings.best_fraction(p), "m70", "asic")


def test_median_by_model_leaves_out_the_article_claims() -> None:
    median = fractions.median_by_model(points())
    assert median.to_dict() == pytest.approx({"m70": 0.20, "m8": 0.225})


def test_speculation_changes_counts_only_speculative_rows_that_rise() -> None:
    table = pd.DataFrame({"tokens_per_step": [1, 2, 3, 2], "ceiling_tokens_per_s": [10.0, 30.0, 20.0, 40.0]})
    plain = pd.DataFrame({"ceiling_tokens_per_s": [5.0, 10.0, 20.0, 40.0 * (1 + 1e-12)]})
    assert fractions.speculation_changes(table, plain) == (3, 1)
    with pytest.raises(ValueError, match="differ in length"):
        fractions.speculation_changes(table, plain.iloc[:2])
