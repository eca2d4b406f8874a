"""Parametrized analyses: run by papermill inside the store build, cached, and safe when they fail."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import nbformat
import pytest

from analysis.build import analyses, notebooks
from analysis.data import reader, store, validation
from tests.conftest import ROOT

pytestmark = pytest.mark.build


def test_derived_tables_are_in_the_store_and_catalogued() -> None:
    with reader.open_store(ROOT / "data" / store.STORE_NAME) as db:
        grid = db.scalar("SELECT count(*) FROM derived_roofline_grid")
        costs = db.scalar("SELECT count(*) FROM derived_cost_scenarios")
        listed = set(db.sql("SELECT table_name FROM _tables")["table_name"])
    runs = analyses.load_runs(ROOT)
    assert grid > 1000 and costs >= len(runs["cost-scenarios"]["runs"][0]["scenarios"])
    assert {"derived_roofline_grid", "derived_cost_scenarios"} <= listed


@pytest.mark.parametrize("path", sorted((ROOT / "analyses").glob("*.ipynb")), ids=lambda p: p.stem)
def test_analysis_notebooks_are_executed_and_parametrized(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1
    assert not any(c.outputs for c in code), "results live in the store; a recorded output would go stale"


@pytest.fixture
def analysis_root(tmp_path: Path) -> Path:
    for name in ("analyses", "data"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("*.duckdb*", ".*"))
    return tmp_path


def test_runs_are_cached_until_their_inputs_change(analysis_root: Path) -> None:
    tables = validation.validate(analysis_root / "data")
    target = analysis_root / "data" / store.STORE_NAME
    messages: list[str] = []
    store.build(tables, target, extend=lambda p: analyses.extend_store(analysis_root, p, echo=messages.append))
    specs = analyses.load_runs(analysis_root)
    runs = sum(len(spec["runs"]) for spec in specs.values())
    assert len(messages) == runs == len(specs), "one kernel start per analysis and build"
    messages.clear()
    store.build(tables, target, extend=lambda p: analyses.extend_store(analysis_root, p, echo=messages.append))
    assert messages == []
    chips = analysis_root / "data" / "chips.csv"
    chips.write_text(chips.read_text().replace(",3.35,", ",3.36,", 1))
    tables = validation.validate(analysis_root / "data")
    store.build(tables, target, extend=lambda p: analyses.extend_store(analysis_root, p, echo=messages.append))
    assert len(messages) == runs, "every analysis reads chips, so every run executes again"


def test_a_failing_analysis_leaves_the_store_unchanged(analysis_root: Path) -> None:
    tables = validation.validate(analysis_root / "data")
    target = analysis_root / "data" / store.STORE_NAME
    store.build(tables, target, extend=lambda p: analyses.extend_store(analysis_root, p, echo=lambda s: None))
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    nb_path = analysis_root / "analyses" / "cost-scenario.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[-1].source = "raise RuntimeError('broken analysis')"
    notebooks.write_notebook(nb, nb_path)
    with pytest.raises(analyses.AnalysisFailed, match="broken analysis"):
        store.build(tables, target, extend=lambda p: analyses.extend_store(analysis_root, p, echo=lambda s: None))
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before
    assert list(target.parent.glob(".*.tmp")) == []
