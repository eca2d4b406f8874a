"""The commands that answer from the built store: ``roofline``, ``cost`` and ``forecasts``.

Each ``cmd_*`` takes the parsed arguments and returns the exit status; a bad chip or model, a missing
store, a value a model refuses or a result that is not a finite number raises ``InputError``: one line
on stderr and status 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from pathlib import Path

from analysis.data import reader, store, validation
from analysis.data.safety import quote_ident
from analysis.errors import InputError


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


def _roofline(args: argparse.Namespace, db: reader.StoreReader) -> object:
    from analysis.models.roofline_point import roofline_point

    chip = _row(db, "chips", args.chip)
    model = _row(db, "models", args.model)
    return roofline_point(chip, model, bits=args.bits, batch=args.batch, context=args.context,
                          chips=args.chips)


def cmd_roofline(args: argparse.Namespace) -> int:
    try:
        with _open(args) as db:
            result = _roofline(args, db)
        _print(result.to_dict(), args.json)  # type: ignore[attr-defined]
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
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
        raise InputError(str(exc)) from None
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
        raise InputError(str(exc)) from None
    return 0


def cmd_forecasts(args: argparse.Namespace) -> int:
    from analysis.rules import forecasts

    as_of = args.as_of or dt.date.today()
    try:
        with _open(args) as db:
            resolved = forecasts.resolve(db, as_of=as_of)
    except ValueError as exc:
        raise InputError(str(exc)) from None
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
