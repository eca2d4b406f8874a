"""The commands users type: ``python -m analysis <command>``.

Every command prints a one-line error and exits non-zero on bad input; no traceback reaches the
user for a mistake in the data or the arguments. ``build``, ``store`` and ``rerun`` are one
transaction each (``analysis.build.workflow``); the Makefile passes ``DATA`` and ``PARAMS`` to them in the
environment (``INFERENCE_BOOK_DATA``, ``INFERENCE_BOOK_PARAMS``), never through a shell.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from analysis.data import reader, store, validation
from analysis.data.safety import quote_ident

ROOT = validation.DEFAULT_DATA_DIR.parent
EXIT_BAD_DATA = 2
EXIT_BAD_INPUT = 2
EXIT_LOCKED = 3
DATA_ENV = "INFERENCE_BOOK_DATA"
PARAMS_ENV = "INFERENCE_BOOK_PARAMS"
ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_HOURLY_USD = 1e6


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _cmd_validate(args: argparse.Namespace) -> int:
    try:
        tables = validation.validate(Path(args.data))
    except validation.ValidationError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_BAD_DATA
    rows = sum(len(t.frame) for t in tables.values())
    print(f"data ok: {len(tables)} tables, {rows} rows")
    return 0


def _transaction(mode: str, args: argparse.Namespace, **kw: Any) -> int:
    """Run ``analysis.build.workflow`` and turn its failures into one message and an exit status."""
    from analysis.build import workflow
    from analysis.build.lock import BuildLocked

    try:
        outcome = workflow.run(Path(args.root), mode, **kw)
    except BuildLocked as exc:
        return _fail(str(exc), EXIT_LOCKED)
    except validation.ValidationError as exc:
        print(exc.report().replace("the store was not changed", "nothing was changed"), file=sys.stderr)
        return EXIT_BAD_DATA
    except workflow.BuildFailed as exc:
        return _fail(f"{exc.step} step failed: {exc.message}\nnothing was changed: data/, the store, the "
                     "chapters and _build/html are as they were before this run", exc.code)
    if mode == "rerun":
        print(rerun_json(outcome.report) if args.json else outcome.report.text())
    return 0


def _pairs(args: argparse.Namespace) -> list[str]:
    from analysis.build.parameters import split_env

    return [*split_env(os.environ.get(PARAMS_ENV, "")), *args.param]


def _cmd_store(args: argparse.Namespace) -> int:
    if args.data is None and args.store is None:
        return _transaction("store", args, force=args.force)
    from analysis.build import analyses, bookstore

    data_dir = Path(args.data) if args.data else Path(args.root) / "data"
    out = Path(args.store) if args.store else data_dir / store.STORE_NAME
    if out.resolve().parent == (Path(args.root) / "data").resolve():
        return _fail("to rebuild the book's own store run `python -m analysis store` without --data/--store "
                     "(it takes the build lock and replaces data/ as a whole)")
    try:
        tables = validation.validate(data_dir)
        bookstore.build_tables(tables, out, root=Path(args.root))
    except validation.ValidationError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_BAD_DATA
    except analyses.AnalysisFailed as exc:
        return _fail(f"an analysis failed, {out} was not changed: {exc}", 1)
    rows = sum(len(t.frame) for t in tables.values())
    print(f"store built: {out} ({len(tables)} tables, {rows} rows)")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    if args.data is not None and Path(args.data).resolve() != (Path(args.root) / "data").resolve():
        return _fail("build reads the book's own data/ folder; to add data use `rerun --data FOLDER`")
    return _transaction("build", args, param_pairs=_pairs(args), force=args.force, html=not args.no_html)


def _cmd_rerun(args: argparse.Namespace) -> int:
    data = args.data if args.data is not None else os.environ.get(DATA_ENV, "")
    if not data:
        return _fail("usage: make rerun DATA=folder-of-table-files [PARAMS=\"as_of=2027-01-01\"] "
                     "(or python -m analysis rerun --data FOLDER)")
    return _transaction("rerun", args, incoming=Path(data), param_pairs=_pairs(args), html=not args.no_html,
                        allow_contract_change=args.allow_contract_change)


def rerun_json(report: Any) -> str:
    from analysis.build import rerun

    return rerun.report_json(report)


def _open(args: argparse.Namespace) -> reader.StoreReader:
    path = Path(args.store) if args.store else validation.DEFAULT_DATA_DIR / store.STORE_NAME
    if not path.exists():
        raise ValueError(f"no store at {path}; build it with `make store`")
    return reader.open_store(path)


def _row(db: reader.StoreReader, table: str, slug: str) -> dict[str, object]:
    frame = db.sql(f"SELECT * FROM {quote_ident(table)} WHERE slug = ?", [slug])
    if frame.empty:
        known = ", ".join(db.sql(f"SELECT slug FROM {quote_ident(table)} ORDER BY slug")["slug"])
        raise ValueError(f"unknown {table[:-1]} {slug!r}; known: {known}")
    return frame.iloc[0].to_dict()


def _batch(text: str) -> int | str:
    if text.strip().lower() == "max":
        return "max"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'max', got {text!r}") from None


def _finite(value: object) -> object:
    """JSON and text output never carry infinities or NaN: they are refused before printing."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("the result is not a finite number (a value is too large or too small for this "
                         "calculation); check the inputs")
    return value


