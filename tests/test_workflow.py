"""The one build sequence (``analysis.workflow``): all or nothing, bounded, locked, inputs checked first.

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
import pwd
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

from analysis import lock, parameters, pipeline, rerun, schema, store, workflow
from tests.conftest import ROOT, SOURCES_CSV, SOURCES_META, WIDGETS_CSV, WIDGETS_META

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
        f"{SLEEP_MARK}\nfrom analysis.store import open_store\n"
        f"db = open_store(store)\nframe = db.sql({query!r})\n{body}print(frame.to_string(index=False))")
    return pipeline.normalize(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Chapter"), cell, code]))


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
    pipeline.write_notebook(_chapter("SELECT slug, memory_gb FROM widgets ORDER BY slug",
                                     'store = "../data/inference.duckdb"\nas_of = "2026-01-01"',
                                     'frame["per_gb"] = [int(100 / m) for m in frame["memory_gb"]]\n'),
                            chapters / "a-widgets.ipynb")
    pipeline.write_notebook(_chapter("SELECT source_id, title FROM sources ORDER BY source_id",
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
            "staging": (root / workflow.NEXT).exists(), "journal": (root / workflow.JOURNAL).exists()}


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
    env = {workflow.FAULT_ENV: point} if point else {}
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
    and the built bibliography page shows the title as written."""
    from pybtex.database import parse_string

    root: Path = fault_matrix["reference"]["root"]
    assert fault_matrix["reference"]["killed"] == 0
    entries = parse_string((root / "_bibliography" / "sources.bib").read_text(), "bibtex").entries
    assert set(entries) == {"spec-a", "spec-b", "spec-c"}
    assert str(entries["spec-c"].fields["title"]) == r"Spec \textbraceleft{}sheet C"
    page = (root / "_build" / "html" / "chapters" / "appendix-bibliography.html").read_text()
    assert "Vendor C. Spec" in page and "sheet c. 2025." in page
