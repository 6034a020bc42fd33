"""The multi-year pace-of-change plan (METHOD §4): which posts move, where, and when.

Redistribution is slow by design: a post can move only when it falls vacant at recruitment (no
current trainee moves), a receiving area can take only as many extra trainees a year as it can
supervise, and a giving area must keep a viable programme. Within those limits a planner wants the
gap to close as early as possible. That is a small mixed-integer linear programme per specialty,
solved here with HiGHS through ``scipy.optimize.milp``; ``docs/plan.md`` writes the formulation out.

Why the model looks the way it does:

* **One sign per area.** An area above target only gives, one below only receives, one at target
  never moves. With fixed signs the remaining distance |target − posts| is linear in the moves, so
  the objective stays linear, and "cumulative moves go toward target and never overshoot" becomes
  a bound on a sum of non-negative moves.
* **Lexicographic objective, solved in stages.** First (elastic mode only) the smallest weighted
  relaxation; then the most discounted progress; then, among plans with exactly that progress, the
  smoothest glide paths, and finally a deterministic preference for the areas furthest from target.
  Fixing each optimum before the next stage means a tie-break can never trade against real
  progress, and it keeps tiny and large objective coefficients out of the same solve.
* **Integer discount weights.** The yearly weights are ``discount**k`` rounded to thousandths, so
  the progress objective takes integer values and "exactly the optimal progress" is an exact
  constraint, not a tolerance.
* **A unique answer.** The final tie-break weights are square roots of distinct primes, so two
  different plans practically never score the same; per-specialty and single solves therefore
  return the same plan, and the same input always gives the same output.
* **Cheap exact stages.** The progress stage is a network flow, so its LP solution is whole and
  its duals describe exactly the set of optimal plans; only the last (tie-break) stage is a
  MILP, and that is solved on the narrowed set.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_array, vstack

from fairshare.errors import FairshareError

__all__ = [
    "ELASTIC_PENALTIES",
    "Finding",
    "PlanInputError",
    "PlanOptions",
    "PlanProblem",
    "PlanResult",
    "default_capacity",
    "default_vacancies",
    "plan",
    "precheck",
    "vacancies_from_cohorts",
]

#: Cost of one unit of relaxation per constraint family in elastic mode (smallest first): a pace
#: cap is a policy choice, supervision capacity can be bought, a minimum programme size is a
#: judgement, moving a current trainee breaks the programme's central promise, and missing the
#: required target is the last resort (only when no relaxation of the others can reach it).
ELASTIC_PENALTIES: tuple[tuple[str, int], ...] = (
    ("pace_cap", 1),
    ("capacity", 2),
    ("min_posts", 4),
    ("vacancies", 8),
    ("target", 1000),
)

#: Discount weights are rounded to 1/WEIGHT_SCALE so the progress objective is an integer.
WEIGHT_SCALE = 1000

#: Area name used in findings about a whole specialty rather than one area.
ENGLAND = "England"


class PlanInputError(FairshareError, ValueError):
    """Plan inputs that cannot be used (the message says which rows and why)."""


@dataclass(frozen=True)
class PlanOptions:
    """Every choice the plan makes, with the default a national planner would expect."""

    start_year: int = 2022
    """First plan year considered; a specialty moves nothing before its phase start."""
    horizon: int = 2031
    """Last plan year (inclusive): the programme's phase C ends in 2031; it runs 15+ years."""
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
    per_specialty: bool = True
    """One tie-break MILP per specialty (default) or one model for all. One model is quicker when
    every specialty solves at the root, but can take minutes when some need branching (a pace
    cap); per specialty stays within seconds. The plan is the same either way."""
    require_target_by: int | None = None
    """If set, every phased area must be exactly at target by this year (a hard requirement that
    can make the plan infeasible; the findings then say what stops it)."""
    elastic_penalties: tuple[tuple[str, int], ...] = ELASTIC_PENALTIES
    """Cost per post of relaxing each constraint family in elastic mode."""

    def __post_init__(self) -> None:
        problems = []
        if self.horizon < self.start_year:
            problems.append(f"horizon {self.horizon} is before start_year {self.start_year}")
        if self.pace_cap is not None and not 0 < self.pace_cap <= 1:
            problems.append(f"pace_cap must be in (0, 1], got {self.pace_cap}")
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


@dataclass(frozen=True)
class PlanProblem:
    """The tables a plan is made from (see module docstring for the meaning of each)."""

    posts: pd.DataFrame
    """area, specialty, current, target (whole posts; targets sum to current per specialty)."""
    specialties: pd.DataFrame
    """specialty, programme_years, phase_start (NaN/None: not phased, never moves)."""
    vacancies: pd.DataFrame | None = None
    """area, specialty, year, vacancies; rows given override ``default_vacancies``."""
    capacity: pd.DataFrame | None = None
    """area, specialty, year, capacity (most posts received that year); rows given override the
    headroom default."""
    min_posts: pd.DataFrame | None = None
    """area, specialty, min_posts; rows given override ``PlanOptions.min_viable``."""


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

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class PlanResult:
    """The plan, what limited it, and how it was solved."""

    table: pd.DataFrame
    """area, specialty, year, redistribution (+ received, − given), cumulative, posts (after the
    year's moves), target, remaining_gap (target − posts), vacancies, vacancies_used, capacity,
    capacity_used; one row per area × specialty × plan year."""
    findings: list[Finding]
    status: str
    """"optimal", "elastic" (a relaxation was needed) or "infeasible" (no moves for the
    specialties that cannot meet the requirement; the findings say why)."""
    stats: dict[str, Any] = field(default_factory=dict)
    """mode, n_vars, n_constraints, n_integer (model size over all specialties), n_solves,
    n_fallbacks (re-solves after a numerical check failed; expected 0), solve_seconds (time in
    HiGHS), total_seconds, and per_specialty: {specialty: n_vars, n_constraints, n_integer,
    status, solve_seconds (its tie-break MILP; None in single mode)}."""


# --------------------------------------------------------------------------------------------
# Vacancies and capacity defaults
# --------------------------------------------------------------------------------------------


