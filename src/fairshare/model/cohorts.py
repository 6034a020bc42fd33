"""Vacancies that follow trainee cohorts, and the default receiving capacity (METHOD §4).

A post can move only when its trainee completes (no current trainee moves). A trainee who starts
in year s completes in s + L (L the programme length), so the posts falling vacant in year t
with no moves are

    V_t = c_t + V_{t−L}  (the second term only once t − L is a plan year),

where c_t counts today's trainees completing in t. A post a giving area releases in year t is not
refilled, so the cohort starting in t is smaller and t + L frees one post fewer; a post an area
receives in t is filled and frees a post in t + L. With the moves x (signed: + received,
− released), the posts falling vacant after earlier moves are

    v_t = V_t + Σ_{k≥1} x_{t−kL}.

A giving area may release at most v_t in year t; summed along its cohort line t, t − L, t − 2L,
... that is Σ_{k≥0} m_{t−kL} ≤ V_t: nested sums, which keep the plan a network flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import pandas as pd

from fairshare.errors import FairshareError

__all__ = [
    "PlanInputError",
    "base_vacancies",
    "default_capacity",
    "default_vacancies",
    "vacancies_after_moves",
    "vacancies_from_cohorts",
]


class PlanInputError(FairshareError, ValueError):
    """Plan inputs that cannot be used (the message says which rows and why)."""


def default_vacancies(posts: pd.DataFrame, specialties: pd.DataFrame,
                      years: range) -> pd.DataFrame:
    """Posts falling vacant each year with no moves, when no cohort data is given.

    A programme of L years with c trainees sees about c/L complete each year. Whole posts are kept
    exact with a repeating pattern of period L starting at ``years.start``: in the k-th year of the
    cycle (k = (year − years.start) mod L), floor(c·(k+1)/L) − floor(c·k/L) fall vacant. Over any L
    consecutive years exactly c fall vacant, and the extra posts of the remainder come at the end
    of each cycle (e.g. c = 10, L = 3 gives 3, 3, 4, 3, 3, 4, ...). The pattern is today's
    trainees completing in the first L years, each refilled: V_t = V_{t−L} after that.

    posts: area, specialty, current; specialties: specialty, programme_years.
    Returns area, specialty, year, vacancies (int) for every posts row and year.
    """
    lengths = programme_years(posts, specialties)
    current = posts["current"].to_numpy(np.int64)
    vac = vacancy_pattern(current, lengths, len(years))
    return long_table(posts, years, vac, "vacancies")


def vacancies_from_cohorts(cohorts: pd.DataFrame, years: range) -> pd.DataFrame:
    """Today's trainees completing each year: a trainee completing in year y frees a post in y.

    cohorts: area, specialty, completion_year, trainees. Returns area, specialty, year, vacancies
    for every area × specialty in ``cohorts`` and every year in ``years`` (0 when nobody completes).
    These are completions of current trainees only; ``base_vacancies`` adds their successors.
    """
    require_columns(cohorts, ["area", "specialty", "completion_year", "trainees"], "cohorts")
    if (pd.to_numeric(cohorts["trainees"], errors="coerce").fillna(-1) < 0).any():
        raise PlanInputError("cohorts: trainees must be whole numbers, at least 0")
    pairs = cohorts[["area", "specialty"]].drop_duplicates().sort_values(["area", "specialty"])
    pairs = pairs.reset_index(drop=True)
    inside = cohorts[cohorts["completion_year"].isin(list(years))]
    counts = (inside.groupby(["area", "specialty", "completion_year"])["trainees"].sum()
              .to_dict())
    vac = np.zeros((len(pairs), len(years)), dtype=np.int64)
    for i, (area, spec) in enumerate(zip(pairs["area"], pairs["specialty"], strict=True)):
        for j, year in enumerate(years):
            vac[i, j] = int(counts.get((area, spec, year), 0))
    return long_table(pairs, years, vac, "vacancies")


def base_vacancies(completing: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """V_t = c_t + V_{t−L}: today's trainees completing (c), plus the successors of everyone
    who completed L years earlier (each vacancy is refilled when nothing moves)."""
    out = completing.astype(np.int64).copy()
    for t in range(out.shape[1]):
        back = t - lengths
        has = back >= 0
        out[has, t] += out[np.flatnonzero(has), back[has]]
    return out


def vacancies_after_moves(base: np.ndarray, moves: np.ndarray,
                          lengths: np.ndarray) -> np.ndarray:
    """v_t = V_t + Σ_{k≥1} d_{t−kL}: posts falling vacant after earlier moves.

    d_t is the change in the cohort starting in t: + posts received (filled), − posts released
    that had fallen vacant (not refilled). A post released beyond the vacancies (a displaced
    trainee, only in an elastic plan) leaves no cohort to shrink, so it counts once.
    """
    out = base.astype(np.int64).copy()
    line = np.zeros_like(out)  # C_t = d_t + C_{t−L}: the change carried along each cohort line
    rows = np.arange(out.shape[0])
    for t in range(out.shape[1]):
        back = t - lengths
        has = back >= 0
        out[has, t] += line[rows[has], back[has]]
        x = moves[:, t]
        line[:, t] = np.where(x >= 0, x, -np.minimum(-x, np.maximum(out[:, t], 0)))
        line[has, t] += line[rows[has], back[has]]
    return out


def default_capacity(posts: pd.DataFrame, years: range, headroom: float = 0.10) -> pd.DataFrame:
    """Receiving capacity when no capacity table is given: ceil(headroom · current), at least 1.

    An area's supervision grows roughly with its current trainees; at least one extra post a year
    lets an area with no posts start one. The product is computed exactly (0.1 · 30 is 3, not 4).
    """
    current = posts["current"].to_numpy(np.int64)
    cap = headroom_capacity(current, headroom)
    return long_table(posts, years, np.repeat(cap[:, None], len(years), axis=1), "capacity")


def vacancy_pattern(current: np.ndarray, lengths: np.ndarray, n_years: int) -> np.ndarray:
    k = np.arange(n_years)[None, :] % lengths[:, None]
    c = current[:, None]
    length = lengths[:, None]
    return (c * (k + 1)) // length - (c * k) // length


def first_cycle(current: np.ndarray, lengths: np.ndarray, n_years: int) -> np.ndarray:
    """Today's trainees completing: the default pattern in the first L years, none after."""
    pattern = vacancy_pattern(current, lengths, n_years)
    return np.where(np.arange(n_years)[None, :] < lengths[:, None], pattern, 0)


