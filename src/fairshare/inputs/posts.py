"""Reading a user's establishment (current posts) file, with every problem explained.

The current number of centrally funded training posts per local office (or ICB) and specialty is
not published, so it is the user's main input. A file is either wholly accepted or rejected with
one message listing every problem by file, row and column: a planner fixes the file once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fairshare.errors import InputError, Problem

AREA_COLUMNS = ("local_office", "deanery", "icb", "icb_code", "area")
FUNDING_MOVED = "tariff"
FUNDING_VALUES = ("tariff", "trust", "research", "defence")


def _normalise(name: object) -> str:
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def suggest(value: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Excel file as text columns; raise InputError for unreadable files."""
    p = Path(path)
    name = str(p)
    if not p.exists():
        raise InputError([Problem(name, None, None, "file not found")])
    if p.stat().st_size == 0:
        raise InputError([Problem(name, None, None, "the file is empty (expected a header row)")])
    suffix = p.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            df = pd.read_excel(p, dtype=str, engine="openpyxl")
        elif suffix in (".csv", ".txt", ""):
            df = pd.read_csv(p, dtype=str, encoding="utf-8-sig", skipinitialspace=True)
        else:
            raise InputError(
                [Problem(name, None, None, f"unsupported file type '{suffix}': use .csv or .xlsx")]
            )
    except UnicodeDecodeError as exc:
        line = p.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputError(
            [
                Problem(
                    name,
                    line,
                    None,
                    f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at position {exc.start}); "
                    "save the file as 'CSV UTF-8'",
                )
            ]
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError([Problem(name, None, None, "the file is empty (no header row)")]) from exc
    except pd.errors.ParserError as exc:
        raise InputError([_ragged(name, str(exc))]) from exc
    except (ValueError, OSError) as exc:
        raise InputError([Problem(name, None, None, f"cannot be read: {exc}")]) from exc
    df.columns = [_normalise(c) for c in df.columns]
    if df.empty:
        raise InputError([Problem(name, None, None, "the file has a header but no data rows")])
    return df


