"""The chapters as committed: executed, parametrized, normalized, and checked by nbval with teeth.

nbval itself runs over ``chapters/`` in ``make test`` (see ``pyproject.toml``); these tests guard
against its blind spots: a cell never executed passes nbval silently, and a comparison that ignores
outputs would pass anything, so one test changes a value in the store and expects nbval to fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from analysis.build import notebooks, pipeline
from analysis.data import validation
from tests.conftest import ROOT

pytestmark = pytest.mark.build

NOTEBOOKS = pipeline.chapter_notebooks(ROOT)


def test_every_chapter_of_the_article_is_in_the_book() -> None:
    names = [p.stem for p in NOTEBOOKS]
    assert names[:7] == ["01-thesis", "02-technical", "03-players", "04-market", "05-risks",
                         "06-predictions", "07-faq"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_code_cell_was_executed_in_order(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code"
    counts = [c.execution_count for c in code]
    assert None not in counts, f"{path.name}: a code cell has no recorded execution"
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: not run top to bottom: {counts}"
    for c in code:
        for out in c.outputs:
            assert out.output_type != "error", f"{path.name}: a cell recorded an error"
            assert not (out.output_type == "stream" and out.name == "stderr"), (
                f"{path.name}: a cell wrote to stderr: {out.text[:200]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_has_parameters_and_reads_the_store(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{path.name} needs exactly one parameters cell"
    assert "store =" in params[0].source and "as_of =" in params[0].source
    state = pipeline.load_state(ROOT / "chapters" / "_execution.json")
    assert state[path.relative_to(ROOT).as_posix()]["tables"], f"{path.name} read no table"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_shows_a_table_or_chart(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    html = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if "text/html" in o.get("data", {})]
    assert html, f"{path.name} shows no table or chart"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_normalized(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    assert "papermill" not in nb.metadata
    again = nbformat.writes(notebooks.normalize(nbformat.reads(text, as_version=4)), version=4) + "\n"
    assert again == text, f"{path.name} carries run-to-run metadata churn"


def test_nbval_reports_a_changed_value(tmp_path: Path) -> None:
    """Change one chip's bandwidth in a copy of the data; nbval on a chapter that shows it must fail."""
    from analysis.build import analyses
    from analysis.data import store

    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("*.duckdb*"))
    shutil.copytree(ROOT / "analyses", tmp_path / "analyses")

    def build() -> None:
        store.build(validation.validate(data), data / store.STORE_NAME,
                    extend=lambda p: analyses.extend_store(tmp_path, p, echo=lambda s: None))

    chips = (data / "chips.csv").read_text(encoding="utf-8")
    assert ",3.35," in chips
    (data / "chips.csv").write_text(chips.replace(",3.35,", ",3.95,", 1), encoding="utf-8")
    build()
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    target = chapters / "02-technical.ipynb"
    shutil.copy(ROOT / "chapters" / "02-technical.ipynb", target)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
           "--nbval-current-env", str(target), "--rootdir", str(tmp_path)]
    changed = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert changed.returncode == 1, changed.stdout[-2000:]
    assert "mismatch" in changed.stdout.lower() or "differ" in changed.stdout.lower()
    shutil.copy(ROOT / "data" / "chips.csv", data / "chips.csv")
    build()
    same = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert same.returncode == 0, same.stdout[-3000:]


def test_state_records_every_chapter() -> None:
    state = json.loads((ROOT / "chapters" / "_execution.json").read_text())
    for path in NOTEBOOKS:
        assert path.relative_to(ROOT).as_posix() in state
