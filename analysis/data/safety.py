"""Names, patterns and contracts from data files are input from strangers: one checker for each.

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
* **Escaping** of what leaves the store for a page, a BibTeX file or a CSV is ``analysis.escape``.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from analysis.errors import InputError

IDENTIFIER_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
MAX_IDENTIFIER = 63
IDENTIFIER_RULE = "a lower-case letter, then lower-case letters, digits or underscores (at most 63)"
MAX_PATTERN = 200
MAX_YAML_BYTES = 256 * 1024


class UnsafeName(InputError, ValueError):
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
