"""How close the measurements come to their ceilings: the summaries chapter 2 states.

``ceilings.fraction_by_round`` gives the points (every bounded closed-division MLPerf result, and the
article's claims at ``ceilings.ARTICLE_ROUND``, each with its ``fraction_of_ceiling``) and
``ceilings.best_fraction`` each chip's best of them per model and round. From those this module takes
the order of the rounds on the chart, the rows the chart draws, the highest measured fraction, one
chip's best fraction round by round, the median fraction of each model, and how many ceilings
speculative decoding changes.
"""

from __future__ import annotations

import pandas as pd

from analysis.models import ceilings

DRAWN_COLUMNS = ("benchmark_id", "model_slug", "chip_name", "vendor", "round", "scenario", "submitter",
                 "accelerators", "weight_bits", "measured_tokens_per_s", "ceiling_tokens_per_s",
                 "fraction_of_ceiling", "best", "source_ids")


def measured(points: pd.DataFrame) -> pd.DataFrame:
    """The points that are measurements, not the article's claims."""
    return points[points["round"].ne(ceilings.ARTICLE_ROUND)]


def round_order(points: pd.DataFrame) -> list[str]:
    """The article's claims first, then the measured rounds in sorted order."""
    return [ceilings.ARTICLE_ROUND, *sorted(measured(points)["round"].unique())]


def drawn_points(points: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """The rows of the fraction-of-ceiling chart, in ``DRAWN_COLUMNS``: every point, with ``best``
    true where it is the best of its chip, model and round (its benchmark id is among ``best``'s)."""
    return points.assign(best=points["benchmark_id"].isin(best["benchmark_id"]))[list(DRAWN_COLUMNS)]


def top_result(points: pd.DataFrame) -> pd.Series:
    """The measured point closest to its ceiling (the highest ``fraction_of_ceiling``)."""
    return measured(points).sort_values("fraction_of_ceiling", ascending=False).iloc[0]


def share_by_round(best: pd.DataFrame, model_slug: str, chip_slug: str) -> pd.Series:
    """One chip's best fraction of its ceiling on one model, indexed by round in ``best``'s order.
    Raises ``ValueError`` when the chip has no such result, so a chapter never compares nothing."""
    share = best[best["model_slug"].eq(model_slug) & best["chip_slug"].eq(chip_slug)]
    if share.empty:
        raise ValueError(f"no bounded result of {chip_slug!r} on {model_slug!r}")
    return share.set_index("round")["fraction_of_ceiling"]


def median_by_model(points: pd.DataFrame) -> pd.Series:
    """The median fraction of its ceiling of each model's measured points, indexed by model slug."""
    return measured(points).groupby("model_slug")["fraction_of_ceiling"].median()


def speculation_changes(table: pd.DataFrame, plain: pd.DataFrame) -> tuple[int, int]:
    """How many rows of a ceilings ``table`` allow more than one token per step, and of those how many
    have a higher ceiling than in ``plain`` (the same rows computed with one token per step), beyond
    ``ceilings.TOLERANCE``. The two tables must hold the same rows in the same order."""
    if len(table) != len(plain):
        raise ValueError(f"the tables differ in length ({len(table)} and {len(plain)} rows)")
    speculative = table["tokens_per_step"].gt(1).to_numpy()
    ceiling = table["ceiling_tokens_per_s"].to_numpy()[speculative]
    without = plain["ceiling_tokens_per_s"].to_numpy()[speculative]
    return int(speculative.sum()), int((ceiling > without * (1 + ceilings.TOLERANCE)).sum())
