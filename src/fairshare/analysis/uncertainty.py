"""Uncertainty: seeded Monte Carlo over δ, component weights, σ and projection variants (METHOD §5).

A fair-share target rests on judgements (δ, the component weights, the specialised share σ) and on
a population projection. A planner who is told "London's target is 1,234" also needs to know how
firm that number is, and whether an area that *gives* posts under the central scenario might well
*receive* them under a reasonable alternative. This module answers that by drawing the uncertain
parameters many times and recomputing the targets (and, optionally, the multi-year plan) for each
draw.

Design choices, and why:

* **Common random numbers.** Each parameter family (δ, weights, σ, projection variant) gets its own
  child of ``numpy.random.SeedSequence(seed)``, spawned in the fixed order of :data:`FAMILIES`.
  Two runs that differ only in one family's range (say δ) therefore share every other family's
  draws exactly, so a comparison between scenarios reflects the scenario difference, not
  sampling noise. Scalar families are drawn as uniforms and transformed by the range's inverse
  CDF, so even the changed family stays coupled (draw *i* is the same quantile in both runs).
* **Draws depend on (seed, draw index) only.** Each family is generated in blocks of
  :data:`DRAW_BLOCK` draws, block *b* of family *f* from ``SeedSequence(seed, spawn_key=(f, b))``.
  A worker regenerates exactly the draws of its chunk from ``(seed, first, last)``: nothing large
  is shipped, memory does not grow with the number of draws, and serial, process-pool and Dask
  runs see the same numbers whatever the chunking (and the first *k* of *n* draws are the *k*
  draws of a smaller run).
* **Order-free reduction.** Whole-post targets are integers between 0 and the specialty total, so
  each chunk returns exact *counts* of each (cell, target) value. Counts add up the same in any
  order, so percentiles, means and probabilities are bit-identical across serial and parallel
  runs, and memory does not grow with the number of draws.
* **Exactly the deterministic model, fast.** Fractional targets are computed on local-office sums
  (the fair share is linear, so this is a quarter of the work) and Hamilton rounding is vectorised
  across draws. Any (draw, specialty) row whose rounding could depend on float error (a quota or
  remainder within 1e-9 of a decision) is redone with bit-exact fractional targets (the same
  floating-point operations, in the same order, as :func:`model.targets.fractional_targets`)
  and the exact :func:`fairshare.apportionment.apportion`. Every draw's whole targets are
  therefore exactly what ``whole_targets(fractional_targets(...))`` gives at that draw's
  parameters, and a zero-width range reproduces the published targets.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairshare.analysis.uncertainty_counts import (
    PERCENTILES,
    _Hist,
    _sides,
    _summaries,
)
from fairshare.analysis.uncertainty_draws import (
    DRAW_BLOCK,
    FAMILIES,
    Draws,
    _draw_range,
    draw_parameters,
)
from fairshare.analysis.uncertainty_runs import (
    ProgressCallback,
    _auto_chunk,
    _run_chunks,
)
from fairshare.analysis.uncertainty_text import _notes, _option_text, coverage
from fairshare.apportionment import apportion
from fairshare.scenario import Range, UncertaintySpec
from fairshare.vocabulary import DEFAULT_VARIANTS, ProjectionVariant

if TYPE_CHECKING:  # imported where used, so fairshare.scenario can import UncertaintySpec
    from fairshare.inputs.bundle import Bundle
    from fairshare.model.need import NeedShares
    from fairshare.model.targets import Geography, Inputs
    from fairshare.scenario import Scenario

__all__ = [
    "DEFAULT_VARIANTS",
    "DRAW_BLOCK",
    "FAMILIES",
    "Draws",
    "Intervals",
    "KernelCache",
    "ProgressCallback",
    "ProjectionVariant",
    "Range",
    "UncertaintySpec",
    "coverage",
    "draw_parameters",
    "monte_carlo_intervals",
    "monte_carlo_plan",
    "monte_carlo_targets",
    "plan_options",
]

# Relative margin within which a float rounding decision is re-checked exactly.
_TOL = 1e-9


# --------------------------------------------------------------------------------------------
# The vectorised target kernel
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kernel:
    """Everything a worker needs to turn draws into whole targets (small and picklable)."""

    need: NeedShares
    future: np.ndarray  # (variant, spec, icb) future shares per drawn variant
    geo: Geography
    current: np.ndarray  # (spec, lo) int64
    totals: np.ndarray  # (spec,) int64
    scenario: Scenario
    offsets: np.ndarray  # (spec, lo) start of each cell's block in the count vector
    size: int  # length of the count vector
    core_lo: np.ndarray  # (lo,) shares summed to local offices, for the fast path
    deprivation_lo: np.ndarray  # (lo,)
    specialty_lo: np.ndarray  # (spec, lo)
    future_lo: np.ndarray  # (variant, spec, lo)
    spec: UncertaintySpec
    seed: int
    weights: np.ndarray  # (spec, 3) the scenario's weights (centre of the Dirichlet)
    sigma: np.ndarray  # (spec,) the scenario's σ

    def draws(self, start: int, stop: int) -> Draws:
        """Regenerate draws ``start`` to ``stop - 1`` (identical wherever this runs)."""
        return _draw_range(self.spec, self.weights, self.sigma, self.seed, start, stop)


#: Scenario parameters applied after the need shares are made (drawn, or in the aim): scenarios
#: that differ only in these share the prepared need arrays of a :class:`KernelCache`.
_AFTER_NEED = frozenset({"name", "description", "deprivation_weight", "weights",
                         "specialty_weights", "specialised_share", "specialty_specialised_share",
                         "convergence", "uncertainty"})


class KernelCache:
    """The prepared need arrays of the last few scenarios (one bundle only), so a caller that
    asks for intervals again after changing δ, weights or σ (the web app) skips the expensive
    part. Keyed by every scenario parameter that can change need or posts."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._items: dict[str, tuple[Inputs, np.ndarray]] = {}
        self._lock = threading.Lock()  # a web server asks from several threads

    def get(self, key: str) -> tuple[Inputs, np.ndarray] | None:
        with self._lock:
            hit = self._items.pop(key, None)
            if hit is not None:
                self._items[key] = hit  # most recently used last
            return hit

    def put(self, key: str, value: tuple[Inputs, np.ndarray]) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.pop(next(iter(self._items)))


