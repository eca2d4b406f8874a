"""How a command ends: its exit status, and what it prints on stderr (never a traceback).

A command that fails raises (or is given) an ``analysis.errors.BookError``; ``report`` prints it and
returns its ``exit_code``, the one place a failure becomes an exit status (README.md, "Exit codes"):
0 success; 1 a step failed for a reason in the code or the machine (``StepError``); 2 the input is
wrong: the data, a parameter, a command-line value (``InputError``); 3 another build holds the lock
(``LockedError``). An interrupt ends with 130.
"""

from __future__ import annotations

import sys

from analysis.data import validation
from analysis.errors import BookError

INTERRUPTED = 130


def fail(message: str, code: int) -> int:
    """Print ``error: message`` on stderr and return ``code``, the exit status to use."""
    print(f"error: {message}", file=sys.stderr)
    return code


def report(exc: BookError, text: str | None = None) -> int:
    """Print ``text`` on stderr -- by default what ``exc`` says: a data problem's whole report
    (``ValidationError.report``), else ``error:`` and its message -- and return ``exc.exit_code``."""
    if text is None:
        text = exc.report() if isinstance(exc, validation.ValidationError) else f"error: {exc}"
    print(text, file=sys.stderr)
    return exc.exit_code
