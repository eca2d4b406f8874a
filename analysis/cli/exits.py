"""How a command ends: its exit status, and the one-line error it prints (never a traceback).

The statuses (README.md, "Exit codes"): 0 success; 1 a step failed for a reason in the code or the
machine; 2 the input is wrong (the data, a parameter, a command-line value); 3 another build holds
the lock.
"""

from __future__ import annotations

import sys

EXIT_BAD_DATA = 2
EXIT_BAD_INPUT = 2
EXIT_LOCKED = 3


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print ``error: message`` on stderr and return ``code``, the exit status to use."""
    print(f"error: {message}", file=sys.stderr)
    return code
