"""One error type per failure the user can act on, each carrying the exit status it ends with.

``python -m analysis`` exits with the ``exit_code`` of the error that stopped it (README.md, "Exit
codes"); every error the package raises for such a failure is a subclass of one of these:

* ``InputError`` (2): the input is wrong -- a data file, a contract, a parameter, a time limit, a
  release file or a command-line value, or a folder that is not the book's. Fix what the message
  names and run again.
* ``StepError`` (1): a step failed for a reason in the code or the machine -- a chapter or an
  analysis raised, the HTML or PDF build failed, the disk is full. The message names the step.
* ``LockedError`` (3): another build, store or rerun of the book holds the lock; wait for it.

The package's own classes keep the builtin base they had (``SchemaError`` is still a ``ValueError``,
``HtmlFailed`` still a ``RuntimeError``), so code that catches those is unchanged. This module is in
the base layer: it imports nothing of the package.
"""

from __future__ import annotations


class BookError(Exception):
    """A failure the user can act on; ``exit_code`` is the status the command line ends with."""

    exit_code: int = 1


class StepError(BookError):
    """A step failed for a reason in the code or the machine (exit status 1)."""

    exit_code = 1


class InputError(BookError):
    """The input is wrong: data, a contract, a parameter, a limit, a release, an argument (exit status 2)."""

    exit_code = 2


class LockedError(BookError):
    """Another build, store or rerun holds the book's lock (exit status 3)."""

    exit_code = 3
