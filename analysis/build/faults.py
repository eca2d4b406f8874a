"""Fault injection for the tests: a run that kills itself at a named point.

``INFERENCE_BOOK_FAULT=<point>`` makes a run kill itself with SIGKILL at that point, for the
fault-injection tests: ``after-check``, ``after-validate``, ``after-store``, ``after-chapter-<n>``,
``after-chapters``, ``after-html``, ``after-journal``, ``after-swap-<folder>`` (``data``,
``chapters``, ``bibliography``, ``html``) and ``after-swap-done``.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "INFERENCE_BOOK_FAULT"


def fault(point: str) -> None:
    """Kill this process with SIGKILL when ``INFERENCE_BOOK_FAULT`` names ``point`` (tests only)."""
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
