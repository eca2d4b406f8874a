"""``python -m benchmarks``: time building, rebuilding, rerunning, the sweeps, a million-row store, the pages.

Not part of ``make test``: the budgets are met and shown here (``benchmarks/RESULTS.md``), never in
timed unit tests.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks import bench


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p = parser
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run only these measurements (repeatable or comma-separated): "
                        "clean, floor, rebuild, rerun, sweep, store, pages")
    p.add_argument("--results", default=None,
                   help="folder for RESULTS.md and results.json (default: benchmarks/, written by a full run only)")
    p.add_argument("--no-write", action="store_true", help="print the table, write no results")
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the synthetic price table (default 1e6)")
    p.add_argument("--scenarios", type=int, default=1_000_000, help="scenarios per sweep (default 1e6)")
    p.add_argument("--keep", action="store_true", help="keep the temporary copy of the book")
    args = parser.parse_args(argv)
    only = [name.strip() for item in args.only for name in item.split(",") if name.strip()]
    try:
        return bench.main(only, results=Path(args.results) if args.results else None,
                          write_results=not args.no_write, store_rows=args.rows, sweep_scenarios=args.scenarios,
                          keep=args.keep)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
