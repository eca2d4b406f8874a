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
from dataclasses import dataclass, field
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
# One change read from a release: date, commit source, key, entry (None when removed), where in the file.
_Change = tuple[dt.date, str, str, dict[str, Any] | None, str]


@dataclass
class _Spell:
    key: str
    provider: str
    input: float
    output: float
    first: dt.date
    last: dt.date
    commit: str


@dataclass
class _Spells:
    """The price spells of one release as its changes are read: the open spell of each key, and the
    closed ones (with the model and sources of their key) in the order they closed."""

    open: dict[str, _Spell] = field(default_factory=dict)
    closed: list[tuple[_Spell, str, list[str]]] = field(default_factory=list)
    sources_of: dict[str, tuple[str, list[str]]] = field(default_factory=dict)

    def close(self, key: str, end: dt.date | None) -> None:
        """Close ``key``'s open spell, if any, last known to hold on ``end`` (when not before it began)."""
        spell = self.open.pop(key, None)
        if spell is not None:
            if end is not None and end >= spell.first:
                spell.last = end
            model, sources = self.sources_of[key]
            self.closed.append((spell, model, sources))

    def price(self, key: str, provider: str, priced: tuple[float, float], date: dt.date, source: str,
              end: dt.date | None) -> None:
        """``key`` is priced ``priced`` by ``provider`` on ``date``: a new spell unless its open spell
        already says so (a changed price closes the open spell on ``end``)."""
        current = self.open.get(key)
        if current is not None and (current.input, current.output, current.provider) == (*priced, provider):
            return
        if current is not None:
            self.close(key, end)
        commit = source.rsplit("@", 1)[-1][:12]
        self.open[key] = _Spell(key, provider, priced[0], priced[1], date, date, commit)


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


def _history(path: Path, file: str) -> Iterator[_Change]:
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


def _snapshot(path: Path, file: str, date: dt.date, source: str) -> Iterator[_Change]:
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
    provider_of_key = _providers_of_keys(changes)
    models = _Models(read_mapping(data_dir, "litellm_models"))
    providers = {r["litellm_provider"]: r["provider"] for r in read_mapping(data_dir, "litellm_providers")}
    result = ImportResult(release)
    spells = _Spells()
    last_date: dt.date | None = None
    dates_before: dt.date | None = None
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
        spells.sources_of[key] = matched
        priced = None if entry is None else _text_price(entry, key, date, result, file, where)
        if priced is None:
            spells.close(key, dates_before)
            continue
        provider = _provider(entry, key, provider_of_key, providers, result)
        if provider is not None:
            spells.price(key, provider, priced, date, source, dates_before)
    for key in list(spells.open):
        spells.close(key, last_date)
    for spell, model, _ in spells.closed:
        result.add("prices", _price_row(spell, model, release))
    return result


def _providers_of_keys(changes: list[_Change]) -> dict[str, str]:
    """Each key's first ``litellm_provider`` in the release. Early copies of the map name no
    litellm_provider: ``_provider`` takes the one the same key has elsewhere in the release."""
    provider_of_key: dict[str, str] = {}
    for _, _, key, entry, _ in changes:
        if entry is not None and isinstance(entry.get("litellm_provider"), str) and entry["litellm_provider"]:
            provider_of_key.setdefault(key, entry["litellm_provider"])
    return provider_of_key


def _text_price(entry: Mapping[str, Any], key: str, date: dt.date, result: ImportResult, file: str,
                where: str) -> tuple[float, float] | None:
    """USD per million input and output tokens of a text model's entry, or None (counted in ``result``)
    for an entry in another mode, one without a positive price per token, or an implausible price."""
    mode = str(entry.get("mode", ""))
    if mode not in TEXT_MODES:
        result.skipped[f"entries in mode {mode!r}"] += 1
        return None
    priced = _prices(entry, file, where)
    if priced is None or priced[0] <= 0 or priced[1] <= 0:
        result.skipped["entries without a positive price per token"] += 1
        return None
    if max(priced) > MAX_PLAUSIBLE_USD_PER_MTOK:
        result.miss(f"price above USD {MAX_PLAUSIBLE_USD_PER_MTOK:.0f} per million tokens "
                    "(set aside as a unit error)", f"{key} on {date}: {priced[0]}/{priced[1]}")
        return None
    return priced


def _provider(entry: Mapping[str, Any], key: str, provider_of_key: Mapping[str, str],
              providers: Mapping[str, str], result: ImportResult) -> str | None:
    """The book's provider of an entry: its ``litellm_provider`` (else the key's elsewhere in the
    release, else the key's first path segment) through ``litellm_providers``, or its slug when the
    mapping does not know it (reported); None (counted) when the entry names no provider."""
    segment = key.split("/", 1)[0] if "/" in key else ""
    listed = entry.get("litellm_provider") or provider_of_key.get(key) or segment
    if not isinstance(listed, str) or not listed:
        result.skipped["entries that name no provider"] += 1
        return None
    provider = providers.get(listed)
    if provider is None:
        result.miss("litellm_provider", listed)
        provider = slug(listed)
    return provider


def _price_row(spell: _Spell, model: str, release: Release) -> dict[str, object]:
    """The ``prices`` row of one closed spell."""
    pid = slug(f"{release.source_id}-{spell.key}-{spell.first.isoformat()}").replace("_", "-")
    return {
        "price_id": pid, "provider": spell.provider, "model_slug": model, "model_name_as_listed": spell.key,
        "date_observed": spell.first, "date_last_seen": spell.last,
        "input_usd_per_mtok": spell.input, "output_usd_per_mtok": spell.output,
        "source_ids": [release.source_id],
        "note": (f"First seen in commit {spell.commit} of {release.repository}:{release.path}; "
                 f"last seen {spell.last.isoformat()}. The copy's commit date, not necessarily the day the "
                 "provider set the price."),
    }
