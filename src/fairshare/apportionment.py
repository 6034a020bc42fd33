"""Whole-post apportionment: turn fractional fair shares into whole posts, exactly.

A fair share of 12.4 posts cannot be advertised; somebody has to decide which areas get the
rounded-up post.  Apportionment methods make that decision by a published rule, so that a planner
can say *which* rule was used and anyone can reproduce the result.  This module holds five of them:

* ``hamilton`` (largest remainder, Hare quota): every unit gets the whole part of its exact quota,
  the seats left over go to the largest remainders.  Always within quota, but not house-monotone
  (the Alabama paradox: one more seat in total can cost a unit a seat).
* ``webster`` (Sainte-Laguë), ``huntington-hill`` (equal proportions, the US House method),
  ``dhondt`` (Jefferson) and ``adams``: *divisor methods*.  A unit holding ``n`` seats bids for its
  next seat with priority ``w / d(n)``; seats go one by one to the highest bid.  The divisors are
  ``n + 1/2`` (Webster), ``sqrt(n (n + 1))`` (Huntington-Hill), ``n + 1`` (D'Hondt) and ``n``
  (Adams).  Divisor methods are house-monotone and population-monotone but may leave quota.

Exact arithmetic
    Weights are converted exactly (``Fraction(0.1)`` is the binary number the float holds, not 1/10)
    and scaled to integers with a common denominator, so every decision that matters -- which
    remainder is larger, which priority is higher, whether two are equal -- is an integer
    comparison.  Huntington-Hill priorities ``w / sqrt(n (n + 1))`` are compared squared,
    ``w**2 / (n (n + 1))``, so no square root is ever compared.  For speed the divisor methods first
    find an allocation with numpy floats and then *verify* it exactly: the seat holder with the
    weakest last seat and the unit with the strongest claim to a further seat are found exactly
    (floats only narrow down the candidates, with a safety margin over a thousand times wider
    than float error), and seats are moved until no claim beats a held seat.  The answer is
    therefore exactly the one the textbook one-seat-at-a-time procedure gives.

Tie rule (deterministic, documented)
    When units are exactly tied for the last seat(s) -- equal remainders (Hamilton) or equal
    priorities (divisor methods) -- the unit with the **larger weight** wins; if the weights are
    equal too, the unit that comes **first in the input** (lower index) wins.  The rule is a fixed
    total order on bids, so divisor methods stay house-monotone even through ties.
    :func:`apportion_detail` reports every tie that actually decided a seat, as a tuple of the
    indices of all units tied at the margin, so a planner can see where the rule (rather than
    the data) made the call.  Huntington-Hill's first seat has infinite priority for every unit
    with positive weight; if there are fewer seats than such units they are tied, and the rule
    gives the seats to the largest weights.

Minimum and maximum
    ``minimum`` (one number for all units, or one per unit) and ``maximum`` (one per unit, for
    capacity-limited allocation) bound every unit's seats.  Divisor methods use the standard
    approach: a unit starts at its minimum and bids only for seats above it, and stops bidding at
    its maximum -- equivalently, seats are ``clamp(round(w / D), min, max)`` for a divisor ``D``
    that makes the total come out right.  Hamilton uses *bounded quotas*: ``q = clamp(l * w, min,
    max)`` with ``l`` chosen exactly so that the quotas add up to the seats (units whose plain
    quota falls below their minimum are fixed at the minimum and the others share the rest in
    proportion), then floors plus largest remainders; each unit stays within its bounded quota.
    Adams gives every unit with positive weight at least one seat; units with weight 0 get no
    seats beyond their minimum, unless every unit with positive weight is at its maximum and seats
    are still left -- then those seats go to the zero-weight units in input order (reported as a
    tie), because the total is always preserved.
"""

from __future__ import annotations

import heapq
import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal, get_args

import numpy as np

from fairshare.errors import FairshareError

__all__ = [
    "METHODS",
    "Apportionment",
    "ApportionmentError",
    "Method",
    "apportion",
    "apportion_detail",
    "controlled_round",
    "normalise_method",
]

Method = Literal["hamilton", "webster", "huntington-hill", "dhondt", "adams"]
METHODS: tuple[Method, ...] = get_args(Method)

Weight = int | float | Fraction

_ALIASES: dict[str, Method] = {
    "hamilton": "hamilton",
    "largest-remainder": "hamilton",
    "hare": "hamilton",
    "hare-niemeyer": "hamilton",
    "webster": "webster",
    "sainte-lague": "webster",
    "sainte-laguë": "webster",
    "huntington-hill": "huntington-hill",
    "hill": "huntington-hill",
    "equal-proportions": "huntington-hill",
    "dhondt": "dhondt",
    "d'hondt": "dhondt",
    "jefferson": "dhondt",
    "adams": "adams",
}

