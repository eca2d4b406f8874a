"""A failed step as the user reads it: ``BuildFailed``, and the disk, file and DuckDB errors of a run
turned into one message that names the user's own folder (never the staging copy) and what to do.

``BuildFailed`` is a ``StepError`` (exit status 1); ``BuildRefused``, the step refused its input, an
``InputError`` (2). A full disk is reported with the space a staged edition needs (``space_needed``): the new edition is
built beside the current one, so the build needs room for a copy of it.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Protocol

import duckdb

from analysis import paths
from analysis.errors import InputError, StepError

DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
PERMISSION_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)
SPACE_MARGIN = 1.2


class BuildFailed(StepError):
    """A step failed; nothing the reader sees was changed. ``code`` is the exit status to use (the
    class's ``exit_code``: 1, a reason in the code or the machine)."""

    def __init__(self, step: str, message: str):
        self.step, self.message, self.code = step, message, self.exit_code
        super().__init__(f"{step} failed: {message}")


class BuildRefused(BuildFailed, InputError):
    """A step refused what it was given -- a folder that is not the book's, a parameter or limit out of
    range, a folder this user may not write -- and changed nothing (exit status 2)."""

    exit_code = InputError.exit_code


class RunState(Protocol):
    """What a failure message needs of the run it happened in (``workflow``'s run)."""

    root: Path
    mode: str
    step: str

    def unstage(self, text: str) -> str:
        """``text`` naming the user's folders instead of the staging copy."""
        ...


def folder_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def space_needed(root: Path, mode: str = "build") -> int:
    """Bytes a staged edition needs at most: a copy of data/, chapters/ and _build/html, and the
    HTML build's cache when it does not exist yet (for ``store``, a copy of data/ only)."""
    if mode == "store":
        return int(SPACE_MARGIN * folder_bytes(root / paths.DATA))
    html = folder_bytes(root / paths.HTML)
    cache = 0 if (root / paths.HTML_CACHE).is_dir() else html
    return int(SPACE_MARGIN * (folder_bytes(root / paths.DATA) + folder_bytes(root / paths.CHAPTERS) + html + cache))


def mb(n: float) -> str:
    """A size in bytes as megabytes, for messages."""
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e6:.1f} MB"


def copy_error(exc: shutil.Error, run: RunState) -> BuildFailed:
    """``shutil.copytree`` gathers every file's error into one list: report the first, by its errno."""
    found = [entry for entry in (exc.args[0] if exc.args and isinstance(exc.args[0], list) else [])
             if isinstance(entry, tuple) and len(entry) == 3]
    for code in (*DISK_ERRNOS, errno.EFBIG, *PERMISSION_ERRNOS):
        for _, dst, why in found:
            if f"[Errno {code}]" in str(why):
                return os_error(OSError(code, os.strerror(code), str(dst)), run)
    first = str(found[0][2]) if found else str(exc)
    return BuildFailed(run.step, run.unstage(first[:500]))


def os_error(exc: OSError, run: RunState) -> BuildFailed:
    """An ``OSError`` of the current step: a full disk, a file-size limit, a permission, or else its text."""
    if isinstance(exc, shutil.Error):
        return copy_error(exc, run)
    where = run.unstage(str(exc.filename)) if exc.filename else str(run.root)
    if exc.errno in DISK_ERRNOS:
        need = space_needed(run.root, run.mode)
        return BuildFailed(run.step, f"no space left on the disk ({where}) while the {run.step} step was writing. "
                                     f"The new edition is staged beside the current one and needs about {mb(need)}: "
                                     f"free at least that much on the disk holding {run.root} and run again")
    if exc.errno == errno.EFBIG:
        return BuildFailed(run.step, f"a file grew past this process's file-size limit (`ulimit -f`) while the "
                                     f"{run.step} step was writing {where}; raise the limit and run again")
    if exc.errno in PERMISSION_ERRNOS:
        return BuildRefused(run.step, f"permission denied: {where} ({exc.strerror}). Make it (and its folder) "
                                      "writable by this user, or run as its owner, and run again")
    return BuildFailed(run.step, f"{exc.strerror or exc} ({where})")


def duckdb_error(exc: duckdb.Error, run: RunState) -> BuildFailed:
    """A DuckDB error of the current step: a full disk or a file-size limit as such, or else its first line."""
    text = str(exc)
    if "No space left on device" in text:
        return os_error(OSError(errno.ENOSPC, "No space left on device", str(run.root / paths.DATA)), run)
    if "File too large" in text:
        return os_error(OSError(errno.EFBIG, "File too large", str(run.root / paths.DATA)), run)
    return BuildFailed(run.step, run.unstage(text.splitlines()[0] if text else type(exc).__name__))
