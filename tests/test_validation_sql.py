"""Validation in DuckDB: each file read once as text, the checks as SQL, every problem at once, each
on the line of the file an editor shows (a record with a line break inside a quoted value spans two).

The synthetic two-table folder of ``conftest.data_dir``, broken one way per test: line numbers under
every line ending and quoting the CSV dialect allows, the fallback to Python's csv module where DuckDB
and the file disagree, the book's strictness (white space, integer syntax, booleans), references
reported beside every other problem, counts beyond ``MAX_REPORTS_PER_CHECK``, and SQL-looking data
that stays data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

from analysis.data import checks, csvfile, store, validation
from analysis.data.problems import MAX_REPORTS_PER_CHECK
from analysis.data.safety import compile_pattern
from tests.conftest import WIDGETS_CSV, WIDGETS_META

HEADER = WIDGETS_CSV.splitlines()[0]
ALPHA = WIDGETS_CSV.splitlines()[1]
BETA = WIDGETS_CSV.splitlines()[2]
MULTILINE_BETA = BETA.replace('"SRAM only, no DRAM"', '"SRAM only,\nno DRAM"')


def _problems(data_dir: Path, text: str | bytes) -> list[str]:
    """The problems of the folder once ``widgets.csv`` holds ``text``."""
    path = data_dir / "widgets.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    try:
        validation.validate(data_dir)
    except validation.ValidationError as exc:
        return [str(p).split("widgets.csv", 1)[-1] for p in exc.problems]
    return []


def test_a_record_with_a_line_break_inside_spans_two_lines(data_dir: Path) -> None:
    text = "\n".join([HEADER, MULTILINE_BETA.replace("beta,", "gamma,"), ALPHA.replace(",80,", ",lots,"), ""])
    assert _problems(data_dir, text) == [", line 4, column 'memory_gb': expected a number (plain decimal, no "
                                         "units or thousands separators), got 'lots'"]


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["crlf", "lone-cr"])
def test_line_numbers_hold_under_other_line_endings(data_dir: Path, ending: str) -> None:
    text = ending.join([HEADER, MULTILINE_BETA.replace("beta,", "gamma,"), ALPHA.replace(",80,", ",lots,"), ""])
    assert [p[:30] for p in _problems(data_dir, text)] == [", line 4, column 'memory_gb': "]


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["crlf", "lone-cr"])
def test_mixed_line_endings_are_read_as_the_csv_module_reads_them(data_dir: Path, ending: str, tmp_path: Path) -> None:
    text = "\n".join([HEADER, ALPHA, BETA.replace('"SRAM only, no DRAM"', '"SRAM only,\r\nno DRAM"')]) + ending
    text += ALPHA.replace("alpha,", "gamma,") + "\n"
    assert _problems(data_dir, text) == []
    path = store.build(validation.validate(data_dir), tmp_path / "s.duckdb")
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT slug, note FROM widgets").fetchall() == [
            ("alpha", None), ("beta", "SRAM only,\r\nno DRAM"), ("gamma", None)]
    assert [p[:30] for p in _problems(data_dir, text.replace("gamma,gpu,80,", "gamma,gpu,x,"))] == [
        ", line 5, column 'memory_gb': "]


def test_a_byte_order_mark_is_allowed(data_dir: Path) -> None:
    assert _problems(data_dir, "\ufeff" + WIDGETS_CSV) == []


def test_a_blank_line_is_found_by_the_csv_module(data_dir: Path) -> None:
    assert _problems(data_dir, "\n".join([HEADER, ALPHA, "", BETA, ""])) == [", line 3: blank line inside the table"]


def test_a_ragged_row_after_a_multiline_record_is_on_its_own_line(data_dir: Path) -> None:
    text = "\n".join([HEADER, MULTILINE_BETA, "gamma,gpu,1", ""])
    assert _problems(data_dir, text) == [", line 4: ragged row: 3 fields, the header has 8"]


def test_text_after_a_closing_quote_is_refused_on_its_line(data_dir: Path) -> None:
    text = "\n".join([HEADER, ALPHA, BETA.replace('"SRAM only, no DRAM"', '"SRAM only" no DRAM'), ""])
    [problem] = _problems(data_dir, text)
    assert problem.startswith(", line 3: unreadable CSV: a quoted field goes on after its closing quote"), problem


SPACED = {' "alpha"': ' "alpha"', '"alpha" ': "alpha ", '"alpha"  ': "alpha  "}


@pytest.mark.parametrize("cell", sorted(SPACED))
def test_spaces_outside_the_quotes_are_part_of_the_value(data_dir: Path, cell: str) -> None:
    """DuckDB would drop them; the csv module, frictionless and the book keep them, and refuse the value."""
    assert _problems(data_dir, "\n".join([HEADER, ALPHA.replace("alpha,", f"{cell},"), BETA, ""])) == [
        f", line 2, column 'slug': expected no leading or trailing white space, got {SPACED[cell]!r}"]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64])
def test_the_byte_scan_finds_what_straddles_its_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       chunk: int) -> None:
    monkeypatch.setattr(csvfile, "CHUNK_BYTES", chunk)
    path = tmp_path / "t.csv"
    for text, spaced in (('a,b\nx,   "y"\n', True), ('a,b\n"x"   ,y\n', True), ('a,b\n"x ""y"""\n', False),
                         ('a,b\nx  y,"z"\n', False)):
        path.write_bytes(text.encode())
        scanned = csvfile.scan(path)
        assert (scanned.spaced_quote, scanned.lines, scanned.cr, scanned.utf8) == (spaced, 2, False, True), text
    path.write_bytes("a,b\r\n\u00e9,\u3000\n".encode())
    assert (csvfile.scan(path).cr, csvfile.scan(path).utf8, csvfile.scan(path).lines) == (True, True, 2)
    path.write_bytes(b"a,b\n\xc3,x\n")
    assert not csvfile.scan(path).utf8


