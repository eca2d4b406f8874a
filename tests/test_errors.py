"""One error type per failure the user can act on: each carries the exit status README.md documents,
and the command line ends with that status (run in this process: no kernel, no store, no build)."""

from __future__ import annotations

import ast
import importlib
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from analysis import cli, errors, paths
from analysis.build import analyses, failures, html_build, limits, lock, parameters, pipeline, publish
from analysis.cli import book_commands
from analysis.data import contracts, safety, sandbox, validation
from analysis.importers import common
from analysis.rules import forecast_rules

EXIT_STEP, EXIT_INPUT, EXIT_LOCKED = 1, 2, 3  # README.md, "Exit codes"

CLASSES: list[tuple[type[errors.BookError], int, type[Exception]]] = [
    (errors.StepError, EXIT_STEP, Exception),
    (errors.InputError, EXIT_INPUT, Exception),
    (errors.LockedError, EXIT_LOCKED, Exception),
    (validation.ValidationError, EXIT_INPUT, Exception),
    (contracts.SchemaError, EXIT_INPUT, ValueError),
    (safety.UnsafeName, EXIT_INPUT, ValueError),
    (sandbox.RuleRefused, EXIT_INPUT, ValueError),
    (common.ReleaseError, EXIT_INPUT, ValueError),
    (parameters.ParameterError, EXIT_INPUT, ValueError),
    (limits.LimitError, EXIT_INPUT, ValueError),
    (forecast_rules.ForecastError, EXIT_INPUT, ValueError),
    (failures.BuildRefused, EXIT_INPUT, failures.BuildFailed),
    (failures.BuildFailed, EXIT_STEP, Exception),
    (analyses.AnalysisFailed, EXIT_STEP, Exception),
    (pipeline.ChapterFailed, EXIT_STEP, Exception),
    (pipeline.CellTimeout, EXIT_STEP, pipeline.ChapterFailed),
    (html_build.HtmlFailed, EXIT_STEP, RuntimeError),
    (publish.PdfFailed, EXIT_STEP, RuntimeError),
    (lock.BuildLocked, EXIT_LOCKED, Exception),
]
KIND = {EXIT_STEP: errors.StepError, EXIT_INPUT: errors.InputError, EXIT_LOCKED: errors.LockedError}


@pytest.mark.parametrize(("kind", "code", "base"), CLASSES, ids=[c.__name__ for c, _, _ in CLASSES])
def test_each_error_carries_its_documented_exit_status(kind: type[errors.BookError], code: int,
                                                       base: type[Exception]) -> None:
    assert kind.exit_code == code
    assert issubclass(kind, KIND[code]), f"{kind.__name__} should be a {KIND[code].__name__}"
    assert issubclass(kind, base), f"{kind.__name__} lost its base {base.__name__}"


def test_a_build_failure_keeps_its_step_message_and_code() -> None:
    failed, refused = failures.BuildFailed("html", "it broke"), failures.BuildRefused("check", "bad value")
    assert (failed.step, failed.message, failed.code, str(failed)) == ("html", "it broke", 1, "html failed: it broke")
    assert (refused.code, refused.exit_code) == (2, 2)


def test_every_exception_class_of_the_package_is_a_book_error() -> None:
    found = []
    for path in sorted(paths.PACKAGE.rglob("*.py")):
        rel = path.relative_to(paths.PACKAGE).with_suffix("")
        if rel.name == "__main__":
            continue
        name = ".".join(["analysis", *[p for p in rel.parts if p != "__init__"]])
        module = importlib.import_module(name)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                obj = getattr(module, node.name)
                if isinstance(obj, type) and issubclass(obj, BaseException) and not issubclass(obj, errors.BookError):
                    found.append(f"{name}.{node.name}")
    assert found == []


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., tuple[int, str]]]:
    """``python -m analysis ARGS`` in this process: (exit status, stderr); SIGTERM's handler restored."""
    previous = signal.getsignal(signal.SIGTERM)

    def run(*argv: str) -> tuple[int, str]:
        code = cli.main(list(argv))
        return code, capsys.readouterr().err

    yield run
    signal.signal(signal.SIGTERM, previous)


def test_a_bad_params_string_ends_with_the_input_status(data_dir: Path, run_cli: Callable[..., tuple[int, str]],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(book_commands.PARAMS_ENV, "as_of")
    code, err = run_cli("build", "--root", str(data_dir.parent))
    assert code == EXIT_INPUT
    assert err.startswith("error: check step failed: a parameter is NAME=VALUE")
    assert "nothing was changed" in err


def test_a_malformed_data_folder_ends_with_the_input_status(data_dir: Path,
                                                            run_cli: Callable[..., tuple[int, str]]) -> None:
    widgets = data_dir / "widgets.csv"
    widgets.write_text(widgets.read_text(encoding="utf-8").replace(",80,", ",lots,"), encoding="utf-8")
    code, err = run_cli("validate", "--data", str(data_dir))
    assert code == EXIT_INPUT
    assert "1 problem(s) in the data" in err and "line 2, column 'memory_gb'" in err


def test_a_missing_store_ends_with_the_input_status(tmp_path: Path, run_cli: Callable[..., tuple[int, str]]) -> None:
    code, err = run_cli("forecasts", "--store", str(tmp_path / "none.duckdb"))
    assert (code, err) == (EXIT_INPUT, f"error: no store at {tmp_path / 'none.duckdb'}; build it with `make store`\n")


def test_a_held_lock_ends_with_the_locked_status(data_dir: Path, run_cli: Callable[..., tuple[int, str]]) -> None:
    with lock.BuildLock(data_dir.parent, "build"):
        code, err = run_cli("store", "--root", str(data_dir.parent))
    assert code == EXIT_LOCKED
    assert err.startswith("error: another build or rerun of this book is running")


def test_a_full_disk_at_check_ends_with_the_step_status(data_dir: Path, run_cli: Callable[..., tuple[int, str]],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=1, used=1, free=0))
    code, err = run_cli("store", "--root", str(data_dir.parent))
    assert code == EXIT_STEP
    assert err.startswith("error: check step failed: not enough free disk space")
    assert not (data_dir.parent / paths.NEXT).exists()
