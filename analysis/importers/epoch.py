"""Epoch AI's hardware prices (``Hardware prices.csv``) to rows of ``hardware_costs``.

Each row of Epoch's table is one dated price of one accelerator, with the page it came from: an
on-demand price per chip-hour, one- and three-year committed-use prices per chip-hour, or a purchase
price per chip. Every price of a chip the ``epoch_hardware`` mapping knows becomes one row (kind
``rental-on-demand``, ``rental-reserved`` or ``purchase``), citing Epoch's dataset at its commit; the
page Epoch cites is kept in the note. Hardware the mapping does not know is counted and reported.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from analysis.data import validation
from analysis.importers.common import ImportResult, Release, ReleaseError, number, read_csv_rows, read_mapping, slug, tidy

FORMAT = "epoch-hardware-prices"
COLUMNS = {
    "Price per chip-hour (on-demand)": ("rental-on-demand", "usd-per-chip-hour", "on-demand"),
    "Price per chip-hour (1-year CUD)": ("rental-reserved", "usd-per-chip-hour", "1-year commitment"),
    "Price per chip-hour (3-year CUD)": ("rental-reserved", "usd-per-chip-hour", "3-year commitment"),
    "Price (hardware purchase)": ("purchase", "usd-per-chip", "purchase"),
}
REQUIRED = ("Price source", "Price date", "Hardware model", "Vendor", "Location", "Notes", *COLUMNS)
MAX_CELL = 2000


def import_hardware_prices(path: Path, release: Release, data_dir: Path) -> ImportResult:
    """Rows of ``hardware_costs`` from Epoch AI's ``Hardware prices.csv``."""
    file = validation.file_label(path)
    rows = read_csv_rows(path, REQUIRED)
    chips = {r["hardware"]: r for r in read_mapping(data_dir, "epoch_hardware")}
    result = ImportResult(release)
    seen: set[str] = set()
    for line, row in rows:
        where = f"line {line}"
        if None in row or any(v is None for v in row.values()):
            raise ReleaseError(file, where, "has a different number of fields than the header")
        if any(len(v) > MAX_CELL for v in row.values()):
            raise ReleaseError(file, where, f"has a field longer than {MAX_CELL} characters")
        result.read += 1
        dated = _dated_chip(row, chips, result, file, where)
        if dated is None:
            continue
        chip, date = dated
        for column in COLUMNS:
            cell = row[column].strip().replace(",", "")
            if not cell:
                continue
            cost = _cost_row(row, column, cell, chip, date, release, file, where)
            if cost["cost_id"] in seen:
                result.skipped["rows repeating an earlier row"] += 1
                continue
            seen.add(str(cost["cost_id"]))
            result.add("hardware_costs", cost)
    return result


def _dated_chip(row: dict[str, str], chips: dict[str, dict[str, str]], result: ImportResult, file: str,
                where: str) -> tuple[str, dt.date] | None:
    """The book's chip and the price date of one row of Epoch's table, or None (counted in ``result``)
    for hardware the mapping does not know or sets aside, and for a price without a date."""
    model = row["Hardware model"].strip()
    mapped = chips.get(model)
    if mapped is None:
        result.miss("hardware model", model)
        return None
    chip = mapped["chip_slug"]
    if not chip:
        result.skipped[f"hardware the mapping sets aside ({model})"] += 1
        return None
    if not row["Price date"].strip():
        result.skipped["prices without a date"] += 1
        return None
    try:
        return chip, dt.date.fromisoformat(row["Price date"].strip())
    except ValueError:
        raise ReleaseError(file, where, f"Price date {row['Price date']!r} is not an ISO date") from None


def _cost_row(row: dict[str, str], column: str, cell: str, chip: str, date: dt.date, release: Release,
              file: str, where: str) -> dict[str, object]:
    """The ``hardware_costs`` row of one price (``cell``, from ``column`` of ``COLUMNS``) of one row of
    Epoch's table, with an id made unique by a digest of the offer it describes."""
    kind, unit, term = COLUMNS[column]
    usd = number(cell, file, f"{where}, column {column!r}", column)
    if usd <= 0:
        raise ReleaseError(file, f"{where}, column {column!r}", f"price {cell!r} is not positive")
    model = row["Hardware model"].strip()
    vendor = row["Vendor"].strip()
    url = row["Price source"].strip()
    digest = hashlib.sha1("\x1f".join((url, row["Price date"], model, vendor, row["Location"],
                                       row.get("Cloud GPU description", ""), row.get("Number of GPUs", ""),
                                       column)).encode()).hexdigest()[:6]
    provider = slug(vendor) or "unnamed"
    parts = [f"Epoch AI hardware price ({term}) of the {model}"]
    if vendor:
        parts.append(f"from {vendor}" + (f" ({row['Location'].strip()})" if row["Location"].strip() else ""))
    note = " ".join(parts) + f"; Epoch's source: {url}."
    if row["Notes"].strip():
        note += f" Epoch's note: {row['Notes'].strip()}"
    gpus = row.get("Number of GPUs", "").strip()
    if gpus and gpus != "1" and kind != "purchase":
        note += f" Per chip, from an offer of {gpus} chips."
    return {
        "cost_id": f"epoch-{chip}-{slug(term)}-{date.isoformat()}-{provider}-{digest}",
        "chip_slug": chip, "kind": kind, "provider": provider, "date": date, "usd": tidy(usd, 9),
        "unit": unit, "source_ids": [release.source_id], "note": note,
    }


