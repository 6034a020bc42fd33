"""Impact monitoring: the programme's impact metrics per area and specialty, against baseline.

METHOD §5 asks for the programme's impact-assessment metrics (fill rates, vacancies, locum use,
inter-deanery transfers, out-of-programme requests, trainee satisfaction, trainer resignations,
...) as time series per area and specialty, against their baseline. **No public series exists at
local office × specialty level** (recruitment fill rates are published nationally by specialty,
the GMC survey by trust and programme, locum spend by trust), so the series are a user input:
the people running the programme hold them. fairshare checks the file, puts every value beside
its baseline, says whether the change is good or bad for that metric, flags what got worse by
more than a threshold, and lines each row up with the posts the plan has moved by then.

File format (CSV UTF-8 or Excel), one row per area × specialty × year × metric:

=================== =================================================================
column              meaning
=================== =================================================================
``local_office``    a local office name or code (or ``icb``: an ICB code, ODS code or name)
``specialty``       a catalogue name, or ``All`` for an area-wide figure
``year``            the calendar year the value belongs to (e.g. 2025)
``metric``          a name from ``METRICS``, or ``custom:<name>`` for anything else
``value``           a number (a trailing ``%`` is allowed and ignored)
``good_direction``  optional: ``up`` or ``down``, which way is good; needed only for
                    ``custom:`` metrics (a vocabulary metric's direction is fixed)
=================== =================================================================

Every problem is reported at once with file, row and column, as for the establishment file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fairshare.errors import InputError, Problem
from fairshare.inputs.posts import (
    AREA_COLUMNS,
    area_lookup,
    cell_text,
    parse_year,
    read_table,
    suggest,
)

__all__ = [
    "ALL",
    "CUSTOM",
    "DEFAULT_THRESHOLD",
    "IMPACT_COLUMNS",
    "METRICS",
    "Metric",
    "impact_table",
    "parse_metrics",
    "read_metrics",
]

#: Specialty label of an area-wide (all-specialty) series.
ALL = "All"
#: Prefix of a user-defined metric name.
CUSTOM = "custom:"
#: Default "worse than baseline by more than" threshold (a share of the baseline).
DEFAULT_THRESHOLD = 0.10


@dataclass(frozen=True)
class Metric:
    """A metric of the vocabulary: which way is good, what it counts, its valid range."""

    good: str  # "up": a rise is good; "down": a rise is bad
    meaning: str
    low: float | None = 0.0
    high: float | None = None


#: The impact-assessment vocabulary. Rates and scores are 0-100; counts are in the user's unit.
METRICS: dict[str, Metric] = {
    "fill_rate": Metric("up", "percentage of advertised training posts filled (0-100)", 0, 100),
    "vacancies": Metric("down", "training posts vacant (count or WTE)"),
    "locum_use": Metric("down", "locum cover of training rotas (shifts, WTE or spend: one unit "
                                "per series)"),
    "inter_deanery_transfers": Metric("down", "trainees transferring out to another area "
                                              "(count)"),
    "out_of_programme_requests": Metric("down", "out-of-programme requests (count)"),
    "trainee_satisfaction": Metric("up", "trainee satisfaction score, e.g. GMC National "
                                         "Training Survey overall satisfaction (0-100)", 0, 100),
    "trainer_resignations": Metric("down", "trainers (educational/clinical supervisors) "
                                           "resigning the role (count)"),
}

DIRECTIONS = ("up", "down")
REQUIRED = ("specialty", "year", "metric", "value")
_CUSTOM_NAME = re.compile(r"^[a-z0-9_]+$")

IMPACT_COLUMNS = [
    "area", "level", "specialty", "metric", "year", "value", "good_direction", "baseline_year",
    "baseline", "change", "percent_change", "direction", "worse_than_baseline",
    "posts_moved_cumulative", "note",
]


def _metric_name(raw: str) -> str:
    text = raw.strip().lower()
    if text.startswith(CUSTOM):
        rest = text[len(CUSTOM):].strip().replace(" ", "_").replace("-", "_")
        return CUSTOM + rest
    return text.replace(" ", "_").replace("-", "_")


def _valid_metrics() -> str:
    return ", ".join(METRICS) + f" or {CUSTOM}<name>"


def _parse_value(raw: str, metric: Metric | None) -> float | str:
    """A finite number within the metric's range, or the reason it is not one."""
    if raw == "":
        return "empty: expected a number"
    text = raw.replace(",", "").strip()
    text = text[:-1].strip() if text.endswith("%") else text
    try:
        value = float(text)
    except ValueError:
        return f"'{raw}' is not a number"
    if not np.isfinite(value):
        return f"'{raw}' is not a finite number"
    if metric is not None:
        if metric.low is not None and value < metric.low:
            return f"{raw} is below {metric.low:g}: expected {metric.meaning}"
        if metric.high is not None and value > metric.high:
            return f"{raw} is above {metric.high:g}: expected {metric.meaning}"
    return value


