"""One specialty's plan as a linear programme whose vertices are whole plans (docs/plan.md).

Every constraint is a sum over a set of one specialty's moves, and the sets form two laminar
families: the years (posts conserved each year) and, per area, its cohort lines (t, t + L,
t + 2L, ...: nested prefix sums) inside its whole plan (never overshoot, minimum size). A 0/1
matrix of two laminar families is totally unimodular, so with whole-number bounds every vertex
of the LP is a whole plan: the simplex method returns whole moves without branching, at any
scale. Elastic slacks are unit columns and keep that property. Only ``require_target_by`` in
elastic mode adds a row that crosses the cohort lines; a fractional LP is then re-solved as a
MILP (``stats["n_fallbacks"]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fairshare.model.cohorts import ceil_share, floor_share
from fairshare.model.plan_inputs import PlanData, PlanOptions

#: Discount weights are rounded to 1/WEIGHT_SCALE so the progress objective is an integer.
WEIGHT_SCALE = 1000


@dataclass
class Slack:
    family: str
    area: int  # position in the block's area list
    year: int | None  # plan year, None for whole-plan constraints
    var: int
    limit: int  # the constraint's right-hand side before relaxation


@dataclass
class Block:
    """The model of one specialty: the moves m[a, t] >= 0 (a's posts given if it gives,
    received if it receives, in block year t), then slacks (elastic only)."""

    specialty: str
    rows: np.ndarray  # pair indices of the moving areas
    side: np.ndarray  # −1 gives, +1 receives
    need: np.ndarray  # |target − current|
    room: np.ndarray  # most it may move in total (min posts for givers)
    lengths: np.ndarray  # programme length of each area's specialty
    base: np.ndarray  # (area, year) vacancies with no moves (V)
    caps: dict[str, np.ndarray]  # per-year limits by family, (area, year); absent = none
    lines: dict[str, np.ndarray]  # giver cohort-line limits by family (vacancies, cohort_share)
    years: list[int]
    lb: np.ndarray
    ub: np.ndarray
    primary: np.ndarray  # maximise (integer coefficients)
    penalty: np.ndarray  # minimise in elastic stage 0 (integer coefficients)
    tiebreak: np.ndarray  # minimise in the last stage
    a_rows: list[int]
    a_cols: list[int]
    a_vals: list[float]
    r_lb: list[float]
    r_ub: list[float]
    slacks: list[Slack]

    @property
    def n_areas(self) -> int:
        return len(self.rows)

    @property
    def n_years(self) -> int:
        return len(self.years)

    @property
    def n_vars(self) -> int:
        return len(self.lb)

    def moves(self, x: np.ndarray) -> np.ndarray:
        return x[:self.n_areas * self.n_years].reshape(self.n_areas, self.n_years)


def glide_window(options: PlanOptions, first: int) -> int:
    """Years over which a specialty's gaps are spread: phase start to ``glide_until``, at least
    ``glide_min_years``; never past ``require_target_by`` (the requirement shortens it)."""
    window = max(options.glide_until - first + 1, options.glide_min_years)
    if options.require_target_by is not None:
        window = min(window, max(options.require_target_by - first + 1, 1))
    return window


def glide_quota(need: np.ndarray, n_years: int, window: int) -> np.ndarray:
    """An even share of each gap a year over the window, whole posts exact: in window year k,
    ceil(n(k+1)/W) − ceil(nk/W), summing to n, the odd posts early; after the window ceil(n/W)
    a year to catch up."""
    k = np.arange(n_years)[None, :]
    n = need[:, None]
    even = (-((-n * np.minimum(k + 1, window)) // window)
            + (-n * np.minimum(k, window)) // window)
    catch_up = np.repeat(-(-n // window), n_years, axis=1)
    return np.where(k < window, even, catch_up).astype(np.int64)


def year_caps(data: PlanData, rows: np.ndarray, side: np.ndarray, need: np.ndarray,
              first: int) -> dict[str, np.ndarray]:
    """Per-area, per-year limits on moves, by constraint family."""
    options = data.options
    t0 = first - options.start_year
    n_t = options.horizon - first + 1
    caps: dict[str, np.ndarray] = {}
    receiver = side[:, None] > 0
    big = np.iinfo(np.int64).max // 4
    caps["capacity"] = np.where(receiver, data.capacity[rows, t0:], big)
    if options.pace_cap is not None:
        caps["pace_cap"] = np.repeat(ceil_share(need, options.pace_cap)[:, None], n_t, axis=1)
    if options.glide:
        caps["glide"] = glide_quota(need, n_t, glide_window(options, first))
        growth = np.maximum(floor_share(data.vacancies[rows, t0:], options.intake_growth), 1)
        caps["intake_growth"] = np.where(receiver, growth, big)
    return caps


def cohort_lines(data: PlanData, rows: np.ndarray, side: np.ndarray,
                 first: int) -> dict[str, np.ndarray]:
    """Limits on a giver's cumulative releases along each cohort line (big for receivers)."""
    options = data.options
    t0 = first - options.start_year
    base = data.vacancies[rows, t0:]
    big = np.iinfo(np.int64).max // 4
    giver = side[:, None] < 0
    lines = {"vacancies": np.where(giver, base, big)}
    if options.glide:
        lines["cohort_share"] = np.where(giver, floor_share(base, options.cohort_share), big)
    return lines