def headroom_capacity(current: np.ndarray, headroom: float) -> np.ndarray:
    return np.maximum(ceil_share(current, headroom), 1).astype(np.int64)


def ceil_share(values: np.ndarray, share: float) -> np.ndarray:
    """ceil(share · values) in exact arithmetic (0.1 · 30 is 3)."""
    h = Fraction(repr(float(share)))
    return (values * h.numerator + h.denominator - 1) // h.denominator


def floor_share(values: np.ndarray, share: float) -> np.ndarray:
    """floor(share · values) in exact arithmetic (0.5 · 7 is 3)."""
    h = Fraction(repr(float(share)))
    return (values * h.numerator) // h.denominator


def programme_years(posts: pd.DataFrame, specialties: pd.DataFrame) -> np.ndarray:
    lengths = specialties.drop_duplicates("specialty").set_index("specialty")["programme_years"]
    missing = sorted(set(posts["specialty"]) - set(lengths.index))
    if missing:
        raise PlanInputError(f"specialties table has no programme_years for {missing}")
    out = posts["specialty"].map(lengths).to_numpy()
    if (pd.isna(out)).any() or (out.astype(float) < 1).any():
        raise PlanInputError("programme_years must be a whole number of years, at least 1")
    return out.astype(np.int64)


def long_table(pairs: pd.DataFrame, years: range, values: np.ndarray,
               column: str) -> pd.DataFrame:
    n_years = len(years)
    return pd.DataFrame({
        "area": np.repeat(pairs["area"].to_numpy(object), n_years),
        "specialty": np.repeat(pairs["specialty"].to_numpy(object), n_years),
        "year": np.tile(np.arange(years.start, years.stop, dtype=np.int64), len(pairs)),
        column: values.reshape(-1).astype(np.int64),
    })


def require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PlanInputError(f"{name} table lacks column(s) {missing}")
