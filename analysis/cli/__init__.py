"""The commands users type: ``python -m analysis <command>``.

Every command prints a one-line error and exits non-zero on bad input; no traceback reaches the
user for a mistake in the data or the arguments. ``build``, ``store`` and ``rerun`` are one
transaction each (``analysis.build.workflow``); the Makefile passes ``DATA`` and ``PARAMS`` to them in the
environment (``INFERENCE_BOOK_DATA``, ``INFERENCE_BOOK_PARAMS``), never through a shell.

The package: ``parser`` (the arguments), ``book_commands`` (validate, datapackage, store, build, rerun,
import, texts, cite, pdf), ``query_commands`` (roofline, cost, forecasts, answered from the store) and ``exits``
(what a failure prints, and its exit status: the ``exit_code`` of its ``analysis.errors.BookError``).
"""

from __future__ import annotations

import signal
from collections.abc import Sequence

import duckdb

from analysis.cli import exits
from analysis.cli.parser import build_parser
from analysis.errors import BookError, InputError


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` names and return its exit status (a failure's, through ``exits.report``)."""
    args = build_parser().parse_args(argv)
    try:
        signal.signal(signal.SIGTERM, _terminated)
    except ValueError:
        pass
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return exits.fail("interrupted; nothing was changed (a run interrupted while putting a new edition in "
                          "place is completed by the next build)", exits.INTERRUPTED)
    except duckdb.Error as exc:
        return exits.fail(f"the store could not answer: {str(exc).splitlines()[0]} (rebuild it with `make store`)",
                          InputError.exit_code)
    except BookError as exc:
        return exits.report(exc)

