"""Errors a planner can act on.

Every problem with a user's input names the file, the row and the column, and says what was
expected, so that the CLI can print it instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class FairshareError(Exception):
    """Base class for errors the CLI reports as a clear message (exit code 2)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


class InputError(FairshareError):
    """One or more problems with an input file; all are reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        head = f"{count} problem{'s' if count != 1 else ''} found"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in problems))


class ScenarioError(FairshareError):
    """A scenario file or value that cannot be used."""
