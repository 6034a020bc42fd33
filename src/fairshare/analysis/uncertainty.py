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
import math
import multiprocessing
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from fairshare.apportionment import apportion
from fairshare.scenario import SIGMA_TIERS, Range, StructuralChoice, UncertaintySpec
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

#: Parameter families, in the order their child seeds are spawned. New families are only ever
#: appended, so existing families keep their streams (child i of a SeedSequence does not depend on
#: how many children are spawned).
FAMILIES: tuple[str, ...] = ("deprivation_weight", "weights", "specialised_share",
                             "projection_variant", "specialised_share_tier", "structure")


#: Draws are generated in blocks of this many, each block from its own seed (see
#: :func:`draw_parameters`); chunks of a run are whole blocks where possible.
DRAW_BLOCK = 256

#: Percentiles reported by default.
PERCENTILES: tuple[float, ...] = (5.0, 50.0, 95.0)

#: ``progress(done, total)``: called after each finished chunk with the number of draws done.
ProgressCallback = Callable[[int, int], None]

# Relative margin within which a float rounding decision is re-checked exactly.
_TOL = 1e-9


# --------------------------------------------------------------------------------------------
# Draws
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draws:
    """The parameter values of ``n`` draws (arrays indexed by draw first).

    ``index`` holds the global draw numbers, so a slice shipped to a worker knows where its
    results belong. ``variant`` indexes ``variants``.
    """

    seed: int
    index: np.ndarray  # (n,) int64
    deprivation_weight: np.ndarray  # (n,)
    weights: np.ndarray  # (n, spec, 3) core, specialty, future; rows sum to 1
    specialised_share_multiplier: np.ndarray  # (n,)
    specialised_share: np.ndarray  # (n, spec), clipped to [0, 1]
    variant: np.ndarray  # (n,) int64
    variants: tuple[str, ...]
    tier_shift: np.ndarray  # (n, spec) int64: -1 one σ tier lower, +1 one higher, 0 as set
    structure: np.ndarray  # (n,) int64: index of the draw's structural combination

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def take(self, start: int, stop: int) -> Draws:
        """Draws ``start`` to ``stop`` (positions in this object), e.g. one chunk for a worker."""
        s = slice(start, stop)
        return replace(
            self,
            index=self.index[s],
            deprivation_weight=self.deprivation_weight[s],
            weights=self.weights[s],
            specialised_share_multiplier=self.specialised_share_multiplier[s],
            specialised_share=self.specialised_share[s],
            variant=self.variant[s],
            tier_shift=self.tier_shift[s],
            structure=self.structure[s],
        )

    def select(self, rows: np.ndarray) -> Draws:
        """The draws at positions ``rows`` (e.g. those of one structural combination)."""
        return replace(
            self, index=self.index[rows], deprivation_weight=self.deprivation_weight[rows],
            weights=self.weights[rows],
            specialised_share_multiplier=self.specialised_share_multiplier[rows],
            specialised_share=self.specialised_share[rows], variant=self.variant[rows],
            tier_shift=self.tier_shift[rows], structure=self.structure[rows])

    def variant_names(self) -> list[str]:
        """The projection variant of each draw, by name."""
        return [self.variants[i] for i in self.variant]


def _concat(parts: Sequence[Draws]) -> Draws:
    first = parts[0]
    if len(parts) == 1:
        return first
    return replace(
        first,
        index=np.concatenate([p.index for p in parts]),
        deprivation_weight=np.concatenate([p.deprivation_weight for p in parts]),
        weights=np.concatenate([p.weights for p in parts]),
        specialised_share_multiplier=np.concatenate(
            [p.specialised_share_multiplier for p in parts]),
        specialised_share=np.concatenate([p.specialised_share for p in parts]),
        variant=np.concatenate([p.variant for p in parts]),
        tier_shift=np.concatenate([p.tier_shift for p in parts]),
        structure=np.concatenate([p.structure for p in parts]),
    )


