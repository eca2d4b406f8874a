"""The one build sequence (``analysis.build.workflow``): all or nothing, bounded, locked, inputs checked first.

Most tests work on a *small book*: a copy of the book's configuration (``_config.yml``, ``_ext``,
``_static``) with two tiny chapters, the bibliography, status and changes pages, and the two-table
synthetic data of ``conftest``; it is built once per module for real (papermill, DuckDB, Jupyter Book)
and copied for each test, so every case runs the real commands in seconds. The fault-injection matrix
kills a real rerun with SIGKILL (``INFERENCE_BOOK_FAULT``) at every step boundary and inside the commit,
and checks the book after the kill and after the next build.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import duckdb
import nbformat
import pytest

from analysis.build import failures, faults, journal, lock, notebooks, parameters, pipeline, rerun, workflow
from analysis.data import contracts, folder, reader, store, validation
from tests.conftest import ROOT, SOURCES_CSV, SOURCES_META, WIDGETS_CSV, WIDGETS_META

pytestmark = [pytest.mark.build, pytest.mark.slow]

HEADER = WIDGETS_CSV.splitlines()[0]
SOURCES_HEADER = SOURCES_CSV.splitlines()[0]
TOC = textwrap.dedent("""\
    format: jb-book
    root: intro
    chapters:
      - file: chapters/a-widgets
      - file: chapters/b-sources
      - file: chapters/appendix-bibliography
      - file: chapters/appendix-status
      - file: chapters/appendix-changes
    """)
SMALL_META = WIDGETS_META.replace("    min: 0\n    max: 1000\n", "    exclusive_minimum: 0\n    max: 1000\n")
SLEEP_MARK = "# the test may replace this line"
# The new edition a rerun brings: one widget and its source, whose title has an unbalanced brace.
NEW_WIDGET = "gamma,asic,1.5,,2025-01-01,int8,spec-c,\n"
NEW_SOURCE = "spec-c,Spec {sheet C,Vendor C,https://example.org/c,2025-01-01,2026-01-01,CC0-1.0,datasheet,\n"


def _chapter(query: str, params: str, body: str = "") -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    code = nbformat.v4.new_code_cell(
        f"{SLEEP_MARK}\nfrom analysis.data.reader import open_store\n"
        f"db = open_store(store)\nframe = db.sql({query!r})\n{body}print(frame.to_string(index=False))")
    return notebooks.normalize(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Chapter"), cell, code]))


def make_small_book(root: Path) -> Path:
    """The small book's sources (not built)."""
    root.mkdir(parents=True)
    for name in ("_config.yml", "_ext", "_static"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("vega-bundle.js", "__pycache__"))
        else:
            shutil.copy(src, root / name)
    (root / "_toc.yml").write_text(TOC)
    (root / "intro.md").write_text("# A small book\n\nFor the tests of the build sequence.\n")
    chapters = root / "chapters"
    chapters.mkdir()
    notebooks.write_notebook(_chapter("SELECT slug, memory_gb FROM widgets ORDER BY slug",
                                     'store = "../data/inference.duckdb"\nas_of = "2026-01-01"',
                                     'frame["per_gb"] = [int(100 / m) for m in frame["memory_gb"]]\n'),
                            chapters / "a-widgets.ipynb")
    notebooks.write_notebook(_chapter("SELECT source_id, title FROM sources ORDER BY source_id",
                                     'store = "../data/inference.duckdb"\narticle_date = "2025-04-15"'),
                            chapters / "b-sources.ipynb")
    shutil.copy(ROOT / "chapters" / "appendix-bibliography.md", chapters / "appendix-bibliography.md")
    data = root / "data"
    data.mkdir()
    (data / "sources.meta.yml").write_text(SOURCES_META)
    (data / "sources.csv").write_text(SOURCES_CSV)
    (data / "widgets.meta.yml").write_text(SMALL_META)
    (data / "widgets.csv").write_text(WIDGETS_CSV)
    return root


