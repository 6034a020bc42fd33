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

Two modes (``mode``):

* ``under_served`` (default): the rule above. With ``grow_targets`` (what the pipeline uses)
  each area's target grows with the expansion: expansion raises the specialty's national total,
  so an area's yardstick is its share of the enlarged total (target + its share × posts in
  post nationally), not of today's. Areas giving the specialty away already hold more than
  their share, so the shares are taken over the other areas, and a giving area (target below
  its posts at the start of the plan) never receives expansion posts in this mode. Without the
  growth, once redistribution has closed the gaps no area is "below target" and most national
  posts cannot be placed (most of the illustrative 1,000 posts were left unplaced; what remains
  unplaced now is for want of supervision capacity in the areas below target).
  The priority's posts are split across its specialties by size (total target); what one
  cannot take goes to the others, largest first.
* ``offset_losses``: programme practice (London 2023, Cardiology −6 by redistribution, +2 by
  expansion): expansion posts go to the areas giving posts away that year, in proportion to
  what each gives, never more than ``offset_share`` of it (whole posts, rounded down), so a
  giving area's loss is cushioned while it adjusts but still happens. No capacity check: the
  posts are ones the area was training in. Posts beyond that are not placed and are reported.
* ``cushion_then_need``: the programme's practice in full (2023: London's loss offset first,
  the rest placed where need was greatest). Each year's posts of a priority first cushion the
  giving areas exactly as ``offset_losses`` does (each area at most ``offset_share`` of what it
  gives that year, rounded down; shared by loss when the posts are fewer than the cushions);
  whatever is left then goes by the ``under_served`` rule, furthest below target first, within
  capacity, never to an area giving the specialty away. Posts are conserved: cushions + posts
  placed by need + posts reported unplaced = the national number.

``compare_modes`` runs both so the tables can show them side by side.

Allocation rule (``fill``, issue 16; docs/fill.md): by default the next post goes to the area
furthest below target. Given ``fill`` (area, specialty -> modelled fill rate), the under-served
rule orders areas by need priority × fill rate instead: a post's expected filled share times
how far the area is below target, so between two equally short areas the one likely to fill the
post comes first, and a far-short area with a low fill rate can still come first.

Scarce areas first (``scarce``, issue 16; docs/scarcity.md): given the (area, specialty) pairs
designated *scarce* (fewest consultants per need-weighted population, lowest tercile), the
under-served rule (also the minimum per area, and the part of ``cushion_then_need`` placed by
need) serves an area scarce in the specialty before any other, and in need order among each
group. Nothing else changes: the split across a priority's specialties, capacity, the stop at
target (``below_target_only``) and the rule never to give to an area giving the specialty away
all hold, so a scarce area at target or out of capacity takes no more and the next post goes
to the other areas by need. Without designations (no consultants counted) the order is need's.

"Remaining gap" is the plan's gap after redistribution less the expansion posts already in post
that year: a trainee in a time-limited post keeps it for the whole programme, so a post created in
year y counts in years y .. y + programme_years − 1 and the next year's posts go elsewhere first.
Receiving capacity is shared with redistribution: what an area can take in a year is its capacity
less the posts it receives by redistribution that year. Posts that no area of the priority can
take (no capacity left, or no area below target) are not forced anywhere; they are returned in
``attrs["unplaced"]`` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from fairshare.apportionment import apportion
from fairshare.errors import FairshareError

__all__ = ["MODE_COLUMNS", "allocate_expansion", "compare_modes"]

UNLIMITED = -1
#: Columns ``compare_modes`` adds: new posts per year under each mode.
MODE_COLUMNS = {"under_served": "expansion_under_served", "offset_losses": "expansion_offset",
                "cushion_then_need": "expansion_cushioned"}
