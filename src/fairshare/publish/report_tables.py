"""The report's tables: targets by area and specialty, the plan by year and area, findings.

Each function turns run tables into ``report_format.Table`` objects (data only); the templates
in ``templates/`` lay them out. Numbers follow one convention: gap = target − current,
**+ receives, − gives**, in posts or as a percentage of the target; every header names its unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

import numpy as np
import pandas as pd

from fairshare.publish.report_format import (
    Cell,
    Table,
    count,
    decimal,
    gap_class,
    is_missing,
    label,
    num,
    percent,
    side,
    signed,
)

FINDINGS_SHOWN = 150
KEEP_TOGETHER = 24  # tables with at most this many rows are not split over pages

_FINDING_KINDS = {
    "horizon": "not at target by the end of the plan",
    "glide": "not at target by the end of the glide window",
    "cohort_share": "cohort share",
    "intake_growth": "intake growth limit",
    "phase": "specialty not phased: no moves",
    "capacity": "supervision capacity",
    "vacancies": "too few vacancies",
    "min_posts": "minimum programme size",
    "pace_cap": "pace cap",
    "timing": "timing",
    "target": "target missed",
    "fill": "likely unfilled (modelled fill rate)",
}

_WATERFALL_COLUMNS = [
    ("population_share_posts", "Plain population share (posts)"),
    ("effect_need", "Age and need (posts)"),
    ("effect_projection", "Projected demand (posts)"),
    ("effect_deprivation", "Deprivation (posts)"),
    ("effect_rural_coastal", "Rural and coastal (posts)"),
    ("effect_specialised", "Specialised kept in place (posts)"),
    ("effect_rounding", "Whole posts (posts)"),
]


def area_totals(tgt: pd.DataFrame) -> pd.DataFrame:
    """Per area, summed over specialties: current, target, gap, gap as a share of target."""
    cols = ["current", "target", "gap"] + (["fair_share"] if "fair_share" in tgt.columns else [])
    keys = ["area"] + [c for c in ("area_code", "region") if c in tgt.columns]
    out = tgt.groupby(keys, as_index=False, sort=False, dropna=False)[cols].sum()
    out["gap_share"] = out["gap"] / out["target"].where(out["target"] != 0)
    return out


def _share(part: float, whole: float) -> float:
    return part / whole if whole else float("nan")


def targets_table(tgt: pd.DataFrame, level: str) -> Table:
    """Every area, all specialties together, largest givers first."""
    areas = area_totals(tgt).sort_values("gap", kind="stable")
    has_region = "region" in areas.columns and level != "region"
    has_fair = "fair_share" in areas.columns
    headers = [Cell("Area")] + ([Cell("NHS region")] if has_region else [])
    headers += [num("Current posts")] + ([num("Fair share (posts)")] if has_fair else [])
    headers += [num("Target (posts)"), num("Gap (posts)"), num("Gap (% of target)"),
                Cell("Receives or gives")]
    rows = []
    for r in areas.itertuples(index=False):
        row = [label(r.area)] + ([Cell(str(r.region))] if has_region else [])
        row += [num(count(r.current))] + ([num(decimal(r.fair_share))] if has_fair else [])
        row += [num(count(r.target)), num(signed(r.gap), gap_class(r.gap)),
                num(percent(r.gap_share), gap_class(r.gap)),
                Cell(side(r.gap), gap_class(r.gap))]
        rows.append(row)
    cur, tar = areas["current"].sum(), areas["target"].sum()
    total = [label("England")] + ([Cell()] if has_region else []) + [num(count(cur))]
    total += [num(decimal(areas["fair_share"].sum()))] if has_fair else []
    total += [num(count(tar)), num(signed(tar - cur)), num(percent(_share(tar - cur, tar))),
              Cell()]
    return Table("Targets by area, all specialties", headers, rows, total, cls="targets",
                 keep=len(rows) <= KEEP_TOGETHER)


def waterfall_table(tgt: pd.DataFrame) -> Table | None:
    """Why each area's target differs from a plain population share (None without the columns)."""
    steps = [(c, text) for c, text in _WATERFALL_COLUMNS  # rural/coastal only when switched on
             if c != "effect_rural_coastal" or (c in tgt.columns and tgt[c].abs().sum() > 0)]
    cols = [c for c, _ in steps]
    if any(c not in tgt.columns for c in cols):
        return None
    wf = tgt.groupby("area", as_index=False, sort=False)[[*cols, "target"]].sum()
    wf = wf.sort_values("area")
    headers = ([Cell("Area")] + [num(text) for _, text in steps]
               + [num("Target (posts)")])
    rows = [[label(r["area"]), num(decimal(r[cols[0]]))]
            + [num(decimal(r[c], sign=True)) for c in cols[1:]] + [num(count(r["target"]))]
            for r in wf.to_dict("records")]
    total = ([label("England"), num(decimal(wf[cols[0]].sum()))]
             + [num(decimal(wf[c].sum(), sign=True)) for c in cols[1:]]
             + [num(count(wf["target"].sum()))])
    return Table("Why each target differs from a plain population share (posts)", headers, rows,
                 total, cls="waterfall", keep=len(rows) <= KEEP_TOGETHER, wide=True)


