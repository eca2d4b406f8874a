"""Page weight: the chart library only on the pages that draw charts (#17 item 4)."""

from __future__ import annotations

import pytest

from analysis.build import pipeline
from tests.conftest import ROOT

pytestmark = pytest.mark.build

CHART_LIBRARY = "vega-bundle.js"


def test_only_pages_with_charts_load_the_chart_library() -> None:
    html = ROOT / "_build" / "html"
    pages = {f.relative_to(ROOT).with_suffix(".html").as_posix() for f in pipeline.toc_files(ROOT)}
    with_charts, without = [], []
    for name in sorted(pages):
        text = (html / name).read_text(encoding="utf-8")
        draws = "vegaEmbed(" in text
        assert (CHART_LIBRARY in text) == draws, f"{name}: draws charts {draws}, loads the library {not draws}"
        (with_charts if draws else without).append(name)
    assert "chapters/02-technical.html" in with_charts and "chapters/appendix-methods.html" in without


def test_the_front_page_is_rebuilt_whenever_a_chapter_is() -> None:
    import importlib.util
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("book_pages", ROOT / "_ext" / "book_pages.py")
    assert spec and spec.loader
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    app = SimpleNamespace(config=SimpleNamespace(root_doc="intro"))
    assert ext._front_page_follows(app, None, set(), {"chapters/01-thesis"}, set()) == ["intro"]
    assert ext._front_page_follows(app, None, set(), {"intro"}, set()) == []
    assert ext._front_page_follows(app, None, set(), set(), set()) == []


def test_only_pages_with_math_load_mathjax_and_no_page_loads_the_icon_script() -> None:
    html = ROOT / "_build" / "html"
    pages = {f.relative_to(ROOT).with_suffix(".html").as_posix() for f in pipeline.toc_files(ROOT)}
    with_math = []
    for name in sorted(pages):
        text = (html / name).read_text(encoding="utf-8")
        writes_math = 'class="math' in text
        assert ("tex-chtml.js" in text) == writes_math, f"{name}: math {writes_math}"
        assert "fontawesome.js" not in text, f"{name} still loads the 1.5 MB icon script"
        if writes_math:
            with_math.append(name)
    assert with_math == ["chapters/02-technical.html"], with_math