#: Modes that cushion giving areas' losses (they need the plan's ``redistribution`` column).
CUSHIONING = frozenset({"offset_losses", "cushion_then_need"})


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
    gap: Fraction  # remaining gap less expansion already in post
    target: Fraction
    room: int  # capacity left this year, UNLIMITED if none given
    share: Fraction = Fraction(0)  # its share of the national target: growth per national post
    giver: bool = False  # gives posts away in this specialty: never receives (under-served)
    fill: Fraction = Fraction(1)  # expected filled share of a post (allocation by fill)
    scarce: bool = False  # designated scarce in the specialty: served first (scarce first)

    def key(self, grown: Fraction = Fraction(0)) -> tuple[bool, Fraction, Fraction, str]:
        """Sort key: scarce areas first (when designated), then furthest below target relative
        to target, then larger gap, then name.

        ``grown``: national expansion posts in post, by which targets have grown.
        """
        gap, target = self.gap_at(grown), self.target + self.share * grown
        return (not self.scarce, -self.fill * gap / max(target, Fraction(1)), -gap, self.area)

    def gap_at(self, grown: Fraction = Fraction(0)) -> Fraction:
        return self.gap + self.share * grown

    def can_take(self) -> bool:
        return not self.giver and (self.room == UNLIMITED or self.room > 0)

    def take(self, n: int = 1) -> None:
        self.gap -= n
        if self.room != UNLIMITED:
            self.room -= n


def allocate_expansion(gaps: pd.DataFrame, national: pd.DataFrame, priorities: pd.DataFrame,
                       specialties: pd.DataFrame, capacity: pd.DataFrame | None = None, *,
                       minimum_per_area: int = 0,
                       below_target_only: bool = True, mode: str = "under_served",
                       grow_targets: bool = False,
                       offset_share: float = 1.0,
                       fill: dict[tuple[str, str], float] | None = None,
                       scarce: set[tuple[str, str]] | None = None) -> pd.DataFrame:
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
    mode: ``under_served``, ``offset_losses`` or ``cushion_then_need`` (module docstring); the
        last two need a ``redistribution`` column in ``gaps``.
    grow_targets: targets grow with the expansion in post (under-served placing).
    offset_share: cushioning modes: most of an area's loss in a year that may be offset.
    fill: (area, specialty) -> fill rate: the under-served order (also the part of
        ``cushion_then_need`` placed by need) weighs need by it (module docstring); None is
        the programme's rule.
    scarce: (area, specialty) pairs designated scarce: the under-served order serves them
        first (module docstring); None or empty is the programme's rule.

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
    if mode not in MODE_COLUMNS:
        raise ValueError(f"expansion mode must be one of {sorted(MODE_COLUMNS)}, not {mode!r}")
    if mode in CUSHIONING:
        _require(gaps, ["redistribution"], "gaps")
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
    givers = _givers(table)
    most = Fraction(offset_share).limit_denominator(1000)
    loss = ({(a, s, int(y)): int(max(-int(r), 0) * most) for a, s, y, r in
             zip(table["area"], table["specialty"], table["year"], table["redistribution"],
                 strict=True)} if mode in CUSHIONING else {})
    areas_of: dict[str, list[str]] = {}
    for a, s in table[["area", "specialty"]].drop_duplicates().itertuples(index=False):
        areas_of.setdefault(s, []).append(a)
    created: dict[tuple[str, str, int], int] = {}
    cushioned: dict[int, int] = {}  # posts spent cushioning giving areas, per year

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
        left, reason = posts, ""
        if mode in CUSHIONING:
            cushions, left = _offset(specs, areas_of, loss, year, posts)
            _record(created, cushions, year)
            cushioned[year] = cushioned.get(year, 0) + posts - left
            reason = ("more than the offsettable share of this year's losses in giving areas"
                      f" ({float(most):.0%})")
        if mode != "offset_losses" and left:
            by_need, left, blocked = _under_served(
                specs, areas_of, gap, target, room, year, left, in_post, givers,
                minimum_per_area, below_target_only, grow_targets, _fractions(fill),
                scarce or set())
            _record(created, by_need, year)
            reason = ("areas below target have no supervision capacity left" if blocked
                      else "no area below target (outside giving areas)" if below_target_only
                      else "no capacity left outside giving areas")
        if left:
            unplaced.append({"year": year, "priority": priority, "specialty": None,
                             "posts": left, "reason": f"{reason} in the priority's specialties"})

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
    out.attrs["cushioned"] = dict(sorted(cushioned.items()))
    return out


Key = tuple[str, str, int]


def _record(created: dict[Key, int], placed: dict[tuple[str, str], int], year: int) -> None:
    """Add one priority's posts of a year to the posts created so far."""
    for (area, spec), n in placed.items():
        created[(area, spec, year)] = created.get((area, spec, year), 0) + n