def _ragged(name: str, text: str) -> Problem:
    """pandas' tokenizer message, in a planner's words, with the row it names."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if not found:
        return Problem(name, None, None, f"cannot be read: {text}")
    expected, line, saw = (int(g) for g in found.groups())
    return Problem(name, line, None, f"this row has {saw} values but the header has {expected} "
                   "columns (a stray comma, or a missing column name?)")


def area_lookup(
    local_offices: pd.DataFrame, icbs: pd.DataFrame
) -> tuple[dict[str, str], dict[str, str]]:
    """Accepted spellings (lower case) -> canonical local office / ICB code."""
    lo: dict[str, str] = {}
    for row in local_offices.itertuples():
        lo[str(row.local_office).lower()] = str(row.local_office)
        lo[str(row.lo_code).lower()] = str(row.local_office)
    icb: dict[str, str] = {}
    for row in icbs.itertuples():
        for key in (row.icb_code, row.icb_ods, row.icb_name):
            icb[str(key).lower()] = str(row.icb_code)
    return lo, icb


@dataclass(frozen=True)
class Field:
    """A numeric column of an area x specialty input file."""

    name: str
    kind: str = "count"  # "count": whole number >= 0; "year": a calendar year
    required: bool = True


def parse_posts(
    df: pd.DataFrame,
    source: str,
    specialties: list[str],
    local_offices: pd.DataFrame,
    icbs: pd.DataFrame,
    pieces: set[tuple[str, str]] | None = None,
) -> tuple[pd.DataFrame, str]:
    """Check a raw establishment table; return (area, specialty, posts, funding; level)."""
    return parse_area_rows(df, source, specialties, local_offices, icbs, [Field("posts")],
                           funding=True, pieces=pieces)


def parse_area_rows(
    df: pd.DataFrame,
    source: str,
    specialties: list[str],
    local_offices: pd.DataFrame,
    icbs: pd.DataFrame,
    fields: list[Field],
    *,
    funding: bool = False,
    pieces: set[tuple[str, str]] | None = None,
) -> tuple[pd.DataFrame, str]:
    """Check an area x specialty table with numeric ``fields``; raise InputError listing all
    problems. Returns the clean table (area, specialty, fields..., [funding]) and the area
    level ('local_office' or 'icb'). Rows are numbered as a spreadsheet shows them (header = 1).

    A file with both an ICB column and ``local_office`` (and ``pieces``, the valid
    (icb_code, local_office) pairs, given) is read per ICB piece: level 'piece', with a
    ``local_office`` column after ``area`` (as ``fairshare baseline build`` writes).
    """
    icb_col = next((c for c in ("icb_code", "icb") if c in df.columns), None)
    by_piece = pieces is not None and icb_col is not None and "local_office" in df.columns
    problems: list[Problem] = []
    area_col = icb_col if by_piece else next((c for c in AREA_COLUMNS if c in df.columns), None)
    needed = ["specialty", *[f.name for f in fields if f.required]]
    missing = [c for c in needed if c not in df.columns]
    if area_col is None:
        missing.insert(0, "local_office (or icb)")
    if missing:
        found = ", ".join(df.columns) or "none"
        raise InputError(
            [
                Problem(source, 1, m, f"required column missing (columns found: {found})")
                for m in missing
            ]
        )
    assert area_col is not None
    lo_map, icb_map = area_lookup(local_offices, icbs)
    spec_map = {s.lower(): s for s in specialties}
    level = "icb" if area_col in ("icb", "icb_code") else "local_office"
    if by_piece:
        level = "piece"
    elif area_col == "area":
        values = df["area"].dropna().str.strip().str.lower()
        level = "local_office" if values.isin(list(lo_map)).mean() >= 0.5 else "icb"
    area_map = lo_map if level == "local_office" else icb_map
    area_names = sorted(set(area_map.values())) if level == "local_office" else sorted(icb_map)
    present = [f for f in fields if f.name in df.columns]
    use_funding = funding and "funding" in df.columns

    rows = []
    seen: dict[tuple[object, ...], int] = {}
    for i, rec in enumerate(df.to_dict("records")):
        line = i + 2
        raw_area = cell_text(rec.get(area_col))
        raw_spec = cell_text(rec.get("specialty"))
        area = area_map.get(raw_area.lower())
        if not raw_area:
            problems.append(Problem(source, line, area_col, "empty: expected an area name or code"))
        elif area is None:
            what = "local office" if level == "local_office" else "ICB code, ODS code or name"
            problems.append(
                Problem(
                    source,
                    line,
                    area_col,
                    f"unknown {what} '{raw_area}'" + suggest(raw_area.lower(), area_names),
                )
            )
        spec = spec_map.get(raw_spec.lower())
        if not raw_spec:
            problems.append(Problem(source, line, "specialty", "empty: expected a specialty name"))
        elif spec is None:
            problems.append(
                Problem(
                    source,
                    line,
                    "specialty",
                    f"unknown specialty '{raw_spec}'" + suggest(raw_spec, specialties)
                    + " (see `fairshare specialties`)",
                )
            )
        row: dict[str, object] = {"area": area, "specialty": spec}
        ok = True
        if by_piece:
            assert pieces is not None
            office, problem = _piece_office(cell_text(rec.get("local_office")), area, lo_map,
                                            pieces)
            if problem:
                problems.append(Problem(source, line, "local_office", problem))
                ok = False
            row["local_office"] = office
        for f in present:
            text = cell_text(rec.get(f.name))
            if not text and not f.required:  # an optional column left blank: "not given"
                row[f.name] = None
                continue
            value = (parse_year if f.kind == "year" else parse_count)(text)
            if isinstance(value, str):
                problems.append(Problem(source, line, f.name, value))
                ok = False
            row[f.name] = value
        if use_funding:
            kind = (cell_text(rec.get("funding")) or FUNDING_MOVED).lower()
            if kind not in FUNDING_VALUES:
                problems.append(Problem(source, line, "funding",
                                        f"'{kind}' is not one of {', '.join(FUNDING_VALUES)}"))
            row["funding"] = kind
        elif funding:
            row["funding"] = FUNDING_MOVED
        if area and spec and ok:
            key = (area, row.get("local_office"), spec, row.get("funding"),
                   *[row[f.name] for f in present if f.kind == "year"])
            if key in seen:
                what = " / ".join(str(k) for k in key if k is not None and k != FUNDING_MOVED)
                problems.append(
                    Problem(source, line, None,
                            f"duplicate row: {what} already given on row {seen[key]}")
                )
            else:
                seen[key] = line
                rows.append(row)
    if problems:
        raise InputError(problems)
    columns = ["area", *(["local_office"] if by_piece else []), "specialty",
               *[f.name for f in present]] + (["funding"] if funding else [])
    clean = pd.DataFrame(rows, columns=columns)
    for f in present:
        clean[f.name] = clean[f.name].astype("int64" if f.required else "Int64")
    return clean, level


def _piece_office(raw: str, icb: str | None, lo_map: dict[str, str],
                  pieces: set[tuple[str, str]]) -> tuple[str | None, str]:
    """The local office of a per-piece row, or the reason it is not one of the ICB's pieces."""
    office = lo_map.get(raw.lower())
    if office is None:
        return None, f"unknown local office '{raw}'" + suggest(raw.lower(),
                                                                sorted(set(lo_map.values())))
    if icb is not None and (icb, office) not in pieces:
        return None, f"ICB {icb} has no part in {office} (see icb_local_office.csv)"
    return office, ""


def cell_text(value: object) -> str:
    text = "" if value is None else str(value).strip()
    return "" if text.lower() == "nan" else text


def parse_year(raw: str) -> int | str:
    """A calendar year, or the reason it is not one."""
    if raw == "":
        return "empty: expected a year such as 2027"
    value = parse_count(raw)
    if isinstance(value, str):
        return f"'{raw}' is not a year (expected e.g. 2027)"
    if not 2000 <= value <= 2100:
        return f"{raw} is not a plausible year (expected e.g. 2027)"
    return value


def parse_count(raw: str) -> int | str:
    """A whole, non-negative number of posts, or the reason it is not one."""
    if raw == "":
        return "empty: expected a whole number of posts (0 or more)"
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        return f"'{raw}' is not a number: expected a whole number of posts"
    if value != value or value in (float("inf"), float("-inf")):
        return f"'{raw}' is not a number: expected a whole number of posts"
    if value < 0:
        return f"{raw} is negative: posts cannot be below 0"
    if value != int(value):
        return f"{raw} is not a whole number: posts are counted in whole posts"
    return int(value)
