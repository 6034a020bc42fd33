"""The public baseline: doctors in training from NHS Digital's "medical staff" file, as posts.

NHS Digital publishes HCHS doctors in post (FTE) by organisation x grade x specialty every month.
That is the only public, complete count of doctors in training by place and specialty, so the
default establishment is built from it (docs/baseline.md):

1. each training grade x specialty row is mapped to a catalogue programme by a reviewable data
   file (``data/nhsd_programme_map.csv``, one note per row saying why);
2. each organisation is placed in an ICB piece ``(icb_code, local_office)`` by a shipped lookup
   (``data/nhs_org_icb.csv``: ODS for the ICB, the 2017 HEE office for the local office);
3. FTE becomes whole posts with each specialty's national total kept exact: the national total
   is the FTE total rounded half up, and it is shared over pieces by Hamilton's method;
4. programmes the file cannot give (GP trainees in practices, public health registrars employed
   outside trusts) get a *modelled* figure built by ``scripts/build_baseline.py`` from real
   national entry numbers, and every such row says so in ``basis``.

The functions here are pure (tables in, tables out) apart from the small readers at the end.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fairshare.apportionment import apportion
from fairshare.errors import InputError, Problem, quote
from fairshare.inputs.posts import (
    MAX_DATA_BYTES,
    OLE2_MAGIC,
    ZIP_MAGIC,
    check_text,
    check_width,
)
from fairshare.io import inflated, read_bytes

STAFF_COLUMNS = ("DATE", "ORG_CODE", "GRADE", "SPECIALITY_GROUP", "SPECIALTY", "FTE")
TRAINING_GRADES = ("Specialty Registrar", "Core Training", "Foundation Doctor Year 1",
                   "Foundation Doctor Year 2")
PIECE = ["icb_code", "local_office"]
POSTS_COLUMNS = ["icb_code", "local_office", "specialty", "fte", "posts", "basis"]
NHSD_PREFIX = "NHS Digital staff in post (FTE)"
MAX_ROW_FTE = 10_000  # a sanity bound: no trust has 10,000 doctors of one grade and specialty
ROUNDING = "national total = FTE rounded half up; shared over ICB pieces by Hamilton"


@dataclass(frozen=True)
class Modelled:
    """A programme the staff file cannot give: a national number of posts and how it is spread."""

    programme: str
    posts: int
    weights: pd.DataFrame
    """One row per ICB piece: icb_code, local_office, weight (a real distribution)."""
    basis: str


@dataclass(frozen=True)
class Baseline:
    """Posts per ICB piece x programme, with what could not be placed or mapped."""

    posts: pd.DataFrame
    date: str
    unmapped_orgs: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Organisations in the file with no ICB in the lookup: org_code, org_name, fte."""
    unmapped_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Training grade x specialty pairs absent from the programme map: grade, specialty, fte."""

    @property
    def modelled(self) -> list[str]:
        rows = self.posts[self.posts["basis"].str.startswith("modelled")]
        return sorted(set(rows["specialty"]))

    def label(self) -> str:
        """One line saying what these numbers are (shown on every output)."""
        return posts_label(self.date, len(self.modelled))


def posts_label(date: str, n_modelled: int) -> str:
    """The establishment label of a public baseline."""
    return (f"Public baseline: NHS Digital staff in post, {date} (FTE -> whole posts); "
            f"{n_modelled} specialt{'y' if n_modelled == 1 else 'ies'} modelled")


def basis_label(bases: set[str]) -> str:
    """The establishment label from the per-row bases of a baseline posts file."""
    counted = sorted(b for b in bases if b.startswith(NHSD_PREFIX))
    modelled = sum(1 for b in bases if b.startswith("modelled"))
    if not counted:
        return f"posts file; {modelled} basis note(s) modelled"
    date = counted[0].removeprefix(NHSD_PREFIX).strip(" ,")
    return posts_label(date, modelled)


def basis_date(bases: set[str]) -> str | None:
    """The ISO census date of the NHS Digital rows among ``bases`` (None if there are none)."""
    counted = sorted(b for b in bases if b.startswith(NHSD_PREFIX))
    if not counted:
        return None
    text = counted[0].removeprefix(NHSD_PREFIX).strip(" ,").replace("Sept", "Sep")
    try:
        return pd.to_datetime(text, format="%d %b %Y").date().isoformat()
    except ValueError:
        return None


def nhsd_basis(date: str) -> str:
    """The per-row basis of a programme counted from the staff file."""
    return f"{NHSD_PREFIX}, {date}"


def map_programmes(staff: pd.DataFrame,
                   programme_map: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows of the staff file with their programme, and the unmapped pairs.

    Exact (grade, specialty) rows of the map win over a grade's ``*`` row. Rows mapped to no
    programme are left out on purpose (their note says why); rows absent from the map are
    returned so they can be reported, never dropped silently.
    """
    training = staff[staff["GRADE"].isin(TRAINING_GRADES)]
    exact = programme_map[programme_map["specialty"] != "*"]
    wild = programme_map[programme_map["specialty"] == "*"].set_index("grade")["programme"]
    keyed = exact.set_index(["grade", "specialty"])["programme"]
    keys = pd.MultiIndex.from_arrays([training["GRADE"], training["SPECIALTY"]])
    programme = keyed.reindex(keys).to_numpy(dtype=object)
    fallback = wild.reindex(training["GRADE"]).to_numpy(dtype=object)
    known = ~pd.isna(programme) | training["GRADE"].isin(wild.index).to_numpy()
    programme = np.where(pd.isna(programme), fallback, programme)
    out = training.assign(programme=programme)
    unmapped = (out[~known].groupby(["GRADE", "SPECIALTY"], as_index=False)["FTE"].sum()
                .rename(columns={"GRADE": "grade", "SPECIALTY": "specialty", "FTE": "fte"}))
    mapped = out[known & out["programme"].fillna("").astype(bool).to_numpy()]
    return mapped.reset_index(drop=True), unmapped