class _Rows:
    """Sparse rows and slack columns of one block under construction."""

    def __init__(self, n_m: int) -> None:
        self.n_m = n_m
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.slacks: list[Slack] = []

    def add(self, cols: list[int], vals: list[float], lo: float, hi: float) -> None:
        row = len(self.lo)
        self.rows.extend([row] * len(cols))
        self.cols.extend(cols)
        self.vals.extend(vals)
        self.lo.append(lo)
        self.hi.append(hi)

    def slack(self, family: str, a: int, year: int | None, limit: int) -> int:
        var = self.n_m + len(self.slacks)
        self.slacks.append(Slack(family, a, year, var, limit))
        return var


def build_block(data: PlanData, spec: str, elastic: bool) -> Block | None:
    """The LP of one specialty, or None when nothing can move."""
    options = data.options
    first = data.first_year(spec)
    if first is None or first > options.horizon:
        return None
    rows = data.rows_of[spec]
    gap = data.target[rows] - data.current[rows]
    rows, gap = rows[gap != 0], gap[gap != 0]
    if len(rows) == 0:
        return None
    side = np.sign(gap).astype(np.int64)
    need = np.abs(gap)
    floor_room = np.maximum(0, data.current[rows] - data.min_posts[rows])
    room = np.where(side < 0, np.minimum(need, floor_room), need)
    years = list(range(first, options.horizon + 1))
    n_a, n_t = len(rows), len(years)
    n_m = n_a * n_t
    lengths = data.lengths[rows]
    caps = year_caps(data, rows, side, need, first)
    lines = cohort_lines(data, rows, side, first)
    r = _Rows(n_m)

    def col(a: int, t: int) -> int:
        return a * n_t + t

    ub = np.repeat(need[:, None], n_t, axis=1).astype(float)
    for t in range(n_t):  # posts conserved: what givers release equals what receivers take
        r.add([col(a, t) for a in range(n_a)], [float(s) for s in side], 0.0, 0.0)
    required_t = (None if options.require_target_by is None
                  else options.require_target_by - first)
    for a in range(n_a):
        for family, cap in caps.items():
            for t in range(n_t):
                if cap[a, t] >= need[a]:
                    continue
                if elastic:
                    s = r.slack(family, a, years[t], int(cap[a, t]))
                    r.add([col(a, t), s], [1.0, -1.0], -np.inf, float(cap[a, t]))
                else:
                    ub[a, t] = min(ub[a, t], cap[a, t])
        if side[a] < 0:
            _add_lines(r, lines, a, n_t, int(lengths[a]), int(need[a]), years, ub, elastic)
        all_t = [col(a, t) for t in range(n_t)]
        if elastic:
            r.add(all_t, [1.0] * n_t, -np.inf, float(need[a]))  # never overshoot
            if side[a] < 0 and floor_room[a] < need[a]:
                s = r.slack("min_posts", a, None, int(floor_room[a]))
                r.add([*all_t, s], [1.0] * n_t + [-1.0], -np.inf, float(floor_room[a]))
        elif ub[a].sum() > room[a]:
            r.add(all_t, [1.0] * n_t, -np.inf, float(room[a]))
        if required_t is not None:
            if elastic:
                early = [col(a, t) for t in range(min(required_t + 1, n_t))]
                s = r.slack("target", a, options.require_target_by, int(need[a]))
                r.add([*early, s], [1.0] * (len(early) + 1), float(need[a]), np.inf)
            else:  # nothing moves after the deadline (it would overshoot): a whole-plan row
                ub[a, max(required_t + 1, 0):] = 0
                r.add(all_t, [1.0] * n_t, float(need[a]), np.inf)

    n = n_m + len(r.slacks)
    lb = np.zeros(n)
    ub_all = np.concatenate([ub.reshape(-1), [float(need[sl.area]) for sl in r.slacks]])
    primary, penalty, tiebreak = _objectives(data, rows, side, need, first, r.slacks, n)
    return Block(specialty=spec, rows=rows, side=side, need=need, room=room, lengths=lengths,
                 base=data.vacancies[rows, first - options.start_year:], caps=caps, lines=lines,
                 years=years, lb=lb, ub=ub_all, primary=primary, penalty=penalty,
                 tiebreak=tiebreak, a_rows=r.rows, a_cols=r.cols, a_vals=r.vals, r_lb=r.lo,
                 r_ub=r.hi, slacks=r.slacks)


