"""The command line's arguments: one parser, one small function per sub-command, and the argument
types that refuse a bad value before any command runs (argparse's usage message and status 2)."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any

from analysis.cli import book_commands, query_commands
from analysis.data import validation

ROOT = validation.DEFAULT_DATA_DIR.parent
DESCRIPTION = "The commands users type: ``python -m analysis <command>``."
ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_HOURLY_USD = 1e6
ROOT_HELP = "the book's folder (default: this repository)"

Subparsers = Any  # argparse's sub-parser action, which argparse does not name publicly


def _batch(text: str) -> int | str:
    if text.strip().lower() == "max":
        return "max"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'max', got {text!r}") from None


def _number(low: float, high: float, *, low_open: bool = True) -> Callable[[str], float]:
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


def _store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=None, help="the store to read (default: data/inference.duckdb)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _roofline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chip", required=True, help="chip slug, e.g. h100-sxm")
    p.add_argument("--model", required=True, help="model slug, e.g. llama-2-70b")
    p.add_argument("--bits", type=int, required=True, help="weight precision in bits: 4, 8 or 16")
    p.add_argument("--batch", type=_batch, default=1, help="concurrent sequences, or 'max' (default 1)")
    p.add_argument("--context", type=int, default=2048, help="tokens in each sequence's cache (default 2048)")
    p.add_argument("--chips", type=int, default=None, help="number of chips (default: the fewest that hold it)")


def add_validate(sub: Subparsers) -> None:
    p = sub.add_parser("validate", help="check every data file against its sidecar")
    p.add_argument("--data", default=str(validation.DEFAULT_DATA_DIR), help="the data folder")
    p.set_defaults(func=book_commands.cmd_validate)


def add_datapackage(sub: Subparsers) -> None:
    p = sub.add_parser("datapackage", help="write data/datapackage.json (a Frictionless Data Package) from the sidecars")
    p.add_argument("--data", default=str(validation.DEFAULT_DATA_DIR), help="the data folder")
    p.add_argument("--check", action="store_true", help="only check that the written descriptor is up to date")
    p.set_defaults(func=book_commands.cmd_datapackage)


def add_store(sub: Subparsers) -> None:
    p = sub.add_parser("store", help="validate data/ and build its store, with the derived tables (one transaction)")
    p.add_argument("--root", default=str(ROOT), help=ROOT_HELP)
    p.add_argument("--data", default=None, help="validate another data folder and build a store for it instead")
    p.add_argument("--store", default=None, help="with --data: where to write that store (default: DATA/inference.duckdb)")
    p.add_argument("--force", action="store_true", help="rebuild the store even if its inputs are unchanged")
    p.set_defaults(func=book_commands.cmd_store)


def add_build(sub: Subparsers) -> None:
    p = sub.add_parser("build", help="validate, build the store, execute stale chapters, build the HTML")
    p.add_argument("--root", default=str(ROOT), help=ROOT_HELP)
    p.add_argument("--data", default=None, help="the data folder (default: ROOT/data)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a chapter parameter (repeatable)")
    p.add_argument("--force", action="store_true", help="execute every chapter and rebuild the HTML")
    p.add_argument("--no-html", action="store_true", help="stop after executing the chapters")
    p.set_defaults(func=book_commands.cmd_build)


def add_rerun(sub: Subparsers) -> None:
    p = sub.add_parser("rerun", help="merge new table files into data/ and rebuild what changed")
    p.add_argument("--data", default=None,
                   help=f"folder of table files named as in data/ (chips.csv, ...); default: ${book_commands.DATA_ENV}")
    p.add_argument("--root", default=str(ROOT), help=ROOT_HELP)
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a chapter parameter for this run (repeatable)")
    p.add_argument("--no-html", action="store_true", help="stop after executing the chapters")
    p.add_argument("--allow-contract-change", action="store_true",
                   help="let the folder change an existing table's contract (the difference is printed)")
    p.add_argument("--json", action="store_true", help="print the change report as JSON")
    p.set_defaults(func=book_commands.cmd_rerun)


def add_import(sub: Subparsers) -> None:
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
    p.set_defaults(func=book_commands.cmd_import)


def add_roofline(sub: Subparsers) -> None:
    p = sub.add_parser("roofline", help="the decode roofline of a model on a chip")
    _roofline_options(p)
    _store_option(p)
    p.set_defaults(func=query_commands.cmd_roofline)


def add_cost(sub: Subparsers) -> None:
    p = sub.add_parser("cost", help="cost per million output tokens of a model on a chip")
    _roofline_options(p)
    p.add_argument("--hourly-usd", type=_number(0, MAX_HOURLY_USD), required=True,
                   help=f"USD per chip-hour, in (0, {MAX_HOURLY_USD:g}]")
    p.add_argument("--utilization", type=_number(0, 1), required=True, help="share of hours busy, in (0, 1]")
    p.add_argument("--tokens-per-s", type=_number(0, 1e12), default=None,
                   help="tokens/s per chip (default: the roofline bound at --batch)")
    _store_option(p)
    p.set_defaults(func=query_commands.cmd_cost)


def add_pdf(sub: Subparsers) -> None:
    p = sub.add_parser("pdf", help="the PDF edition: the single-page book printed by headless Chromium")
    p.add_argument("--root", default=str(ROOT), help=ROOT_HELP)
    p.set_defaults(func=book_commands.cmd_pdf)


def add_texts(sub: Subparsers) -> None:
    p = sub.add_parser("texts", help="check that each chapter notebook agrees with its text in chapters/source/")
    p.add_argument("--root", default=str(ROOT), help=ROOT_HELP)
    p.add_argument("--write", action="store_true", help="write every chapter's text from its notebook")
    p.set_defaults(func=book_commands.cmd_texts)


def add_cite(sub: Subparsers) -> None:
    p = sub.add_parser("cite", help="check that the How-to-cite page agrees with CITATION.cff")
    p.add_argument("--root", default=str(ROOT), help=ROOT_HELP)
    p.add_argument("--write", action="store_true", help="write chapters/appendix-cite.md from CITATION.cff")
    p.set_defaults(func=book_commands.cmd_cite)


def add_forecasts(sub: Subparsers) -> None:
    p = sub.add_parser("forecasts", help="every forecast resolved as of a date")
    p.add_argument("--as-of", type=_iso_date, default=None, help="YYYY-MM-DD (default: today)")
    _store_option(p)
    p.set_defaults(func=query_commands.cmd_forecasts)


SUBCOMMANDS = (add_validate, add_datapackage, add_store, add_build, add_rerun, add_import, add_roofline, add_cost,
               add_pdf, add_texts, add_cite, add_forecasts)
"""The sub-commands, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """``python -m analysis``'s parser: each sub-command sets ``func``, the command to call."""
    parser = argparse.ArgumentParser(prog="python -m analysis", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser
