"""Importers: public releases to the book's tables (releases -> importers -> ``data/``).

One module per public format: ``mlperf`` (MLPerf Inference ``summary_results.json``), ``litellm``
(a LiteLLM ``model_prices_and_context_window.json`` snapshot, or a change log of one over time) and
``epoch`` (Epoch AI's hardware prices and chip dataset). ``common`` holds the release, the error and the rerun-folder
writer. ``BOOK_RELEASES`` names the releases the committed tables were imported from, each with its
repository, commit and path, and the file name it has in a folder of raw releases (the
``../shared/raw`` of the book's authors); ``import_book`` re-imports all of them, which is how the
tests check that the committed tables are exactly what the importers make.

The importers read ``data/`` only for their mapping tables; the build never runs them, and nothing
they read reaches a page except as the tables' text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from analysis.importers.common import ImportResult, Release, ReleaseError, write_folder

__all__ = ["BOOK_RELEASES", "FORMATS", "ImportResult", "RawRelease", "Release", "ReleaseError", "import_book",
           "import_file", "release_for", "write_folder"]

FORMATS = ("mlperf", "litellm", "litellm-history", "epoch-hardware-prices", "epoch-chip-dataset")
DEFAULTS = {
    "mlperf": ("MLPerf Inference results (summary_results.json)", "MLCommons", "Apache-2.0"),
    "litellm": ("LiteLLM model price map (model_prices_and_context_window.json)", "BerriAI/LiteLLM contributors", "MIT"),
    "litellm-history": ("LiteLLM model price map, history of a public copy", "BerriAI/LiteLLM contributors", "MIT"),
    "epoch-hardware-prices": ("Hardware prices (Epoch AI)", "Epoch AI", "CC-BY-4.0"),
    "epoch-chip-dataset": ("Chip dataset (Epoch AI)", "Epoch AI", "CC-BY-4.0"),
}
ACCESSED = dt.date(2026, 12, 2)


@dataclass(frozen=True)
class RawRelease:
    """A release the book's tables were imported from, and its file in a folder of raw releases."""

    release: Release
    file: str


def release_for(fmt: str, *, source_id: str, repository: str, commit: str, path: str,
                published: dt.date | None = None, title: str | None = None, producer: str | None = None,
                licence: str | None = None, accessed: dt.date | None = None, note: str = "") -> Release:
    """A ``Release`` with the format's usual title, producer and licence unless given."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    d_title, d_producer, d_licence = DEFAULTS[fmt]
    return Release(source_id=source_id, format=fmt, repository=repository, commit=commit, path=path,
                   title=title or d_title, producer=producer or d_producer, licence=licence or d_licence,
                   published=published, accessed=accessed, note=note)


def _book(fmt: str, file: str, **kw: object) -> RawRelease:
    return RawRelease(release_for(fmt, accessed=ACCESSED, **kw), file)  # type: ignore[arg-type]


BOOK_RELEASES: tuple[RawRelease, ...] = (
    _book("mlperf", "mlperf/inference-v4.1-summary_results.json", source_id="mlperf-inference-v4.1",
          repository="mlcommons/inference_results_v4.1", commit="4a0c87411066bd697db46fa44cf6f04fd458f627",
          path="summary_results.json", published=dt.date(2024, 8, 28),
          title="MLPerf Inference v4.1 results (summary_results.json)"),
    _book("mlperf", "mlperf/inference-v5.1-summary_results.json", source_id="mlperf-inference-v5.1",
          repository="mlcommons/inference_results_v5.1", commit="965182b03376a00fcae415c54e560e1c83937932",
          path="summary_results.json", published=dt.date(2025, 9, 9),
          title="MLPerf Inference v5.1 results (summary_results.json)"),
    _book("mlperf", "mlperf/inference-v6.0-summary_results.json", source_id="mlperf-inference-v6.0",
          repository="gbeezybez/inference_results_v6.0", commit="232fbf90fceb1d55b633030556fb02deddb4517b",
          path="summary_results.json", published=dt.date(2026, 4, 1),
          title="MLPerf Inference v6.0 results (summary_results.json)",
          note="A public copy of mlcommons/inference_results_v6.0, which may not hold every submission; "
               "MLCommons published the round on 2026-04-01."),
    _book("litellm-history", "prices/litellm-price-history-tokencost.jsonl", source_id="litellm-history-tokencost",
          repository="AgentOps-AI/tokencost", commit="59042a13a4932cdade3f3f352a81b27ec4b2557a",
          path="tokencost/model_prices.json",
          title="LiteLLM model price map as committed to AgentOps-AI/tokencost, 2024-01-30 to 2025-09-01",
          note="Read as the change log of the first commit of each day."),
    _book("litellm-history", "prices/litellm-price-history-rocry.jsonl", source_id="litellm-history-rocry",
          repository="RoCry/llm-api-price", commit="8442b939a6ead479f7995b5d74d8dce488bd0966",
          path="model_prices_and_context_window.json",
          title="LiteLLM model price map as mirrored by RoCry/llm-api-price, 2025-02-06 to 2026-07-24",
          note="Read as the change log of the first commit of each day."),
    _book("epoch-hardware-prices", "epoch/hardware-prices.csv", source_id="epoch-hardware-prices",
          repository="epoch-research/training-cost-trends", commit="263c40a159307e917213d1dc433c617e47d55bfe",
          path="data/Hardware prices.csv", title="Hardware prices (Epoch AI, training-cost-trends data)"),
    _book("epoch-chip-dataset", "epoch/chip-dataset.csv", source_id="epoch-chip-dataset",
          repository="epoch-research/training-cost-trends", commit="263c40a159307e917213d1dc433c617e47d55bfe",
          path="data/Chip dataset-Grid view.csv", title="Chip dataset (Epoch AI, training-cost-trends data)"),
)


def import_file(path: Path, release: Release, data_dir: Path, *, snapshot_date: dt.date | None = None) -> ImportResult:
    """Import one release file in its format."""
    if release.format == "mlperf":
        from analysis.importers import mlperf

        return mlperf.import_summary(path, release, data_dir)
    if release.format in ("litellm", "litellm-history"):
        from analysis.importers import litellm

        if release.format == "litellm" and snapshot_date is None:
            raise ValueError("a LiteLLM snapshot needs the date it was taken (--date)")
        return litellm.import_prices(path, release, data_dir,
                                     snapshot_date=snapshot_date if release.format == "litellm" else None)
    if release.format == "epoch-hardware-prices":
        from analysis.importers import epoch

        return epoch.import_hardware_prices(path, release, data_dir)
    if release.format == "epoch-chip-dataset":
        from analysis.importers import epoch

        return epoch.import_chip_dataset(path, release, data_dir)
    raise ValueError(f"format {release.format!r} is not one of {', '.join(FORMATS)}")


def import_book(raw_dir: Path, data_dir: Path) -> list[ImportResult]:
    """Every release of ``BOOK_RELEASES`` from a folder of raw releases."""
    return [import_file(raw_dir / item.file, item.release, data_dir) for item in BOOK_RELEASES]