def specialty_table(tgt: pd.DataFrame) -> Table:
    """Every specialty, largest gaps first: posts, posts that move, largest giver and receiver."""
    keys = ["specialty"] + [c for c in ("school", "phase") if c in tgt.columns]
    records = []
    for key, grp in tgt.groupby(keys, sort=False, dropna=False):
        info = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        giver, receiver = grp.loc[grp["gap"].idxmin()], grp.loc[grp["gap"].idxmax()]
        records.append({**info, "posts": int(grp["current"].sum()),
                        "moving": int(grp["gap"].clip(lower=0).sum()),
                        "giver": (f"{giver['area']} ({signed(giver['gap'])})"
                                  if giver["gap"] < 0 else "\u2014"),
                        "receiver": (f"{receiver['area']} ({signed(receiver['gap'])})"
                                     if receiver["gap"] > 0 else "\u2014")})
    df = pd.DataFrame(records).sort_values(["moving", "specialty"], ascending=[False, True],
                                           kind="stable")
    extra = [c for c in ("school", "phase") if c in df.columns]
    headers = ([Cell("Specialty")] + [Cell(c.capitalize()) for c in extra]
               + [num("Posts"), num("Posts that move"), num("Share that moves"),
                  Cell("Largest giver (gap, posts)"), Cell("Largest receiver (gap, posts)")])
    rows = [[label(r["specialty"])] + [Cell(str(r[c])) for c in extra]
            + [num(count(r["posts"])), num(count(r["moving"])),
               num(percent(_share(r["moving"], r["posts"]), sign=False)),
               Cell(r["giver"], "give who"), Cell(r["receiver"], "receive who")]
            for r in df.to_dict("records")]
    posts, moving = df["posts"].sum(), df["moving"].sum()
    total = ([label("All specialties")] + [Cell()] * len(extra)
             + [num(count(posts)), num(count(moving)),
                num(percent(_share(moving, posts), sign=False)), Cell(), Cell()])
    return Table("Targets by specialty, all areas", headers, rows, total, cls="specialties",
                 wide=True)


