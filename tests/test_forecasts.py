"""The forecast registry: every rule runs on the real store, evidence flips a forecast, scores are right,
bad rules and deadlines are rejected by the build."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analysis.build import bookstore
from analysis.data import reader, validation
from analysis.rules import forecast_rules
from analysis.rules import forecasts as F

pytestmark = pytest.mark.data

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
ARTICLE_DATE = "2025-04-15"


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A copy of the real data folder (without the built store) that a test may change."""
    d = tmp_path / "data"
    shutil.copytree(DATA, d, ignore=shutil.ignore_patterns("*.duckdb", "*.wal", ".*"))
    return d


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("real") / "data"
    shutil.copytree(DATA, d, ignore=shutil.ignore_patterns("*.duckdb", "*.wal", ".*"))
    return bookstore.build(d, d / "test.duckdb")


def _rewrite_forecasts(data_dir: Path, change) -> int:
    """Apply ``change(rows)`` to forecasts.csv; return the line of the first data row."""
    path = data_dir / "forecasts.csv"
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines(keepends=True)))
    change(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return 2


def _append_event(data_dir: Path, line: str) -> None:
    with open(data_dir / "events.csv", "a", encoding="utf-8", newline="") as fh:
        fh.write(line + "\r\n")


def test_every_rule_runs_on_the_real_store(real_store: Path) -> None:
    con = duckdb.connect(str(real_store), read_only=True)
    registry = con.execute("SELECT * FROM forecasts").df()
    assert len(registry) >= 14
    for row in registry.to_dict("records"):
        for as_of in (row["made_on"], "2026-11-29", row["resolve_by"], pd.Timestamp(row["resolve_by"]) + pd.Timedelta(days=1)):
            outcome, evidence = forecast_rules.run_rule(con, row["rule"], as_of=as_of, resolve_by=row["resolve_by"])
            assert outcome in (True, False, None), row["forecast_id"]
            assert isinstance(evidence, str) and evidence, row["forecast_id"]
            if outcome is False and pd.Timestamp(as_of) <= pd.Timestamp(row["resolve_by"]):
                # false before the deadline only on evidence already in the store: it must name ids
                assert any(ch.isdigit() for ch in evidence), row["forecast_id"]
    con.close()


def test_registry_covers_the_required_forecasts(real_store: Path) -> None:
    con = duckdb.connect(str(real_store), read_only=True)
    reg = con.execute("SELECT * FROM forecasts").df().set_index("forecast_id")
    con.close()
    article = reg[reg["source"] == "article"]
    book = reg[reg["source"] == "book"]
    assert {"p1-subscription-pricing", "p2-inference-native-10b", "p3-nvidia-inference-chip",
            "p4-open-models-inference-optimized", "phones-30b-by-2027", "consolidation-2027",
            "cost-2026-cloud-gpu", "cost-2026-custom-silicon", "cost-2026-dedicated-chip",
            "cost-2026-consumer-device"} <= set(article.index)
    assert (article["made_on"] == pd.Timestamp(ARTICLE_DATE)).all()
    assert article["probability"].notna().all() and article["hedging"].notna().all()
    assert len(book) >= 3 and (book["resolve_by"] > pd.Timestamp("2026-11-29")).all()
    assert (book["made_on"] == pd.Timestamp("2026-11-29")).all()
    intervals = book[book["value_low"].notna()]
    assert len(intervals) >= 2 and (intervals["value_low"] < intervals["value_high"]).all()


def test_status_as_of_the_book_date(real_store: Path) -> None:
    with reader.open_store(real_store) as db:
        resolved = F.resolve(db, as_of="2026-11-29").set_index("id")
        assert "forecasts" in db.tables_read and "events" in db.tables_read
    assert list(resolved.columns[:6]) == ["statement", "source", "status", "resolve_by", "probability", "evidence"]
    assert resolved.loc["p1-subscription-pricing", "status"] == "false"
    assert resolved.loc["p3-nvidia-inference-chip", "status"] == "true"
    assert "nvidia-groq3-lpx-2026-03-16" in resolved.loc["p3-nvidia-inference-chip", "evidence"]
    assert resolved.loc["consolidation-2027", "status"] == "true"
    # 2026 cost forecasts wait for the year to end, with the current reading in the evidence
    assert resolved.loc["cost-2026-cloud-gpu", "status"] == "pending"
    assert "median" in resolved.loc["cost-2026-cloud-gpu", "evidence"]
    assert (resolved.loc[resolved["source"] == "book", "status"] == "pending").all()
    later = F.resolve(duckdb.connect(str(real_store), read_only=True), as_of="2027-01-05").set_index("id")
    assert later.loc["cost-2026-cloud-gpu", "status"] == "false"
    # a round that happened cannot be undone: the first crossing decides p2 whenever it is dated
    assert resolved.loc["p2-inference-native-10b", "status"] == "false"
    assert "scale-ai" in resolved.loc["p2-inference-native-10b", "evidence"]
    # who leads can change until the deadline: p4 stays pending, with its leaning, and is decided after it
    assert resolved.loc["p4-open-models-inference-optimized", "status"] == "pending"
    assert "leaning false" in resolved.loc["p4-open-models-inference-optimized", "evidence"]
    after = F.resolve(duckdb.connect(str(real_store), read_only=True), as_of="2027-04-16").set_index("id")
    assert after.loc["p4-open-models-inference-optimized", "status"] == "false"


def test_everything_is_pending_before_the_article(real_store: Path) -> None:
    con = duckdb.connect(str(real_store), read_only=True)
    resolved = F.resolve(con, as_of="2025-01-01")
    con.close()
    assert len(resolved) >= 14
    assert (resolved["status"] == "pending").all()
    assert (resolved["evidence"] == "").all()


def test_a_new_event_flips_a_pending_forecast(data_copy: Path) -> None:
    before = bookstore.build(data_copy, data_copy / "a.duckdb")
    con = duckdb.connect(str(before), read_only=True)
    status = F.resolve(con, as_of="2026-12-15").set_index("id").loc["phones-30b-by-2027", "status"]
    con.close()
    assert status == "pending"
    _append_event(data_copy, "phone-32b-2026-12-01,2026-12-01,product,apple,Flagship phone ships with an on-device 32B model,"
                              "phones-30b,article-ainews-inference-collapse,Synthetic test row.")
    after = bookstore.build(data_copy, data_copy / "b.duckdb")
    con = duckdb.connect(str(after), read_only=True)
    resolved = F.resolve(con, as_of="2026-12-15").set_index("id")
    early = F.resolve(con, as_of="2026-11-30").set_index("id")
    con.close()
    assert resolved.loc["phones-30b-by-2027", "status"] == "true"
    assert "phone-32b-2026-12-01" in resolved.loc["phones-30b-by-2027", "evidence"]
    # the new row is dated 2026-12-01, so as of the day before it does not count
    assert early.loc["phones-30b-by-2027", "status"] == "pending"


def test_brier_and_log_score_by_hand() -> None:
    assert F.brier([0.9, 0.2], [1, 0]) == pytest.approx((0.01 + 0.04) / 2)
    assert F.brier([0.9, 0.2], [True, False]) == pytest.approx(0.025)
    assert F.log_score([0.9, 0.2], [1, 0]) == pytest.approx((math.log(0.9) + math.log(0.8)) / 2)
    assert F.log_score([1.0], [0]) == pytest.approx(math.log(1e-6))
    assert F.brier([0.0, 1.0], [0, 1]) == 0.0
    with pytest.raises(ValueError):
        F.brier([0.5], [1, 0])
    with pytest.raises(ValueError):
        F.brier([1.5], [1])


def _resolved_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["a", "b", "c", "d", "e"],
        "statement": ["s"] * 5,
        "source": ["article", "article", "book", "book", "book"],
        "status": ["true", "false", "true", "false", "pending"],
        "resolve_by": pd.to_datetime(["2025-12-31"] * 5),
        "probability": [0.9, 0.2, 0.7, None, 0.5],
        "evidence": ["x", "y", "z", "w", ""],
        "made_on": pd.to_datetime(["2025-04-15"] * 5),
        "value_low": [None, None, 1.0, 2.0, 3.0],
        "value_high": [None, None, 2.0, 3.0, 4.0],
    })


