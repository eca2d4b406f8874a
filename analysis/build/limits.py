"""Wall-clock limits of the build steps that run code: each chapter or analysis cell, and the HTML build.

The defaults hold for this book on a small machine with a wide margin (the slowest cell takes a few
seconds, the HTML build about two minutes); the environment variables change them for one run.
A run that reaches a limit stops that step, says which limit it reached, and changes nothing.
"""

from __future__ import annotations

import math
import os

from analysis.errors import InputError

CELL_TIMEOUT_ENV = "INFERENCE_BOOK_CELL_TIMEOUT"
HTML_TIMEOUT_ENV = "INFERENCE_BOOK_HTML_TIMEOUT"
CELL_TIMEOUT_S = 900.0
HTML_TIMEOUT_S = 1800.0
MAX_TIMEOUT_S = 24 * 3600.0


class LimitError(InputError, ValueError):
    """A limit set in the environment that is not a number of seconds."""


def _seconds(env: str, default: float) -> float:
    text = os.environ.get(env, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT_S:
        raise LimitError(f"{env}={text!r}: expected a number of seconds above 0 and at most {MAX_TIMEOUT_S:g}")
    return value


def cell_timeout() -> float:
    """Seconds one notebook cell may run (``INFERENCE_BOOK_CELL_TIMEOUT``, default 900)."""
    return _seconds(CELL_TIMEOUT_ENV, CELL_TIMEOUT_S)


def html_timeout() -> float:
    """Seconds the HTML build may run (``INFERENCE_BOOK_HTML_TIMEOUT``, default 1800)."""
    return _seconds(HTML_TIMEOUT_ENV, HTML_TIMEOUT_S)
