"""Sensitivity: which uncertain parameter moves which targets, ranked (SALib Morris or Sobol).

Monte Carlo (``analysis.uncertainty``) says *how uncertain* each target is; a planner then asks
*why*: is it the deprivation weight δ, the mix of core, specialty and future need, the specialised
share σ or the population projection? This module answers with a global sensitivity analysis over
the same parameters and ranges as the Monte Carlo:

* ``deprivation_weight``: δ over the ``UncertaintySpec`` range;
* ``w_core``, ``w_specialty``, ``w_future``: one multiplier per weight family applied to every
  specialty's weight, after which each specialty's three weights are renormalised to sum to 1 (a
  global "more weight on core need" shift; the Monte Carlo's per-specialty Dirichlet noise has no
  single direction to rank);
* ``specialised_share_multiplier``: the factor on every σ (clipped to [0, 1]);
* ``projection_variant``: the index into ``UncertaintySpec.projection_variants`` (a categorical
  parameter: Morris and Sobol treat it as an ordered one, so its index measures how much switching
  variant matters, not a direction).

Parameters whose range has zero width are left out. The outputs are the *fractional* targets of
every local office x specialty in the establishment: rounding to whole posts adds steps of one
post that derivative-based screening would misread as sensitivity.

Morris (default) is a cheap screening: ``mu_star`` is the mean absolute change in a target, in
posts, as the parameter moves across its range (SALib's elementary effects on the unit scale).
Sobol (on request, ~10x more model runs) splits the variance of each target: S1 is the parameter's
own share, ST its share including interactions. Both are aggregated to one ranked row per
parameter (sum of mu_star over targets; variance-weighted mean of S1/ST, Gamboa et al.) with the
targets it moves most.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from fairshare.analysis.uncertainty import Range, UncertaintySpec, _build_kernel, _fractional_fast
from fairshare.inputs.bundle import Bundle
from fairshare.scenario import Scenario

__all__ = ["SensitivityResult", "sensitivity"]

Method = Literal["morris", "sobol"]


@dataclass(frozen=True)
class SensitivityResult:
    """Ranked parameters and the per-target indices behind the ranking."""

    ranking: pd.DataFrame
    """One row per parameter, most influential first: rank, parameter, low, high, the index
    (mu_star_total / mu_star_max for Morris; S1 / ST for Sobol), and the targets, specialties
    and areas it moves most."""
    detail: pd.DataFrame
    """parameter, specialty, area and the indices for every target."""
    method: str
    runs: int
    """Model evaluations made."""


@dataclass(frozen=True)
class _Param:
    name: str
    low: float
    high: float


def _parameters(spec: UncertaintySpec, weight_range: Range) -> list[_Param]:
    out = []
    d = spec.deprivation_weight
    if d.high > d.low:
        out.append(_Param("deprivation_weight", d.low, d.high))
    if weight_range.high > weight_range.low:
        out += [_Param(f"w_{f}", weight_range.low, weight_range.high)
                for f in ("core", "specialty", "future")]
    m = spec.specialised_share_multiplier
    if m.high > m.low:
        out.append(_Param("specialised_share_multiplier", m.low, m.high))
    if len(spec.projection_variants) > 1:
        out.append(_Param("projection_variant", 0.0, float(len(spec.projection_variants))))
    return out


def _evaluate(kernel: Any, spec: UncertaintySpec, params: list[_Param], x: np.ndarray,
              rows: np.ndarray) -> np.ndarray:
    """(runs, targets) fractional targets for parameter rows ``x``."""
    n = x.shape[0]
    col = {p.name: x[:, i] for i, p in enumerate(params)}
    d = spec.deprivation_weight
    delta = col.get("deprivation_weight", np.full(n, d.low))
    mult = np.ones((n, 3))
    for j, f in enumerate(("core", "specialty", "future")):
        if f"w_{f}" in col:
            mult[:, j] = col[f"w_{f}"]
    w = kernel.weights[None, :, :] * mult[:, None, :]
    total = w.sum(axis=-1, keepdims=True)
    w = np.where(total > 0, w / np.where(total > 0, total, 1.0), kernel.weights[None])
    m = spec.specialised_share_multiplier
    sm = col.get("specialised_share_multiplier", np.full(n, m.low))
    sigma = np.clip(sm[:, None] * kernel.sigma[None, :], 0.0, 1.0)
    n_var = len(spec.projection_variants)
    if "projection_variant" in col:
        variant = np.minimum(np.floor(col["projection_variant"]).astype(np.int64), n_var - 1)
    else:
        variant = np.zeros(n, dtype=np.int64)
    frac = _fractional_fast(kernel, delta, w, sigma, variant)
    return frac[:, rows, :].reshape(n, -1)


def _top(values: pd.Series, k: int, unit: str) -> str:
    best = values.sort_values(ascending=False).head(k)
    return "; ".join(f"{name} ({v:.3g}{unit})" for name, v in best.items() if v > 0)


def sensitivity(
    bundle: Bundle,
    scenario: Scenario,
    spec: UncertaintySpec | None = None,
    *,
    method: Method = "morris",
    n: int | None = None,
    seed: int = 0,
    weight_range: Range | None = None,
    levels: int = 4,
    num_resamples: int = 100,
    top: int = 3,
) -> SensitivityResult:
    """Rank the uncertain parameters by how much they move the targets.

    ``n``: Morris trajectories (default 40; runs = n x (parameters + 1)) or Sobol base samples
    (default 256, a power of two; runs = n x (parameters + 2)). ``weight_range``: the multiplier
    range of the three weight families (default [0.5, 1.5]). ``seed`` makes the design and the
    bootstrap confidence intervals reproducible. ``top``: how many targets, specialties and areas
    to name per parameter.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    spec = spec or UncertaintySpec()
    wr = weight_range or Range(low=0.5, high=1.5)
    if wr.low < 0:
        raise ValueError("weight_range must be >= 0")
    kernel, inp = _build_kernel(bundle, scenario, spec, seed)
    params = _parameters(spec, wr)
    if not params:
        raise ValueError("no parameter has a range of positive width: nothing to analyse")
    problem = {"num_vars": len(params), "names": [p.name for p in params],
               "bounds": [[p.low, p.high] for p in params]}
    present = set(bundle.posts["specialty"])
    rows = np.array([i for i, s in enumerate(inp.need.specialties) if s in present],
                    dtype=np.int64)
    areas = inp.geo.local_offices
    specs = [inp.need.specialties[i] for i in rows]
    cell_spec = np.repeat(specs, len(areas))
    cell_area = np.tile(areas, len(specs))

    if method == "morris":
        x = morris_sample.sample(problem, n or 40, num_levels=levels, seed=seed)
    elif method == "sobol":
        base = n or 256
        if base & (base - 1):
            base = 2 ** math.ceil(math.log2(base))  # Sobol' sequences balance at powers of 2
        x = sobol_sample.sample(problem, base, calc_second_order=False, seed=seed)
    else:
        raise ValueError(f"method must be 'morris' or 'sobol', not {method!r}")
    y = _evaluate(kernel, spec, params, x, rows)

    records: dict[str, list[np.ndarray]] = {}
    if method == "morris":
        keys = ["mu_star", "mu", "sigma", "mu_star_conf"]
        for j in range(y.shape[1]):
            res = morris_analyze.analyze(problem, x, y[:, j], num_resamples=num_resamples,
                                         num_levels=levels, seed=seed)
            for key in keys:
                records.setdefault(key, []).append(np.asarray(res[key], dtype=float))
    else:
        keys = ["S1", "ST", "S1_conf", "ST_conf"]
        var = y.var(axis=0)
        for j in range(y.shape[1]):
            if var[j] <= 1e-18:  # a target nothing moves: every index is 0
                for key in keys:
                    records.setdefault(key, []).append(np.zeros(len(params)))
                continue
            res = sobol_analyze.analyze(problem, y[:, j], calc_second_order=False,
                                        num_resamples=num_resamples, seed=seed)
            for key in keys:
                records.setdefault(key, []).append(np.nan_to_num(np.asarray(res[key],
                                                                            dtype=float)))
    arrays = {k: np.vstack(v) for k, v in records.items()}  # (target, parameter)

    detail_parts = []
    for i, p in enumerate(params):
        part = pd.DataFrame({"parameter": p.name, "specialty": cell_spec, "area": cell_area,
                             **{k: a[:, i] for k, a in arrays.items()}})
        if method == "sobol":
            part["variance"] = y.var(axis=0)
        detail_parts.append(part)
    detail = pd.concat(detail_parts, ignore_index=True)

    rank_rows = []
    for p in params:
        g = detail[detail["parameter"] == p.name]
        if method == "morris":
            strength = g["mu_star"]
            row: dict[str, Any] = {"mu_star_total": float(strength.sum()),
                                   "mu_star_max": float(strength.max())}
            unit, sort_key = " posts", "mu_star_total"
        else:
            strength = g["ST"] * g["variance"]  # variance (posts²) the parameter is part of
            total_var = float(g["variance"].sum())
            row = {"S1": float((g["S1"] * g["variance"]).sum() / total_var) if total_var else 0.0,
                   "ST": float(strength.sum() / total_var) if total_var else 0.0}
            unit, sort_key = " posts²", "ST"
        labels = g["specialty"] + " @ " + g["area"]
        row["affected_targets"] = _top(pd.Series(strength.to_numpy(), index=labels), top, unit)
        row["affected_specialties"] = _top(strength.groupby(g["specialty"]).sum(), top, unit)
        row["affected_areas"] = _top(strength.groupby(g["area"]).sum(), top, unit)
        rank_rows.append({"parameter": p.name, "low": p.low, "high": p.high, **row})
    ranking = pd.DataFrame(rank_rows).sort_values(sort_key, ascending=False,
                                                  kind="stable").reset_index(drop=True)
    ranking.insert(0, "rank", np.arange(1, len(ranking) + 1))
    return SensitivityResult(ranking=ranking, detail=detail, method=method, runs=int(x.shape[0]))
