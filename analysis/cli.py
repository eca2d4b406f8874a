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

import duckdb

from analysis import store
from analysis.safety import quote_ident

ROOT = store.DEFAULT_DATA_DIR.parent
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
    from analysis import analyses, pipeline, rerun

    root = Path(args.root).resolve()
    data_dir = Path(args.data) if args.data else root / "data"
    store_path = data_dir / store.STORE_NAME
    try:
        params = _parse_params(args.param)
        held = rerun.acquire(root)
    except (ValueError, rerun.BuildLocked) as exc:
        return _fail(str(exc), 3 if isinstance(exc, rerun.BuildLocked) else EXIT_BAD_INPUT)
    try:
        try:
            tables = store.validate(data_dir)
        except store.ValidationError as exc:
            print(exc.report(), file=sys.stderr)
            return EXIT_BAD_DATA
        digest = store.inputs_digest(tables, analyses.inputs_bytes(root))
        if args.force or store.built_from(store_path) != digest:
            try:
                store.build(tables, store_path, extend=lambda p: analyses.extend_store(root, p), digest=digest)
            except analyses.AnalysisFailed as exc:
                return _fail(f"analysis failed, the store was not changed: {exc}", 1)
            print(f"store: {store_path} ({len(tables)} tables, {sum(len(t.frame) for t in tables.values())} rows)")
        else:
            print(f"store: up to date ({len(tables)} tables)")
        try:
            pipeline.run_stale(store_path, params, root=root, force=args.force)
        except pipeline.ChapterFailed as exc:
            return _fail(f"chapter failed, its notebook was left unchanged: {exc}", 1)
        if not (root / "chapters" / rerun.CHANGES_PAGE).exists():
            rerun.write_changes_page(None, root)
        if args.no_html:
            return 0
        try:
            pipeline.build_html(root, force=args.force)
        except RuntimeError as exc:
            return _fail(str(exc), 1)
        return 0
    finally:
        held.release()


def _cmd_rerun(args: argparse.Namespace) -> int:
    from analysis import pipeline, rerun

    root = Path(args.root).resolve()
    try:
        params = _parse_params(args.param)
        held = rerun.acquire(root)
    except (ValueError, rerun.BuildLocked) as exc:
        return _fail(str(exc), 3 if isinstance(exc, rerun.BuildLocked) else EXIT_BAD_INPUT)
    try:
        report = rerun.rerun(root, Path(args.data), parameters=params, html=not args.no_html,
                             allow_contract_change=args.allow_contract_change)
    except store.ValidationError as exc:
        print(exc.report().replace("the store was not changed", "nothing was changed"), file=sys.stderr)
        return EXIT_BAD_DATA
    except pipeline.ChapterFailed as exc:
        return _fail(f"chapter failed, its notebook was left unchanged: {exc}", 1)
    except RuntimeError as exc:
        return _fail(str(exc), 1)
    finally:
        held.release()
    print(rerun.report_json(report) if args.json else report.text())
    return 0


def _open(args: argparse.Namespace) -> store.StoreReader:
    path = Path(args.store) if args.store else store.DEFAULT_DATA_DIR / store.STORE_NAME
    if not path.exists():
        raise ValueError(f"no store at {path}; build it with `make store`")
    return store.open_store(path)


def _row(db: store.StoreReader, table: str, slug: str) -> dict[str, object]:
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


def _print(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True, default=str))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        shown = f"{value:,.4g}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")


def _roofline(args: argparse.Namespace, db: store.StoreReader) -> object:
    from analysis import roofline

    chip = _row(db, "chips", args.chip)
    model = _row(db, "models", args.model)
    return roofline.roofline_point(chip, model, bits=args.bits, batch=args.batch, context=args.context,
                                   chips=args.chips)


def _cmd_roofline(args: argparse.Namespace) -> int:
    try:
        with _open(args) as db:
            result = _roofline(args, db)
    except ValueError as exc:
        return _fail(str(exc))
    _print(result.to_dict(), args.json)  # type: ignore[attr-defined]
    return 0


def _cmd_cost(args: argparse.Namespace) -> int:
    from analysis import costs

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
    _print(out, args.json)
    return 0


