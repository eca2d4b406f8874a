"""The commands that validate, build and rerun the book, write the Data Package descriptor, import
releases and print the PDF.

``build``, ``store`` and ``rerun`` are one transaction each (``analysis.build.workflow``); the
Makefile passes ``DATA`` and ``PARAMS`` to them in the environment (``INFERENCE_BOOK_DATA``,
``INFERENCE_BOOK_PARAMS``), never through a shell. Each ``cmd_*`` takes the parsed arguments and
returns the exit status, or raises the ``analysis.errors.BookError`` that ``exits.report`` turns
into one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path
from typing import Any

from analysis.cli import exits
from analysis.data import store, validation
from analysis.errors import InputError

DATA_ENV = "INFERENCE_BOOK_DATA"
PARAMS_ENV = "INFERENCE_BOOK_PARAMS"


def cmd_validate(args: argparse.Namespace) -> int:
    tables = validation.validate(Path(args.data))
    rows = sum(t.rows for t in tables.values())
    print(f"data ok: {len(tables)} tables, {rows} rows")
    return 0


def cmd_datapackage(args: argparse.Namespace) -> int:
    """Write the Data Package descriptor of the data folder from its sidecars (``--check``: only say
    whether the written one is missing or out of date, exit 1 if so)."""
    from analysis.data import datapackage

    data_dir = Path(args.data)
    path = data_dir / datapackage.DESCRIPTOR_NAME
    if args.check:
        if datapackage.drifted(data_dir):
            print(f"{validation.file_label(path)} is missing or differs from the sidecars: run `make datapackage`")
            return 1
        print(f"{validation.file_label(path)} is up to date")
        return 0
    datapackage.write(data_dir)
    count = len(datapackage.schemas(data_dir))
    print(f"wrote {validation.file_label(path)} ({count} tables)")
    return 0


def _transaction(mode: str, args: argparse.Namespace, **kw: Any) -> int:
    """Run ``analysis.build.workflow`` and turn its failures into one message and an exit status."""
    from analysis.build import failures, workflow

    try:
        outcome = workflow.run(Path(args.root), mode, **kw)
    except validation.ValidationError as exc:
        return exits.report(exc, exc.report().replace("the store was not changed", "nothing was changed"))
    except failures.BuildFailed as exc:
        return exits.report(exc, f"error: {exc.step} step failed: {exc.message}\nnothing was changed: data/, the "
                                 "store, the chapters and _build/html are as they were before this run")
    if mode == "rerun":
        print(rerun_json(outcome.report) if args.json else outcome.report.text())
    return 0


def _pairs(args: argparse.Namespace) -> list[str]:
    from analysis.build.parameters import split_env

    return [*split_env(os.environ.get(PARAMS_ENV, "")), *args.param]


def cmd_store(args: argparse.Namespace) -> int:
    if args.data is None and args.store is None:
        return _transaction("store", args, force=args.force)
    from analysis.build import analyses, bookstore

    data_dir = Path(args.data) if args.data else Path(args.root) / "data"
    out = Path(args.store) if args.store else data_dir / store.STORE_NAME
    if out.resolve().parent == (Path(args.root) / "data").resolve():
        raise InputError("to rebuild the book's own store run `python -m analysis store` without --data/--store "
                         "(it takes the build lock and replaces data/ as a whole)")
    try:
        tables = validation.validate(data_dir)
        bookstore.build_tables(tables, out, root=Path(args.root))
    except analyses.AnalysisFailed as exc:
        return exits.report(exc, f"error: an analysis failed, {out} was not changed: {exc}")
    rows = sum(t.rows for t in tables.values())
    print(f"store built: {out} ({len(tables)} tables, {rows} rows)")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    if args.data is not None and Path(args.data).resolve() != (Path(args.root) / "data").resolve():
        raise InputError("build reads the book's own data/ folder; to add data use `rerun --data FOLDER`")
    return _transaction("build", args, param_pairs=_pairs(args), force=args.force, html=not args.no_html)


def cmd_rerun(args: argparse.Namespace) -> int:
    data = args.data if args.data is not None else os.environ.get(DATA_ENV, "")
    if not data:
        raise InputError("usage: make rerun DATA=folder-of-table-files [PARAMS=\"as_of=2027-01-01\"] "
                         "(or python -m analysis rerun --data FOLDER)")
    return _transaction("rerun", args, incoming=Path(data), param_pairs=_pairs(args), html=not args.no_html,
                        allow_contract_change=args.allow_contract_change)


def rerun_json(report: Any) -> str:
    from analysis.build import rerun

    return rerun.report_json(report)


def cmd_texts(args: argparse.Namespace) -> int:
    from analysis.build import pipeline, texts

    root = Path(args.root)
    if args.write:
        for notebook in pipeline.chapter_notebooks(root):
            print(f"wrote {texts.write_text(notebook).relative_to(root)}")
        return 0
    drifted = texts.drifted_chapters(root)
    for notebook in drifted:
        print(f"{notebook.relative_to(root)} differs from {texts.text_path(notebook).relative_to(root)}: "
              "the text is the source; `make book` gives the notebook its cells")
    return 1 if drifted else 0


def cmd_cite(args: argparse.Namespace) -> int:
    from analysis.book import cite_page

    root = Path(args.root)
    if args.write:
        print(f"wrote {cite_page.write_page(root).relative_to(root)}")
        return 0
    if cite_page.page_is_current(root):
        return 0
    print(f"{cite_page.PAGE} differs from what CITATION.cff gives: `python -m analysis cite --write` writes it")
    return 1


def cmd_pdf(args: argparse.Namespace) -> int:
    from analysis.build import publish

    try:
        path = publish.build_pdf(Path(args.root).resolve())
    except publish.PdfFailed:
        raise
    except RuntimeError as exc:  # from the server or the browser that prints the page
        raise publish.PdfFailed(str(exc)) from None
    print(f"pdf: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from analysis import importers

    data_dir = Path(args.root) / "data"
    try:
        if args.format == "book":
            if len(args.files) != 1:
                raise InputError("import book takes one argument: the folder of raw releases (such as ../shared/raw)")
            results = importers.import_book(Path(args.files[0]), data_dir)
        else:
            missing = [name for name in ("source_id", "repository", "commit", "path") if not getattr(args, name)]
            if args.format == "litellm" and args.date is None:
                missing.append("date")
            if missing:
                raise InputError("import " + args.format + " needs " + ", ".join("--" + m.replace("_", "-") for m in missing)
                                 + ": every row cites the release (repository, commit and path) it came from")
            if len(args.files) != 1:
                raise InputError("import takes one release file per run (each release is its own source)")
            release = importers.release_for(args.format, source_id=args.source_id, repository=args.repository,
                                            commit=args.commit, path=args.path, published=args.published,
                                            title=args.title, producer=args.producer, licence=args.licence,
                                            accessed=dt.date.today())
            results = [importers.import_file(Path(args.files[0]), release, data_dir, snapshot_date=args.date)]
        counts = importers.write_folder(results, Path(args.out), data_dir)
    except (importers.ReleaseError, ValueError, FileExistsError, OSError) as exc:
        raise InputError(str(exc)) from None
    for result in results:
        print(result.report())
    print(f"wrote {args.out}: " + ", ".join(f"{t} {n} rows" for t, n in sorted(counts.items())))
    print(f"next: make rerun DATA={args.out}")
    return 0
