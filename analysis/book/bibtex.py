"""The book's one BibTeX writer: the bibliography of sources, the figure citations and the "How to cite"
entry are all ``Record``s written by pybtex's BibTeX database writer.

A ``Record`` holds plain text; ``entry`` turns it into a pybtex ``Entry`` whose every field is LaTeX:
text through ``analysis.escape.bibtex_text`` (``&``, ``_``, ``#``, ``%``, ``$``, ``~``, ``^``, ``\\`` and
braces written as commands), the title with its first word and each word that holds a capital letter
in braces (so a style that changes case keeps ``MLPerf``, ``AMD``, ``MI300X`` and ``miFcW``), the author kept as one
name in braces (an organisation is not split into first and last names), the URL verbatim as biblatex
defines the field (``http``/``https`` only, percent-encoded where it could end a field), the
publication date only when it is known (``year`` for BibTeX, ``date`` for biblatex) and the access date
as ``urldate``. pybtex then writes the entries, quoting each field and refusing unbalanced braces.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pybtex.database import BibliographyData, Entry, Person
from pybtex.database.output.bibtex import Writer

from analysis.escape import BIBTEX_KEY_RE, bibtex_text, bibtex_url

ENTRY_TYPES = frozenset({"online", "dataset", "misc", "book"})
"""The types the book writes: biblatex types that pybtex's styles (and so sphinxcontrib-bibtex) format."""
FIELD_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
RESERVED = frozenset({"author", "title", "url", "year", "date", "urldate"})


@dataclass(frozen=True)
class Record:
    """One entry as plain text: what it is, who made it, when it was published and read, where it is."""

    kind: str
    key: str
    author: str
    title: str
    url: str | None = None
    published: dt.date | None = None
    accessed: dt.date | None = None
    extra: tuple[tuple[str, str], ...] = ()
    """Further fields (``note``, ``howpublished``, ``version``, ``publisher``...), as plain text."""


class _LatexWriter(Writer):
    """pybtex's BibTeX writer for fields that are LaTeX already: pybtex's own encoding (latexcodec)
    would escape the backslash of every ``\\&`` the escaper wrote, so it is left out; the writer's
    quoting and its check of balanced braces stay."""

    def _encode(self, text: str) -> str:
        return text


def protected_title(text: object) -> str:
    """A title as LaTeX, in braces every word holding a capital letter, and the first word (a style
    that capitalises a title's first letter would turn ``llama-models`` into ``Llama-models``)."""
    words = []
    for i, word in enumerate(str(text).split()):
        escaped = bibtex_text(word)
        words.append("{" + escaped + "}" if i == 0 or any(ch.isupper() for ch in word) else escaped)
    return " ".join(words)


def _checked(record: Record) -> None:
    if record.kind not in ENTRY_TYPES or not BIBTEX_KEY_RE.fullmatch(record.key):
        raise ValueError(f"not an entry type and key the book writes: {record.kind!r}, {record.key!r}")
    for name, _ in record.extra:
        if not FIELD_RE.fullmatch(name) or name in RESERVED:
            raise ValueError(f"{record.key}: {name!r} is not a free field name")


def entry(record: Record) -> Entry:
    """The record as a pybtex entry, every field LaTeX (see the module's docstring)."""
    _checked(record)
    fields: list[tuple[str, str]] = [("title", protected_title(record.title))]
    if record.published is not None:
        fields += [("year", str(record.published.year)), ("date", record.published.isoformat())]
    url = bibtex_url(record.url) if record.url else None
    if url is not None:
        fields.append(("url", url))
        if record.accessed is not None:
            fields.append(("urldate", record.accessed.isoformat()))
    fields += [(name, bibtex_text(value)) for name, value in record.extra]
    author = Person("{" + bibtex_text(record.author) + "}")
    return Entry(record.kind, fields=fields, persons={"author": [author]})


def bib_string(records: Iterable[Record]) -> str:
    """The records as one BibTeX file, in the order given; a key used twice is an error."""
    data = BibliographyData()
    for record in records:
        if record.key in data.entries:
            raise ValueError(f"BibTeX key {record.key!r} is used twice")
        data.entries[record.key] = entry(record)
    return _LatexWriter().to_string(data)