def default_vacancies(posts: pd.DataFrame, specialties: pd.DataFrame,
                      years: range) -> pd.DataFrame:
    """Posts falling vacant each year when no cohort data is given: current / programme length.

    A programme of L years with c trainees sees about c/L complete each year. Whole posts are kept
    exact with a repeating pattern of period L starting at ``years.start``: in the k-th year of the
    cycle (k = (year − years.start) mod L), floor(c·(k+1)/L) − floor(c·k/L) fall vacant. Over any L
    consecutive years exactly c fall vacant, and the extra posts of the remainder come at the end
    of each cycle (e.g. c = 10, L = 3 gives 3, 3, 4, 3, 3, 4, ...).

    posts: area, specialty, current; specialties: specialty, programme_years.
    Returns area, specialty, year, vacancies (int) for every posts row and year.
    """
    lengths = _programme_years(posts, specialties)
    current = posts["current"].to_numpy(np.int64)
    vac = _vacancy_pattern(current, lengths, len(years))
    return _long_table(posts, years, vac, "vacancies")


def vacancies_from_cohorts(cohorts: pd.DataFrame, years: range) -> pd.DataFrame:
    """Vacancies from trainee cohort data: a trainee completing in year y frees a post in year y.

    cohorts: area, specialty, completion_year, trainees. Returns area, specialty, year, vacancies
    for every area × specialty in ``cohorts`` and every year in ``years`` (0 when nobody completes),
    so that a cohort table read as vacancies says "nothing falls vacant" rather than "unknown".
    """
    _require_columns(cohorts, ["area", "specialty", "completion_year", "trainees"], "cohorts")
    pairs = cohorts[["area", "specialty"]].drop_duplicates().sort_values(["area", "specialty"])
    pairs = pairs.reset_index(drop=True)
    inside = cohorts[cohorts["completion_year"].isin(list(years))]
    counts = (inside.groupby(["area", "specialty", "completion_year"])["trainees"].sum()
              .to_dict())
    vac = np.zeros((len(pairs), len(years)), dtype=np.int64)
    for i, (area, spec) in enumerate(zip(pairs["area"], pairs["specialty"], strict=True)):
        for j, year in enumerate(years):
            vac[i, j] = int(counts.get((area, spec, year), 0))
    if (vac < 0).any():
        raise PlanInputError("cohorts: trainees must not be negative")
    return _long_table(pairs, years, vac, "vacancies")


def default_capacity(posts: pd.DataFrame, years: range, headroom: float = 0.10) -> pd.DataFrame:
    """Receiving capacity when no capacity table is given: ceil(headroom · current), at least 1.

    An area's supervision grows roughly with its current trainees; at least one extra post a year
    lets an area with no posts start one. The product is computed exactly (0.1 · 30 is 3, not 4).
    """
    current = posts["current"].to_numpy(np.int64)
    cap = _headroom_capacity(current, headroom)
    return _long_table(posts, years, np.repeat(cap[:, None], len(years), axis=1), "capacity")


def _vacancy_pattern(current: np.ndarray, lengths: np.ndarray, n_years: int) -> np.ndarray:
    k = np.arange(n_years)[None, :] % lengths[:, None]
    c = current[:, None]
    length = lengths[:, None]
    return (c * (k + 1)) // length - (c * k) // length


def _headroom_capacity(current: np.ndarray, headroom: float) -> np.ndarray:
    h = Fraction(repr(float(headroom)))
    cap = (current * h.numerator + h.denominator - 1) // h.denominator
    return np.maximum(cap, 1).astype(np.int64)


def _programme_years(posts: pd.DataFrame, specialties: pd.DataFrame) -> np.ndarray:
    lengths = specialties.drop_duplicates("specialty").set_index("specialty")["programme_years"]
    missing = sorted(set(posts["specialty"]) - set(lengths.index))
    if missing:
        raise PlanInputError(f"specialties table has no programme_years for {missing}")
    out = posts["specialty"].map(lengths).to_numpy()
    if (pd.isna(out)).any() or (out.astype(float) < 1).any():
        raise PlanInputError("programme_years must be a whole number of years, at least 1")
    return out.astype(np.int64)


def _long_table(pairs: pd.DataFrame, years: range, values: np.ndarray,
                column: str) -> pd.DataFrame:
    n_years = len(years)
    return pd.DataFrame({
        "area": np.repeat(pairs["area"].to_numpy(object), n_years),
        "specialty": np.repeat(pairs["specialty"].to_numpy(object), n_years),
        "year": np.tile(np.arange(years.start, years.stop, dtype=np.int64), len(pairs)),
        column: values.reshape(-1).astype(np.int64),
    })


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PlanInputError(f"{name} table lacks column(s) {missing}")


# --------------------------------------------------------------------------------------------
# Inputs as arrays
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Data:
    """The problem resolved against the options: one row per area × specialty, one column per year.

    Rows are sorted by area then specialty, which is also the order of the plan table.
    """

    options: PlanOptions
    area: np.ndarray  # (pair,) str
    specialty: np.ndarray  # (pair,) str
    current: np.ndarray  # (pair,) int
    target: np.ndarray  # (pair,) int
    min_posts: np.ndarray  # (pair,) int
    vacancies: np.ndarray  # (pair, year) int
    capacity: np.ndarray  # (pair, year) int
    phase_start: dict[str, int | None]
    specialties: list[str]  # sorted
    rows_of: dict[str, np.ndarray]  # specialty -> pair indices (area order)

    @property
    def years(self) -> range:
        return self.options.years


def _prepare(problem: PlanProblem, options: PlanOptions) -> _Data:
    _require_columns(problem.posts, ["area", "specialty", "current", "target"], "posts")
    _require_columns(problem.specialties, ["specialty", "programme_years", "phase_start"],
                     "specialties")
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
    posts = posts.sort_values(["area", "specialty"], kind="stable").reset_index(drop=True)
    years = options.years
    n_years = len(years)
    lengths = _programme_years(posts, problem.specialties)
    current = posts["current"].to_numpy(np.int64)

    specs = problem.specialties.drop_duplicates("specialty").set_index("specialty")
    phase_start: dict[str, int | None] = {}
    for spec in sorted(set(posts["specialty"])):
        value = specs.loc[spec, "phase_start"]
        phase_start[spec] = None if value is None or pd.isna(value) else int(value)

    pair_index = {(a, s): i for i, (a, s) in
                  enumerate(zip(posts["area"], posts["specialty"], strict=True))}

    vacancies = _vacancy_pattern(current, lengths, n_years)
    if problem.vacancies is not None:
        _override(vacancies, problem.vacancies, "vacancies", pair_index, years)
    capacity = np.repeat(_headroom_capacity(current, options.capacity_headroom)[:, None],
                         n_years, axis=1)
    if problem.capacity is not None:
        _override(capacity, problem.capacity, "capacity", pair_index, years)
    min_posts = np.full(len(posts), options.min_viable, dtype=np.int64)
    if problem.min_posts is not None:
        table = problem.min_posts
        _require_columns(table, ["area", "specialty", "min_posts"], "min_posts")
        for a, s, v in zip(table["area"], table["specialty"], table["min_posts"], strict=True):
            if (str(a), str(s)) not in pair_index:
                raise PlanInputError(f"min_posts names {a}, {s}, which is not in posts")
            if pd.isna(v) or v < 0 or v != int(v):
                raise PlanInputError(f"min_posts for {a}, {s} must be a whole number >= 0")
            min_posts[pair_index[(str(a), str(s))]] = int(v)

    spec_arr = posts["specialty"].to_numpy(object)
    rows_of = {s: np.flatnonzero(spec_arr == s) for s in phase_start}
    return _Data(options=options, area=posts["area"].to_numpy(object), specialty=spec_arr,
                 current=current, target=posts["target"].to_numpy(np.int64),
                 min_posts=min_posts, vacancies=vacancies, capacity=capacity,
                 phase_start=phase_start, specialties=sorted(phase_start), rows_of=rows_of)


