"""The label every published page and sheet carries: the basis of its numbers and the scenario.

A printed page or a copied sheet travels without the rest of the run, so each one says what its
current posts are (the establishment's label, or the per-row ``basis`` values when the table has
them: a public baseline can mix published rows with modelled ones) and which scenario made it
(name and digest). The text always comes from the data and the run's metadata, never from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from fairshare.training_year import date_in_text, first_year_to_come, year_status

__all__ = [
    "RunLabel",
    "basis_counts",
    "basis_text",
    "establishment_caveat",
    "run_date",
    "run_label",
    "years_caveat",
    "years_status",
]

#: The per-row column saying where a row's current posts come from.
BASIS_COLUMN = "basis"
#: The per-row column saying how posts were carried to another level (ICB estimates).
LEVEL_BASIS_COLUMN = "current_basis"


@dataclass(frozen=True)
class RunLabel:
    """What a page footer or a sheet header says about its numbers."""

    basis: str
    scenario: str
    digest: str
    demonstration: bool

    @property
    def scenario_text(self) -> str:
        """"Scenario <name> (digest <d>)", or the name alone when there is no digest."""
        digest = f" (digest {self.digest})" if self.digest else ""
        return f"Scenario {self.scenario}{digest}"

    @property
    def line(self) -> str:
        """One line: basis, then scenario."""
        return f"Basis: {self.basis} \u00b7 {self.scenario_text}"


def _values(column: pd.Series) -> str:
    """A column's distinct values, with the number of rows of each when there are several."""
    counts = column.dropna().astype(str).value_counts(sort=True)
    if len(counts) == 1:
        return str(counts.index[0])
    return "; ".join(f"{value} ({n:,} rows)" for value, n in counts.items())


def basis_text(table: pd.DataFrame | None, establishment: Any = None) -> str:
    """The basis of a table's numbers, in words short enough for a page footer.

    The per-row ``basis`` value when every row of the table shares one (an area's or a
    specialty's rows); else the establishment's label (which summarises a mixed basis, e.g. a
    public baseline with modelled specialties); with neither, the per-row values with the number
    of rows of each. Followed by how posts were carried to the table's level when a
    ``current_basis`` column says so (ICB figures estimated from local offices).
    """
    rows = table if table is not None else pd.DataFrame()

    def given(column: str) -> bool:
        return column in rows.columns and bool(rows[column].notna().any())

    distinct = rows[BASIS_COLUMN].dropna().astype(str).nunique() if given(BASIS_COLUMN) else 0
    if distinct == 1 or (distinct and not establishment):
        text = _values(rows[BASIS_COLUMN])
    elif establishment:
        text = str(establishment)
    elif given("baseline"):
        text = str(rows["baseline"].dropna().iloc[0])
    else:
        text = "not stated"
    if given(LEVEL_BASIS_COLUMN):
        text += f" \u2014 {_values(rows[LEVEL_BASIS_COLUMN])}"
    return text


def basis_counts(table: pd.DataFrame | None) -> list[tuple[str, int]]:
    """Each per-row basis value and its number of rows, most rows first (empty without one)."""
    if table is None or BASIS_COLUMN not in table.columns:
        return []
    counts = table[BASIS_COLUMN].dropna().astype(str).value_counts(sort=True)
    return [(str(value), int(n)) for value, n in counts.items()]


def run_label(meta: Mapping[str, Any], table: pd.DataFrame | None = None) -> RunLabel:
    """The label of a run (``publish.outputs.run_metadata``) and one of its tables."""
    scenario = meta.get("scenario")
    if isinstance(scenario, Mapping):
        name = scenario.get("name")
    else:
        name = scenario or meta.get("scenario_name")
    if not name and table is not None and "scenario" in table.columns and len(table):
        name = table["scenario"].iloc[0]
    return RunLabel(basis=basis_text(table, meta.get("establishment")),
                    scenario=str(name or "unnamed"),
                    digest=str(meta.get("scenario_digest") or ""),
                    demonstration=bool(meta.get("demonstration_baseline")))


def run_date(meta: Mapping[str, Any]) -> date:
    """The day the run was made (``as_of`` in its metadata), which decides which plan years
    were already past; today when the metadata does not say."""
    try:
        return date.fromisoformat(str(meta.get("as_of")))
    except ValueError:
        return date.today()


def years_status(years: Iterable[int], meta: Mapping[str, Any]) -> list[str]:
    """"reconstruction" or "to come" for each plan year, as of the run's date."""
    day = run_date(meta)
    return [year_status(int(y), day) for y in years]


def years_caveat(years: Iterable[int], meta: Mapping[str, Any]) -> str | None:
    """What a table's plan years are: those whose recruitment round was past when the run was
    made are a reconstruction of what the method would have done, never moves still to make
    (None when every year is still to come)."""
    span = sorted({int(y) for y in years})
    if not span:
        return None
    day = run_date(meta)
    now = first_year_to_come(day)
    past = [y for y in span if y < now]
    if not past:
        return None
    done = f"{past[0]}" if len(past) == 1 else f"{past[0]}–{past[-1]}"
    coming = [y for y in span if y >= now]
    rest = (f"; {coming[0]} on are moves still to make" if coming
            else "; no year of this plan is still to come")
    return (f"Plan years {done} are a reconstruction: their August recruitment was past on "
            f"{day.isoformat()}, so their moves are what the method would have done, not moves "
            f"still to make{rest}.")


def establishment_caveat(meta: Mapping[str, Any]) -> str | None:
    """What the current posts are when they are not funded posts: the public baseline counts
    doctors in training in post on one day (NHS Digital), before the programme began."""
    text = str(meta.get("establishment") or "")
    if "staff in post" not in text.lower():
        return None
    counted = meta.get("establishment_date")
    when = date_in_text(str(counted)) if counted else date_in_text(text)
    day = f" on {when.day} {when:%B %Y}" if when else ""
    return (f"The current posts are NHS Digital's count of doctors in training in post{day} "
            "(FTE made whole posts), not funded training posts: no public table of funded "
            "posts per local office and specialty exists. Give your own establishment file "
            "(--posts) for funded posts.")
