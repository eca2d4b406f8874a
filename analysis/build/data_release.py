"""The data release beside the HTML book: ``_build/html/data/`` holds what a reader may download.

``publish`` copies into ``<html>/data/`` every table's CSV, its contract (``<table>.meta.yml``), the
Data Package descriptor (``datapackage.json``, ``analysis.data.datapackage``) and the DuckDB store
(``inference.duckdb``), with an index of them: ``index.json`` (for programs) and ``index.html`` (for
people), each file with its size, SHA-256, licence and, for a table, its title, row count and origin.
Only regular files are copied (a link, FIFO or device in the data folder is refused, never followed),
and the release is written beside the old one and renamed over it, so a failed copy leaves the old one.
The index is deterministic: no dates, only what the files say.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from analysis import escape, paths
from analysis.data import datapackage, store
from analysis.data.contracts import SIDECAR_SUFFIX, load_schema
from analysis.errors import InputError

RELEASE_DIR = paths.RELEASE_DIR
INDEX_JSON = "index.json"
INDEX_HTML = "index.html"
CHUNK = 1 << 20
UPSTREAM_NOTE = ("Each row names its sources in source_ids; sources.csv records the licence under which each "
                 "source was published. Cite the original source of a value as well as the book.")


class ReleaseError(InputError):
    """A file of the data folder cannot be released (not a regular file, or missing)."""


@dataclass(frozen=True)
class ReleasedFile:
    """One file of the release, as the index describes it."""

    name: str
    kind: str
    bytes: int
    sha256: str
    licences: list[str]
    title: str = ""
    rows: int | None = None
    source: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def release_files(data_dir: Path) -> list[tuple[Path, str]]:
    """(file, kind) for everything released from ``data_dir``, in the index's order: each table's CSV
    and contract (by table name), then the descriptor and the store when they exist."""
    files: list[tuple[Path, str]] = []
    for sidecar in sorted(data_dir.glob(f"*{SIDECAR_SUFFIX}")):
        files.append((sidecar.with_name(sidecar.name[: -len(SIDECAR_SUFFIX)] + ".csv"), "table"))
        files.append((sidecar, "contract"))
    for name, kind in ((datapackage.DESCRIPTOR_NAME, "descriptor"), (store.STORE_NAME, "store")):
        if (data_dir / name).exists() or (data_dir / name).is_symlink():
            files.append((data_dir / name, kind))
    return files


def _copy_regular(src: Path, dst: Path) -> str:
    """Copy ``src`` (a regular file, opened without following a link) to the new file ``dst``; returns
    its SHA-256."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ReleaseError(f"{src}: missing, so the data release cannot include it") from None
    except OSError as exc:
        raise ReleaseError(f"{src}: cannot be released ({exc.strerror}); a released file must be a "
                           "regular file, not a link") from None
    digest = hashlib.sha256()
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ReleaseError(f"{src}: not a regular file, so it is not released")
        with os.fdopen(os.dup(fd), "rb") as source, open(dst, "xb") as target:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                target.write(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()


def _count_rows(path: Path) -> int:
    """The records of a CSV after its header."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return max(sum(1 for _ in csv.reader(handle)) - 1, 0)


def _describe(path: Path, kind: str, sha256: str, table_licences: list[str]) -> ReleasedFile:
    """What the index says of one released file (``path`` is the copy)."""
    size = path.stat().st_size
    if kind in ("table", "contract"):
        table = path.name[: -len(".csv")] if kind == "table" else path.name[: -len(SIDECAR_SUFFIX)]
        schema = load_schema(path.with_name(f"{table}{SIDECAR_SUFFIX}"))
        rows = _count_rows(path) if kind == "table" else None
        title = schema.title if kind == "table" else f"The contract of {table}.csv"
        return ReleasedFile(path.name, kind, size, sha256, [schema.origin.licence], title, rows, schema.origin.url,
                            {"citation": schema.origin.citation} if kind == "table" else {})
    titles = {"descriptor": "The tables as a Frictionless Data Package (frictionless validate datapackage.json)",
              "store": "Every table and the analyses' derived tables in one DuckDB file"}
    return ReleasedFile(path.name, kind, size, sha256, table_licences, titles.get(kind, kind))


def publish(data_dir: Path, html_dir: Path) -> Path:
    """Release the data of ``data_dir`` into ``html_dir/data`` (replacing an earlier release there);
    returns that folder. Raises ``ReleaseError`` when a file cannot be released; ``html_dir`` is then
    as it was."""
    target = html_dir / RELEASE_DIR
    staging = html_dir / f".{RELEASE_DIR}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        files = release_files(data_dir)
        digests = [(staging / src.name, kind, _copy_regular(src, staging / src.name)) for src, kind in files]
        licences = sorted({load_schema(p).origin.licence for p, kind in files if kind == "contract"})
        index = [_describe(path, kind, sha, licences) for path, kind, sha in digests]
        (staging / INDEX_JSON).write_text(index_json(index), encoding="utf-8")
        (staging / INDEX_HTML).write_text(index_html(index), encoding="utf-8")
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def index_json(files: list[ReleasedFile]) -> str:
    """The index for programs: every file with its kind, size, SHA-256, licences and what it holds."""
    entries = [{k: v for k, v in asdict(f).items() if v not in (None, "", {})} for f in files]
    return json.dumps({"files": entries, "note": UPSTREAM_NOTE}, indent=2, ensure_ascii=False) + "\n"


def _size(n: int) -> str:
    """A size for people: bytes, kB or MB (decimal units)."""
    if n < 1000:
        return f"{n} B"
    return f"{n / 1000:.1f} kB" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"


def index_html(files: list[ReleasedFile]) -> str:
    """The index for people: one row per file, linking to it; every value escaped."""
    rows = []
    for f in files:
        link = f'<a href="{escape.html_text(f.name)}">{escape.html_text(f.name)}</a>'
        count = "" if f.rows is None else f"{f.rows:,}"
        rows.append(f"<tr><td>{link}</td><td>{escape.html_text(f.title)}</td><td>{count}</td>"
                    f"<td>{escape.html_text(_size(f.bytes))}</td><td>{escape.html_text(', '.join(f.licences))}</td>"
                    f"<td><code>{escape.html_text(f.sha256)}</code></td></tr>")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>The Inference Cost Book: data</title></head><body><main>",
        "<h1>The book's data</h1>",
        f"<p>{escape.html_text(UPSTREAM_NOTE)} The machine-readable index is "
        f'<a href="{INDEX_JSON}">{INDEX_JSON}</a>.</p>',
        "<table><thead><tr><th>file</th><th>what it holds</th><th>rows</th><th>size</th><th>licence</th>"
        "<th>SHA-256</th></tr></thead><tbody>", *rows, "</tbody></table></main></body></html>", ""])
