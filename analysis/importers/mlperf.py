"""MLPerf Inference results: a round's ``summary_results.json`` to rows of ``benchmarks``.

The summary is one JSON list with one object per (system, benchmark, scenario, metric). Every object
whose ``Performance_Units`` is ``Tokens/s`` and whose benchmark the ``mlperf_models`` mapping knows is
one row: the whole system's generated tokens per second and, where the system has accelerators, the
same divided by ``a#`` x ``Nodes``. The chip comes from ``mlperf_accelerators`` (an accelerator string
it does not know, or a system of several chip types, keeps the row with no chip and is reported), the
model actually served from ``mlperf_models`` applied to ``UsedModel`` (open-division entries may
serve another model than the benchmark's), and the bits per weight from ``mlperf_precisions``, which
corrects the summary where the submitter's own notes say otherwise.

Objects of other benchmarks (image, speech, recommendation models) and LLM objects in other units
(samples or queries per second, latencies) are counted, not imported. A unit the importer does not
know, a missing field, or two objects with the same (ID, benchmark, scenario) fail the import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.data import safety, validation
from analysis.importers.common import ImportResult, Release, ReleaseError, number, read_json, read_mapping, tidy

FORMAT = "mlperf"
TOKENS = "Tokens/s"
KNOWN_UNITS = frozenset({TOKENS, "Samples/s", "Queries/s", "Latency (ms)", "Latency (s)"})
REQUIRED = ("ID", "Submitter", "Availability", "Category", "System", "Model", "Scenario", "Accelerator",
            "Performance_Result", "Performance_Units")
SCENARIOS = {"Offline": "mlperf-offline", "Server": "mlperf-server", "Interactive": "mlperf-interactive"}
DIVISIONS = frozenset({"closed", "open", "network"})
AVAILABILITY = frozenset({"available", "preview", "rdi"})
MAX_TEXT = 2000
NO_ACCELERATOR = "(none)"


class _Precisions:
    """``mlperf_precisions``: (round or any, data type as listed, accelerator pattern or any) to bits; first match wins."""

    def __init__(self, rows: list[dict[str, str]]):
        rows = sorted(rows, key=lambda r: int(r["rule"]))
        self.rules = [(r["round"], r["weight_data_types"].lower(),
                       safety.compile_pattern(r["accelerator_pattern"]) if r["accelerator_pattern"] else None,
                       int(r["precision_bits"]) if r["precision_bits"] else None,
                       r["source_ids"].split(";") if r["source_ids"] else [])
                      for r in rows]

    def bits(self, round_: str, listed: str, accelerator: str) -> tuple[int | None, list[str]] | None:
        for rule_round, dtype, pattern, bits, sources in self.rules:
            if rule_round not in ("", round_) or dtype != listed.lower():
                continue
            if pattern is not None and pattern.search(accelerator) is None:
                continue
            return bits, sources if rule_round else []  # a correction cites its evidence; a plain reading none
        return None


def _text(record: Mapping[str, Any], name: str, file: str, where: str, *, required: bool = True) -> str:
    value = record.get(name)
    if value is None or value == "":
        if required and name not in ("Accelerator",):
            raise ReleaseError(file, where, f"field {name!r} is missing or empty")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ReleaseError(file, where, f"field {name!r} is {type(value).__name__}, not text")
    text = str(value).strip()
    if len(text) > MAX_TEXT or "\x00" in text:
        raise ReleaseError(file, where, f"field {name!r} is longer than {MAX_TEXT} characters or holds NUL")
    return text


def _count(record: Mapping[str, Any], name: str, file: str, where: str) -> int | None:
    """``a#`` or ``Nodes``: a whole number >= 0, or empty (a CPU-only system lists no accelerators)."""
    value = record.get(name)
    if value in (None, ""):
        return None
    n = number(value, file, where, name)
    if n < 0 or not n.is_integer() or n > 1_000_000:
        raise ReleaseError(file, where, f"field {name!r} is {value!r}, not a whole number of devices")
    return int(n)


def import_summary(path: Path, release: Release, data_dir: Path) -> ImportResult:
    """Rows of ``benchmarks`` from one round's ``summary_results.json``."""
    file = validation.file_label(path)
    records = read_json(path, list, "a JSON list of result objects")
    summary = _Summary(
        file=file, release=release,
        accelerators={r["accelerator"]: r for r in read_mapping(data_dir, "mlperf_accelerators")},
        models={r["name"]: r for r in read_mapping(data_dir, "mlperf_models")},
        precisions=_Precisions(read_mapping(data_dir, "mlperf_precisions")),
        result=ImportResult(release),
    )
    for index, record in enumerate(records):
        summary.add_record(index, record)
    return summary.result


