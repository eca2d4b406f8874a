"""Chapter parameters set for a build or rerun (``--param NAME=VALUE``, ``PARAMS="..."``): named, typed, ranged.

Every chapter declares its parameters in its papermill ``parameters`` cell (``as_of = "2026-11-29"``).
``check`` turns the user's ``NAME=VALUE`` pairs into typed values before anything is built:

* the name must be declared by at least one chapter's parameters cell (an unknown name is refused,
  naming the known ones), and each chapter receives only the parameters it declares, so a parameter
  makes only its own chapters stale and is written only into them;
* the value must have the type and range of ``SPECS`` (one entry per declared name: a chapter that
  declares a parameter without a spec is an error of the book, caught by the tests): dates are ISO
  ``YYYY-MM-DD`` only (``20261129`` and ``2024-13-99`` are refused), numbers are plain finite decimals,
  text is a short slug, and ``store`` is a path to a ``.duckdb`` file inside the book.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from analysis import paths
from analysis.errors import InputError

PARAMETERS_TAG = "parameters"
NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
DECIMAL_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")
INTEGER_RE = re.compile(r"[+-]?\d{1,12}")
SLUG_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
MAX_VALUE_CHARS = 200


class ParameterError(InputError, ValueError):
    """A parameter the book cannot take; the message says what it accepts."""


@dataclass(frozen=True)
class Spec:
    """What one parameter accepts."""

    kind: str  # "date", "integer", "number", "slug" or "store"
    minimum: float | dt.date | None = None
    maximum: float | dt.date | None = None
    exclusive_minimum: bool = False

    def describe(self) -> str:
        if self.kind == "date":
            return f"a date YYYY-MM-DD from {self.minimum} to {self.maximum}"
        if self.kind in ("integer", "number"):
            low = "above" if self.exclusive_minimum else "from"
            what = "a whole number" if self.kind == "integer" else "a number"
            return f"{what} {low} {self.minimum:g} to {self.maximum:g}"
        if self.kind == "slug":
            return "a slug: lower-case letters, digits, '.', '_' or '-' (at most 100)"
        return "a relative path to a .duckdb file inside the book (relative to chapters/)"


FIRST_DATE, LAST_DATE = dt.date(2015, 1, 1), dt.date(2035, 12, 31)
SPECS: dict[str, Spec] = {
    "store": Spec("store"),
    "as_of": Spec("date", FIRST_DATE, LAST_DATE),
    "article_date": Spec("date", FIRST_DATE, LAST_DATE),
    "capability_class": Spec("slug"),
    "model": Spec("slug"),
    "context": Spec("integer", 1, 1_048_576),
    "utilization": Spec("number", 0, 1, exclusive_minimum=True),
    "pue": Spec("number", 1, 3),
}


def declared(notebook: Path | nbformat.NotebookNode) -> dict[str, Any]:
    """The names and default values a notebook's papermill parameters cell assigns."""
    nb = nbformat.read(notebook, as_version=4) if isinstance(notebook, Path) else notebook
    cells = [c for c in nb.cells if c.cell_type == "code" and PARAMETERS_TAG in c.metadata.get("tags", [])]
    names: dict[str, Any] = {}
    for cell in cells:
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    names[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    names[node.targets[0].id] = None
    return names


def declared_by(notebooks: Iterable[Path]) -> dict[Path, dict[str, Any]]:
    return {nb: declared(nb) for nb in notebooks}


def _convert(name: str, text: str, spec: Spec, root: Path | None) -> Any:
    def refuse(why: str = "") -> ParameterError:
        shown = text if len(text) <= 60 else text[:57] + "..."
        return ParameterError(f"parameter {name}={shown!r} is refused{why}: expected {spec.describe()}")

    if len(text) > MAX_VALUE_CHARS or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise refuse(" (too long or holds control characters)")
    if spec.kind == "date":
        if not ISO_DATE_RE.fullmatch(text):
            raise refuse()
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            raise refuse(" (no such day)") from None
        assert isinstance(spec.minimum, dt.date) and isinstance(spec.maximum, dt.date)
        if not spec.minimum <= value <= spec.maximum:
            raise refuse(" (out of range)")
        return value.isoformat()
    if spec.kind in ("integer", "number"):
        if not (INTEGER_RE if spec.kind == "integer" else DECIMAL_RE).fullmatch(text):
            raise refuse()
        number: float = int(text) if spec.kind == "integer" else float(text)
        if not math.isfinite(number):
            raise refuse(" (not finite)")
        assert isinstance(spec.minimum, (int, float)) and isinstance(spec.maximum, (int, float))
        low_ok = number > spec.minimum if spec.exclusive_minimum else number >= spec.minimum
        if not (low_ok and number <= spec.maximum):
            raise refuse(" (out of range)")
        return number
    if spec.kind == "slug":
        if not SLUG_RE.fullmatch(text):
            raise refuse()
        return text
    # store: a relative path, resolved from chapters/, that stays inside the book
    if text.startswith(("/", "~")) or "\\" in text or not text.endswith(".duckdb"):
        raise refuse()
    if root is not None:
        base = (root / paths.CHAPTERS).resolve()
        target = (base / text).resolve()
        if not target.is_relative_to(root.resolve()):
            raise refuse(" (it points outside the book)")
    return text


def check(pairs: Sequence[str], notebooks: Iterable[Path], root: Path | None = None) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as typed values, every name declared by a chapter; ``ParameterError`` if not."""
    known = sorted({name for names in declared_by(notebooks).values() for name in names})
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not NAME_RE.fullmatch(name):
            shown = pair if len(pair) <= 60 else pair[:57] + "..."
            raise ParameterError(f"a parameter is NAME=VALUE with a lower-case name, got {shown!r}")
        if name not in known:
            raise ParameterError(f"unknown parameter {name!r}: no chapter declares it; "
                                 f"the chapters' parameters are {', '.join(known)}")
        if name in params:
            raise ParameterError(f"parameter {name!r} is given twice")
        spec = SPECS.get(name)
        if spec is None:
            raise ParameterError(f"parameter {name!r} has no declared type and range in analysis.build.parameters.SPECS")
        params[name] = _convert(name, value, spec, root)
    return params


def for_notebook(params: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The subset of ``params`` a notebook declares."""
    wanted = set(names)
    return {k: v for k, v in params.items() if k in wanted}


def split_env(text: str) -> list[str]:
    """``PARAMS="as_of=2027-01-01 context=4096"`` as pairs: split on white space, nothing evaluated."""
    return text.split()
