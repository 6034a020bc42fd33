"""Reading a user's establishment (current posts) file, with every problem explained.

The current number of centrally funded training posts per local office (or ICB) and specialty is
not published, so it is the user's main input. A file is either wholly accepted or rejected with
one message listing every problem by file, row and column: a planner fixes the file once.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd

from fairshare.errors import InputError, Problem

AREA_COLUMNS = ("local_office", "icb", "icb_code", "area")
FUNDING_MOVED = "tariff"
FUNDING_VALUES = ("tariff", "trust", "research", "defence")


def _normalise(name: object) -> str:
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def _suggest(value: str, choices: list[str]) -> str:
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
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise InputError([Problem(name, None, None, f"cannot be read: {exc}")]) from exc
    df.columns = [_normalise(c) for c in df.columns]
    if df.empty:
        raise InputError([Problem(name, None, None, "the file has a header but no data rows")])
    return df


def _area_lookup(
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


def parse_posts(
    df: pd.DataFrame,
    source: str,
    specialties: list[str],
    local_offices: pd.DataFrame,
    icbs: pd.DataFrame,
) -> tuple[pd.DataFrame, str]:
    """Check a raw posts table; return (clean table, area level) or raise InputError.

    The clean table has columns area, specialty, posts, funding; area level is 'local_office'
    or 'icb'. Rows are numbered as a spreadsheet shows them (header = row 1).
    """
    problems: list[Problem] = []
    area_col = next((c for c in AREA_COLUMNS if c in df.columns), None)
    missing = [c for c in ("specialty", "posts") if c not in df.columns]
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
    lo_map, icb_map = _area_lookup(local_offices, icbs)
    spec_map = {s.lower(): s for s in specialties}
    level = "icb" if area_col in ("icb", "icb_code") else "local_office"
    if area_col == "area":
        values = df["area"].dropna().str.strip().str.lower()
        level = "local_office" if values.isin(list(lo_map)).mean() >= 0.5 else "icb"
    area_map = lo_map if level == "local_office" else icb_map
    area_names = sorted(set(area_map.values())) if level == "local_office" else sorted(icb_map)

    rows = []
    seen: dict[tuple[str, str, str], int] = {}
    has_funding = "funding" in df.columns
    for i, rec in enumerate(df.to_dict("records")):
        line = i + 2
        raw_area = str(rec.get(area_col) or "").strip()
        raw_spec = str(rec.get("specialty") or "").strip()
        raw_posts = str(rec.get("posts") if rec.get("posts") is not None else "").strip()
        if raw_posts.lower() == "nan":
            raw_posts = ""
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
                    f"unknown {what} '{raw_area}'" + _suggest(raw_area.lower(), area_names),
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
                    f"unknown specialty '{raw_spec}'" + _suggest(raw_spec, specialties)
                    + " (see `fairshare specialties`)",
                )
            )
        count = _parse_count(raw_posts)
        if isinstance(count, str):
            problems.append(Problem(source, line, "posts", count))
        funding = FUNDING_MOVED
        if has_funding:
            funding = str(rec.get("funding") or FUNDING_MOVED).strip().lower()
            if funding not in FUNDING_VALUES:
                problems.append(
                    Problem(
                        source,
                        line,
                        "funding",
                        f"'{funding}' is not one of {', '.join(FUNDING_VALUES)}",
                    )
                )
        if area and spec and not isinstance(count, str):
            key = (area, spec, funding)
            if key in seen:
                problems.append(
                    Problem(
                        source,
                        line,
                        None,
                        f"duplicate row: {area} / {spec} already given on row {seen[key]}",
                    )
                )
            else:
                seen[key] = line
                rows.append({"area": area, "specialty": spec, "posts": count, "funding": funding})
    if problems:
        raise InputError(problems)
    clean = pd.DataFrame(rows, columns=["area", "specialty", "posts", "funding"])
    clean["posts"] = clean["posts"].astype("int64")
    return clean, level


def _parse_count(raw: str) -> int | str:
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