def parse_metrics(df: pd.DataFrame, source: str, specialties: list[str],
                  local_offices: pd.DataFrame, icbs: pd.DataFrame) -> pd.DataFrame:
    """Check a raw impact-metrics table; raise InputError listing every problem.

    Areas are read as in ``inputs.posts.parse_area_rows`` (local office name or code, or ICB
    code / ODS code / name); the specialty may also be ``All``. Rows are numbered as a
    spreadsheet shows them (header = row 1). Returns area, level, specialty, year, metric,
    value, good_direction.
    """
    area_col = next((c for c in AREA_COLUMNS if c in df.columns), None)
    missing = [c for c in REQUIRED if c not in df.columns]
    if area_col is None:
        missing.insert(0, "local_office (or icb)")
    if missing:
        found = ", ".join(df.columns) or "none"
        raise InputError([Problem(source, 1, m, f"required column missing (columns found: "
                                  f"{found})") for m in missing])
    assert area_col is not None
    lo_map, icb_map = area_lookup(local_offices, icbs)
    level = "icb" if area_col in ("icb", "icb_code") else "local_office"
    if area_col == "area":
        values = df["area"].dropna().str.strip().str.lower()
        level = "local_office" if values.isin(list(lo_map)).mean() >= 0.5 else "icb"
    area_map = lo_map if level == "local_office" else icb_map
    area_names = sorted(set(area_map.values())) if level == "local_office" else sorted(icb_map)
    spec_map = {s.lower(): s for s in specialties}
    spec_map[ALL.lower()] = ALL
    has_direction = "good_direction" in df.columns

    problems: list[Problem] = []
    rows: list[dict[str, object]] = []
    seen: dict[tuple[object, ...], int] = {}
    for i, rec in enumerate(df.to_dict("records")):
        line = i + 2
        ok = True
        raw_area = cell_text(rec.get(area_col))
        area = area_map.get(raw_area.lower())
        if not raw_area:
            problems.append(Problem(source, line, area_col, "empty: expected an area name or code"))
        elif area is None:
            what = "local office" if level == "local_office" else "ICB code, ODS code or name"
            problems.append(Problem(source, line, area_col, f"unknown {what} '{raw_area}'"
                                    + suggest(raw_area.lower(), area_names)))
        raw_spec = cell_text(rec.get("specialty"))
        spec = spec_map.get(raw_spec.lower())
        if not raw_spec:
            problems.append(Problem(source, line, "specialty",
                                    f"empty: expected a specialty name or '{ALL}'"))
        elif spec is None:
            problems.append(Problem(source, line, "specialty", f"unknown specialty '{raw_spec}'"
                                    + suggest(raw_spec, specialties)
                                    + f" (see `fairshare specialties`, or '{ALL}')"))
        year = parse_year(cell_text(rec.get("year")))
        if isinstance(year, str):
            problems.append(Problem(source, line, "year", year))
            ok = False
        raw_metric = cell_text(rec.get("metric"))
        metric = _metric_name(raw_metric)
        known = METRICS.get(metric)
        if not raw_metric:
            problems.append(Problem(source, line, "metric",
                                    f"empty: expected one of {_valid_metrics()}"))
            ok = False
        elif metric.startswith(CUSTOM):
            if not _CUSTOM_NAME.match(metric[len(CUSTOM):]):
                problems.append(Problem(source, line, "metric", f"'{raw_metric}': a custom metric "
                                        "is 'custom:<name>' with a name of letters, digits and _"))
                ok = False
        elif known is None:
            problems.append(Problem(source, line, "metric", f"unknown metric '{raw_metric}'"
                                    + suggest(metric, list(METRICS))
                                    + f": use one of {_valid_metrics()}"))
            ok = False
        value = _parse_value(cell_text(rec.get("value")), known)
        if isinstance(value, str):
            problems.append(Problem(source, line, "value", value))
            ok = False
        good: str | None = known.good if known else None
        raw_dir = cell_text(rec.get("good_direction")).lower() if has_direction else ""
        if raw_dir:
            if raw_dir not in DIRECTIONS:
                problems.append(Problem(source, line, "good_direction",
                                        f"'{raw_dir}' is not one of {', '.join(DIRECTIONS)}"))
            elif known is not None and raw_dir != known.good:
                problems.append(Problem(source, line, "good_direction",
                                        f"'{raw_dir}' contradicts {metric}, for which "
                                        f"'{known.good}' is good (leave it empty)"))
            else:
                good = raw_dir
        if area and spec and ok:
            key = (area, spec, year, metric)
            if key in seen:
                problems.append(Problem(source, line, None,
                                        f"duplicate row: {area} / {spec} / {year} / {metric} "
                                        f"already given on row {seen[key]}"))
                continue
            seen[key] = line
            rows.append({"area": area, "level": level, "specialty": spec, "year": year,
                         "metric": metric, "value": value, "good_direction": good})
    if problems:
        raise InputError(problems)
    out = pd.DataFrame(rows, columns=["area", "level", "specialty", "year", "metric", "value",
                                      "good_direction"])
    return out.astype({"year": "int64", "value": "float64"})


