"""Rerunning with new data: merge by key, validate first, re-execute only what changed.

Kills at every step of a rerun are tested in ``tests/test_workflow.py`` (the fault-injection matrix).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from analysis.build import bookstore, offline, rerun, workflow
from analysis.data import store, validation
from tests.conftest import ROOT, WIDGETS_CSV

pytestmark = [pytest.mark.build, pytest.mark.slow]

BOOK_FILES = ["_config.yml", "_toc.yml", "_static", "_ext", "chapters", "analyses", "data", "intro.md"]
EXAMPLE = ROOT / "examples" / "new-chip"
HEADER = WIDGETS_CSV.splitlines()[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree_digest(folder: Path) -> dict[str, str]:
    return {p.name: _digest(p) for p in sorted(folder.iterdir()) if p.is_file()}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def small_root(tmp_path: Path, data_dir: Path) -> Path:
    """A book root with only data (enough for every validation failure) and a built store."""
    bookstore.build(data_dir, data_dir / store.STORE_NAME)
    return tmp_path


def _incoming(tmp_path: Path, name: str, text: str | bytes) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return folder


BAD_INCOMING = {
    "missing column": ("slug,kind,memory_gb,launched,precisions,source_ids,note\ngamma,gpu,10,2024-01-01,fp16,spec-a,\n",
                       "line 1, column 'cores': missing column"),
    "unexpected column": (f"{HEADER},extra\ngamma,gpu,10,4,2024-01-01,fp16,spec-a,,x\n",
                          "line 1, column 'extra': unexpected column"),
    "wrong type": (f"{HEADER}\ngamma,gpu,ten,4,2024-01-01,fp16,spec-a,\n",
                   "line 2, column 'memory_gb': expected a number"),
    "negative value": (f"{HEADER}\ngamma,gpu,-1,4,2024-01-01,fp16,spec-a,\n",
                       "line 2, column 'memory_gb': value '-1' is out of range"),
    "impossible value": (f"{HEADER}\ngamma,gpu,5000,4,2024-01-01,fp16,spec-a,\n",
                         "line 2, column 'memory_gb': value '5000' is out of range"),
    "duplicate key": (f"{HEADER}\ngamma,gpu,10,4,2024-01-01,fp16,spec-a,\ngamma,asic,12,4,2024-01-01,fp16,spec-a,\n",
                      "line 3, column 'slug': duplicate key 'gamma'"),
    "unknown reference": (f"{HEADER}\nalpha,gpu,80,132,2022-03-22,fp16,spec-q,\n",
                          "line 2, column 'source_ids': 'spec-q' not found in sources.source_id"),
    "bad date": (f"{HEADER}\ngamma,gpu,10,4,2024-02-30,fp16,spec-a,\n",
                 "line 2, column 'launched': expected a date as YYYY-MM-DD, got '2024-02-30'"),
    "empty file": ("", "the file is empty"),
    "ragged row": (f"{HEADER}\ngamma,gpu,10,4,2024-01-01\n", "line 2: ragged row: 5 fields, the header has 8"),
    "not utf-8": (f"{HEADER}\ngamma,gpu,10,4,2024-01-01,fp16,spec-a,caf\xe9\n".encode("latin-1"),
                  "line 2: bytes e9 are not UTF-8"),
    "row without a source": (f"{HEADER}\ngamma,gpu,10,4,2024-01-01,fp16,,\n",
                             "line 2, column 'source_ids': empty, but the column is required"),
    "value outside the allowed set": (f"{HEADER}\ngamma,tpu,10,4,2024-01-01,fp16,spec-a,\n",
                                      "line 2, column 'kind': value 'tpu' is not one of asic, gpu"),
}


@pytest.mark.parametrize("case", sorted(BAD_INCOMING))
def test_bad_incoming_data_is_rejected_and_nothing_changes(case: str, small_root: Path, tmp_path: Path) -> None:
    text, expected = BAD_INCOMING[case]
    folder = _incoming(tmp_path, "widgets.csv", text)
    data = small_root / "data"
    before = _tree_digest(data)
    with pytest.raises(validation.ValidationError) as info:
        workflow.rerun(small_root, folder, echo=lambda s: None, html=False)
    report = info.value.report()
    assert expected in report, report
    assert "incoming/widgets.csv" in report, report
    assert _tree_digest(data) == before


def test_unknown_table_is_rejected(small_root: Path, tmp_path: Path) -> None:
    folder = _incoming(tmp_path, "gizmos.csv", "a,b\n1,2\n")
    with pytest.raises(validation.ValidationError, match="no table 'gizmos' in data/"):
        workflow.rerun(small_root, folder, echo=lambda s: None, html=False)


def test_merge_updates_replaces_and_adds(small_root: Path, tmp_path: Path) -> None:
    folder = _incoming(tmp_path, "widgets.csv", f"{HEADER}\nalpha,gpu,96,132,2022-03-22,fp16;fp8,spec-a,\n"
                                                f"gamma,asic,1.5,,2025-01-01,int8,spec-b,\n")
    staging = tmp_path / "staging"
    changes, problems = rerun.merge(small_root / "data", folder, staging)
    assert problems == []
    [change] = changes
    assert (change.added, change.updated, change.removed) == (["gamma"], ["alpha"], [])
    merged = (staging / "widgets.csv").read_text()
    assert "alpha,gpu,96," in merged and "beta,asic," in merged and "gamma,asic," in merged


def test_replace_marker_replaces_the_whole_table(small_root: Path, tmp_path: Path) -> None:
    folder = _incoming(tmp_path, "widgets.replace.csv", f"{HEADER}\ngamma,asic,1.5,,2025-01-01,int8,spec-b,\n")
    changes, problems = rerun.merge(small_root / "data", folder, tmp_path / "staging")
    assert problems == []
    assert changes[0].replaced and changes[0].removed == ["alpha", "beta"]
    assert "alpha" not in (tmp_path / "staging" / "widgets.csv").read_text()


def test_a_second_rerun_is_refused_while_one_runs(small_root: Path, tmp_path: Path) -> None:
    folder = _incoming(tmp_path, "widgets.csv", f"{HEADER}\ngamma,asic,1.5,,2025-01-01,int8,spec-b,\n")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
                               "from analysis.build.lock import BuildLock\nBuildLock(Path(sys.argv[1]), 'rerun').acquire()\n"
                               "print('held', flush=True)\ntime.sleep(60)", str(small_root)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = _tree_digest(small_root / "data")
        done = _cli("rerun", "--root", str(small_root), "--data", str(folder), "--no-html", cwd=small_root)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 3
    assert "another build or rerun of this book is running" in done.stderr
    assert f"PID {holder.pid} (running)" in done.stderr
    assert "Traceback" not in done.stderr
    assert _tree_digest(small_root / "data") == before


@pytest.fixture(scope="module")
def book_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this book (sources, recorded chapters, built store and HTML) to rerun for real."""
    root = tmp_path_factory.mktemp("book")
    for name in BOOK_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        else:
            shutil.copy(src, root / name)
    html = ROOT / "_build" / "html"
    assert html.is_dir(), "build the book first (make book)"
    shutil.copytree(html, root / "_build" / "html")
    bookstore.build(root / "data", root / "data" / store.STORE_NAME)
    return root


