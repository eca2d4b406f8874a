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
   (``html_build.render_html``), skipped when nothing it reads has changed.
6. **commit** -- the staged folders that differ from the live ones are exchanged with them.

The commit is a journal of folder exchanges (``analysis.build.journal``, which says why), so a run
killed at any point leaves either the old edition or one the next run completes; a commit that fails
with an error is rolled back. A failed step raises ``failures.BuildFailed`` (``failures.BuildRefused``
when it refused its input) with a message that names the user's own folders.
``INFERENCE_BOOK_FAULT=<point>`` kills a run at a named point, for the fault-injection tests
(``analysis.build.faults``).
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from analysis import paths
from analysis.build import analyses, bookstore, data_release, failures, faults, html_build, journal, limits, pipeline, texts
from analysis.build import parameters as params_mod
from analysis.build import rerun as rerun_mod
from analysis.build.lock import BuildLock
from analysis.data import datapackage, folder, store, validation

HTML_CACHE = paths.HTML_CACHE
HTML_DIR = paths.HTML
HTML_STAMP = ".book-inputs"
STEPS = ("check", "validate", "store", "chapters", "html", "commit")
Tables = dict[str, validation.LoadedTable]


@dataclass
class Outcome:
    """What a run did."""

    store_built: bool = False
    chapters: list[str] = field(default_factory=list)
    html_built: bool = False
    swapped: list[str] = field(default_factory=list)
    report: Any = None
    seconds: dict[str, float] = field(default_factory=dict)


