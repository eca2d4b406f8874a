"""How a value from the data is written into each place it can go: one escaper per target.

Data files are input from strangers, so no value reaches a page, a bibliography or an exported CSV
unescaped: ``html_text`` (HTML), ``md_text`` (MyST Markdown: every ASCII punctuation character
backslash-escaped, so no role, directive, link, raw block, fence, ``$`` math or HTML tag can form),
``md_code_block`` (a code fence longer than any run of backticks inside), ``bibtex_text`` (BibTeX and
LaTeX: braces and special characters written as commands, so an unbalanced ``{`` cannot end an
entry), ``bibtex_url`` (``http``/``https`` only, percent-encoded), ``bibtex_entry`` (one entry, its
key and brace balance checked) and ``csv_cell`` (a text cell starting with ``=``, ``+``, ``-``,
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


def bibtex_url(value: object, *, relative: bool = False) -> str | None:
    """A URL for a BibTeX ``url`` field: ``http``/``https`` (or, with ``relative``, a path inside the
    book with no scheme), percent-encoded so that no brace, backslash, quote or space survives; None
    for anything else (``javascript:``, ``data:``, ...)."""
    text = str(value).strip()
    url = safe_url(text)
    if url is None:
        if not relative or ":" in text.split("/", 1)[0] or text.startswith("//") or not text:
            return None
        url = text
    return urllib.parse.quote(url, safe=":/?#[]@!$&'()*+,;=%-._~")


BIBTEX_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")  # entry types and field names
BIBTEX_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")


def bibtex_entry(kind: str, key: str, fields: list[tuple[str, str]]) -> str:
    """The book's one BibTeX writer: ``@kind{key, name = {value}, ...}``. Values must already be
    escaped (``bibtex_text``, ``bibtex_url``); the key, the field names and the brace balance of every
    value are checked here, so nothing can end an entry early or start another."""
    if not BIBTEX_NAME_RE.fullmatch(kind) or not BIBTEX_KEY_RE.fullmatch(key):
        raise ValueError(f"not a BibTeX entry type and key: {kind!r}, {key!r}")
    lines = []
    for name, value in fields:
        depth = 0
        for ch in value:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if depth < 0:
                break
        if depth != 0 or not BIBTEX_NAME_RE.fullmatch(name):
            raise ValueError(f"BibTeX field {name!r} of {key!r} is not escaped: {value!r}")
        lines.append(f"  {name} = {{{value}}}")
    return f"@{kind}{{{key},\n" + ",\n".join(lines) + "\n}"


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
