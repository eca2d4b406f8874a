"""The "How to cite" page (``chapters/appendix-cite.md``), generated from ``CITATION.cff``.

The page is committed like every other page, so building the book needs nothing but the file;
``python -m analysis cite --write`` writes it again after ``CITATION.cff`` changes, ``python -m
analysis cite`` reports a page that disagrees, and a unit test fails while they disagree. Its BibTeX
entry is a ``@book`` written by the book's one BibTeX writer (``analysis.book.bibtex``) from the
``preferred-citation`` of ``CITATION.cff``; every other value comes from ``analysis.edition``.
"""

from __future__ import annotations

from pathlib import Path

from analysis import edition, paths
from analysis.book.bibtex import Record, bib_string
from analysis.escape import md_code_block, md_text, safe_url

PAGE = paths.CHAPTERS / "appendix-cite.md"

INTRO = """\
Cite the book, a chapter, or a single figure. Every figure has a stable label (such as
`fig-price-70b`) that stays the same across editions, an anchor on its page, and under it a
"Cite this figure" block with a plain-text and a BibTeX citation (each with a button that copies it),
plus its data as CSV and the chart as SVG and PNG (in the `figures/` folder of the built book, named
after the label)."""

OUTRO = """\
**The data.** Each value in the book comes from a source listed in the {doc}`appendix-data`, with
its licence. When you reuse a number, cite its original source as well as the book.

**The article examined.** {cite:t}`article-ainews-inference-collapse`. Every source the book uses is
listed in the {doc}`appendix-bibliography`, generated from the store."""


def _link(url: str) -> str:
    """``url`` as a Markdown autolink, if it is an http(s) address that cannot end the link early."""
    if safe_url(url) is None or any(ch in url for ch in "<>"):
        raise ValueError(f"{edition.CITATION_NAME}: {url!r} is not an http(s) address")
    return f"<{url}>"


def book_record(book: edition.Edition) -> Record:
    """The book as a ``@book`` record, from ``CITATION.cff``'s ``preferred-citation``."""
    preferred = book.preferred
    if preferred.get("type") != "book":
        raise ValueError(f"{edition.CITATION_NAME}: preferred-citation must be of type book")
    publisher = str((preferred.get("publisher") or {}).get("name") or ", ".join(book.authors))
    return Record(
        kind="book", key=f"inferencecostbook{book.year}", author=", ".join(book.authors),
        title=book.title, url=book.url, published=book.date_released,
        extra=(("publisher", publisher), ("version", book.version), ("note", book.licence_text() + ".")),
    )


def book_bibtex(book: edition.Edition) -> str:
    """The book's BibTeX entry."""
    return bib_string([book_record(book)]).rstrip("\n")


def page_text(root: Path = paths.ROOT) -> str:
    """The whole page, for the edition in ``root/CITATION.cff``."""
    book = edition.edition(root)
    authors = md_text(", ".join(book.authors))
    quote = (f"> {authors} ({book.year}). *{md_text(book.title)}.* Version {md_text(book.version)}. "
             f"{_link(book.url)}. {md_text(book.licence_text())}.")
    return "\n".join([
        "# How to cite",
        "",
        f"% Generated from {edition.CITATION_NAME} by `python -m analysis cite --write`: edit "
        f"{edition.CITATION_NAME}, not this page.",
        "",
        f"This is edition {md_text(book.version)} of the book, released on {book.date_released.isoformat()} "
        f"at {_link(book.url)}; its source is at {_link(book.repository)}.",
        "",
        INTRO,
        "",
        "**The book**",
        "",
        quote,
        "",
        md_code_block(book_bibtex(book), "bibtex").rstrip("\n"),
        "",
        f"The repository's `{edition.CITATION_NAME}` holds the same information in the Citation File Format.",
        "",
        OUTRO,
        "",
    ])


def page_is_current(root: Path = paths.ROOT) -> bool:
    """Whether the committed page is the one ``CITATION.cff`` gives."""
    path = Path(root) / PAGE
    return path.is_file() and path.read_text(encoding="utf-8") == page_text(root)


def write_page(root: Path = paths.ROOT) -> Path:
    """Write the page from ``CITATION.cff`` (only when its text changes)."""
    path = Path(root) / PAGE
    text = page_text(root)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path