def _cmd_forecasts(args: argparse.Namespace) -> int:
    import datetime as dt

    from analysis import forecasts

    try:
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else dt.date.today()
    except ValueError:
        return _fail(f"--as-of expects YYYY-MM-DD, got {args.as_of!r}")
    try:
        with _open(args) as db:
            resolved = forecasts.resolve(db, as_of=as_of)
    except ValueError as exc:
        return _fail(str(exc))
    items = forecasts.forecasts_json(resolved)
    if args.json:
        print(json.dumps({"as_of": as_of.isoformat(), "forecasts": items, "scores": forecasts.scores(resolved)},
                         indent=2, sort_keys=True, default=str))
        return 0
    for item in items:
        print(f"{item['status']:<8} {item['resolve_by']}  {item['id']}: {item['statement']}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from analysis import bench

    only = [name.strip() for item in args.only for name in item.split(",") if name.strip()]
    try:
        return bench.main(only, results=Path(args.results) if args.results else None,
                          write_results=not args.no_write, store_rows=args.rows, sweep_scenarios=args.scenarios,
                          keep=args.keep)
    except (ValueError, RuntimeError) as exc:
        return _fail(str(exc), 1)


def _cmd_pdf(args: argparse.Namespace) -> int:
    from analysis import publish

    try:
        path = publish.build_pdf(Path(args.root).resolve())
    except RuntimeError as exc:
        return _fail(str(exc), 1)
    print(f"pdf: {path} ({path.stat().st_size / 1e6:.1f} MB)")
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
    p.add_argument("--root", default=str(ROOT), help="the book's folder (default: this repository)")
    p.add_argument("--data", default=None, help="the data folder (default: ROOT/data)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a chapter parameter (repeatable)")
    p.add_argument("--force", action="store_true", help="execute every chapter and rebuild the HTML")
    p.add_argument("--no-html", action="store_true", help="stop after executing the chapters")
    p.set_defaults(func=_cmd_build)
    p = sub.add_parser("rerun", help="merge new table files into data/ and rebuild what changed")
    p.add_argument("--data", required=True, help="folder of table files named as in data/ (chips.csv, ...)")
    p.add_argument("--root", default=str(ROOT), help="the book's folder (default: this repository)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a chapter parameter for this run (repeatable)")
    p.add_argument("--no-html", action="store_true", help="stop after executing the chapters")
    p.add_argument("--allow-contract-change", action="store_true",
                   help="let the folder change an existing table's contract (the difference is printed)")
    p.add_argument("--json", action="store_true", help="print the change report as JSON")
    p.set_defaults(func=_cmd_rerun)

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
    p.add_argument("--hourly-usd", type=float, required=True, help="USD per chip-hour")
    p.add_argument("--utilization", type=float, required=True, help="share of hours busy, in (0, 1]")
    p.add_argument("--tokens-per-s", type=float, default=None,
                   help="tokens/s per chip (default: the roofline bound at --batch)")
    store_option(p)
    p.set_defaults(func=_cmd_cost)
    p = sub.add_parser("pdf", help="the PDF edition: the single-page book printed by headless Chromium")
    p.add_argument("--root", default=str(ROOT), help="the book's folder (default: this repository)")
    p.set_defaults(func=_cmd_pdf)
    p = sub.add_parser("forecasts", help="every forecast resolved as of a date")
    p.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: today)")
    store_option(p)
    p.set_defaults(func=_cmd_forecasts)
    p = sub.add_parser("bench", help="time building, rebuilding, rerunning, the sweeps, a million-row store, the pages")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run only these measurements (repeatable or comma-separated): "
                        "clean, floor, rebuild, rerun, sweep, store, pages")
    p.add_argument("--results", default=None,
                   help="folder for RESULTS.md and results.json (default: benchmarks/, written by a full run only)")
    p.add_argument("--no-write", action="store_true", help="print the table, write no results")
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the synthetic price table (default 1e6)")
    p.add_argument("--scenarios", type=int, default=1_000_000, help="scenarios per sweep (default 1e6)")
    p.add_argument("--keep", action="store_true", help="keep the temporary copy of the book")
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was changed", 130)
    except duckdb.Error as exc:
        return _fail(f"the store could not answer: {str(exc).splitlines()[0]} (rebuild it with `make store`)")


if __name__ == "__main__":
    raise SystemExit(main())
