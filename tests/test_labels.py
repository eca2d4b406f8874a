"""Tables for readers (analysis.book.labels and the chapter's table formatting)."""

from __future__ import annotations

import pandas as pd

from analysis.book import chapter, labels


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    return chapter.Chapter._formatted(object.__new__(chapter.Chapter), frame, 2)


def test_headings_are_words_with_units() -> None:
    assert labels.heading("claimed_low") == "claimed, from"
    assert labels.heading("memory_bw_tbps") == "memory bandwidth (TB/s)"
    assert labels.heading("joules_per_token") == "joules per token"
    assert labels.heading("energy_usd") == "energy (USD)"
    assert labels.heading("USD per 1M tokens, from") == "USD per 1M tokens, from", "a chapter's own wording stays"


def test_years_print_as_years_and_missing_values_as_a_dash() -> None:
    shown = _shown(pd.DataFrame({"observed_year": [2024.0, None], "year": [2026, 2025], "usd": [1234.5, None]}))
    assert shown["year observed"].tolist() == ["2024", chapter.MISSING]
    assert shown["year"].tolist() == ["2026", "2025"]
    assert shown["usd"].tolist() == ["1,234.50", chapter.MISSING]


def test_the_verdict_and_its_reason_come_right_after_the_first_column() -> None:
    frame = pd.DataFrame({"claim_id": ["c"], "claimed_low": [1.0], "observed_low": [2.0], "verdict": ["supported"],
                          "reason": ["why"]})
    assert list(_shown(frame).columns) == ["claim", "verdict", "reason", "claimed, from", "lowest observed"]
    assert labels.result_first(["verdict", "a"]) == ["verdict", "a"]


def test_a_pivot_has_no_empty_corner_heading() -> None:
    pivot = pd.DataFrame({"table": ["t"], "supported": [1]}).rename_axis(columns="verdict")
    html = _shown(pivot).to_html(index=False)
    assert "verdict" not in html and html.count("<th>") == 2


def test_two_columns_never_share_a_heading() -> None:
    assert labels.headings(["claim_id", "claim", "verdict"]) == ["claim id", "claim", "verdict"]
    assert labels.headings(["claim_id", "verdict"]) == ["claim", "verdict"]
