"""The book's build lock: one build, store or rerun at a time, released by the kernel when its holder dies.

``BuildLock(root)`` takes an exclusive ``flock`` on ``root/.build.lock`` without waiting. ``flock``
locks belong to the open file, not to the file's existence: when the holder ends in any way (done,
crashed, ``kill -9``, out of memory) the kernel releases the lock, so a crashed run can never leave a
lock that blocks the next one, and no stale-lock guessing (by age or by PID) is needed. The holder
writes its PID, command and start time into the file; a second run that finds the lock taken says
which PID holds it (and that it is alive), so the user knows what to wait for or stop. A PID left in
the file by a run that died is only reported ("released by a run that ended: PID ...").

The file descriptor is opened close-on-exec, so kernels and the HTML build started by the holder do
not inherit the lock and cannot keep it after the holder is gone.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import os
from pathlib import Path
from types import TracebackType

from analysis import paths
from analysis.errors import LockedError

LOCK_NAME = paths.LOCK_NAME


class BuildLocked(LockedError):
    """Another build, store or rerun holds the lock (or the lock file cannot be made)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_holder(path: Path) -> tuple[int | None, str]:
    """The PID and the rest of what the last holder wrote into the lock file (PID None if unreadable)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:500]
    except OSError:
        return None, ""
    first, _, rest = text.partition("\n")
    try:
        return int(first.strip()), rest.strip()
    except ValueError:
        return None, rest.strip()


class BuildLock:
    """``with BuildLock(root, "rerun"):`` -- raises ``BuildLocked`` at once when another run holds it."""

    def __init__(self, root: Path, command: str = "build"):
        self.path = Path(root) / LOCK_NAME
        self.command = command
        self._fd: int | None = None
        self.previous: int | None = None

    def acquire(self) -> "BuildLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise BuildLocked(f"the lock file {self.path} is a symbolic link; remove it") from None
            raise BuildLocked(f"cannot create the lock file {self.path}: {exc.strerror}; "
                              "make the book's folder writable for this user") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise BuildLocked(f"cannot lock {self.path}: {exc.strerror}") from None
            pid, what = read_holder(self.path)
            who = f"PID {pid}" if pid is not None else "a process"
            state = " (running)" if pid is not None and _alive(pid) else ""
            detail = f": {what.splitlines()[0]}" if what else ""
            kill = f", or stop it with `kill {pid}`" if pid is not None else ""
            raise BuildLocked(
                f"another build or rerun of this book is running ({who}{state}{detail}); "
                f"wait for it to finish and try again{kill}. Lock file: {self.path.name}"
            ) from None
        self.previous, _ = read_holder(self.path)
        if self.previous is not None and (self.previous == os.getpid() or _alive(self.previous)):
            self.previous = None
        started = dt.datetime.now().isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{self.command} started {started}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        except OSError:
            pass
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "BuildLock":
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