def test_scores_coverage_and_calibration() -> None:
    frame = _resolved_frame()
    s = F.scores(frame)
    assert s["true"] == 2 and s["false"] == 2 and s["pending"] == 1 and s["scored"] == 3
    assert s["brier"] == pytest.approx((0.01 + 0.04 + 0.09) / 3)
    assert s["log_score"] == pytest.approx((math.log(0.9) + math.log(0.8) + math.log(0.7)) / 3)
    assert F.interval_coverage(frame) == (1, 2)
    cal = F.calibration_table(frame, bins=(0.0, 0.5, 1.0)).set_index("bin")
    assert cal.loc["0-0.5", "n"] == 1 and cal.loc["0-0.5", "observed_rate"] == 0.0
    assert cal.loc["0.5-1", "n"] == 2 and cal.loc["0.5-1", "mean_probability"] == pytest.approx(0.8)
    table = F.scores_table(frame).set_index("source")
    assert table.loc["article", "brier"] == pytest.approx(0.025)
    assert table.loc["all", "forecasts"] == 5


def test_forecasts_json_is_serialisable() -> None:
    out = F.forecasts_json(_resolved_frame())
    text = json.dumps(out)
    assert out[0]["resolve_by"] == "2025-12-31" and out[3]["probability"] is None
    assert set(out[0]) == {"id", "statement", "source", "status", "resolve_by", "probability", "evidence"}
    assert "NaN" not in text