def plan_frame(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan with posts received and given per row (missing optional columns as zero)."""
    df = plan.copy()
    for col in ("expansion", "vacancies", "vacancies_used", "capacity_used"):
        if col not in df.columns:
            df[col] = 0
    df["received"] = df["redistribution"].clip(lower=0)
    df["given"] = (-df["redistribution"]).clip(lower=0)
    return df


def plan_year_table(df: pd.DataFrame, start_short: int,
                    status: Mapping[int, str] | None = None) -> Table:
    """Moves, vacancies and capacity used, and what is still to move, for every plan year;
    with ``status`` (year -> "reconstruction" or "to come") a column saying which."""
    has_exp = bool(df["expansion"].abs().sum())
    short_known = "remaining_gap" in df.columns

    def row_for(head: Cell, g: pd.DataFrame, short: float | None) -> list[Cell]:
        cells = [head, num(count(g.loc[g["redistribution"] != 0, "specialty"].nunique())),
                 num(count(g["received"].sum()))]
        cells += [num(count(g["expansion"].sum()))] if has_exp else []
        closed = 1 - short / start_short if short is not None and start_short else float("nan")
        return [*cells, num(count(g["vacancies"].sum())),
                num(count(g["vacancies_used"].sum())), num(count(g["capacity_used"].sum())),
                num(count(short)), num(percent(closed, 0, sign=False))]

    def short_of(g: pd.DataFrame) -> float | None:
        return float(g["remaining_gap"].clip(lower=0).sum()) if short_known else None

    rows = [row_for(label(str(int(year))), g, short_of(g))
            for year, g in df.groupby("year", sort=True)]
    last = df[df["year"] == df["year"].max()]
    total = row_for(label("Total"), df, short_of(last))
    headers = [Cell("Year"), num("Specialties moving"), num("Posts moved")]
    if status:
        years = sorted(int(y) for y in df["year"].unique())
        rows = [[r[0], Cell(status.get(y, "")), *r[1:]] for y, r in zip(years, rows,
                                                                        strict=True)]
        total = [total[0], Cell(""), *total[1:]]
        headers = [headers[0], Cell("Year status"), *headers[1:]]
    headers += [num("Expansion posts")] if has_exp else []
    headers += [num("Vacancies (posts)"), num("Vacancies used (posts)"),
                num("Capacity used (posts)"), num("Still to move, end of year (posts)"),
                num("Gap closed (%)")]
    return Table("Moves by year, all areas and specialties", headers, rows, total,
                 cls="plan-years", keep=True)


def plan_area_table(df: pd.DataFrame, tgt: pd.DataFrame) -> Table:
    """Per area: the starting gap, posts received and given, and the gap left at the end."""
    last_year = int(df["year"].max())
    start = tgt.groupby("area", sort=False).agg(gap=("gap", "sum"),
                                                off=("gap", lambda s: int(s.abs().sum())))
    moves = df.groupby("area", sort=False).agg(received=("received", "sum"),
                                               given=("given", "sum"),
                                               expansion=("expansion", "sum"))
    end = df[df["year"] == last_year]
    if "remaining_gap" in end.columns:
        left = end.groupby("area", sort=False).agg(
            rem=("remaining_gap", "sum"), off_end=("remaining_gap", lambda s: int(s.abs().sum())))
    else:
        left = pd.DataFrame(index=moves.index, data={"rem": np.nan, "off_end": np.nan})
    table = start.join(moves, how="outer").join(left, how="left").fillna(0)
    table = table.sort_values("gap", kind="stable")
    has_exp = bool(table["expansion"].abs().sum())
    headers = [Cell("Area"), num("Gap at start (posts)"), num("Received (posts)"),
               num("Given (posts)"), num("Net moved (posts)")]
    headers += [num("Expansion posts")] if has_exp else []
    headers += [num(f"Gap left in {last_year} (posts)"), num("Off target at start (posts)"),
                num(f"Off target in {last_year} (posts)")]

    def row_for(head: Cell, r: Mapping[str, Any]) -> list[Cell]:
        net = r["received"] - r["given"]
        cells = [head, num(signed(r["gap"]), gap_class(r["gap"])), num(count(r["received"])),
                 num(count(r["given"])), num(signed(net), gap_class(net))]
        cells += [num(count(r["expansion"]))] if has_exp else []
        return [*cells, num(signed(r["rem"]), gap_class(r["rem"])), num(count(r["off"])),
                num(count(r["off_end"]))]

    rows = [row_for(label(area), r) for area, r in table.iterrows()]
    total = row_for(label("England"), table.sum(numeric_only=True))
    return Table("Moves by area over the whole plan", headers, rows, total, cls="plan-areas",
                 keep=len(rows) <= KEEP_TOGETHER, wide=True)


def pace_table(area: str, table: pd.DataFrame) -> Table:
    """The planners' pace-of-change table for one area (``publish.tables.pace_of_change``)."""
    columns = list(table.columns)
    first = columns[0]
    headers = [Cell(str(first))] + [
        num("Gap (posts)" if "gap" in str(c).lower() else
            str(c) if str(c).isdigit() else f"{c} (posts)") for c in columns[1:]]
    rows, total = [], None
    for rec in table.to_dict("records"):
        cells = [label(rec[first])]
        for c in columns[1:]:
            v = rec[c]
            blank = str(c).isdigit() and not is_missing(v) and round(float(v)) == 0
            cells.append(num("" if blank else signed(v), gap_class(v)))
        if str(rec[first]) == "Total":
            total = cells
        else:
            rows.append(cells)
    return Table(f"{area}: posts moved each year, by specialty (phase)", headers, rows, total,
                 cls="pace", wide=True)


def findings_frame(findings: Iterable[Any] | pd.DataFrame | None) -> pd.DataFrame | None:
    """Findings as a table: kind, area, specialty, year, size, message (None when not given)."""
    if findings is None:
        return None
    if isinstance(findings, pd.DataFrame):
        df = findings.copy()
    else:
        rows = []
        for f in findings:
            if isinstance(f, Mapping):
                rows.append(dict(f))
            elif is_dataclass(f) and not isinstance(f, type):
                rows.append(asdict(f))
            else:
                rows.append({k: getattr(f, k, None) for k in
                             ("kind", "area", "specialty", "year", "size")}
                            | {"message": getattr(f, "message", str(f))})
        df = pd.DataFrame(rows)
    for col in ("kind", "area", "specialty", "year", "size", "message"):
        if col not in df.columns:
            df[col] = None
    return df.reset_index(drop=True)


def kind_label(kind: Any) -> str:
    """A finding's kind in words."""
    if is_missing(kind):
        return "other"
    return _FINDING_KINDS.get(str(kind), str(kind).replace("_", " "))


def findings_tables(findings: pd.DataFrame) -> tuple[Table, list[Table], int]:
    """A count by kind, then the largest findings of each kind; and how many were left out."""
    df = findings.copy()
    df["size_n"] = pd.to_numeric(df["size"], errors="coerce").fillna(0)
    kinds = (df.groupby("kind", dropna=False).agg(n=("message", "size"), posts=("size_n", "sum"))
             .sort_values("n", ascending=False))
    if "cause" in df.columns:  # grouped by kind and cause, ranked by the posts involved
        groups = (df.groupby(["kind", "cause"], dropna=False)
                  .agg(n=("message", "size"), posts=("size_n", "sum"))
                  .sort_values(["posts", "n"], ascending=False))
        rows = [[label(kind_label(k)), Cell("" if is_missing(c) else str(c)),
                 num(count(r["n"])), num(count(r["posts"]))] for (k, c), r in groups.iterrows()]
        summary = Table("Findings by kind and cause, most posts first",
                        [Cell("Kind"), Cell("Held back by"), num("Findings"),
                         num("Posts involved")], rows,
                        [label("All"), Cell(""), num(count(len(df))),
                         num(count(df["size_n"].sum()))], cls="findings-kinds", keep=True)
    else:
        summary = Table("Findings by kind",
                        [Cell("Kind"), num("Findings"), num("Posts involved")],
                        [[label(kind_label(k)), num(count(r["n"])), num(count(r["posts"]))]
                         for k, r in kinds.iterrows()],
                        [label("All"), num(count(len(df))), num(count(df["size_n"].sum()))],
                        cls="findings-kinds", keep=True)
    df = df.sort_values(["size_n", "area", "specialty"], ascending=[False, True, True],
                        kind="stable")
    shown = df.head(FINDINGS_SHOWN)
    blocks = []
    for kind in kinds.index:
        part = shown[shown["kind"].isna()] if is_missing(kind) else shown[shown["kind"] == kind]
        if part.empty:
            continue
        rows = [[label(r["area"]), Cell("" if is_missing(r["specialty"]) else str(r["specialty"])),
                 Cell("" if is_missing(r["year"]) else str(int(r["year"]))),
                 num(count(r["size_n"])),
                 Cell("" if is_missing(r["message"]) else str(r["message"]), "message")]
                for r in part.to_dict("records")]
        blocks.append(Table(f"{kind_label(kind).capitalize()} ({len(part)})",
                            [Cell("Area"), Cell("Specialty"), Cell("Year"), num("Posts"),
                             Cell("What it says")], rows, cls="findings"))
    return summary, blocks, len(df) - len(shown)
