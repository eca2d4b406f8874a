"""The one build sequence of the book: ``build``, ``store`` and ``rerun`` are all this transaction.

A run takes the build lock (``analysis.build.lock``), finishes or discards whatever an earlier run left
(``recover``), and then goes through these steps; nothing the reader sees (``data/`` with its store,
``chapters/``, ``_bibliography/``, ``_build/html``) changes before the last one:

1. **check** -- the parameters (``analysis.build.parameters``: names declared by the chapters, typed, in
   range), the time limits (``analysis.build.limits``), the data folder and the rerun folder as files
   (``validation.check_files``: regular files only, names, sizes, no NUL), that the folders to be replaced
   are writable, and that the disk has room for a staged copy of the edition.
2. **validate** -- the data (merged with the rerun folder, for a rerun) is copied into the staging
   folder ``_build/.next/`` and validated there; every problem names the user's own file, line and
   column (the rerun file a merged row came from, or ``data/...``), never the staging copy.
3. **store** -- the new store, with the analyses' derived tables, is built inside the staged
   ``data/`` (skipped when its inputs are unchanged: the current store is linked instead).
4. **chapters** -- the stale chapters are executed by papermill in the staged ``chapters/`` against
   the staged store; the "What changed" and status pages are written there too.
5. **html** -- the bibliography is written and the HTML built from the staged book
   (``pipeline.render_html``), skipped when nothing it reads has changed.
6. **commit** -- the staged folders that differ from the live ones are exchanged with them.

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
any command, makes them one edition again before doing anything else. A commit that fails with an
error (not a kill) is undone at once (*roll back*) and reported.

``INFERENCE_BOOK_FAULT=<point>`` makes a run kill itself with SIGKILL at that point, for the
fault-injection tests: ``after-check``, ``after-validate``, ``after-store``, ``after-chapter-<n>``,
``after-chapters``, ``after-html``, ``after-journal``, ``after-swap-<folder>`` (``data``,
``chapters``, ``bibliography``, ``html``) and ``after-swap-done``.
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from analysis import paths
from analysis.build import analyses, bookstore, limits, pipeline, texts
from analysis.build import parameters as params_mod
from analysis.build import rerun as rerun_mod
from analysis.build.lock import BuildLock
from analysis.data import folder, store, validation

NEXT = paths.NEXT
JOURNAL = paths.JOURNAL
HTML_CACHE = paths.HTML_CACHE
HTML_DIR = paths.HTML
HTML_STAMP = ".book-inputs"
FAULT_ENV = "INFERENCE_BOOK_FAULT"
EDITION = {"data": paths.DATA, "chapters": paths.CHAPTERS, "bibliography": Path(pipeline.BIB_DIR),
           "html": HTML_DIR}
STEPS = ("check", "validate", "store", "chapters", "html", "commit")
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
PERMISSION_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)
RENAME_EXCHANGE = 2
SPACE_MARGIN = 1.2


class BuildFailed(Exception):
    """A step failed; nothing the reader sees was changed. ``code`` is the exit status to use."""

    def __init__(self, step: str, message: str, code: int = 1):
        self.step, self.message, self.code = step, message, code
        super().__init__(f"{step} failed: {message}")


@dataclass
class Outcome:
    """What a run did."""

    store_built: bool = False
    chapters: list[str] = field(default_factory=list)
    html_built: bool = False
    swapped: list[str] = field(default_factory=list)
    report: Any = None
    seconds: dict[str, float] = field(default_factory=dict)


def fault(point: str) -> None:
    """Kill this process with SIGKILL when ``INFERENCE_BOOK_FAULT`` names ``point`` (tests only)."""
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


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


def folder_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def _link_or_copy(src: Path, dst: Path) -> None:
    """The current store in the staged data/: a hard link (the store is never written in place)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


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


# ------------------------------------------------------------------ the run