def read_metrics(path: str | Path, specialties: list[str], local_offices: pd.DataFrame,
                 icbs: pd.DataFrame) -> pd.DataFrame:
    """Read and check an impact-metrics file (CSV or Excel); see ``parse_metrics``."""
    return parse_metrics(read_table(path), str(path), specialties, local_offices, icbs)


def _phase_starts(specialties: pd.DataFrame | Mapping[str, int] | None) -> dict[str, int]:
    """Specialty -> phase start year; "All" starts with the programme's first phase."""
    if specialties is None:
        return {}
    if isinstance(specialties, pd.DataFrame):
        table = specialties.dropna(subset=["phase_start"])
        starts = {str(s): int(y) for s, y in zip(table["specialty"], table["phase_start"],
                                                  strict=True)}
    else:
        starts = {str(s): int(y) for s, y in specialties.items()}
    if starts and ALL not in starts:
        starts[ALL] = min(starts.values())
    return starts


def _baseline_year(years: list[int], start: int | None, given: int | None) -> int:
    if given is not None:
        return given
    before = [y for y in years if start is not None and y < start]
    return max(before) if before else min(years)


def _moved(plan: pd.DataFrame) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """Net posts moved into each area (negative: given) by year, per specialty and for All."""
    need = {"area", "specialty", "year"}
    if need - set(plan.columns) or not {"cumulative", "redistribution"} & set(plan.columns):
        raise ValueError("plan needs area, specialty, year and cumulative (or redistribution)")
    table = plan[["area", "specialty", "year"]].copy()
    if "cumulative" in plan.columns:
        table["moved"] = plan["cumulative"].to_numpy(float)
    else:
        table["moved"] = (plan.sort_values("year").groupby(["area", "specialty"])
                          ["redistribution"].cumsum().reindex(plan.index).to_numpy(float))
    overall = table.groupby(["area", "year"], as_index=False)["moved"].sum().assign(
        specialty=ALL)
    both = pd.concat([table, overall[table.columns]], ignore_index=True).sort_values("year")
    series: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for area, spec, year, value in both.itertuples(index=False):
        series.setdefault((str(area), str(spec)), []).append((int(year), float(value)))
    return series


def _lookup_moved(moved: dict[tuple[str, str], list[tuple[int, float]]], area: str, spec: str,
                  year: int) -> float:
    """Posts moved by ``year``: 0 before the plan, held at the last plan year after it."""
    series = moved.get((area, spec))
    if not series:
        return float("nan")
    upto = [value for y, value in series if y <= year]
    return upto[-1] if upto else 0.0


