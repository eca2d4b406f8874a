"""LiteLLM-format price maps: one snapshot, or a change log of many, to dated rows of ``prices``.

LiteLLM's ``model_prices_and_context_window.json`` maps a model key to an entry with
``litellm_provider``, ``mode`` and ``input_cost_per_token`` / ``output_cost_per_token`` (USD per
token). A snapshot is one such map and the date it was taken; a change log (``../shared/raw/prices/``)
is one JSON object per line, in commit order: ``{"date", "source", "key", "entry"}`` when a key appears
or changes, ``{"date", "source", "key", "removed": true}`` when it goes.

Both give the same rows: for every key the ``litellm_models`` mapping assigns to a model, one row per
*price spell*: the date the price is first seen, a new row when either price changes, and the last
date it is known to hold (the last dated map of the copy before the change or removal, or the copy's
last date). The provider comes from ``litellm_providers`` applied to ``litellm_provider``. A commit
date is when a copy first showed a price, not necessarily when the provider set it; rows say so.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.data import safety, validation
from analysis.importers.common import (ImportResult, Release, ReleaseError, number, read_json, read_mapping,
                                       read_text, slug, tidy)

FORMATS = ("litellm", "litellm-history")
TEXT_MODES = frozenset({"chat", "completion", ""})
MAX_KEY = 300
# No text model has been listed above USD 600 per million tokens (o1-pro's output price); the few entries
# far above it in the public copies are unit errors (a price per thousand tokens, or per token times 10^4).
MAX_PLAUSIBLE_USD_PER_MTOK = 1000.0


@dataclass
class _Spell:
    key: str
    provider: str
    input: float
    output: float
    first: dt.date
    last: dt.date
    commit: str


class _Models:
    """``litellm_models``: ordered RE2 patterns over the key; the first that matches gives the model
    (an empty model means "matches, but is not the model": fine-tunes, distillations, regional aliases)."""

    def __init__(self, rows: list[dict[str, str]]):
        rows = sorted(rows, key=lambda r: int(r["rule"]))
        self.rules = [(safety.compile_pattern(r["pattern"]), r["model_slug"], r["source_ids"].split(";"))
                      for r in rows]

    def model(self, key: str) -> tuple[str, list[str]] | None:
        for pattern, model, sources in self.rules:
            if pattern.fullmatch(key) is not None:
                return model, sources
        return None


def _date(value: object, file: str, where: str) -> dt.date:
    if not isinstance(value, str):
        raise ReleaseError(file, where, f"date {value!r} is not an ISO date")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ReleaseError(file, where, f"date {value!r} is not an ISO date (YYYY-MM-DD)") from None


def _prices(entry: Mapping[str, Any], file: str, where: str) -> tuple[float, float] | None:
    """USD per million input and output tokens, or None when the entry is not priced per token."""
    if "input_cost_per_token" not in entry or "output_cost_per_token" not in entry:
        return None
    cin = number(entry["input_cost_per_token"], file, where, "input_cost_per_token")
    cout = number(entry["output_cost_per_token"], file, where, "output_cost_per_token")
    if cin < 0 or cout < 0 or cin > 1 or cout > 1:
        raise ReleaseError(file, where, f"price per token {cin!r}/{cout!r} is outside 0..1 USD")
    return tidy(cin * 1e6), tidy(cout * 1e6)


def _history(path: Path, file: str) -> Iterator[tuple[dt.date, str, str, dict[str, Any] | None, str]]:
    """(date, commit source, key, entry or None when removed, where) per change-log line, checked."""
    text = read_text(path)
    previous: dt.date | None = None
    for number_, line in enumerate(text.splitlines(), 1):
        where = f"line {number_}"
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReleaseError(file, where, f"is not valid JSON ({exc.msg}, column {exc.colno})") from None
        if not isinstance(record, dict):
            raise ReleaseError(file, where, "is not a JSON object")
        for name in ("date", "source", "key"):
            if name not in record:
                raise ReleaseError(file, where, f"field {name!r} is missing")
        date = _date(record["date"], file, where)
        if previous is not None and date < previous:
            raise ReleaseError(file, where, f"date {date} is earlier than the line before ({previous}): not in commit order")
        previous = date
        key, source = record["key"], record["source"]
        if not isinstance(key, str) or not key or len(key) > MAX_KEY or not isinstance(source, str):
            raise ReleaseError(file, where, f"key {key!r} is not a model key")
        if record.get("removed") is True:
            yield date, source, key, None, where
            continue
        entry = record.get("entry")
        if not isinstance(entry, dict):
            raise ReleaseError(file, where, "has neither an 'entry' object nor 'removed': true")
        yield date, source, key, entry, where


def _snapshot(path: Path, file: str, date: dt.date, source: str) -> Iterator[tuple[dt.date, str, str, dict[str, Any] | None, str]]:
    data = read_json(path, dict, "a JSON object of model keys")
    for key, entry in data.items():
        where = f"key {key!r}"
        if key == "sample_spec":
            continue
        if len(key) > MAX_KEY or not isinstance(entry, dict):
            raise ReleaseError(file, where, "is not a model entry (an object)")
        yield date, source, key, entry, where


def import_prices(path: Path, release: Release, data_dir: Path, *, snapshot_date: dt.date | None = None) -> ImportResult:
    """Rows of ``prices`` from a change log (``snapshot_date`` None) or one snapshot taken on ``snapshot_date``."""
    file = validation.file_label(path)
    changes = list(_snapshot(path, file, snapshot_date, f"{release.repository}:{release.path}@{release.commit}")
                   if snapshot_date is not None else _history(path, file))
    # Early copies of the map name no litellm_provider: take the one the same key has elsewhere in the
    # release, else the key's first path segment.
    provider_of_key: dict[str, str] = {}
    for _, _, key, entry, _ in changes:
        if entry is not None and isinstance(entry.get("litellm_provider"), str) and entry["litellm_provider"]:
            provider_of_key.setdefault(key, entry["litellm_provider"])
    models = _Models(read_mapping(data_dir, "litellm_models"))
    providers = {r["litellm_provider"]: r["provider"] for r in read_mapping(data_dir, "litellm_providers")}
    result = ImportResult(release)
    open_spells: dict[str, _Spell] = {}
    closed: list[tuple[_Spell, str, list[str]]] = []
    sources_of: dict[str, tuple[str, list[str]]] = {}
    last_date: dt.date | None = None
    dates_before: dt.date | None = None

    def close(key: str, end: dt.date | None) -> None:
        spell = open_spells.pop(key, None)
        if spell is not None:
            if end is not None and end >= spell.first:
                spell.last = end
            model, sources = sources_of[key]
            closed.append((spell, model, sources))

    for date, source, key, entry, where in changes:
        result.read += 1
        if last_date is not None and date != last_date:
            dates_before = last_date
        last_date = date
        matched = models.model(key)
        if matched is None or not matched[0]:
            if matched is None and entry is not None and str(entry.get("mode", "")) in TEXT_MODES:
                result.miss("price-map key of a text model the book does not track", key)
            elif matched is not None:
                result.skipped["keys matched as not the tracked model (fine-tunes, aliases)"] += 1
            continue
        sources_of[key] = matched
        if entry is None:
            close(key, dates_before)
            continue
        mode = str(entry.get("mode", ""))
        if mode not in TEXT_MODES:
            result.skipped[f"entries in mode {mode!r}"] += 1
            close(key, dates_before)
            continue
        priced = _prices(entry, file, where)
        if priced is None or priced[0] <= 0 or priced[1] <= 0:
            result.skipped["entries without a positive price per token"] += 1
            close(key, dates_before)
            continue
        if max(priced) > MAX_PLAUSIBLE_USD_PER_MTOK:
            result.miss(f"price above USD {MAX_PLAUSIBLE_USD_PER_MTOK:.0f} per million tokens (set aside as a unit error)",
                        f"{key} on {date}: {priced[0]}/{priced[1]}")
            close(key, dates_before)
            continue
        listed = entry.get("litellm_provider") or provider_of_key.get(key) or (key.split("/", 1)[0] if "/" in key else "")
        if not isinstance(listed, str) or not listed:
            result.skipped["entries that name no provider"] += 1
            continue
        provider = providers.get(listed)
        if provider is None:
            result.miss("litellm_provider", listed)
            provider = slug(listed)
        current = open_spells.get(key)
        if current is not None and (current.input, current.output, current.provider) == (priced[0], priced[1], provider):
            continue
        if current is not None:
            close(key, dates_before)
        commit = source.rsplit("@", 1)[-1][:12]
        open_spells[key] = _Spell(key, provider, priced[0], priced[1], date, date, commit)
    for key in list(open_spells):
        close(key, last_date)
    for spell, model, sources in closed:
        pid = slug(f"{release.source_id}-{spell.key}-{spell.first.isoformat()}").replace("_", "-")
        result.add("prices", {
            "price_id": pid, "provider": spell.provider, "model_slug": model, "model_name_as_listed": spell.key,
            "date_observed": spell.first, "date_last_seen": spell.last,
            "input_usd_per_mtok": spell.input, "output_usd_per_mtok": spell.output,
            "source_ids": [release.source_id],
            "note": (f"First seen in commit {spell.commit} of {release.repository}:{release.path}; "
                     f"last seen {spell.last.isoformat()}. The copy's commit date, not necessarily the day the "
                     "provider set the price."),
        })
    return result