def space_needed(root: Path, mode: str = "build") -> int:
    """Bytes a staged edition needs at most: a copy of data/, chapters/ and _build/html, and the
    HTML build's cache when it does not exist yet (for ``store``, a copy of data/ only)."""
    if mode == "store":
        return int(SPACE_MARGIN * folder_bytes(root / paths.DATA))
    html = folder_bytes(root / HTML_DIR)
    cache = 0 if (root / HTML_CACHE).is_dir() else html
    return int(SPACE_MARGIN * (folder_bytes(root / paths.DATA) + folder_bytes(root / paths.CHAPTERS) + html + cache))


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e6:.1f} MB"


class _Run:
    def __init__(self, root: Path, mode: str, incoming: Path | None, param_pairs: Sequence[str], force: bool,
                 html: bool, allow_contract_change: bool, echo: Callable[[str], None]):
        self.root, self.mode, self.incoming = root, mode, incoming
        self.pairs, self.force, self.html = list(param_pairs), force, html
        self.allow_contract_change, self.echo = allow_contract_change, echo
        self.next = root / NEXT
        self.step = "check"
        self.outcome = Outcome()
        self._mark = time.perf_counter()

    # ---- helpers
    def _step(self, name: str) -> None:
        now = time.perf_counter()
        self.outcome.seconds[self.step] = self.outcome.seconds.get(self.step, 0.0) + now - self._mark
        self._mark = now
        self.step = name

    def unstage(self, text: str) -> str:
        """Messages name the user's folders, never the staging copy."""
        return text.replace(str(self.next) + os.sep, str(self.root) + os.sep).replace(
            f"{NEXT.as_posix()}/", "")

    def relocate(self, problems: Sequence[validation.Problem], origins: Mapping[str, Any] | None = None) -> list[validation.Problem]:

        staged = self.next / "data"
        return [rerun_mod.relocate(p, staged, origins or {}, self.root / paths.DATA) for p in problems]

    # ---- steps
    def check(self) -> dict[str, Any]:
        root = self.root
        if not (root / paths.DATA).is_dir():
            raise BuildFailed("check", f"{validation.file_label(root / 'data')} is not a folder of this book", 2)
        params: dict[str, Any] = {}
        if self.mode != "store":
            notebooks = pipeline.chapter_notebooks(root) if (root / "_toc.yml").is_file() else []
            try:
                params = params_mod.check(self.pairs, notebooks, root)
                limits.cell_timeout()
                limits.html_timeout()
            except (params_mod.ParameterError, limits.LimitError) as exc:
                raise BuildFailed("check", str(exc), 2) from None
        elif self.pairs:
            raise BuildFailed("check", "the store command takes no chapter parameters", 2)
        problems = folder.problems(root / paths.DATA)
        if problems:
            raise validation.ValidationError(problems)
        for path in (root, root / paths.DATA, root / paths.CHAPTERS, root / paths.BUILD, root / HTML_DIR):
            if path.exists() and not os.access(path, os.W_OK):
                raise BuildFailed("check", f"{validation.file_label(path)} is not writable by this user (permission denied); "
                                           "the build replaces it as a whole: make it writable "
                                           f"(chmod u+w {validation.file_label(path)}) or run as its owner", 2)
        (root / paths.BUILD).mkdir(exist_ok=True)
        need = space_needed(root, self.mode)
        free = shutil.disk_usage(root / paths.BUILD).free
        if free < need:
            raise BuildFailed("check", f"not enough free disk space: the new edition is staged beside the current "
                                       f"one and needs about {_mb(need)}; the disk holding {root} has {_mb(free)} free. "
                                       f"Free at least {_mb(need - free)} there and run again", 1)
        return params

    def run(self) -> Outcome:
        params = self.check()
        fault("after-check")
        self._step("validate")
        origins: dict[str, Any] = {}
        live_data = self.root / paths.DATA
        live_store = live_data / store.STORE_NAME
        changes: list[Any] = []
        if self.mode == "rerun":

            assert self.incoming is not None
            changes, problems, origins, tables = rerun_mod.merge_with_origins(
                live_data, self.incoming, self.next / "data", allow_contract_change=self.allow_contract_change)
            if problems:
                raise validation.ValidationError(problems)
            for sidecar in sorted(self.incoming.glob("*.meta.yml")):
                diff = rerun_mod.contract_diff(live_data / sidecar.name, sidecar)
                if diff and (live_data / sidecar.name).exists():
                    self.echo(f"contract changed (--allow-contract-change):\n{diff}")
        else:
            tables = validation.validate(live_data)
        fault("after-validate")
        self._step("store")
        digest = store.inputs_digest(tables, analyses.inputs_bytes(self.root))
        store_fresh = not self.force and live_store.exists() and store.built_from(live_store) == digest
        if self.mode != "rerun" and store_fresh and self._up_to_date(params):
            self._step("done")
            return self.outcome
        staged_data = self.next / "data"
        if self.mode != "rerun":
            if store_fresh:
                self.next.mkdir(parents=True, exist_ok=True)
                staged_data.symlink_to(Path("..") / ".." / "data")
            else:
                folder.copy(live_data, staged_data)
                try:
                    tables = validation.validate(staged_data)
                except validation.ValidationError as exc:
                    raise validation.ValidationError(self.relocate(exc.problems)) from None
                digest = store.inputs_digest(tables, analyses.inputs_bytes(self.root))
        staged_store = staged_data / store.STORE_NAME
        if store_fresh:
            if not staged_store.exists():
                _link_or_copy(live_store, staged_store)
            self.echo(f"store: up to date ({len(tables)} tables)")
        else:
            try:
                bookstore.build_tables(tables, staged_store, root=self.root, digest=digest, echo=self.echo)
            except validation.ValidationError as exc:
                raise validation.ValidationError(self.relocate(exc.problems, origins)) from None
            except (analyses.AnalysisFailed, pipeline.ChapterFailed) as exc:
                raise BuildFailed("store", f"an analysis failed: {exc}") from None
            self.outcome.store_built = True
            rows = sum(len(t.frame) for t in tables.values())
            self.echo(f"store: {validation.file_label(live_store)} ({len(tables)} tables, {rows} rows)")
        fault("after-store")
        if self.mode == "store":
            self._step("commit")
            self.outcome.swapped = commit(self.root, ["data"] if self.outcome.store_built else [], self.echo)
            self._step("done")
            return self.outcome
        self._step("chapters")
        self._stage_book()
        for notebook in texts.sync_book(self.next):
            self.echo(f"chapters: {notebook.relative_to(self.next).as_posix()} takes its cells from "
                      f"{texts.text_path(notebook).relative_to(self.next).as_posix()}")
        before = {}
        if self.mode == "rerun":

            before = {nb.stem: rerun_mod.glued_values(nb) for nb in pipeline.chapter_notebooks(self.root)}
        try:
            ran = pipeline.run_stale(staged_store, params, root=self.next, force=self.force, echo=self.echo,
                                     after_each=lambda i: fault(f"after-chapter-{i}"))
        except pipeline.ChapterFailed as exc:
            raise BuildFailed("chapters", f"a chapter failed: {exc}") from None
        self.outcome.chapters = [p.stem for p in ran]

        if self.mode == "rerun":
            moved = []
            for nb in ran:
                after = rerun_mod.glued_values(nb)
                for name in sorted(set(before.get(nb.stem, {})) | set(after)):
                    old, new = before.get(nb.stem, {}).get(name), after.get(name)
                    if old != new:
                        moved.append({"chapter": nb.stem, "name": name, "before": old or "–", "after": new or "–"})
            self.outcome.report = rerun_mod.RerunReport(changes, [p.stem for p in ran], moved, dict(params))
            rerun_mod.write_changes_page(self.outcome.report, self.next)
        elif not (self.next / "chapters" / rerun_mod.CHANGES_PAGE).exists():
            rerun_mod.write_changes_page(None, self.next)
        fault("after-chapters")
        self._step("html")
        if self.html:
            self._html()
        fault("after-html")
        self._step("commit")
        names = []
        if staged_data.is_dir() and not staged_data.is_symlink() and fingerprint(staged_data) != fingerprint(live_data):
            names.append("data")
        for name in ("chapters", "bibliography"):
            staged = self.next / EDITION[name]
            if staged.is_dir() and fingerprint(staged) != fingerprint(self.root / EDITION[name]):
                names.append(name)
        if (self.next / HTML_DIR).is_dir():
            names.append("html")
        self.outcome.swapped = commit(self.root, names, self.echo)
        self._step("done")
        return self.outcome

    def _up_to_date(self, params: Mapping[str, Any]) -> bool:
        """Nothing to do: store, chapters and (unless skipped) the HTML are all current."""
        from analysis.book import figures

        live_store = self.root / paths.DATA / store.STORE_NAME
        if self.mode == "store":
            self.echo("store: up to date")
            return True
        if texts.drifted_chapters(self.root):
            return False
        plans = pipeline.plan(live_store, params, root=self.root, force=self.force)
        if any(p.stale for p in plans) or not (self.root / paths.CHAPTERS / rerun_mod.CHANGES_PAGE).exists():
            return False
        if self.html:
            figures.write_vega_bundle(self.root / "_static")
            stamp = self.root / HTML_DIR / HTML_STAMP
            if not stamp.is_file() or stamp.read_text() != pipeline.html_inputs_hash(self.root):
                return False
        self.echo(f"store: up to date; chapters: all {len(plans)} up to date, none executed"
                  + ("; html: up to date" if self.html else ""))
        return True

    def _stage_book(self) -> None:
        """The rest of the book beside the staged data: chapters (to run) and what the HTML build reads."""
        from analysis.book import figures

        figures.write_vega_bundle(self.root / "_static")
        for name in (*pipeline.HTML_SOURCES, "chapters", pipeline.BIB_DIR):
            src, dst = self.root / name, self.next / name
            if src.is_dir():
                shutil.copytree(src, dst, symlinks=True)
            elif src.is_file():
                shutil.copy2(src, dst)

    def _html(self) -> None:
        from analysis.book import bibliography

        bibliography.write_bib(self.next / "data" / store.STORE_NAME,
                               self.next / pipeline.BIB_DIR / bibliography.BIB_NAME)
        digest = pipeline.html_inputs_hash(self.next)
        stamp = self.root / HTML_DIR / HTML_STAMP
        if not self.force and stamp.is_file() and stamp.read_text() == digest:
            self.echo("html: up to date, not rebuilt")
            return
        out = self.next / HTML_DIR
        try:
            pipeline.render_html(self.next, out, self.root / HTML_CACHE, echo=self.echo)
        except pipeline.HtmlFailed as exc:
            shutil.rmtree(self.root / HTML_CACHE, ignore_errors=True)
            text = str(exc)
            if "No space left on device" in text:
                raise OSError(errno.ENOSPC, "No space left on device", str(self.root / HTML_CACHE)) from None
            raise BuildFailed("html", self.unstage(text)) from None
        except ValueError as exc:
            raise BuildFailed("html", self.unstage(str(exc))) from None
        (out / HTML_STAMP).write_text(digest)
        self.outcome.html_built = True
        self.echo("html: built into _build/html")


