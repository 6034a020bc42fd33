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

import numpy as np
import pandas as pd

from fairshare.errors import InputError, Problem, quote
from fairshare.inputs.posts import read_table
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
    **{office.lower(): office for office in (
        "North East", "North West", "Yorkshire and the Humber", "East Midlands",
        "West Midlands", "East of England", "London", "Kent Surrey and Sussex", "Thames Valley",
        "Wessex", "South West")},
}
#: Each local office's owner as the TIS owner list names it, and its owner code (the first part
#: of a National Post Number), for posts written back in the templates' layouts.
OFFICE_OWNER = {
    "North East": ("Health Education England North East", "NTH"),
    "North West": ("Health Education England North West", "NWE"),
    "Yorkshire and the Humber": ("Health Education England Yorkshire and the Humber", "YHD"),
    "East Midlands": ("Health Education England East Midlands", "EMD"),
    "West Midlands": ("Health Education England West Midlands", "WMD"),
    "East of England": ("Health Education England East of England", "EAN"),
    "London": ("London LETBs", "LDN"),
    "Kent Surrey and Sussex": ("Health Education England Kent, Surrey and Sussex", "KSS"),
    "Thames Valley": ("Health Education England Thames Valley", "OXF"),
    "Wessex": ("Health Education England Wessex", "WES"),
    "South West": ("Health Education England South West", "SWN"),
}
#: Owners with no local office of this project: their posts are read, shown in post_records
#: and left out of the establishment and cohorts.
NO_OFFICE = {"defence postgraduate medical deanery"}
POST_COLUMNS = ("National Post Number", "Approved grade", "Specialty", "Owner", "Funding Type",
                "Funding Start Date", "Funding End Date")
PLACEMENT_COLUMNS = ("National Post Number", "Date From", "Date To", "WTE")
#: Read when present: the trust that employs the post's trainee (the named-post plan needs it).
EMPLOYER = "Employing body"
REQUIRED_POST = POST_COLUMNS[:-1]
#: The header both templates hold: a workbook's data sheet is the first whose header has it.
RECORD_KEY = "National Post Number"
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
    funding_start_date, funding_end_date, employer, last_date_to, vacant_round (and org_code
    when employers were matched)."""
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
        if re.fullmatch(r"\d{5}(\.\d+)?", text):  # Excel's day count (a time of day dropped)
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


def minimal_placements(path: str | Path) -> bytes:
    """The placements file cut to the four columns fairshare reads, as CSV text.

    TIS's placements layout names trainees (surname, GMC number, person id) and supervisors;
    the plan needs none of it. The shared service stores this instead of the upload, so no
    personal data is kept (data minimisation). Raises InputError if a needed column is missing.
    """
    df = read_table(path, record_key=RECORD_KEY)
    found = _columns(df, str(path), PLACEMENT_COLUMNS, PLACEMENT_COLUMNS)
    kept = pd.DataFrame({w: df[found[w]].fillna("").astype(str) for w in PLACEMENT_COLUMNS})
    return kept.to_csv(index=False, lineterminator="\n").encode("utf-8")


def read_post_records(posts_file: str | Path, placements_file: str | Path,
                      specialties: list[str],
                      employers: pd.DataFrame | None = None) -> PostRecords:
    """Both files read, checked against each other, and turned into the establishment, cohorts
    and time-limited posts. Raises InputError listing every problem.

    ``employers`` (org_code, org_name: the ODS organisations) makes each post's Employing body
    a required trust, matched by ODS code or name in any case, and adds ``org_code``.
    """
    posts, problems = _read_posts(posts_file, specialties)
    if employers is not None:
        problems += _match_employers(posts, employers, str(posts_file))
    placements, more = _read_placements(placements_file, posts)
    problems += more
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.file != str(posts_file), p.row or 0,
                                                         p.column or "")))
    return build_records(posts, placements)


def _match_employers(posts: pd.DataFrame, orgs: pd.DataFrame, name: str) -> list[Problem]:
    """Each post's Employing body as an ODS organisation (code or name, any case): sets
    ``org_code``; an empty or unknown body is a problem naming the row."""
    by_key = {str(c).lower(): str(c) for c in orgs["org_code"]}
    by_key |= {str(n).lower(): str(c) for c, n in zip(orgs["org_code"], orgs["org_name"],
                                                      strict=True)}
    posts["org_code"] = posts["employer"].str.lower().map(by_key).fillna("")
    bad = posts["org_code"] == ""
    names = sorted(set(orgs["org_name"].astype(str)))
    column = f"{EMPLOYER}*"
    return _problems(name, posts.loc[bad, "row"], column, [
        ("empty: the named-post plan needs the trust that employs the post" if not v else
         f"{quote(v)} is not an NHS organisation in the ODS list{did_you_mean(v, names)}: "
         "expected a trust's name or ODS code (e.g. RTD)") for v in posts.loc[bad, "employer"]])


def _cells(df: pd.DataFrame, cols: dict[str, str | None]) -> pd.DataFrame:
    """The template's columns as stripped text ('' for empty or absent), one row per record."""
    out = pd.DataFrame(index=df.index)
    for want, col in cols.items():
        text = df[col].fillna("").astype(str).str.strip() if col else pd.Series("", df.index)
        out[want] = text.mask(text.str.lower() == "nan", "")
    out["row"] = np.arange(2, len(df) + 2)
    return out