def _override(values: np.ndarray, table: pd.DataFrame, column: str,
              pair_index: dict[tuple[str, str], int], years: range) -> None:
    """Write a user's table over the default; rows outside the plan years are ignored."""
    _require_columns(table, ["area", "specialty", "year", column], column)
    for a, s, y, v in zip(table["area"], table["specialty"], table["year"], table[column],
                          strict=True):
        key = (str(a), str(s))
        if key not in pair_index:
            raise PlanInputError(f"{column} table names {a}, {s}, which is not in posts")
        if pd.isna(v) or v < 0 or v != int(v):
            raise PlanInputError(f"{column} for {a}, {s}, {y} must be a whole number >= 0")
        if int(y) in years:
            values[pair_index[key], int(y) - years.start] = int(v)


# --------------------------------------------------------------------------------------------
# One specialty's model
# --------------------------------------------------------------------------------------------


@dataclass
class _Slack:
    family: str
    area: int  # position in the block's area list
    year: int | None  # plan year, None for whole-plan constraints
    var: int
    limit: int  # the constraint's right-hand side before relaxation


@dataclass
class _Block:
    """The model of one specialty: variables, rows and the three objectives.

    Core variables are the moves m[a, t] >= 0 (a's posts given if it gives, received if it
    receives, in block year t) followed by slacks (elastic only); extension variables are the
    smoothness auxiliaries u[a, t] >= |m[a, t] − m[a, t−1]|, used only in the last stage.
    """

    specialty: str
    rows: np.ndarray  # pair indices of the moving areas
    side: np.ndarray  # −1 gives, +1 receives
    need: np.ndarray  # |target − current|
    room: np.ndarray  # most it may move in total (min posts for givers)
    own: np.ndarray  # (area, year) vacancies (givers) or capacity (receivers)
    pace: np.ndarray  # per-year pace cap (need when no cap)
    years: list[int]
    n_core: int
    n_ext: int
    lb: np.ndarray
    ub: np.ndarray
    integrality: np.ndarray
    primary: np.ndarray  # maximise (integer coefficients)
    penalty: np.ndarray  # minimise in elastic stage 0 (integer coefficients)
    tiebreak: np.ndarray  # minimise in the last stage
    a_rows: list[int]
    a_cols: list[int]
    a_vals: list[float]
    r_lb: list[float]
    r_ub: list[float]
    n_core_rows: int
    slacks: list[_Slack]

    @property
    def n_areas(self) -> int:
        return len(self.rows)

    @property
    def n_years(self) -> int:
        return len(self.years)

    def m(self, a: int, t: int) -> int:
        return a * self.n_years + t


def _first_year(data: _Data, spec: str) -> int | None:
    start = data.phase_start[spec]
    if start is None:
        return None
    return max(start, data.options.start_year)


def _pace(need: np.ndarray, pace_cap: float | None) -> np.ndarray:
    if pace_cap is None:
        return need.copy()
    p = Fraction(repr(float(pace_cap)))
    return (need * p.numerator + p.denominator - 1) // p.denominator


def _weights(options: PlanOptions) -> np.ndarray:
    """Integer weight of each plan year's remaining distance (at least 1, so later progress
    still counts)."""
    k = np.arange(len(options.years))
    return np.maximum(1, np.round(WEIGHT_SCALE * options.discount ** k)).astype(np.int64)


def _primes(n: int) -> list[int]:
    out: list[int] = []
    candidate = 2
    while len(out) < n:
        if all(candidate % p for p in out if p * p <= candidate):
            out.append(candidate)
        candidate += 1
    return out