def _copy_error(exc: shutil.Error, run: _Run) -> BuildFailed:
    """``shutil.copytree`` gathers every file's error into one list: report the first, by its errno."""
    found = [entry for entry in (exc.args[0] if exc.args and isinstance(exc.args[0], list) else [])
             if isinstance(entry, tuple) and len(entry) == 3]
    for code in (*DISK_ERRNOS, errno.EFBIG, *PERMISSION_ERRNOS):
        for _, dst, why in found:
            if f"[Errno {code}]" in str(why):
                return _os_error(OSError(code, os.strerror(code), str(dst)), run)
    first = str(found[0][2]) if found else str(exc)
    return BuildFailed(run.step, run.unstage(first[:500]))


def _os_error(exc: OSError, run: _Run) -> BuildFailed:
    if isinstance(exc, shutil.Error):
        return _copy_error(exc, run)
    where = run.unstage(str(exc.filename)) if exc.filename else str(run.root)
    if exc.errno in DISK_ERRNOS:
        need = space_needed(run.root, run.mode)
        return BuildFailed(run.step, f"no space left on the disk ({where}) while the {run.step} step was writing. "
                                     f"The new edition is staged beside the current one and needs about {_mb(need)}: "
                                     f"free at least that much on the disk holding {run.root} and run again")
    if exc.errno == errno.EFBIG:
        return BuildFailed(run.step, f"a file grew past this process's file-size limit (`ulimit -f`) while the "
                                     f"{run.step} step was writing {where}; raise the limit and run again")
    if exc.errno in PERMISSION_ERRNOS:
        return BuildFailed(run.step, f"permission denied: {where} ({exc.strerror}). Make it (and its folder) "
                                     "writable by this user, or run as its owner, and run again", 2)
    return BuildFailed(run.step, f"{exc.strerror or exc} ({where})")