def test_every_problem_is_reported_at_once_references_included(data_dir: Path) -> None:
    text = WIDGETS_CSV.replace("alpha,gpu,80,", "alpha,gpu,lots,").replace("spec-a;spec-b", "spec-a;spec-z")
    assert _problems(data_dir, text) == [
        ", line 2, column 'memory_gb': expected a number (plain decimal, no units or thousands separators), got 'lots'",
        ", line 3, column 'source_ids': 'spec-z' not found in sources.source_id",
    ]


def test_a_reference_to_a_table_that_failed_is_left_until_it_is_fixed(data_dir: Path) -> None:
    (data_dir / "sources.csv").write_text("source_id,title\nspec-a,x\n", encoding="utf-8")
    problems = _problems(data_dir, WIDGETS_CSV)
    assert problems and not any("not found" in p or "not a valid table column" in p for p in problems), problems


STRICT = {
    "padded key": (ALPHA.replace("alpha,", " alpha,"),
                   ", line 2, column 'slug': expected no leading or trailing white space, got ' alpha'"),
    "padded enum value": (ALPHA.replace(",gpu,", ",gpu ,"),
                          ", line 2, column 'kind': expected no leading or trailing white space, got 'gpu '"),
    "padded number": (ALPHA.replace(",80,", ", 80,"),
                      ", line 2, column 'memory_gb': expected no leading or trailing white space, got ' 80'"),
    "no-break space": (ALPHA.replace("alpha,", "alpha\xa0,"),
                       ", line 2, column 'slug': expected no leading or trailing white space, got 'alpha\\xa0'"),
    "padded list item": (ALPHA.replace("fp16;fp8", "fp16; fp8"),
                         ", line 2, column 'precisions': item ' fp8' has leading or trailing white space: "
                         "separate the items with ';' alone"),
    "padded reference": (ALPHA.replace(",spec-a,", ",spec-a ,"),
                         ", line 2, column 'source_ids': item 'spec-a ' has leading or trailing white space: "
                         "separate the items with ';' alone"),
    "integer with a decimal point": (ALPHA.replace(",132,", ",132.0,"),
                                     ", line 2, column 'cores': expected a whole number written in digits (no "
                                     "decimal point, exponent or separator), got '132.0'"),
    "integer with an exponent": (ALPHA.replace(",132,", ",1.32e2,"), ", line 2, column 'cores': expected a whole"),
    "integer too large": (ALPHA.replace(",132,", ",99999999999999999999,"), ", line 2, column 'cores': expected a whole"),
    "number with an underscore": (ALPHA.replace(",80,", ",8_0,"), ", line 2, column 'memory_gb': expected a number"),
    "number that is not finite": (ALPHA.replace(",80,", ",1e400,"), ", line 2, column 'memory_gb': expected a number"),
    "date of year zero": (ALPHA.replace("2022-03-22", "0000-03-22"), ", line 2, column 'launched': expected a date"),
    "value with a line break": (ALPHA.replace("alpha,", '"alpha\n",'),
                                ", line 2, column 'slug': expected no leading or trailing white space, got 'alpha\\n'"),
}


@pytest.mark.parametrize("case", sorted(STRICT))
def test_the_book_reads_every_cell_as_written(case: str, data_dir: Path) -> None:
    row, expected = STRICT[case]
    problems = _problems(data_dir, "\n".join([HEADER, row, BETA, ""]))
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_white_space_alone_is_an_empty_cell(data_dir: Path, tmp_path: Path) -> None:
    text = "\n".join([HEADER, ALPHA.replace(",132,", ",  ,").replace("fp16;fp8", " \t"), BETA, ""])
    assert _problems(data_dir, text) == []
    path = store.build(validation.validate(data_dir), tmp_path / "s.duckdb")
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT cores, precisions FROM widgets WHERE slug = 'alpha'").fetchone() == (None, None)
    assert _problems(data_dir, WIDGETS_CSV.replace("2022-03-22,fp16;fp8,spec-a,", "2022-03-22,fp16;fp8,   ,")) == [
        ", line 2, column 'source_ids': empty, but the column is required"]


