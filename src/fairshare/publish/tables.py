"""The deanery tables planners already use, laid out from the tidy plan and targets (METHOD §5).

Every function here is pure: it takes the tidy tables a run produces and returns a small, wide
table in the shape a postgraduate dean's office reads and circulates: one area's moves for one
year, the pace of change across the plan, and "previous vs current numbers" after a scenario or
data refresh. The tidy tables stay the single source of truth; these are views of them, so every
total row is recomputed from the rows above it and must agree with the tidy table it came from.

Layouts are plain DataFrames with the programme's own column names; formatting (bold totals,
number formats, colours) is the workbook's job (``fairshare.publish.excel``), not this module's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "MODEL_GAP",
    "ONE_YEAR_COLUMNS",
    "PHASE_IMPACT_COLUMNS",
    "PLAN_ADDITIVE",
    "SPECIALTY_PHASE",
    "TOTAL",
    "TOTAL_MOVED",
    "by_level",
    "is_total_label",
    "one_year",
    "pace_of_change",
    "phase_impact",
    "year_to_show",
]

#: Label of the grand-total row in every layout.
TOTAL = "Total"
ONE_YEAR_COLUMNS = ["School", "Specialty", "Phase", "Redistribution", "Time-limited expansion",
                    "Net gain/loss"]
SPECIALTY_PHASE = "Specialty (phase)"
#: The model's own gap (its target − current posts). Never named after the programme's
#: published figures ("guided distribution" is the programme's name for its own): the two differ.
MODEL_GAP = "Model gap (target − current)"
TOTAL_MOVED = "Total moved"
PHASE_IMPACT_COLUMNS = ["School", "Specialty", "Phase", "Previous", "Current", "Change"]
#: The expansion modes, shown beside the chosen one when the plan carries them.
EXPANSION_MODE_COLUMNS = {"expansion_under_served": "Expansion if to under-served",
                          "expansion_offset": "Expansion if offsetting losses",
                          "expansion_cushioned": "Expansion if cushioning, then by need"}

#: Plan columns that add up across areas (remaining_gap is not listed: it is recomputed as
#: target − posts after aggregation, so it can never disagree with the columns it comes from).
PLAN_ADDITIVE = ["redistribution", "expansion", "expansion_in_post", "net", "cumulative", "posts",
                 "target", "vacancies", "vacancies_used", "capacity", "capacity_used"]

#: Plan columns that are a position at the end of a year rather than a flow during it: over a
#: whole plan they are read at its last year, never summed across years.
_PLAN_STOCKS = {"posts", "target", "remaining_gap", "cumulative", "expansion_in_post"}

_KEYS = ["school", "specialty", "phase"]


def year_to_show(plan: pd.DataFrame, first_to_come: int) -> int:
    """The one-year table's default year: the first year still to come with a move (else the
    first year to come); if every plan year is past, the first year with a move.

    A year whose recruitment is past is a reconstruction, so a planner asking "what moves
    next" is shown the first year still to come, never a past year dressed as a move to make.
    """
    if plan.empty:
        raise ValueError("the plan table is empty")
    moved = plan["redistribution"] != 0
    if "expansion" in plan.columns:
        moved |= plan["expansion"] != 0
    coming = plan["year"] >= first_to_come
    for rows in (moved & coming, coming, moved):
        if rows.any():
            return int(plan.loc[rows, "year"].min())
    return int(plan["year"].min())


def is_total_label(label: object) -> bool:
    """True for a layout's grand-total ("Total") or school subtotal ("<School> total") label.

    The workbook uses this to bold those rows, so the rule lives beside the code that makes them.
    """
    return isinstance(label, str) and (label == TOTAL or label.endswith(" total"))


def one_year(plan: pd.DataFrame, area: str, year: int, *, keep_zeros: bool = False) -> pd.DataFrame:
    """One area's moves in one year, per specialty: the programme's one-year area table.

    Columns: School | Specialty | Phase | Redistribution | Time-limited expansion | Net gain/loss,
    sorted by school then specialty, with a final "Total" row. Specialties with nothing happening
    that year are dropped unless ``keep_zeros`` (a dean's office circulates what changes; the
    totals are the same either way because dropped rows are all zeros).

    "Time-limited expansion" is the new time-limited posts starting that year (``expansion``), so
    Net gain/loss = Redistribution + Time-limited expansion, exactly as the plan's ``net``. A plan
    made without expansion may leave those columns out; they then count as zero. A plan with
    expansion carries both modes (under-served, offsetting losses): they follow, side by side.
    """
    plan = _with_flows(plan)
    _require(plan, ["area", "year", *_KEYS, "redistribution"], "plan")
    rows = _select(plan, area=area, year=year)
    modes = [c for c in EXPANSION_MODE_COLUMNS if c in rows.columns]
    body = (rows.groupby(_KEYS, as_index=False, sort=False, dropna=False)
            [["redistribution", "expansion", "net", *modes]].sum())
    if not keep_zeros:
        body = body[(body[["redistribution", "expansion", "net", *modes]] != 0).any(axis=1)]
    body = _sort(body)
    body.columns = ONE_YEAR_COLUMNS + [EXPANSION_MODE_COLUMNS[c] for c in modes]
    return _with_total(body, label_column="School", blank=["Specialty", "Phase"])


def pace_of_change(plan: pd.DataFrame, targets: pd.DataFrame, area: str, *,
                   keep_zeros: bool = True) -> pd.DataFrame:
    """One area's redistribution per year across the whole plan: the "pace of change" table.

    Columns: Specialty (phase) | Model gap (target − current) | one column per plan year
    (named ``str(year)``) holding that year's redistribution (+ received, − given) | Total moved
    (the sum of the year columns), plus a final "Total" row. The gap is the starting gap, target −
    current, from the targets table, so a reader sees how much of it the moves close and how fast.
    Rows are ordered by school then specialty; all specialties are kept unless ``keep_zeros`` is
    False, because "no gap, no moves" is itself an answer a planner is asked for.
    """
    _require(plan, ["area", "year", "specialty", "redistribution"], "plan")
    _require(targets, ["area", "specialty", "school", "phase", "current", "target"], "targets")
    rows = _select(plan, area=area)
    tgt = targets[targets["area"] == area]
    if tgt.empty:
        raise ValueError(f"area {area!r} is not in the targets table")
    years = sorted(int(y) for y in rows["year"].unique())
    gap = tgt.groupby(_KEYS, as_index=False, sort=False)[["target", "current"]].sum()
    gap[MODEL_GAP] = gap["target"] - gap["current"]
    moves = rows.pivot_table(index="specialty", columns="year", values="redistribution",
                             aggfunc="sum", fill_value=0)
    moves = moves.reindex(columns=years, fill_value=0)
    moves.columns = [str(y) for y in years]
    extra = sorted(set(moves.index) - set(gap["specialty"]))
    if extra:
        raise ValueError(f"plan specialties for {area!r} missing from the targets table: {extra}")
    body = gap.merge(moves, left_on="specialty", right_index=True, how="left")
    year_cols = [str(y) for y in years]
    body[year_cols] = body[year_cols].fillna(0).astype("int64")
    body[TOTAL_MOVED] = body[year_cols].sum(axis=1).astype("int64")
    if not keep_zeros:
        body = body[(body[[MODEL_GAP, *year_cols]] != 0).any(axis=1)]
    body = _sort(body)
    body[SPECIALTY_PHASE] = body["specialty"].astype(str) + " (" + body["phase"].astype(str) + ")"
    body = body[[SPECIALTY_PHASE, MODEL_GAP, *year_cols, TOTAL_MOVED]]
    return _with_total(body, label_column=SPECIALTY_PHASE, blank=[])


def phase_impact(previous: pd.DataFrame, current: pd.DataFrame, *, value: str = "target",
                 area: str | None = None, year: int | None = None) -> pd.DataFrame:
    """Previous vs current numbers per specialty when a scenario or data refresh changes them.

    Columns: School | Specialty | Phase | Previous | Current | Change (= Current − Previous), the
    specialties of each school followed by a "<School> total" row, and an overall "Total" row
    that sums the specialty rows (never the subtotals). ``previous`` and ``current`` are the
    targets (or plan) tables of two runs; ``value`` picks the column compared; ``area`` None
    compares national figures (the sum over areas).

    Plan tables have a row per year: ``year`` picks one; otherwise a flow (redistribution,
    expansion, vacancies used, ...) is summed over the plan and a position (posts, target,
    remaining gap, cumulative) is read at each run's last year, because summing a position over
    years means nothing. Specialties in only one run count as zero in the other; school and phase
    come from the current run, so a specialty that changed phase is shown where it now sits.
    """
    prev = _totals_for(previous, value, area, year, "previous")
    curr = _totals_for(current, value, area, year, "current")
    both = curr.merge(prev, on="specialty", how="outer", suffixes=("", "_prev"))
    for key in ("school", "phase"):
        both[key] = both[key].fillna(both[f"{key}_prev"])
    both = both.rename(columns={f"{value}_prev": "Previous", value: "Current"})
    numeric = pd.api.types.is_integer_dtype(prev[value]) and pd.api.types.is_integer_dtype(
        curr[value])
    both[["Previous", "Current"]] = both[["Previous", "Current"]].fillna(0)
    if numeric:
        both[["Previous", "Current"]] = both[["Previous", "Current"]].astype("int64")
    both["Change"] = both["Current"] - both["Previous"]
    body = _sort(both[[*_KEYS, "Previous", "Current", "Change"]])
    body.columns = PHASE_IMPACT_COLUMNS
    numbers = ["Previous", "Current", "Change"]
    parts: list[pd.DataFrame] = []
    for school, rows in body.groupby("School", sort=False):
        subtotal = {"School": f"{school} total", "Specialty": "", "Phase": "",
                    **{c: rows[c].sum() for c in numbers}}
        parts += [rows, pd.DataFrame([subtotal])]
    grand = {"School": TOTAL, "Specialty": "", "Phase": "", **{c: body[c].sum() for c in numbers}}
    out = pd.concat([*parts, pd.DataFrame([grand])], ignore_index=True)
    return out.astype({c: body[c].dtype for c in numbers})


def by_level(plan: pd.DataFrame, level: str, mapping: pd.DataFrame | None = None) -> pd.DataFrame:
    """A local-office plan added up to a coarser level, in the same tidy shape.

    ``level`` is "local_office" (returned unchanged), "region" or "national" (one area,
    "England"). For regions, ``mapping`` gives each area's region (columns ``area`` or
    ``local_office``, and ``region`` or ``region_name``, e.g. the bundle's ``local_offices``);
    without it the plan's own ``region`` column is used. The additive columns are summed and
    ``remaining_gap`` recomputed as target − posts, so a region's figures are exactly the sum of
    its local offices'. Moves between two local offices of one region cancel in the region's
    redistribution but still count in its vacancies and capacity used, which stay gross.
    """
    if level == "local_office":
        return plan.copy()
    if level not in ("region", "national"):
        raise ValueError(f"level must be 'local_office', 'region' or 'national', not {level!r}")
    _require(plan, ["area", "specialty", "year"], "plan")
    plan = plan.copy()
    if level == "national":
        plan["region"] = "England"
    elif mapping is not None:
        area_col = _pick(mapping, ["area", "local_office"], "mapping")
        region_col = _pick(mapping, ["region", "region_name"], "mapping")
        lookup = mapping.drop_duplicates(area_col).set_index(area_col)[region_col]
        missing = sorted(set(plan["area"]) - set(lookup.index))
        if missing:
            raise ValueError(f"mapping has no region for areas: {missing}")
        plan["region"] = plan["area"].map(lookup)
    else:
        _require(plan, ["region"], "plan")
    keys = [c for c in ("scenario", "region", "specialty", "school", "phase", "year")
            if c in plan.columns]
    summed = [c for c in PLAN_ADDITIVE if c in plan.columns]
    out = plan.groupby(keys, as_index=False, sort=False, dropna=False)[summed].sum()
    out["area"] = out["region"]
    if {"target", "posts"} <= set(out.columns):
        out["remaining_gap"] = out["target"] - out["posts"]
    columns = [c for c in plan.columns if c in out.columns]
    return out[columns].sort_values(["area", "specialty", "year"], kind="stable").reset_index(
        drop=True)


# --- helpers ---------------------------------------------------------------------------------

def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Fail with the missing column names rather than a KeyError deep inside a groupby."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} table is missing columns: {missing}")


def _pick(frame: pd.DataFrame, options: Sequence[str], name: str) -> str:
    for option in options:
        if option in frame.columns:
            return option
    raise ValueError(f"{name} table needs one of the columns {list(options)}")


def _with_flows(plan: pd.DataFrame) -> pd.DataFrame:
    """A plan made without expansion has no expansion columns: they are zeros, and net = moves."""
    if "expansion" in plan.columns and "net" in plan.columns:
        return plan
    plan = plan.copy()
    if "expansion" not in plan.columns:
        plan["expansion"] = 0
    if "net" not in plan.columns:
        plan["net"] = plan["redistribution"] + plan["expansion"]
    return plan


def _select(plan: pd.DataFrame, *, area: str, year: int | None = None) -> pd.DataFrame:
    """The plan rows of one area (and year); a name or year not in the plan is an error, because
    an empty table would read as "nothing moves" rather than "you asked for the wrong thing"."""
    rows = plan[plan["area"] == area]
    if rows.empty:
        known = sorted(str(a) for a in plan["area"].unique())
        raise ValueError(f"area {area!r} is not in the plan; areas are {known}")
    if year is not None:
        rows = rows[rows["year"] == year]
        if rows.empty:
            years = sorted(int(y) for y in plan["year"].unique())
            raise ValueError(f"year {year} is not in the plan; years are {years}")
    return rows


def _sort(body: pd.DataFrame) -> pd.DataFrame:
    """School then specialty, case-insensitively, as the programme lists them."""
    school = "school" if "school" in body.columns else "School"
    specialty = "specialty" if "specialty" in body.columns else "Specialty"
    order = body.assign(_s=body[school].astype(str).str.lower(),
                        _p=body[specialty].astype(str).str.lower())
    order = order.sort_values(["_s", "_p"], kind="stable")
    return order.drop(columns=["_s", "_p"]).reset_index(drop=True)


def _totals_for(frame: pd.DataFrame, value: str, area: str | None, year: int | None,
                name: str) -> pd.DataFrame:
    """One run's ``value`` per specialty (national or for one area) for phase_impact."""
    _require(frame, ["specialty", "school", "phase", value], name)
    if area is not None:
        _require(frame, ["area"], name)
        frame = frame[frame["area"] == area]
        if frame.empty:
            raise ValueError(f"area {area!r} is not in the {name} table")
    if "year" in frame.columns:
        if year is not None:
            frame = frame[frame["year"] == year]
            if frame.empty:
                raise ValueError(f"year {year} is not in the {name} table")
        elif value in _PLAN_STOCKS:
            frame = frame[frame["year"] == frame["year"].max()]
    return frame.groupby(_KEYS, as_index=False, sort=False, dropna=False)[[value]].sum()


