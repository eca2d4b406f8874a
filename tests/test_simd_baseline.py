"""Recorded outputs do not depend on which SIMD kernels numpy dispatches to.

Every chapter and every parametrized analysis is executed again with numpy reduced to its baseline
kernels (``NPY_DISABLE_CPU_FEATURES`` set to every dispatch target above the baseline that this
processor has), and each result must be byte-identical to the one recorded by the native build.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.build import reproduce

pytestmark = [pytest.mark.build, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("simd-baseline")
    done = reproduce.run_at_baseline(ROOT, out)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_the_baseline_run_takes_another_code_path_than_native(baseline_run: Path) -> None:
    native = reproduce.dispatch_state()
    child = json.loads((baseline_run / reproduce.RUNTIME_FILE).read_text())
    # On any x86-64 processor numpy 2 has dispatch targets above its baseline (X86_V2); if this
    # processor enabled none of them the test would prove nothing, so it fails instead of passing.
    assert native["enabled"], f"numpy dispatches nothing above {native['baseline']} here: {native}"
    assert child["enabled"] == [], f"the child still dispatched to {child['enabled']}"
    assert child["baseline"] == native["baseline"]


def test_chapters_and_analyses_reproduce_byte_for_byte_at_the_baseline(baseline_run: Path) -> None:
    differences = reproduce.compare(ROOT, baseline_run)
    assert not differences, "outputs differ at numpy's baseline kernels:\n" + "\n".join(differences)