# Relative error allowed for a float priority.  The true error is a few units in the last place
# (~4e-16); the margin is kept far wider so that the exact candidates are never missed.
_EPS = 1e-12
# Above this the float pre-pass is not trusted (integer seat counts as float64 lose exactness).
_MAX_SEATS = 2**50
# Smallest weight ratio (to the largest weight) the float pre-pass handles; below it float
# priorities can underflow and the exact reference procedure is used instead.
_MIN_RATIO = 1e-250


class ApportionmentError(FairshareError, ValueError):
    """Bad input to an apportionment (a ``ValueError``, and a ``FairshareError`` for the CLI)."""


@dataclass(frozen=True)
class Apportionment:
    """The whole result of an apportionment, for planners who need to see *why*.

    Attributes:
        seats: whole seats (posts) per unit, in input order; they add up to the total exactly.
        method: the canonical method name used.
        ties: one tuple of unit indices per tie that decided a seat: all units that were exactly
            tied at the margin (for the last seat(s), or for Huntington-Hill's first seats when
            there are fewer seats than units).  Empty when the data alone decided every seat.
        quotas: each unit's exact proportional share ``seats * w / sum(w)``; when ``minimum`` or
            ``maximum`` bind, the bounded share ``clamp(l * w, min, max)`` with ``l`` chosen so
            that the shares add up to the total.  Hamilton always lies between floor and ceiling
            of these; divisor methods usually, not always.  (In the corner where seats must go
            to zero-weight units because every other unit is at its maximum, the quotas are
            the seats themselves.)
    """

    seats: list[int]
    method: Method
    ties: list[tuple[int, ...]]
    quotas: list[Fraction]


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def normalise_method(method: str) -> Method:
    """Canonical method name for ``method`` (case-insensitive; common aliases accepted).

    Accepted aliases: ``largest-remainder``/``hare`` (Hamilton), ``sainte-lague`` (Webster),
    ``jefferson``/``d'hondt`` (D'Hondt), ``hill``/``equal-proportions`` (Huntington-Hill);
    underscores and spaces count as hyphens.
    """
    if not isinstance(method, str):
        raise ApportionmentError(f"method must be a string, got {type(method).__name__}")
    key = method.strip().casefold().replace("_", "-").replace(" ", "-")
    try:
        return _ALIASES[key]
    except KeyError:
        known = ", ".join(sorted(_ALIASES))
        raise ApportionmentError(
            f"unknown apportionment method {method!r}; expected one of: {known}"
        ) from None


def apportion(
    weights: Sequence[Weight],
    seats: int,
    method: str = "hamilton",
    *,
    minimum: int | Sequence[int] = 0,
    maximum: Sequence[int] | None = None,
) -> list[int]:
    """Share ``seats`` whole seats among units in proportion to ``weights``.

    Args:
        weights: one non-negative, finite weight per unit (int, float, Fraction; numpy scalars
            work).  Floats are taken at their exact binary value.
        seats: total whole seats to hand out (>= 0); the result always adds up to it exactly.
        method: ``hamilton`` (default), ``webster``, ``huntington-hill``, ``dhondt`` or ``adams``,
            or an alias (see :func:`normalise_method`).
        minimum: seats every unit gets at least (one int for all, or one per unit).
        maximum: per-unit cap (e.g. training capacity); ``None`` for no caps.

    Returns:
        Seats per unit, in input order.

    Raises:
        ApportionmentError: (a ``ValueError``) on bad input -- negative, NaN or infinite weights,
            negative seats, minimum above the total, caps below the total or below a minimum,
            all weights zero, Adams with fewer seats than units with positive weight, an
            unknown method.

    The tie rule (larger weight, then earlier unit) is described in the module docstring.
    """
    return _run(weights, seats, method, minimum, maximum, want_quotas=False).seats


def apportion_detail(
    weights: Sequence[Weight],
    seats: int,
    method: str = "hamilton",
    *,
    minimum: int | Sequence[int] = 0,
    maximum: Sequence[int] | None = None,
) -> Apportionment:
    """Like :func:`apportion`, but also return the ties that decided seats and the exact quotas.

    Use it when a result must be explained: ``ties`` shows where the documented tie rule, not the
    data, decided a seat; ``quotas`` are the exact fair shares the whole seats round.
    """
    return _run(weights, seats, method, minimum, maximum, want_quotas=True)