def _build_block(data: _Data, spec: str, elastic: bool) -> _Block | None:
    """The MILP of one specialty, or None when nothing can move."""
    options = data.options
    first = _first_year(data, spec)
    if first is None or first > options.horizon:
        return None
    rows = data.rows_of[spec]
    gap = data.target[rows] - data.current[rows]
    moving = gap != 0
    rows = rows[moving]
    gap = gap[moving]
    if len(rows) == 0:
        return None
    side = np.sign(gap).astype(np.int64)
    need = np.abs(gap)
    floor_room = np.maximum(0, data.current[rows] - data.min_posts[rows])
    room = np.where(side < 0, np.minimum(need, floor_room), need)
    t0 = first - options.start_year
    years = list(range(first, options.horizon + 1))
    own = np.where(side[:, None] < 0, data.vacancies[rows, t0:], data.capacity[rows, t0:])
    pace = _pace(need, options.pace_cap)
    n_a, n_t = len(rows), len(years)
    n_m = n_a * n_t

    lb: list[float] = [0.0] * n_m
    ub: list[float] = []
    a_rows: list[int] = []
    a_cols: list[int] = []
    a_vals: list[float] = []
    r_lb: list[float] = []
    r_ub: list[float] = []
    slacks: list[_Slack] = []
    penalties = dict(options.elastic_penalties)

    def add_row(cols: Sequence[int], vals: Sequence[float], lo: float, hi: float) -> None:
        row = len(r_lb)
        a_rows.extend([row] * len(cols))
        a_cols.extend(cols)
        a_vals.extend(vals)
        r_lb.append(lo)
        r_ub.append(hi)

    def add_slack(family: str, a: int, year: int | None, limit: int) -> int:
        var = n_m + len(slacks)
        slacks.append(_Slack(family, a, year, var, limit))
        return var

    for a in range(n_a):
        for t in range(n_t):
            if elastic:
                ub.append(float(need[a]))
            else:
                ub.append(float(min(own[a, t], pace[a], room[a])))

    # posts conserved: each year, what givers release equals what receivers take
    for t in range(n_t):
        cols = [a * n_t + t for a in range(n_a)]
        add_row(cols, [float(s) for s in side], 0.0, 0.0)
    required_t = None
    if options.require_target_by is not None:
        required_t = options.require_target_by - first  # may be < 0: nothing can move in time
    for a in range(n_a):
        all_t = [a * n_t + t for t in range(n_t)]
        if elastic:
            own_family = "vacancies" if side[a] < 0 else "capacity"
            for t in range(n_t):
                if own[a, t] < need[a]:
                    s = add_slack(own_family, a, years[t], int(own[a, t]))
                    add_row([a * n_t + t, s], [1.0, -1.0], -np.inf, float(own[a, t]))
                if pace[a] < need[a]:
                    s = add_slack("pace_cap", a, years[t], int(pace[a]))
                    add_row([a * n_t + t, s], [1.0, -1.0], -np.inf, float(pace[a]))
            add_row(all_t, [1.0] * n_t, -np.inf, float(need[a]))  # never overshoot
            if side[a] < 0 and floor_room[a] < need[a]:
                s = add_slack("min_posts", a, None, int(floor_room[a]))
                add_row([*all_t, s], [1.0] * n_t + [-1.0], -np.inf, float(floor_room[a]))
        elif min(int(own[a].sum()), int(pace[a]) * n_t) > room[a]:
            add_row(all_t, [1.0] * n_t, -np.inf, float(room[a]))
        if required_t is not None:
            early = [a * n_t + t for t in range(min(required_t + 1, n_t))]
            if elastic:
                s = add_slack("target", a, options.require_target_by, int(need[a]))
                add_row([*early, s], [1.0] * (len(early) + 1), float(need[a]), np.inf)
            else:
                add_row(early, [1.0] * len(early), float(need[a]), np.inf)
    n_core_rows = len(r_lb)
    n_core = n_m + len(slacks)
    ub.extend(float(need[sl.area]) for sl in slacks)
    lb.extend([0.0] * len(slacks))

    # smoothness: u[a, t] >= |m[a, t] − m[a, t−1]| for t >= 1
    n_ext = n_a * (n_t - 1)
    for a in range(n_a):
        for t in range(1, n_t):
            u = n_core + a * (n_t - 1) + (t - 1)
            cur, prev = a * n_t + t, a * n_t + t - 1
            add_row([u, cur, prev], [1.0, -1.0, 1.0], 0.0, np.inf)
            add_row([u, cur, prev], [1.0, 1.0, -1.0], 0.0, np.inf)
    lb.extend([0.0] * n_ext)
    ub.extend([np.inf] * n_ext)

    n = n_core + n_ext
    integrality = np.zeros(n, dtype=np.int64)
    integrality[:n_core] = 1

    # progress: moving a post in block year t closes the distance in every year from t on
    w = _weights(options)[t0:]
    big_w = np.cumsum(w[::-1])[::-1].astype(float)
    primary = np.zeros(n)
    primary[:n_m] = np.tile(big_w, n_a)

    penalty = np.zeros(n)
    for sl in slacks:
        penalty[sl.var] = penalties[sl.family]

    # tie-breaks: smoothness first (integer valued), then — scaled so its whole range is below
    # one unit of smoothness — earlier moves for the areas furthest from target (by relative
    # gap, then gap, then name), and slack placed on the higher-priority positions
    rel = [Fraction(int(need[a]), max(int(data.target[rows[a]]), 1)) for a in range(n_a)]
    order = sorted(range(n_a), key=lambda a: (int(side[a]), -rel[a], -int(need[a]),
                                              str(data.area[rows[a]])))
    primes = _primes(n_a + len(slacks))
    phi = np.empty(n_a)
    for rank, a in enumerate(order):
        phi[a] = math.sqrt(primes[n_a - 1 - rank])
    phi /= phi.max()
    omega = (n_t - np.arange(n_t)) / n_t
    tiebreak = np.zeros(n)
    tiebreak[n_core:] = 1.0
    budget = float(need.sum()) + 2.0
    if slacks:
        budget += float(sum(need[sl.area] for sl in slacks))
    lam = 1.0 / budget
    tiebreak[:n_m] = -lam * (phi[:, None] * omega[None, :]).reshape(-1)
    if slacks:
        psi = np.sqrt(np.array(primes[n_a:], dtype=float))
        tiebreak[n_m:n_core] = lam * psi / psi.max()

    return _Block(
        specialty=spec, rows=rows, side=side, need=need, room=room, own=own, pace=pace,
        years=years, n_core=n_core, n_ext=n_ext, lb=np.array(lb), ub=np.array(ub),
        integrality=integrality, primary=primary, penalty=penalty, tiebreak=tiebreak,
        a_rows=a_rows, a_cols=a_cols, a_vals=a_vals, r_lb=r_lb, r_ub=r_ub,
        n_core_rows=n_core_rows, slacks=slacks,
    )


# --------------------------------------------------------------------------------------------
# Solving in stages
# --------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: str  # "optimal" | "infeasible"
    x: np.ndarray | None  # the block's core variables (moves, then slacks)
    seconds: float
    n_vars: int
    n_constraints: int
    n_integer: int


@dataclass
class _Counter:
    seconds: float = 0.0
    solves: int = 0
    fallbacks: int = 0


@dataclass
class _Face:
    """One block's feasible set narrowed to the optimal plans of the stages solved so far.

    An LP-solved stage narrows it exactly by complementary slackness (variables with a non-zero
    reduced cost stay at their bound, rows with a non-zero dual stay tight) and is re-checked at
    the end (``checks``); a MILP-solved stage adds one row holding its objective at the optimum
    (``dense``).
    """

    lb: np.ndarray
    ub: np.ndarray
    r_lb: np.ndarray
    r_ub: np.ndarray
    dense: list[tuple[int, float]] = field(default_factory=list)
    checks: list[tuple[int, float]] = field(default_factory=list)

    @classmethod
    def of(cls, block: _Block) -> _Face:
        return cls(block.lb.copy(), block.ub.copy(), np.array(block.r_lb, dtype=float),
                   np.array(block.r_ub, dtype=float))


