"""From the area plan to trusts (issue 15): which trusts give and which receive each round's posts.

The area plan says how many posts a local office gives or receives per specialty and recruitment
round. A programme acts on posts held by trusts, so this module shares each area's moves over
its trusts, post by post, with a reason per trust and round (docs/posts.md):

* **Giving.** A post leaves the trust whose catchment stands furthest above its fair share: the
  share-weighted distance from target, (posts − fair target) / fair target, of the ICBs its
  patients come from (geographr's catchment shares). A trust gives only a post falling vacant
  that round (no trainee moves) and never goes below its minimum viable unit.
* **Receiving.** A post goes to the trust whose catchment lies furthest below fair share, among
  trusts that train the specialty today, within each trust's supervision capacity.
* **Dynamic.** After each post the ICB's posts change, so the next post sees the new distances:
  posts spread over trusts as the gaps close instead of all leaving one trust.
* **Exact.** Trust rows add up to the area plan for every area, specialty and round; a post the
  trust rules cannot place is a row of its own (no trust, the reason why), never dropped.

Trust vacancies follow the area plan's rule: the area's trainees completing each year (posts /
programme length, or its cohorts) are shared over its trusts by controlled rounding, so trust
vacancies add up to the area's exactly, and each trust sees its own posts complete over one
programme length. Pure: tables in, tables out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import groupby
from typing import NamedTuple

import numpy as np
import pandas as pd

from fairshare.apportionment import apportion
from fairshare.model.cohorts import base_vacancies, ceil_share
from fairshare.model.decisions import RoundSteer

TRUST_PLAN_COLUMNS = [
    "area", "specialty", "year", "org_code", "org_name", "icb_code", "change", "kind",
    "posts_before",
    "posts_after", "vacancies", "capacity", "min_unit", "catchment_distance", "reason", "basis",
]
NOT_PLACED = "(not placed at a trust)"


@dataclass(frozen=True)
class TrustSetting:
    """Everything the trust split needs besides the area plan.

    trusts: area, specialty, org_code, org_name, icb_code, posts, catchment_code, min_posts
        (one row per trust training the specialty in the area; ``catchment_code`` may be '').
    catchment: catchment_code, icb_code, share (share of the trust's patients from each ICB).
    icbs: specialty, icb_code, current, fair (the ICB's posts now and its fair target).
    lengths: programme length in years per specialty.
    headroom: a trust's extra trainees a year, as a share of its posts (at least 1).
    basis: the basis text of the trust rows, per specialty.
    completions: area, specialty, org_code, year, completing: each trust's own trainees
        completing, where post records give them (they must add up to the area's); an area
        and specialty with no rows here has the area's completions shared over its trusts
        (``split_completions``).
    steer: review decisions per (area, specialty, round) (``decisions.resolve``): trusts kept
        out, posts withheld, trusts used first; empty: the rules alone.
    """

    trusts: pd.DataFrame
    catchment: pd.DataFrame
    icbs: pd.DataFrame
    lengths: Mapping[str, int]
    headroom: float
    basis: Mapping[str, str]
    completions: pd.DataFrame | None = None
    steer: Mapping[tuple[str, str, int], RoundSteer] = field(default_factory=dict)


def area_completions(vacancies: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Today's trainees completing each year (c) from the plan's base vacancies V = c + V_{t−L}:
    the inverse of ``cohorts.base_vacancies``."""
    out = vacancies.astype(np.int64).copy()
    for t in range(out.shape[1]):
        back = t - lengths
        has = back >= 0
        out[has, t] -= vacancies[np.flatnonzero(has), back[has]]
    return out


def split_completions(posts: np.ndarray, completing: np.ndarray) -> np.ndarray:
    """An area's completions per year shared over its trusts (trusts × years), whole posts.

    Each trust's share is its share of the area's posts. The completions to date are shared by
    Webster's method, seat by seat (the next completion goes to the trust with the highest
    posts / (2 × completions so far + 1); ties to the first trust by ODS code). Adding seats one
    at a time is house-monotone, so yearly differences are never negative: every year's total is
    the area's exactly, and each trust's completions to date stay within a post of its share.
    """
    total_posts, total = int(posts.sum()), int(completing.sum())
    out = np.zeros((len(posts), len(completing)), dtype=np.int64)
    if total_posts == 0 or total == 0:
        return out
    if (posts > 0).sum() == 1:  # one trust holds every post: it has every completion
        return np.where(posts[:, None] > 0, completing[None, :], 0).astype(np.int64)
    weights = posts.astype(float)
    seats = np.zeros(len(posts), dtype=np.int64)
    for t, count in enumerate(completing):
        for _ in range(int(count)):
            pick = int(np.argmax(weights / (2 * seats + 1)))
            seats[pick] += 1
            out[pick, t] += 1
    return out


def scale_posts(posts: np.ndarray, current: int) -> np.ndarray:
    """Trust posts made to add up to the area's current posts (Hamilton on the trusts' posts);
    unchanged when they already do (the embedded baseline)."""
    if int(posts.sum()) == current or int(posts.sum()) == 0:
        return posts.astype(np.int64)
    return np.array(apportion([int(p) for p in posts], current, method="hamilton"),
                    dtype=np.int64)


@dataclass
class _Unit:
    """The trusts of one area and specialty, and their posts as the rounds go by."""

    area: str
    specialty: str
    org: np.ndarray
    name: np.ndarray
    icb: np.ndarray
    index: np.ndarray  # rows of the specialty's catchment matrix
    own_catchment: np.ndarray  # True where the trust has no catchment figure (its own ICB)
    posts: np.ndarray
    minimum: np.ndarray
    base: np.ndarray  # trusts × years: posts falling vacant with no moves
    moves: np.ndarray  # trusts × years: + received, − released
    length: int
    counted: bool  # the specialty has trust figures somewhere (not a modelled specialty)

    def vacancies(self, t: int) -> np.ndarray:
        """v_t = V_t + Σ_{k≥1} d_{t−kL}: a released post is not refilled, a received one is."""
        out = self.base[:, t].copy()
        for back in range(t - self.length, -1, -self.length):
            out += self.moves[:, back]
        return np.maximum(out, 0)


class _Specialty:
    """One specialty's ICB distances from fair share, updated as posts move."""

    def __init__(self, icbs: pd.DataFrame, weights: np.ndarray, icb_codes: list[str]) -> None:
        self.col = {c: j for j, c in enumerate(icb_codes)}
        table = icbs.set_index("icb_code").reindex(icb_codes)
        self.posts = table["current"].fillna(0).to_numpy(float)
        self.fair = np.maximum(table["fair"].fillna(0).to_numpy(float), 1.0)
        self.weights = weights

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Catchment-weighted distance from fair share of the given trusts (+ above, − below)."""
        distance = (self.posts - self.fair) / self.fair
        return np.asarray(self.weights[rows] @ distance)

    def move(self, icb: str, change: int) -> None:
        if icb in self.col:
            self.posts[self.col[icb]] += change


def trust_plan(plan: pd.DataFrame, completing: pd.DataFrame,
               setting: TrustSetting) -> pd.DataFrame:
    """Per trust recommendations that add up to the area plan.

    plan: area, specialty, year, redistribution (the area plan; current = posts − cumulative),
        optionally expansion (time-limited posts placed that year: they go to the trusts
        furthest below with supervision capacity left after the round's redistribution).
    completing: area, specialty, year, completing (today's trainees completing, the area plan's
        own vacancy model).
    Returns ``TRUST_PLAN_COLUMNS``: one row per trust, round and move, plus one row per post the
    trust rules could not place (org_code '', the reason), sorted by area, specialty, year.
    """
    years = sorted(int(y) for y in plan["year"].unique())
    start = years[0] if years else 0
    rows: list[dict[str, object]] = []
    keys = zip(completing["area"], completing["specialty"], completing["year"], strict=True)
    comp = dict(zip(keys, completing["completing"].astype(int), strict=True))
    plain = setting.trusts.astype({c: object for c in ("area", "specialty", "org_code",
                                                       "org_name", "icb_code",
                                                       "catchment_code")})
    plain = plain.sort_values(["specialty", "area", "org_code"])
    groups = {key: part for key, part in plain.groupby(["specialty", "area"], sort=False)}
    by_spec = {str(k): g for k, g in plain.groupby("specialty", sort=False)}
    icb_of = {str(k): g for k, g in setting.icbs.groupby("specialty", sort=False)}
    icb_codes = sorted(set(setting.icbs["icb_code"]) | set(setting.catchment["icb_code"]))
    shares = {str(k): (g["icb_code"].to_numpy(object), g["share"].to_numpy(float))
              for k, g in setting.catchment.groupby("catchment_code", sort=False)}
    if "expansion" not in plan.columns:
        plan = plan.assign(expansion=0)
    own = None if setting.completions is None else _by_unit(setting.completions)
    for spec, spec_plan in sorted(_plan_by_specialty(plan).items()):
        moving = [r for r in spec_plan if r.redistribution != 0 or r.expansion != 0]
        if not moving:
            continue
        state = _specialty_state(by_spec.get(spec, plain.iloc[:0]),
                                 icb_of.get(spec, setting.icbs.iloc[:0]), icb_codes, shares)
        units = {}
        movers = {r.area for r in moving}
        for r in spec_plan:
            if r.year != years[0] or r.area not in movers:
                continue  # only areas that move need their trusts' state
            years_c = np.array([comp.get((r.area, spec, y), 0) for y in years], dtype=np.int64)
            trusts = groups.get((spec, r.area), plain.iloc[:0])
            units[r.area] = _unit(r.area, spec, int(r.posts - r.cumulative), years_c, trusts,
                                  setting, state,
                                  None if own is None else own.get((r.area, spec)), start)
            units[r.area].counted = spec in by_spec
        moving.sort(key=lambda r: (r.year, r.area))
        for year, group in groupby(moving, key=lambda r: r.year):
            part, t = list(group), int(year) - start
            for r in sorted(part, key=lambda r: (r.redistribution > 0, r.area)):  # givers first
                unit, n = units[r.area], int(r.redistribution)
                if n:
                    rows += (_give(unit, state[0], t, -n, int(year), setting) if n < 0
                             else _receive(unit, state[0], t, n, int(year), setting))
            for r in sorted((r for r in part if r.expansion > 0), key=lambda r: r.area):
                rows += _expand(units[r.area], state[0], t, int(r.expansion), int(year),
                                setting)
    out = pd.DataFrame(rows, columns=TRUST_PLAN_COLUMNS)
    out = out.astype({"year": "int64", "change": "int64"})
    for col in ("posts_before", "posts_after", "vacancies", "capacity", "min_unit"):
        out[col] = out[col].astype("Int64")  # empty on a row not placed at a trust
    out["catchment_distance"] = out["catchment_distance"].astype(float)
    return out.sort_values(["area", "specialty", "year", "change", "org_code"],
                           kind="stable").reset_index(drop=True)


class _PlanRow(NamedTuple):
    area: str
    year: int
    redistribution: int
    expansion: int
    posts: int
    cumulative: int


def _plan_by_specialty(plan: pd.DataFrame) -> dict[str, list[_PlanRow]]:
    """The area plan's rows per specialty, in the plan's order, as plain Python values: read
    once, so the round-by-round loop filters no DataFrame (issue 15 speed)."""
    cols = [plan[c].astype(object).to_numpy(object).tolist()
            for c in ("specialty", "area", "year", "redistribution", "expansion", "posts",
                      "cumulative")]
    out: dict[str, list[_PlanRow]] = {}
    for spec, area, year, *rest in zip(*cols, strict=True):
        if isinstance(spec, str):  # groupby drops a missing specialty
            out.setdefault(spec, []).append(_PlanRow(str(area), int(year), *rest))
    return out


def _specialty_state(trusts: pd.DataFrame, icbs: pd.DataFrame, codes: list[str],
                     shares: Mapping[str, tuple[np.ndarray, np.ndarray]],
                     ) -> tuple[_Specialty, dict[str, int]]:
    """The specialty's ICB state and the row of each trust (org_code) in its catchment matrix."""
    col = {c: j for j, c in enumerate(codes)}
    trusts = trusts.drop_duplicates("org_code")
    orgs = sorted(set(trusts["org_code"]))
    row = {o: i for i, o in enumerate(orgs)}
    weights = np.zeros((len(orgs), len(codes)))
    for code, catchment, own in zip(trusts["org_code"], trusts["catchment_code"],
                                    trusts["icb_code"], strict=True):
        i = row[code]
        for icb, share in zip(*shares.get(str(catchment), ((), ())), strict=True):
            weights[i, col[icb]] += share
        if weights[i].sum() <= 0 and own in col:
            weights[i, col[own]] = 1.0  # no catchment figure: the trust's own ICB
        if (total := weights[i].sum()) > 0:
            weights[i] /= total
    return _Specialty(icbs, weights, codes), row


def _unit(area: str, spec: str, current: int, completing: np.ndarray, trusts: pd.DataFrame,
          setting: TrustSetting, state: tuple[_Specialty, dict[str, int]],
          own: list[tuple[str, int, int]] | None = None, start: int = 0) -> _Unit:
    posts = scale_posts(trusts["posts"].to_numpy(np.int64), current)
    length = int(setting.lengths[spec])
    split = (split_completions(posts, completing) if own is None
             else _own_completions(own, trusts, start, len(completing)))
    base = base_vacancies(split, np.full(len(posts), length, dtype=np.int64))
    return _Unit(area=area, specialty=spec, org=trusts["org_code"].to_numpy(object),
                 name=trusts["org_name"].to_numpy(object), icb=trusts["icb_code"].to_numpy(object),
                 index=np.array([state[1][o] for o in trusts["org_code"]], dtype=np.int64),
                 own_catchment=(trusts["catchment_code"] == "").to_numpy(),
                 posts=posts, minimum=trusts["min_posts"].to_numpy(np.int64), base=base,
                 moves=np.zeros_like(base), length=length, counted=True)


def _by_unit(completions: pd.DataFrame) -> dict[tuple[str, str], list[tuple[str, int, int]]]:
    """(area, specialty) -> [(org_code, year, completing)]: the records' completions by unit."""
    out: dict[tuple[str, str], list[tuple[str, int, int]]] = {}
    cols = [completions[c].to_numpy(object).tolist() for c in
            ("area", "specialty", "org_code", "year", "completing")]
    for area, spec, org, year, count in zip(*cols, strict=True):
        out.setdefault((str(area), str(spec)), []).append((str(org), int(year), int(count)))
    return out


def _own_completions(part: list[tuple[str, int, int]], trusts: pd.DataFrame, start: int,
                     n_years: int) -> np.ndarray:
    """Trusts × years of the trusts' own completions (records), in the unit's trust order."""
    row = {o: i for i, o in enumerate(trusts["org_code"].tolist())}
    out = np.zeros((len(trusts), n_years), dtype=np.int64)
    for org, year, count in part:
        if org in row and 0 <= year - start < n_years:
            out[row[org], year - start] += count
    return out


def _give(unit: _Unit, spec: _Specialty, t: int, n: int, year: int,
          setting: TrustSetting) -> list[dict[str, object]]:
    """Release n posts: furthest above fair share first, from vacancies, keeping the minimum."""
    before = unit.posts.copy()
    vacant = unit.vacancies(t)
    limit = np.minimum(vacant, np.maximum(unit.posts - unit.minimum, 0))
    steer = setting.steer.get((unit.area, unit.specialty, year))
    if steer is not None:
        limit = _steered(unit, limit, steer.exclude, steer.withheld, vacant)
    scores = spec.scores(unit.index)
    given = np.zeros(len(before), dtype=np.int64)
    if steer is not None:
        _first(unit, steer, limit, given, n, lambda i: spec.move(str(unit.icb[i]), -1))
    while given.sum() < n:
        open_ = np.flatnonzero(given < limit)
        if not len(open_):
            break
        now = spec.scores(unit.index[open_])
        pick = open_[np.lexsort((unit.org[open_], -(limit - given)[open_], -now))[0]]
        given[pick] += 1
        spec.move(str(unit.icb[pick]), -1)
    _record(unit, t, -given)
    able = int((limit > 0).sum())
    rows = [_row(unit, i, year, -int(given[i]), before, vacant, np.zeros_like(vacant), scores,
                 setting, f"gives {given[i]}: its patients' ICBs stand {scores[i]:+.0%} from "
                 f"their fair share; each post leaves the trust whose catchment then stands "
                 f"furthest above, among the {able} of {len(before)} trusts in {unit.area} able "
                 f"to give (a post falling vacant this round, no trainee moves, above the "
                 f"minimum unit); keeps {before[i] - given[i]} (minimum {unit.minimum[i]})"
                 f"{_own(unit, i)}")
            for i in map(int, np.flatnonzero(given))]
    left = n - int(given.sum())
    if left:
        rows.append(_unplaced(unit, year, -left, setting, _why_not_given(unit, vacant)))
    return rows


def _receive(unit: _Unit, spec: _Specialty, t: int, n: int, year: int,
             setting: TrustSetting) -> list[dict[str, object]]:
    """Take n posts: furthest below fair share first, trusts training the specialty today,
    within each trust's supervision capacity."""
    before = unit.posts.copy()
    capacity = np.where(before > 0, np.maximum(ceil_share(before, setting.headroom), 1), 0)
    steer = setting.steer.get((unit.area, unit.specialty, year))
    room = capacity
    if steer is not None:
        room = _steered(unit, capacity, steer.exclude, steer.fewer, capacity)
    scores = spec.scores(unit.index)
    got = np.zeros(len(before), dtype=np.int64)
    if steer is not None:
        _first(unit, steer, room, got, n, lambda i: spec.move(str(unit.icb[i]), 1))
    while got.sum() < n:
        open_ = np.flatnonzero(got < room)
        if not len(open_):
            break
        now = spec.scores(unit.index[open_])
        pick = open_[np.lexsort((unit.org[open_], -before[open_], now))[0]]
        got[pick] += 1
        spec.move(str(unit.icb[pick]), 1)
    _record(unit, t, got)
    vacant = unit.vacancies(t)
    able = int((capacity > 0).sum())
    rows = [_row(unit, i, year, int(got[i]), before, vacant, capacity, scores, setting,
                 f"receives {got[i]}: its patients' ICBs stand {scores[i]:+.0%} from their fair "
                 f"share; each post goes to the trust whose catchment then stands furthest "
                 f"below, among the {able} of {len(before)} trusts in {unit.area} training the "
                 f"specialty; within its supervision capacity of {capacity[i]} a round"
                 f"{_own(unit, i)}")
            for i in map(int, np.flatnonzero(got))]
    left = n - int(got.sum())
    if left:
        why = (_no_figure(unit) if not unit.counted else
               f"no trust in {unit.area} trains {unit.specialty} in the public data"
               if not (before > 0).any() else
               f"the trusts' supervision capacity this round ({int(capacity.sum())}) is used up")
        rows.append(_unplaced(unit, year, left, setting, why + ": the local office chooses "
                              "the host"))
    return rows


def _expand(unit: _Unit, spec: _Specialty, t: int, n: int, year: int,
            setting: TrustSetting) -> list[dict[str, object]]:
    """Place n time-limited expansion posts: the trusts furthest below fair share first, within
    the supervision capacity the round's redistribution left. They are not part of the
    establishment the plan moves, so trust posts and vacancies stay as they are."""
    held = unit.posts - unit.moves[:, t]  # posts at the start of the round
    capacity = np.where(held > 0, np.maximum(ceil_share(held, setting.headroom), 1), 0)
    left = np.maximum(capacity - np.maximum(unit.moves[:, t], 0), 0)
    if (steer := setting.steer.get((unit.area, unit.specialty, year))) is not None:
        left = _steered(unit, left, steer.exclude, {}, left)
    scores = spec.scores(unit.index)
    got = np.zeros(len(held), dtype=np.int64)
    for _ in range(n):
        open_ = np.flatnonzero(got < left)
        if not len(open_):
            break
        pick = open_[np.lexsort((unit.org[open_], -held[open_], scores[open_]))[0]]
        got[pick] += 1
    rows = []
    for i in map(int, np.flatnonzero(got)):
        row = _row(unit, i, year, int(got[i]), held, np.zeros_like(held), left, scores, setting,
                   f"time-limited expansion: receives {got[i]}: its patients' ICBs stand "
                   f"{scores[i]:+.0%} from their fair share, the furthest below among trusts "
                   f"in {unit.area} with supervision capacity left this round ({left[i]})"
                   f"{_own(unit, i)}")
        row.update(kind="expansion", posts_before=pd.NA, posts_after=pd.NA, vacancies=pd.NA)
        rows.append(row)
    if rest := n - int(got.sum()):
        why = (_no_figure(unit) if not unit.counted else
               f"no trust in {unit.area} with supervision capacity left this round")
        rows.append(_unplaced(unit, year, rest, setting, why + ": the local office chooses "
                              "the host", kind="expansion"))
    return rows


def _steered(unit: _Unit, limit: np.ndarray, exclude: Mapping[str, int],
             fewer: Mapping[str, int], pool: np.ndarray) -> np.ndarray:
    """A round's limits after review: a rejected trust takes no part; a trust with rejected
    posts has that many fewer to give (of its vacancies) or to receive (of its capacity)."""
    out = limit.copy()
    for i, org in enumerate(unit.org):
        if org in exclude:
            out[i] = 0
        elif org in fewer:
            out[i] = min(out[i], max(int(pool[i]) - fewer[org], 0))
    return out


def _first(unit: _Unit, steer: RoundSteer, limit: np.ndarray, taken: np.ndarray, n: int,
           move: Callable[[int], None]) -> None:
    """The trusts review decisions put first take their posts, within their limits and the
    round's n; the rule then places the rest (none at an accepted trust: ``limit`` is
    lowered to what it took)."""
    where = {str(o): i for i, o in enumerate(unit.org)}
    for org, want, _ in steer.first:
        i = where.get(org)
        if i is None:
            continue
        while want > 0 and taken[i] < limit[i] and taken.sum() < n:
            taken[i] += 1
            want -= 1
            move(i)
        if org in steer.fixed:
            limit[i] = taken[i]  # an accepted recommendation is fixed: the rule adds none


def _record(unit: _Unit, t: int, change: np.ndarray) -> None:
    unit.moves[:, t] += change
    unit.posts += change


def _own(unit: _Unit, i: int) -> str:
    return " (no catchment figure for this trust: its own ICB stands in)" \
        if unit.own_catchment[i] else ""


def _no_figure(unit: _Unit) -> str:
    return (f"no trust-level figure for {unit.specialty} in the public data (a modelled "
            "specialty)")


def _why_not_given(unit: _Unit, vacant: np.ndarray) -> str:
    if not unit.counted:
        return _no_figure(unit) + ": the local office chooses which posts"
    if not len(unit.org):
        return (f"no trust in {unit.area} trains {unit.specialty} in the public data: the "
                "local office chooses which posts")
    held = int(((vacant > 0) & (unit.posts <= unit.minimum)).sum())
    return (f"no trust has another post falling vacant this round above its minimum unit "
            f"({int(vacant.sum())} fall vacant; {held} trust(s) with a vacancy are at their "
            "minimum): the local office decides, or lowers a minimum")


def _row(unit: _Unit, i: int, year: int, change: int, before: np.ndarray, vacant: np.ndarray,
         capacity: np.ndarray, scores: np.ndarray, setting: TrustSetting,
         reason: str) -> dict[str, object]:
    return {"area": unit.area, "specialty": unit.specialty, "year": year,
            "org_code": unit.org[i], "org_name": unit.name[i], "icb_code": unit.icb[i],
            "change": change, "kind": "redistribution", "posts_before": int(before[i]),
            "posts_after": int(before[i]) + change, "vacancies": int(vacant[i]),
            "capacity": int(capacity[i]), "min_unit": int(unit.minimum[i]),
            "catchment_distance": float(scores[i]), "reason": reason,
            "basis": setting.basis.get(unit.specialty, "")}


def _unplaced(unit: _Unit, year: int, change: int, setting: TrustSetting,
              why: str, kind: str = "redistribution") -> dict[str, object]:
    return {"area": unit.area, "specialty": unit.specialty, "year": year, "org_code": "",
            "org_name": NOT_PLACED, "icb_code": "", "change": change, "kind": kind,
            "posts_before": pd.NA,
            "posts_after": pd.NA, "vacancies": pd.NA, "capacity": pd.NA, "min_unit": pd.NA,
            "catchment_distance": float("nan"),
            "reason": f"{abs(change)} post(s) not placed at a trust: {why}",
            "basis": setting.basis.get(unit.specialty, "")}