# --------------------------------------------------------------------------------------------
# Input checking
# --------------------------------------------------------------------------------------------


def _as_count(value: object, what: str) -> int:
    """A non-negative whole number, accepting numpy integers but not bools or floats."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ApportionmentError(f"{what} must be a whole number, got {value!r}")
    count = int(value)
    if count < 0:
        raise ApportionmentError(f"{what} must be >= 0, got {count}")
    return count


def _ratio(value: object, what: str) -> tuple[int, int]:
    """Exact (numerator, denominator > 0) of a finite number; rejects anything else."""
    if type(value) is int:  # fast paths for the common plain types
        return value, 1
    if type(value) is float and math.isfinite(value):
        return value.as_integer_ratio()
    if isinstance(value, bool):
        raise ApportionmentError(f"{what} must be a number, got {value!r}")
    if isinstance(value, numbers.Integral):
        return int(value), 1
    if isinstance(value, float | numbers.Real) and not isinstance(value, numbers.Rational):
        as_float = float(value)  # numpy float32/float64 convert exactly
        if not math.isfinite(as_float):
            raise ApportionmentError(f"{what} must be finite, got {as_float!r}")
        return as_float.as_integer_ratio()
    if isinstance(value, numbers.Rational):
        return int(value.numerator), int(value.denominator)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ApportionmentError(f"{what} must be finite, got {value!r}")
        return value.as_integer_ratio()
    raise ApportionmentError(f"{what} must be a number, got {value!r}")


def _scaled_weights(weights: Iterable[Weight]) -> list[int]:
    """Weights as integers over a common denominator (ratios preserved exactly)."""
    ratios = [_ratio(w, f"weight {i}") for i, w in enumerate(weights)]
    for i, (num, _) in enumerate(ratios):
        if num < 0:
            raise ApportionmentError(f"weight {i} must be >= 0, got {Fraction(*ratios[i])}")
    dens = {den for _, den in ratios}
    if dens == {1}:
        return [num for num, _ in ratios]
    common = math.lcm(*dens)
    return [num * (common // den) for num, den in ratios]


def _bounds(
    n: int, seats: int, minimum: int | Sequence[int], maximum: Sequence[int] | None
) -> tuple[list[int], list[int] | None]:
    if isinstance(minimum, numbers.Integral) and not isinstance(minimum, bool):
        mins = [_as_count(minimum, "minimum")] * n
    elif isinstance(minimum, Iterable) and not isinstance(minimum, str | bytes):
        mins = [_as_count(m, f"minimum[{i}]") for i, m in enumerate(minimum)]
        if len(mins) != n:
            raise ApportionmentError(f"minimum has {len(mins)} entries but there are {n} units")
    else:
        raise ApportionmentError(f"minimum must be a whole number or one per unit, got {minimum!r}")
    if sum(mins) > seats:
        raise ApportionmentError(
            f"the minimums add up to {sum(mins)}, more than the {seats} seats to share"
        )
    if maximum is None:
        return mins, None
    if isinstance(maximum, str | bytes) or not isinstance(maximum, Iterable):
        raise ApportionmentError(f"maximum must be one whole number per unit, got {maximum!r}")
    caps = [_as_count(m, f"maximum[{i}]") for i, m in enumerate(maximum)]
    if len(caps) != n:
        raise ApportionmentError(f"maximum has {len(caps)} entries but there are {n} units")
    for i, (lo, hi) in enumerate(zip(mins, caps, strict=True)):
        if hi < lo:
            raise ApportionmentError(f"unit {i}: maximum {hi} is below its minimum {lo}")
    if sum(caps) < seats:
        raise ApportionmentError(
            f"the maximums add up to {sum(caps)}, fewer than the {seats} seats to share"
        )
    return mins, caps


def _run(
    weights: Sequence[Weight],
    seats: int,
    method: str,
    minimum: int | Sequence[int],
    maximum: Sequence[int] | None,
    *,
    want_quotas: bool,
) -> Apportionment:
    name = normalise_method(method)
    h = _as_count(seats, "seats")
    if h >= _MAX_SEATS:
        raise ApportionmentError(f"seats must be below 2**50, got {h}")
    if isinstance(weights, str | bytes) or not isinstance(weights, Iterable):
        raise ApportionmentError(f"weights must be a sequence of numbers, got {weights!r}")
    w = _scaled_weights(weights)
    n = len(w)
    mins, caps = _bounds(n, h, minimum, maximum)
    if n == 0:
        if h:
            raise ApportionmentError(f"cannot share {h} seats among no units")
        return Apportionment([], name, [], [])
    free = h - sum(mins)
    if free and not any(w):
        raise ApportionmentError(
            f"all weights are zero, so there is no basis to share {free} seat(s)"
        )
    result, ties, forced = _zero_forced(w, h, mins, caps)
    if not forced:
        if name == "hamilton":
            result, ties = _hamilton(w, h, mins, caps)
        else:
            result, ties = _divisor(w, h, name, mins, caps)
    quotas: list[Fraction] = []
    if want_quotas:
        if forced:
            quotas = [Fraction(s) for s in result]
        else:
            num, den = _bounded_quotas(w, h, mins, caps)
            quotas = [Fraction(q, den) for q in num]
    return Apportionment(result, name, ties, quotas)


def _zero_forced(
    w: list[int], h: int, mins: list[int], caps: list[int] | None
) -> tuple[list[int], list[tuple[int, ...]], bool]:
    """Handle the corner where units with positive weight cannot absorb all seats.

    Then every unit with positive weight is filled to its maximum and the seats still left go to
    zero-weight units in input order (they are all tied at weight 0).  Returns (seats, ties,
    handled?).
    """
    if caps is None:
        return [], [], False
    room_pos = sum(caps[i] - mins[i] for i in range(len(w)) if w[i] > 0)
    free = h - sum(mins)
    if free <= room_pos:
        return [], [], False
    seats = list(mins)
    for i in range(len(w)):
        if w[i] > 0:
            seats[i] = caps[i]
    rest = free - room_pos
    zeros = [i for i in range(len(w)) if w[i] == 0 and caps[i] > mins[i]]
    room_zero = sum(caps[i] - mins[i] for i in zeros)
    for i in zeros:
        take = min(rest, caps[i] - seats[i])
        seats[i] += take
        rest -= take
    ties = [tuple(zeros)] if len(zeros) > 1 and free - room_pos < room_zero else []
    return seats, ties, True


# --------------------------------------------------------------------------------------------
# Hamilton (largest remainder) and bounded quotas
# --------------------------------------------------------------------------------------------


def _bounded_quotas(
    w: list[int], h: int, mins: list[int], caps: list[int] | None
) -> tuple[list[int], int]:
    """Exact quotas ``clamp(l * w_i, min_i, max_i)`` adding up to ``h``, over one denominator.

    ``l`` is found by fixing units at a bound one group at a time: with the units still free
    sharing what is left in proportion, compare the seats the low violators lack (deficit) with
    the seats the high violators exceed by (excess).  If the deficit is larger the true ``l`` is
    smaller, so the low violators stay low and are fixed at their minimum (and vice versa); each
    round fixes at least one unit, and the answer is exact because everything is integer.
    """
    n = len(w)
    fixed: dict[int, int] = {i: mins[i] for i in range(n) if w[i] == 0}
    active = [i for i in range(n) if w[i] > 0]
    left = h - sum(fixed.values())
    while active:
        total = sum(w[i] for i in active)  # l = left / total
        low = [i for i in active if left * w[i] < mins[i] * total]
        high = (
            [] if caps is None else [i for i in active if left * w[i] > caps[i] * total]
        )
        if not low and not high:
            break
        deficit = sum(mins[i] * total - left * w[i] for i in low)
        excess = sum(left * w[i] - caps[i] * total for i in high) if caps is not None else 0
        chosen: list[tuple[int, int]] = []
        if deficit >= excess:
            chosen += [(i, mins[i]) for i in low]
        if excess >= deficit and caps is not None:
            chosen += [(i, caps[i]) for i in high]
        for i, bound in chosen:
            fixed[i] = bound
            left -= bound
        done = {i for i, _ in chosen}
        active = [i for i in active if i not in done]
    if not active:
        if left != 0:  # pragma: no cover - excluded by the checks in _run/_zero_forced
            raise RuntimeError("bounded quotas do not add up; please report this as a bug")
        return [fixed[i] for i in range(n)], 1
    den = sum(w[i] for i in active)
    num = [0] * n
    for i in active:
        num[i] = left * w[i]
    for i, bound in fixed.items():
        num[i] = bound * den
    return num, den


def _hamilton(
    w: list[int], h: int, mins: list[int], caps: list[int] | None
) -> tuple[list[int], list[tuple[int, ...]]]:
    """Floors of the (bounded) quotas, then the seats left to the largest remainders."""
    num, den = _bounded_quotas(w, h, mins, caps)
    floors = [q // den for q in num]
    rems = [q - f * den for q, f in zip(num, floors, strict=True)]
    short = h - sum(floors)
    seats = floors
    if short == 0:
        return seats, []
    # Largest remainder first; ties: larger weight, then lower index.
    order = sorted((i for i in range(len(w)) if rems[i] > 0), key=lambda i: (-rems[i], -w[i], i))
    for i in order[:short]:
        seats[i] += 1
    ties: list[tuple[int, ...]] = []
    if short < len(order):
        cut = rems[order[short - 1]]
        if rems[order[short]] == cut:
            ties.append(tuple(sorted(i for i in order if rems[i] == cut)))
    return seats, ties


# --------------------------------------------------------------------------------------------
# Divisor methods
# --------------------------------------------------------------------------------------------


def _exact_priority(method: Method, weight: int, held: int) -> Fraction:
    """Exact priority of a unit's bid for its next seat when it holds ``held`` seats.

    Huntington-Hill is returned squared (``w**2 / (n (n + 1))``), which orders bids the same way.
    """
    if method == "dhondt":
        return Fraction(weight, held + 1)
    if method == "webster":
        return Fraction(2 * weight, 2 * held + 1)
    if method == "adams":
        return Fraction(weight, held)
    return Fraction(weight * weight, held * (held + 1))


def _float_divisor(method: Method, held: np.ndarray) -> np.ndarray:
    """Float divisor d(n) for the bid of a unit holding ``held`` seats (float array)."""
    if method == "dhondt":
        return held + 1.0
    if method == "webster":
        return held + 0.5
    if method == "adams":
        return held
    return np.sqrt(held * (held + 1.0))


def _float_round(method: Method, q: np.ndarray) -> np.ndarray:
    """Seats a unit with float quota-like value ``q`` gets at divisor 1 (approximate)."""
    if method == "dhondt":
        return np.floor(q)
    if method == "webster":
        return np.floor(q + 0.5)
    if method == "adams":
        return np.ceil(q)
    f = np.floor(q)
    return f + (q * q > f * (f + 1.0))


def _divisor(
    w: list[int], h: int, method: Method, mins: list[int], caps: list[int] | None
) -> tuple[list[int], list[tuple[int, ...]]]:
    n = len(w)
    base = list(mins)
    ties: list[tuple[int, ...]] = []
    left = h - sum(base)

    def room(i: int) -> bool:
        return caps is None or caps[i] > base[i]

    if method in ("adams", "huntington-hill"):
        # The first seat has divisor 0: infinite priority for every unit with positive weight.
        need = [i for i in range(n) if w[i] > 0 and base[i] == 0 and room(i)]
        if left < len(need):
            if method == "adams":
                raise ApportionmentError(
                    f"Adams gives every unit with positive weight a seat: {len(need)} units "
                    f"need a first seat but only {left} seat(s) are left to share"
                )
            chosen = sorted(need, key=lambda i: (-w[i], i))[:left]
            for i in chosen:
                base[i] = 1
            if left > 0:
                ties.append(tuple(need))
            return base, ties
        for i in need:
            base[i] = 1
        left -= len(need)
    if left == 0:
        return base, ties
    units = [i for i in range(n) if w[i] > 0 and room(i)]
    top = max(w[i] for i in units)
    ratios = [w[i] / top for i in units]  # correctly rounded int/int division
    if min(ratios) < _MIN_RATIO:
        seats, tie = _divisor_heap(w, method, base, caps, units, left)
    else:
        seats, tie = _divisor_fast(w, method, base, caps, units, left, np.array(ratios))
    return seats, ties + tie


def _divisor_heap(
    w: list[int],
    method: Method,
    base: list[int],
    caps: list[int] | None,
    units: list[int],
    left: int,
) -> tuple[list[int], list[tuple[int, ...]]]:
    """Reference procedure: hand out seats one by one to the highest exact bid.

    Slow (a heap of Fractions) but obviously right; used when weights span so many orders of
    magnitude that float priorities could underflow, and by the tests as a cross-check.
    """
    seats = list(base)
    heap = [(-_exact_priority(method, w[i], seats[i]), -w[i], i) for i in units]
    heapq.heapify(heap)
    last = Fraction(0)
    for _ in range(left):
        neg, _, i = heapq.heappop(heap)
        last = -neg
        seats[i] += 1
        if caps is None or seats[i] < caps[i]:
            heapq.heappush(heap, (-_exact_priority(method, w[i], seats[i]), -w[i], i))
    if not heap or -heap[0][0] != last:
        return seats, []
    tied = {i for i in units if seats[i] > base[i]
            and _exact_priority(method, w[i], seats[i] - 1) == last}
    tied |= {i for _, _, i in heap if _exact_priority(method, w[i], seats[i]) == last}
    return seats, [tuple(sorted(tied))]


def _divisor_fast(
    w: list[int],
    method: Method,
    base: list[int],
    caps: list[int] | None,
    units: list[int],
    left: int,
    wf: np.ndarray,
) -> tuple[list[int], list[tuple[int, ...]]]:
    """Float allocation by bisection on the divisor, then exact verification and repair."""
    idx = np.array(units)
    lo_b = np.array([base[i] for i in units], dtype=float)
    hi_b = (
        np.full(len(units), np.inf)
        if caps is None
        else np.array([caps[i] for i in units], dtype=float)
    )
    target = left + float(lo_b.sum())  # seats held by the participating units at the end

    def alloc(x: float) -> np.ndarray:
        return np.clip(_float_round(method, wf * x), lo_b, hi_b)

    # Bisection on x = 1 / divisor; the start is the classic divisor estimate per method.
    shift = {"dhondt": 0.5, "adams": -0.5}.get(method, 0.0) * len(units)
    x = max(target + shift, 1.0) / float(wf.sum())
    lo_x, hi_x = 0.0, math.inf
    s = alloc(x)
    for _ in range(200):
        got = float(s.sum())
        if got == target:
            break
        if got < target:
            lo_x = x
        else:
            hi_x = x
        x = lo_x * 2.0 if math.isinf(hi_x) else (lo_x + hi_x) / 2.0
        if not math.isinf(hi_x) and not lo_x < x < hi_x:
            break
        s = alloc(x)
    held = s.astype(np.int64)
    ties = _repair(w, method, idx, lo_b, hi_b, wf, held, int(target))
    seats = list(base)
    for k, i in enumerate(units):
        seats[i] = int(held[k])
    return seats, ties


def _repair(
    w: list[int],
    method: Method,
    idx: np.ndarray,
    lo_b: np.ndarray,
    hi_b: np.ndarray,
    wf: np.ndarray,
    held: np.ndarray,
    target: int,
) -> list[tuple[int, ...]]:
    """Make ``held`` (in place) exactly the divisor-method allocation; return the deciding tie.

    An allocation is right when it adds up and the best bid for a further seat (priority, then
    weight, then earlier unit) is worse than the worst held last seat.  Floats pick the few
    candidates for "best bid" and "worst last seat"; the decision between them is exact.
    """
    def key(k: int, n_held: int) -> tuple[Fraction, int, int]:
        i = int(idx[k])
        return (_exact_priority(method, w[i], n_held), w[i], -i)

    for _ in range(4 * len(idx) + 50):
        hf = held.astype(float)
        nxt = np.where(hf < hi_b, wf / _float_divisor(method, hf), -np.inf)
        with np.errstate(divide="ignore"):
            lst = np.where(hf > lo_b, wf / _float_divisor(method, np.maximum(hf - 1.0, 0.0)),
                           np.inf)
        best, worst = float(nxt.max()), float(lst.min())
        none = np.empty(0, dtype=np.intp)
        cand_next = np.flatnonzero(nxt >= best * (1 - 3 * _EPS)) if best > -np.inf else none
        cand_last = np.flatnonzero(lst <= worst * (1 + 3 * _EPS)) if worst < np.inf else none
        short = target - int(held.sum())
        if short > 0:
            bids = sorted(cand_next.tolist(), key=lambda k: key(k, int(held[k])), reverse=True)
            for k in bids[:short]:
                held[k] += 1
            continue
        if short < 0:
            lasts = sorted(cand_last.tolist(), key=lambda k: key(k, int(held[k]) - 1))
            for k in lasts[:-short]:
                held[k] -= 1
            continue
        if len(cand_next) == 0 or len(cand_last) == 0:
            return []
        if best * (1 + _EPS) < worst * (1 - _EPS):
            return []  # strictly separated even allowing for float error: exact and no tie
        offers = sorted(((key(k, int(held[k])), k) for k in cand_next.tolist()), reverse=True)
        holds = sorted((key(k, int(held[k]) - 1), k) for k in cand_last.tolist())
        moved = False
        used: set[int] = set()
        for (bid, kb), (own, kl) in zip(offers, holds, strict=False):
            if bid <= own:
                break
            if kb == kl or kb in used or kl in used:
                continue
            held[kb] += 1
            held[kl] -= 1
            used |= {kb, kl}
            moved = True
        if moved:
            continue
        cut = offers[0][0][0]
        if cut != holds[0][0][0]:
            return []
        tied = {int(idx[k]) for key_, k in offers if key_[0] == cut}
        tied |= {int(idx[k]) for key_, k in holds if key_[0] == cut}
        return [tuple(sorted(tied))]
    raise RuntimeError("divisor repair did not converge; please report this as a bug")


# --------------------------------------------------------------------------------------------
# Controlled rounding of a two-way table
# --------------------------------------------------------------------------------------------


def controlled_round(
    table: Sequence[Sequence[Fraction | float]],
    row_totals: Sequence[int],
    col_totals: Sequence[int],
) -> list[list[int]]:
    """Round a two-way table to whole numbers keeping every row and column total exactly.

    Each cell becomes the floor or the ceiling of its value whenever that is possible, and the
    cells rounded up are those with the largest fractional parts the margins allow (a
    transportation problem solved exactly by HiGHS: the constraint matrix is totally unimodular,
    so the optimal vertex is integral).  This is the classic "controlled rounding" of official
    statistics: planners get whole posts that add up both by specialty and by area.

    Args:
        table: non-negative cell values, one row per row total (floats are taken exactly).
        row_totals: whole-number target for each row.
        col_totals: whole-number target for each column; must add up to the same grand total.

    The table's grand total must equal the margins' (up to float noise of 1e-9 relative), and
    each given total must be a rounding of the table's own row/column sum (within 1 of it);
    otherwise the totals disagree with the table and an :class:`ApportionmentError` says which.
    Totals that are roundings of the table's sums but admit no floor/ceiling table (possible when
    both margins were rounded independently) are still met exactly: the fewest cells possible
    then move one step beyond floor/ceiling.
    """
    rows = [list(r) for r in table] if not isinstance(table, np.ndarray) else table.tolist()
    n_r = len(rows)
    r_tot = [_as_count(t, f"row total {i}") for i, t in enumerate(row_totals)]
    c_tot = [_as_count(t, f"column total {j}") for j, t in enumerate(col_totals)]
    if len(r_tot) != n_r:
        raise ApportionmentError(f"table has {n_r} rows but {len(r_tot)} row totals")
    n_c = len(c_tot)
    for i, row in enumerate(rows):
        if len(row) != n_c:
            raise ApportionmentError(
                f"row {i} has {len(row)} cells but there are {n_c} column totals"
            )
    if sum(r_tot) != sum(c_tot):
        raise ApportionmentError(
            f"row totals add up to {sum(r_tot)} but column totals add up to {sum(c_tot)}"
        )
    # Cells as integers over one common denominator: exact, and much faster than Fractions.
    ratios = [[_cell(v, i, j) for j, v in enumerate(row)] for i, row in enumerate(rows)]
    dens = {den for row in ratios for _, den in row}
    common = math.lcm(*dens) if dens else 1
    cells = [[num * (common // den) for num, den in row] for row in ratios]
    row_sums = [sum(row) for row in cells]
    col_sums = [sum(cells[i][j] for i in range(n_r)) for j in range(n_c)]
    grand, want = sum(row_sums), sum(r_tot) * common
    if abs(grand - want) * 10**9 > common * max(1, sum(r_tot)):
        raise ApportionmentError(
            f"the table adds up to {grand / common:.9g} but the totals add up to {sum(r_tot)}; "
            "scale the table to the totals first"
        )
    # A total must be a rounding of its row/column sum: within 1 (plus float noise) of it.
    slack = common + common // 10**9
    for i in range(n_r):
        if abs(row_sums[i] - r_tot[i] * common) >= slack:
            raise ApportionmentError(
                f"row {i} adds up to {row_sums[i] / common:.9g}, too far from its total {r_tot[i]}"
            )
    for j in range(n_c):
        if abs(col_sums[j] - c_tot[j] * common) >= slack:
            raise ApportionmentError(
                f"column {j} adds up to {col_sums[j] / common:.9g}, too far from its total "
                f"{c_tot[j]}"
            )
    floors = [[x // common for x in row] for row in cells]
    frac = np.array([[(x % common) / common for x in row] for row in cells],
                    dtype=float).reshape(n_r, n_c)
    need_r = np.array([r_tot[i] - sum(floors[i]) for i in range(n_r)], dtype=np.int64)
    need_c = np.array([c_tot[j] - sum(floors[i][j] for i in range(n_r)) for j in range(n_c)],
                      dtype=np.int64)
    if not need_r.any() and not need_c.any():
        return floors
    step = _round_up_cells(frac, need_r, need_c)
    if step is None:
        step = _round_any(frac, np.array(floors, dtype=np.int64).reshape(n_r, n_c),
                          need_r, need_c)
    out = [[floors[i][j] + int(step[i, j]) for j in range(n_c)] for i in range(n_r)]
    if [sum(r) for r in out] != r_tot or [sum(c) for c in zip(*out, strict=True)] != c_tot:
        raise RuntimeError("controlled rounding missed a total; please report this as a bug")
    return out


def _cell(value: object, i: int, j: int) -> tuple[int, int]:
    num, den = _ratio(value, f"cell ({i}, {j})")
    if num < 0:
        raise ApportionmentError(f"cell ({i}, {j}) must be >= 0, got {Fraction(num, den)}")
    return num, den


def _solve_transport(
    cost: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    upper: np.ndarray,
    n_r: int,
    n_c: int,
    sign: np.ndarray,
    need_r: np.ndarray,
    need_c: np.ndarray,
) -> np.ndarray | None:
    """min cost.x with row/column sums of sign*x equal to the needs, 0 <= x <= upper; integral."""
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp
    from scipy.sparse import coo_matrix

    m = len(cost)
    a_eq = coo_matrix(
        (np.concatenate([sign, sign]), (np.concatenate([rows, n_r + cols]),
                                        np.concatenate([np.arange(m), np.arange(m)]))),
        shape=(n_r + n_c, m),
    ).tocsr()
    b_eq = np.concatenate([need_r, need_c]).astype(float)
    res = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=np.column_stack([np.zeros(m), upper]),
                  method="highs-ds")
    if res.status == 2:
        return None
    if res.status != 0:  # pragma: no cover - HiGHS trouble, not expected on these small problems
        raise RuntimeError(f"controlled rounding LP failed: {res.message}")
    x = np.rint(res.x)
    if np.abs(res.x - x).max() > 1e-6:  # pragma: no cover - a basic solution is integral
        sol = milp(cost, constraints=LinearConstraint(a_eq, b_eq, b_eq),
                   integrality=np.ones(m), bounds=Bounds(np.zeros(m), upper))
        if sol.x is None:
            return None
        x = np.rint(sol.x)
    return x.astype(np.int64)


def _round_up_cells(frac: np.ndarray, need_r: np.ndarray, need_c: np.ndarray
                    ) -> np.ndarray | None:
    """Choose cells to round up (0/1), largest fractional parts first; None if impossible."""
    n_r, n_c = frac.shape
    ok = (frac > 0) & (need_r[:, None] > 0) & (need_c[None, :] > 0)
    rows, cols = np.nonzero(ok)
    if (need_r < 0).any() or (need_c < 0).any():
        return None
    if len(rows) == 0:
        return None
    x = _solve_transport(-frac[rows, cols], rows, cols, np.ones(len(rows)), n_r, n_c,
                         np.ones(len(rows)), need_r, need_c)
    if x is None:
        return None
    step = np.zeros((n_r, n_c), dtype=np.int64)
    step[rows, cols] = x
    return step


def _round_any(frac: np.ndarray, floors: np.ndarray, need_r: np.ndarray, need_c: np.ndarray
               ) -> np.ndarray:
    """Fallback: allow steps beyond floor/ceiling, each costing more than any rounding gain."""
    n_r, n_c = frac.shape
    big = float(n_r * n_c + 1)
    r_all, c_all = np.divmod(np.arange(n_r * n_c), n_c)
    f = frac.ravel()
    up_ok = f > 0
    ru, cu = r_all[up_ok], c_all[up_ok]
    down_ok = floors.ravel() > 0
    rd, cd = r_all[down_ok], c_all[down_ok]
    total = int(need_r.clip(min=0).sum() + need_c.clip(min=0).sum()) + 1
    rows = np.concatenate([ru, r_all, rd])
    cols = np.concatenate([cu, c_all, cd])
    cost = np.concatenate([-f[up_ok], np.full(n_r * n_c, big) - f, np.full(len(rd), big)])
    upper = np.concatenate([np.ones(len(ru)), np.full(n_r * n_c, float(total)),
                            floors.ravel()[down_ok].astype(float)])
    sign = np.concatenate([np.ones(len(ru) + n_r * n_c), -np.ones(len(rd))])
    x = _solve_transport(cost, rows, cols, upper, n_r, n_c, sign, need_r, need_c)
    if x is None:  # pragma: no cover - always feasible: totals agree and cells may go to 0
        raise ApportionmentError("no whole-number table meets these row and column totals")
    step = np.zeros(n_r * n_c, dtype=np.int64)
    np.add.at(step, rows * n_c + cols, x * sign.astype(np.int64))
    return step.reshape(n_r, n_c)