def _link_or_copy(src: Path, dst: Path) -> None:
    """The current store in the staged data/: a hard link (the store is never written in place)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class _Run:
    """One run of ``build``, ``store`` or ``rerun``: its steps, the step it is in and what it did."""

    def __init__(self, root: Path, mode: str, incoming: Path | None, param_pairs: Sequence[str], force: bool,
                 html: bool, allow_contract_change: bool, echo: Callable[[str], None]):
        self.root, self.mode, self.incoming = root, mode, incoming
        self.pairs, self.force, self.html = list(param_pairs), force, html
        self.allow_contract_change, self.echo = allow_contract_change, echo
        self.next = root / journal.NEXT
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
            f"{journal.NEXT.as_posix()}/", "")

    def relocate(self, problems: Sequence[validation.Problem], origins: Mapping[str, Any] | None = None) -> list[validation.Problem]:

        staged = self.next / "data"
        return [rerun_mod.relocate(p, staged, origins or {}, self.root / paths.DATA) for p in problems]

    # ---- steps
    def check(self) -> dict[str, Any]:
        """The check step (see the module docstring); returns the checked chapter parameters."""
        root = self.root
        if not (root / paths.DATA).is_dir():
            raise failures.BuildRefused("check", f"{validation.file_label(root / 'data')} is not a folder of this book")
        params: dict[str, Any] = {}
        if self.mode != "store":
            notebooks = pipeline.chapter_notebooks(root) if (root / "_toc.yml").is_file() else []
            try:
                params = params_mod.check(self.pairs, notebooks, root)
                limits.cell_timeout()
                limits.html_timeout()
            except (params_mod.ParameterError, limits.LimitError) as exc:
                raise failures.BuildRefused("check", str(exc)) from None
        elif self.pairs:
            raise failures.BuildRefused("check", "the store command takes no chapter parameters")
        problems = folder.problems(root / paths.DATA)
        if problems:
            raise validation.ValidationError(problems)
        for path in (root, root / paths.DATA, root / paths.CHAPTERS, root / paths.BUILD, root / HTML_DIR):
            if path.exists() and not os.access(path, os.W_OK):
                label = validation.file_label(path)
                raise failures.BuildRefused("check", f"{label} is not writable by this user (permission denied); the build "
                                            f"replaces it as a whole: make it writable (chmod u+w {label}) or run "
                                            "as its owner")
        (root / paths.BUILD).mkdir(exist_ok=True)
        need = failures.space_needed(root, self.mode)
        free = shutil.disk_usage(root / paths.BUILD).free
        if free < need:
            raise failures.BuildFailed("check", "not enough free disk space: the new edition is staged beside the "
                                       f"current one and needs about {failures.mb(need)}; the disk holding {root} "
                                       f"has {failures.mb(free)} free. Free at least {failures.mb(need - free)} there "
                                       "and run again")
        return params

    def run(self) -> Outcome:
        """The steps in order (see the module docstring); returns early when everything is up to date."""
        params = self.check()
        faults.fault("after-check")
        self._step("validate")
        changes, origins, tables = self._validate()
        faults.fault("after-validate")
        self._step("store")
        staged_store = self._store(tables, origins, params)
        if staged_store is None:
            self._step("done")
            return self.outcome
        faults.fault("after-store")
        if self.mode == "store":
            self._step("commit")
            self.outcome.swapped = journal.commit(self.root, ["data"] if self.outcome.store_built else [], self.echo)
            self._step("done")
            return self.outcome
        self._step("chapters")
        self._chapters(staged_store, params, changes)
        faults.fault("after-chapters")
        self._step("html")
        if self.html:
            self._html()
        faults.fault("after-html")
        self._step("commit")
        self.outcome.swapped = journal.commit(self.root, self._changed_folders(), self.echo)
        self._step("done")
        return self.outcome

    def _validate(self) -> tuple[list[Any], dict[str, Any], Tables]:
        """The validate step: the data, merged with the rerun folder for a rerun. Returns the rerun's
        table changes, where each merged line came from (``rerun.relocate``) and the validated tables."""
        live_data = self.root / paths.DATA
        if self.mode != "rerun":
            return [], {}, validation.validate(live_data)
        assert self.incoming is not None
        changes, problems, origins, tables = rerun_mod.merge_with_origins(
            live_data, self.incoming, self.next / "data", allow_contract_change=self.allow_contract_change)
        if problems:
            raise validation.ValidationError(problems)
        for sidecar in sorted(self.incoming.glob("*.meta.yml")):
            diff = rerun_mod.contract_diff(live_data / sidecar.name, sidecar)
            if diff and (live_data / sidecar.name).exists():
                self.echo(f"contract changed (--allow-contract-change):\n{diff}")
        return changes, origins, tables

    def _store(self, tables: Tables, origins: Mapping[str, Any], params: Mapping[str, Any]) -> Path | None:
        """The store step: the staged data/ with its store, built unless its inputs are unchanged (then
        the current one is linked). Returns the staged store, or None when the whole edition is up to
        date (not for a rerun) and nothing is to be done."""
        live_store = self.root / paths.DATA / store.STORE_NAME
        digest = store.inputs_digest(tables, analyses.inputs_bytes(self.root))
        store_fresh = not self.force and live_store.exists() and store.built_from(live_store) == digest
        if self.mode != "rerun" and store_fresh and self._up_to_date(params):
            return None
        if self.mode != "rerun":
            tables, digest = self._stage_data(tables, digest, store_fresh)
        staged_store = self.next / "data" / store.STORE_NAME
        if store_fresh:
            if not staged_store.exists():
                _link_or_copy(live_store, staged_store)
            self.echo(f"store: up to date ({len(tables)} tables)")
        else:
            self._build_store(tables, staged_store, digest, origins)
        return staged_store

    def _stage_data(self, tables: Tables, digest: str, store_fresh: bool) -> tuple[Tables, str]:
        """The staged data/ of a build or store: a link to the live one when the store is fresh, else a
        copy validated where it lies. Returns its tables and their digest."""
        live_data, staged_data = self.root / paths.DATA, self.next / "data"
        if store_fresh:
            self.next.mkdir(parents=True, exist_ok=True)
            staged_data.symlink_to(Path("..") / ".." / "data")
            return tables, digest
        folder.copy(live_data, staged_data)
        try:
            tables = validation.validate(staged_data)
        except validation.ValidationError as exc:
            raise validation.ValidationError(self.relocate(exc.problems)) from None
        return tables, store.inputs_digest(tables, analyses.inputs_bytes(self.root))

    def _build_store(self, tables: Tables, staged_store: Path, digest: str, origins: Mapping[str, Any]) -> None:
        """The new store, with the analyses' derived tables, built in the staged data/."""
        try:
            bookstore.build_tables(tables, staged_store, root=self.root, digest=digest, echo=self.echo)
            datapackage.write(staged_store.parent)  # the descriptor follows the contracts it describes
        except validation.ValidationError as exc:
            raise validation.ValidationError(self.relocate(exc.problems, origins)) from None
        except (analyses.AnalysisFailed, pipeline.ChapterFailed) as exc:
            raise failures.BuildFailed("store", f"an analysis failed: {exc}") from None
        self.outcome.store_built = True
        rows = sum(t.rows for t in tables.values())
        live_store = self.root / paths.DATA / store.STORE_NAME
        self.echo(f"store: {validation.file_label(live_store)} ({len(tables)} tables, {rows} rows)")

    def _chapters(self, staged_store: Path, params: Mapping[str, Any], changes: list[Any]) -> None:
        """The chapters step: the book staged, its stale chapters executed against ``staged_store``, and
        the "What changed" page written (from the report, for a rerun)."""
        self._stage_book()
        for notebook in texts.sync_book(self.next):
            self.echo(f"chapters: {notebook.relative_to(self.next).as_posix()} takes its cells from "
                      f"{texts.text_path(notebook).relative_to(self.next).as_posix()}")
        before: dict[str, dict[str, str]] = {}
        if self.mode == "rerun":
            before = {nb.stem: rerun_mod.glued_values(nb) for nb in pipeline.chapter_notebooks(self.root)}
        try:
            ran = pipeline.run_stale(staged_store, params, root=self.next, force=self.force, echo=self.echo,
                                     after_each=lambda i: faults.fault(f"after-chapter-{i}"))
        except pipeline.ChapterFailed as exc:
            raise failures.BuildFailed("chapters", f"a chapter failed: {exc}") from None
        self.outcome.chapters = [p.stem for p in ran]
        if self.mode == "rerun":
            moved = _moved(before, ran)
            self.outcome.report = rerun_mod.RerunReport(changes, [p.stem for p in ran], moved, dict(params))
            rerun_mod.write_changes_page(self.outcome.report, self.next)
        elif not (self.next / "chapters" / rerun_mod.CHANGES_PAGE).exists():
            rerun_mod.write_changes_page(None, self.next)

    def _changed_folders(self) -> list[str]:
        """The staged folders (keys of ``journal.EDITION``) to exchange with the live ones."""
        live_data, staged_data = self.root / paths.DATA, self.next / "data"
        names = []
        if (staged_data.is_dir() and not staged_data.is_symlink()
                and journal.fingerprint(staged_data) != journal.fingerprint(live_data)):
            names.append("data")
        for name in ("chapters", "bibliography"):
            staged = self.next / journal.EDITION[name]
            if staged.is_dir() and journal.fingerprint(staged) != journal.fingerprint(self.root / journal.EDITION[name]):
                names.append(name)
        if (self.next / HTML_DIR).is_dir():
            names.append("html")
        return names

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
            if not stamp.is_file() or stamp.read_text() != html_build.html_inputs_hash(self.root):
                return False
        self.echo(f"store: up to date; chapters: all {len(plans)} up to date, none executed"
                  + ("; html: up to date" if self.html else ""))
        return True

    def _stage_book(self) -> None:
        """The rest of the book beside the staged data: chapters (to run) and what the HTML build reads."""
        from analysis.book import figures

        figures.write_vega_bundle(self.root / "_static")
        for name in (*html_build.HTML_SOURCES, "chapters", html_build.BIB_DIR):
            src, dst = self.root / name, self.next / name
            if src.is_dir():
                shutil.copytree(src, dst, symlinks=True)
            elif src.is_file():
                shutil.copy2(src, dst)

    def _html(self) -> None:
        from analysis.book import bibliography

        bibliography.write_bib(self.next / "data" / store.STORE_NAME,
                               self.next / html_build.BIB_DIR / bibliography.BIB_NAME)
        digest = html_build.html_inputs_hash(self.next)
        stamp = self.root / HTML_DIR / HTML_STAMP
        if not self.force and stamp.is_file() and stamp.read_text() == digest:
            self.echo("html: up to date, not rebuilt")
            return
        out = self.next / HTML_DIR
        try:
            html_build.render_html(self.next, out, self.root / HTML_CACHE, echo=self.echo)
        except html_build.HtmlFailed as exc:
            shutil.rmtree(self.root / HTML_CACHE, ignore_errors=True)
            text = str(exc)
            if "No space left on device" in text:
                raise OSError(errno.ENOSPC, "No space left on device", str(self.root / HTML_CACHE)) from None
            raise failures.BuildFailed("html", self.unstage(text)) from None
        except (ValueError, data_release.ReleaseError) as exc:
            raise failures.BuildFailed("html", self.unstage(str(exc))) from None
        (out / HTML_STAMP).write_text(digest)
        self.outcome.html_built = True
        self.echo("html: built into _build/html")