def place(mapped: pd.DataFrame, orgs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mapped rows with their ICB piece, and the organisations the lookup does not know."""
    names = orgs.set_index("org_code")["org_name"]
    lookup = orgs[orgs["icb_code"] != ""].set_index("org_code")
    known = mapped["ORG_CODE"].isin(lookup.index)
    placed = mapped[known].assign(
        icb_code=lookup.loc[mapped.loc[known, "ORG_CODE"], "icb_code"].to_numpy(),
        local_office=lookup.loc[mapped.loc[known, "ORG_CODE"], "local_office"].to_numpy(),
    )
    lost = mapped[~known].groupby("ORG_CODE", as_index=False)["FTE"].sum()
    lost = lost.rename(columns={"ORG_CODE": "org_code", "FTE": "fte"})
    lost["org_name"] = [str(names.get(c, "not in ODS or the 2017 list")) for c in lost["org_code"]]
    return placed.reset_index(drop=True), lost[["org_code", "org_name", "fte"]]


def piece_for(icb_code: str, office: str, icb_local_office: pd.DataFrame) -> tuple[str, str]:
    """The local office of an organisation's ICB piece, and how it was chosen.

    An organisation is placed in the ICB of its sites (ODS). Its 2017 HEE local office decides
    which piece of a split ICB it sits in; where that office holds no piece of the ICB (the
    office's footprint and today's ICB disagree), the ICB wins and the organisation goes to the
    ICB's largest piece, because today's plan is drawn on ICB pieces (docs/baseline.md).
    """
    pieces = icb_local_office[icb_local_office["icb_code"] == icb_code]
    if pieces.empty:
        raise ValueError(f"ICB {icb_code} has no local office in icb_local_office.csv")
    if office in set(pieces["local_office"]):
        return office, "ICB from ODS; local office = 2017 HEE office"
    main = str(pieces.sort_values(["share", "local_office"],
                                  ascending=[False, True])["local_office"].iat[0])
    if not office:
        return main, "ICB from ODS; no 2017 HEE office: the ICB's main local office"
    return main, (f"ICB from ODS; 2017 HEE office {office} holds no piece of this ICB: "
                  f"placed in {main}")


def half_up(value: float) -> int:
    """Round half up, after removing float noise from summing FTE (e.g. 2.4999999999 -> 2.5)."""
    return math.floor(round(value, 6) + 0.5)


def whole_posts(weights: pd.Series, total: int) -> list[int]:
    """``total`` whole posts shared over pieces in proportion to ``weights`` (Hamilton)."""
    if total == 0:
        return [0] * len(weights)
    return apportion(list(weights.to_numpy(dtype=float)), total, method="hamilton")


def counted_posts(placed: pd.DataFrame, basis: str) -> pd.DataFrame:
    """FTE per piece x programme and whole posts keeping each national total exact."""
    fte = placed.groupby(["programme", *PIECE], as_index=False)["FTE"].sum()
    parts = []
    for _, rows in fte.groupby("programme", sort=True):
        rows = rows.sort_values(PIECE)
        posts = whole_posts(rows["FTE"], half_up(float(rows["FTE"].sum())))
        parts.append(rows.assign(posts=posts))
    if not parts:
        return pd.DataFrame(columns=POSTS_COLUMNS)
    out = pd.concat(parts).rename(columns={"programme": "specialty", "FTE": "fte"})
    return out.assign(basis=basis)[POSTS_COLUMNS]


def modelled_posts(spec: Modelled) -> pd.DataFrame:
    """A modelled programme's national posts spread over pieces by its weights (Hamilton)."""
    rows = spec.weights.sort_values(PIECE).reset_index(drop=True)
    posts = whole_posts(rows["weight"], spec.posts)
    return pd.DataFrame({"icb_code": rows["icb_code"], "local_office": rows["local_office"],
                         "specialty": spec.programme, "fte": np.nan, "posts": posts,
                         "basis": spec.basis})[POSTS_COLUMNS]


def build_baseline(staff: pd.DataFrame, programme_map: pd.DataFrame, orgs: pd.DataFrame,
                   modelled: list[Modelled] | tuple[Modelled, ...] = ()) -> Baseline:
    """The public baseline from a staff file, the programme map and the organisation lookup."""
    date = staff_date(staff)
    mapped, unmapped_rows = map_programmes(staff, programme_map)
    placed, unmapped_orgs = place(mapped, orgs)
    counted = counted_posts(placed, nhsd_basis(date))
    taken = set(counted["specialty"])
    extra = [modelled_posts(m) for m in modelled if m.programme not in taken]
    posts = pd.concat([counted, *extra]) if extra else counted
    posts = posts[(posts["posts"] > 0) | (posts["fte"] > 0)]
    posts = posts.sort_values(["specialty", *PIECE]).reset_index(drop=True)
    return Baseline(posts.astype({"posts": "int64"}), date, unmapped_orgs, unmapped_rows)


TRUST_COLUMNS = ["org_code", "icb_code", "local_office", "specialty", "fte", "posts"]


def build_trust_posts(staff: pd.DataFrame, programme_map: pd.DataFrame, orgs: pd.DataFrame,
                      posts: pd.DataFrame) -> pd.DataFrame:
    """Each counted piece's whole posts shared over its organisations by their FTE (Hamilton).

    The trust rows of a programme and ICB piece add up exactly to that piece's posts in
    ``posts`` (the baseline), so a trust-level view never disagrees with the area figures.
    Modelled programmes have no organisations and no trust rows.
    """
    mapped, _ = map_programmes(staff, programme_map)
    placed, _ = place(mapped, orgs)
    fte = placed.groupby(["programme", *PIECE, "ORG_CODE"], as_index=False)["FTE"].sum()
    counted = posts[posts["basis"].str.startswith(NHSD_PREFIX)]
    whole = counted.set_index(["specialty", *PIECE])["posts"]
    parts = []
    for (spec, icb, office), rows in fte.groupby(["programme", *PIECE], sort=True):
        rows = rows.sort_values("ORG_CODE")
        total = int(whole.get((spec, icb, office), 0))
        parts.append(rows.assign(posts=whole_posts(rows["FTE"], total)))
    if not parts:
        return pd.DataFrame(columns=TRUST_COLUMNS)
    out = pd.concat(parts).rename(columns={"programme": "specialty", "FTE": "fte",
                                           "ORG_CODE": "org_code"})
    out = out[(out["posts"] > 0) | (out["fte"] > 0)]
    return out[TRUST_COLUMNS].sort_values(["specialty", "org_code"]).reset_index(drop=True)


CONSULTANT_COLUMNS = ["icb_code", "local_office", "specialty", "fte"]
#: NHS Digital's consultant grade (its name in the 2017 file; matched by this prefix, any case).
CONSULTANT_GRADE = "consultant"
#: The grade whose specialty rows of the programme map say which programme trains a specialist.
SPECIALIST_GRADE = "Specialty Registrar"


def consultant_fte(staff: pd.DataFrame, programme_map: pd.DataFrame,
                   orgs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Consultant FTE per ICB piece x catalogue specialty, and the FTE left out by specialty.

    A consultant in an NHS Digital specialty is a specialist of the programme a Specialty
    Registrar in that specialty is training in (the map's Specialty Registrar rows), so the
    baseline's reviewed map is reused, not a second one; organisations are placed by the same
    lookup (``place``). Specialties the map leaves out (dental, "Other", general pathology ...)
    are returned with their FTE, never dropped silently.
    """
    registrar = programme_map[(programme_map["grade"] == SPECIALIST_GRADE)
                              & (programme_map["specialty"] != "*")]
    to_programme = registrar.set_index("specialty")["programme"]
    cons = staff[staff["GRADE"].str.lower().str.startswith(CONSULTANT_GRADE)]
    programme = cons["SPECIALTY"].map(to_programme).fillna("")
    left = (cons[programme == ""].groupby("SPECIALTY", as_index=False)["FTE"].sum()
            .rename(columns={"SPECIALTY": "specialty", "FTE": "fte"}))
    placed, _ = place(cons[programme != ""].assign(programme=programme[programme != ""]), orgs)
    fte = placed.groupby(["programme", *PIECE], as_index=False)["FTE"].sum()
    fte = fte.rename(columns={"programme": "specialty", "FTE": "fte"})
    return fte[CONSULTANT_COLUMNS].sort_values(["specialty", *PIECE]).reset_index(drop=True), left


def staff_date(staff: pd.DataFrame) -> str:
    """The census date of a staff file (e.g. '30 Sept 2017'), from its DATE column."""
    dates = pd.to_datetime(staff["DATE"].drop_duplicates(), dayfirst=True)
    last = dates.max()
    month = "Sept" if last.month == 9 else last.strftime("%b")
    return f"{last.day} {month} {last.year}"


# --------------------------------------------------------------------------------------------
# Reading files (the edge): every problem names the file, the row and the column


def read_staff(path: str | Path) -> pd.DataFrame:
    """An NHS Digital "medical staff" CSV, checked: the columns, dates and FTE values.

    The file is read within ``MAX_DATA_BYTES`` (a ``.csv.gz`` unpacked within it too) and
    recognised by its content: a workbook, UTF-16 or Latin-1 text is named as such. Grades are
    matched in any case; a row given twice, two date formats, or a census date outside the
    years NHS Digital has published are refused rather than summed or guessed.
    """
    name = str(path)
    data = inflated(read_bytes(path, name, MAX_DATA_BYTES), name, MAX_DATA_BYTES)
    if data.startswith((ZIP_MAGIC, OLE2_MAGIC)):
        raise InputError([Problem(name, None, None, "an Excel workbook, not a CSV file: download "
                                  "NHS Digital's CSV, or save the sheet from Excel as 'CSV UTF-8 "
                                  "(Comma delimited)'")])
    check_text(data, name)
    check_width(data[:1 << 20].split(b"\n", 1)[0], name)
    try:
        df = pd.read_csv(io.BytesIO(data), dtype=str, encoding="utf-8-sig",
                         keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InputError([Problem(name, None, None, "cannot be read as a CSV file: "
                                  f"{str(exc).splitlines()[0][:200]}")]) from exc
    df.columns = [str(c).strip().upper() for c in df.columns]
    missing = [c for c in STAFF_COLUMNS if c not in df.columns]
    if missing:
        found = ", ".join(df.columns[:12]) or "none"
        raise InputError([Problem(name, 1, c, "required column missing: expected the NHS Digital "
                                  f"medical staff columns (found: {found})") for c in missing])
    for col in ("ORG_CODE", "GRADE", "SPECIALITY_GROUP", "SPECIALTY", "DATE"):
        df[col] = df[col].str.strip()
    df["ORG_CODE"] = df["ORG_CODE"].str.upper()
    canonical = {g.lower(): g for g in TRAINING_GRADES}
    df["GRADE"] = [canonical.get(g.lower(), g) for g in df["GRADE"]]
    fte = pd.to_numeric(df["FTE"].str.replace(",", "", regex=False), errors="coerce")
    dates = pd.to_datetime(df["DATE"], dayfirst=True, errors="coerce", format="mixed")
    problems = _bad_cells(name, df, "FTE", fte.isna() | (fte < 0) | ~np.isfinite(fte),
                          "expected a number of FTE (0 or more)")
    problems += _bad_cells(name, df, "FTE", fte > MAX_ROW_FTE,
                           "not a plausible FTE for one organisation x grade x specialty "
                           f"(expected under {MAX_ROW_FTE:,})")
    problems += _bad_cells(name, df, "DATE", dates.isna(), "expected a date such as 30/09/2017")
    if problems:
        raise InputError(problems)
    if df.empty:
        raise InputError([Problem(name, None, None, "the file has a header but no data rows")])
    _check_dates(name, df["DATE"], dates)
    _check_duplicates(name, df)
    return df.assign(FTE=fte.astype("float64"))


#: NHS Digital's monthly HCHS workforce series starts in September 2009.
FIRST_CENSUS = dt.date(2009, 9, 1)


def _check_dates(name: str, text: pd.Series, dates: pd.Series) -> None:
    """One census date, in one format, within the years NHS Digital has published."""
    shapes = text.str.replace(r"\d", "9", regex=True)
    if shapes.nunique() > 1:  # 01/02/2017 and 2017-02-01 in one file: which is day-first?
        first = int(np.flatnonzero((shapes != shapes.iat[0]).to_numpy())[0])
        raise InputError([Problem(name, first + 2, "DATE", f"'{quote(text.iat[first])}' is "
                                  f"written differently from row 2 ('{quote(text.iat[0])}'): "
                                  "give every date in one format, e.g. 30/09/2017")])
    if dates.nunique() > 1:  # FTE of two census days must not be added up
        shown = ", ".join(sorted({d.strftime("%d/%m/%Y") for d in dates.dropna()})[:5])
        first = int(np.flatnonzero((dates != dates.iat[0]).to_numpy())[0]) + 2
        raise InputError([Problem(name, first, "DATE", f"the file holds several census dates "
                                  f"({shown}): give one month's file")])
    when = dates.iat[0].date()
    if not FIRST_CENSUS <= when <= dt.date.today():
        raise InputError([Problem(name, 2, "DATE", f"census date {when:%d/%m/%Y} is not one NHS "
                                  f"Digital can have published (expected {FIRST_CENSUS:%B %Y} to "
                                  "today): is the date, or its day/month order, right?")])


def _check_duplicates(name: str, df: pd.DataFrame) -> None:
    """A row given twice would be summed into twice the doctors: refuse it, naming both rows."""
    key = ["ORG_CODE", "GRADE", "SPECIALITY_GROUP", "SPECIALTY"]
    folded = df[key].apply(lambda c: c.str.lower())
    repeated = np.flatnonzero(folded.duplicated().to_numpy())
    if len(repeated) == 0:
        return
    firsts = folded.reset_index().groupby(key, sort=False)["index"].first()
    problems = []
    for i in repeated[:10]:
        row = df.iloc[int(i)]
        first = int(firsts.loc[tuple(folded.iloc[int(i)])]) + 2
        problems.append(Problem(name, int(i) + 2, None, f"duplicate row: {row['ORG_CODE']}, "
                                f"{row['GRADE']}, {row['SPECIALTY']} already given on row "
                                f"{first} (NHS Digital gives each once; the FTE would be "
                                "counted twice)"))
    if len(repeated) > 10:
        problems.append(Problem(name, None, None, f"... and {len(repeated) - 10} more "
                                "duplicate rows"))
    raise InputError(problems)


def check_counted(name: str, staff: pd.DataFrame, base: Baseline) -> None:
    """Refuse a baseline that counts nothing from the file: no training grades, or no
    organisation the lookup knows, would otherwise give a baseline of modelled rows only."""
    training = staff[staff["GRADE"].isin(TRAINING_GRADES)]
    if training.empty:
        grades = ", ".join(sorted(staff["GRADE"].unique())[:6])
        raise InputError([Problem(name, None, "GRADE", f"no doctors in training: no row has a "
                                  f"training grade ({', '.join(TRAINING_GRADES)}); grades found: "
                                  f"{quote(grades)}")])
    counted = base.posts[~base.posts["basis"].str.startswith("modelled")]
    if counted.empty or counted["fte"].sum() == 0:
        orgs = ", ".join(sorted(training["ORG_CODE"].unique())[:6])
        raise InputError([Problem(name, None, "ORG_CODE", "no training FTE could be placed: no "
                                  "organisation in the file is an English trust in the "
                                  f"organisation lookup (codes found: {quote(orgs)}); is this "
                                  "NHS Digital's medical staff file for England?")])


def _bad_cells(name: str, df: pd.DataFrame, column: str, bad: pd.Series,
               expected: str) -> list[Problem]:
    """One problem per bad cell (the first ten), then a count of the rest."""
    rows = np.flatnonzero(bad.to_numpy())
    problems = [Problem(name, int(i) + 2, column, f"'{df[column].iat[i][:40]}': {expected}")
                for i in rows[:10]]
    if len(rows) > 10:
        problems.append(Problem(name, None, column, f"... and {len(rows) - 10} more such rows"))
    return problems


def embedded_modelled(posts: pd.DataFrame) -> list[Modelled]:
    """The modelled programmes of a built baseline, to carry into a rebuild from a later file.

    Their weights are their own posts per piece, so Hamilton gives back exactly the same rows.
    """
    rows = posts[posts["basis"].str.startswith("modelled")]
    return [Modelled(str(spec), int(part["posts"].sum()),
                     part[PIECE].assign(weight=part["posts"].astype(float)),
                     str(part["basis"].iat[0]))
            for spec, part in rows.groupby("specialty", sort=True)]


def read_programme_map(path: str | Path) -> pd.DataFrame:
    """The NHS Digital specialty x grade -> programme map (empty programme = left out)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return df[["grade", "speciality_group", "specialty", "programme", "note"]]


def read_org_lookup(path: str | Path) -> pd.DataFrame:
    """Organisation code -> ICB piece (see data/README.md, nhs_org_icb.csv)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def read_baseline_posts(path: str | Path) -> pd.DataFrame:
    """A baseline posts file as written by ``write_posts`` (or ``fairshare baseline build``)."""
    df = pd.read_csv(path, dtype={"icb_code": str, "local_office": str, "specialty": str,
                                  "basis": str})
    return df.astype({"posts": "int64", "fte": "float64"})


def posts_csv(posts: pd.DataFrame) -> str:
    """The posts table as CSV text, deterministic (fixed FTE format, sorted rows)."""
    out = posts.sort_values(["specialty", *PIECE]).copy()
    out["fte"] = [("" if pd.isna(v) else f"{v:.5f}") for v in out["fte"]]
    return str(out[POSTS_COLUMNS].to_csv(index=False, lineterminator="\n"))
