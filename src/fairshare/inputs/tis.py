"""The programme's own post and placement records, in the TIS bulk-upload layouts (issue 15).

A local office's posts (the "posts (create)" template: National Post Number, Approved grade,
Specialty, Owner, Funding Type, Funding Start/End Date, ...) and placements ("placements"
template: National Post Number, Date From, Date To, WTE, ...) give, with no other input
(column layouts: ../shared/formats/tis/, docs/posts.md):

* the establishment per local office × specialty (× funding), and by approved grade;
* the cohorts: the round each post falls vacant, from its last placement's Date To;
* the time-limited posts: those with a Funding End Date.

Every problem names the file, the row and the column and says what was expected; all are
reported at once and nothing is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from fairshare.errors import InputError, Problem, quote
from fairshare.inputs.posts import cell_text, read_table
from fairshare.names import did_you_mean
from fairshare.training_year import ROUND_MONTH

#: Owner names of the TIS source mapped to local offices (../shared/formats/tis/owners.csv),
#: with the short names later records carry. Defence has no local office of this project.
OWNERS = {
    "health education england north east": "North East",
    "health education england north west": "North West",
    "health education england yorkshire and the humber": "Yorkshire and the Humber",
    "health education england east midlands": "East Midlands",
    "health education england west midlands": "West Midlands",
    "health education england east of england": "East of England",
    "health education england north central and east london": "London",
    "health education england north west london": "London",
    "health education england south london": "London",
    "london letbs": "London",
    "health education england kent, surrey and sussex": "Kent Surrey and Sussex",
    "health education england thames valley": "Thames Valley",
    "health education england wessex": "Wessex",
    "health education england south west": "South West",
    "north central and east london": "London",
    "north west london": "London",
    "south london": "London",
    "kent, surrey and sussex": "Kent Surrey and Sussex",
}
POST_COLUMNS = ("National Post Number", "Approved grade", "Specialty", "Owner", "Funding Type",
                "Funding Start Date", "Funding End Date")
PLACEMENT_COLUMNS = ("National Post Number", "Date From", "Date To", "WTE")
REQUIRED_POST = POST_COLUMNS[:-1]
#: Funding types by keyword -> the funding kinds of a posts file (README "Bring your own data").
FUNDING = (("tariff", "tariff"), ("hee", "tariff"), ("nhse", "tariff"), ("trust", "trust"),
           ("academic", "research"), ("research", "research"), ("university", "research"),
           ("military", "defence"), ("defence", "defence"))
EXCEL_EPOCH = date(1899, 12, 30)
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


@dataclass(frozen=True)
class PostRecords:
    """The tables built from one posts file and one placements file."""

    posts: pd.DataFrame
    """One row per post: national_post_number, local_office, specialty, grade, funding,
    funding_end_date, last_date_to, vacant_round."""
    establishment: pd.DataFrame
    """local_office, specialty, funding, posts (a --posts file)."""
    by_grade: pd.DataFrame
    """local_office, specialty, grade, posts."""
    cohorts: pd.DataFrame
    """local_office, specialty, completion_year, trainees (a --cohorts file)."""
    time_limited: pd.DataFrame
    """national_post_number, local_office, specialty, funding_end_date, funding_end_year."""


def vacant_round(last_day: date) -> int:
    """The August round a post whose placement ends on ``last_day`` can be filled (or moved) at.

    Rotations end in the first days of August and the next trainee starts in the same week, so
    a placement ending by the end of August frees its post for that August's round; one ending
    later frees it for the next year's round.
    """
    return last_day.year if last_day.month <= ROUND_MONTH else last_day.year + 1


def parse_day(raw: str) -> date | str:
    """A date as TIS files hold it: dd/mm/yyyy text, an Excel date, an ISO date or an Excel
    serial number; else the reason it is not one."""
    text = raw.strip()
    try:
        if found := _DMY.match(text):
            return date(int(found[3]), int(found[2]), int(found[1]))
        if found := _ISO.match(text):
            return date(int(found[1]), int(found[2]), int(found[3]))
        if re.fullmatch(r"\d{5}(\.0+)?", text):  # Excel's day count, from a number cell
            return EXCEL_EPOCH + timedelta(days=int(float(text)))
    except ValueError as exc:
        return f"'{quote(text)}' is not a date ({exc})"
    return f"'{quote(text)}' is not a date: expected dd/mm/yyyy (e.g. 02/08/2027) or an Excel date"


def _column(df: pd.DataFrame, name: str) -> str | None:
    """The file's column for a template header (any case; with or without the '*')."""
    want = name.lower().replace(" ", "_")
    for col in df.columns:
        if str(col).rstrip("*").strip("_") == want:
            return str(col)
    return None