def _duckdb_error(exc: duckdb.Error, run: _Run) -> BuildFailed:
    text = str(exc)
    if "No space left on device" in text:
        return _os_error(OSError(errno.ENOSPC, "No space left on device", str(run.root / paths.DATA)), run)
    if "File too large" in text:
        return _os_error(OSError(errno.EFBIG, "File too large", str(run.root / paths.DATA)), run)
    return BuildFailed(run.step, run.unstage(text.splitlines()[0] if text else type(exc).__name__))


def run(root: Path, mode: str = "build", *, incoming: Path | None = None, param_pairs: Sequence[str] = (),
        force: bool = False, html: bool = True, allow_contract_change: bool = False,
        echo: Callable[[str], None] = print) -> Outcome:
    """``build`` (validate, store, stale chapters, HTML), ``store`` (validate and store only) or ``rerun``
    (merge ``incoming`` first) as one transaction; see the module docstring. Raises ``BuildFailed``,
    ``validation.ValidationError`` or ``lock.BuildLocked``; in every case nothing the reader sees changed."""
    if mode not in ("build", "store", "rerun"):
        raise ValueError(f"unknown mode {mode!r}")
    root = Path(root).resolve()
    with BuildLock(root, mode) as held:
        if held.previous is not None:
            echo(f"note: the lock was left by PID {held.previous}, which is no longer running; "
                 "the system released it")
        recover(root, echo)
        work = _Run(root, mode, incoming, param_pairs, force, html, allow_contract_change, echo)
        try:
            return work.run()
        except OSError as exc:
            if isinstance(exc, TimeoutError) and exc.errno is None:
                raise BuildFailed(work.step, str(exc)) from None
            raise _os_error(exc, work) from None
        except duckdb.Error as exc:
            raise _duckdb_error(exc, work) from None
        finally:
            if not (root / JOURNAL).exists():
                shutil.rmtree(root / NEXT, ignore_errors=True)


def rerun(root: Path, incoming: Path, *, parameters: Mapping[str, str] | Sequence[str] | None = None,
          echo: Callable[[str], None] = print, html: bool = True,
          allow_contract_change: bool = False) -> rerun_mod.RerunReport:
    """Merge ``incoming`` into ``root/data`` and rebuild what changed, as one transaction
    (``analysis.build.workflow``); ``parameters`` are ``NAME=VALUE`` pairs (or a mapping of them)."""
    if isinstance(parameters, Mapping):
        pairs = [f"{k}={v}" for k, v in parameters.items()]
    else:
        pairs = list(parameters or [])
    outcome = run(root, "rerun", incoming=incoming, param_pairs=pairs, html=html,
                           allow_contract_change=allow_contract_change, echo=echo)
    return outcome.report
