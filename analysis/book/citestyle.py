"""In-text citations that tell apart one author's entries of one year: "Meta [2024a]", "Meta [2024b]".

sphinxcontrib-bibtex's ``author_year`` style prints the author and the ``year`` field (or "n.d."), so
four pages Meta published in 2024 all read "Meta [2024]". ``AuthorYearDistinct`` is that style with
the year replaced by ``distinct_year``: the year (or "n.d.") followed by a letter whenever the
bibliography holds more than one entry of the same author and year, lettered in the order of their
titles (as biblatex's author-year styles letter them). The book's Sphinx extension
(``_ext/book_pages.py``) registers the style as ``author_year_distinct``, the name ``_config.yml``
gives ``bibtex_reference_style``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pybtex.database import Entry
from pybtex.richtext import Text
from pybtex.style.template import Node, field, first_of, node, optional
from sphinxcontrib.bibtex.style import template as sphinx_template
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

STYLE_NAME = "author_year_distinct"
NO_DATE = "n.d."
_cache: dict[int, tuple[object, dict[str, str]]] = {}


def author_text(entry: Entry) -> str:
    """The names an author-year citation prints for ``entry`` (authors, else editors, else title)."""
    for role in ("author", "editor"):
        if entry.persons.get(role):
            names = " and ".join(str(p) for p in entry.persons[role])
            return names.replace("{", "").replace("}", "")
    return str(entry.fields.get("title", "")).replace("{", "").replace("}", "")


def year_suffixes(entries: Mapping[str, Entry]) -> dict[str, str]:
    """A letter for each entry that shares its author and year with another, by title then key;
    entries alone in their author and year get ``""``."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key, entry in entries.items():
        year = str(entry.fields.get("year", NO_DATE))
        title = str(entry.fields.get("title", "")).replace("{", "").replace("}", "").casefold()
        groups.setdefault((author_text(entry).casefold(), year), []).append((title, key))
    out: dict[str, str] = {}
    for (_, year), members in groups.items():
        for i, (_, key) in enumerate(sorted(members)):
            letter = "" if len(members) == 1 else _letter(i)
            out[key] = ("-" + letter if letter and year == NO_DATE else letter)
    return out


def _letter(i: int) -> str:
    """``a`` ... ``z``, then ``aa``, ``ab`` ...: a label for the i-th entry of a group."""
    letters = ""
    i += 1
    while i:
        i, rest = divmod(i - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _bibliography(data: Mapping[str, Any]) -> Mapping[str, Entry]:
    """Every entry of the bibliography the cited entry belongs to (the Sphinx domain's data)."""
    info = data.get("reference_info")
    builder = getattr(info, "builder", None)
    if builder is None:
        entry = data["entry"]
        return {entry.key: entry}
    return builder.env.get_domain("cite").bibdata.data.entries


def suffix_of(data: Mapping[str, Any]) -> str:
    """The letter of the cited entry among its author's entries of its year."""
    entries = _bibliography(data)
    cached = _cache.get(id(entries))
    if cached is None or cached[0] is not entries or len(cached[1]) != len(entries):
        cached = (entries, year_suffixes(entries))
        _cache.clear()
        _cache[id(entries)] = cached
    return cached[1].get(data["entry"].key, "")


@node
def distinct_year(children: list[Any], data: Mapping[str, Any]) -> Text:
    """The year (or "n.d.") with the entry's letter."""
    assert not children
    year = first_of[optional[field("year")], NO_DATE].format_data(data)
    return Text(year, suffix_of(data))


def _swap_year(template: Any) -> Any:
    """A copy of a template with sphinxcontrib-bibtex's year node replaced by ``distinct_year``."""
    if not isinstance(template, Node):
        return template
    if template.f is sphinx_template.year.f:
        return distinct_year
    swapped = Node(template.name, template.f)
    swapped.args = list(template.args)
    swapped.kwargs = dict(template.kwargs)
    swapped.children = [_swap_year(child) for child in template.children]
    return swapped


@dataclass
class AuthorYearDistinct(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's author-year references, with ``distinct_year`` for the year."""

    def inner(self, role_name: str) -> Node:
        return _swap_year(super().inner(role_name))


def register() -> None:
    """Make the style known to sphinxcontrib-bibtex as ``author_year_distinct``."""
    from sphinxcontrib.bibtex.plugin import register_plugin

    register_plugin("sphinxcontrib.bibtex.style.referencing", STYLE_NAME, AuthorYearDistinct, force=True)
