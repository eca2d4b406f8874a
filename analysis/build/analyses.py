"""Parametrized analyses run by papermill while the store is built; their results become store tables.

``analyses/runs.yml`` lists each analysis: a notebook in ``analyses/``, the store table its results
form, and one or more parameter sets. While a new store is being built (in its temporary file, before it
is renamed into place), each run is executed by papermill with ``store`` pointing at that file and
``out`` at a CSV the notebook writes; the CSVs of all runs of an analysis are concatenated (with a
``run`` column) and loaded into the store as the analysis's table, listed in ``_tables`` like any other.
Chapters read these tables, so the flow stays data -> store (base tables, then derived tables) ->
chapters.

A run is skipped, and its previous CSV reused, when nothing it depends on has changed: its notebook's
cells, its parameters, the content of the store tables it read last time, and the ``analysis`` modules
it computes with (the cache is in ``_build/analyses``, keyed by a hash of those inputs).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import nbformat
import pandas as pd
import yaml

from analysis import paths
from analysis.build import notebooks, pipeline
from analysis.data.safety import quote_ident
from analysis.errors import StepError

RUNS_FILE = paths.ANALYSES / "runs.yml"
CACHE_DIR = paths.ANALYSES_CACHE


class AnalysisFailed(StepError):
    """An analysis notebook raised; the store was not swapped in."""


# The layers an analysis notebook may compute with: the package's base modules (paths, escape,
# precision) and the data, models and rules layers. The book and build layers and the command line
# are tooling: changing them re-runs no analysis.
TOOLING = ("book", "build", "cli", "__main__.py")


def code_digest() -> str:
    """Hash of the ``analysis`` modules an analysis notebook may compute with (not the tooling)."""
    h = hashlib.sha256()
    for path in sorted(paths.PACKAGE.rglob("*.py")):
        rel = path.relative_to(paths.PACKAGE)
        if rel.parts[0] not in TOOLING:
            h.update(rel.as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def inputs_bytes(root: Path) -> bytes:
    """Every analysis input (runs.yml, the notebooks, the modules they compute with), for the store's
    digest."""
    folder = root / paths.ANALYSES
    if not folder.is_dir():
        return b""
    files = b"".join(p.name.encode() + p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())
    return files + code_digest().encode()


def load_runs(root: Path) -> dict[str, dict[str, Any]]:
    path = root / RUNS_FILE
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _source_hash(path: Path) -> str:
    return notebooks.source_hash(nbformat.read(path, as_version=4))


def _table_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    frame = con.execute("SELECT table_name, sha256 FROM _tables").df()
    return dict(zip(frame["table_name"], frame["sha256"]))


def _key(source: str, params: dict[str, Any], read: dict[str, str | None]) -> str:
    payload = json.dumps({"source": source, "params": params, "read": read, "code": code_digest()},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def run_all(root: Path, store_path: Path, *, echo: Callable[[str], None] = print) -> dict[str, tuple[pd.DataFrame, str, str]]:
    """Run (or reuse) every analysis against ``store_path``; table name -> (frame, sha256, description)."""
    import papermill

    runs = load_runs(root)
    if not runs:
        return {}
    cache = root / CACHE_DIR
    cache.mkdir(parents=True, exist_ok=True)
    index_path = cache / "index.json"
    index: dict[str, Any] = json.loads(index_path.read_text()) if index_path.exists() else {}
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        hashes = _table_hashes(con)
    finally:
        con.close()
    results: dict[str, tuple[pd.DataFrame, str, str]] = {}
    for name, spec in runs.items():
        notebook = root / paths.ANALYSES / spec["notebook"]
        source = _source_hash(notebook)
        frames = []
        digest = hashlib.sha256()
        for i, params in enumerate(spec["runs"]):
            run_id = f"{name}[{i}]"
            recorded = index.get(run_id, {})
            read = {t: hashes.get(t) for t in recorded.get("tables", [])}
            key = _key(source, params, read)
            cached = cache / f"{name}-{i}.csv"
            if recorded.get("key") != key or not cached.exists():
                echo(f"analysis {run_id}: executing {notebook.relative_to(root)} with papermill")
                with tempfile.TemporaryDirectory(prefix="analysis-") as tmp:
                    out = Path(tmp) / "out.csv"
                    try:
                        read = pipeline.run_notebook(notebook, Path(tmp) / notebook.name,
                                                     {**params, "store": str(store_path), "out": str(out)})
                    except papermill.PapermillExecutionError as exc:
                        raise AnalysisFailed(f"{run_id} raised {exc.ename}: {exc.evalue}") from None
                    tables = sorted({e.split("#", 1)[0] for e in read if not e.startswith("py:")})
                    shutil.copy(out, cached)
                index[run_id] = {"key": _key(source, params, {t: hashes.get(t) for t in tables}), "tables": tables}
                index_path.write_text(json.dumps(index, indent=2, sort_keys=True))
            raw = cached.read_bytes()
            digest.update(raw)
            frames.append(pd.read_csv(cached).assign(run=i))
        frame = pd.concat(frames, ignore_index=True)
        results[spec["table"]] = (frame, digest.hexdigest(), str(spec.get("description", name)))
    return results


def add_to_store(con: duckdb.DuckDBPyConnection, results: dict[str, tuple[pd.DataFrame, str, str]], root: Path) -> None:
    """Write each analysis's rows into the open store and list them in ``_tables``."""
    runs = {spec["table"]: (name, spec) for name, spec in load_runs(root).items()}
    for table, (frame, sha, description) in sorted(results.items()):
        name, spec = runs[table]
        con.register("incoming", frame)
        con.execute(f"CREATE OR REPLACE TABLE {quote_ident(table)} AS SELECT * FROM incoming")
        con.unregister("incoming")
        con.execute(
            "INSERT INTO _tables (table_name, title, description, origin_title, producer, url, date_accessed, "
            "licence, citation, primary_key, row_count, sha256, file) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)",
            [table, f"Derived: {name}", description, f"Analysis {spec['notebook']}", "this book (papermill run)",
             f"analyses/{spec['notebook']}", "CC-BY-4.0", f"Computed by analyses/{spec['notebook']} from the store.",
             "", len(frame), sha, f"analyses/{spec['notebook']}"])


def extend_store(root: Path, store_path: Path, *, echo: Callable[[str], None] = print) -> None:
    """Run the analyses against the store being built and add their tables to it."""
    results = run_all(root, store_path, echo=echo)
    if not results:
        return
    con = duckdb.connect(str(store_path))
    try:
        add_to_store(con, results, root)
        con.execute("CHECKPOINT")
    finally:
        con.close()