def _columns(df: pd.DataFrame, file: str, wanted: tuple[str, ...],
             required: tuple[str, ...]) -> dict[str, str | None]:
    found = {w: _column(df, w) for w in wanted}
    missing = [w for w in required if found[w] is None]
    if missing:
        raise InputError([Problem(file, 1, f"{w}*", "required column missing: expected the TIS "
                                  f"bulk-upload template's header (found: "
                                  f"{', '.join(map(str, df.columns[:12]))})") for w in missing])
    return found


def read_post_records(posts_file: str | Path, placements_file: str | Path,
                      specialties: list[str]) -> PostRecords:
    """Both files read, checked against each other, and turned into the establishment, cohorts
    and time-limited posts. Raises InputError listing every problem."""
    posts, problems = _read_posts(posts_file, specialties)
    placements, more = _read_placements(placements_file, posts)
    problems += more
    if problems:
        raise InputError(problems)
    return build_records(posts, placements)


def _read_posts(path: str | Path, specialties: list[str]) -> tuple[pd.DataFrame, list[Problem]]:
    name = str(path)
    df = read_table(path)
    cols = _columns(df, name, POST_COLUMNS, REQUIRED_POST)
    by_key = {s.lower(): s for s in specialties}
    problems: list[Problem] = []
    rows: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    for i, rec in enumerate(df.to_dict("records"), start=2):
        cell = {w: cell_text(rec.get(c)) if c else "" for w, c in cols.items()}
        npn, owner, spec = cell["National Post Number"], cell["Owner"], cell["Specialty"]
        header = {w: f"{w}*" if w in REQUIRED_POST else w for w in cols}
        for w in REQUIRED_POST:
            if not cell[w]:
                problems.append(Problem(name, i, header[w], "empty: a required column"))
        if npn and npn in seen:
            problems.append(Problem(name, i, header["National Post Number"],
                                    f"{quote(npn)} is given twice (rows {seen[npn]} and {i}): "
                                    "a National Post Number names one post"))
        seen.setdefault(npn, i)
        office = OWNERS.get(owner.lower()) if owner else None
        if owner and office is None:
            problems.append(Problem(name, i, header["Owner"], f"{quote(owner)} is not a local "
                                    f"office owner{did_you_mean(owner, list(OWNERS))}"))
        specialty = by_key.get(spec.lower()) if spec else None
        if spec and specialty is None:
            problems.append(Problem(name, i, header["Specialty"], f"{quote(spec)} is not a "
                                    f"specialty{did_you_mean(spec, specialties)}; see "
                                    "`fairshare specialties`"))
        funding = _funding(cell["Funding Type"])
        if cell["Funding Type"] and funding is None:
            kind = quote(cell["Funding Type"])
            problems.append(Problem(name, i, header["Funding Type"], f"{kind}: expected a "
                                    "funding type naming tariff, HEE/NHSE, trust, "
                                    "academic/research/university or military/defence"))
        start = parse_day(cell["Funding Start Date"]) if cell["Funding Start Date"] else None
        end = parse_day(cell["Funding End Date"]) if cell["Funding End Date"] else None
        for w, value in (("Funding Start Date", start), ("Funding End Date", end)):
            if isinstance(value, str):
                problems.append(Problem(name, i, header[w], value))
        if isinstance(start, date) and isinstance(end, date) and end < start:
            problems.append(Problem(name, i, header["Funding End Date"], f"{end:%d/%m/%Y} is "
                                    f"before the Funding Start Date {start:%d/%m/%Y}"))
        rows.append({"national_post_number": npn, "local_office": office, "specialty": specialty,
                     "grade": cell["Approved grade"], "funding": funding,
                     "funding_end_date": end if isinstance(end, date) else None, "row": i})
    return pd.DataFrame(rows), problems


def _funding(text: str) -> str | None:
    low = text.lower()
    return next((kind for word, kind in FUNDING if word in low), None)


