"""How to cite one figure: a line of text, a BibTeX entry and the HTML block under the figure.

The figure's address is absolute (``analysis.edition.page_url``: the book's ``url`` from
``CITATION.cff``, the page, the figure's label as anchor), the BibTeX entry is a ``@misc`` written by
the book's one BibTeX writer (``analysis.book.bibtex``), and the data note names each publisher of the
figure's sources once, with the number of its documents when there are several. The HTML block has
two "copy" buttons; ``_static/cite-copy.js`` (loaded on every page, nothing remote) copies the text
or the entry to the clipboard. No attribute or script of the block comes from the data.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from dataclasses import dataclass

from analysis.book.bibtex import Record, bib_string

BOOK_TITLE = "The Inference Cost Book"
BOOK_AUTHOR = "Inference Cost Book contributors"
KEY_PREFIX = "inferencebook-"
COPY_BUTTONS = (("cite-text", "Copy citation"), ("cite-bibtex", "Copy BibTeX"))
"""What each copy button copies (the class of the element in the block) and its label."""


@dataclass(frozen=True)
class Citation:
    """How to cite one figure of the book."""

    label: str
    title: str
    chapter: str
    version: str
    date: str
    sources: tuple[str, ...]
    """The publisher of each source of the figure's data (repeated when it published several)."""
    url: str

    @property
    def key(self) -> str:
        """The BibTeX key: ``inferencebook-`` and the label without ``fig-``."""
        return KEY_PREFIX + self.label.removeprefix("fig-")

    def data_note(self) -> str:
        """``Data: MLCommons (3 sources); NVIDIA.``: each publisher once, in alphabetical order."""
        counts = Counter(s for s in self.sources if s)
        if not counts:
            return ""
        names = sorted(counts, key=lambda name: (name.casefold(), name))
        parts = [name if counts[name] == 1 else f"{name} ({counts[name]} sources)" for name in names]
        return "Data: " + "; ".join(parts) + "."

    def text(self) -> str:
        """The citation as one line of text."""
        note = self.data_note()
        return (
            f"{BOOK_AUTHOR} ({self.date[:4]}). \u201c{self.title}\u201d, figure {self.label}, "
            f"in {BOOK_TITLE}, {self.chapter}, version {self.version} ({self.date}). {self.url}."
            + (f" {note}" if note else "")
        )

    def record(self) -> Record:
        """The citation as a ``Record`` for the BibTeX writer."""
        extra = [("howpublished", f"Figure {self.label} in {BOOK_TITLE}, {self.chapter}, version {self.version}"),
                 ("version", self.version)]
        if self.data_note():
            extra.append(("note", self.data_note()))
        return Record(kind="misc", key=self.key, author=BOOK_AUTHOR, title=self.title, url=self.url,
                      published=dt.date.fromisoformat(self.date), extra=tuple(extra))

    def bibtex(self) -> str:
        """The citation as BibTeX, by the book's one BibTeX writer (every text escaped)."""
        return bib_string([self.record()]).rstrip("\n")

    def html(self) -> str:
        """The "Cite this figure" block: the text, the entry and a button to copy each."""
        buttons = " ".join(f'<button type="button" class="cite-copy" data-copy="{target}">{label}</button>'
                           for target, label in COPY_BUTTONS)
        return (
            '<details class="figure-cite"><summary>Cite this figure</summary>'
            f'<p class="cite-text">{html.escape(self.text())}</p>'
            f'<pre class="cite-bibtex">{html.escape(self.bibtex())}</pre>'
            f'<p class="cite-actions">{buttons}</p></details>'
        )