def _need_key(scenario: Scenario, spec: UncertaintySpec) -> str:
    dump = {k: v for k, v in scenario.resolved().items() if k not in _AFTER_NEED}
    return json.dumps([dump, list(spec.projection_variants)], sort_keys=True)


def _same_need(a: NeedShares, b: NeedShares) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f))
               for f in ("core", "specialty", "future", "deprivation"))


def _prepared(bundle: Bundle, scenario: Scenario, spec: UncertaintySpec,
              cache: KernelCache | None,
              seen: list[tuple[Inputs, np.ndarray]] | None = None) -> tuple[Inputs, np.ndarray]:
    """The scenario's prepared inputs and each drawn variant's future shares (cached).

    ``seen`` holds inputs already prepared in this run: a structural option that changes only
    the posts (a baseline correction) has the same need, so its variants' future shares are
    reused instead of recomputed (checked array by array)."""
    from fairshare.model.need import need_shares, specialised_shares, specialty_weights
    from fairshare.model.targets import prepare

    key = _need_key(scenario, spec)
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        inp = replace(hit[0], weights=specialty_weights(bundle, scenario),
                      sigma=specialised_shares(bundle, scenario))
        return inp, hit[1]
    inp = prepare(bundle, scenario)
    known = {"principal", *bundle.growth_variants["variant"].unique()}
    missing = [v for v in spec.projection_variants if v not in known]
    if missing:
        raise ValueError(
            f"projection variants {missing} are not in the bundle's growth_variants "
            f"(available: {sorted(known)}); set UncertaintySpec.projection_variants"
        )
    same = next((f for other, f in seen or [] if _same_need(other.need, inp.need)), None)
    if same is not None:
        future = same
    else:
        futures = []
        for v in spec.projection_variants:
            if v == scenario.projection_variant:
                futures.append(inp.need.future)
            else:
                variant = scenario.with_overrides(projection_variant=v)
                futures.append(need_shares(bundle, variant).future)
        future = np.stack(futures)
    if cache is not None:
        cache.put(key, (inp, future))
    if seen is not None:
        seen.append((inp, future))
    return inp, future


def _build_kernel(bundle: Bundle, scenario: Scenario, spec: UncertaintySpec,
                  seed: int = 0, cache: KernelCache | None = None,
                  seen: list[tuple[Inputs, np.ndarray]] | None = None) -> tuple[_Kernel, Inputs]:
    """Prepare the arrays once; each drawn variant's future share matrix is computed here."""
    inp, future = _prepared(bundle, scenario, spec, cache, seen)
    totals = inp.current.sum(axis=1).astype(np.int64)
    n_area = inp.current.shape[1]
    widths = np.repeat(totals + 1, n_area)
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    geo = inp.geo

    def lo(x: np.ndarray) -> np.ndarray:
        return geo.to_local_offices(geo.to_units(x))

    kernel = _Kernel(need=inp.need, future=future, geo=geo,
                     current=inp.current.astype(np.int64), totals=totals, scenario=scenario,
                     offsets=starts.reshape(totals.shape[0], n_area), size=int(widths.sum()),
                     core_lo=lo(inp.need.core), deprivation_lo=lo(inp.need.deprivation),
                     specialty_lo=lo(inp.need.specialty), future_lo=lo(future),
                     spec=spec, seed=seed, weights=inp.weights, sigma=inp.sigma)
    return kernel, inp