def _tiered(sigma: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(n, spec) σ moved one tier down (shift -1) or up (+1) from each specialty's σ.

    A σ between tiers (a scenario override) moves to the nearest tier below or above it; at
    the lowest or highest tier it stays.
    """
    tiers = np.asarray(SIGMA_TIERS)
    below = np.array([tiers[tiers < x - 1e-12].max(initial=-1.0) for x in sigma])
    above = np.array([tiers[tiers > x + 1e-12].min(initial=2.0) for x in sigma])
    below = np.where(below < 0, sigma, below)  # already at the lowest tier
    above = np.where(above > 1, sigma, above)  # already at the highest
    return np.where(shift < 0, below[None, :], np.where(shift > 0, above[None, :],
                                                         sigma[None, :]))


def _choice_key(choice: StructuralChoice) -> int:
    """A stream key from the parameter's name: adding or removing another choice leaves this
    one's draws unchanged (common random numbers across specs)."""
    return zlib.crc32(choice.parameter.encode())


def _structure(spec: UncertaintySpec, seed: int, block: int, n: int) -> np.ndarray:
    """(n,) index of each draw's combination of structural options (mixed radix, first
    choice fastest), each option picked by inverse CDF of its own uniform stream."""
    fam = FAMILIES.index("structure")
    out = np.zeros(n, dtype=np.int64)
    radix = 1
    for choice in spec.structural:
        seq = np.random.SeedSequence(seed, spawn_key=(fam, block, _choice_key(choice)))
        u = np.random.default_rng(seq).random(n)
        cum = np.cumsum(choice.weights())
        pick = np.minimum(np.searchsorted(cum, u, side="right"), len(choice.options) - 1)
        out += radix * pick
        radix *= len(choice.options)
    return out


def _draw_block(spec: UncertaintySpec, weights: np.ndarray, sigma: np.ndarray, seed: int,
                block: int) -> Draws:
    """Draws ``block * DRAW_BLOCK`` to ``(block + 1) * DRAW_BLOCK - 1``.

    Family ``f`` of block ``b`` comes from ``SeedSequence(seed, spawn_key=(f, b))`` -- the
    ``b``-th child of the ``f``-th child of ``SeedSequence(seed)`` -- so each family has its own
    stream (common random numbers) and any block can be made on its own (workers regenerate
    their draws instead of receiving them).
    """
    rng = {name: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(f, block)))
           for f, name in enumerate(FAMILIES[:5])}
    n, n_spec = DRAW_BLOCK, weights.shape[0]

    delta = spec.deprivation_weight.ppf(rng["deprivation_weight"].random(n))

    centre = np.asarray(weights, dtype=float)
    if spec.weight_concentration is None:
        w = np.broadcast_to(centre, (n, n_spec, 3)).copy()
    else:
        alpha = spec.weight_concentration * centre
        gam = rng["weights"].standard_gamma(np.broadcast_to(alpha, (n, n_spec, 3)))
        w = gam / gam.sum(axis=-1, keepdims=True)

    m = spec.specialised_share_multiplier
    mult = m.ppf(rng["specialised_share"].random(n))
    p = spec.specialised_share_tier_shift
    shift = np.zeros((n, n_spec), dtype=np.int64)
    if p > 0:
        u = rng["specialised_share_tier"].random((n, n_spec))
        shift = np.where(u < p, -1, np.where(u >= 1 - p, 1, 0)).astype(np.int64)
    base = _tiered(np.asarray(sigma, dtype=float), shift)
    sig = base if m.low == m.high == 1.0 else np.clip(mult[:, None] * base, 0.0, 1.0)

    n_var = len(spec.projection_variants)
    variant = np.minimum((rng["projection_variant"].random(n) * n_var).astype(np.int64),
                         n_var - 1)
    first = block * DRAW_BLOCK
    return Draws(seed=seed, index=np.arange(first, first + n, dtype=np.int64),
                 deprivation_weight=delta, weights=w, specialised_share_multiplier=mult,
                 specialised_share=sig, variant=variant,
                 variants=tuple(spec.projection_variants), tier_shift=shift,
                 structure=_structure(spec, seed, block, n))


