"""Monte Carlo draws: each parameter family from its own seeded stream (common random numbers).

Part of the uncertainty analysis (:mod:`fairshare.analysis.uncertainty`, docs/uncertainty.md).
Draw *i* is a function of ``(seed, i)``, the spec and the scenario's centre values only, so
serial, process-pool and Dask runs see the same numbers whatever the chunking; each family has
its own stream, so two specs that differ in one family share the others' draws exactly.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from fairshare.scenario import SIGMA_TIERS, StructuralChoice, UncertaintySpec

if TYPE_CHECKING:
    from fairshare.model.targets import Inputs

#: Parameter families, in the order their child seeds are spawned. New families are only ever
#: appended, so existing families keep their streams (child i of a SeedSequence does not depend on
#: how many children are spawned).
FAMILIES: tuple[str, ...] = ("deprivation_weight", "weights", "specialised_share",
                             "projection_variant", "specialised_share_tier", "structure")


#: Draws are generated in blocks of this many, each block from its own seed (see
#: :func:`draw_parameters`); chunks of a run are whole blocks where possible.
DRAW_BLOCK = 256


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
