"""Which plan years are still to come, and which are already a reconstruction.

Specialty training posts are filled once a year, for a training year that starts in August. An
establishment counted on a date can first change at the next August round after it, and a
plan year whose August round is already past on the day the plan is made cannot be acted on any
more: the plan's moves for it are a reconstruction of what the method would have done, never
moves still to make. Every plan output labels its years by this rule (docs/outputs.md).
"""

from __future__ import annotations

import re
from datetime import date

ROUND_MONTH = 8  # the training year (and so each year's posts) starts in August
RECONSTRUCTION = "reconstruction"
TO_COME = "to come"

_MONTHS = {m: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")], start=1) for m in names}
_ISO = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")
_WORDS = re.compile(r"\b(?:(\d{1,2})\s+)?([A-Za-z]{3,9})\.?\s+(\d{4})\b")


def next_round(day: date) -> int:
    """The first August recruitment round after ``day`` (an establishment counted then)."""
    return day.year if day < date(day.year, ROUND_MONTH, 1) else day.year + 1


def first_year_to_come(today: date) -> int:
    """The first plan year whose recruitment round is not yet past on ``today``."""
    return next_round(today)


def year_status(year: int, today: date) -> str:
    """"reconstruction" for a year whose round is past on ``today``, else "to come"."""
    return RECONSTRUCTION if year < first_year_to_come(today) else TO_COME


def parse_date(text: str) -> date:
    """A date typed as YYYY-MM-DD or YYYY-MM (first of the month); ValueError otherwise."""
    found = _ISO.match(text.strip())
    if not found:
        raise ValueError(f"'{text}' is not a date: give YYYY-MM or YYYY-MM-DD, e.g. 2026-03")
    year, month, day = int(found[1]), int(found[2]), int(found[3] or 1)
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a date: {exc}") from exc


def date_in_text(text: str) -> date | None:
    """The date a label states ("30 Sept 2017", "September 2017", "dated 2026-03-01")."""
    for part in re.findall(r"\d{4}-\d{1,2}(?:-\d{1,2})?", text):
        try:
            return parse_date(part)
        except ValueError:
            continue
    for day, month, year in _WORDS.findall(text):
        number = _MONTHS.get(month.lower())
        if number is not None:
            try:
                return date(int(year), number, int(day or 1))
            except ValueError:
                continue
    return None
