"""A figure's exported SVG and PNG, carrying what a copy needs to be credited.

A chart copied out of the book travels without its page, so each file says where it comes from, in
the picture and in the file: above the chart, the figure's title, its data sources, the book, edition,
licence and the figure's address (``chart_layout.for_export``); in the SVG, a ``<title>``, a
``<desc>`` and a ``<metadata>`` block (Dublin Core terms in RDF); in the PNG, international text
chunks (``iTXt``, UTF-8) with the keywords Title, Author, Description, Copyright, Source and URL,
written after the image header without any imaging library.

``Credit`` is what is written. ``credit_of`` reads it from a figure recorded in a notebook
(``analysis.book.figures`` stores it beside the spec); a figure recorded before it carried a credit gets
the book's title, licence and the figure's address from the edition.
"""

from __future__ import annotations

import html
import struct
import textwrap
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis import edition
from analysis.book.citation import BOOK_AUTHOR, BOOK_TITLE

LICENCE_ID = "CC-BY-4.0"
LICENCE_NAME = "CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
LINE_CHARS = 100
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Credit:
    """What a figure's files say about it."""

    title: str
    data: str
    """``Data: MLCommons (3 sources); NVIDIA.`` (``Citation.data_note``), or empty."""
    edition: str
    """``The Inference Cost Book, Chapter, version 0.1.0 (2026-11-29)``."""
    url: str
    licence: str = LICENCE_NAME

    def lines(self) -> list[str]:
        """The lines written above the exported chart."""
        data = textwrap.wrap(self.data, LINE_CHARS) if self.data else []
        return [*data, f"{self.edition}. Licence: {self.licence} ({LICENCE_URL}).", self.url]

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "data": self.data, "edition": self.edition, "url": self.url,
                "licence": self.licence}


def credit_of(figure: Mapping[str, Any], page: str) -> Credit:
    """The credit recorded with a notebook's figure, or one made from the edition and ``page``."""
    saved = figure.get("credit")
    if isinstance(saved, Mapping) and saved.get("url"):
        return Credit(**{k: str(saved.get(k, "")) for k in ("title", "data", "edition", "url", "licence")})
    book = edition.edition()
    return Credit(title=str(figure.get("title", figure["label"])), data="",
                  edition=f"{BOOK_TITLE}, version {book.version} ({book.date_released.isoformat()})",
                  url=edition.page_url(page, str(figure["label"])))


def _rdf(credit: Credit) -> str:
    e = lambda s: html.escape(s, quote=True)  # noqa: E731 - one escape for every field
    return (
        '<metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:cc="http://creativecommons.org/ns#">'
        f'<cc:Work rdf:about="{e(credit.url)}"><dc:title>{e(credit.title)}</dc:title>'
        f"<dc:creator>{e(BOOK_AUTHOR)}</dc:creator><dc:source>{e(credit.data)}</dc:source>"
        f"<dc:publisher>{e(credit.edition)}</dc:publisher><dc:identifier>{e(credit.url)}</dc:identifier>"
        f'<dc:rights>{e(credit.licence)}</dc:rights><cc:license rdf:resource="{LICENCE_URL}"/>'
        "</cc:Work></rdf:RDF></metadata>"
    )


def credited_svg(svg: str, credit: Credit) -> str:
    """``svg`` with a ``<title>``, a ``<desc>`` and a ``<metadata>`` block right after its root tag."""
    start = svg.index("<svg")
    end = svg.index(">", start) + 1
    desc = " ".join(x for x in (credit.data, f"{credit.edition}.", f"Licence: {credit.licence}.", credit.url) if x)
    block = (f"<title>{html.escape(credit.title)}</title><desc>{html.escape(desc)}</desc>{_rdf(credit)}")
    return svg[:end] + block + svg[end:]


def _itxt(keyword: str, text: str) -> bytes:
    body = keyword.encode("latin-1") + b"\x00\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8")
    return struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))


def credited_png(png: bytes, credit: Credit) -> bytes:
    """``png`` with text chunks (module docstring) after its ``IHDR`` chunk."""
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG that starts with its image header")
    ihdr_end = 8 + 4 + 4 + struct.unpack(">I", png[8:12])[0] + 4
    chunks = [("Title", credit.title), ("Author", BOOK_AUTHOR), ("Description", credit.data or credit.title),
              ("Copyright", f"{credit.licence} ({LICENCE_URL}); {credit.edition}"), ("Source", credit.edition),
              ("URL", credit.url)]
    return png[:ihdr_end] + b"".join(_itxt(k, v) for k, v in chunks) + png[ihdr_end:]


def png_texts(png: bytes) -> dict[str, str]:
    """The ``iTXt`` and ``tEXt`` chunks of a PNG, keyword to text (for the tests)."""
    out: dict[str, str] = {}
    at = 8
    while at < len(png):
        length, kind = struct.unpack(">I", png[at:at + 4])[0], png[at + 4:at + 8]
        body = png[at + 8:at + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\x00")
            out[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\x00")
            _flag, _method, rest = rest[0], rest[1], rest[2:]
            _lang, _, rest = rest.partition(b"\x00")
            _translated, _, value = rest.partition(b"\x00")
            out[key.decode("latin-1")] = value.decode("utf-8")
        at += 12 + length
    return out