def _print(result: dict[str, object], as_json: bool) -> None:
    for value in result.values():
        _finite(value)
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True, default=str, allow_nan=False))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        shown = f"{value:,.4g}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")


def _number(low: float, high: float, *, low_open: bool = True) -> Any:
    """An argparse type: a finite decimal number in (low, high] (or [low, high])."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        inside = (value > low if low_open else value >= low) and value <= high
        if not math.isfinite(value) or not inside:
            bracket = "(" if low_open else "["
            raise argparse.ArgumentTypeError(f"expected a finite number in {bracket}{low:g}, {high:g}], got {text!r}")
        return value
    return parse


def _iso_date(text: str) -> dt.date:
    try:
        if not ISO_DATE_RE.fullmatch(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _roofline(args: argparse.Namespace, db: reader.StoreReader) -> object:
    from analysis.models.roofline_point import roofline_point

    chip = _row(db, "chips", args.chip)
    model = _row(db, "models", args.model)
    return roofline_point(chip, model, bits=args.bits, batch=args.batch, context=args.context,
                          chips=args.chips)


def _cmd_roofline(args: argparse.Namespace) -> int:
    try:
        with _open(args) as db:
            result = _roofline(args, db)
        _print(result.to_dict(), args.json)  # type: ignore[attr-defined]
    except ValueError as exc:
        return _fail(str(exc))
    return 0


def _cmd_cost(args: argparse.Namespace) -> int:
    from analysis.models import costs

    try:
        with _open(args) as db:
            chip = _row(db, "chips", args.chip)
            model = _row(db, "models", args.model)
            bound = None
            if args.tokens_per_s is None:
                bound = _roofline(args, db)
                tokens_per_s = bound.tokens_per_s_per_chip  # type: ignore[attr-defined]
            else:
                tokens_per_s = args.tokens_per_s
            import numpy as np

            with np.errstate(all="ignore"):
                result = costs.cost_point(tokens_per_s=tokens_per_s, utilization=args.utilization,
                                          hourly_usd=args.hourly_usd)
    except ValueError as exc:
        return _fail(str(exc))
    out: dict[str, object] = {
        "chip": chip["slug"], "model": model["slug"], "bits": args.bits,
        "tokens_per_s_source": "roofline bound" if bound is not None else "given",
        **result.to_dict(),
    }
    if bound is not None:
        out.update({f"roofline_{k}": v for k, v in bound.to_dict().items()  # type: ignore[attr-defined]
                    if k in ("batch", "context", "chips", "max_batch", "bound", "per_user_tokens_per_s")})
    try:
        _print(out, args.json)
    except ValueError as exc:
        return _fail(str(exc))
    return 0


def _cmd_forecasts(args: argparse.Namespace) -> int:
    from analysis.rules import forecasts

    as_of = args.as_of or dt.date.today()
    try:
        with _open(args) as db:
            resolved = forecasts.resolve(db, as_of=as_of)
    except ValueError as exc:
        return _fail(str(exc))
    items = forecasts.forecasts_json(resolved)
    if args.json:
        scores = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                  for k, v in forecasts.scores(resolved).items()}
        print(json.dumps({"as_of": as_of.isoformat(), "forecasts": items, "scores": scores},
                         indent=2, sort_keys=True, default=str, allow_nan=False))
        return 0
    for item in items:
        print(f"{item['status']:<8} {item['resolve_by']}  {item['id']}: {item['statement']}")
    return 0


def _cmd_texts(args: argparse.Namespace) -> int:
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


def _cmd_pdf(args: argparse.Namespace) -> int:
    from analysis.build import publish

    try:
        path = publish.build_pdf(Path(args.root).resolve())
    except RuntimeError as exc:
        return _fail(str(exc), 1)
    print(f"pdf: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from analysis import importers

    data_dir = Path(args.root) / "data"
    try:
        if args.format == "book":
            if len(args.files) != 1:
                return _fail("import book takes one argument: the folder of raw releases (such as ../shared/raw)")
            results = importers.import_book(Path(args.files[0]), data_dir)
        else:
            missing = [name for name in ("source_id", "repository", "commit", "path") if not getattr(args, name)]
            if args.format == "litellm" and args.date is None:
                missing.append("date")
            if missing:
                return _fail("import " + args.format + " needs " + ", ".join("--" + m.replace("_", "-") for m in missing)
                             + ": every row cites the release (repository, commit and path) it came from")
            if len(args.files) != 1:
                return _fail("import takes one release file per run (each release is its own source)")
            release = importers.release_for(args.format, source_id=args.source_id, repository=args.repository,
                                            commit=args.commit, path=args.path, published=args.published,
                                            title=args.title, producer=args.producer, licence=args.licence,
                                            accessed=dt.date.today())
            results = [importers.import_file(Path(args.files[0]), release, data_dir, snapshot_date=args.date)]
        counts = importers.write_folder(results, Path(args.out), data_dir)
    except (importers.ReleaseError, ValueError, FileExistsError, OSError) as exc:
        return _fail(str(exc))
    for result in results:
        print(result.report())
    print(f"wrote {args.out}: " + ", ".join(f"{t} {n} rows" for t, n in sorted(counts.items())))
    print(f"next: make rerun DATA={args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check every data file against its sidecar")
    p.add_argument("--data", default=str(validation.DEFAULT_DATA_DIR), help="the data folder")
    p.set_defaults(func=_cmd_validate)
    p = sub.add_parser("store", help="validate data/ and build its store, with the derived tables (one transaction)")
    p.add_argument("--root", default=str(ROOT), help="the book's folder (default: this repository)")
    p.add_argument("--data", default=None, help="validate another data folder and build a store for it instead")
    p.add_argument("--store", default=None, help="with --data: where to write that store (default: DATA/inference.duckdb)")
    p.add_argument("--force", action="store_true", help="rebuild the store even if its inputs are unchanged")
    p.set_defaults(func=_cmd_store)
    p = sub.add_parser("build", help="validate, build the store, execute stale chapters, build the HTML")
    p.add_argument("--root", default=str(ROOT), help="the book's folder (default: this repository)")
    p.add_argument("--data", default=None, help="the data folder (default: ROOT/data)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a chapter parameter (repeatable)")
    p.add_argument("--force", action="store_true", help="execute every chapter and rebuild the HTML")
    p.add_argument("--no-html", action="store_true", help="stop after executing the chapters")
    p.set_defaults(func=_cmd_build)
    p = sub.add_parser("rerun", help="merge new table files into data/ and rebuild what changed")
    p.add_argument("--data", default=None,
                   help=f"folder of table files named as in data/ (chips.csv, ...); default: ${DATA_ENV}")
    p.add_argument("--root", default=str(ROOT), help="the book's folder (default: this repository)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a chapter parameter for this run (repeatable)")
    p.add_argument("--no-html", action="store_true", help="stop after executing the chapters")
    p.add_argument("--allow-contract-change", action="store_true",
                   help="let the folder change an existing table's contract (the difference is printed)")
    p.add_argument("--json", action="store_true", help="print the change report as JSON")
    p.set_defaults(func=_cmd_rerun)

    p = sub.add_parser("import", help="turn public release files into a rerun folder of the book's tables",
                       description="Import a public release (MLPerf summary_results.json, a LiteLLM price map or its "
                                   "change log, Epoch AI's hardware prices) into a new folder of table files that "
                                   "make rerun DATA=FOLDER merges. 'import book RAW' re-imports every release the "
                                   "book's tables come from.")
    p.add_argument("format", choices=("book", "mlperf", "litellm", "litellm-history", "epoch-hardware-prices",
                                          "epoch-chip-dataset"))
    p.add_argument("files", nargs="+", metavar="FILE", help="the release file (for book: the folder of raw releases)")
    p.add_argument("--out", required=True, help="a new (or empty) folder to write the tables into")
    p.add_argument("--source-id", help="id of the release's row in sources (e.g. mlperf-inference-v6.1)")
    p.add_argument("--repository", help="GitHub repository the file was taken from (owner/name)")
    p.add_argument("--commit", help="the commit it was taken at (40 hex digits)")
    p.add_argument("--path", help="its path in the repository")
    p.add_argument("--published", type=_iso_date, help="publication date of the release (YYYY-MM-DD)")
    p.add_argument("--date", type=_iso_date, help="litellm: the date the price map was taken")
    p.add_argument("--title", help="title of the release (default: the format's usual title)")
    p.add_argument("--producer", help="publisher of the release")
    p.add_argument("--licence", help="licence of the release (SPDX id)")
    p.add_argument("--root", default=str(ROOT), help="the book's folder, whose data/ holds the mapping tables")
    p.set_defaults(func=_cmd_import)

    def store_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--store", default=None, help="the store to read (default: data/inference.duckdb)")
        p.add_argument("--json", action="store_true", help="print JSON")

    def roofline_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--chip", required=True, help="chip slug, e.g. h100-sxm")
        p.add_argument("--model", required=True, help="model slug, e.g. llama-2-70b")
        p.add_argument("--bits", type=int, required=True, help="weight precision in bits: 4, 8 or 16")
        p.add_argument("--batch", type=_batch, default=1, help="concurrent sequences, or 'max' (default 1)")
        p.add_argument("--context", type=int, default=2048, help="tokens in each sequence's cache (default 2048)")
        p.add_argument("--chips", type=int, default=None, help="number of chips (default: the fewest that hold it)")

    p = sub.add_parser("roofline", help="the decode roofline of a model on a chip")
    roofline_options(p)
    store_option(p)
    p.set_defaults(func=_cmd_roofline)
    p = sub.add_parser("cost", help="cost per million output tokens of a model on a chip")
    roofline_options(p)
    p.add_argument("--hourly-usd", type=_number(0, MAX_HOURLY_USD), required=True,
                   help=f"USD per chip-hour, in (0, {MAX_HOURLY_USD:g}]")
    p.add_argument("--utilization", type=_number(0, 1), required=True, help="share of hours busy, in (0, 1]")
    p.add_argument("--tokens-per-s", type=_number(0, 1e12), default=None,
                   help="tokens/s per chip (default: the roofline bound at --batch)")
    store_option(p)
    p.set_defaults(func=_cmd_cost)
    p = sub.add_parser("pdf", help="the PDF edition: the single-page book printed by headless Chromium")
    p.add_argument("--root", default=str(ROOT), help="the book's folder (default: this repository)")
    p.set_defaults(func=_cmd_pdf)
    p = sub.add_parser("texts", help="check that each chapter notebook agrees with its text in chapters/source/")
    p.add_argument("--root", default=str(ROOT), help="the book's folder (default: this repository)")
    p.add_argument("--write", action="store_true", help="write every chapter's text from its notebook")
    p.set_defaults(func=_cmd_texts)
    p = sub.add_parser("forecasts", help="every forecast resolved as of a date")
    p.add_argument("--as-of", type=_iso_date, default=None, help="YYYY-MM-DD (default: today)")
    store_option(p)
    p.set_defaults(func=_cmd_forecasts)
    return parser


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        signal.signal(signal.SIGTERM, _terminated)
    except ValueError:
        pass
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was changed (a run interrupted while putting a new edition in "
                     "place is completed by the next build)", 130)
    except duckdb.Error as exc:
        return _fail(f"the store could not answer: {str(exc).splitlines()[0]} (rebuild it with `make store`)")


if __name__ == "__main__":
    raise SystemExit(main())