def _fractional_fast(k: _Kernel, delta: np.ndarray, weights: np.ndarray, sigma: np.ndarray,
                     variant: np.ndarray) -> np.ndarray:
    """(draw, spec, lo) fractional targets computed on local-office sums.

    The fair share is linear in the share matrices, so summing ICBs to local offices first gives
    the same numbers with a quarter of the work; they can differ from
    :func:`_fractional` in the last bits only, which :func:`_whole` guards against.
    """
    mix = (weights[..., 0:1] * k.core_lo + weights[..., 1:2] * k.specialty_lo
           + weights[..., 2:3] * k.future_lo[variant])
    d = np.asarray(delta, dtype=float)[:, None, None]
    fair_lo = (1 - d) * mix + d * k.deprivation_lo
    total = k.current.sum(axis=1, keepdims=True)
    s = sigma[..., None]
    return (1 - s) * total * fair_lo + s * k.current


def _fractional(k: _Kernel, delta: np.ndarray, weights: np.ndarray, sigma: np.ndarray,
                variant: np.ndarray, block: int = 96) -> np.ndarray:
    """(draw, spec, lo) fractional targets.

    The same floating-point operations, in the same order, as ``NeedShares.fair_share`` and
    ``fractional_targets``, broadcast over draws, so a draw equal to the scenario gives exactly
    the scenario's fractional targets. For speed the work runs in blocks of draws small enough to
    stay in cache, with the ICB axis first so that splitting ICBs into local-office pieces and
    summing them are contiguous copies and adds (element by element the arithmetic is unchanged).
    """
    ns, geo = k.need, k.geo
    n, n_spec = weights.shape[:2]
    n_area = len(geo.local_offices)
    core = ns.core[:, None, None]  # (icb, 1, 1)
    spec_t = ns.specialty.T[:, None, :]  # (icb, 1, spec)
    fut_t = np.ascontiguousarray(k.future.transpose(2, 0, 1))  # (icb, variant, spec)
    dep = ns.deprivation[:, None, None]
    share = geo.units["share"].to_numpy(float)[:, None, None]
    fair_lo = np.empty((n_area, n, n_spec))
    for a in range(0, n, block):
        b = min(a + block, n)
        w = weights[a:b]
        mix = (w[None, :, :, 0] * core + w[None, :, :, 1] * spec_t
               + w[None, :, :, 2] * fut_t[:, variant[a:b], :])
        d = np.asarray(delta[a:b], dtype=float)[None, :, None]
        fair = (1 - d) * mix + d * dep  # (icb, draw, spec)
        units = fair[geo.icb_index] * share  # (unit, draw, spec)
        out = np.zeros((n_area, b - a, n_spec))
        for u, lo in enumerate(geo.lo_index):
            out[lo] += units[u]
        fair_lo[:, a:b] = out
    fair_lo = fair_lo.transpose(1, 2, 0)  # (draw, spec, lo)
    total = k.current.sum(axis=1, keepdims=True)
    s = sigma[..., None]
    return (1 - s) * total * fair_lo + s * k.current


