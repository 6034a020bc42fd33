"""The plan's options, input tables and result types, and the inputs resolved to arrays.

``docs/plan.md`` writes the model out; ``fairshare.model.plan`` is the entry point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from fairshare.model.cohorts import (
    PlanInputError,
    base_vacancies,
    first_cycle,
    headroom_capacity,
    programme_years,
    require_columns,
    vacancies_from_cohorts,
)

#: Cost of one unit of relaxation per constraint family in elastic mode (smallest first): the
#: pace rules (a cap, the glide path, the cohort share, intake growth) are policy choices,
#: supervision capacity can be bought, a minimum programme size is a judgement, moving a current
#: trainee breaks the programme's central promise, and missing the required target is the last
#: resort (only when no relaxation of the others can reach it).
ELASTIC_PENALTIES: tuple[tuple[str, int], ...] = (
    ("pace_cap", 1),
    ("glide", 1),
    ("cohort_share", 1),
    ("intake_growth", 1),
    ("capacity", 2),
    ("min_posts", 4),
    ("vacancies", 8),
    ("target", 1000),
)

#: Area name used in findings about a whole specialty rather than one area.
ENGLAND = "England"

Pace = Literal["glide", "fastest"]


@dataclass(frozen=True)
class PlanOptions:
    """Every choice the plan makes, with the default a national planner would expect."""

    start_year: int = 2022
    """First plan year considered; a specialty moves nothing before its phase start."""
    horizon: int = 2037
    """Last plan year (inclusive): the end of the default glide window (the programme runs 15+
    years from 2022); its phase C starts in 2029."""
    pace: Pace = "glide"
    """"glide" (default): each gap spread evenly over the glide window, at most ``cohort_share``
    of a giving area's intake and ``intake_growth`` more intake in a receiving area.
    "fastest": as fast as vacancies, capacity and minimum sizes allow."""
    glide_until: int = 2037
    """Last year of the glide window: the programme's stated lifespan, 15+ years from its first
    recruitment in 2022 (a judgement; docs/plan.md, "Why 2037")."""
    glide_min_years: int = 3
    """A glide window is at least this many years, so a late phase does not close in one year."""
    cohort_share: float = 0.5
    """Glide: a giving area's intake never falls below (1 − share) of its intake with no moves,
    so no year takes more than this share of its completing cohort."""
    intake_growth: float = 0.5
    """Glide: a receiving area takes at most this share of its no-move intake extra a year (at
    least one post)."""
    pace_cap: float | None = None
    """Most of an area's initial |gap| moved in one year, ceil(pace_cap·|gap|); None: no cap."""
    discount: float = 0.9
    """Year t's remaining distance weighs discount**(t − start_year): early progress counts more."""
    capacity_headroom: float = 0.10
    """Without a capacity table an area takes at most ceil(headroom · current posts), at least 1,
    extra trainees a year: roughly one more trainee per ten already supervised."""
    min_viable: int = 0
    """Minimum viable programme size (posts) of a giving area when no min_posts table says."""
    elastic: bool = False
    """Always return a plan, relaxing constraints at ``elastic_penalties`` cost, reporting each."""
    per_specialty: bool = False
    """Solve the last (tie-break) stage per specialty rather than for all at once. Both are LPs
    over the same separable model, so the plan is the same either way."""
    require_target_by: int | None = None
    """If set, every phased area must be exactly at target by this year (a hard requirement that
    can make the plan infeasible; the findings then say what stops it)."""
    elastic_penalties: tuple[tuple[str, int], ...] = ELASTIC_PENALTIES
    """Cost per post of relaxing each constraint family in elastic mode."""

    def __post_init__(self) -> None:
        problems = []
        if self.horizon < self.start_year:
            problems.append(f"horizon {self.horizon} is before start_year {self.start_year}")
        if self.pace not in ("glide", "fastest"):
            problems.append(f"pace must be 'glide' or 'fastest', got {self.pace!r}")
        if self.pace_cap is not None and not 0 < self.pace_cap <= 1:
            problems.append(f"pace_cap must be in (0, 1], got {self.pace_cap}")
        for name in ("cohort_share", "intake_growth"):
            if not 0 < getattr(self, name) <= 1:
                problems.append(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.glide_min_years < 1:
            problems.append(f"glide_min_years must be >= 1, got {self.glide_min_years}")
        if not 0 < self.discount <= 1:
            problems.append(f"discount must be in (0, 1], got {self.discount}")
        if self.capacity_headroom < 0:
            problems.append(f"capacity_headroom must be >= 0, got {self.capacity_headroom}")
        if self.min_viable < 0:
            problems.append(f"min_viable must be >= 0, got {self.min_viable}")
        if self.require_target_by is not None and self.require_target_by > self.horizon:
            problems.append(f"require_target_by {self.require_target_by} is after the horizon "
                            f"{self.horizon}")
        families = {f for f, _ in ELASTIC_PENALTIES}
        given = dict(self.elastic_penalties)
        if set(given) != families or any(int(w) != w or w <= 0 for w in given.values()):
            problems.append(f"elastic_penalties must give a positive whole cost for each of "
                            f"{sorted(families)}")
        if problems:
            raise PlanInputError("; ".join(problems))

    @property
    def years(self) -> range:
        """The plan years, start_year to horizon inclusive."""
        return range(self.start_year, self.horizon + 1)

    @property
    def glide(self) -> bool:
        return self.pace == "glide"


@dataclass(frozen=True)
class PlanProblem:
    """The tables a plan is made from (see ``docs/plan.md`` for the meaning of each)."""

    posts: pd.DataFrame
    """area, specialty, current, target (whole posts; targets sum to current per specialty)."""
    specialties: pd.DataFrame
    """specialty, programme_years, phase_start (NaN/None: not phased, never moves)."""
    vacancies: pd.DataFrame | None = None
    """area, specialty, year, vacancies: posts falling vacant with no moves; rows given override
    the cohort model (released posts still reduce the vacancies one programme length later)."""
    capacity: pd.DataFrame | None = None
    """area, specialty, year, capacity (most posts received that year); rows given override the
    headroom default."""
    min_posts: pd.DataFrame | None = None
    """area, specialty, min_posts; rows given override ``PlanOptions.min_viable``."""
    cohorts: pd.DataFrame | None = None
    """area, specialty, completion_year, trainees: today's trainees; their successors complete
    one programme length after each of them (pairs not listed keep the default pattern)."""


@dataclass(frozen=True)
class Finding:
    """One constraint problem, in the planner's words.

    ``area`` is ``"England"`` when the finding is about a whole specialty; ``year`` is None when it
    is not about one year; ``size`` is the number of posts involved (shortfall, relaxation, ...).
    """

    kind: str
    area: str
    specialty: str
    year: int | None
    size: int
    message: str
    cause: str = ""
    """What held the area back, in a few words shared by findings of the same cause (so that
    hundreds of findings can be grouped and ranked); empty when the kind says it all."""

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class PlanResult:
    """The plan, what limited it, and how it was solved."""

    table: pd.DataFrame
    """area, specialty, year, redistribution (+ received, − given), cumulative, posts (after the
    year's moves), target, remaining_gap (target − posts), vacancies (falling vacant that year
    after earlier moves), vacancies_used, capacity, capacity_used; one row per area × specialty
    × plan year."""
    findings: list[Finding]
    status: str
    """"optimal", "elastic" (a relaxation was needed) or "infeasible" (no moves for the
    specialties that cannot meet the requirement; the findings say why)."""
    stats: dict[str, Any] = field(default_factory=dict)
    """mode, pace, n_vars, n_constraints, n_integer (0: every stage is an LP), n_solves,
    n_fallbacks (MILP re-solves after a fractional or inconsistent LP; expected 0),
    solve_seconds (time in HiGHS), total_seconds, and per_specialty: {specialty: n_vars,
    n_constraints, status}."""


@dataclass(frozen=True)
class PlanData:
    """The problem resolved against the options: one row per area × specialty, one column per year.

    Rows are sorted by area then specialty, which is also the order of the plan table.
    """

    options: PlanOptions
    area: np.ndarray  # (pair,) str
    specialty: np.ndarray  # (pair,) str
    current: np.ndarray  # (pair,) int
    target: np.ndarray  # (pair,) int
    min_posts: np.ndarray  # (pair,) int
    lengths: np.ndarray  # (pair,) programme years
    vacancies: np.ndarray  # (pair, year) int: falling vacant with no moves (V)
    capacity: np.ndarray  # (pair, year) int
    phase_start: dict[str, int | None]
    specialties: list[str]  # sorted
    rows_of: dict[str, np.ndarray]  # specialty -> pair indices (area order)

    @property
    def years(self) -> range:
        return self.options.years

    def first_year(self, spec: str) -> int | None:
        start = self.phase_start[spec]
        return None if start is None else max(start, self.options.start_year)


def prepare(problem: PlanProblem, options: PlanOptions) -> PlanData:
    """Check the tables and resolve defaults and overrides into arrays."""
    posts = _checked_posts(problem)
    require_columns(problem.specialties, ["specialty", "programme_years", "phase_start"],
                    "specialties")
    years = options.years
    n_years = len(years)
    lengths = programme_years(posts, problem.specialties)
    current = posts["current"].to_numpy(np.int64)
    specs = problem.specialties.drop_duplicates("specialty").set_index("specialty")
    phase_start: dict[str, int | None] = {}
    for spec in sorted(set(posts["specialty"])):
        value = specs.loc[spec, "phase_start"]
        phase_start[spec] = None if value is None or pd.isna(value) else int(value)
    pair_index = {(a, s): i for i, (a, s) in
                  enumerate(zip(posts["area"], posts["specialty"], strict=True))}

    completing = first_cycle(current, lengths, n_years)
    if problem.cohorts is not None:
        _cohort_completions(completing, problem.cohorts, current, lengths, pair_index, years)
    vacancies = base_vacancies(completing, lengths)
    if problem.vacancies is not None:
        _override(vacancies, problem.vacancies, "vacancies", pair_index, years)
    capacity = np.repeat(headroom_capacity(current, options.capacity_headroom)[:, None],
                         n_years, axis=1)
    if problem.capacity is not None:
        _override(capacity, problem.capacity, "capacity", pair_index, years)
    min_posts = _min_posts(problem.min_posts, options.min_viable, pair_index, len(posts))
    spec_arr = posts["specialty"].to_numpy(object)
    rows_of = {s: np.flatnonzero(spec_arr == s) for s in phase_start}
    return PlanData(options=options, area=posts["area"].to_numpy(object), specialty=spec_arr,
                    current=current, target=posts["target"].to_numpy(np.int64),
                    min_posts=min_posts, lengths=lengths, vacancies=vacancies,
                    capacity=capacity, phase_start=phase_start, specialties=sorted(phase_start),
                    rows_of=rows_of)


def _cohort_completions(completing: np.ndarray, cohorts: pd.DataFrame, current: np.ndarray,
                        lengths: np.ndarray, pair_index: dict[tuple[str, str], int],
                        years: range) -> None:
    """Today's trainees completing each year, from a cohort file where it lists an area.

    The file's trainees complete in the years it gives. Current posts it does not account for
    (a partial file: e.g. only the trainees a school has details of) fall vacant on the default
    rule, as if no file were given for them: c/L a year over the first programme length. Were
    they left out, they would never fall vacant and the posts would be frozen for good.
    """
    given = vacancies_from_cohorts(cohorts, years)
    # grouped once, not filtered per area and specialty (a national record set has ~600 pairs)
    listed_by = {key: part.to_numpy(np.int64) for key, part in
                 given.groupby(["area", "specialty"], sort=False)["vacancies"]}
    in_post = cohorts[cohorts["completion_year"] >= years.start]
    covered_by = in_post.groupby(["area", "specialty"], sort=False)["trainees"].sum().to_dict()
    for area, spec in cohorts[["area", "specialty"]].drop_duplicates().itertuples(index=False):
        key = (str(area), str(spec))
        if key not in pair_index:
            raise PlanInputError(f"cohorts table names {area}, {spec}, which is not in posts")
        i = pair_index[key]
        listed = listed_by.get((area, spec), np.zeros(0, dtype=np.int64))
        rest = max(int(current[i]) - int(covered_by.get((area, spec), 0)), 0)
        completing[i] = first_cycle(np.array([rest]), lengths[i:i + 1], len(years))[0]
        completing[i, :len(listed)] += listed


def _checked_posts(problem: PlanProblem) -> pd.DataFrame:
    require_columns(problem.posts, ["area", "specialty", "current", "target"], "posts")
    posts = problem.posts[["area", "specialty", "current", "target"]].copy()
    posts["area"] = posts["area"].astype(str)
    posts["specialty"] = posts["specialty"].astype(str)
    dupes = posts[posts.duplicated(["area", "specialty"], keep=False)]
    if len(dupes):
        first = dupes.iloc[0]
        raise PlanInputError(f"posts has more than one row for {first['area']}, "
                             f"{first['specialty']}")
    for col in ("current", "target"):
        values = posts[col].to_numpy(float)
        if np.isnan(values).any() or (values < 0).any() or (values != np.round(values)).any():
            raise PlanInputError(f"posts.{col} must be whole numbers of posts, at least 0")
        posts[col] = values.astype(np.int64)
    sums = posts.groupby("specialty")[["current", "target"]].sum()
    unequal = sums[sums["current"] != sums["target"]]
    if len(unequal):
        spec = unequal.index[0]
        raise PlanInputError(
            f"{spec}: targets sum to {unequal.loc[spec, 'target']} but current posts to "
            f"{unequal.loc[spec, 'current']}; redistribution must conserve posts")
    return posts.sort_values(["area", "specialty"], kind="stable").reset_index(drop=True)


def _min_posts(table: pd.DataFrame | None, default: int,
               pair_index: dict[tuple[str, str], int], n: int) -> np.ndarray:
    out = np.full(n, default, dtype=np.int64)
    if table is None:
        return out
    require_columns(table, ["area", "specialty", "min_posts"], "min_posts")
    for a, s, v in zip(table["area"], table["specialty"], table["min_posts"], strict=True):
        if (str(a), str(s)) not in pair_index:
            continue  # a default for a specialty or area this plan does not hold
        if pd.isna(v) or v < 0 or v != int(v):
            raise PlanInputError(f"min_posts for {a}, {s} must be a whole number >= 0")
        out[pair_index[(str(a), str(s))]] = int(v)
    return out


def _override(values: np.ndarray, table: pd.DataFrame, column: str,
              pair_index: dict[tuple[str, str], int], years: range) -> None:
    """Write a user's table over the default; rows outside the plan years are ignored."""
    require_columns(table, ["area", "specialty", "year", column], column)
    for a, s, y, v in zip(table["area"], table["specialty"], table["year"], table[column],
                          strict=True):
        key = (str(a), str(s))
        if key not in pair_index:
            raise PlanInputError(f"{column} table names {a}, {s}, which is not in posts")
        if pd.isna(v) or v < 0 or v != int(v):
            raise PlanInputError(f"{column} for {a}, {s}, {y} must be a whole number >= 0")
        if int(y) in years:
            values[pair_index[key], int(y) - years.start] = int(v)