def _with_total(body: pd.DataFrame, *, label_column: str, blank: Sequence[str]) -> pd.DataFrame:
    """``body`` plus a "Total" row of its column sums (computed here, never carried over)."""
    numbers = [c for c in body.columns if c != label_column and c not in blank]
    total: dict[str, object] = {label_column: TOTAL, **dict.fromkeys(blank, "")}
    for column in numbers:
        total[column] = body[column].sum()
    out = pd.concat([body, pd.DataFrame([total])], ignore_index=True)
    return out.astype({c: "int64" for c in numbers if pd.api.types.is_integer_dtype(body[c])
                       or body.empty})


def by_icb(plan: pd.DataFrame, pieces: pd.DataFrame) -> pd.DataFrame:
    """A local-office plan shared out to ICBs, so an ICB can see what it gains or loses.

    Posts are held by local offices, so an ICB's share of its local office's moves is an
    estimate: each year's cumulative moves go to the ICB pieces on the same side of their own
    target (receiving pieces below target, giving pieces above), in proportion to how far each
    is from target, never past it. D'Hondt is used because it is house-monotone: a piece's
    cumulative moves never shrink as the local office's grow, so yearly moves keep one sign.
    Expansion, vacancies and capacity are shared in proportion to current posts. ``pieces`` is
    ``fairshare.model.targets.pieces(bundle, scenario)`` (one row per ICB piece x specialty).
    """
    _require(plan, ["area", "specialty", "year", "redistribution", "cumulative"], "plan")
    _require(pieces, ["area_code", "area", "local_office", "specialty", "current", "target"],
             "pieces")
    plan = _with_flows(plan)
    shared = [c for c in ("expansion", "expansion_in_post", "vacancies", "vacancies_used",
                          "capacity", "capacity_used") if c in plan.columns]
    by_piece = {key: part.reset_index(drop=True)
                for key, part in pieces.groupby(["local_office", "specialty"], sort=False)}
    out = []
    for key, rows in plan.sort_values("year").groupby(["area", "specialty"], sort=False):
        if key in by_piece:
            out.append(_share_out(rows, by_piece[key], shared))
    if not out:
        raise ValueError("no plan rows match the ICB pieces (different local offices?)")
    frame = pd.DataFrame({col: np.concatenate([o[col] for o in out]) for col in out[0]})
    keys = [c for c in ("scenario", "area_code", "area", "region", "specialty", "school",
                        "phase", "year") if c in frame.columns]
    summed = ["redistribution", "cumulative", "posts", "target", *shared]
    result = frame.groupby(keys, as_index=False, sort=False)[summed].sum()
    result["net"] = result["redistribution"] + result.get("expansion", 0)
    result["remaining_gap"] = result["target"] - result["posts"]
    return result.sort_values(["specialty", "area", "year"]).reset_index(drop=True)