def _moved(before: Mapping[str, Mapping[str, str]], ran: Sequence[Path]) -> list[dict[str, str]]:
    """Each glued value that changed in the chapters that ran, with its text before and after ("–" for none)."""
    moved = []
    for nb in ran:
        after = rerun_mod.glued_values(nb)
        for name in sorted(set(before.get(nb.stem, {})) | set(after)):
            old, new = before.get(nb.stem, {}).get(name), after.get(name)
            if old != new:
                moved.append({"chapter": nb.stem, "name": name, "before": old or "–", "after": new or "–"})
    return moved


def run(root: Path, mode: str = "build", *, incoming: Path | None = None, param_pairs: Sequence[str] = (),
        force: bool = False, html: bool = True, allow_contract_change: bool = False,
        echo: Callable[[str], None] = print) -> Outcome:
    """``build`` (validate, store, stale chapters, HTML), ``store`` (validate and store only) or ``rerun``
    (merge ``incoming`` first) as one transaction; see the module docstring. Raises ``BuildFailed``
    (``BuildRefused``), ``validation.ValidationError`` or ``lock.BuildLocked``, each an
    ``analysis.errors.BookError`` with its exit status; in every case nothing the reader sees changed."""
    if mode not in ("build", "store", "rerun"):
        raise ValueError(f"unknown mode {mode!r}")
    root = Path(root).resolve()
    with BuildLock(root, mode) as held:
        if held.previous is not None:
            echo(f"note: the lock was left by PID {held.previous}, which is no longer running; "
                 "the system released it")
        journal.recover(root, echo)
        work = _Run(root, mode, incoming, param_pairs, force, html, allow_contract_change, echo)
        try:
            return work.run()
        except OSError as exc:
            if isinstance(exc, TimeoutError) and exc.errno is None:
                raise failures.BuildFailed(work.step, str(exc)) from None
            raise failures.os_error(exc, work) from None
        except duckdb.Error as exc:
            raise failures.duckdb_error(exc, work) from None
        finally:
            if not (root / journal.JOURNAL).exists():
                shutil.rmtree(root / journal.NEXT, ignore_errors=True)


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
