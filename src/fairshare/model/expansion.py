"""Time-limited expansion posts (METHOD §4): new national posts by priority, placed by need.

Expansion is separate from redistribution: it adds posts for a while rather than moving them.
Each year's national number for a priority (cancer and diagnostics, elective recovery, maternity,
mental health, ...) is

1. split across the priority's specialties by their total positive remaining gap (whole posts by
   ``model.apportionment.apportion``, Hamilton / largest remainder in exact arithmetic; ties
   to the larger weight, then the specialty first by name), never giving a specialty more than
   its areas can still take that year (bounded quotas), so what one specialty cannot take goes
   to the priority's others;
2. optionally, each area of the specialty still below target first gets ``minimum_per_area``
   posts (furthest below target first, while posts and capacity last);
3. then one post at a time to the area furthest below target *relative to its target*, so a small
   area short by 3 comes before a large one short by 4 of many (ties: larger gap, then name).
   By default only areas still below target receive posts (``below_target_only``): expansion is
   meant for under-served areas, and an area giving posts away should not also be given new
   ones. With ``below_target_only=False`` the same rule keeps placing posts after every area
   is at target, roughly in proportion to target, for when the national numbers must be used.

"Remaining gap" is the plan's gap after redistribution less the expansion posts already in post
that year: a trainee in a time-limited post keeps it for the whole programme, so a post created in
year y counts in years y .. y + programme_years − 1 and the next year's posts go elsewhere first.
Receiving capacity is shared with redistribution: what an area can take in a year is its capacity
less the posts it receives by redistribution that year. Posts that no area of the priority can
take (no capacity left, or no area below target) are not forced anywhere; they are returned in
``attrs["unplaced"]`` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from fairshare.apportionment import apportion
from fairshare.errors import FairshareError

__all__ = ["allocate_expansion"]

UNLIMITED = -1


def _check_priorities(national: pd.DataFrame, priorities: pd.DataFrame) -> None:
    """Every funded priority must be a known one: an unknown name (a typo) would otherwise
    leave all its posts unplaced with a reason that hides the typo."""
    known = sorted(set(priorities["priority"]))
    unknown = sorted(set(national["priority"]) - set(known))
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        raise FairshareError(f"scenario 'expansion': unknown priority {names}; the priorities "
                             f"are: {', '.join(known)}")


def _split(weights: Sequence[int], seats: int,
           maximum: Sequence[int | None]) -> tuple[list[int], int]:
    """Share seats by weight with the project's exact Hamilton apportionment, within maxima.

    Returns the seats per unit and the seats no unit can take (when the maxima add up to fewer
    than the seats). Zero total weight shares equally.
    """
    if seats <= 0 or not weights:
        return [0] * len(weights), max(seats, 0)
    caps = [seats if m is None else int(m) for m in maximum]
    placeable = min(seats, sum(caps))
    if placeable == 0:
        return [0] * len(weights), seats
    usable = [int(w) for w in weights]
    if sum(w for w, c in zip(usable, caps, strict=True) if c > 0) == 0:
        usable = [1] * len(weights)
    return apportion(usable, placeable, "hamilton", maximum=caps), seats - placeable


@dataclass
class _Cell:
    """One area × specialty in one year, as the greedy sees it."""

    area: str
    gap: int  # remaining gap less expansion already in post
    target: int
    room: int  # capacity left this year, UNLIMITED if none given

    def key(self) -> tuple[Fraction, int, str]:
        """Sort key: furthest below target relative to target, then larger gap, then name."""
        return (-Fraction(self.gap, max(self.target, 1)), -self.gap, self.area)

    def can_take(self) -> bool:
        return self.room == UNLIMITED or self.room > 0

    def take(self, n: int = 1) -> None:
        self.gap -= n
        if self.room != UNLIMITED:
            self.room -= n


def allocate_expansion(gaps: pd.DataFrame, national: pd.DataFrame, priorities: pd.DataFrame,
                       specialties: pd.DataFrame, capacity: pd.DataFrame | None = None, *,
                       minimum_per_area: int = 0,
                       below_target_only: bool = True) -> pd.DataFrame:
    """Place each year's national expansion posts by priority, specialty and area.

    gaps: area, specialty, year, remaining_gap (after redistribution; positive = below target),
        posts; optionally capacity and capacity_used (the plan table has both).
    national: year, priority, posts (new time-limited posts nationally that year).
    priorities: priority, specialty (a priority's specialties).
    specialties: specialty, programme_years.
    capacity: area, specialty, year, capacity; overrides ``gaps["capacity"]``. Where neither
        gives a capacity an area's intake is unlimited.
    minimum_per_area: posts each area below target gets first (while posts and capacity last).
    below_target_only: place posts only while an area is below target (default), else keep
        placing by the same rule after targets are met.

    Returns area, specialty, year, expansion (new posts starting that year), expansion_in_post
    (posts held that year, counting each for programme_years years) for every row of ``gaps``;
    ``attrs["unplaced"]`` holds year, priority, specialty, posts, reason for posts that could not
    be placed within capacity.
    """
    _require(gaps, ["area", "specialty", "year", "remaining_gap", "posts"], "gaps")
    _require(national, ["year", "priority", "posts"], "national")
    _require(priorities, ["priority", "specialty"], "priorities")
    _require(specialties, ["specialty", "programme_years"], "specialties")
    if minimum_per_area < 0:
        raise ValueError("minimum_per_area must be >= 0")
    _check_priorities(national, priorities)
    table = gaps.sort_values(["area", "specialty", "year"], kind="stable").reset_index(drop=True)
    years = sorted(int(y) for y in table["year"].unique())
    length = specialties.drop_duplicates("specialty").set_index("specialty")["programme_years"]
    missing = sorted(set(table["specialty"]) - set(length.index))
    if missing:
        raise ValueError(f"specialties table has no programme_years for {missing}")

    gap = {(a, s, int(y)): int(g) for a, s, y, g in
           zip(table["area"], table["specialty"], table["year"], table["remaining_gap"],
               strict=True)}
    target = {(a, s, int(y)): int(p) + int(g) for a, s, y, p, g in
              zip(table["area"], table["specialty"], table["year"], table["posts"],
                  table["remaining_gap"], strict=True)}
    room = _capacity_left(table, capacity)
    areas_of: dict[str, list[str]] = {}
    for a, s in table[["area", "specialty"]].drop_duplicates().itertuples(index=False):
        areas_of.setdefault(s, []).append(a)
    created: dict[tuple[str, str, int], int] = {}

    def in_post(area: str, spec: str, year: int) -> int:
        span = int(length[spec])
        return sum(created.get((area, spec, y), 0) for y in range(year - span + 1, year + 1))

    unplaced: list[dict[str, object]] = []
    spec_of = priorities.groupby("priority")["specialty"].apply(lambda s: sorted(set(s)))
    rows = national.sort_values(["year", "priority"], kind="stable")
    for year, priority, posts in zip(rows["year"], rows["priority"], rows["posts"],
                                     strict=True):
        year, posts = int(year), int(posts)
        if posts <= 0:
            continue
        specs = [s for s in spec_of.get(priority, []) if s in areas_of]
        if year not in years or not specs:
            reason = ("year not in the plan" if year not in years
                      else "no specialty of this priority in the plan")
            unplaced.append({"year": year, "priority": priority, "specialty": None,
                             "posts": posts, "reason": reason})
            continue
        cells = {s: [_Cell(a, gap[(a, s, year)] - in_post(a, s, year), target[(a, s, year)],
                           room[(a, s, year)]) for a in areas_of[s]] for s in specs}
        weights = [sum(max(c.gap, 0) for c in cells[s]) for s in specs]
        if sum(weights) == 0:
            weights = [sum(max(c.target, 0) for c in cells[s]) for s in specs]
        maxima = [_most(cells[s], below_target_only) for s in specs]
        shares, left = _split(weights, posts, maxima)
        if left:
            reason = ("no area below target with capacity left" if below_target_only
                      else "no capacity left")
            unplaced.append({"year": year, "priority": priority, "specialty": None,
                             "posts": left, "reason": f"{reason} in the priority's specialties"})
        for spec, share in zip(specs, shares, strict=True):
            placed = _place(cells[spec], share, minimum_per_area, below_target_only)
            for cell in cells[spec]:
                room[(cell.area, spec, year)] = cell.room
            for area, n in placed.items():
                created[(area, spec, year)] = created.get((area, spec, year), 0) + n

    expansion = np.array([created.get((a, s, int(y)), 0) for a, s, y in
                          zip(table["area"], table["specialty"], table["year"], strict=True)],
                         dtype=np.int64)
    carried = np.array([in_post(a, s, int(y)) for a, s, y in
                        zip(table["area"], table["specialty"], table["year"], strict=True)],
                       dtype=np.int64)
    out = pd.DataFrame({"area": table["area"].to_numpy(object),
                        "specialty": table["specialty"].to_numpy(object),
                        "year": table["year"].to_numpy(np.int64),
                        "expansion": expansion, "expansion_in_post": carried})
    out.attrs["unplaced"] = pd.DataFrame(
        unplaced, columns=["year", "priority", "specialty", "posts", "reason"])
    return out


def _most(cells: list[_Cell], below_target_only: bool) -> int | None:
    """Most posts a specialty's areas can take this year (None: no limit)."""
    total = 0
    for c in cells:
        limit = max(c.gap, 0) if below_target_only else None
        if c.room != UNLIMITED:
            limit = c.room if limit is None else min(limit, c.room)
        if limit is None:
            return None
        total += limit
    return total


def _place(cells: list[_Cell], posts: int, minimum_per_area: int,
           below_target_only: bool) -> dict[str, int]:
    """Place a specialty's posts for one year: minimum first, then furthest below target."""
    placed: dict[str, int] = {}

    def give(cell: _Cell, n: int) -> None:
        nonlocal posts
        cell.take(n)
        posts -= n
        placed[cell.area] = placed.get(cell.area, 0) + n

    if minimum_per_area:
        for cell in sorted((c for c in cells if c.gap > 0), key=_Cell.key):
            n = min(minimum_per_area, posts,
                    minimum_per_area if cell.room == UNLIMITED else cell.room)
            if n > 0:
                give(cell, n)
    while posts > 0:
        open_cells = [c for c in cells if c.can_take() and (c.gap > 0 or not below_target_only)]
        if not open_cells:
            break
        give(min(open_cells, key=_Cell.key), 1)
    if posts:
        raise AssertionError("a specialty's share exceeded its capacity")  # by construction
    return placed


def _capacity_left(table: pd.DataFrame, capacity: pd.DataFrame | None,
                   ) -> dict[tuple[str, str, int], int]:
    """Capacity less redistribution intake, per area, specialty and year (UNLIMITED if none)."""
    keys = list(zip(table["area"], table["specialty"], table["year"].astype(int), strict=True))
    total: dict[tuple[str, str, int], int] = dict.fromkeys(keys, UNLIMITED)
    if "capacity" in table.columns:
        for key, c in zip(keys, table["capacity"], strict=True):
            if not pd.isna(c):
                total[key] = int(c)
    if capacity is not None:
        _require(capacity, ["area", "specialty", "year", "capacity"], "capacity")
        for a, s, y, c in zip(capacity["area"], capacity["specialty"], capacity["year"],
                              capacity["capacity"], strict=True):
            key = (a, s, int(y))
            if key in total and not pd.isna(c):
                total[key] = int(c)
    used = (table["capacity_used"] if "capacity_used" in table.columns
            else pd.Series(0, index=table.index))
    left = {}
    for key, u in zip(keys, used, strict=True):
        left[key] = UNLIMITED if total[key] == UNLIMITED else max(0, total[key] - int(u))
    return left


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} table lacks column(s) {missing}")