def _state(root: Path) -> dict[str, dict[str, object]]:
    return json.loads((root / "chapters" / "_execution.json").read_text())


def test_unchanged_data_executes_no_chapter(book_copy: Path, tmp_path: Path) -> None:
    row = next(line for line in (book_copy / "data" / "chips.csv").read_text().splitlines()[1:] if line.startswith("h100-sxm,"))
    folder = _incoming(tmp_path, "chips.csv", (book_copy / "data" / "chips.csv").read_text().splitlines()[0] + "\n" + row + "\n")
    report = workflow.rerun(book_copy, folder, echo=lambda s: None, html=False)
    assert report.chapters == []
    assert not any(t.changed for t in report.tables)


def test_new_chip_reaches_the_chapters_that_read_chips_and_only_those(book_copy: Path) -> None:
    readers = {Path(k).stem for k, v in _state(book_copy).items()
               if {t.split("#")[0] for t in v["tables"]}
               & {"chips", "_tables", "_columns", "derived_roofline_grid", "derived_cost_scenarios"}
               or "sources" in v["tables"]}
    folder = book_copy / "new-chip"
    folder.mkdir()
    for name in ("chips.csv", "sources.csv"):
        shutil.copy(EXAMPLE / name, folder / name)
    done = _cli("rerun", "--root", str(book_copy), "--data", str(folder), "--no-html", "--json", cwd=book_copy)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout[done.stdout.index("{"):])
    assert report["tables"][0]["table"] == "chips" and report["tables"][0]["added"] == ["gaudi2"]
    assert set(report["chapters"]) == readers
    assert {"01-thesis", "03-players"}.isdisjoint(report["chapters"])
    nb = (book_copy / "chapters" / "02-technical.ipynb").read_text()
    assert "gaudi2" in nb
    assert "gaudi2" in (book_copy / "data" / "chips.csv").read_text()
    changes = (book_copy / "chapters" / rerun.CHANGES_PAGE).read_text()
    assert "| `chips` | 1 | 0 | 0 |" in changes


MARKUP = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture(scope="module")
def markup_rerun(book_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, rerun.RerunReport]:
    """The book copy after a rerun that adds an event whose title and note are markup (done once, so
    each test below can run alone or in any order)."""
    header = (book_copy / "data" / "events.csv").read_text().splitlines()[0]
    row = (f'markup-test-2026-01-02,2026-01-02,product,groq,"{MARKUP.replace(chr(34), chr(34) * 2)}",'
           f'consolidation,article-ainews-inference-collapse,"{MARKUP.replace(chr(34), chr(34) * 2)}"')
    folder = _incoming(tmp_path_factory.mktemp("markup"), "events.csv", f"{header}\n{row}\n")
    return book_copy, workflow.rerun(book_copy, folder, echo=lambda s: None, html=False)


