"""The PDF edition's bookmarks: one per chapter, with its sections and their subsections beneath.

Chromium can write an outline itself (``page.pdf(outline=True, tagged=True)``), but it nests every
chapter under the front page (the single-page book puts the chapters inside the root document), joins
the lines of a wrapped heading without a space, and the tagged PDF it needs is three times the size.
The outline is written here instead, with pypdf, from the headings the printed page reported
(``publish.PREPARE_JS``): that script makes each section's heading a link to the section's ``id``,
Chromium writes a named destination for the target of every link it prints, so each bookmark points
where its heading was printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEPTH = 3
"""Bookmark levels: the chapter (or the front page), its sections, their subsections."""


@dataclass(frozen=True)
class Heading:
    """A section of the printed page: its ``id``, its heading's level (1-6) and text, and whether it
    starts a document of the book (a chapter, an appendix or the front page)."""

    id: str
    level: int
    title: str
    chapter: bool = False


def headings_from(found: Iterable[Mapping[str, Any]]) -> list[Heading]:
    """The headings as the page's script reported them (dictionaries with the fields of ``Heading``)."""
    return [Heading(str(h["id"]), int(h["level"]), " ".join(str(h["title"]).split()), bool(h.get("chapter")))
            for h in found]


def levels(headings: Iterable[Heading], depth: int = DEPTH) -> list[tuple[int, Heading]]:
    """Each heading with its bookmark level (0 for a chapter), those deeper than ``depth`` left out.

    The level counts from the heading that opened the current document: the first heading of the
    page (the front page) and every chapter are at level 0 whatever their HTML level."""
    out: list[tuple[int, Heading]] = []
    top: int | None = None
    for h in headings:
        if top is None or h.chapter:
            top = h.level
        level = max(h.level - top, 0)
        if level < depth and h.title:
            out.append((level, h))
    return out


def add_outline(pdf: Path, headings: Iterable[Heading], title: str | None = None) -> int:
    """Replace the outline of ``pdf`` by one bookmark per heading (a heading without a destination in
    the PDF is skipped); the PDF opens with its bookmarks shown. Returns how many were written."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import Fit

    reader = PdfReader(pdf)
    named = reader.named_destinations
    writer = PdfWriter(clone_from=reader)
    writer._root_object.pop("/Outlines", None)  # Chromium's own, if it wrote one
    parents: list[Any] = []
    written = 0
    for level, h in levels(headings):
        dest = named.get(f"/{h.id}") or named.get(h.id)
        if dest is None:
            continue
        del parents[level:]
        parent = parents[-1] if parents else None
        fit = Fit.xyz(left=dest.get("/Left"), top=dest.get("/Top"), zoom=0)
        item = writer.add_outline_item(title=h.title, page_number=reader.get_destination_page_number(dest),
                                       parent=parent, fit=fit, is_open=False)
        while len(parents) < level:  # a skipped level: hang the item on the nearest one above
            parents.append(parent)
        parents.append(item)
        written += 1
    writer.page_mode = "/UseOutlines"
    if title:
        writer.add_metadata({"/Title": title})
    tmp = pdf.with_name(pdf.name + ".tmp")
    with tmp.open("wb") as f:
        writer.write(f)
    tmp.replace(pdf)
    return written
