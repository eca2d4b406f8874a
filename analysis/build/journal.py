"""Put a staged edition in place by a journal of folder exchanges, and recover an interrupted one.

**Why a journal of folder exchanges, not one rename.** The edition is four folders in fixed places
(``data/`` and ``chapters/`` are tracked by git, ``_build/html`` is what is served), so no single
rename can replace them all. Before the first exchange, every staged file is flushed to disk
(``syncfs``) and the journal ``_build/.journal.json`` is written (to a temporary name, fsynced,
renamed into place): it lists each exchange with a fingerprint (every file's path, size and
modification time) of the staged folder. Each exchange is one ``renameat2(RENAME_EXCHANGE)`` call,
so each folder is at every instant either the whole old one or the whole new one, and never missing;
on a file system without it, two renames are used and the journal covers the moment in between.
Interrupt and termination signals are held off during the exchanges. A run killed at any point
(``kill -9``, power cut) therefore leaves either no journal -- the old edition is untouched and the
staging folder is discarded by the next run -- or a journal, which the next ``build``, ``store`` or
``rerun`` completes (*roll forward*: the staged edition was complete and flushed before the journal
existed), checking each folder's fingerprint to see which exchanges had happened. Between such a kill
and the next run, each folder is whole but they may belong to different editions; the next run, of
any command, makes them one edition again before doing anything else (``recover``). A commit that
fails with an error (not a kill) is undone at once (*roll back*) and reported.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from analysis import paths
from analysis.build.failures import BuildFailed
from analysis.build.faults import fault

NEXT = paths.NEXT
JOURNAL = paths.JOURNAL
EDITION = {"data": paths.DATA, "chapters": paths.CHAPTERS, "bibliography": paths.BIBLIOGRAPHY,
           "html": paths.HTML}
RENAME_EXCHANGE = 2


# ------------------------------------------------------------------ folders

def fingerprint(folder: Path) -> str | None:
    """Path, size and modification time of every entry under ``folder`` (None if it does not exist)."""
    if not folder.exists() and not folder.is_symlink():
        return None
    if folder.is_symlink():
        return "symlink:" + os.readlink(folder)
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        rel = os.path.relpath(dirpath, folder)
        h.update(f"d {rel}\n".encode())
        for name in sorted(filenames):
            try:
                info = os.lstat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue
            h.update(f"f {rel}/{name} {info.st_size} {info.st_mtime_ns}\n".encode())
    return h.hexdigest()


_libc: Any = None


def _renameat2(a: Path, b: Path) -> bool:
    """Exchange ``a`` and ``b`` atomically; False when the system cannot (then two renames are used)."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    func = getattr(_libc, "renameat2", None)
    if func is None:
        return False
    at_fdcwd = -100
    if func(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _exchange(staged: Path, live: Path) -> None:
    if not live.exists() and not live.is_symlink():
        live.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, live)
        return
    if _renameat2(staged, live):
        return
    aside = staged.with_name(staged.name + ".old")
    os.rename(live, aside)
    os.rename(staged, live)
    os.rename(aside, staged)


def _syncfs(path: Path) -> None:
    """Flush the file system holding ``path`` (so a journal never points at unwritten files)."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    func = getattr(_libc, "syncfs", None)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if func is None or func(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Interrupt and termination signals wait until the exchanges are done (SIGKILL cannot)."""
    received: list[int] = []
    wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    try:
        previous = {s: signal.signal(s, lambda n, f: received.append(n)) for s in wanted}
    except ValueError:  # not the main thread: signals cannot be handled here anyway
        yield received
        return
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)



# ------------------------------------------------------------------ the journal

