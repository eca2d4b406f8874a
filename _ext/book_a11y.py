"""Sphinx extension of the book: what the pages say to assistive technology (#17 item 8, axe-core).

The theme stack emits a few constructs that axe-core reports as serious or critical; they are mended
here, when the HTML is written, so the outputs recorded in the notebooks stay as they are:

* a table that scrolls sideways (the package's ``div.book-table-wrap``, the theme's
  ``div.pst-scrollable-table-container``) is a named region (``role="region"`` and an ``aria-label``
  naming the section the table is in); the package's wrapper is also in the keyboard's reach
  (``tabindex="0"``), so a reader without a mouse can scroll it (axe: scrollable-region-focusable);
* myst-nb's "show code cell source" toggle carries a fixed ``aria-label`` ("Toggle hidden content")
  that differs from the words it shows; the label is dropped, so its name is its visible text
  (axe: label-content-name-mismatch);
* docutils marks each bibliography entry ``role="doc-biblioentry"`` (a role retired by DPUB-ARIA 1.1)
  inside a ``role="list"``, which then has no list items; each entry becomes a ``listitem``
  (axe: aria-required-children, aria-allowed-role, aria-deprecated-role);
* ``_ext/templates`` is put first on the template path: the book's copies of the theme's search
  field button and colour-mode button, whose names match what they show (see each template).

The label of a vega-embed chart's action menu, drawn in the browser, is given by
``_static/book-a11y.js``.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parent / "templates"

TOGGLE_SUMMARY = '<summary aria-label="Toggle hidden content">'
BIBLIOENTRY = re.compile(r'(<div class="citation" id="[^"]*") role="doc-biblioentry">')
HEADING = r'<h(?P<level>[1-6])(?:\s[^>]*)?>(?P<heading>.*?)</h(?P=level)>'
WRAPPER = r'<div class="(?P<wrap>book-table-wrap|pst-scrollable-table-container)">'
HEADING_OR_WRAPPER = re.compile(f"{HEADING}|{WRAPPER}", re.DOTALL)
HEADERLINK = re.compile(r'<a\s+class="headerlink"[^>]*>.*?</a>', re.DOTALL)
TAG = re.compile(r"<[^>]+>")
FOCUSABLE = {"book-table-wrap": ' tabindex="0"', "pst-scrollable-table-container": ""}


def heading_text(fragment: str) -> str:
    """The words of a heading's HTML: no tags, no "#" link to itself, spaces collapsed."""
    text = TAG.sub("", HEADERLINK.sub("", fragment))
    return " ".join(html.unescape(text).split())


def name_table_regions(body: str, page_title: str = "") -> str:
    """Each table wrapper of ``body`` as a named region: "Table: <section>", numbered from the second
    table of one section on ("Table 2: <section>"), so that no two regions share a name."""
    section = page_title
    seen: dict[str, int] = {}

    def mend(m: re.Match[str]) -> str:
        nonlocal section
        if m.group("heading") is not None:
            section = heading_text(m.group("heading")) or section
            return m.group(0)
        seen[section] = seen.get(section, 0) + 1
        count = seen[section]
        label = f"Table{'' if count == 1 else f' {count}'}: {section}" if section else f"Table {count}"
        wrap = m.group("wrap")
        return (f'<div class="{wrap}" role="region"{FOCUSABLE[wrap]} '
                f'aria-label="{html.escape(label, quote=True)}">')

    return HEADING_OR_WRAPPER.sub(mend, body)


def mend_body(body: str, page_title: str = "") -> str:
    """The page body with the fixes above (idempotent: a mended body is left as it is)."""
    body = body.replace(TOGGLE_SUMMARY, "<summary>")
    body = BIBLIOENTRY.sub(r'\1 role="listitem">', body)
    return name_table_regions(body, page_title)


def _mend_page(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    body = context.get("body")
    if isinstance(body, str) and body:
        context["body"] = mend_body(body, heading_text(str(context.get("title") or "")))


def _templates_first(app: Any, config: Any) -> None:
    path = str(TEMPLATES)
    if path not in config.templates_path:
        config.templates_path.insert(0, path)


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _templates_first)
    app.connect("html-page-context", _mend_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
