"""A data folder as a whole: what it may hold, and copying it without following anything but regular files.

``data/`` is replaced as a whole by each build (``analysis.build.workflow``), so everything in it must
be a regular file; the store and the temporary files of a killed earlier run are the only entries
that are not carried over.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from analysis.data import store, validation


def _is_store_file(name: str) -> bool:
    return name == store.STORE_NAME or name.startswith(f"{store.STORE_NAME}.") or (
        name.startswith(f".{store.STORE_NAME}"))


def _is_leftover(name: str) -> bool:
    """Temporary files earlier versions of the book could leave in data/ when killed."""
    return name.startswith(".") and name.endswith((".part", ".tmp", ".wal"))


def problems(data_dir: Path) -> list[validation.Problem]:
    """``data/`` is replaced as a whole, so it may hold only regular files (everything in it is kept)."""
    found = validation.check_files(data_dir)
    named = {Path(p.file).name for p in found}
    try:
        entries = sorted(os.scandir(data_dir), key=lambda e: e.name)
    except OSError as exc:
        return [validation.Problem(validation.file_label(data_dir), None, None, f"cannot list the folder: {exc.strerror}")]
    for entry in entries:
        if entry.name in named or _is_store_file(entry.name) or _is_leftover(entry.name):
            continue
        info = os.lstat(entry.path)
        if not stat.S_ISREG(info.st_mode):
            found.append(validation.Problem(validation.file_label(Path(entry.path)), None, None,
                                          f"is {validation.file_kind(info.st_mode)}; data/ may hold only regular files "
                                          "(it is replaced as a whole by each build): move it elsewhere"))
    return found


def copy(src: Path, dst: Path) -> None:
    """Copy the regular files of ``src`` (not the store, not leftovers) into the new folder ``dst``,
    opening each without following links and refusing anything that is not a regular file."""
    dst.mkdir(parents=True)
    for entry in sorted(os.scandir(src), key=lambda e: e.name):
        if _is_store_file(entry.name) or _is_leftover(entry.name):
            continue
        fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise validation.ValidationError([validation.Problem(
                    validation.file_label(Path(entry.path)), None, None, "is not a regular file")])
            with os.fdopen(os.dup(fd), "rb") as source, open(dst / entry.name, "xb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
            os.utime(dst / entry.name, ns=(info.st_atime_ns, info.st_mtime_ns))
        finally:
            os.close(fd)