CHIP_FORMAT = "epoch-chip-dataset"
CHIP_COLUMNS = ("Hardware name", "Manufacturer", "Release date", "Memory size per board (Byte)",
                "Memory bandwidth (byte/s)", "Tensor-FP16/BF16 performance (FLOP/s)", "FP8 performance (FLOP/s)",
                "INT8 performance (OP/s)", "FP4 performance (FLOP/s)", "FP32 (single precision) performance (FLOP/s)",
                "TDP (W)", "Link to datasheet")
PEAKS = (("Tensor-FP16/BF16 performance (FLOP/s)", "peak_bf16_tflops", ("bf16", "fp16")),
         ("FP8 performance (FLOP/s)", "peak_fp8_tflops", ("fp8",)),
         ("INT8 performance (OP/s)", "peak_int8_tops", ("int8",)),
         ("FP4 performance (FLOP/s)", "peak_fp4_tflops", ("fp4",)))


def _positive(cell: str | None, file: str, where: str, column: str) -> float | None:
    text = (cell or "").strip().replace(",", "")
    if not text or text.lower() == "nan":
        return None
    value = number(text, file, where, column)
    return value if value > 0 else None


def import_chip_dataset(path: Path, release: Release, data_dir: Path) -> ImportResult:
    """Rows of ``chips`` from Epoch AI's chip dataset, for the hardware the ``epoch_chips`` mapping lists.

    The mapping gives what Epoch's table does not: the book's slug, the class of device and the memory
    tier that holds the weights. A listed chip without a memory size or bandwidth is reported and not
    imported (the chips table requires both). Chips the book compiles from datasheets are not listed in
    the mapping: this importer brings chips the book has no datasheet row for."""
    file = validation.file_label(path)
    records = read_csv_rows(path, CHIP_COLUMNS)
    wanted = {r["hardware"]: r for r in read_mapping(data_dir, "epoch_chips")}
    result = ImportResult(release)
    found: set[str] = set()
    for index, row in records:
        result.read += 1
        name = (row.get("Hardware name") or "").strip()
        mapped = wanted.get(name)
        if mapped is None:
            continue
        where = f"record {index} ({name!r})"
        found.add(name)
        memory = _positive(row.get("Memory size per board (Byte)"), file, where, "Memory size per board (Byte)")
        bandwidth = _positive(row.get("Memory bandwidth (byte/s)"), file, where, "Memory bandwidth (byte/s)")
        if memory is None or bandwidth is None:
            result.skipped[f"listed chips without a memory size or bandwidth ({name})"] += 1
            continue
        released = (row.get("Release date") or "").strip()
        try:
            year = dt.date.fromisoformat(released).year
        except ValueError:
            raise ReleaseError(file, where, f"Release date {released!r} is not an ISO date") from None
        chip: dict[str, object] = {
            "slug": mapped["chip_slug"], "name": name, "vendor": (row.get("Manufacturer") or "").strip() or None,
            "kind": mapped["kind"], "year": year, "memory_kind": mapped["memory_kind"],
            "memory_gb": tidy(memory / 1e9), "memory_bw_tbps": tidy(bandwidth / 1e12), "sram_mb": None,
            "tdp_w": tidy(v) if (v := _positive(row.get("TDP (W)"), file, where, "TDP (W)")) else None,
        }
        precisions: list[str] = ["fp32"] if _positive(row.get("FP32 (single precision) performance (FLOP/s)"),
                                                       file, where, "FP32") else []
        for column, field, formats in PEAKS:
            value = _positive(row.get(column), file, where, column)
            chip[field] = tidy(value / 1e12) if value else None
            if value:
                precisions += [f for f in formats if f not in precisions]
        chip["precisions"] = precisions or None
        link = (row.get("Link to datasheet") or "").strip().split()
        chip["source_ids"] = [release.source_id]
        chip["note"] = ("Values as Epoch AI's chip dataset records them (peaks as listed, which may include "
                        "sparsity)" + (f"; Epoch's datasheet link: {link[0]}" if link else "") + ". "
                        + (mapped.get("note") or "")).strip()
        result.add("chips", chip)
    for name in sorted(set(wanted) - found):
        result.miss("hardware the mapping lists but the dataset does not hold", name)
    return result