def test_markup_in_data_stays_text_in_every_output(markup_rerun: tuple[Path, rerun.RerunReport]) -> None:
    book_copy, report = markup_rerun
    assert "03-players" in report.chapters and "06-predictions" in report.chapters
    for name in ("03-players", "06-predictions"):
        nb = nbformat.read(book_copy / "chapters" / f"{name}.ipynb", as_version=4)
        html = "".join(o["data"].get("text/html", "") + o["data"].get("application/papermill.record/text/html", "")
                       for c in nb.cells if c.cell_type == "code" for o in c.outputs if "data" in o)
        assert "window.__xss" in html, f"{name} does not show the event at all"
        assert "<script>window.__xss" not in html and "<img src=x" not in html


def test_markup_in_data_stays_text_in_the_built_pages(markup_rerun: tuple[Path, rerun.RerunReport]) -> None:
    """After the markup rerun, the built pages show the text, in tables and tooltips, inertly."""
    book_copy, _ = markup_rerun
    workflow.run(book_copy, "build", echo=lambda s: None)
    html = book_copy / "_build" / "html"
    with offline.serve(html) as base, offline.browser() as browser:
        page = offline.offline_context(browser, [], viewport={"width": 1200, "height": 900}).new_page()
        for name in ("03-players", "06-predictions"):
            page.goto(f"{base}/chapters/{name}.html")
            offline.wait_for_charts(page)
            if name == "03-players":
                assert "<script>window.__xss=1</script>" in page.inner_text("body"), "the table hides the text"
            assert page.locator("img[src='x']").count() == 0
        points = page.locator("#fig-prediction-evidence-chart svg.marks g.mark-symbol path")
        assert points.count() > 0
        seen = False
        for i in range(points.count()):
            points.nth(i).hover(force=True)
            tip = page.locator("#vg-tooltip-element")
            if tip.count() and "__xss" in tip.inner_text():
                assert "<script>window.__xss=1</script>" in tip.inner_text()
                assert tip.locator("img, script").count() == 0
                seen = True
                break
        assert seen, "no tooltip showed the injected title"
        assert page.evaluate("() => window.__xss === undefined")


def _round_and_release() -> tuple[Path, object]:
    """The MLPerf v6.0 release where the raw releases are at hand, else the small fixture round."""
    from analysis import importers
    from tests.test_importers import FIXTURES, RAW

    if RAW.is_dir():
        item = next(i for i in importers.BOOK_RELEASES if i.release.source_id == "mlperf-inference-v6.0")
        return RAW / item.file, item.release
    release = importers.release_for("mlperf", source_id="mlperf-inference-v9.9", repository="example/releases",
                                    commit="1" * 40, path="summary_results.json")
    return FIXTURES / "mlperf-small.json", release


def test_a_round_taken_out_comes_back_through_import_and_rerun(book_copy: Path, tmp_path: Path) -> None:
    """Acceptance of #14: a round leaves the data, the book is rebuilt; one import and one rerun bring it
    back, and only the chapters that read the changed tables run again."""
    from analysis import importers

    path, release = _round_and_release()
    source_id = release.source_id  # type: ignore[attr-defined]
    bench = book_copy / "data" / "benchmarks.csv"
    lines = bench.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if f",{source_id}," not in line and f",{source_id}\n" not in line]
    bench.write_text("".join(kept), encoding="utf-8")
    releases = book_copy / "data" / "releases.csv"
    releases.write_text("".join(l for l in releases.read_text(encoding="utf-8").splitlines(keepends=True)
                                if not l.startswith(f"{source_id},")), encoding="utf-8")
    workflow.run(book_copy, "build", html=False, echo=lambda s: None)
    state = _state(book_copy)
    folder = tmp_path / "incoming"
    result = importers.import_file(path, release, book_copy / "data")  # type: ignore[arg-type]
    importers.write_folder([result], folder, book_copy / "data")
    report = workflow.rerun(book_copy, folder, echo=lambda s: None, html=False)
    changed = {t.table: t for t in report.tables}
    moved = {t.table for t in report.tables if t.changed}
    assert {"benchmarks", "releases"} <= moved
    readers = {Path(k).stem for k, v in state.items() if {t.split("#")[0] for t in v["tables"]} & moved}
    assert len(changed["benchmarks"].added) == len(result.tables["benchmarks"]) > 0
    assert not changed["benchmarks"].updated and not changed["benchmarks"].removed
    assert set(report.chapters) == readers and "03-players" not in report.chapters
    assert f",{source_id}" in bench.read_text(encoding="utf-8")