def _read_placements(path: str | Path, posts: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    name = str(path)
    df = read_table(path)
    cols = _columns(df, name, PLACEMENT_COLUMNS, PLACEMENT_COLUMNS)
    known = sorted(set(posts["national_post_number"]) - {""}) if len(posts) else []
    known_set = set(known)
    problems: list[Problem] = []
    rows = []
    for i, rec in enumerate(df.to_dict("records"), start=2):
        cell = {w: cell_text(rec.get(c)) for w, c in cols.items() if c}
        npn = cell["National Post Number"]
        if not npn:
            problems.append(Problem(name, i, "National Post Number*", "empty: a required column"))
        elif npn not in known_set:
            problems.append(Problem(name, i, "National Post Number*", f"{quote(npn)} is not a "
                                    f"post in the posts file{did_you_mean(npn, known)}"))
        start, end = (parse_day(cell[w]) if cell[w] else "empty: a required column"
                      for w in ("Date From", "Date To"))
        for w, value in (("Date From", start), ("Date To", end)):
            if isinstance(value, str):
                problems.append(Problem(name, i, f"{w}*", value))
        if isinstance(start, date) and isinstance(end, date) and end < start:
            problems.append(Problem(name, i, "Date To*", f"{end:%d/%m/%Y} is before Date From "
                                    f"{start:%d/%m/%Y}: the dates are the wrong way round"))
        wte = pd.to_numeric(cell["WTE"], errors="coerce")
        if pd.isna(wte) or not 0 < float(wte) <= 1:
            problems.append(Problem(name, i, "WTE*", f"{quote(cell['WTE'])}: expected a whole-"
                                    "time equivalent above 0 and at most 1 (e.g. 0.8)"))
        rows.append({"national_post_number": npn, "date_from": start, "date_to": end,
                     "wte": float(wte) if not pd.isna(wte) else 0.0, "row": i})
    placements = pd.DataFrame(rows, columns=["national_post_number", "date_from", "date_to",
                                             "wte", "row"])
    if not problems:
        problems += _overlaps(name, placements)
    return placements, problems


def _overlaps(name: str, placements: pd.DataFrame) -> list[Problem]:
    """Placements in one post at the same time whose WTE adds up to more than one post."""
    problems = []
    for npn, rows in placements.groupby("national_post_number", sort=True):
        events = sorted([(r.date_from, 0, r.wte, r.row) for r in rows.itertuples()]
                        + [(r.date_to + timedelta(days=1), -1, -r.wte, r.row)
                           for r in rows.itertuples()])
        held = 0.0
        for _, _, change, row in events:
            held += change
            if held > 1 + 1e-9:
                problems.append(Problem(name, int(row), "WTE*", f"placements in {quote(npn)} "
                                        f"overlap with {held:g} WTE in the post at once: a post "
                                        "holds at most 1 WTE"))
                break
    return problems


def build_records(posts: pd.DataFrame, placements: pd.DataFrame) -> PostRecords:
    """The establishment, cohorts and time-limited posts from checked records."""
    last = placements.groupby("national_post_number")["date_to"].max()
    posts = posts.assign(last_date_to=posts["national_post_number"].map(last))
    posts["vacant_round"] = [vacant_round(d) if isinstance(d, date) else None
                             for d in posts["last_date_to"]]
    keys = ["local_office", "specialty"]
    counted = posts[posts["local_office"].notna()]  # e.g. Defence: no local office
    est = counted.groupby([*keys, "funding"], as_index=False).size().rename(
        columns={"size": "posts"})
    grade = counted.groupby([*keys, "grade"], as_index=False).size().rename(
        columns={"size": "posts"})
    held = counted[counted["vacant_round"].notna() & (counted["funding"] == "tariff")]
    cohorts = held.groupby([*keys, "vacant_round"], as_index=False).size().rename(
        columns={"vacant_round": "completion_year", "size": "trainees"})
    cohorts["completion_year"] = cohorts["completion_year"].astype("int64")
    limited = counted[counted["funding_end_date"].notna()][
        ["national_post_number", *keys, "funding_end_date"]].copy()
    limited["funding_end_year"] = [d.year for d in limited["funding_end_date"]]
    table = posts.drop(columns="row")
    return PostRecords(posts=table.reset_index(drop=True), establishment=est,
                       by_grade=grade, cohorts=cohorts,
                       time_limited=limited.reset_index(drop=True))
