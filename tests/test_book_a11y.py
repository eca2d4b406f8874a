"""The book's accessibility fixes at HTML-build time (``_ext/book_a11y.py``), checked without a build.

The browser tests (``tests/test_accessibility.py``) run axe-core on the built pages; these check the
page-body rewrites on small fragments, the template overrides and their wiring in ``_config.yml``.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType, SimpleNamespace

import yaml

from analysis.build import data_release
from tests.conftest import ROOT


def _extension() -> ModuleType:
    spec = importlib.util.spec_from_file_location("book_a11y", ROOT / "_ext" / "book_a11y.py")
    assert spec and spec.loader
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    return ext


ext = _extension()

BODY = """<section id="s"><h2><span class="section-number">1.2. </span>Prices &amp; "rates"<a
class="headerlink" href="#s" title="Link to this heading">#</a></h2>
<div class="cell_output"><div class="book-table-wrap"><table class="book-table"></table></div></div>
<div class="book-table-wrap"><table class="book-table"></table></div>
<h3>Next</h3><div class="pst-scrollable-table-container"><table class="table"></table></div>
<details class="admonition hide above-input"><summary aria-label="Toggle hidden content">
<p class="collapsed admonition-title">Show code cell source</p></summary></details>
<div role="list" class="citation-list">
<div class="citation" id="id3" role="doc-biblioentry"><p>An entry.</p></div>
</div></section>"""


def test_scrolling_tables_are_named_regions_the_keyboard_reaches() -> None:
    body = ext.mend_body(BODY)
    assert ('<div class="book-table-wrap" role="region" tabindex="0" '
            'aria-label="Table: 1.2. Prices &amp; &quot;rates&quot;">') in body
    assert 'aria-label="Table 2: 1.2. Prices &amp; &quot;rates&quot;"' in body
    assert '<div class="pst-scrollable-table-container" role="region" aria-label="Table: Next">' in body
    assert '<div class="book-table-wrap">' not in body and "headerlink" in body


def test_toggles_are_named_by_their_words_and_entries_are_list_items() -> None:
    body = ext.mend_body(BODY)
    assert 'aria-label="Toggle hidden content"' not in body and "<summary>\n" in body
    assert 'role="doc-biblioentry"' not in body
    assert '<div class="citation" id="id3" role="listitem">' in body


def test_mending_twice_changes_nothing_more() -> None:
    once = ext.mend_body(BODY, "Page")
    assert ext.mend_body(once, "Page") == once


def test_a_table_before_any_heading_is_named_after_the_page() -> None:
    body = ext.mend_body('<div class="book-table-wrap"><table></table></div>', "The thesis")
    assert 'aria-label="Table: The thesis"' in body
    assert 'aria-label="Table 1"' in ext.mend_body('<div class="book-table-wrap"></div>')


def test_the_page_hook_mends_the_body_and_leaves_pages_without_one() -> None:
    context = {"body": BODY, "title": "<em>Page</em>"}
    ext._mend_page(None, "p", "page.html", context, None)
    assert 'role="listitem"' in context["body"]
    empty: dict[str, object] = {"title": "Search"}
    ext._mend_page(None, "search", "search.html", empty, None)
    assert empty == {"title": "Search"}


def test_the_book_templates_come_first_and_once() -> None:
    config = SimpleNamespace(templates_path=["/theme/components"])
    ext._templates_first(None, config)
    ext._templates_first(None, config)
    assert config.templates_path == [str(ext.TEMPLATES), "/theme/components"]
    search = (ext.TEMPLATES / "search-button-field.html").read_text(encoding="utf-8")
    switch = (ext.TEMPLATES / "theme-switcher.html").read_text(encoding="utf-8")
    assert "<button" in search and "aria-label" not in search.split("-#}")[1]
    assert "title=" not in switch.split("-#}")[1].split("<i ", 1)[1]
    assert (ext.TEMPLATES / "book-sidebar-logo.html").is_file()


def test_the_book_config_loads_the_fixes() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]
    assert config["local_extensions"]["book_a11y"] == "_ext/"
    assert "book-a11y.js" in config["config"]["html_js_files"]
    assert config["config"]["html_sidebars"]["**"][0] == "book-sidebar-logo.html"
    assert (ROOT / "_static" / "book-a11y.js").is_file()


def test_the_data_release_index_has_a_main_landmark() -> None:
    page = data_release.index_html([])
    assert "<main>" in page and page.count("</main>") == 1