def _objective(block: _Block, stage: int, n: int) -> np.ndarray:
    """Stage objectives, all minimised: 0 weighted relaxation, 1 minus progress, 2 tie-breaks."""
    if stage == 0:
        return block.penalty[:n]
    if stage == 1:
        return -block.primary[:n]
    return block.tiebreak[:n]


@dataclass
class _Stacked:
    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integrality: np.ndarray
    matrix: Any
    r_lb: np.ndarray
    r_ub: np.ndarray
    col0: list[int]  # first column of each block
    row0: list[int]  # first row of each block


def _stack(blocks: Sequence[_Block], faces: Sequence[_Face], stage: int) -> _Stacked:
    """The blocks' models for one stage side by side (they share no variable or row)."""
    with_ext = stage == 2
    c_parts, lb_parts, ub_parts, int_parts = [], [], [], []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    r_lb: list[np.ndarray] = []
    r_ub: list[np.ndarray] = []
    col0: list[int] = []
    row0: list[int] = []
    n_cols = n_rows = 0
    for block, face in zip(blocks, faces, strict=True):
        n = block.n_core + (block.n_ext if with_ext else 0)
        k = len(block.r_lb) if with_ext else block.n_core_rows
        col0.append(n_cols)
        row0.append(n_rows)
        c_parts.append(_objective(block, stage, n))
        lb_parts.append(face.lb[:n])
        ub_parts.append(face.ub[:n])
        int_parts.append(block.integrality[:n])
        br = np.asarray(block.a_rows)
        keep = br < k
        rows.append(br[keep] + n_rows)
        cols.append(np.asarray(block.a_cols)[keep] + n_cols)
        vals.append(np.asarray(block.a_vals)[keep])
        r_lb.append(face.r_lb[:k])
        r_ub.append(face.r_ub[:k])
        n_rows += k
        for earlier, optimum in face.dense:
            vec = _objective(block, earlier, n)
            nz = np.flatnonzero(vec)
            rows.append(np.full(len(nz), n_rows))
            cols.append(nz + n_cols)
            vals.append(vec[nz])
            r_lb.append(np.array([-np.inf]))
            r_ub.append(np.array([optimum + 0.5]))  # objectives are whole numbers
            n_rows += 1
        n_cols += n
    matrix = coo_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(n_rows, n_cols)).tocsr()
    return _Stacked(np.concatenate(c_parts), np.concatenate(lb_parts),
                    np.concatenate(ub_parts), np.concatenate(int_parts), matrix,
                    np.concatenate(r_lb), np.concatenate(r_ub), col0, row0)


