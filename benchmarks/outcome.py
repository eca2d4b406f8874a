"""What a measurement reports: table rows, each with its budget if it has one, and the numbers behind them.

Every ``measure_*`` function of the benchmarks returns an ``Outcome``; ``benchmarks.report`` prints
and writes them in ``MEASUREMENTS`` order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MEASUREMENTS = ("clean", "floor", "rebuild", "rerun", "sweep", "store", "pages", "import")


@dataclass
class Budget:
    """One budget line: what was measured, the limit, and whether it was met."""

    name: str
    value: str
    limit: str
    met: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "limit": self.limit, "met": self.met}


@dataclass
class Row:
    """One line of the results table."""

    measurement: str
    result: str
    budget: Budget | None = None


@dataclass
class Outcome:
    """What one measurement found: table rows, budgets and the numbers behind them."""

    name: str
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def budgets(self) -> list[Budget]:
        return [r.budget for r in self.rows if r.budget is not None]


def within(value: float, limit: float, *, at_most: bool = True) -> bool:
    """Whether ``value`` meets a budget of at most (or, ``at_most=False``, at least) ``limit``."""
    return value <= limit if at_most else value >= limit