@dataclass
class _Summary:
    """One summary being imported: its file, release and mappings, the result so far, and the
    ``benchmark_id`` of every row imported (with where it was read)."""

    file: str
    release: Release
    accelerators: dict[str, dict[str, str]]
    models: dict[str, dict[str, str]]
    precisions: _Precisions
    result: ImportResult
    seen: dict[str, str] = field(default_factory=dict)

    def add_record(self, index: int, record: object) -> None:
        """Import the summary's object ``index`` (from 0) as a row, count it as not imported, or fail."""
        file, where = self.file, f"record {index + 1}"
        if not isinstance(record, dict):
            raise ReleaseError(file, where, "is not a JSON object")
        self.result.read += 1
        for name in REQUIRED:
            if name not in record:
                raise ReleaseError(file, f"{where} (ID {record.get('ID')!r})", f"field {name!r} is missing")
        rid = _text(record, "ID", file, where)
        where = f"{where} (ID {rid!r})"
        benchmark = self._benchmark(record, where)
        if benchmark is None:
            return
        scenario, division, availability, tokens = _measurement(record, file, where)
        round_ = _text(record, "version", file, where, required=False) or self.release.source_id
        used = _text(record, "UsedModel", file, where, required=False) or benchmark
        used_map = self.models.get(used)
        if used_map is None:
            self.result.miss("served model (UsedModel)", used)
        accelerator = _text(record, "Accelerator", file, where, required=False)
        chip_map = self.accelerators.get(accelerator or NO_ACCELERATOR)
        if chip_map is None:
            self.result.miss("accelerator", accelerator or NO_ACCELERATOR)
        chip = (chip_map or {}).get("chip_slug") or None
        per_node = _count(record, "a#", file, where)
        nodes = _count(record, "Nodes", file, where)
        count = per_node * (nodes or 1) if per_node else None
        dtype = _text(record, "weight_data_types", file, where, required=False)
        bits, precision_sources = self._bits(round_, dtype, accelerator)
        key = self._benchmark_id(rid, benchmark, scenario, where)
        notes = [f"{_text(record, 'Suite', file, where, required=False) or 'datacenter'} suite",
                 f"weight_data_types {dtype or 'not given'}"]
        if used != benchmark:
            notes.append(f"serves {used} for the {benchmark} benchmark")
        if chip_map is not None and chip_map.get("note") and not chip:
            notes.append(chip_map["note"])
        sources = [self.release.source_id] + [s for s in precision_sources if s != self.release.source_id]
        self.result.add("benchmarks", {
            "benchmark_id": key, "chip_slug": chip, "model_slug": (used_map or {}).get("model_slug") or None,
            "kind": SCENARIOS[scenario], "precision_bits": bits, "accelerators": count,
            "system_tokens_per_s": tidy(tokens, 9),
            "per_accelerator_tokens_per_s": tidy(tokens / count, 6) if count else None,
            "per_user_tokens_per_s": None, "batch": None, "result_id": rid, "date": self.release.published,
            "round": round_, "division": division, "availability": availability,
            "submitter": _text(record, "Submitter", file, where), "system": _text(record, "System", file, where),
            "accelerator": accelerator or None, "accelerators_per_node": per_node, "nodes": nodes,
            "benchmark": benchmark, "source_ids": sources, "note": "; ".join(notes) + ".",
        })

    def _benchmark(self, record: Mapping[str, Any], where: str) -> str | None:
        """The benchmark of a language-model result in tokens/s, or None (counted) for another
        benchmark or unit; a unit not in ``KNOWN_UNITS`` fails the import."""
        unit = _text(record, "Performance_Units", self.file, where)
        if unit not in KNOWN_UNITS:
            raise ReleaseError(self.file, where, f"unit {unit!r} is not one of {sorted(KNOWN_UNITS)}")
        benchmark = _text(record, "Model", self.file, where)
        if self.models.get(benchmark) is None:
            if unit == TOKENS:
                self.result.miss("benchmark", benchmark)
            else:
                self.result.skipped["not a language-model benchmark"] += 1
            return None
        if unit != TOKENS:
            self.result.skipped[f"language-model result in {unit}, not tokens/s"] += 1
            return None
        return benchmark

    def _bits(self, round_: str, dtype: str, accelerator: str) -> tuple[int | None, list[str]]:
        """Bits per weight from ``mlperf_precisions`` and the sources of a correction; (None, [])
        for a data type it does not know (reported)."""
        found = self.precisions.bits(round_, dtype or "unset", accelerator)
        if found is None:
            self.result.miss("weight data type", f"{round_} {dtype or 'unset'}")
            return None, []
        return found

    def _benchmark_id(self, rid: str, benchmark: str, scenario: str, where: str) -> str:
        """The row's id from its result ID, benchmark and scenario; the same twice fails the import."""
        key = f"mlperf-{rid}-{benchmark}-{scenario}".lower().replace("_", "-")
        key = "".join(c if c.isalnum() or c in "._-" else "-" for c in key)
        if key in self.seen:
            raise ReleaseError(self.file, where,
                               f"duplicates {self.seen[key]}: the same ID, benchmark and scenario twice")
        self.seen[key] = where
        return key


def _measurement(record: Mapping[str, Any], file: str, where: str) -> tuple[str, str, str, float]:
    """Scenario, division, availability and tokens/s of a result, each checked against what MLPerf allows."""
    scenario = _text(record, "Scenario", file, where)
    if scenario not in SCENARIOS:
        raise ReleaseError(file, where, f"scenario {scenario!r} is not one of {sorted(SCENARIOS)}")
    division = _text(record, "Category", file, where).lower()
    if division not in DIVISIONS:
        raise ReleaseError(file, where, f"division (Category) {division!r} is not one of {sorted(DIVISIONS)}")
    availability = _text(record, "Availability", file, where).lower()
    if availability not in AVAILABILITY:
        raise ReleaseError(file, where, f"availability {availability!r} is not one of {sorted(AVAILABILITY)}")
    tokens = number(record["Performance_Result"], file, where, "Performance_Result")
    if tokens <= 0:
        raise ReleaseError(file, where, f"Performance_Result is {tokens}, not a positive throughput")
    return scenario, division, availability, tokens