def _draw_range(spec: UncertaintySpec, weights: np.ndarray, sigma: np.ndarray, seed: int,
                start: int, stop: int) -> Draws:
    """Draws ``start`` to ``stop - 1`` from the blocks that hold them."""
    parts = []
    for block in range(start // DRAW_BLOCK, -(-stop // DRAW_BLOCK)):
        first = block * DRAW_BLOCK
        part = _draw_block(spec, weights, sigma, seed, block)
        parts.append(part.take(max(start, first) - first, min(stop, first + DRAW_BLOCK) - first))
    if not parts:
        return _draw_block(spec, weights, sigma, seed, 0).take(0, 0)
    return _concat(parts)


def draw_parameters(spec: UncertaintySpec, inputs: Inputs, n: int, seed: int,
                    start: int = 0) -> Draws:
    """Draws ``start`` to ``start + n - 1`` around the scenario ``inputs`` were prepared for.

    Draw *i* is a function of ``(seed, i)``, the spec and the scenario's centre values only: never
    of ``n``, of ``start`` or of how a run is chunked. Each family has its own child seed, spawned
    in the order of :data:`FAMILIES`, so runs whose specs differ in one family share the others'
    draws exactly (common random numbers).
    """
    if n < 0:
        raise ValueError(f"number of draws must be >= 0, got {n}")
    if seed < 0 or start < 0:
        raise ValueError(f"seed and start must be >= 0, got seed={seed}, start={start}")
    return _draw_range(spec, inputs.weights, inputs.sigma, seed, start, start + n)


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
class _Hist:
    """Exact value counts per (spec, lo) cell: cell c holds values low[c] .. low[c] + width[c] - 1
    at positions offsets[c] .. offsets[c] + width[c] - 1 of one count vector."""

    low: np.ndarray  # (spec, lo) int64
    width: np.ndarray  # (spec, lo) int64
    offsets: np.ndarray  # (spec, lo) int64
    size: int

    @classmethod
    def make(cls, low: np.ndarray, high: np.ndarray) -> _Hist:
        width = (high - low + 1).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(width.ravel())[:-1]]).astype(np.int64)
        return cls(low=low.astype(np.int64), width=width,
                   offsets=starts.reshape(low.shape), size=int(width.sum()))

    def count(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sparse (index, count) of (draw, spec, lo) values."""
        flat = (self.offsets[None] + values - self.low[None]).ravel()
        counts = np.bincount(flat, minlength=self.size)
        idx = np.flatnonzero(counts)
        return idx.astype(np.int64), counts[idx].astype(np.int64)


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


def _option_text(option: Any) -> str:
    if isinstance(option, dict):
        return " ".join(str(v) for v in option.values())
    return str(option)


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
# Running chunks: serial, process pool, Dask
# --------------------------------------------------------------------------------------------


def _chunks(n: int, chunk: int) -> list[tuple[int, int]]:
    return [(a, min(a + chunk, n)) for a in range(0, n, chunk)]


def _pool_context() -> Any:
    """forkserver where available (safe with threads, workers start from a clean process that
    has fairshare already imported), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["fairshare.analysis.uncertainty"])
        return ctx
    return multiprocessing.get_context("spawn")


def _run_chunks(fn: Callable[[tuple[int, int], Any], Any], kernel: Any, n: int, chunk: int,
                workers: int, executor: Executor | None, dask_client: Any,
                progress: ProgressCallback | None) -> Iterator[tuple[tuple[int, int], Any]]:
    """Run ``fn((start, stop), kernel)`` over chunks of draw numbers; yield (bounds, result).

    Results come in completion order; callers reduce them order-independently (exact counts, or
    placing rows by draw number), which is what makes serial and parallel runs identical.
    """
    pieces = _chunks(n, chunk)
    done = 0
    if progress is not None:
        progress(0, n)

    def tick(bounds: tuple[int, int]) -> None:
        nonlocal done
        done += bounds[1] - bounds[0]
        if progress is not None:
            progress(done, n)

    if dask_client is not None:
        from distributed import as_completed

        kfut = dask_client.scatter(kernel, broadcast=True, hash=False)
        futures = dask_client.map(fn, pieces, kernel=kfut, pure=False)
        where = {f.key: p for f, p in zip(futures, pieces, strict=True)}
        for fut in as_completed(futures):
            bounds = where[fut.key]
            result = fut.result()
            tick(bounds)
            yield bounds, result
        return
    if executor is None and (workers <= 1 or len(pieces) <= 1):
        for bounds in pieces:
            result = fn(bounds, kernel)
            tick(bounds)
            yield bounds, result
        return
    pool = executor or ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context())
    try:
        pending: dict[Future[Any], tuple[int, int]] = {pool.submit(fn, p, kernel): p
                                                       for p in pieces}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                bounds = pending.pop(fut)
                result = fut.result()
                tick(bounds)
                yield bounds, result
    finally:
        if executor is None:
            pool.shutdown(cancel_futures=True)