def test_a_rule_that_does_not_run_is_rejected(data_copy: Path) -> None:
    def break_rule(rows: list[dict[str, str]]) -> None:
        rows[0]["rule"] = "SELECT no_such_column AS outcome, 'x' AS evidence FROM events"

    line = _rewrite_forecasts(data_copy, break_rule)
    with pytest.raises(validation.ValidationError) as err:
        bookstore.build(data_copy, data_copy / "x.duckdb")
    problems = err.value.problems
    assert any(p.file.endswith("data/forecasts.csv") and p.line == line and p.column == "rule" for p in problems)
    assert not (data_copy / "x.duckdb").exists()


@pytest.mark.parametrize("rule, words", [
    ("SELECT 1 AS outcome, 'x' AS evidence", "BOOLEAN"),
    ("SELECT true AS outcome", "outcome, evidence"),
    ("SELECT true AS outcome, 'x' AS evidence FROM range(2)", "one row"),
    ("SELECT true AS outcome, CAST(NULL AS VARCHAR) AS evidence", "evidence"),
    ("SELECT true AS outcome, 'x' AS evidence; SELECT 1", "one SELECT"),
])
def test_rules_of_the_wrong_shape_are_rejected(data_copy: Path, rule: str, words: str) -> None:
    def set_rule(rows: list[dict[str, str]]) -> None:
        rows[0]["rule"] = rule
        rows[0]["evidence_tables"] = "events"

    line = _rewrite_forecasts(data_copy, set_rule)
    with pytest.raises(validation.ValidationError) as err:
        bookstore.build(data_copy, data_copy / "x.duckdb")
    hits = [p for p in err.value.problems if p.line == line and p.column == "rule"]
    assert hits and words in hits[0].message


def test_a_rule_reading_an_unlisted_table_is_rejected(data_copy: Path) -> None:
    def unlist(rows: list[dict[str, str]]) -> None:
        rows[0]["evidence_tables"] = "events"  # the first rule also reads prices

    _rewrite_forecasts(data_copy, unlist)
    with pytest.raises(validation.ValidationError) as err:
        bookstore.build(data_copy, data_copy / "x.duckdb")
    assert any(p.column == "evidence_tables" and "prices" in p.message for p in err.value.problems)


def test_a_deadline_before_made_on_is_rejected(data_copy: Path) -> None:
    def backwards(rows: list[dict[str, str]]) -> None:
        rows[0]["resolve_by"] = "2025-01-01"

    line = _rewrite_forecasts(data_copy, backwards)
    with pytest.raises(validation.ValidationError) as err:
        bookstore.build(data_copy, data_copy / "x.duckdb")
    hits = [p for p in err.value.problems if p.column == "resolve_by"]
    assert hits and hits[0].line == line and hits[0].file.endswith("data/forecasts.csv")


def test_the_real_registry_builds_and_the_store_holds_it(real_store: Path) -> None:
    con = duckdb.connect(str(real_store), read_only=True)
    n = con.execute("SELECT count(*) FROM forecasts").fetchone()[0]
    con.close()
    assert n == len(pd.read_csv(DATA / "forecasts.csv"))
