"""How a value from the data is written into each place it can go: one escaper per target.

Data files are input from strangers, so no value reaches a page, a bibliography or an exported CSV
unescaped: ``html_text`` (HTML), ``md_text`` (MyST Markdown: every ASCII punctuation character
backslash-escaped, so no role, directive, link, raw block, fence, ``$`` math or HTML tag can form),
``md_code_block`` (a code fence longer than any run of backticks inside), ``bibtex_text`` (BibTeX and
LaTeX: braces and special characters written as commands, so an unbalanced ``{`` cannot end an
entry), ``bibtex_url`` (``http``/``https`` only, percent-encoded; the entries themselves are written
by pybtex in ``analysis.book.bibtex``) and ``csv_cell`` (a text cell starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return is prefixed with ``'``, as OWASP's CSV-injection guidance recommends).
``safe_url`` returns a URL only when its scheme is ``http`` or ``https``, so ``javascript:`` and
``data:`` never become links. This module imports nothing of the package: every layer may use it.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

MD_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
URL_SCHEMES = ("http", "https")
LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


def html_text(value: object) -> str:
    """Text for HTML element content or a quoted attribute."""
    import html

    return html.escape(str(value), quote=True)


def md_text(value: object) -> str:
    """Text for MyST Markdown, shown as itself: whitespace folded to single spaces, every ASCII
    punctuation character backslash-escaped (no emphasis, role, directive, link, HTML, math, fence)."""
    text = " ".join(str(value).split())
    return "".join("\\" + ch if ch in MD_PUNCTUATION else ch for ch in text)


def md_code_block(text: str, info: str = "text") -> str:
    """``text`` as a fenced code block whose fence is longer than any run of backticks in it, so the
    text cannot close the fence and start Markdown of its own."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}\n"


def bibtex_text(value: object) -> str:
    """Text for a braced BibTeX field (also valid LaTeX): special characters as commands and braces as
    ``\\textbraceleft{}``/``\\textbraceright{}``, so BibTeX's brace counting always balances and no
    text can end its field or entry."""
    out = []
    for ch in " ".join(str(value).split()):
        if ch in "{}":
            out.append("\\textbraceleft{}" if ch == "{" else "\\textbraceright{}")
        else:
            out.append(LATEX_SPECIAL.get(ch, ch))
    return "".join(out)


def safe_url(value: object) -> str | None:
    """``value`` if it is an ``http`` or ``https`` URL with a host, else None (never a link)."""
    text = str(value).strip()
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in URL_SCHEMES or not parts.netloc or any(c.isspace() for c in text):
        return None
    return text


def bibtex_url(value: object) -> str | None:
    """A URL for a BibTeX ``url`` field (verbatim in biblatex): ``http``/``https`` only,
    percent-encoded so that no brace, backslash, quote or space survives; None for anything else
    (``javascript:``, ``data:``, a path without a host, ...)."""
    url = safe_url(value)
    if url is None:
        return None
    return urllib.parse.quote(url, safe=":/?#[]@!$&'()*+,;=%-._~")


BIBTEX_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
"""What a BibTeX key of the book may look like (source ids, figure keys)."""


def csv_cell(value: object) -> object:
    """A cell for a CSV export: text that a spreadsheet would read as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(CSV_TRIGGERS):
        return "'" + value
    return value


def csv_frame(frame: Any) -> Any:
    """A copy of a DataFrame with every text cell passed through ``csv_cell``."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype).startswith("str"):
            out[col] = out[col].map(csv_cell)
    return out