def _givers(table: pd.DataFrame) -> set[tuple[str, str]]:
    """(area, specialty) pairs whose target is below their posts before the plan's first year.

    Posts before the first year are that year's posts less its redistribution when the table
    has it (a plan table), else the first year's posts.
    """
    first = table[table.groupby(["area", "specialty"])["year"].transform("min") == table["year"]]
    gap = first["remaining_gap"]
    if "redistribution" in first.columns:
        gap = gap + first["redistribution"]
    return {(a, s) for a, s, g in zip(first["area"], first["specialty"], gap, strict=True)
            if g < 0}


def compare_modes(gaps: pd.DataFrame, national: pd.DataFrame, priorities: pd.DataFrame,
                  specialties: pd.DataFrame, *, mode: str = "under_served",
                  minimum_per_area: int = 0, below_target_only: bool = True,
                  offset_share: float = 1.0,
                  fill: dict[tuple[str, str], float] | None = None,
                  scarce: set[tuple[str, str]] | None = None) -> pd.DataFrame:
    """Every mode side by side: ``mode``'s expansion and expansion_in_post, and each mode's new
    posts (``MODE_COLUMNS``); ``attrs["unplaced"]`` lists ``mode``'s unplaced posts and why,
    ``attrs["unplaced_by_mode"]`` every mode's; ``attrs["cushioned"]`` ``mode``'s posts spent
    cushioning giving areas, per year.

    Targets grow with the expansion when posts are placed by need (module docstring).
    """
    runs = {m: allocate_expansion(gaps, national, priorities, specialties, None,
                                  minimum_per_area=minimum_per_area,
                                  below_target_only=below_target_only, mode=m,
                                  grow_targets=True, offset_share=offset_share, fill=fill,
                                  scarce=scarce)
            for m in MODE_COLUMNS}
    out = runs[mode].copy()
    for m, column in MODE_COLUMNS.items():
        out[column] = runs[m]["expansion"].to_numpy()
    unplaced = [runs[m].attrs["unplaced"].assign(mode=m) for m in MODE_COLUMNS]
    out.attrs["unplaced"] = runs[mode].attrs["unplaced"].assign(mode=mode)
    out.attrs["cushioned"] = runs[mode].attrs["cushioned"]
    out.attrs["unplaced_by_mode"] = pd.concat(
        [u for u in unplaced if not u.empty] or [unplaced[0]], ignore_index=True)
    return out


def _under_served(specs: list[str], areas_of: dict[str, list[str]], gap: dict[Key, int],
                  target: dict[Key, int], room: dict[Key, int], year: int, posts: int,
                  in_post: Callable[[str, str, int], int], givers: set[tuple[str, str]],
                  minimum_per_area: int, below_target_only: bool,
                  grow: bool, fill: dict[tuple[str, str], Fraction] | None = None,
                  scarce: set[tuple[str, str]] | None = None,
                  ) -> tuple[dict[tuple[str, str], int], int, bool]:
    """One priority's posts for one year to the most under-served areas (room updated).

    Returns the posts per area and specialty, the posts left, and whether an area still below
    target was left without them for want of capacity.
    """
    cells = {}
    for s in specs:
        # givers already hold more than their share: the growth is shared by the others
        total = sum(target[(a, s, year)] for a in areas_of[s] if (a, s) not in givers)
        cells[s] = [_Cell(a, Fraction(gap[(a, s, year)] - in_post(a, s, year)),
                          Fraction(target[(a, s, year)]), room[(a, s, year)],
                          Fraction(target[(a, s, year)], total)
                          if grow and total and (a, s) not in givers else Fraction(0),
                          (a, s) in givers, (fill or {}).get((a, s), Fraction(1)),
                          (a, s) in (scarce or set()))
                    for a in areas_of[s]]
    def positive(values: list[Fraction]) -> int:
        return int(sum(v for v in values if v > 0))

    if grow:
        weights = [positive([c.target for c in cells[s]]) for s in specs]
    else:
        weights = [positive([c.gap for c in cells[s]]) for s in specs]
        if sum(weights) == 0:
            weights = [positive([c.target for c in cells[s]]) for s in specs]
    maxima = [_most(cells[s], below_target_only and not grow) for s in specs]
    shares, left = _split(weights, posts, maxima)
    placed: dict[tuple[str, str], int] = {}
    grown = {s: sum(in_post(c.area, s, year) for c in cells[s]) if grow else 0 for s in specs}

    def take(spec: str, n: int, minimum: int) -> int:
        """Place n posts of a specialty; return those no area of it could take."""
        got, rest = _place(cells[spec], n, minimum, below_target_only, Fraction(grown[spec]))
        for area, k in got.items():
            placed[(area, spec)] = placed.get((area, spec), 0) + k
            grown[spec] += k if grow else 0
        return rest

    # by quota first; what a specialty could not take then goes to the others, largest first
    for spec, share in zip(specs, shares, strict=True):
        left += take(spec, share, minimum_per_area)
    for spec, _ in sorted(zip(specs, weights, strict=True), key=lambda sw: -sw[1]):
        if left:
            left = take(spec, left, 0)
    for spec in specs:
        for cell in cells[spec]:
            room[(cell.area, spec, year)] = cell.room
    after = {s: Fraction(grown[s] + 1) for s in specs}  # targets the next post would meet
    blocked = any(not c.giver and c.room == 0 and c.gap_at(after[s]) > 0
                  for s in specs for c in cells[s])
    return placed, left, blocked


