"""Shared fixtures: a small synthetic data folder that passes validation, and the repository paths."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from analysis.book import notebook_view

ROOT = Path(__file__).resolve().parent.parent

# The suite checks the book as the build makes it: every kernel it starts (nbval's, with
# --nbval-current-env, and those of the tests' papermill runs) inherits this and emits the book's
# outputs. A test of what a JupyterLab reader sees removes it (monkeypatch, or a server's environment).
os.environ[notebook_view.BUILD_ENV] = "1"

SOURCES_META = (ROOT / "data" / "sources.meta.yml").read_text(encoding="utf-8")

WIDGETS_META = textwrap.dedent(
    """\
    name: widgets
    title: Widgets
    description: Synthetic table for tests.
    origin:
      title: Test widgets
      producer: tests
      url: https://example.org/widgets
      date_accessed: 2026-01-01
      licence: CC0-1.0
      citation: tests (2026). Widgets.
    primary_key: [slug]
    columns:
      - name: slug
        type: string
        description: Identifier.
        pattern: "^[a-z0-9-]+$"
      - name: kind
        type: string
        description: Sort of widget.
        allowed: [gpu, asic]
      - name: memory_gb
        type: number
        unit: GB
        description: Memory.
        min: 0
        max: 1000
      - name: cores
        type: integer
        description: Cores.
        required: false
        min: 1
      - name: launched
        type: date
        description: Launch date.
        min: 2000-01-01
      - name: precisions
        type: list
        description: Precisions.
        allowed: [fp16, fp8, int8]
        required: false
      - name: source_ids
        type: list
        description: Sources.
        references: sources.source_id
      - name: note
        type: string
        description: Note.
        required: false
    """
)

SOURCES_CSV = textwrap.dedent(
    """\
    source_id,title,producer,url,date_published,date_accessed,licence,kind,note
    spec-a,Spec sheet A,Vendor A,https://example.org/a,2024-01-02,2026-01-01,proprietary (facts cited),datasheet,
    spec-b,"Spec sheet B, second edition",Vendor B,https://example.org/b,,2026-01-01,CC-BY-4.0,datasheet,
    """
)

WIDGETS_CSV = textwrap.dedent(
    """\
    slug,kind,memory_gb,cores,launched,precisions,source_ids,note
    alpha,gpu,80,132,2022-03-22,fp16;fp8,spec-a,
    beta,asic,0.23,,2020-05-01,int8,spec-a;spec-b,"SRAM only, no DRAM"
    """
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A valid two-table data folder in a temporary directory."""
    d = tmp_path / "data"
    d.mkdir()
    (d / "sources.meta.yml").write_text(SOURCES_META, encoding="utf-8")
    (d / "sources.csv").write_text(SOURCES_CSV, encoding="utf-8")
    (d / "widgets.meta.yml").write_text(WIDGETS_META, encoding="utf-8")
    (d / "widgets.csv").write_text(WIDGETS_CSV, encoding="utf-8")
    return d


LAYER_MARKS = ("data", "build", "browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that needs the book's data and store (``data``), a build (``build``) or a browser
    (``browser``) says so; every other test is a ``unit`` test, run by ``pytest -m unit`` on a fresh
    clone without a built book. The recorded notebooks (nbval) need the built store."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.build)
        elif not any(item.get_closest_marker(m) for m in LAYER_MARKS):
            item.add_marker(pytest.mark.unit)
