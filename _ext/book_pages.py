"""Sphinx extension of the book: fixes to the pages the theme stack emits.

sphinx-thebe registers its inline configuration script once per read of the environment, so a page
can carry ``const THEBE_JS_URL = ...`` twice, and the second declaration throws in the browser. Each
page's scripts are de-duplicated here (same file, same inline body, same attributes: keep the first;
an inline script's file name may be ``None`` or ``""``, which count as the same).

The extension also registers the book's in-text citation style, ``author_year_distinct``
(``analysis.book.citestyle``: author-year references whose year carries a letter when one author has
several entries of one year), before sphinxcontrib-bibtex looks it up when the builder starts.
"""

from __future__ import annotations

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


def setup(app: Any) -> dict[str, Any]:
    from analysis.book import citestyle

    citestyle.register()
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