def _lp(p: _Stacked) -> tuple[int, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """Solve the LP relaxation; return status, x, lower/upper bound duals and row duals."""
    eq = p.r_lb == p.r_ub
    upper = ~eq & np.isfinite(p.r_ub)
    lower = ~eq & np.isfinite(p.r_lb)
    a_ub = vstack([p.matrix[upper], -p.matrix[lower]], format="csr")
    b_ub = np.concatenate([p.r_ub[upper], -p.r_lb[lower]])
    res = linprog(p.c, A_ub=a_ub if a_ub.shape[0] else None,
                  b_ub=b_ub if a_ub.shape[0] else None,
                  A_eq=p.matrix[eq] if eq.any() else None,
                  b_eq=p.r_lb[eq] if eq.any() else None,
                  bounds=np.column_stack([p.lb, p.ub]), method="highs")
    n_rows = len(p.r_lb)
    if res.status != 0 or res.x is None:
        empty = np.zeros(0)
        return res.status, None, empty, empty, empty
    row_dual = np.zeros(n_rows)
    if eq.any():
        row_dual[eq] = res.eqlin.marginals
    if a_ub.shape[0]:
        n_up = int(upper.sum())
        row_dual[upper] = res.ineqlin.marginals[:n_up]
        row_dual[lower] = -res.ineqlin.marginals[n_up:]
    return 0, res.x, res.lower.marginals, res.upper.marginals, row_dual


def _is_integral(x: np.ndarray, integrality: np.ndarray) -> bool:
    ints = integrality.astype(bool)
    return bool(np.all(np.abs(x[ints] - np.round(x[ints])) <= 1e-7))


class _Timer:
    """Runs solver calls, adding their time to the plan's counter and its own total."""

    def __init__(self, counter: _Counter) -> None:
        self.counter = counter
        self.seconds = 0.0

    def __call__(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        elapsed = time.perf_counter() - start
        self.seconds += elapsed
        self.counter.seconds += elapsed
        self.counter.solves += 1
        return out


def _narrow(blocks: Sequence[_Block], faces: Sequence[_Face], stages: Sequence[int],
            timer: _Timer, use_face: bool = True, allow_milp: bool = True) -> str:
    """Solve the stages before the last, narrowing each face to that stage's optimal plans.

    Each stage is first solved as an LP: without the elastic budget rows these are network flows
    (source -> giving areas -> years -> receiving areas -> sink), so the simplex solution is whole
    and its duals narrow the feasible set to exactly the optimal plans, at LP cost and without a
    dense objective row. If an LP solution is fractional the stage is solved as a MILP (unless
    ``allow_milp`` is False: then "fractional" is returned) and held by a row instead.
    Returns "ok", "infeasible" or "fractional".
    """
    for stage in stages:
        p = _stack(blocks, faces, stage)
        if use_face and not any(f.dense for f in faces):
            status, x, low, up, row_dual = timer(_lp, p)
            if status == 2:
                return "infeasible"
            if x is not None and _is_integral(x, p.integrality):
                _hold_face(blocks, faces, p, stage, x, low, up, row_dual)
                continue
        if not allow_milp:
            return "fractional"
        res = timer(milp, p.c, integrality=p.integrality, bounds=Bounds(p.lb, p.ub),
                    constraints=_constraints(p), options={"mip_rel_gap": 0.0})
        if res.status == 2:
            return "infeasible"
        if res.status != 0 or res.x is None:
            raise RuntimeError(f"HiGHS stopped without a plan: {res.message}")
        for b, (block, face) in enumerate(zip(blocks, faces, strict=True)):
            xb = np.round(res.x[p.col0[b]:p.col0[b] + block.n_core])
            face.dense.append((stage, float(_objective(block, stage, block.n_core) @ xb)))
    return "ok"


def _hold_face(blocks: Sequence[_Block], faces: Sequence[_Face], p: _Stacked, stage: int,
               x: np.ndarray, low: np.ndarray, up: np.ndarray, row_dual: np.ndarray) -> None:
    """Narrow each face to the LP's optimal set by complementary slackness.

    For any optimal dual, a feasible plan is optimal exactly when every variable with a non-zero
    reduced cost sits at that bound and every row with a non-zero dual is tight. With integer
    costs and a totally unimodular matrix the duals are integers, so "non-zero" is clear-cut.
    """
    threshold = 1e-6 * max(1.0, float(np.abs(p.c).max(initial=0.0)))
    for b, (block, face) in enumerate(zip(blocks, faces, strict=True)):
        n, k = block.n_core, block.n_core_rows
        cols = slice(p.col0[b], p.col0[b] + n)
        xb = np.round(x[cols])
        face.checks.append((stage, float(_objective(block, stage, n) @ xb)))
        at_low = low[cols] > threshold
        at_up = up[cols] < -threshold
        face.ub[:n][at_low] = face.lb[:n][at_low]
        face.lb[:n][at_up] = face.ub[:n][at_up]
        tight = np.abs(row_dual[p.row0[b]:p.row0[b] + k]) > threshold
        core_lb, core_ub = face.r_lb[:k], face.r_ub[:k]
        upper_rows = tight & np.isfinite(core_ub)
        lower_rows = tight & ~np.isfinite(core_ub)
        core_lb[upper_rows] = core_ub[upper_rows]
        core_ub[lower_rows] = core_lb[lower_rows]


def _finish(blocks: Sequence[_Block], faces: Sequence[_Face], stage: int,
            timer: _Timer) -> list[_Outcome] | None:
    """Solve the last stage as a MILP on the narrowed faces.

    Returns None when the answer does not keep an earlier LP stage's optimum (a numerical slip
    in reading the duals), so that the caller can solve again the plain way.
    """
    p = _stack(blocks, faces, stage)
    res = timer(milp, p.c, integrality=p.integrality, bounds=Bounds(p.lb, p.ub),
                constraints=_constraints(p), options={"mip_rel_gap": 0.0})
    size = (len(p.c), len(p.r_lb), int(p.integrality.sum()))
    if res.status == 2 and not any(f.checks for f in faces):
        return [_Outcome("infeasible", None, timer.seconds, *size) for _ in blocks]
    if res.status != 0 or res.x is None:
        if any(f.checks for f in faces):
            return None
        raise RuntimeError(f"HiGHS stopped without a plan: {res.message}")
    xs = [np.round(res.x[p.col0[b]:p.col0[b] + block.n_core])
          for b, block in enumerate(blocks)]
    for xb, block, face in zip(xs, blocks, faces, strict=True):
        for earlier, optimum in face.checks:
            if abs(float(_objective(block, earlier, block.n_core) @ xb) - optimum) >= 0.5:
                return None
    return [_Outcome("optimal", xb.astype(np.int64), timer.seconds, *size) for xb in xs]


def _solve_chain(blocks: Sequence[_Block], stages: Sequence[int], counter: _Counter,
                 use_face: bool = True) -> list[_Outcome]:
    """Solve all stages for these blocks together (one model per stage)."""
    timer = _Timer(counter)
    faces = [_Face.of(b) for b in blocks]
    status = _narrow(blocks, faces, stages[:-1], timer, use_face=use_face)
    if status == "infeasible":
        p = _stack(blocks, faces, stages[-1])
        size = (len(p.c), len(p.r_lb), int(p.integrality.sum()))
        return [_Outcome("infeasible", None, timer.seconds, *size) for _ in blocks]
    out = _finish(blocks, faces, stages[-1], timer)
    if out is None:
        counter.fallbacks += 1
        return _solve_chain(blocks, stages, counter, use_face=False)
    return out


def _constraints(p: _Stacked) -> LinearConstraint | None:
    return LinearConstraint(p.matrix, p.r_lb, p.r_ub) if p.matrix.shape[0] else None


def _solve(blocks: list[_Block], options: PlanOptions, counter: _Counter) -> list[_Outcome]:
    """Per specialty: the LP stages for all specialties in one LP (separable, so each
    specialty's optimal set is the same as alone), then one tie-break MILP per specialty.
    Single: one model per stage for everything. Either way a specialty that cannot meet the
    requirement is found by solving it alone, keeping the others' plans."""
    stages = [0, 1, 2] if options.elastic else [1, 2]
    if not blocks:
        return []
    if options.per_specialty:
        timer = _Timer(counter)
        faces = [_Face.of(b) for b in blocks]
        if _narrow(blocks, faces, stages[:-1], timer, allow_milp=False) == "ok":
            outcomes = []
            for block, face in zip(blocks, faces, strict=True):
                out = _finish([block], [face], stages[-1], _Timer(counter))
                if out is None:
                    counter.fallbacks += 1
                    out = _solve_chain([block], stages, counter, use_face=False)
                outcomes.append(out[0])
            return outcomes
        return [_solve_chain([b], stages, counter)[0] for b in blocks]
    together = _solve_chain(blocks, stages, counter)
    if together[0].status == "optimal":
        return together
    return [_solve_chain([b], stages, counter)[0] for b in blocks]


# --------------------------------------------------------------------------------------------
# Precheck
# --------------------------------------------------------------------------------------------


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def precheck(problem: PlanProblem, options: PlanOptions | None = None) -> list[Finding]:
    """What cannot hold, in the planner's words, before any solving.

    Each check is a necessary condition for every phased area to reach its target by the deadline
    (``require_target_by`` if set, else the horizon): enough posts falling vacant in a giving area,
    enough capacity in a receiving area, a pace cap that allows the whole gap in the years left, a
    target not below the minimum viable programme, and, per specialty and year, givers releasing
    posts when receivers can take them. With a requirement any finding (other than kind "phase")
    makes the plan infeasible; without one they explain why targets will not be met by the horizon.
    """
    options = options or PlanOptions()
    data = _prepare(problem, options)
    deadline = options.require_target_by or options.horizon
    findings: list[Finding] = []
    for spec in data.specialties:
        rows = data.rows_of[spec]
        gap = data.target[rows] - data.current[rows]
        if not (gap != 0).any():
            continue
        first = _first_year(data, spec)
        if first is None:
            findings.append(Finding(
                "phase", ENGLAND, spec, None, int(np.abs(gap).sum()) // 2,
                f"{spec} is not phased: its posts do not move, so {int((gap != 0).sum())} "
                f"areas stay off target"))
            continue
        if first > deadline:
            findings.append(Finding(
                "phase", ENGLAND, spec, data.phase_start[spec], int(np.abs(gap).sum()) // 2,
                f"{spec} cannot move any posts by {deadline}: its phase starts in "
                f"{data.phase_start[spec]}"))
            continue
        t0, t1 = first - options.start_year, deadline - options.start_year + 1
        n_t = t1 - t0
        span = _span(first, deadline)
        pace = _pace(np.abs(gap), options.pace_cap)
        out_year = np.zeros(n_t, dtype=np.int64)
        in_year = np.zeros(n_t, dtype=np.int64)
        release = take = 0
        for i, row in enumerate(rows):
            need = abs(int(gap[i]))
            if need == 0:
                continue
            area = str(data.area[row])
            per_year = np.minimum(
                data.vacancies[row, t0:t1] if gap[i] < 0 else data.capacity[row, t0:t1],
                pace[i])
            if gap[i] < 0:
                out_year += per_year
                floor = int(data.min_posts[row])
                room = max(0, int(data.current[row]) - floor)
                release += min(room, need, int(per_year.sum()))
                vac = int(data.vacancies[row, t0:t1].sum())
                if vac < need:
                    findings.append(Finding(
                        "vacancies", area, spec, deadline, need - vac,
                        f"{area} cannot release {need} {spec} posts by {deadline}: only {vac} "
                        f"fall vacant in {span}"))
                if int(data.target[row]) < floor:
                    findings.append(Finding(
                        "min_posts", area, spec, None, floor - int(data.target[row]),
                        f"{area} cannot go down to its {spec} target of {data.target[row]}: "
                        f"its minimum viable programme is {floor} posts"))
            else:
                in_year += per_year
                take += min(need, int(per_year.sum()))
                cap = int(data.capacity[row, t0:t1].sum())
                if cap < need:
                    findings.append(Finding(
                        "capacity", area, spec, deadline, need - cap,
                        f"{area} cannot take {need} more {spec} posts by {deadline}: its "
                        f"capacity is {cap} in {span}"))
            if options.pace_cap is not None and int(pace[i]) * n_t < need:
                findings.append(Finding(
                    "pace_cap", area, spec, deadline, need - int(pace[i]) * n_t,
                    f"{area} cannot move {need} {spec} posts by {deadline} at a pace cap of "
                    f"{options.pace_cap:.0%} of its gap ({pace[i]} a year for {n_t} years)"))
        total = int(np.abs(gap).sum()) // 2
        matched = int(np.minimum(out_year, in_year).sum())
        if release < total:
            findings.append(Finding(
                "vacancies", ENGLAND, spec, deadline, total - release,
                f"Giving areas can release at most {release} {spec} posts by {deadline} but "
                f"{total} must move"))
        if take < total:
            findings.append(Finding(
                "capacity", ENGLAND, spec, deadline, total - take,
                f"Receiving areas can take at most {take} {spec} posts by {deadline} but "
                f"{total} must move"))
        if release >= total and take >= total and matched < total:
            findings.append(Finding(
                "timing", ENGLAND, spec, deadline, total - matched,
                f"At most {matched} of the {total} {spec} posts can move by {deadline}: posts "
                f"fall vacant in years when receiving areas have no capacity"))
    return findings


# --------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------


def plan(problem: PlanProblem, options: PlanOptions | None = None) -> PlanResult:
    """The plan: integer moves per area, specialty and year that close gaps as early as allowed.

    Status "optimal": every constraint holds and progress is the best possible; the findings say
    which areas do not reach target by the horizon and what holds them back. "elastic": some
    constraints had to be relaxed (elastic mode); a finding names each relaxation and its size.
    "infeasible": ``require_target_by`` cannot be met; the affected specialties get no moves and
    the findings name the constraints, areas and years that stop it.
    """
    options = options or PlanOptions()
    started = time.perf_counter()
    data = _prepare(problem, options)
    blocks = [b for spec in data.specialties
              if (b := _build_block(data, spec, options.elastic)) is not None]
    counter = _Counter()
    outcomes = _solve(blocks, options, counter)

    n_pairs, n_years = len(data.area), len(data.years)
    moves = np.zeros((n_pairs, n_years), dtype=np.int64)
    findings: list[Finding] = []
    infeasible = [b for b, o in zip(blocks, outcomes, strict=True) if o.status == "infeasible"]
    relaxed = False
    for block, outcome in zip(blocks, outcomes, strict=True):
        if outcome.x is None:
            continue
        m = outcome.x[:block.n_areas * block.n_years].reshape(block.n_areas, block.n_years)
        t0 = block.years[0] - options.start_year
        moves[block.rows, t0:] = m * block.side[:, None]
        for slack in block.slacks:
            size = int(outcome.x[slack.var])
            if size:
                relaxed = True
                findings.append(_relaxation(data, block, m, slack, size, diagnosis=False))

    if infeasible:
        infeasible_specs = {b.specialty for b in infeasible}
        findings = [f for f in precheck(problem, options)
                    if f.specialty in infeasible_specs] + findings
        for block in infeasible:
            # the least relaxation that would meet the requirement names what stops it (placed
            # as the elastic plan would place it, so the years named are the natural ones)
            elastic_block = _build_block(data, block.specialty, elastic=True)
            assert elastic_block is not None
            x = _solve_chain([elastic_block], [0, 1, 2], counter)[0].x
            assert x is not None
            m = x[:elastic_block.n_areas * elastic_block.n_years].reshape(
                elastic_block.n_areas, elastic_block.n_years)
            for slack in elastic_block.slacks:
                if int(x[slack.var]):
                    findings.append(_relaxation(data, elastic_block, m, slack,
                                                int(x[slack.var]), diagnosis=True))
    findings.extend(_outcome_findings(data, blocks, outcomes, moves))

    table = _table(data, moves)
    status = "infeasible" if infeasible else ("elastic" if relaxed else "optimal")
    stats: dict[str, Any] = {
        "mode": "per_specialty" if options.per_specialty else "single",
        "n_vars": sum(b.n_core + b.n_ext for b in blocks),
        "n_constraints": sum(len(b.r_lb) for b in blocks),
        "n_integer": sum(b.n_core for b in blocks),
        "n_solves": counter.solves,
        "n_fallbacks": counter.fallbacks,
        "solve_seconds": counter.seconds,
        "total_seconds": time.perf_counter() - started,
        "per_specialty": {
            b.specialty: {"n_vars": b.n_core + b.n_ext, "n_constraints": len(b.r_lb),
                          "n_integer": b.n_core, "status": o.status,
                          "solve_seconds": o.seconds if options.per_specialty else None}
            for b, o in zip(blocks, outcomes, strict=True)
        },
    }
    return PlanResult(table=table, findings=findings, status=status, stats=stats)


def _relaxation(data: _Data, block: _Block, m: np.ndarray, slack: _Slack, size: int,
                diagnosis: bool) -> Finding:
    """A finding for one relaxed constraint: what was (elastic plan) or would have to be
    (diagnosis of an infeasible requirement) broken, and by how many posts."""
    row = block.rows[slack.area]
    area, spec, year, limit = str(data.area[row]), block.specialty, slack.year, slack.limit
    if year is not None and slack.family != "target":
        moved = int(m[slack.area, block.years.index(year)])
    else:
        moved = int(m[slack.area].sum())
    floor = int(data.min_posts[row])
    if slack.family == "vacancies":
        verb = ("would have to release", "releases")
        rest = (f"{moved} {spec} posts in {year} but only {limit} fall vacant: {size} current "
                f"trainee{'s' if size != 1 else ''} {'would have' if diagnosis else 'have'} to "
                f"move programme")
    elif slack.family == "capacity":
        verb = ("would have to take", "takes")
        rest = f"{moved} more {spec} trainees in {year}, {size} above its capacity of {limit}"
    elif slack.family == "pace_cap":
        verb = ("would have to move", "moves")
        rest = f"{moved} {spec} posts in {year}, {size} above the pace cap of {limit} a year"
    elif slack.family == "min_posts":
        verb = ("would have to fall", "falls")
        rest = (f"to {int(data.current[row]) - moved} {spec} posts, {size} below its minimum "
                f"viable programme of {floor}")
    else:
        verb = ("does not reach", "does not reach")
        rest = f"its {spec} target of {int(data.target[row])} by {year}: {size} posts short"
    if diagnosis:
        text = (f"To reach target by {data.options.require_target_by}, {area} {verb[0]} "
                f"{rest}")
    else:
        text = f"Relaxed: {area} {verb[1]} {rest}"
    return Finding(slack.family, area, spec, year, size, text)


def _outcome_findings(data: _Data, blocks: list[_Block], outcomes: list[_Outcome],
                      moves: np.ndarray) -> list[Finding]:
    """Why areas end the plan off target: not phased, or the constraint that held them back."""
    options = data.options
    findings: list[Finding] = []
    planned = {b.specialty: (b, o) for b, o in zip(blocks, outcomes, strict=True)}
    final = data.current + moves.sum(axis=1)
    for spec in data.specialties:
        rows = data.rows_of[spec]
        off = rows[final[rows] != data.target[rows]]
        if len(off) == 0:
            continue
        if spec in planned and planned[spec][1].status == "infeasible":
            continue
        first = _first_year(data, spec)
        if first is None or first > options.horizon:
            why = ("is not phased" if first is None
                   else f"starts in {data.phase_start[spec]}, after the horizon")
            findings.append(Finding(
                "phase", ENGLAND, spec, None,
                int(np.abs(data.target[rows] - data.current[rows]).sum()) // 2,
                f"{spec} {why}: its posts do not move, so {len(off)} areas stay off target"))
            continue
        block, outcome = planned[spec]
        assert outcome.x is not None
        m = outcome.x[:block.n_areas * block.n_years].reshape(block.n_areas, block.n_years)
        position = {int(r): a for a, r in enumerate(block.rows)}
        for row in off:
            a = position[int(row)]
            findings.append(_shortfall(data, block, m, a, int(final[row])))
    return findings


def _shortfall(data: _Data, block: _Block, m: np.ndarray, a: int, posts: int) -> Finding:
    """A "horizon" (or "min_posts") finding for an area off target at the end of the plan."""
    row = block.rows[a]
    area, spec = str(data.area[row]), block.specialty
    target, current = int(data.target[row]), int(data.current[row])
    short = abs(target - posts)
    horizon = data.options.horizon
    giver = block.side[a] < 0
    floor = int(data.min_posts[row])
    if giver and int(m[a].sum()) >= block.room[a] and block.room[a] < block.need[a]:
        if current <= floor:
            text = (f"{area} keeps its {current} {spec} posts ({short} above its target of "
                    f"{target}): it is already at or below its minimum viable programme of "
                    f"{floor}")
        else:
            text = (f"{area} stops at its minimum viable programme of {floor} {spec} posts, "
                    f"{short} above its target of {target}")
        return Finding("min_posts", area, spec, None, short, text)
    counts = {"its vacancies": 0, "its capacity": 0, "the pace cap": 0, "other side": 0}
    for t in range(block.n_years):
        if m[a, t] >= block.own[a, t]:
            counts["its vacancies" if giver else "its capacity"] += 1
        elif m[a, t] >= block.pace[a]:
            counts["the pace cap"] += 1
        else:
            counts["other side"] += 1
    reason = max(counts, key=lambda k: (counts[k], k != "other side"))
    if reason == "other side":
        why = "what receiving areas can take" if giver else "what giving areas can release"
    else:
        why = reason
    n = block.n_years
    held = f"held back by {why} in {counts[reason]} of {n} plan year{'s' if n != 1 else ''}"
    if giver:
        text = (f"{area} still holds {posts} {spec} posts in {horizon}, {short} above its "
                f"target of {target}: {held}")
    else:
        text = (f"{area} reaches {posts} of its {target} {spec} posts by {horizon}, {short} "
                f"short: {held}")
    return Finding("horizon", area, spec, horizon, short, text)


def _table(data: _Data, moves: np.ndarray) -> pd.DataFrame:
    n_pairs, n_years = moves.shape
    cumulative = np.cumsum(moves, axis=1)
    posts = data.current[:, None] + cumulative
    target = np.repeat(data.target[:, None], n_years, axis=1)
    return pd.DataFrame({
        "area": np.repeat(data.area, n_years),
        "specialty": np.repeat(data.specialty, n_years),
        "year": np.tile(np.arange(data.years.start, data.years.stop, dtype=np.int64), n_pairs),
        "redistribution": moves.reshape(-1),
        "cumulative": cumulative.reshape(-1),
        "posts": posts.reshape(-1),
        "target": target.reshape(-1),
        "remaining_gap": (target - posts).reshape(-1),
        "vacancies": data.vacancies.reshape(-1),
        "vacancies_used": np.maximum(-moves, 0).reshape(-1),
        "capacity": data.capacity.reshape(-1),
        "capacity_used": np.maximum(moves, 0).reshape(-1),
    })
