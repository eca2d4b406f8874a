"""What is wrong with a data file: a ``Problem`` names the file, the line, the column and what was
expected; ``ValidationError`` carries every problem of a run at once.

``file_label`` names a file as the user knows it (relative to the working directory when it is
below it). ``MAX_REPORTS_PER_CHECK`` is how many cells one check names before it counts the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis.errors import InputError

MAX_REPORTS_PER_CHECK = 10


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a data file."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{where}: {self.message}"


class ValidationError(InputError):
    """The data files have problems; ``problems`` lists every one."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__(self.report())

    def report(self) -> str:
        head = f"{len(self.problems)} problem(s) in the data; the store was not changed."
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


def file_label(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
