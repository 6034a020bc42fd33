"""Fill rates by area × specialty × level: the modelled default and a user's ``--fill-rates``
file (issue 16; docs/fill.md).

A file has one row per area (local office name or code, or ``England`` for the national rate),
specialty and level, with ``fill_rate`` as a share (0.92) or a percentage (92%), and optionally
``basis`` (where the figure comes from; "given in FILE" when blank). Every problem is reported
with its file, row and column, and nothing is read until every row is sound.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fairshare.errors import InputError, Problem
from fairshare.inputs.bundle import Bundle, data_folder
from fairshare.inputs.posts import area_lookup, cell_text, read_table, suggest

__all__ = ["FILL_FILE", "TEMPLATE_COLUMNS", "default_fill_rates", "parse_fill_rates",
           "read_fill_rates"]

FILL_FILE = "fill_rates.csv"
TEMPLATE_COLUMNS = ["local_office", "specialty", "level", "fill_rate", "basis"]
NATIONAL = "England"
AREA_COLUMNS = ("local_office", "area", "deanery")


def default_fill_rates() -> pd.DataFrame:
    """The modelled fill rates of the data folder in use (scripts/build_fill_rates.py builds
    England's); empty for another geography's folder without one (every post then counts as
    filled, and the outputs say so)."""
    path = data_folder() / FILL_FILE
    if not path.exists():
        return pd.DataFrame(columns=["area", "specialty", "level", "fill_rate", "basis"])
    return pd.read_csv(path)


def read_fill_rates(path: str | Path, bundle: Bundle) -> pd.DataFrame:
    """A user's fill-rate file, validated: area, specialty, level, fill_rate, basis."""
    return parse_fill_rates(read_table(path), str(path), bundle)


def _share(text: str) -> float | str:
    """A fill rate as a share within 0-1, or the reason the text is not one."""
    if not text:
        return "empty: expected a fill rate such as 0.92 or 92%"
    percent = text.endswith("%")
    try:
        value = float(text.rstrip("%").strip())
    except ValueError:
        return f"'{text[:40]}' is not a number: expected a fill rate such as 0.92 or 92%"
    if value != value:
        return f"'{text[:40]}' is not a number: expected a fill rate such as 0.92 or 92%"
    if percent:
        value /= 100
    if not 0 <= value <= 1:
        return (f"{text[:40]} is outside 0-1: expected a share (0.92) or a percentage with "
                "a % sign (92%)")
    return value


def parse_fill_rates(df: pd.DataFrame, source: str, bundle: Bundle) -> pd.DataFrame:
    """Check a raw fill-rate table; raise InputError listing every problem by row and column."""
    area_col = next((c for c in AREA_COLUMNS if c in df.columns), None)
    missing = [c for c in ("specialty", "level", "fill_rate") if c not in df.columns]
    if area_col is None:
        missing.insert(0, "local_office")
    if missing:
        found = ", ".join(str(c) for c in df.columns) or "none"
        raise InputError([Problem(source, 1, m, f"required column missing (columns found: "
                                  f"{found})") for m in missing])
    assert area_col is not None
    offices, _ = area_lookup(bundle.local_offices, bundle.icbs)
    offices[NATIONAL.lower()] = NATIONAL
    specialties = list(bundle.specialties["specialty"])
    spec_map = {s.lower(): s for s in specialties}
    problems: list[Problem] = []
    rows: list[tuple[str, str, str, float, str]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for i, rec in enumerate(df.to_dict("records")):
        line = i + 2
        raw_area, raw_spec = cell_text(rec.get(area_col)), cell_text(rec.get("specialty"))
        level = cell_text(rec.get("level")).upper()
        area, spec = offices.get(raw_area.lower()), spec_map.get(raw_spec.lower())
        if area is None:
            problems.append(Problem(source, line, area_col, (
                f"unknown local office '{raw_area[:60]}'" + suggest(
                    raw_area.lower(), sorted(set(offices.values())))
                + f" (or '{NATIONAL}' for the national rate)") if raw_area else
                "empty: expected a local office name or code, or England"))
        if spec is None:
            problems.append(Problem(source, line, "specialty", (
                f"unknown specialty '{raw_spec[:60]}'" + suggest(raw_spec, specialties)
                + " (see `fairshare specialties`)") if raw_spec else
                "empty: expected a specialty name"))
        if not level:
            problems.append(Problem(source, line, "level", "empty: expected the entry level "
                                    "the rate is for, e.g. CT1/ST1, ST3 or ST4"))
        rate = _share(cell_text(rec.get("fill_rate")))
        if isinstance(rate, str):
            problems.append(Problem(source, line, "fill_rate", rate))
        if area and spec and level and not isinstance(rate, str):
            key = (area, spec, level)
            if key in seen:
                problems.append(Problem(source, line, None, f"duplicate row: {area} / {spec} "
                                        f"/ {level} already given on row {seen[key]}"))
                continue
            seen[key] = line
            basis = cell_text(rec.get("basis")) or f"given in {Path(source).name}"
            rows.append((area, spec, level, float(rate), basis[:200]))
    if not rows and not problems:
        problems.append(Problem(source, None, None, "no rows: expected one row per local "
                                "office, specialty and level"))
    if problems:
        raise InputError(problems)
    return pd.DataFrame(rows, columns=["area", "specialty", "level", "fill_rate", "basis"])
