"""Data is input from strangers: each attack here is one a hostile contributor or rerunner could try.

Every case must be rejected (or made harmless) with a message naming the file -- and the line and
column where there is one -- with no traceback, no file written outside the book's outputs, and the
store and data folder byte-identical. ``test_the_sandbox_has_teeth`` shows that the rules refused here
would really read files on an ordinary connection. The hostile build of the whole book, checked in
Chromium, is ``test_hostile_text_in_every_free_text_column_stays_text`` at the end.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from analysis import escape
from analysis.book import bibliography, figures
from analysis.build import bookstore, rerun, workflow
from analysis.data import safety, sandbox, store, validation
from analysis.rules import forecast_rules, forecasts
from tests.conftest import ROOT, SOURCES_CSV, SOURCES_META, WIDGETS_CSV, WIDGETS_META

pytestmark = pytest.mark.data

DATA = ROOT / "data"


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture
def built(data_dir: Path) -> Path:
    """The small synthetic data folder with its store built."""
    bookstore.build(data_dir, data_dir / store.STORE_NAME)
    return data_dir


def _rejected(data_dir: Path, expected: str, *, file: str | None = None) -> str:
    """Validating and building ``data_dir`` fails with ``expected`` in the report, naming ``file``;
    the store and every file are unchanged."""
    before = _tree(data_dir)
    with pytest.raises(validation.ValidationError) as info:
        bookstore.build(data_dir, data_dir / store.STORE_NAME)
    report = info.value.report()
    assert expected in report, report
    if file is not None:
        assert any(p.file.endswith(file) for p in info.value.problems), report
    assert _tree(data_dir) == before
    return report


# ------------------------------------------------------------------ identifiers and SQL

INJECTED_COLUMN = "id\", '') AS x FROM incoming; COPY (SELECT 'pwned') TO 'pwned.txt' (FORMAT csv); --"


def test_injected_column_name_in_a_new_contract_is_rejected(built: Path, tmp_path: Path) -> None:
    meta = WIDGETS_META.replace("name: widgets", "name: gadgets").replace(
        "  - name: note\n", f"  - name: '{INJECTED_COLUMN.replace(chr(39), chr(39) * 2)}'\n")
    (built / "gadgets.meta.yml").write_text(meta)
    (built / "gadgets.csv").write_text(WIDGETS_CSV.replace(",note", f',"{INJECTED_COLUMN.replace(chr(34), chr(34) * 2)}"'))
    done = subprocess.run([sys.executable, "-m", "analysis", "store", "--data", str(built)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "gadgets.meta.yml: field columns[7].name" in done.stderr and "does not match" in done.stderr
    assert not list(tmp_path.rglob("pwned*")) and not (ROOT / "pwned.txt").exists()


def test_injected_table_name_from_a_file_name_is_rejected(built: Path, tmp_path: Path) -> None:
    evil = "evil\" AS SELECT 1 AS source_ids; COPY (SELECT 'x') TO 'yaml.py' (FORMAT csv); --"
    (built / f"{evil}.csv").write_text("a\n1\n")
    (built / f"{evil}.meta.yml").write_text(WIDGETS_META)
    report = _rejected(built, "is not allowed: use a lower-case letter")
    assert "evil" in report
    assert not (tmp_path / "yaml.py").exists() and not (ROOT / "yaml.py").exists()


def test_injected_table_name_in_a_rerun_folder_is_rejected(built: Path, tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    evil = "evil\" AS SELECT 1 AS source_ids; COPY (SELECT 'import os') TO 'yaml.py' (FORMAT csv); --"
    (folder / f"{evil}.csv").write_text("a\n1\n")
    (folder / f"{evil}.meta.yml").write_text(WIDGETS_META)
    before = _tree(built)
    with pytest.raises(validation.ValidationError, match="table name .* is not allowed"):
        workflow.rerun(built.parent, folder, echo=lambda s: None, html=False)
    assert _tree(built) == before
    assert not (built.parent / "yaml.py").exists() and not (ROOT / "yaml.py").exists()


@pytest.mark.parametrize("field, value, words", [
    ("references", 'sources.source_id"; DROP TABLE sources; --', "columns[6].references"),
    ("primary_key", "[Slug]", "primary_key[0]"),
    ("name", "Memory_GB", "columns[2].name"),
], ids=["references", "primary-key", "upper-case-column"])
def test_contract_identifiers_must_match_the_one_pattern(data_dir: Path, field: str, value: str, words: str) -> None:
    meta = WIDGETS_META
    if field == "references":
        meta = meta.replace("references: sources.source_id", f"references: '{value}'")
    elif field == "primary_key":
        meta = meta.replace("primary_key: [slug]", f"primary_key: {value}")
    else:
        meta = meta.replace("name: memory_gb", f"name: {value}")
    (data_dir / "widgets.meta.yml").write_text(meta)
    _rejected(data_dir, f"widgets.meta.yml: field {words}", file="widgets.meta.yml")


def test_quote_ident_refuses_what_the_pattern_refuses() -> None:
    assert safety.quote_ident("chips") == '"chips"' and safety.quote_ident("_tables") == '"_tables"'
    for bad in ['a"b', "Chips", "a b", "", "1a", "x" * 64]:
        with pytest.raises(safety.UnsafeName):
            safety.quote_ident(bad)


# ------------------------------------------------------------------ rules in the sandbox

@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(DATA, d, ignore=shutil.ignore_patterns("*.duckdb", "*.wal", ".*"))
    return d


def _set_rule(data_dir: Path, rule: str, tables: str = "events") -> None:
    path = data_dir / "forecasts.csv"
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines(keepends=True)))
    rows[0]["rule"], rows[0]["evidence_tables"] = rule, tables
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _rule_rejected(data_dir: Path, rule: str, words: str, tables: str = "events") -> str:
    _set_rule(data_dir, rule, tables)
    before = _tree(data_dir)
    with pytest.raises(validation.ValidationError) as info:
        bookstore.build(data_dir, data_dir / "x.duckdb")
    hits = [p for p in info.value.problems
            if p.file.endswith("data/forecasts.csv") and p.line == 2 and p.column == "rule"]
    assert hits, info.value.report()
    assert words in hits[0].message, hits[0].message
    assert _tree(data_dir) == before and not (data_dir / "x.duckdb").exists()
    return hits[0].message


PASSWD = ("SELECT true AS outcome, (SELECT string_agg(column0, ' ') FROM read_csv('/etc/passwd', header=false, "
          "sep=':', all_varchar=true)) AS evidence")
HOSTNAME = "SELECT true AS outcome, (SELECT content FROM read_text('/etc/hostname')) AS evidence"

HOSTILE_RULES = {
    "read-csv-etc-passwd": (PASSWD, "read_csv"),
    "read-text-etc-hostname": (HOSTNAME, "read_text"),
    "glob-root": ("SELECT true AS outcome, (SELECT string_agg(file, ' ') FROM glob('/root/*')) AS evidence", "glob"),
    "proc-self-environ": ("SELECT true AS outcome, (SELECT content FROM read_blob('/proc/self/environ'))::VARCHAR "
                          "AS evidence", "read_blob"),
    "https-url": ("SELECT true AS outcome, (SELECT content FROM read_text('https://example.com/x')) AS evidence",
                  "read_text"),
    "query-table-undeclared": ("SELECT true AS outcome, (SELECT string_agg(title, ' ') FROM query_table('sources')) "
                               "AS evidence", "query_table"),
    "settings": ("SELECT true AS outcome, (SELECT string_agg(value, ' ') FROM duckdb_settings()) AS evidence",
                 "duckdb_settings"),
    "copy": ("COPY (SELECT 1) TO 'out.csv'", "exactly one SELECT"),
    "attach": ("ATTACH 'other.duckdb' AS other", "exactly one SELECT"),
    "install": ("INSTALL httpfs", "exactly one SELECT"),
    "load": ("LOAD httpfs", "exactly one SELECT"),
    "set": ("SET enable_external_access = true", "exactly one SELECT"),
    "multi-statement": ("SELECT true AS outcome, 'x' AS evidence; COPY (SELECT 1) TO 'out.csv'", "exactly one SELECT"),
    "qualified-name": ("SELECT true AS outcome, (SELECT min(event_id) FROM store.main.events) AS evidence",
                       "unqualified"),
    "scalar-scan-expression": ("SELECT true AS outcome, (SELECT min(title) FROM sources) AS evidence",
                               "not listed"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_RULES))
def test_hostile_rule_is_refused_at_build(case: str, data_copy: Path) -> None:
    rule, words = HOSTILE_RULES[case]
    if case == "scalar-scan-expression":
        _set_rule(data_copy, rule)
        with pytest.raises(validation.ValidationError) as info:
            bookstore.build(data_copy, data_copy / "x.duckdb")
        assert any(p.line == 2 and p.column == "evidence_tables" and "sources" in p.message
                   for p in info.value.problems), info.value.report()
        return
    message = _rule_rejected(data_copy, rule, words)
    assert "root daemon" not in message and os.uname().nodename not in message


@pytest.mark.parametrize("case, rule, words", [
    ("endless-scan", "SELECT count(*) > 0 AS outcome, 'x' AS evidence FROM range(1000000000000000)", "exceeded 1 s"),
    ("endless-recursive-cte", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                              "SELECT count(*) > 0 AS outcome, 'x' AS evidence FROM r", "exceeded"),
    ("huge-string-agg", "SELECT true AS outcome, string_agg(repeat('x', 100000), '') AS evidence "
                        "FROM range(100000)", "memory limit"),
], ids=["endless-scan", "endless-recursive-cte", "huge-string-agg"])
def test_runaway_rule_ends_with_a_limit_not_a_hang(case: str, rule: str, words: str, data_copy: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "TIME_LIMIT_S", 1.0)
    message = _rule_rejected(data_copy, rule, words)
    assert "rule 'p1-subscription-pricing'" in message or "memory" in message


def test_the_sandbox_has_teeth(tmp_path: Path, data_dir: Path) -> None:
    """The rules refused above do read files on an ordinary connection to the same store."""
    path = bookstore.build(data_dir, tmp_path / "s.duckdb")
    plain = duckdb.connect(str(path), read_only=True)
    try:
        leaked = plain.execute(HOSTNAME).fetchone()[1]
        assert leaked.strip() == Path("/etc/hostname").read_text().strip()
        assert "root" in plain.execute(PASSWD).fetchone()[1].split()
    finally:
        plain.close()
    with sandbox.RuleSandbox(path) as box:
        with pytest.raises(sandbox.RuleRefused, match="read_text"):
            box.run(HOSTNAME, {}, declared=box.tables)
        # past the parse-tree check, the connection's own settings still refuse the file
        with pytest.raises(duckdb.PermissionException):
            box._con.execute("SELECT content FROM read_text('/etc/hostname')").fetchall()
        with pytest.raises(duckdb.Error, match="locked"):
            box._con.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.Error):
            box._con.execute("CREATE TABLE store.main.x AS SELECT 1")
    with pytest.raises(forecast_rules.ForecastError, match="read_text"):
        forecast_rules.run_rule(duckdb.connect(str(path), read_only=True), HOSTNAME, as_of="2026-01-01",
                                resolve_by="2026-01-01")


# ------------------------------------------------------------------ contracts and YAML

def test_yaml_alias_bomb_is_refused(data_dir: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    (data_dir / "widgets.meta.yml").write_text(WIDGETS_META + bomb)
    _rejected(data_dir, "widgets.meta.yml: not readable YAML: line 49, column 4: anchors (&name) are not allowed",
              file="widgets.meta.yml")


def test_oversized_contract_is_refused(data_dir: Path) -> None:
    (data_dir / "widgets.meta.yml").write_text(WIDGETS_META + "# padding\n" * 30000)
    _rejected(data_dir, "at most 262144 are allowed", file="widgets.meta.yml")


def test_duplicate_key_in_a_contract_is_refused(data_dir: Path) -> None:
    (data_dir / "widgets.meta.yml").write_text(WIDGETS_META.replace("primary_key: [slug]", "primary_key: [slug]\nprimary_key: [kind]"))
    _rejected(data_dir, "key 'primary_key' appears twice", file="widgets.meta.yml")


def test_catastrophic_pattern_cannot_hang_validation(data_dir: Path, tmp_path: Path) -> None:
    meta = WIDGETS_META.replace('pattern: "^[a-z0-9-]+$"', 'pattern: "^(a+)+$"')
    (data_dir / "widgets.meta.yml").write_text(meta)
    (data_dir / "widgets.csv").write_text(WIDGETS_CSV.replace("alpha,", "a" * 40 + "b,"))
    # In a child process with a deadline: Python's backtracking engine would take 2**40 steps here.
    done = subprocess.run([sys.executable, "-m", "analysis", "store", "--data", str(data_dir)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "widgets.csv, line 2, column 'slug'" in done.stderr and "does not match the pattern" in done.stderr


def test_back_reference_pattern_is_refused(data_dir: Path) -> None:
    (data_dir / "widgets.meta.yml").write_text(WIDGETS_META.replace('pattern: "^[a-z0-9-]+$"', 'pattern: "^(a)\\\\1$"'))
    _rejected(data_dir, "back-references and look-arounds are not supported", file="widgets.meta.yml")


def test_unknown_key_and_oversized_text_in_a_contract_are_refused(data_dir: Path) -> None:
    (data_dir / "widgets.meta.yml").write_text(WIDGETS_META + "hook: !!python/name:os.system\n")
    _rejected(data_dir, "widgets.meta.yml", file="widgets.meta.yml")
    (data_dir / "widgets.meta.yml").write_text(WIDGETS_META + "x_extra: 1\n")
    _rejected(data_dir, "Additional properties are not allowed ('x_extra' was unexpected)")
    (data_dir / "widgets.meta.yml").write_text(WIDGETS_META.replace("description: Synthetic table for tests.",
                                                                    "description: " + "x" * 3000))
    _rejected(data_dir, "field description: ", file="widgets.meta.yml")


def test_contract_json_schema_is_checked_by_jsonschema_itself() -> None:
    import jsonschema

    from analysis.data import contracts

    jsonschema.Draft202012Validator.check_schema(contracts.CONTRACT_SCHEMA)
    for path in sorted(DATA.glob("*.meta.yml")):
        contracts.load_schema(path)


# ------------------------------------------------------------------ contracts in a rerun folder

def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_rerun_contract_may_not_loosen_an_existing_one(built: Path, tmp_path: Path) -> None:
    loose = SOURCES_META.replace('    pattern: "^https?://\\\\S+$"\n', "")
    assert loose != SOURCES_META
    row = "spec-x,Evil,Vendor X,javascript:alert(3),,2026-01-01,CC0-1.0,datasheet,\n"
    folder = _folder(tmp_path, {"sources.meta.yml": loose, "sources.csv": SOURCES_CSV + row})
    before = _tree(built)
    with pytest.raises(validation.ValidationError) as info:
        workflow.rerun(built.parent, folder, echo=lambda s: None, html=False)
    report = info.value.report()
    assert "incoming/sources.meta.yml: changes the contract of the existing table 'sources'" in report
    assert "--allow-contract-change" in report and '-    pattern: "^https?://\\\\S+$"' in report
    assert _tree(built) == before


def test_an_allowed_contract_change_is_printed_and_still_validated(built: Path, tmp_path: Path) -> None:
    loose = SOURCES_META.replace("    description: Caveats about the source.\n",
                                 "    description: Caveats about the source (longer).\n")
    folder = _folder(tmp_path, {"sources.meta.yml": loose, "sources.csv": SOURCES_CSV})
    changes, problems = rerun.merge(built, folder, tmp_path / "staging", allow_contract_change=True)
    assert problems == []
    assert "+    description: Caveats about the source (longer)." in rerun.contract_diff(
        built / "sources.meta.yml", folder / "sources.meta.yml")
    bad = SOURCES_META.replace("name: sources", "name: sources\nexec: rm -rf /")
    (tmp_path / "b").mkdir()
    folder = _folder(tmp_path / "b", {"sources.meta.yml": bad, "sources.csv": SOURCES_CSV})
    changes, problems = rerun.merge(built, folder, tmp_path / "staging-b", allow_contract_change=True)
    assert any("sources.meta.yml" in p.file and "exec" in p.message for p in problems), problems


def test_a_rerun_folder_may_add_a_table_with_its_contract(built: Path, tmp_path: Path) -> None:
    meta = WIDGETS_META.replace("name: widgets", "name: gadgets")
    folder = _folder(tmp_path, {"gadgets.meta.yml": meta, "gadgets.csv": WIDGETS_CSV})
    changes, problems = rerun.merge(built, folder, tmp_path / "staging")
    assert problems == [] and [c.table for c in changes] == ["gadgets"]
    assert (tmp_path / "staging" / "gadgets.meta.yml").read_text() == meta


@pytest.mark.parametrize("case", ["stray-file", "contract-without-table", "hidden-file"])
def test_a_rerun_folder_holds_only_table_files(case: str, built: Path, tmp_path: Path) -> None:
    files = {"stray-file": {"widgets.csv": WIDGETS_CSV, "notes.txt": "hello"},
             "contract-without-table": {"widgets.csv": WIDGETS_CSV, "gadgets.meta.yml": WIDGETS_META},
             "hidden-file": {"widgets.csv": WIDGETS_CSV, ".widgets.csv": WIDGETS_CSV}}[case]
    words = {"stray-file": "notes.txt: not a table file name",
             "contract-without-table": "gadgets.meta.yml: a contract without its table",
             "hidden-file": ".widgets.csv: hidden file names are not allowed"}[case]
    folder = _folder(tmp_path, files)
    before = _tree(built)
    with pytest.raises(validation.ValidationError) as info:
        workflow.rerun(built.parent, folder, echo=lambda s: None, html=False)
    assert words in info.value.report()
    assert _tree(built) == before


# ------------------------------------------------------------------ files

def _symlink(d: Path) -> None:
    (d / "widgets.csv").unlink()
    (d / "widgets.csv").symlink_to("/etc/passwd")


def _fifo(d: Path) -> None:
    (d / "widgets.csv").unlink()
    os.mkfifo(d / "widgets.csv")


def _directory(d: Path) -> None:
    (d / "gadgets.csv").mkdir()


def _case_variant(d: Path) -> None:
    (d / "widgets.csv").rename(d / "widgets.CSV")


def _hidden(d: Path) -> None:
    shutil.copy(d / "widgets.csv", d / ".widgets.csv")


def _nul(d: Path) -> None:
    (d / "widgets.csv").write_bytes(WIDGETS_CSV.replace("SRAM only", "SRAM\x00only").encode())


def _dots(d: Path) -> None:
    (d / "a..b.csv").write_text("a\n1\n")


def _backslash(d: Path) -> None:
    (d / "a\\b.csv").write_text("a\n1\n")


FILE_ATTACKS: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "symlink-to-etc-passwd": (_symlink, "widgets.csv", "is a symbolic link"),
    "fifo": (_fifo, "widgets.csv", "is a FIFO"),
    "directory-named-csv": (_directory, "gadgets.csv", "is a directory"),
    "case-variant": (_case_variant, "widgets.CSV", "the extension must be lower case"),
    "hidden-name": (_hidden, ".widgets.csv", "hidden file names are not allowed"),
    "nul-byte": (_nul, "widgets.csv, line 3", "a NUL byte at character 52"),
    "dot-dot": (_dots, "a..b.csv", "table name 'a..b' is not allowed"),
    "backslash": (_backslash, "a\\b.csv", "is not allowed"),
}


@pytest.mark.parametrize("case", sorted(FILE_ATTACKS))
def test_file_level_attack_is_rejected(case: str, built: Path) -> None:
    make, name, words = FILE_ATTACKS[case]
    make(built)
    report = _rejected(built, words)
    assert f"{name}: {words}" in report or f"{name}" in report and words in report, report
    assert "root:x:" not in report


def test_oversized_file_is_rejected(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "MAX_CSV_BYTES", 100)
    _rejected(built, f"widgets.csv: the file has {len(WIDGETS_CSV)} bytes; at most 100 are allowed")


# ------------------------------------------------------------------ escaping per target

BIB_BREAKOUT = "https://example.com/}}@misc{x,title={Injected},url={javascript:alert(3)}}@comment{"


def _parse_bib(text: str) -> dict[str, object]:
    from pybtex.database import parse_string

    return dict(parse_string(text, "bibtex").entries)


def _source(**changes: str) -> dict[str, str]:
    row = {"source_id": "s1", "title": "T", "producer": "P", "url": "https://example.org/a",
           "date_published": None, "date_accessed": "2026-01-01", "licence": "CC0-1.0", "kind": "paper", "note": ""}
    row.update(changes)
    return row


def test_bibtex_url_cannot_break_out_of_its_entry() -> None:
    import pandas as pd

    text = bibliography.bib_text(pd.DataFrame([_source(url=BIB_BREAKOUT)]))
    entries = _parse_bib(text)
    assert list(entries) == ["s1"]
    assert "javascript" not in str(entries["s1"].fields.get("url", "")).split("%7D", 1)[0]
    assert "%7D%7D@misc%7Bx" in text


def test_unbalanced_brace_in_a_title_keeps_the_bib_file_valid() -> None:
    import pandas as pd

    text = bibliography.bib_text(pd.DataFrame([_source(title="Open { brace and } }} close", producer="A}B{")]))
    assert list(_parse_bib(text)) == ["s1"]


def test_javascript_and_data_urls_never_become_links() -> None:
    import pandas as pd

    for url in ("javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "JaVaScRiPt:alert(1)",
                "//evil.example/x", "https://"):
        assert escape.safe_url(url) is None
        text = bibliography.bib_text(pd.DataFrame([_source(url=url)]))
        assert "url =" not in text
    assert escape.safe_url("https://example.org/a?b=1") == "https://example.org/a?b=1"


def test_figure_citation_bibtex_uses_the_same_writer() -> None:
    cite = figures.Citation(label="fig-x", title="A } title {", chapter="Ch {", version="1", date="2026-01-01",
                            sources=("Vendor }, Sheet",), url="chapters/x.html#fig-x")
    entries = _parse_bib(cite.bibtex())
    assert list(entries) == ["inferencebook-x"]


def test_csv_export_neutralizes_formulas(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "plain"],
                          "value": [-1.5, 2.0, 3.0, 4.0, 5.0, 6.0]})
    out = escape.csv_frame(frame)
    assert list(out["name"]) == ["'=HYPERLINK(\"http://x\",\"y\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tx", "plain"]
    assert list(out["value"]) == [-1.5, 2.0, 3.0, 4.0, 5.0, 6.0]


MYST_ATTACKS = [
    "<script>alert(1)</script>", '<img src="x" onerror="alert(2)">', "```{raw} html\n<script>alert(3)</script>\n```",
    "{eval-rst}`x`", "[click](javascript:alert(4))", "$\\href{javascript:alert(5)}{x}$", "\\(\\href{javascript:alert(6)}{y}\\)",
    "{raw:html}`<b>x</b>`", "<https://evil.example>", "*emph* _u_ ~~s~~",
]


def test_forecast_markdown_escapes_every_text_and_fences_every_rule() -> None:
    import pandas as pd
    from markdown_it import MarkdownIt

    hostile = " ".join(MYST_ATTACKS)
    resolved = pd.DataFrame([{"id": "f1", "statement": hostile, "status": "pending", "resolve_by": pd.Timestamp("2027-01-01"),
                              "probability": 0.5, "value_low": 1.0, "value_high": 2.0, "unit": "<img src=x onerror=alert(7)>"}])
    rule = "SELECT 1 -- ```\n```{raw} html\n<script>alert(8)</script>\n```\n````"
    text = forecasts.rules_markdown(resolved, {"f1": rule})
    tokens = MarkdownIt("commonmark").parse(text)
    kinds = [t.type for t in tokens]
    assert "html_block" not in kinds and kinds.count("fence") == 1
    fence = next(t for t in tokens if t.type == "fence")
    assert fence.content.strip() == rule and fence.info == "text"
    inline = [c for t in tokens if t.type == "inline" for c in t.children or []]
    assert not [c for c in inline if c.type in ("html_inline", "link_open", "code_inline")]
    assert "".join(c.content for c in inline if c.type == "text").count("<script>alert(1)</script>") == 1
