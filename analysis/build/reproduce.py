"""Re-execute the book with numpy's SIMD dispatch reduced to its baseline, to prove that the recorded
outputs do not depend on the processor.

numpy picks, at import time, the fastest kernels the processor supports (``numpy.show_runtime()``
lists them). Kernels for different instruction sets may round differently in the last bit of a
float. The book rounds every number where it is emitted (``analysis.precision``), so the recorded
outputs must come out byte-identical whichever kernels ran. This module checks that claim: it runs
every chapter and every parametrized analysis again in a child process whose environment sets
``NPY_DISABLE_CPU_FEATURES`` to every dispatch target above numpy's baseline that this processor has
(the papermill kernels inherit the environment), and compares the results with the recorded ones.

    python -m analysis.build.reproduce OUT_DIR

writes the re-executed chapters and analysis results into ``OUT_DIR`` and ``OUT_DIR/runtime.json``
(the dispatch targets numpy reports as enabled in the child). ``compare`` lists every difference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from analysis import paths
from analysis.build import analyses, notebooks, pipeline

DISABLE_ENV = "NPY_DISABLE_CPU_FEATURES"
RUNTIME_FILE = "runtime.json"


def dispatch_state() -> dict[str, object]:
    """numpy's baseline, its dispatch targets, and which of them are enabled in this process."""
    from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__

    return {
        "baseline": list(__cpu_baseline__),
        "dispatch": list(__cpu_dispatch__),
        "enabled": [f for f in __cpu_dispatch__ if __cpu_features__.get(f)],
    }


def features_above_baseline() -> list[str]:
    """The dispatch targets above numpy's baseline that this processor supports (natively enabled)."""
    return list(dispatch_state()["enabled"])  # type: ignore[arg-type]


def baseline_environment() -> dict[str, str]:
    """This process's environment with every above-baseline dispatch target disabled."""
    env = dict(os.environ)
    env[DISABLE_ENV] = ",".join(features_above_baseline())
    return env


def reexecute(root: Path, out_dir: Path) -> None:
    """Run every chapter (with its recorded parameters) and every analysis run into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RUNTIME_FILE).write_text(json.dumps(dispatch_state(), indent=2) + "\n", encoding="utf-8")
    store_path = root / paths.DATA / "inference.duckdb"
    state = pipeline.load_state(root / paths.CHAPTERS / pipeline.STATE_FILE.name)
    for nb_path in pipeline.chapter_notebooks(root):
        params = state.get(nb_path.relative_to(root).as_posix(), {}).get("parameters", {})
        nb, _, _ = pipeline.execute(nb_path, store_path, params)
        notebooks.write_notebook(nb, out_dir / nb_path.name)
    for name, spec in analyses.load_runs(root).items():
        notebook = root / paths.ANALYSES / spec["notebook"]
        for i, params in enumerate(spec["runs"]):
            target = out_dir / f"{name}-{i}.csv"
            pipeline.run_notebook(notebook, out_dir / f"{name}-{i}.ipynb",
                                  {**params, "store": str(store_path), "out": str(target)})


def run_at_baseline(root: Path, out_dir: Path, *, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """``reexecute`` in a child process with numpy reduced to its baseline kernels."""
    return subprocess.run([sys.executable, "-m", "analysis.build.reproduce", str(out_dir)], cwd=root,
                          env=baseline_environment(), capture_output=True, text=True, timeout=timeout)


def compare(root: Path, out_dir: Path) -> list[str]:
    """Every re-executed file that is not byte-identical to the recorded one, with where it differs."""
    differences = []
    for nb_path in pipeline.chapter_notebooks(root):
        again = out_dir / nb_path.name
        if not again.exists():
            differences.append(f"{nb_path.name}: not re-executed")
        elif again.read_bytes() != nb_path.read_bytes():
            differences.append(f"{nb_path.name}: {_first_difference(nb_path, again)}")
    for name, spec in analyses.load_runs(root).items():
        for i in range(len(spec["runs"])):
            recorded = root / analyses.CACHE_DIR / f"{name}-{i}.csv"
            again = out_dir / f"{name}-{i}.csv"
            if not recorded.exists() or not again.exists():
                differences.append(f"analysis {name}[{i}]: missing ({recorded} or {again})")
            elif recorded.read_bytes() != again.read_bytes():
                differences.append(f"analysis {name}[{i}]: {_first_line_difference(recorded, again)}")
    return differences


def _first_difference(recorded: Path, again: Path) -> str:
    import nbformat

    a = nbformat.read(recorded, as_version=4)
    b = nbformat.read(again, as_version=4)
    for index, (ca, cb) in enumerate(zip(a.cells, b.cells)):
        if ca.get("outputs") != cb.get("outputs") or ca.source != cb.source:
            ta, tb = json.dumps(ca.get("outputs"), sort_keys=True), json.dumps(cb.get("outputs"), sort_keys=True)
            at = next((k for k in range(min(len(ta), len(tb))) if ta[k] != tb[k]), min(len(ta), len(tb)))
            return (f"cell {index} (execution count {ca.get('execution_count')}) differs at character {at}: "
                    f"recorded ...{ta[max(0, at - 60):at + 60]}... re-executed ...{tb[max(0, at - 60):at + 60]}...")
    return "notebook metadata or cell count differs"


def _first_line_difference(recorded: Path, again: Path) -> str:
    a = recorded.read_text(encoding="utf-8").splitlines()
    b = again.read_text(encoding="utf-8").splitlines()
    for number, (la, lb) in enumerate(zip(a, b), 1):
        if la != lb:
            return f"line {number}: recorded {la!r}, re-executed {lb!r}"
    return f"{len(a)} lines recorded, {len(b)} re-executed"


if __name__ == "__main__":
    reexecute(Path.cwd(), Path(sys.argv[1]))