def _auto_chunk(n: int, workers: int) -> int:
    """About four chunks per worker (load balance), in whole draw blocks, at most 2,048 draws
    (bounded memory: a chunk's arrays are chunk x specialties x areas)."""
    blocks = math.ceil(n / max(1, 4 * workers) / DRAW_BLOCK)
    return DRAW_BLOCK * max(1, min(2048 // DRAW_BLOCK, blocks))


# --------------------------------------------------------------------------------------------
# Target-level Monte Carlo
# --------------------------------------------------------------------------------------------


def _percentile_from_counts(counts: np.ndarray, offsets: np.ndarray, n: int,
                            q: float) -> np.ndarray:
    """Per-cell percentile (numpy's default linear interpolation) from exact value counts,
    as a position within the cell's block (add the cell's lowest value)."""
    cum = np.cumsum(counts)
    start = offsets.ravel()
    base = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0)
    pos = q / 100 * (n - 1)
    lo, hi = math.floor(pos), math.ceil(pos)

    def value(rank: int) -> np.ndarray:
        return np.searchsorted(cum, base + rank, side="right") - start

    v_lo, v_hi = value(lo), value(hi)
    return (v_lo + (pos - lo) * (v_hi - v_lo)).reshape(offsets.shape)


def _values(h: _Hist) -> tuple[np.ndarray, np.ndarray]:
    """(cell of each count position, value at each count position)."""
    cell = np.repeat(np.arange(h.low.size), h.width.ravel())
    value = np.arange(h.size) - np.repeat(h.offsets.ravel(), h.width.ravel()) + h.low.ravel()[cell]
    return cell, value


def _summaries(counts: np.ndarray, h: _Hist, n: int, name: str,
               percentiles: Sequence[float], moments: bool) -> dict[str, np.ndarray]:
    """Percentiles (and mean, sd) of one quantity per (spec, lo) from exact counts."""
    out: dict[str, np.ndarray] = {}
    if moments:
        cell, value = _values(h)
        c = counts.astype(float)
        mean = np.bincount(cell, weights=c * value, minlength=h.low.size) / n
        sq = np.bincount(cell, weights=c * (value - mean[cell]) ** 2, minlength=h.low.size)
        out[f"{name}_mean"] = mean.reshape(h.low.shape)
        out[f"{name}_sd"] = np.sqrt(sq / n).reshape(h.low.shape)
    for p in percentiles:
        out[f"{name}_p{p:g}"] = _percentile_from_counts(counts, h.offsets, n, p) + h.low
    return out


def _sides(counts: np.ndarray, h: _Hist, n: int) -> dict[str, np.ndarray]:
    """Share of draws in which each cell's gap is below and above zero."""
    cell, value = _values(h)
    c = counts.astype(float)
    below = np.bincount(cell, weights=c * (value < 0), minlength=h.low.size)
    above = np.bincount(cell, weights=c * (value > 0), minlength=h.low.size)
    return {"p_gives": (below / n).reshape(h.low.shape),
            "p_receives": (above / n).reshape(h.low.shape)}


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


def _notes(scenario: Scenario, spec: UncertaintySpec) -> list[str]:
    d, r = scenario.deprivation_weight, spec.deprivation_weight
    notes = []
    if not r.low <= d <= r.high:
        notes.append(f"the scenario's δ = {d:g} lies outside the drawn range "
                     f"[{r.low:g}, {r.high:g}]: intervals describe the drawn range")
    if scenario.projection_variant not in spec.projection_variants:
        notes.append(f"the scenario's projection variant '{scenario.projection_variant}' is not "
                     f"among the variants drawn")
    for choice in spec.structural:
        own = scenario.value_at(choice.parameter)
        drawn = [scenario.with_structure({choice.parameter: o}) for o in choice.options]
        if all(d.value_at(choice.parameter) != own for d in drawn):
            own = own.model_dump() if isinstance(own, BaseModel) else own
            notes.append(f"the scenario's {choice.name()} ({_option_text(own)}) is not among "
                         "the options drawn")
    return notes


def _level(percentiles: Sequence[float]) -> str:
    low, high = min(percentiles), max(percentiles)
    return f"{high - low:g}% interval ({low:g}th to {high:g}th percentile)"


def coverage(spec: UncertaintySpec, draws: int,
             percentiles: Sequence[float] = PERCENTILES) -> str:
    """What an interval covers and what it does not, in one sentence for every output."""
    drawn: list[str] = []
    fixed: list[str] = []
    d = spec.deprivation_weight
    (drawn if d.high > d.low else fixed).append(
        f"δ {d.distribution} on [{d.low:g}, {d.high:g}]" if d.high > d.low else f"δ = {d.low:g}")
    if spec.weight_concentration is None:
        fixed.append("component weights")
    else:
        drawn.append(f"component weights (Dirichlet, concentration {spec.weight_concentration:g})")
    m = spec.specialised_share_multiplier
    if m.high > m.low:
        drawn.append(f"σ × {m.distribution} [{m.low:g}, {m.high:g}]")
    p = spec.specialised_share_tier_shift
    if p > 0:
        drawn.append(f"each specialty's σ tier one lower or higher ({p:.0%} each)")
    if m.high == m.low and p == 0:
        fixed.append("σ")
    v = spec.projection_variants
    (drawn if len(v) > 1 else fixed).append(f"ONS projection variant ({len(v)})" if len(v) > 1
                                            else f"projection variant {v[0]}")
    for choice in spec.structural:
        parts = ", ".join(f"{_option_text(o)} {w:.0%}"
                          for o, w in zip(choice.options, choice.weights(), strict=True))
        drawn.append(f"{choice.name()} ({parts})")
    text = f"{_level(percentiles)} of {draws:,} draws over: " + "; ".join(drawn)
    if fixed:
        text += ". Held fixed: " + ", ".join(fixed)
    return text + (". Not covered: the establishment's own counting error (staff in post is "
                   "not funded posts), error in the need and population data, and the form of "
                   "the model.")


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