def _add_lines(r: _Rows, lines: dict[str, np.ndarray], a: int, n_t: int, length: int,
               need: int, years: list[int], ub: np.ndarray, elastic: bool) -> None:
    """A giver's cohort lines: releases summed along t, t − L, ... within each limit."""
    for family, limit in lines.items():
        line_slacks: dict[int, list[int]] = {}  # a relaxation counts once along its line
        for t in range(n_t):
            chain = list(range(t % length, t + 1, length))
            if limit[a, t] >= need:
                continue
            cols = [a * n_t + u for u in chain]
            if elastic:
                earlier = line_slacks.setdefault(t % length, [])
                earlier.append(r.slack(family, a, years[t], int(limit[a, t])))
                r.add([*cols, *earlier], [1.0] * len(cols) + [-1.0] * len(earlier), -np.inf,
                      float(limit[a, t]))
            elif len(chain) == 1:
                ub[a, t] = min(ub[a, t], limit[a, t])
            else:
                r.add(cols, [1.0] * len(cols), -np.inf, float(limit[a, t]))


def weights(options: PlanOptions) -> np.ndarray:
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


def _objectives(data: PlanData, rows: np.ndarray, side: np.ndarray, need: np.ndarray,
                first: int, slacks: list[Slack],
                n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Progress (integer), elastic penalty (integer) and the tie-break.

    The tie-break prefers earlier moves for the areas furthest from target (relative gap, then
    gap, then name); its weights are square roots of distinct primes, so in practice no two
    plans tie and the answer is unique. Scaled so its whole range is below one unit of progress.
    """
    options = data.options
    n_a, n_t = len(rows), options.horizon - first + 1
    n_m = n_a * n_t
    w = weights(options)[first - options.start_year:]
    big_w = np.cumsum(w[::-1])[::-1].astype(float)
    primary = np.zeros(n)
    primary[:n_m] = np.tile(big_w, n_a)
    penalty = np.zeros(n)
    costs = dict(options.elastic_penalties)
    for sl in slacks:
        penalty[sl.var] = costs[sl.family]
    order = sorted(range(n_a), key=lambda a: (
        int(side[a]), -int(need[a]) / max(int(data.target[rows[a]]), 1), -int(need[a]),
        str(data.area[rows[a]])))
    primes = _primes(n_a + len(slacks))
    phi = np.empty(n_a)
    for rank, a in enumerate(order):
        phi[a] = math.sqrt(primes[n_a - 1 - rank])
    phi /= phi.max()
    omega = (n_t - np.arange(n_t)) / n_t
    tiebreak = np.zeros(n)
    lam = 1.0 / (float(need.sum()) * 2 + 2.0 + float(sum(need[sl.area] for sl in slacks)))
    tiebreak[:n_m] = -lam * (phi[:, None] * omega[None, :]).reshape(-1)
    if slacks:
        psi = np.sqrt(np.array(primes[n_a:], dtype=float))
        tiebreak[n_m:] = lam * psi / psi.max()
    return primary, penalty, tiebreak