def impact_table(metrics: pd.DataFrame, baseline_year: int | None = None,
                 plan: pd.DataFrame | None = None, *, threshold: float = DEFAULT_THRESHOLD,
                 specialties: pd.DataFrame | Mapping[str, int] | None = None) -> pd.DataFrame:
    """Every metric value beside its baseline, its change, whether that is good, and the moves.

    metrics: the output of ``parse_metrics`` (area, specialty, year, metric, value,
        good_direction; level optional).
    baseline_year: the year every series is compared with. Default, per series: the last year
        with a value before the specialty's phase start (before any post moved), else the series'
        first year. A series without a value in the baseline year gets no baseline (note says so).
    plan: the plan table; adds ``posts_moved_cumulative`` (net posts moved into the area by that
        year, negative when it gave; 0 before the plan, its last value after it). Local-office
        rows only: an ICB's moves are not in the plan.
    threshold: ``worse_than_baseline`` is set when a value moved the bad way by more than this
        share of its baseline (default 10%); from a zero baseline any bad move counts.
    specialties: specialty, phase_start (the catalogue) or a {specialty: year} mapping, for the
        default baseline; "All" uses the earliest phase start.

    Direction: ``fill_rate`` and ``trainee_satisfaction`` rising is good; ``vacancies``,
    ``locum_use``, ``inter_deanery_transfers``, ``out_of_programme_requests`` and
    ``trainer_resignations`` rising is bad; a custom metric's comes from its ``good_direction``
    (without one its direction is "unknown" and it is never flagged).
    """
    need = {"area", "specialty", "year", "metric", "value"}
    if need - set(metrics.columns):
        raise ValueError(f"metrics lacks columns {sorted(need - set(metrics.columns))}")
    if threshold < 0:
        raise ValueError(f"threshold must be 0 or more, not {threshold}")
    starts = _phase_starts(specialties)
    moved = _moved(plan) if plan is not None else None
    frame = metrics.copy()
    if "level" not in frame.columns:
        frame["level"] = "local_office"
    if "good_direction" not in frame.columns:
        frame["good_direction"] = None
    known = {k: m.good for k, m in METRICS.items()}
    frame["good_direction"] = [known.get(m, g) for m, g in
                               zip(frame["metric"], frame["good_direction"], strict=True)]
    rows: list[dict[str, object]] = []
    for (area, spec, metric), series in frame.groupby(["area", "specialty", "metric"],
                                                      sort=True):
        series = series.sort_values("year")
        years = [int(y) for y in series["year"]]
        base_year = _baseline_year(years, starts.get(str(spec)), baseline_year)
        by_year = dict(zip(years, series["value"].astype(float), strict=True))
        base = by_year.get(base_year, float("nan"))
        for rec in series.to_dict("records"):
            year, value = int(rec["year"]), float(rec["value"])
            good = rec["good_direction"] if rec["good_direction"] in DIRECTIONS else None
            change = value - base
            notes = []
            if np.isnan(base):
                notes.append(f"no value in baseline year {base_year}")
            percent = change / abs(base) if base not in (0.0,) and not np.isnan(base) else np.nan
            if base == 0.0 and change:
                notes.append("baseline is 0: percent change undefined")
            direction = _direction(change, good)
            bad = direction == "worse" and (base == 0.0 or abs(percent) > threshold)
            posts_moved = float("nan")
            if moved is not None:
                if rec["level"] == "local_office":
                    posts_moved = _lookup_moved(moved, str(area), str(spec), year)
                else:
                    notes.append("ICB row: posts moved are planned by local office")
            rows.append({"area": area, "level": rec["level"], "specialty": spec,
                         "metric": metric, "year": year, "value": value,
                         "good_direction": good or "unknown", "baseline_year": base_year,
                         "baseline": base, "change": change, "percent_change": percent,
                         "direction": direction, "worse_than_baseline": bool(bad),
                         "posts_moved_cumulative": posts_moved, "note": "; ".join(notes)})
    out = pd.DataFrame(rows, columns=IMPACT_COLUMNS)
    out.attrs.update({"threshold": threshold, "baseline_year": baseline_year or "default"})
    return out


def _direction(change: float, good: str | None) -> str:
    """"better", "worse", "no change" or "unknown" (no baseline, or no good direction)."""
    if np.isnan(change):
        return "unknown"
    if change == 0:
        return "no change"
    if good is None:
        return "unknown"
    return "better" if (change > 0) == (good == "up") else "worse"


def moves_by_designation(plan: pd.DataFrame, scarce: pd.DataFrame, level: str) -> pd.DataFrame:
    """Does the plan move posts toward scarce areas? Posts moved by the plan's last year, by the
    scarcity designation of the receiving or giving area and specialty (``fairshare scarcity``).

    ``plan`` has area, specialty, year and cumulative (net posts moved in by that year); rows
    whose specialty has no consultant count are grouped as "not designated".
    """
    last = plan[plan["year"] == plan["year"].max()]
    rows = scarce[scarce["level"] == level].set_index(["area", "specialty"])["designation"]
    keys = pd.MultiIndex.from_arrays([last["area"], last["specialty"]])
    moved = last.assign(designation=rows.reindex(keys).fillna("not designated").to_numpy(),
                        moved=last["cumulative"].to_numpy(float))
    out = moved.groupby("designation", as_index=False).agg(
        area_specialties=("moved", "size"),
        posts_received=("moved", lambda m: float(m[m > 0].sum())),
        posts_given=("moved", lambda m: float(-m[m < 0].sum())))
    out["net_posts"] = out["posts_received"] - out["posts_given"]
    out["by_year"] = int(last["year"].max()) if len(last) else 0
    order = {"scarce": 0, "middle": 1, "well provided": 2, "too few to designate": 3}
    return out.sort_values("designation", key=lambda c: c.map(order).fillna(9)).reset_index(
        drop=True)
