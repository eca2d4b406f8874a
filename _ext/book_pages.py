"""Sphinx extension of the book: fixes to the pages the theme stack emits.

The chart library (``vega-bundle.js``, about 0.9 MB, added to every page by ``html_js_files``) is kept
only on pages that draw a chart or an explorer (a raw HTML output calling ``vegaEmbed``); a page of
text, such as an appendix, does not download it.

The theme's Font Awesome script (1.5 MB, which redraws the icons as SVG) is taken out of every written
page: the theme's stylesheet already draws the same icons with the icon font.

MathJax stays only on pages that write math themselves (Sphinx also adds it to a page whose table of
contents includes one with math, which put it on the front page).

The front page pastes numbers glued in the chapters (``{glue:text}`chapters/x.ipynb::key```), which
Sphinx resolves when it writes the page; so whenever another page is read again, the front page is
read and written again too, and never shows a number from an earlier build.

sphinx-thebe registers its inline configuration script once per read of the environment, so a page
can carry ``const THEBE_JS_URL = ...`` twice, and the second declaration throws in the browser. Each
page's scripts are de-duplicated here (same file, same inline body, same attributes: keep the first;
an inline script's file name may be ``None`` or ``""``, which count as the same).

The extension also registers the book's in-text citation style, ``author_year_distinct``
(``analysis.book.citestyle``: author-year references whose year carries a letter when one author has
several entries of one year), before sphinxcontrib-bibtex looks it up when the builder starts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def _dedupe_scripts(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    kept = []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        key = (str(getattr(script, "filename", script) or ""), repr(sorted(attributes.items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    scripts[:] = kept


CHART_LIBRARY = "vega-bundle.js"
CHART_CALL = "vegaEmbed"


def _draws_charts(doctree: Any) -> bool:
    from docutils import nodes

    return doctree is not None and any(CHART_CALL in node.astext() for node in doctree.findall(nodes.raw))


def _charts_only_where_drawn(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                             doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts or _draws_charts(doctree):
        return
    scripts[:] = [s for s in scripts if not str(getattr(s, "filename", s) or "").endswith(CHART_LIBRARY)]


def _front_page_follows(app: Any, env: Any, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    root = app.config.root_doc
    return [root] if (added | changed | removed) - {root} else []


def _edition_in_footer(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Every page says which edition of the book it belongs to and when that edition was released
    (``analysis.edition``, read from ``CITATION.cff``), in the theme's footer."""
    from html import escape

    from analysis import edition

    book = edition.edition()
    stamp = (f'<p class="book-edition">Edition {escape(book.version)}, released '
             f'{book.date_released.day} {book.date_released:%B %Y}.</p>')
    context["theme_extra_footer"] = stamp + (context.get("theme_extra_footer") or "")


ICON_SCRIPT = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')


def drop_icon_script(text: str) -> str:
    """``text`` (a page) without the theme's Font Awesome script: 1.5 MB that redraws the icons as SVG,
    although the theme's stylesheet already draws them with the icon font."""
    return ICON_SCRIPT.sub("", text)


def _pages_without_icon_script(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lighter = drop_icon_script(text)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")


MATHJAX = ("mathjax", "MathJax")


def _has_math(doctree: Any) -> bool:
    from docutils import nodes

    return doctree is not None and any(True for _ in doctree.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block))))


def _math_only_where_written(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                             doctree: Any) -> None:
    """Sphinx adds MathJax to a page when it or any page of its table of contents has math, so the
    front page carried it for chapter 02's formulas; keep it only on pages with math of their own."""
    scripts = context.get("script_files")
    if not scripts or doctree is None or _has_math(doctree):
        return
    def mathjax(script: Any) -> bool:
        name = str(getattr(script, "filename", script) or "")
        body = str((getattr(script, "attributes", {}) or {}).get("body", ""))
        return any(word in name or word in body for word in MATHJAX)
    scripts[:] = [s for s in scripts if not mathjax(s)]


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", _math_only_where_written, priority=900)
    app.connect("build-finished", _pages_without_icon_script)
    app.connect("html-page-context", _edition_in_footer)
    app.connect("env-get-outdated", _front_page_follows)
    from analysis.book import citestyle

    citestyle.register()
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    app.connect("html-page-context", _charts_only_where_drawn, priority=101)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

