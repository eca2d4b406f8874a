"""The book's one way of building a store: validated tables, checked forecast rules, derived tables.

``build`` is what ``make store``, ``make book`` and ``make rerun`` run inside the transaction of
``analysis.build.workflow`` (on the staged copy of ``data/``), what the command line runs for a store
outside the book (``python -m analysis store --data DIR --store FILE``), and what the tests and the
benchmarks build their stores with. It validates a data folder (``analysis.data.validation``), writes
the store (``analysis.data.store``) with the forecasts' rules checked in their sandbox
(``analysis.rules.forecast_rules.rule_problems``) and, given the root of a book, adds the tables of its
parametrized analyses (``analysis.build.analyses``) before the new store is renamed into place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from analysis import paths
from analysis.build import analyses
from analysis.data import store, validation
from analysis.rules import forecast_rules

CHECKS: tuple[store.Check, ...] = (forecast_rules.rule_problems,)


def build_tables(tables: Mapping[str, validation.LoadedTable], store_path: Path, *, root: Path | None = None,
                 digest: str | None = None, echo: Callable[[str], None] = print) -> Path:
    """Build ``store_path`` from tables already validated, with the book's checks and, when ``root``
    is given, the derived tables of its analyses."""
    extend = None if root is None else (lambda p: analyses.extend_store(root, p, echo=echo))
    return store.build(dict(tables), store_path, checks=CHECKS, extend=extend, digest=digest)


def build(data_dir: Path, store_path: Path | None = None, *, root: Path | None = None,
          echo: Callable[[str], None] = print) -> Path:
    """Validate ``data_dir`` and, only if every check passes, build its store (by default
    ``data_dir/inference.duckdb``) with the book's checks and, given ``root``, its analyses."""
    tables = validation.validate(data_dir)
    return build_tables(tables, store_path or data_dir / paths.STORE_NAME, root=root, echo=echo)