def _write_journal(root: Path, swaps: list[dict[str, str]]) -> None:
    path = root / JOURNAL
    tmp = path.with_name(path.name + ".tmp")
    payload = json.dumps({"version": 1, "pid": os.getpid(), "written": time.time(), "swaps": swaps}, indent=2)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _apply(root: Path, swaps: list[dict[str, str]], *, faults: bool) -> None:
    for swap in swaps:
        live, staged = root / swap["live"], root / swap["staged"]
        if fingerprint(live) == swap["fingerprint"]:
            continue
        if not staged.exists() or fingerprint(staged) != swap["fingerprint"]:
            raise RuntimeError(f"the staged copy of {swap['live']} is missing or was changed")
        _exchange(staged, live)
        _fsync_dir(live.parent)
        if faults:
            fault(f"after-swap-{swap['name']}")


def _finish(root: Path, swaps: list[dict[str, str]]) -> None:
    for swap in swaps:
        for leftover in (root / swap["staged"], (root / swap["staged"]).with_name(Path(swap["staged"]).name + ".old")):
            if leftover.is_symlink():
                leftover.unlink()
            elif leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)
    (root / JOURNAL).unlink(missing_ok=True)
    _fsync_dir(root / JOURNAL.parent)
    shutil.rmtree(root / NEXT, ignore_errors=True)


def _roll_back(root: Path, swaps: list[dict[str, str]]) -> None:
    for swap in reversed(swaps):
        live, staged = root / swap["live"], root / swap["staged"]
        if fingerprint(live) == swap["fingerprint"] and staged.exists():
            _exchange(staged, live)
    (root / JOURNAL).unlink(missing_ok=True)
    shutil.rmtree(root / NEXT, ignore_errors=True)


def commit(root: Path, names: Sequence[str], echo: Callable[[str], None] = print) -> list[str]:
    """Exchange the staged folders ``names`` (keys of ``EDITION``) with the live ones, by journal."""
    swaps = [{"name": n, "live": EDITION[n].as_posix(), "staged": (NEXT / EDITION[n]).as_posix(),
              "fingerprint": fingerprint(root / NEXT / EDITION[n]) or ""} for n in names]
    if not swaps:
        return []
    _syncfs(root / NEXT)
    _write_journal(root, swaps)
    fault("after-journal")
    with _signals_held() as received:
        try:
            _apply(root, swaps, faults=True)
        except OSError as exc:
            _roll_back(root, swaps)
            raise BuildFailed("commit", f"could not put the new {exc.filename or 'edition'} in place "
                                        f"({exc.strerror}); the previous edition was restored") from None
        fault("after-swap-done")
        _finish(root, swaps)
    if received:
        echo("an interrupt arrived while the new edition was being put in place; it was completed first")
    return [s["name"] for s in swaps]


def recover(root: Path, echo: Callable[[str], None] = print) -> str | None:
    """Finish (roll forward) a commit that an earlier run started, or discard an unfinished staging.
    Returns what was done, or None when there was nothing to do."""
    path = root / JOURNAL
    done = None
    if path.exists():
        try:
            swaps = json.loads(path.read_text(encoding="utf-8"))["swaps"]
        except (ValueError, KeyError, TypeError):
            swaps = None
        if swaps is None:
            path.unlink()
        else:
            names = ", ".join(s["live"] for s in swaps)
            try:
                _apply(root, swaps, faults=False)
            except RuntimeError as exc:
                echo(f"recovery: the interrupted edition could not be completed ({exc}); keeping the folders "
                     "as they are, and rebuilding what is stale")
            _finish(root, swaps)
            done = f"completed the new edition an interrupted run had built ({names})"
    for legacy in ("_build/.html-new", "_build/.html-old", "_build/.html-inputs"):  # earlier versions' swap
        if (root / legacy).is_dir():
            shutil.rmtree(root / legacy, ignore_errors=True)
        elif (root / legacy).exists():
            (root / legacy).unlink()
    for leftover in (root / NEXT, root / JOURNAL.with_name(JOURNAL.name + ".tmp")):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
            done = done or "discarded the staging folder of an interrupted run; the edition was not changed"
        elif leftover.exists():
            leftover.unlink()
    if done:
        echo(f"recovery: {done}")
    return done
