"""The commands users type: ``python -m analysis <command>``.

Every command prints a one-line error and exits non-zero on bad input; no traceback reaches the
user for a mistake in the data or the arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis import store

EXIT_BAD_DATA = 2
EXIT_BAD_INPUT = 2


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _cmd_validate(args: argparse.Namespace) -> int:
    try:
        tables = store.validate(Path(args.data))
    except store.ValidationError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_BAD_DATA
    rows = sum(len(t.frame) for t in tables.values())
    print(f"data ok: {len(tables)} tables, {rows} rows")
    return 0


def _cmd_store(args: argparse.Namespace) -> int:
    data_dir = Path(args.data)
    try:
        tables = store.validate(data_dir)
    except store.ValidationError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_BAD_DATA
    path = store.build(tables, Path(args.store) if args.store else data_dir / store.STORE_NAME)
    rows = sum(len(t.frame) for t in tables.values())
    print(f"store built: {path} ({len(tables)} tables, {rows} rows)")
    return 0


def _parse_params(pairs: Sequence[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"--param expects NAME=VALUE, got {pair!r}")
        params[name] = value
    return params


def _cmd_build(args: argparse.Namespace) -> int:
    from analysis import pipeline

    data_dir = Path(args.data)
    store_path = data_dir / store.STORE_NAME
    try:
        params = _parse_params(args.param)
        tables = store.validate(data_dir)
    except ValueError as exc:
        return _fail(str(exc))
    except store.ValidationError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_BAD_DATA
    store.build(tables, store_path)
    print(f"store: {store_path.relative_to(Path.cwd()) if store_path.is_relative_to(Path.cwd()) else store_path}"
          f" ({len(tables)} tables, {sum(len(t.frame) for t in tables.values())} rows)")
    try:
        pipeline.run_stale(store_path, params, force=args.force)
    except pipeline.ChapterFailed as exc:
        return _fail(f"chapter failed, its notebook was left unchanged: {exc}", 1)
    if args.no_html:
        return 0
    try:
        pipeline.build_html(force=args.force)
    except RuntimeError as exc:
        return _fail(str(exc), 1)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check every data file against its sidecar")
    p.add_argument("--data", default=str(store.DEFAULT_DATA_DIR), help="the data folder")
    p.set_defaults(func=_cmd_validate)
    p = sub.add_parser("store", help="validate the data and build the DuckDB store")
    p.add_argument("--data", default=str(store.DEFAULT_DATA_DIR), help="the data folder")
    p.add_argument("--store", default=None, help="where to write the store (default: DATA/inference.duckdb)")
    p.set_defaults(func=_cmd_store)
    p = sub.add_parser("build", help="validate, build the store, execute stale chapters, build the HTML")
    p.add_argument("--data", default=str(store.DEFAULT_DATA_DIR), help="the data folder")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a chapter parameter (repeatable)")
    p.add_argument("--force", action="store_true", help="execute every chapter and rebuild the HTML")
    p.add_argument("--no-html", action="store_true", help="stop after executing the chapters")
    p.set_defaults(func=_cmd_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was changed", 130)


if __name__ == "__main__":
    raise SystemExit(main())