def test_booleans_take_the_six_spellings_the_descriptor_declares(data_dir: Path) -> None:
    meta = WIDGETS_META.replace("  - name: note\n", "  - name: sold\n    type: boolean\n    description: Sold.\n"
                                "    required: false\n  - name: note\n")
    (data_dir / "widgets.meta.yml").write_text(meta, encoding="utf-8")
    rows = [HEADER.replace(",note", ",sold,note"), *[ALPHA.replace("alpha", f"w{i}").replace(",spec-a,", f",spec-a,{v},")
                                                     for i, v in enumerate(checks.BOOLEANS)]]
    assert _problems(data_dir, "\n".join([*rows, ""])) == []
    assert _problems(data_dir, "\n".join([*rows, ALPHA.replace(",spec-a,", ",spec-a,tRuE,"), ""])) == [
        ", line 8, column 'sold': expected true or false (true, True, TRUE, false, False or FALSE), got 'tRuE'"]


def test_beyond_the_first_cells_a_check_counts_the_rest(data_dir: Path) -> None:
    rows = [ALPHA.replace("alpha,", f"w{i},").replace(",80,", ",lots,") for i in range(MAX_REPORTS_PER_CHECK + 5)]
    problems = _problems(data_dir, "\n".join([HEADER, *rows, ""]))
    assert len(problems) == MAX_REPORTS_PER_CHECK + 1
    assert problems[-1] == ", column 'memory_gb': ... and 5 more rows like these"
    assert [p.split(",")[1] for p in problems[:3]] == [" line 2", " line 3", " line 4"]


def test_an_over_long_value_is_reported_alone(data_dir: Path) -> None:
    text = WIDGETS_CSV.replace('"SRAM only, no DRAM"', " " + "x" * 10_001)
    assert _problems(data_dir, text) == [", line 3, column 'note': the value has 10002 characters; at most 10000 "
                                         "are allowed"]


def test_data_that_looks_like_sql_stays_data(data_dir: Path, tmp_path: Path) -> None:
    evil = "x'); DROP TABLE sources; SELECT ('"
    text = WIDGETS_CSV.replace('"SRAM only, no DRAM"', f'"{evil}"').replace("spec-a;spec-b", "spec-a;$p0")
    assert _problems(data_dir, text) == [", line 3, column 'source_ids': '$p0' not found in sources.source_id"]
    (data_dir / "widgets.csv").write_text(WIDGETS_CSV.replace('"SRAM only, no DRAM"', f'"{evil}"'), encoding="utf-8")
    path = store.build(validation.validate(data_dir), tmp_path / "s.duckdb")
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT note FROM widgets WHERE slug = 'beta'").fetchone() == (evil,)
        assert con.execute("SELECT count(*) FROM sources").fetchone() == (2,)


def test_a_folder_whose_name_looks_like_a_pattern_is_read_as_named(tmp_path: Path, data_dir: Path) -> None:
    odd = tmp_path / "data [*]"
    data_dir.rename(odd)
    assert set(validation.validate(odd)) == {"sources", "widgets"}


PATTERNS = ["^[a-z0-9-]+$", r"^https?://\S+$", "(?i)^gpu$", r"^\p{L}+$", "^.+$", "gpu", r"^\w+$", r"\d{4}",
            "^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$"]
SUBJECTS = ["abc", "abc\n", "a b", "GPU", "gpu", "\u00c9a", "\u00e9", "x/y", "https://a.b/c", "https://a b", "2024",
            "a2024b", "", "\n", "ab\ncd", "\uff41\uff42"]


def test_a_contract_pattern_matches_in_duckdb_as_it_does_where_it_is_compiled() -> None:
    """``safety.compile_pattern`` (Python's RE2) vets a pattern, DuckDB's RE2 runs it: same verdicts."""
    with duckdb.connect() as con:
        for pattern in PATTERNS:
            compiled = compile_pattern(pattern)
            for subject in SUBJECTS:
                matched = con.execute("SELECT regexp_full_match($s, $p)", {"s": subject, "p": pattern}).fetchone()
                assert matched == (compiled.fullmatch(subject) is not None,), (pattern, subject)


def test_the_white_space_is_what_python_strips() -> None:
    assert checks.WHITESPACE == "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
    assert ("x" + checks.WHITESPACE + "y").strip(checks.WHITESPACE + "xy") == ""


def test_the_records_keep_their_lines_for_the_rules_and_the_rerun(data_dir: Path) -> None:
    (data_dir / "widgets.csv").write_text("\n".join([HEADER, MULTILINE_BETA, ALPHA, ""]), encoding="utf-8")
    table = validation.validate(data_dir)["widgets"]
    assert list(table.lines) == [2, 4] and table.rows == 2
    assert list(table.frame["slug"]) == ["beta", "alpha"] and table.frame["cores"].iat[0] == ""


def test_checks_that_duckdb_cannot_run_are_a_problem_of_the_contract(data_dir: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise duckdb.InvalidInputException("Invalid Input Error: pattern too large")

    monkeypatch.setattr(checks, "run", refuse)
    with pytest.raises(validation.ValidationError) as info:
        validation.validate(data_dir)
    assert [str(p).split("data/")[-1] for p in info.value.problems][:1] == [
        "sources.meta.yml: the contract's checks cannot run: Invalid Input Error: pattern too large"]