def _share_out(rows: pd.DataFrame, parts: pd.DataFrame,
               shared: list[str]) -> dict[str, np.ndarray]:
    """One local office x specialty plan split over its ICB pieces (see ``by_icb``)."""
    from fairshare.apportionment import apportion

    n = len(parts)
    years = rows["year"].to_numpy()
    cumulative = rows["cumulative"].to_numpy(dtype=np.int64)
    current = parts["current"].to_numpy(dtype=np.int64)
    by_current = [float(c) for c in current] if current.sum() else [1.0] * n
    cache: dict[int, list[int]] = {}

    def proportional(v: int) -> list[int]:
        if v not in cache:
            cache[v] = apportion(by_current, v) if n > 1 else [v]
        return cache[v]

    side = 1 if len(rows) and cumulative[-1] > 0 else -1
    room = [max(0, int(g) * side) for g in (parts["target"] - parts["current"])]
    towards: dict[int, list[int]] = {}
    cum = np.zeros((len(rows), n), dtype=np.int64)
    for i, moved in enumerate(int(m) for m in np.abs(cumulative)):
        if moved and n > 1 and sum(room) >= moved:
            if moved not in towards:  # cumulative moves repeat across years: solve each once
                towards[moved] = apportion(room, moved, "dhondt", maximum=room)
            cum[i] = towards[moved]
        elif moved:
            cum[i] = proportional(moved)
    cum *= side
    steps = np.diff(cum, axis=0, prepend=0)
    frame: dict[str, np.ndarray] = {
        "year": np.repeat(years, n),
        "area_code": np.tile(parts["area_code"].to_numpy(), len(rows)),
        "area": np.tile(parts["area"].to_numpy(), len(rows)),
        "cumulative": cum.ravel(),
        "redistribution": steps.ravel(),
        "posts": (current[None, :] + cum).ravel(),
        "target": np.tile(parts["target"].to_numpy(dtype=np.int64), len(rows)),
    }
    for col in ("scenario", "school", "phase", "specialty"):
        if col in rows.columns:
            frame[col] = np.repeat(rows[col].to_numpy(), n)
    if "region" in parts.columns:  # an ICB's own NHS region, not its local office's
        frame["region"] = np.tile(parts["region"].to_numpy(), len(rows))
    for col in shared:
        frame[col] = np.concatenate([proportional(int(v)) for v in rows[col]])
    return frame