def _dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates of a column (datetime64, NaT where empty or bad) and the reason per bad cell.

    The common dd/mm/yyyy text is parsed at once; other spellings (Excel dates, ISO, serial
    numbers) and bad cells one distinct value at a time (``parse_day``)."""
    days = pd.to_datetime(values, format="%d/%m/%Y", errors="coerce")
    rest = days.isna() & (values != "")
    why = pd.Series("", index=values.index)
    parsed = {v: parse_day(v) for v in values[rest].unique()}
    for v, day in parsed.items():
        at = rest & (values == v)
        if isinstance(day, date):
            days[at] = pd.Timestamp(day)
        else:
            why[at] = day
    return days, why


def _problems(name: str, rows: pd.Series, column: str, messages: pd.Series | str) -> list[Problem]:
    texts = messages if isinstance(messages, pd.Series) else pd.Series(messages, rows.index)
    return [Problem(name, int(r), column, str(m)) for r, m in zip(rows, texts, strict=True)]


def _named(values: pd.Series, known: dict[str, str]) -> pd.Series:
    """Values matched to canonical names in any case (NaN where unknown)."""
    return values.str.lower().map(known)


def _read_posts(path: str | Path, specialties: list[str]) -> tuple[pd.DataFrame, list[Problem]]:
    name = str(path)
    df = read_table(path, record_key=RECORD_KEY)
    cell = _cells(df, _columns(df, name, (*POST_COLUMNS, EMPLOYER), REQUIRED_POST))
    head = {w: f"{w}*" if w in REQUIRED_POST else w for w in POST_COLUMNS}
    problems: list[Problem] = []
    for w in REQUIRED_POST:
        empty = cell[w] == ""
        problems += _problems(name, cell.loc[empty, "row"], head[w], "empty: a required column")
    npn = cell["National Post Number"]
    first = cell.groupby(npn)["row"].transform("min")
    twice = (npn != "") & (first != cell["row"])
    problems += _problems(name, cell.loc[twice, "row"], head["National Post Number"], [
        f"{quote(v)} is given twice (rows {f} and {r}): a National Post Number names one post"
        for v, f, r in zip(npn[twice], first[twice], cell.loc[twice, "row"], strict=True)])
    office = _named(cell["Owner"], OWNERS)
    bad = office.isna() & (cell["Owner"] != "") & ~cell["Owner"].str.lower().isin(NO_OFFICE)
    problems += _problems(name, cell.loc[bad, "row"], head["Owner"], [
        f"{quote(v)} is not a local office owner{did_you_mean(v, list(OWNERS))}"
        for v in cell.loc[bad, "Owner"]])
    spec = _named(cell["Specialty"], {s.lower(): s for s in specialties})
    bad = spec.isna() & (cell["Specialty"] != "")
    problems += _problems(name, cell.loc[bad, "row"], head["Specialty"], [
        f"{quote(v)} is not a specialty{did_you_mean(v, specialties)}; see `fairshare "
        "specialties`" for v in cell.loc[bad, "Specialty"]])
    kinds = {v: _funding(v) for v in cell["Funding Type"].unique()}
    funding = cell["Funding Type"].map(kinds)
    bad = funding.isna() & (cell["Funding Type"] != "")
    problems += _problems(name, cell.loc[bad, "row"], head["Funding Type"], [
        f"{quote(v)}: expected a funding type naming tariff, HEE/NHSE, trust, "
        "academic/research/university or military/defence" for v in cell.loc[bad, "Funding Type"]])
    start, why_start = _dates(cell["Funding Start Date"])
    end, why_end = _dates(cell["Funding End Date"])
    for w, why in (("Funding Start Date", why_start), ("Funding End Date", why_end)):
        problems += _problems(name, cell.loc[why != "", "row"], head[w], why[why != ""])
    wrong = end < start
    problems += _problems(name, cell.loc[wrong, "row"], head["Funding End Date"], [
        f"{e:%d/%m/%Y} is before the Funding Start Date {s:%d/%m/%Y}"
        for e, s in zip(end[wrong], start[wrong], strict=True)])
    posts = pd.DataFrame({"national_post_number": npn, "local_office": office,
                          "specialty": spec, "grade": cell["Approved grade"],
                          "funding": funding, "funding_start_date": start,
                          "funding_end_date": end, "employer": cell[EMPLOYER],
                          "row": cell["row"]})
    return posts, sorted(problems, key=lambda p: (p.row or 0, p.column or ""))


def _funding(text: str) -> str | None:
    low = text.lower()
    return next((kind for word, kind in FUNDING if word in low), None)


def _read_placements(path: str | Path, posts: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    name = str(path)
    df = read_table(path, record_key=RECORD_KEY)
    cell = _cells(df, _columns(df, name, PLACEMENT_COLUMNS, PLACEMENT_COLUMNS))
    known = posts["national_post_number"]
    npn = cell["National Post Number"]
    problems = _problems(name, cell.loc[npn == "", "row"], "National Post Number*",
                         "empty: a required column")
    unknown = (npn != "") & ~npn.isin(set(known))
    choices = sorted(set(known) - {""})
    problems += _problems(name, cell.loc[unknown, "row"], "National Post Number*", [
        f"{quote(v)} is not a post in the posts file{did_you_mean(v, choices)}"
        for v in npn[unknown]])
    start, why_start = _dates(cell["Date From"])
    end, why_end = _dates(cell["Date To"])
    for w, why in (("Date From", why_start), ("Date To", why_end)):
        why = why.mask(cell[w] == "", "empty: a required column")
        problems += _problems(name, cell.loc[why != "", "row"], f"{w}*", why[why != ""])
    wrong = end < start
    problems += _problems(name, cell.loc[wrong, "row"], "Date To*", [
        f"{e:%d/%m/%Y} is before Date From {s:%d/%m/%Y}: the dates are the wrong way round"
        for e, s in zip(end[wrong], start[wrong], strict=True)])
    wte = pd.to_numeric(cell["WTE"], errors="coerce")
    bad = wte.isna() | (wte <= 0) | (wte > 1)
    problems += _problems(name, cell.loc[bad, "row"], "WTE*", [
        f"{quote(v)}: expected a whole-time equivalent above 0 and at most 1 (e.g. 0.8)"
        for v in cell.loc[bad, "WTE"]])
    placements = pd.DataFrame({"national_post_number": npn, "date_from": start,
                               "date_to": end, "wte": wte, "row": cell["row"]})
    if not problems:
        problems += _overlaps(name, placements)
    return placements, sorted(problems, key=lambda p: (p.row or 0, p.column or ""))


def _overlaps(name: str, placements: pd.DataFrame) -> list[Problem]:
    """Placements in one post at the same time whose WTE adds up to more than one post: a sweep
    over each post's start (+WTE) and day-after-end (−WTE) events, ends first on a day."""
    p = placements
    events = pd.concat([
        pd.DataFrame({"npn": p["national_post_number"], "day": p["date_from"], "order": 1,
                      "wte": p["wte"], "row": p["row"]}),
        pd.DataFrame({"npn": p["national_post_number"], "day": p["date_to"] + pd.Timedelta(days=1),
                      "order": 0, "wte": -p["wte"], "row": p["row"]})], ignore_index=True)
    events = events.sort_values(["npn", "day", "order", "row"], kind="stable")
    events["held"] = events.groupby("npn", sort=False)["wte"].cumsum()
    over = events[events["held"] > 1 + 1e-9].drop_duplicates("npn")
    return [Problem(name, int(r.row), "WTE*", f"placements in {quote(r.npn)} overlap with "
                    f"{r.held:g} WTE in the post at once: a post holds at most 1 WTE")
            for r in over.itertuples(index=False)]


def build_records(posts: pd.DataFrame, placements: pd.DataFrame) -> PostRecords:
    """The establishment, cohorts and time-limited posts from checked records."""
    last = placements.groupby("national_post_number")["date_to"].max()
    posts = posts.assign(last_date_to=posts["national_post_number"].map(last))
    day = posts["last_date_to"].dt
    posts["vacant_round"] = (day.year + (day.month > ROUND_MONTH)).astype("Int64")
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
    limited["funding_end_year"] = limited["funding_end_date"].dt.year.astype("int64")
    table = posts.drop(columns="row")
    for frame, cols in ((table, ("funding_start_date", "funding_end_date", "last_date_to")),
                        (limited, ("funding_end_date",))):
        for col in cols:
            frame[col] = frame[col].dt.strftime("%Y-%m-%d").fillna("")
    return PostRecords(posts=table.reset_index(drop=True), establishment=est,
                       by_grade=grade, cohorts=cohorts,
                       time_limited=limited.reset_index(drop=True))
