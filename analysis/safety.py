"""Text from data files is input from strangers: one checker or escaper per place it can go.

* **Identifiers** (``check_identifier``, ``quote_ident``): every table and column name that comes from
  a file (a file name, a contract's ``name``, ``columns``, ``primary_key``, ``references``) must match
  ``IDENTIFIER_RE`` (a lower-case letter, then lower-case letters, digits and underscores, at most
  ``MAX_IDENTIFIER`` characters) before anything reads it, and every identifier in SQL is written by
  ``quote_ident``. Values travel as query parameters, never pasted into SQL.
* **Contract patterns** (``compile_pattern``): compiled by RE2, whose matching time is linear in the
  input, so a pattern such as ``^(a+)+$`` cannot hang validation; back-references and look-arounds
  (which RE2 does not have) are refused, and a pattern is at most ``MAX_PATTERN`` characters.
* **YAML** (``load_yaml``): the safe loader, refusing anchors, aliases and duplicate keys, on at most
  ``MAX_YAML_BYTES`` bytes.
* **Escaping**, one function per target: ``html_text`` (HTML), ``md_text`` (MyST Markdown: every ASCII
  punctuation character backslash-escaped, so no role, directive, link, raw block, fence, ``$`` math
  or HTML tag can form), ``md_code_block`` (a code fence longer than any run of backticks inside),
  ``bibtex_text`` (BibTeX and LaTeX: braces and special characters written as commands, so an
  unbalanced ``{`` cannot end an entry), ``bibtex_url`` (``http``/``https`` only, percent-encoded) and
  ``csv_cell`` (a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
  prefixed with ``'``, as OWASP's CSV-injection guidance recommends). ``safe_url`` returns a URL only
  when its scheme is ``http`` or ``https``, so ``javascript:`` and ``data:`` never become links.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import yaml

IDENTIFIER_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
MAX_IDENTIFIER = 63
IDENTIFIER_RULE = "a lower-case letter, then lower-case letters, digits or underscores (at most 63)"
MAX_PATTERN = 200
MAX_YAML_BYTES = 256 * 1024
MD_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
URL_SCHEMES = ("http", "https")
LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


class UnsafeName(ValueError):
    """A table or column name that does not match ``IDENTIFIER_RE``."""


def is_identifier(name: object) -> bool:
    return isinstance(name, str) and IDENTIFIER_RE.fullmatch(name) is not None


def check_identifier(name: object, what: str = "name") -> str:
    """``name`` if it is a safe identifier, else ``UnsafeName`` saying what it should look like."""
    if not is_identifier(name):
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
        raise UnsafeName(f"{what} {shown} is not allowed: use {IDENTIFIER_RULE}")
    return str(name)


INTERNAL_IDENTIFIER_RE = re.compile(r"_?[a-z][a-z0-9_]{0,62}")


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier: the one way the book writes a table or column name into
    SQL. Names from files have passed ``check_identifier``; the book's own catalogue tables may
    also start with an underscore (``_tables``), which no file name can."""
    if not isinstance(name, str) or INTERNAL_IDENTIFIER_RE.fullmatch(name) is None:
        raise UnsafeName(f"identifier {name!r} is not allowed: use {IDENTIFIER_RULE}")
    return '"' + name + '"'


# ---------------------------------------------------------------- patterns

def compile_pattern(pattern: str) -> Any:
    """A contract's pattern compiled by RE2 (linear-time matching); ``ValueError`` if refused."""
    import re2

    if not isinstance(pattern, str) or not pattern:
        raise ValueError("a pattern must be a non-empty string")
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"a pattern may have at most {MAX_PATTERN} characters, this one has {len(pattern)}")
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"pattern {pattern!r} is not accepted ({detail}); "
                         "back-references and look-arounds are not supported") from None


# ---------------------------------------------------------------- YAML

class _StrictLoader(yaml.SafeLoader):
    """The safe loader without anchors, aliases or duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
        if getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, "anchors (&name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:  # type: ignore[override]
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(raw: bytes) -> Any:
    """Parse a contract: at most ``MAX_YAML_BYTES``, no anchors, aliases or duplicate keys.

    Raises ``ValueError`` with the line and column of the problem where YAML gives one."""
    if len(raw) > MAX_YAML_BYTES:
        raise ValueError(f"the file has {len(raw)} bytes; a contract may have at most {MAX_YAML_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"bytes {raw[exc.start:exc.end].hex(' ')} are not UTF-8") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a subclass of SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ValueError(f"not readable YAML: {where}{problem}") from None


# ---------------------------------------------------------------- escaping

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


BIBTEX_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")


def bibtex_entry(kind: str, key: str, fields: list[tuple[str, str]]) -> str:
    """The book's one BibTeX writer: ``@kind{key, name = {value}, ...}``. Values must already be
    escaped (``bibtex_text``, ``bibtex_url``); the key, the field names and the brace balance of every
    value are checked here, so nothing can end an entry early or start another."""
    if not IDENTIFIER_RE.fullmatch(kind) or not BIBTEX_KEY_RE.fullmatch(key):
        raise ValueError(f"not a BibTeX entry type and key: {kind!r}, {key!r}")
    lines = []
    for name, value in fields:
        depth = 0
        for ch in value:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if depth < 0:
                break
        if depth != 0 or not IDENTIFIER_RE.fullmatch(name):
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