def _hamilton(frac: np.ndarray, totals: np.ndarray, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised largest remainders over (draw, spec) rows; returns (whole, needs_exact_check).

    Floors of the quotas plus one post for each remainder at or above the row's ``left``-th
    largest. A row is flagged for the exact routine when float error could matter (a quota
    within 1e-9 of a whole number, or the last remainder awarded within 1e-9 of the first
    refused: the exact tie rule then decides) or when a minimum binds (bounded quotas).
    """
    n_area = frac.shape[-1]
    h = totals.astype(float)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        wsum = frac.sum(axis=-1)
        q = frac * (h / wsum)[..., None]
    finite = np.isfinite(q).all(axis=-1)  # not finite: an empty specialty, or bad input
    q = np.where(finite[..., None], q, 0.0)
    fl = np.floor(q)
    r = q - fl
    left = totals[None, :] - fl.sum(axis=-1).astype(np.int64)
    rs = np.sort(r, axis=-1)  # ascending: the j-th largest is rs[..., n_area - 1 - j]
    kk = np.clip(left, 1, n_area - 1)
    last_in = np.take_along_axis(rs, (n_area - kk)[..., None], axis=-1)[..., 0]
    first_out = np.take_along_axis(rs, (n_area - 1 - kk)[..., None], axis=-1)[..., 0]
    threshold = np.where(left <= 0, np.inf, np.where(left >= n_area, -np.inf, last_in))
    whole = fl.astype(np.int64) + (r >= threshold[..., None])

    tol = _TOL * (1.0 + h)
    interior = (left > 0) & (left < n_area)
    bad = ~finite | (left < 0) | (left > n_area)
    bad |= interior & (last_in - first_out < tol)
    bad |= (rs[..., 0] < tol) | (rs[..., -1] > 1 - tol)
    bad |= (frac < 0).any(axis=-1)
    if minimum > 0:
        binds = totals >= minimum * n_area
        bad |= binds[None, :] & (q < minimum).any(axis=-1)
    empty = np.broadcast_to(totals[None, :] == 0, bad.shape)
    whole[empty] = 0
    return whole, bad & ~empty


def _whole(k: _Kernel, draws: Draws) -> np.ndarray:
    """(draw, spec, lo) whole targets, exactly as ``whole_targets`` would make them.

    Hamilton runs vectorised on the fast fractional targets. Rows it flags as close to a
    rounding decision are redone by the exact ``apportion`` on the bit-exact fractional targets
    of that draw, so the answer is always the one the deterministic model gives for the draw.
    Other methods and controlled rounding use the exact path for every draw (slower).
    """
    from fairshare.model.targets import whole_targets

    sc = k.scenario
    args = (draws.deprivation_weight, draws.weights, draws.specialised_share, draws.variant)
    if sc.controlled_rounding or sc.apportionment != "hamilton":
        frac = _fractional(k, *args)
        if sc.controlled_rounding:
            return np.stack([whole_targets(f, k.totals, sc) for f in frac])
        whole = np.zeros(frac.shape, dtype=np.int64)
        bad = np.broadcast_to(k.totals[None, :] > 0, frac.shape[:2])
    else:
        fast = _fractional_fast(k, *args)
        whole, bad = _hamilton(fast, k.totals, sc.minimum_posts)
        rows = np.unique(np.nonzero(bad)[0])
        frac = np.zeros_like(fast)
        if rows.size:
            frac[rows] = _fractional(k, args[0][rows], args[1][rows], args[2][rows],
                                     args[3][rows])
    n_area = int(k.current.shape[1])
    bad_draws, bad_specs = np.nonzero(bad)
    for d, s in zip(bad_draws, bad_specs, strict=True):
        total = int(k.totals[s])
        minimum = sc.minimum_posts if total >= sc.minimum_posts * n_area else 0
        whole[d, s] = apportion(list(frac[d, s]), total, method=sc.apportionment,
                                minimum=minimum)
    return whole


# --------------------------------------------------------------------------------------------
# Structural choices: one kernel per combination of options
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Structured:
    """One target kernel per structural combination, and the draws that pick among them."""

    parts: tuple[_Kernel, ...]  # combination i: mixed-radix index of its options
    labels: tuple[str, ...]
    spec: UncertaintySpec
    seed: int
    weights: np.ndarray  # the scenario's weights (centre of the Dirichlet)
    sigma: np.ndarray  # the scenario's σ
    target: _Hist
    gap: _Hist
    with_aim: bool  # some combination's convergence is not full: count aim − current too

    def draws(self, start: int, stop: int) -> Draws:
        return _draw_range(self.spec, self.weights, self.sigma, self.seed, start, stop)

    def evaluate(self, draws: Draws) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(draw, spec, lo) whole targets, the draw's current posts and its whole aims."""
        n = len(draws)
        shape = (n, *self.parts[0].current.shape)
        target = np.zeros(shape, dtype=np.int64)
        current = np.zeros(shape, dtype=np.int64)
        aim = target if not self.with_aim else np.zeros(shape, dtype=np.int64)
        for c in np.unique(draws.structure):
            rows = np.flatnonzero(draws.structure == c)
            part = self.parts[int(c)]
            whole = _whole(part, draws.select(rows))
            target[rows] = whole
            current[rows] = part.current
            if self.with_aim:
                aim[rows] = _aims(part, whole)
        return target, current, aim


def _aims(k: _Kernel, whole: np.ndarray) -> np.ndarray:
    """(draw, spec, lo) whole aims of the kernel's convergence policy, as ``whole_aims``."""
    from fairshare.model.convergence import whole_aims

    policy, method = k.scenario.convergence, k.scenario.apportionment
    if policy.policy == "full":
        return whole
    out = np.zeros_like(whole)
    if policy.policy == "share" and method == "hamilton" and _dyadic(policy.share):
        frac = k.current[None] + policy.share * (whole - k.current[None])
        return _hamilton_exact(frac, k.totals)
    if policy.policy == "share" and method == "hamilton":
        frac = k.current[None] + policy.share * (whole - k.current[None])
        out, bad = _hamilton(np.clip(frac, 0, None), k.totals, 0)
    else:
        bad = np.broadcast_to(k.totals[None, :] > 0, whole.shape[:2])
    for d, s in zip(*np.nonzero(bad), strict=True):
        out[d, s] = whole_aims(k.current[s], whole[d, s], policy, method)
    return out


def _dyadic(share: float) -> bool:
    """A share with at most ten binary digits (0.5, 0.25, ...): current + share · (target −
    current) is then exact in floating point, so ties are exact and decided vectorised."""
    return float(share * 1024).is_integer()


def _hamilton_exact(frac: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Largest remainders with ``apportion``'s tie rule (larger weight, then earlier unit) for
    (draw, spec, area) weights that already add up exactly to each row's total (the quotas
    are then the weights themselves, with no rounding error)."""
    fl = np.floor(frac)
    r = frac - fl
    left = totals[None, :] - fl.sum(axis=-1).astype(np.int64)
    unit = np.broadcast_to(np.arange(frac.shape[-1]), frac.shape)
    order = np.lexsort((unit, -frac, -r), axis=-1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(frac.shape[-1]), frac.shape),
                      axis=-1)
    return fl.astype(np.int64) + (rank < left[..., None])


def _combinations(spec: UncertaintySpec) -> list[dict[str, Any]]:
    """Every combination of structural options, first choice varying fastest."""
    combos: list[dict[str, Any]] = [{}]
    for choice in spec.structural:
        combos = [{**c, choice.parameter: o} for o in choice.options for c in combos]
    return combos


def _label(spec: UncertaintySpec, combo: dict[str, Any]) -> str:
    return "; ".join(f"{c.name()} = {_option_text(combo[c.parameter])}"
                     for c in spec.structural)


def _build_structured(bundle: Bundle, scenario: Scenario, spec: UncertaintySpec,
                      seed: int, cache: KernelCache | None = None) -> tuple[_Structured, Inputs]:
    """A kernel per structural combination (each prepared on its own scenario) and the
    histograms wide enough for every combination's targets and gaps."""
    seen: list[tuple[Inputs, np.ndarray]] = []
    base, inp = _build_kernel(bundle, scenario, spec, seed, cache, seen)
    built = {_targets_key(scenario): base}
    parts, labels = [], []
    for combo in _combinations(spec):
        sc = scenario.with_structure(combo) if combo else scenario
        key = _targets_key(sc)
        if key not in built:
            built[key] = _build_kernel(bundle, sc, spec, seed, cache, seen)[0]
        part = replace(built[key], scenario=sc)
        _check_part(base, part, combo)
        parts.append(part)
        labels.append(_label(spec, combo))
    top = np.max([np.broadcast_to(p.totals[:, None], p.current.shape) for p in parts], axis=0)
    most = np.max([p.current for p in parts], axis=0)
    zero = np.zeros_like(top)
    kernel = _Structured(
        parts=tuple(parts), labels=tuple(labels), spec=spec, seed=seed, weights=inp.weights,
        sigma=inp.sigma, target=_Hist.make(zero, top), gap=_Hist.make(-most, top),
        with_aim=any(p.scenario.convergence.policy != "full" for p in parts))
    return kernel, inp


#: Parameters that change the aim, not the targets: combinations differing only in these share
#: one prepared kernel.
_AIM_ONLY = frozenset({"convergence", "uncertainty", "name", "description"})


def _targets_key(scenario: Scenario) -> str:
    dump = {k: v for k, v in scenario.resolved().items() if k not in _AIM_ONLY}
    return json.dumps(dump, sort_keys=True)


def _check_part(base: _Kernel, part: _Kernel, combo: dict[str, Any]) -> None:
    """Structural choices change need and posts, never the drawn families' centres."""
    same = (base.need.specialties == part.need.specialties
            and base.geo.local_offices == part.geo.local_offices
            and np.array_equal(base.weights, part.weights)
            and np.array_equal(base.sigma, part.sigma))
    if not same:
        raise ValueError(f"structural option {combo} changes the specialties, areas, weights "
                         "or σ: those are drawn by their own families, not as a structural "
                         "choice")


def _target_chunk(bounds: tuple[int, int], kernel: _Structured) -> dict[str, Any]:
    """Worker task: exact counts of each (cell, value) of target, gap (and aim − current),
    as sparse (index, count), and each draw's net gap per area (rows by draw number)."""
    target, current, aim = kernel.evaluate(kernel.draws(*bounds))
    gap = target - current
    out = {"target": kernel.target.count(target), "gap": kernel.gap.count(gap),
           "area_gap": gap.sum(axis=1)}
    if kernel.with_aim:
        aim_gap = aim - current
        out["aim_gap"] = kernel.gap.count(aim_gap)
        out["area_aim_gap"] = aim_gap.sum(axis=1)
    return out


# --------------------------------------------------------------------------------------------
# Target-level Monte Carlo
# --------------------------------------------------------------------------------------------


def _frame(bundle: Bundle, scenario: Scenario, inp: Inputs, columns: dict[str, np.ndarray],
           n: int, seed: int) -> pd.DataFrame:
    """Tidy per local office x specialty frame for the specialties in the establishment."""
    from fairshare.model.targets import fractional_targets, whole_targets

    geo = inp.geo
    n_spec, n_area = inp.current.shape
    det = whole_targets(fractional_targets(inp, scenario.deprivation_weight),
                        inp.current.sum(axis=1), scenario)
    df = pd.DataFrame({
        "scenario": scenario.name,
        "area_code": np.tile(geo.lo_codes, n_spec),
        "area": np.tile(geo.local_offices, n_spec),
        "specialty": np.repeat(inp.need.specialties, n_area),
        "current": inp.current.ravel(),
        "target": det.ravel(),
        **{name: v.ravel() for name, v in columns.items()},
    })
    df["draws"], df["seed"] = n, seed
    df["method"] = scenario.apportionment + (" (controlled)" if scenario.controlled_rounding
                                             else "")
    present = set(bundle.posts["specialty"])
    return df[df["specialty"].isin(present)].reset_index(drop=True)


@dataclass(frozen=True)
class Intervals:
    """Monte Carlo intervals: per local office x specialty, per local office, and what they cover.

    ``cells`` is :func:`monte_carlo_targets`'s table. ``areas`` has one row per local office
    with its net gap over all specialties (sum of target − current; negative: the area gives)
    and its own percentiles over draws (not sums of per-specialty percentiles).
    """

    cells: pd.DataFrame
    areas: pd.DataFrame
    coverage: str
    notes: list[str]


def _area_frame(scenario: Scenario, cells: pd.DataFrame, inp: Inputs, per_draw: dict[str, Any],
                n: int, percentiles: Sequence[float], text: str) -> pd.DataFrame:
    geo = inp.geo
    gap = cells.assign(gap=cells["target"] - cells["current"]).groupby("area")
    df = pd.DataFrame({"scenario": scenario.name, "area_code": geo.lo_codes,
                       "area": geo.local_offices})
    df["current"] = df["area"].map(gap["current"].sum()).fillna(0).astype(np.int64)
    df["gap"] = df["area"].map(gap["gap"].sum()).fillna(0).astype(np.int64)
    for name, values in per_draw.items():
        df[f"{name}_mean"] = values.mean(axis=0)
        for p in percentiles:
            df[f"{name}_p{p:g}"] = np.percentile(values, p, axis=0)
    df["draws"] = n
    df["interval_covers"] = text
    return df


def monte_carlo_intervals(
    bundle: Bundle,
    scenario: Scenario,
    spec: UncertaintySpec | None = None,
    *,
    draws: int = 1000,
    seed: int = 0,
    workers: int = 1,
    chunk: int | None = None,
    progress: ProgressCallback | None = None,
    dask_client: Any = None,
    executor: Executor | None = None,
    percentiles: Sequence[float] = PERCENTILES,
    cache: KernelCache | None = None,
) -> Intervals:
    """Intervals on whole-post targets and gaps, per local office x specialty and per area.

    Each draw takes δ, weights, σ (multiplier and tier), a projection variant and one option of
    every structural choice (population base, convergence, ...); its targets are the model's
    whole targets on the scenario with those options. See :func:`monte_carlo_targets`.
    ``cache`` (a :class:`KernelCache`, one per bundle) keeps the prepared need arrays between
    calls.
    """
    if draws < 1:
        raise ValueError(f"need at least one draw, got {draws}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    spec = spec or UncertaintySpec()
    kernel, inp = _build_structured(bundle, scenario, spec, seed, cache)
    size = chunk or _auto_chunk(draws, workers if dask_client is None else 2)
    counts = {"target": np.zeros(kernel.target.size, dtype=np.int64),
              "gap": np.zeros(kernel.gap.size, dtype=np.int64)}
    if kernel.with_aim:
        counts["aim_gap"] = np.zeros(kernel.gap.size, dtype=np.int64)
    n_area = inp.current.shape[1]
    per_draw = {name: np.zeros((draws, n_area), dtype=np.int64)
                for name in (("gap", "aim_gap") if kernel.with_aim else ("gap",))}
    for (a, b), out in _run_chunks(_target_chunk, kernel, draws, size, workers, executor,
                                   dask_client, progress):
        for name, total in counts.items():
            idx, cnt = out[name]
            total[idx] += cnt
        for name, values in per_draw.items():
            values[a:b] = out[f"area_{name}"]
    stats = _summaries(counts["target"], kernel.target, draws, "target", percentiles, True)
    stats |= _summaries(counts["gap"], kernel.gap, draws, "gap", percentiles, False)
    stats |= _sides(counts["gap"], kernel.gap, draws)
    if kernel.with_aim:
        stats |= _summaries(counts["aim_gap"], kernel.gap, draws, "aim_gap", percentiles, False)
    text = coverage(spec, draws, percentiles)
    cells = _frame(bundle, scenario, inp, stats, draws, seed)
    cells["interval_covers"] = text
    notes = _notes(scenario, spec)
    areas = _area_frame(scenario, cells, inp, per_draw, draws, percentiles, text)
    return Intervals(cells=cells, areas=areas, coverage=text, notes=notes)


def monte_carlo_targets(
    bundle: Bundle,
    scenario: Scenario,
    spec: UncertaintySpec | None = None,
    *,
    draws: int = 1000,
    seed: int = 0,
    workers: int = 1,
    chunk: int | None = None,
    progress: ProgressCallback | None = None,
    dask_client: Any = None,
    executor: Executor | None = None,
    percentiles: Sequence[float] = PERCENTILES,
    cache: KernelCache | None = None,
) -> pd.DataFrame:
    """Intervals on whole-post targets and gaps per local office x specialty.

    Each draw's fractional targets are made whole with the scenario's apportionment method, so
    every draw preserves each specialty's national total exactly. Columns: scenario, area_code,
    area, specialty, current, target (the scenario's own whole target), target_mean, target_sd,
    target_p5/p50/p95, gap_p5/p50/p95 (gap = target − the draw's current posts; negative
    gives), p_gives and p_receives (share of draws with gap < 0 and > 0), aim_gap_p5/p50/p95
    when a convergence policy other than full is drawn (the aim's change from today), draws,
    seed, method, interval_covers (what the interval covers and what it does not).

    ``workers > 1`` runs chunks in a local process pool (or pass a running ``executor`` to reuse
    one); a ``dask_client`` (``distributed.Client``) runs the same chunk function on its cluster
    instead. Each chunk regenerates its own draws from ``(seed, draw numbers)``, so results are
    identical whichever way and in whatever chunks the run is made. ``progress(done, total)`` is
    called as chunks finish. Notes (e.g. the scenario's δ outside the drawn range) are in
    ``df.attrs["notes"]``, the coverage statement in ``df.attrs["coverage"]``.
    """
    res = monte_carlo_intervals(bundle, scenario, spec, draws=draws, seed=seed, workers=workers,
                                chunk=chunk, progress=progress, dask_client=dask_client,
                                executor=executor, percentiles=percentiles, cache=cache)
    df = res.cells
    df.attrs["notes"] = res.notes
    df.attrs["coverage"] = res.coverage
    df.attrs["spec"] = (spec or UncertaintySpec()).model_dump(mode="json")
    return df


# --------------------------------------------------------------------------------------------
# Plan-level Monte Carlo
# --------------------------------------------------------------------------------------------


def plan_options(scenario: Scenario) -> Any:
    """The scenario's pace-of-change settings (one definition: ``fairshare.model.pipeline``)."""
    from fairshare.model.pipeline import plan_options as from_scenario

    return from_scenario(scenario)


@dataclass(frozen=True)
class _PlanKernel:
    targets: _Structured
    rows: np.ndarray  # specialty indices present in the establishment
    specialties: pd.DataFrame  # specialty, programme_years, phase_start
    options: Any  # PlanOptions
    extra: dict[str, Any] = field(default_factory=dict)  # vacancies/capacity/min_posts tables


def _plan_chunk(bounds: tuple[int, int], kernel: _PlanKernel) -> tuple[np.ndarray, list[str]]:
    """Worker task: remaining gap at the horizon, (draw, spec present, lo), and plan statuses."""
    from fairshare.model.plan import PlanProblem, plan

    k = kernel.targets
    draws = k.draws(*bounds)
    _, current, aim = k.evaluate(draws)  # the plan moves toward the aim
    geo = k.parts[0].geo
    n_area = len(geo.local_offices)
    names = [k.parts[0].need.specialties[s] for s in kernel.rows]
    out = np.zeros((len(draws), len(kernel.rows), n_area), dtype=np.int64)
    statuses = []
    for i in range(len(draws)):
        posts = pd.DataFrame({
            "area": np.tile(geo.local_offices, len(names)),
            "specialty": np.repeat(names, n_area),
            "current": current[i, kernel.rows].ravel(),
            "target": aim[i, kernel.rows].ravel(),
        })
        result = plan(PlanProblem(posts=posts, specialties=kernel.specialties, **kernel.extra),
                      kernel.options)
        last = result.table[result.table["year"] == kernel.options.horizon]
        gap = last.pivot_table(index="specialty", columns="area", values="remaining_gap",
                               aggfunc="sum")
        out[i] = gap.reindex(index=names, columns=geo.local_offices).fillna(0).to_numpy()
        statuses.append(result.status)
    return out, statuses


def monte_carlo_plan(
    bundle: Bundle,
    scenario: Scenario,
    spec: UncertaintySpec | None = None,
    *,
    draws: int = 50,
    seed: int = 0,
    workers: int = 1,
    chunk: int | None = None,
    progress: ProgressCallback | None = None,
    dask_client: Any = None,
    executor: Executor | None = None,
    percentiles: Sequence[float] = PERCENTILES,
    options: Any = None,
    vacancies: pd.DataFrame | None = None,
    capacity: pd.DataFrame | None = None,
    min_posts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Intervals on the gap still open at the horizon, planning each draw's targets.

    Each draw's whole targets (the same draws as :func:`monte_carlo_targets` for the same seed)
    go through ``model.plan.plan``; this is the heavy, solver-bound Monte Carlo that a Dask
    cluster is for. Columns: scenario, area_code, area, specialty, current, target,
    remaining_gap_mean, remaining_gap_p5/p50/p95 (the draw's aim − posts at the horizon; the
    aim is the target under full convergence), p_at_target (share of draws in which the area
    reaches its aim by the horizon), draws, seed, method, interval_covers.
    ``df.attrs["statuses"]`` counts plan statuses (optimal / elastic / infeasible).
    """
    from fairshare.model.plan import PlanOptions

    if draws < 1:
        raise ValueError(f"need at least one draw, got {draws}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    spec = spec or UncertaintySpec()
    tk, inp = _build_structured(bundle, scenario, spec, seed)
    present = set(bundle.posts["specialty"])
    rows = np.array([i for i, s in enumerate(inp.need.specialties) if s in present],
                    dtype=np.int64)
    opts = options if options is not None else plan_options(scenario)
    if not isinstance(opts, PlanOptions):
        raise TypeError("options must be a fairshare.model.plan.PlanOptions")
    specs = bundle.specialties[["specialty", "programme_years", "phase_start"]]
    specs = specs[specs["specialty"].isin(present)].reset_index(drop=True)
    extra = {k: v for k, v in (("vacancies", vacancies), ("capacity", capacity),
                               ("min_posts", min_posts)) if v is not None}
    kernel = _PlanKernel(targets=tk, rows=rows, specialties=specs, options=opts, extra=extra)
    size = chunk or 1
    n_area = inp.current.shape[1]
    gaps = np.zeros((draws, len(rows), n_area), dtype=np.int64)
    statuses: list[str] = [""] * draws
    for (a, b), (gap, stat) in _run_chunks(_plan_chunk, kernel, draws, size, workers, executor,
                                           dask_client, progress):
        gaps[a:b] = gap
        statuses[a:b] = stat
    n_spec = inp.current.shape[0]
    full = np.zeros((draws, n_spec, n_area), dtype=np.int64)
    full[:, rows] = gaps
    cols: dict[str, np.ndarray] = {"remaining_gap_mean": full.mean(axis=0)}
    for p in percentiles:
        cols[f"remaining_gap_p{p:g}"] = np.percentile(full, p, axis=0)
    cols["p_at_target"] = (full == 0).mean(axis=0)
    df = _frame(bundle, scenario, inp, cols, draws, seed)
    df["interval_covers"] = coverage(spec, draws, percentiles)
    df.attrs["statuses"] = {str(k): int(v) for k, v in pd.Series(statuses).value_counts().items()}
    df.attrs["notes"] = _notes(scenario, spec)
    df.attrs["coverage"] = df["interval_covers"].iloc[0] if len(df) else ""
    return df