def _fractions(fill: dict[tuple[str, str], float] | None,
               ) -> dict[tuple[str, str], Fraction] | None:
    """Fill rates as exact fractions (to 1/10,000), so the order has no float ties."""
    if fill is None:
        return None
    return {k: Fraction(float(v)).limit_denominator(10_000) for k, v in fill.items()}


def _offset(specs: list[str], areas_of: dict[str, list[str]], loss: dict[Key, int],
            year: int, posts: int) -> tuple[dict[tuple[str, str], int], int]:
    """One priority's posts for one year to the areas giving posts away, up to their loss."""
    losses = {s: [loss.get((a, s, year), 0) for a in areas_of[s]] for s in specs}
    totals = [sum(v) for v in losses.values()]
    shares, left = _split(totals, posts, totals)
    placed: dict[tuple[str, str], int] = {}
    for spec, share in zip(specs, shares, strict=True):
        if share:
            got = apportion(losses[spec], share, "hamilton", maximum=losses[spec])
            for area, n in zip(areas_of[spec], got, strict=True):
                if n:
                    placed[(area, spec)] = n
    return placed, left


def _most(cells: list[_Cell], below_target_only: bool) -> int | None:
    """Most posts a specialty's areas can take this year (None: no limit)."""
    total = 0
    for c in cells:
        if c.giver:
            continue
        limit = max(int(c.gap), 0) if below_target_only else None
        if c.room != UNLIMITED:
            limit = c.room if limit is None else min(limit, c.room)
        if limit is None:
            return None
        total += limit
    return total


def _place(cells: list[_Cell], posts: int, minimum_per_area: int, below_target_only: bool,
           grown: Fraction = Fraction(0)) -> tuple[dict[str, int], int]:
    """Place a specialty's posts for one year: minimum first, then furthest below target.

    ``grown``: national posts of the specialty already in post (targets grow by each area's
    share of every post placed when the cells carry a share). Returns the posts per area and
    the posts no area could take.
    """
    placed: dict[str, int] = {}
    done = 0

    def give(cell: _Cell, n: int) -> None:
        nonlocal posts, done
        cell.take(n)
        posts -= n
        done += n
        placed[cell.area] = placed.get(cell.area, 0) + n

    if minimum_per_area:
        for cell in sorted((c for c in cells if c.gap_at(grown) > 0 and c.can_take()),
                           key=lambda c: c.key(grown)):
            n = min(minimum_per_area, posts,
                    minimum_per_area if cell.room == UNLIMITED else cell.room)
            if n > 0:
                give(cell, n)
    while posts > 0:
        now = grown + done + 1
        open_cells = [c for c in cells if c.can_take()
                      and (c.gap_at(now) > 0 or not below_target_only)]
        if not open_cells:
            break
        give(min(open_cells, key=lambda c: c.key(now)), 1)
    return placed, posts


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
