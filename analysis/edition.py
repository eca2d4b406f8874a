"""The book's edition, read from one place: the repository's ``CITATION.cff``.

``CITATION.cff`` holds the version, the release date, the title, the authors, the book's public
address (``url``), the repository, the abstract, the keywords and the licences. ``edition()`` reads
them once per book folder, and everything that prints an edition takes it from there: the figure
citations, the generated "How to cite" page (``analysis.book.cite_page``), ``analysis.__version__``.
``_config.yml`` repeats the address as ``html.baseurl`` for Sphinx, and a unit test keeps the two
equal. ``page_url`` turns a page of the book and an anchor into an absolute address under ``url``, and
``store_url`` gives the address of the published store.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from analysis import paths

CITATION_NAME = "CITATION.cff"
LICENCE_ROLES = {"CC-BY-4.0": "text and data", "MIT": "code"}
"""What each licence of ``CITATION.cff`` covers (the Citation File Format lists licences without
saying which part of the repository each one is for)."""


@dataclass(frozen=True)
class Edition:
    """One edition of the book, as ``CITATION.cff`` describes it."""

    version: str
    date_released: dt.date
    title: str
    authors: tuple[str, ...]
    url: str
    repository: str
    abstract: str
    keywords: tuple[str, ...]
    licences: tuple[str, ...]
    preferred: dict[str, Any]

    @property
    def year(self) -> int:
        """The year of the release."""
        return self.date_released.year

    def licence_text(self) -> str:
        """``Text and data CC-BY-4.0; code MIT``: each licence with what it covers."""
        parts = [f"{LICENCE_ROLES[name]} {name}" for name in self.licences]
        text = "; ".join(parts)
        return text[:1].upper() + text[1:]


def _names(people: list[dict[str, Any]]) -> tuple[str, ...]:
    """A person as ``given-names family-names``, an entity by its ``name``."""
    out = []
    for who in people:
        if "name" in who:
            out.append(str(who["name"]))
        else:
            out.append(" ".join(str(who[k]) for k in ("given-names", "family-names") if k in who))
    return tuple(out)


def _date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


@functools.lru_cache(maxsize=8)
def _parse(name: str, text: str) -> Edition:
    cff = yaml.safe_load(text)
    licences = cff.get("license", [])
    licences = (licences,) if isinstance(licences, str) else tuple(licences)
    unknown = [name for name in licences if name not in LICENCE_ROLES]
    if unknown:
        raise ValueError(f"{name}: licence(s) {', '.join(unknown)} cover no part of the book "
                         f"(analysis.edition.LICENCE_ROLES)")
    return Edition(
        version=str(cff["version"]), date_released=_date(cff["date-released"]), title=str(cff["title"]),
        authors=_names(cff["authors"]), url=str(cff["url"]).rstrip("/"),
        repository=str(cff["repository-code"]), abstract=" ".join(str(cff["abstract"]).split()),
        keywords=tuple(str(k) for k in cff.get("keywords", [])), licences=licences,
        preferred=dict(cff.get("preferred-citation") or {}),
    )


def edition(root: Path = paths.ROOT) -> Edition:
    """The edition described by ``root/CITATION.cff`` (parsed again only when the file changes)."""
    path = Path(root) / CITATION_NAME
    return _parse(str(path), path.read_text(encoding="utf-8"))


def page_url(page: str, anchor: str | None = None, root: Path = paths.ROOT) -> str:
    """The absolute address of a page of the book (``chapters/01-thesis.html``), with an anchor."""
    if "://" in page or page.startswith("/") or ".." in page.split("/"):
        raise ValueError(f"not a page inside the book: {page!r}")
    url = f"{edition(root).url}/{page}"
    return f"{url}#{anchor}" if anchor else url


def store_url(root: Path = paths.ROOT) -> str:
    """Where the published store can be downloaded: ``<url>/data/inference.duckdb`` in the data
    release beside the book (``analysis.build.data_release``)."""
    return page_url(f"{paths.RELEASE_DIR}/{paths.STORE_NAME}", root=root)