def cli(*args: str, root: Path, env: dict[str, str] | None = None, preexec: Any = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analysis", *args, "--root", str(root)], cwd=root,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          preexec_fn=preexec, timeout=timeout)


@pytest.fixture(scope="module")
def built_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_small_book(tmp_path_factory.mktemp("small") / "book")
    done = cli("build", root=root)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def copy_book(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest


@pytest.fixture
def small(built_small: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built small book."""
    return copy_book(built_small, tmp_path / "book")


def incoming(tmp_path: Path, files: dict[str, str | bytes], name: str = "incoming") -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    for file, text in files.items():
        (folder / file).write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder


NEW_EDITION = {"widgets.csv": f"{HEADER}\n{NEW_WIDGET}", "sources.csv": f"{SOURCES_HEADER}\n{NEW_SOURCE}"}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path, pattern: str = "*") -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): digest(p) for p in sorted(folder.rglob(pattern))
            if p.is_file() and not p.is_symlink()}


def book_state(root: Path) -> dict[str, Any]:
    """What a reader or the next build sees: data files (not the store's bytes), the notebooks and the
    pages, the store's widgets, and any staging or journal left behind."""
    data = {k: v for k, v in tree(root / "data").items() if not k.endswith(".duckdb")}
    try:
        con = duckdb.connect(str(root / "data" / store.STORE_NAME), read_only=True)
        widgets = sorted(r[0] for r in con.execute("SELECT slug FROM widgets").fetchall())
        con.close()
    except duckdb.Error as exc:
        widgets = [f"unreadable: {exc}"]
    html = root / "_build" / "html"
    page = (html / "chapters" / "a-widgets.html")
    return {"data": data, "notebooks": tree(root / "chapters", "*.ipynb"), "store": widgets,
            "pages": sorted(tree(html, "*.html")), "page_has_gamma": page.is_file() and "gamma" in page.read_text(),
            "staging": (root / journal.NEXT).exists(), "journal": (root / journal.JOURNAL).exists()}


def edition(state: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    """For each part of the book, whether it is the old edition, the new one, or neither."""
    out = {}
    for part in ("data", "notebooks", "store", "page_has_gamma"):
        out[part] = "old" if state[part] == old[part] else "new" if state[part] == new[part] else "neither"
    return out


def unchanged(root: Path, before: dict[str, Any]) -> None:
    after = book_state(root)
    assert {k: after[k] for k in before} == before


# ------------------------------------------------------------------ the fault-injection matrix

BEFORE_JOURNAL = ["after-check", "after-validate", "after-store", "after-chapter-1", "after-chapters", "after-html"]
AFTER_JOURNAL = ["after-journal", "after-swap-data", "after-swap-chapters", "after-swap-bibliography",
                 "after-swap-html", "after-swap-done"]
FAULTS = BEFORE_JOURNAL + AFTER_JOURNAL


def _fault_case(built: Path, base: Path, point: str | None) -> dict[str, Any]:
    root = copy_book(built, base / (point or "reference") / "book")
    folder = incoming(base / (point or "reference"), NEW_EDITION)
    pages_before = book_state(root)["pages"]
    env = {faults.FAULT_ENV: point} if point else {}
    killed = cli("rerun", "--data", str(folder), root=root, env=env)
    after_kill = book_state(root)
    listed = sorted(tree(root / "_build" / "html", "*.html"))
    missing = sorted(set(pages_before) - set(listed))
    nbs_readable = all(nbformat.read(nb, as_version=4) is not None for nb in (root / "chapters").glob("*.ipynb"))
    nxt = cli("build", root=root)
    return {"root": root, "killed": killed.returncode, "kill_err": killed.stderr[-2000:], "after_kill": after_kill,
            "missing_pages": missing, "notebooks_readable": nbs_readable, "next": nxt.returncode,
            "next_out": (nxt.stdout + nxt.stderr)[-3000:], "final": book_state(root)}


@pytest.fixture(scope="module")
def fault_matrix(built_small: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The old edition, the reference new edition (an uninterrupted rerun), and one killed rerun (then
    the next build) per fault point; two at a time, each on its own copy of the small book."""
    base = tmp_path_factory.mktemp("faults")
    results: dict[str, Any] = {"old": book_state(built_small)}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {p: pool.submit(_fault_case, built_small, base, p) for p in [None, *FAULTS]}
        for point, future in futures.items():
            results[point or "reference"] = future.result()
    results["new"] = results["reference"]["final"]
    return results


def test_an_uninterrupted_rerun_makes_the_new_edition(fault_matrix: dict[str, Any]) -> None:
    ref, old, new = fault_matrix["reference"], fault_matrix["old"], fault_matrix["new"]
    assert ref["killed"] == 0, ref["kill_err"]
    assert new["store"] == ["alpha", "beta", "gamma"] and new["page_has_gamma"]
    assert new["data"] != old["data"] and new["notebooks"] != old["notebooks"]
    assert not new["staging"] and not new["journal"]


@pytest.mark.parametrize("point", FAULTS)
def test_a_kill_at_any_point_leaves_one_whole_edition(point: str, fault_matrix: dict[str, Any]) -> None:
    case, old, new = fault_matrix[point], fault_matrix["old"], fault_matrix["new"]
    assert case["killed"] == -signal.SIGKILL, f"the fault point {point} was never reached: {case['kill_err']}"
    # Right after the kill: the store opens, every page exists, every notebook reads, and each part
    # of the book is a whole edition (old or new), never a mixture of files.
    after = case["after_kill"]
    assert not after["store"][0].startswith("unreadable"), after["store"]
    assert case["missing_pages"] == [] and case["notebooks_readable"]
    parts = edition(after, old, new)
    assert "neither" not in parts.values(), parts
    # The next build succeeds and leaves all of it the same edition: old if the kill came before the
    # journal was written, new (completed) if after.
    assert case["next"] == 0, case["next_out"]
    final = edition(case["final"], old, new)
    expected = "old" if point in BEFORE_JOURNAL else "new"
    assert set(final.values()) == {expected}, (final, case["next_out"])
    assert case["final"]["pages"] == new["pages"] == old["pages"]
    assert not case["final"]["staging"] and not case["final"]["journal"]
    if point in AFTER_JOURNAL:
        assert "recovery: completed the new edition" in case["next_out"]


def test_an_unbalanced_brace_in_a_source_title_does_not_break_the_book(fault_matrix: dict[str, Any]) -> None:
    """The reference rerun brought a source titled ``Spec {sheet C``: the bibliography stays valid BibTeX
    and the built bibliography page shows the entry."""
    from pybtex.database import parse_string

    root: Path = fault_matrix["reference"]["root"]
    assert fault_matrix["reference"]["killed"] == 0
    entries = parse_string((root / "_bibliography" / "sources.bib").read_text(), "bibtex").entries
    assert set(entries) == {"spec-a", "spec-b", "spec-c"}
    # capitals are braced so that styles keep them; the stray brace is a LaTeX character, not a group
    assert str(entries["spec-c"].fields["title"]) == r"{Spec} \textbraceleft{}sheet {C}"
    page = (root / "_build" / "html" / "chapters" / "appendix-bibliography.html").read_text()
    # the entry is on the page with its capitals; the stray brace shows as pybtex prints the LaTeX
    # command (as in earlier editions: neither pybtex nor latexcodec decodes it)
    assert "Vendor C. Spec" in page and "sheet C. 2025." in page


def test_the_changes_page_belongs_to_the_edition_it_describes(fault_matrix: dict[str, Any]) -> None:
    """The "What changed" page is written in the staged chapters and swapped with them, so after the
    rerun it reports the rerun, and after a kill during the chapters it still reports the old edition."""
    new = (fault_matrix["reference"]["root"] / "chapters" / rerun.CHANGES_PAGE).read_text()
    assert "| `widgets` | 1 | 0 | 0 |" in new and "| `sources` | 1 | 0 | 0 |" in new
    killed = (fault_matrix["after-chapter-1"]["root"] / "chapters" / rerun.CHANGES_PAGE).read_text()
    assert "No rerun with new data has been made" in killed


# ------------------------------------------------------------------ parameters

def _no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]


BAD_PARAMS = {
    "as_of=2024-13-99": "parameter as_of='2024-13-99' is refused (no such day): expected a date YYYY-MM-DD",
    "as_of=20261129": "parameter as_of='20261129' is refused: expected a date YYYY-MM-DD",
    "as_of=2040-01-01": "(out of range)",
    "store=/etc/passwd": "parameter store='/etc/passwd' is refused: expected a relative path to a .duckdb file",
    "store=../../../../etc/x.duckdb": "is refused (it points outside the book)",
    "colour=red": "unknown parameter 'colour': no chapter declares it; the chapters' parameters are "
                  "article_date, as_of, store",
    "as_of=$(touch pwned)": "parameter as_of='$(touch pwned)' is refused",
    "as_of": "a parameter is NAME=VALUE",
}


@pytest.mark.parametrize("pair", sorted(BAD_PARAMS))
def test_a_bad_parameter_is_refused_before_anything_runs(pair: str, small: Path) -> None:
    before = book_state(small)
    said: list[str] = []
    with pytest.raises(failures.BuildFailed) as info:
        workflow.run(small, "build", param_pairs=[pair], force=True, echo=said.append)
    assert info.value.step == "check" and info.value.code == 2
    assert BAD_PARAMS[pair] in info.value.message, info.value.message
    assert not any("executing" in line for line in said)
    unchanged(small, before)
    assert not (small / "pwned").exists() and not (small / "chapters" / "pwned").exists()


def test_the_command_line_refuses_a_parameter_with_one_message(small: Path) -> None:
    before = book_state(small)
    done = cli("build", "--force", "--param", "as_of=2024-13-99", root=small)
    assert done.returncode == 2
    assert done.stderr.startswith("error: check step failed: parameter as_of='2024-13-99' is refused")
    assert "nothing was changed" in done.stderr and "executing" not in done.stdout
    _no_traceback(done)
    unchanged(small, before)


def test_parameter_values_are_typed_and_ranged() -> None:
    notebooks = pipeline.chapter_notebooks(ROOT)
    assert parameters.check(["context=4096", "utilization=0.25", "as_of=2027-01-01"], notebooks, ROOT) == {
        "context": 4096, "utilization": 0.25, "as_of": "2027-01-01"}
    for bad in ("context=4096.5", "context=0", "utilization=0", "utilization=1e-400", "utilization=nan",
                "utilization=inf", "utilization=1_0", "pue=0.5", "model=Llama 3", "context=1e3"):
        with pytest.raises(parameters.ParameterError):
            parameters.check([bad], notebooks, ROOT)


def test_every_chapter_parameter_has_a_type_and_range() -> None:
    for nb, names in parameters.declared_by(pipeline.chapter_notebooks(ROOT)).items():
        for name, default in names.items():
            assert name in parameters.SPECS, f"{nb.name} declares {name!r}, which has no entry in SPECS"
            if name != "store":
                assert parameters.check([f"{name}={default}"], [nb], ROOT)[name] == default


# ------------------------------------------------------------------ contracts

@pytest.fixture
def real_data(tmp_path: Path) -> Path:
    """A copy of the book's data/ (no store), as the root of a book with data only."""
    root = tmp_path / "real"
    root.mkdir()
    folder.copy(ROOT / "data", root / "data")
    return root


def _set_cell(path: Path, key: str, column: str, value: str) -> int:
    """Set ``column`` of the row whose first cell is ``key``; the row's line number."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(path.read_text(), newline="")))
    col = rows[0].index(column)
    for i, row in enumerate(rows):
        if row[0] == key:
            row[col] = value
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            path.write_text(out.getvalue())
            return i + 1
    raise KeyError(key)


@pytest.mark.parametrize("value", ["0", "-0", "1e-400", "-1"])
def test_a_memory_size_must_be_positive(value: str, real_data: Path) -> None:
    line = _set_cell(real_data / "data" / "chips.csv", "h100-sxm", "memory_gb", value)
    with pytest.raises(validation.ValidationError) as info:
        validation.validate(real_data / "data")
    assert f"chips.csv, line {line}, column 'memory_gb': value {value!r} is out of range: expected more than 0.0" \
        in info.value.report()


def test_a_zero_memory_size_in_a_rerun_is_refused_at_validation(small: Path, tmp_path: Path) -> None:
    before = book_state(small)
    folder = incoming(tmp_path, {"widgets.csv": f"{HEADER}\ngamma,gpu,0,4,2024-01-01,fp16,spec-a,\n"})
    done = cli("rerun", "--data", str(folder), root=small)
    assert done.returncode == 2
    assert f"{folder}/widgets.csv, line 2, column 'memory_gb': value '0' is out of range: expected more than 0.0" \
        in done.stderr, done.stderr
    assert ".next" not in done.stderr
    _no_traceback(done)
    unchanged(small, before)


def test_a_chapter_that_fails_leaves_everything_as_it_was(small: Path, tmp_path: Path) -> None:
    """Without the contract's bound (the change allowed explicitly), memory 0 reaches chapter a, which
    divides by it: the chapter step fails and the data, store, notebooks and pages are unchanged."""
    before = book_state(small)
    loose = SMALL_META.replace("exclusive_minimum: 0", "min: 0")
    folder = incoming(tmp_path, {"widgets.csv": f"{HEADER}\ngamma,gpu,0,4,2024-01-01,fp16,spec-a,\n",
                                 "widgets.meta.yml": loose})
    done = cli("rerun", "--data", str(folder), "--allow-contract-change", root=small)
    assert done.returncode == 1
    assert "chapters step failed: a chapter failed: a-widgets.ipynb: cell" in done.stderr
    assert "ZeroDivisionError" in done.stderr and "nothing was changed" in done.stderr
    _no_traceback(done)
    unchanged(small, before)
    assert book_state(small)["staging"] is False


def test_forecasts_keep_their_article_rows(real_data: Path, tmp_path: Path) -> None:
    text = (ROOT / "data" / "forecasts.csv").read_text()
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(r for r in rows if r["source"] == "book")
    folder = incoming(tmp_path, {"forecasts.replace.csv": out.getvalue()})
    with pytest.raises(validation.ValidationError) as info:
        workflow.run(real_data, "rerun", incoming=folder, echo=lambda s: None)
    report = info.value.report()
    assert (f"{folder}/forecasts.replace.csv, column 'source': no row has source 'article'; the contract requires "
            "at least one (must_include") in report, report
    assert not (real_data / journal.NEXT).exists()


def test_a_bad_rule_is_reported_at_the_incoming_file_and_line(real_data: Path, tmp_path: Path) -> None:
    text = (ROOT / "data" / "forecasts.csv").read_text()
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    row = next(r for r in rows if r["source"] == "book")
    table = re.split(r"[;,\s]+", row["evidence_tables"].strip())[0]
    row.update(forecast_id="b-test-bad-rule", rule=f"SELECT no_such_column AS outcome, 'x' AS evidence FROM {table}")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    folder = incoming(tmp_path, {"forecasts.csv": out.getvalue()})
    with pytest.raises(validation.ValidationError) as info:
        workflow.run(real_data, "rerun", incoming=folder, echo=lambda s: None)
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.column) == (str(folder / "forecasts.csv"), 2, "rule"), problem
    assert "b-test-bad-rule" in problem.message and ".next" not in str(problem)


def test_a_table_may_not_exceed_its_row_limit(real_data: Path) -> None:
    path = real_data / "data" / "prices.csv"
    lines = path.read_text().splitlines()
    limit = contracts.load_schema(real_data / "data" / "prices.meta.yml").max_rows
    assert limit == 100_000
    body = [lines[1].replace(lines[1].split(",")[0], f"bulk-{i}", 1) for i in range(limit + 1 - (len(lines) - 1))]
    path.write_text("\n".join([*lines, *body]) + "\n")
    # counted before anything is parsed: refused within the limit of the subprocess, not after it
    done = subprocess.run([sys.executable, "-m", "analysis", "validate", "--data", str(real_data / "data")],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert f"prices.csv, line {limit + 2}: the table has more than {limit} rows" in done.stderr


def test_a_text_field_may_not_exceed_its_length(data_dir: Path) -> None:
    (data_dir / "widgets.csv").write_text(WIDGETS_CSV.replace("SRAM only, no DRAM", "x" * 10_001))
    with pytest.raises(validation.ValidationError, match="line 3, column 'note': the value has 10001 characters; "
                                                    "at most 10000 are allowed"):
        validation.validate(data_dir)
    (data_dir / "widgets.meta.yml").write_text(WIDGETS_META.replace("    description: Note.\n",
                                                                    "    description: Note.\n    max_length: 5\n"))
    (data_dir / "widgets.csv").write_text(WIDGETS_CSV)
    with pytest.raises(validation.ValidationError, match="at most 5 are allowed"):
        validation.validate(data_dir)


@pytest.mark.parametrize("change, words", [
    ("max_rows: 0\n", "field max_rows: 0 is less than the minimum of 1"),
    ("max_rows: 2000000\n", "is greater than the maximum of 1000000"),
    ("must_include:\n  nope: [x]\n", "must_include names the undeclared column 'nope'"),
    ("must_include:\n  kind: []\n", "field must_include.kind: [] should be non-empty"),
])
def test_the_new_contract_keys_are_checked_by_the_json_schema(change: str, words: str, data_dir: Path) -> None:
    meta = data_dir / "widgets.meta.yml"
    meta.write_text(meta.read_text().replace("primary_key: [slug]\n", f"primary_key: [slug]\n{change}"))
    with pytest.raises(validation.ValidationError, match=re.escape(words)):
        validation.validate(data_dir)


def test_the_new_column_keys_are_in_the_json_schema() -> None:
    column = contracts.CONTRACT_SCHEMA["properties"]["columns"]["items"]["properties"]
    assert {"exclusive_minimum", "exclusive_maximum", "max_length"} <= set(column)
    assert {"max_rows", "must_include"} <= set(contracts.CONTRACT_SCHEMA["properties"])


# ------------------------------------------------------------------ bounds

def test_a_hung_cell_is_stopped_at_its_time_limit(small: Path) -> None:
    nb_path = small / "chapters" / "a-widgets.ipynb"
    nb_path.write_text(nb_path.read_text().replace(SLEEP_MARK, "import time; time.sleep(120)"))
    before = book_state(small)
    done = cli("build", root=small, env={"INFERENCE_BOOK_CELL_TIMEOUT": "3"}, timeout=60)
    assert done.returncode == 1
    assert "a cell ran longer than the limit of 3 s (INFERENCE_BOOK_CELL_TIMEOUT); it was stopped" in done.stderr
    _no_traceback(done)
    unchanged(small, before)
    with lock.BuildLock(small):
        pass


def test_the_html_build_is_stopped_at_its_time_limit(small: Path, tmp_path: Path) -> None:
    before = book_state(small)
    done = cli("rerun", "--data", str(incoming(tmp_path, NEW_EDITION)), root=small,
               env={"INFERENCE_BOOK_HTML_TIMEOUT": "0.5"})
    assert done.returncode == 1
    assert "html step failed: the HTML build ran longer than the limit of 0.5 s" in done.stderr
    _no_traceback(done)
    unchanged(small, before)


@pytest.mark.parametrize("value", ["abc", "0", "-5", "inf", "nan", "1e9"])
def test_a_time_limit_must_be_a_number_of_seconds(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.build import limits

    monkeypatch.setenv(limits.CELL_TIMEOUT_ENV, value)
    monkeypatch.setenv(limits.HTML_TIMEOUT_ENV, value)
    for read, env in ((limits.cell_timeout, limits.CELL_TIMEOUT_ENV), (limits.html_timeout, limits.HTML_TIMEOUT_ENV)):
        with pytest.raises(limits.LimitError, match=re.escape(f"{env}={value!r}: expected a number of seconds")):
            read()


def test_a_bad_time_limit_stops_a_build_at_check(small: Path) -> None:
    done = cli("build", root=small, env={"INFERENCE_BOOK_HTML_TIMEOUT": "soon"})
    assert done.returncode == 2
    assert "check step failed: INFERENCE_BOOK_HTML_TIMEOUT='soon': expected a number of seconds" in done.stderr


def _symlink_dev_zero(d: Path) -> None:
    (d / "widgets.csv").symlink_to("/dev/zero")


def _fifo(d: Path) -> None:
    os.mkfifo(d / "widgets.csv")


def _directory(d: Path) -> None:
    (d / "widgets.csv").mkdir()


def _upper_case(d: Path) -> None:
    (d / "widgets.CSV").write_text(f"{HEADER}\n{NEW_WIDGET}")


def _nul(d: Path) -> None:
    (d / "widgets.csv").write_bytes(f"{HEADER}\n{NEW_WIDGET}".replace("asic", "as\x00ic").encode())


def _huge(d: Path) -> None:
    with open(d / "prices.csv", "wb") as fh:
        fh.truncate(503 * 1024 * 1024)  # sparse: 503 MB long, no disk used


RERUN_FOLDER_ATTACKS = {
    "symlink-to-dev-zero": (_symlink_dev_zero, "widgets.csv: is a symbolic link"),
    "fifo": (_fifo, "widgets.csv: is a FIFO (named pipe)"),
    "directory": (_directory, "widgets.csv: is a directory"),
    "upper-case-extension": (_upper_case, "widgets.CSV: not a table file name: the extension must be lower case"),
    "nul-byte": (_nul, "widgets.csv, line 2: a NUL byte at character 9"),
    "503-mb-file": (_huge, f"prices.csv: the file has {503 * 1024 * 1024} bytes; at most {validation.MAX_CSV_BYTES}"),
}


@pytest.mark.parametrize("case", sorted(RERUN_FOLDER_ATTACKS))
def test_a_hostile_rerun_folder_is_refused_quickly(case: str, small: Path, tmp_path: Path) -> None:
    make, words = RERUN_FOLDER_ATTACKS[case]
    folder = tmp_path / "incoming"
    folder.mkdir()
    make(folder)
    before = book_state(small)
    done = cli("rerun", "--data", str(folder), root=small, timeout=30)
    assert done.returncode == 2
    assert words in done.stderr, done.stderr
    _no_traceback(done)
    unchanged(small, before)


@pytest.mark.parametrize("case", ["directory", "symlink"])
def test_data_may_hold_only_regular_files(case: str, small: Path) -> None:
    """data/ is replaced as a whole, so a folder or link in it would be lost: it is refused instead."""
    if case == "directory":
        (small / "data" / "notes").mkdir()
    else:
        (small / "data" / "notes.txt").symlink_to("/etc/passwd")
    done = cli("build", "--force", root=small)
    assert done.returncode == 2
    assert "data/ may hold only regular files" in done.stderr and "root:x:" not in done.stderr
    _no_traceback(done)


# ------------------------------------------------------------------ the lock

def _hold_lock(root: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
                             "from analysis.build.lock import BuildLock\nBuildLock(Path(sys.argv[1]), 'rerun').acquire()\n"
                             "print('held', flush=True)\ntime.sleep(120)", str(root)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_store_build_and_rerun_share_the_lock(small: Path, tmp_path: Path) -> None:
    holder = _hold_lock(small)
    try:
        before = book_state(small)
        outs = [cli("store", "--force", root=small), cli("build", "--force", root=small),
                cli("rerun", "--data", str(incoming(tmp_path, NEW_EDITION)), root=small)]
    finally:
        holder.kill()
        holder.wait()
    for done in outs:
        assert done.returncode == 3, done.stderr
        assert f"another build or rerun of this book is running (PID {holder.pid} (running): rerun started" \
            in done.stderr, done.stderr
        assert f"kill {holder.pid}" in done.stderr
    unchanged(small, before)


def test_a_lock_left_by_a_dead_run_does_not_block(small: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (small / lock.LOCK_NAME).write_text(f"{dead.pid}\nrerun started 2026-01-01T00:00:00\n")
    done = cli("build", root=small)
    assert done.returncode == 0, done.stderr
    assert f"the lock was left by PID {dead.pid}, which is no longer running" in done.stdout


def test_make_store_keeps_the_derived_tables(tmp_path: Path) -> None:
    root = tmp_path / "book"
    root.mkdir()
    folder.copy(ROOT / "data", root / "data")
    shutil.copytree(ROOT / "analyses", root / "analyses")
    shutil.copytree(ROOT / "_build" / "analyses", root / "_build" / "analyses")
    done = cli("store", "--force", root=root)
    assert done.returncode == 0, done.stderr
    with reader.open_store(root / "data" / store.STORE_NAME) as db:
        listed = set(db.sql("SELECT table_name FROM _tables")["table_name"])
        assert db.scalar("SELECT count(*) FROM derived_roofline_grid") > 1000
    assert {"derived_roofline_grid", "derived_cost_scenarios"} <= listed
    again = cli("store", root=root)
    assert again.returncode == 0 and "store: up to date" in again.stdout


# ------------------------------------------------------------------ make

@pytest.fixture
def make_book(small: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    """The small book with the book's Makefile, and the make command that uses this interpreter."""
    for name in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, small / name)
    stamp = tmp_path / "installed"
    stamp.write_text("")
    os.utime(stamp, (time.time() + 60, time.time() + 60))
    return small, ["make", "-s", "-C", str(small), f"PY={sys.executable}", f"INSTALLED={stamp}"]


@pytest.mark.parametrize("variable, value, words", [
    ("DATA", "x; touch pwned", "x; touch pwned: not a folder"),
    ("DATA", "$(touch pwned)", "$(touch pwned): not a folder"),
    ("PARAMS", "as_of=$(touch pwned)", "parameter as_of='$(touch' is refused"),
    ("PARAMS", "as_of=`touch pwned`", "parameter as_of='`touch' is refused"),
    ("PARAMS", "as_of=2027-01-01;touch${IFS}pwned", "parameter as_of='2027-01-01;touch${IFS}pwned' is refused"),
    ("PARAMS", "$(shell touch pwned)", "a parameter is NAME=VALUE"),
])
def test_make_passes_data_and_params_unevaluated(variable: str, value: str, words: str,
                                                 make_book: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, make = make_book
    before = book_state(root)
    other = "PARAMS=" if variable == "DATA" else f"DATA={incoming(tmp_path, NEW_EDITION)}"
    done = subprocess.run([*make, "rerun", f"{variable}={value}", other], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode != 0
    assert words in done.stderr, done.stderr
    assert not any(p.name == "pwned" for p in tmp_path.rglob("pwned")), "the shell ran the value"
    _no_traceback(done)
    unchanged(root, before)


def test_make_rerun_without_data_fails_with_usage(make_book: tuple[Path, list[str]]) -> None:
    root, make = make_book
    done = subprocess.run([*make, "rerun"], capture_output=True, text=True)
    assert done.returncode != 0 and "usage: make rerun DATA=folder-of-table-files" in done.stderr


def test_make_rerun_takes_a_folder_with_spaces(make_book: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, make = make_book
    folder = incoming(tmp_path / "new data, with spaces", NEW_EDITION, name="a chip & its source")
    done = subprocess.run([*make, "rerun", f"DATA={folder}", "PARAMS=article_date=2025-01-01 as_of=2026-02-01"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert book_state(root)["store"] == ["alpha", "beta", "gamma"]
    assert "parameters: article_date=2025-01-01, as_of=2026-02-01" in done.stdout
    # Each chapter received only the parameters its parameters cell declares.
    for name, wanted, unwanted in (("a-widgets", 'as_of = "2026-02-01"', "article_date"),
                                   ("b-sources", 'article_date = "2025-01-01"', "as_of")):
        nb = nbformat.read(root / "chapters" / f"{name}.ipynb", as_version=4)
        [injected] = [c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert wanted in injected and unwanted not in injected, injected


# ------------------------------------------------------------------ disks and permissions

BIG_NOTE = "n" * 9_000


def _big_incoming(tmp_path: Path, rows: int = 1000) -> Path:
    body = "".join(f"w{i:04d},asic,1.5,,2025-01-01,int8,spec-a,{BIG_NOTE}\n" for i in range(rows))
    return incoming(tmp_path, {"widgets.csv": f"{HEADER}\n{body}"})


def _can_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    probe = Path(f"/tmp/mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(["umount", str(probe)], check=True)
        return ok
    finally:
        probe.rmdir()


# A small disk is a real tmpfs, which needs the right to mount (root, as in .ci/run); the file-size
# limit (RLIMIT_FSIZE) case runs everywhere.
DISK_CASES = ["file-size-limit", *(["small-disk-at-check", "small-disk-while-staging"] if _can_mount() else [])]


@pytest.mark.parametrize("case", DISK_CASES)
def test_a_full_disk_says_what_to_free_and_changes_nothing(case: str, built_small: Path, tmp_path: Path) -> None:
    import resource

    mount = tmp_path / "disk"
    mount.mkdir()
    folder = _big_incoming(tmp_path)
    preexec = None
    try:
        if case == "file-size-limit":
            root = copy_book(built_small, mount / "book")

            def preexec() -> None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        else:
            # Mount a roomy tmpfs, copy the book in, then shrink it to what the copy uses plus half of
            # what a staged edition needs (refused at check) or just more than that estimate (which
            # the big incoming table then overflows while staging).
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512m", "tmpfs", str(mount)], check=True)
            root = copy_book(built_small, mount / "book")
            usage = shutil.disk_usage(mount)
            need = failures.space_needed(root, "rerun")
            extra = need // 2 if case == "small-disk-at-check" else need + 256 * 1024
            size = (usage.used + extra + 4095) // 4096 * 4096
            subprocess.run(["mount", "-o", f"remount,size={size}", str(mount)], check=True)
        before = book_state(root)
        done = cli("rerun", "--data", str(folder), root=root, preexec=preexec)
        _no_traceback(done)
        assert done.returncode != 0
        if case == "file-size-limit":
            assert "a file grew past this process's file-size limit (`ulimit -f`)" in done.stderr, done.stderr
        elif case == "small-disk-at-check":
            assert "check step failed: not enough free disk space" in done.stderr, done.stderr
            assert re.search(r"Free at least [\d.,]+ MB there", done.stderr), done.stderr
        else:
            assert "no space left on the disk" in done.stderr, done.stderr
            assert "free at least that much" in done.stderr
        assert ".next" not in done.stderr and "make store" not in done.stderr
        unchanged(root, before)
        assert not [p.name for p in (root / "data").iterdir() if p.name.startswith(".")]
        assert not (root / journal.NEXT).exists()
    finally:
        if case != "file-size-limit":
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_read_only_data_folder_is_refused_at_check(small: Path, tmp_path: Path) -> None:
    before = book_state(small)
    data = small / "data"
    mounted = False
    if os.geteuid() == 0 and _can_mount():
        subprocess.run(["mount", "--bind", str(data), str(data)], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(data)], check=True)
        mounted = True
    else:
        data.chmod(0o555)
    try:
        done = cli("rerun", "--data", str(incoming(tmp_path, NEW_EDITION)), root=small)
    finally:
        if mounted:
            subprocess.run(["umount", str(data)], check=True)
        else:
            data.chmod(0o755)
    assert done.returncode == 2
    assert "data is not writable by this user (permission denied)" in done.stderr, done.stderr
    assert "chmod u+w" in done.stderr
    _no_traceback(done)
    unchanged(small, before)


# ------------------------------------------------------------------ command-line numbers

@pytest.mark.parametrize("value", ["1e308", "inf", "nan", "0", "-1", "1e6000"])
def test_cost_refuses_an_hourly_price_that_is_not_finite_and_in_range(value: str) -> None:
    done = subprocess.run([sys.executable, "-m", "analysis", "cost", "--chip", "h100-sxm", "--model", "llama-2-70b",
                           "--bits", "8", "--utilization", "0.5", "--hourly-usd", value, "--json"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert f"argument --hourly-usd: expected a finite number in (0, 1e+06], got {value!r}" in done.stderr
    assert "inf" not in done.stdout.lower() and "nan" not in done.stdout.lower()
    _no_traceback(done)


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_cli_json_is_valid_json_and_never_infinite() -> None:
    base = [sys.executable, "-m", "analysis", "cost", "--chip", "h100-sxm", "--model", "llama-2-70b", "--bits", "8",
            "--utilization", "0.5", "--json"]
    done = subprocess.run([*base, "--hourly-usd", "1e6"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert _strict_json(done.stdout)["usd_per_million_tokens"] > 0
    tiny = subprocess.run([*base, "--hourly-usd", "1e6", "--tokens-per-s", "1e-300", "--utilization", "1e-300"],
                          capture_output=True, text=True, cwd=ROOT)
    assert tiny.returncode == 2 and tiny.stdout == ""
    assert "the result is not a finite number" in tiny.stderr and "Warning" not in tiny.stderr
    forecasts = subprocess.run([sys.executable, "-m", "analysis", "forecasts", "--as-of", "2026-11-29", "--json"],
                               capture_output=True, text=True, cwd=ROOT)
    assert forecasts.returncode == 0 and _strict_json(forecasts.stdout)["forecasts"]


@pytest.mark.parametrize("value", ["20261129", "2026-13-01", "2026-11-29T00:00", "yesterday"])
def test_forecasts_as_of_is_an_iso_date_only(value: str) -> None:
    done = subprocess.run([sys.executable, "-m", "analysis", "forecasts", "--as-of", value],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert f"argument --as-of: expected a date as YYYY-MM-DD, got {value!r}" in done.stderr
