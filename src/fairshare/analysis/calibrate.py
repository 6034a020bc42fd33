"""Calibration: fit the free parameters to a table of published gaps (``fairshare calibrate``).

A programme publishes gaps for some areas and specialties but not the model behind them. Given
those figures (``area, specialty, published_gap[, year]``), this finds the values of the
scenario's free parameters, within their allowed ranges, that reproduce them best:

* ``deprivation_weight`` δ in [0, 1];
* the weight mix, one for every specialty: ``core_weight`` a in [0, 1] and ``specialty_split``
  b in [0, 1] (specialty weight (1 − a)·b, future weight (1 − a)·(1 − b));
* ``specialised_multiplier`` m in [0, 2] on every catalogue σ (σ clipped to [0, 1]);
* ``convergence_share`` s in [0, 1]: the modelled gap is s · (target − current).

The fit is non-linear least squares (scipy ``least_squares``, trust-region reflective, within
the bounds) on the fractional gaps, started from the base scenario and from seeded random
points; the best fit wins, so the result is deterministic for a seed. Errors before and after
are then measured on whole posts, exactly as ``fairshare targets`` would report them.

Which parameters the data pin down is read from the Jacobian at the fit: the approximate
standard error of each parameter (from (JᵀJ)⁻¹ times the residual variance, scaled to the
parameter's range) and the singular values of the range-scaled Jacobian. A parameter whose
standard error is more than a quarter of its range, or that moves the fitted gaps by less than
a tenth of a post over its whole range, is reported as not identified; so is one that ends at a
bound of its range (within 2% of the range or three standard errors of it: the best fit may lie
beyond it). Only
identified values are written into the calibrated scenario: every other parameter keeps the
base scenario's value, and the scenario's description says which is which.

Every fit is checked out of sample beside the simplest rival, one scale factor k on the base
scenario's gaps (modelled gap = k · (target − current), k by least squares): each row is left
out in turn, both are refitted on the others and predict it, and the leave-one-out root mean
square errors are compared. A fit that does not beat one scale factor out of sample has learnt
no more than a scale from the figures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from fairshare.errors import FairshareError, InputError, Problem
from fairshare.inputs.bundle import Bundle
from fairshare.inputs.posts import area_lookup, cell_text, parse_year, read_table, suggest
from fairshare.model.targets import Inputs, fractional_targets, prepare, targets
from fairshare.scenario import Scenario

__all__ = ["PARAMETERS", "Calibration", "calibrate", "leave_one_out", "read_published",
           "scale_factor", "synthetic_published"]


@dataclass(frozen=True)
class Parameter:
    """A free parameter, its allowed range and what it means."""

    name: str
    low: float
    high: float
    meaning: str


PARAMETERS = (
    Parameter("deprivation_weight", 0.0, 1.0, "δ, weight on avoidable mortality"),
    Parameter("core_weight", 0.0, 1.0, "weight on NHS England core need (every specialty)"),
    Parameter("specialty_split", 0.0, 1.0, "share of the rest on today's driver (vs future)"),
    Parameter("specialised_multiplier", 0.0, 2.0, "factor on every catalogue σ"),
    Parameter("convergence_share", 0.0, 1.0, "share of each gap closed"),
)
NAMES = [p.name for p in PARAMETERS]
LOW = np.array([p.low for p in PARAMETERS])
HIGH = np.array([p.high for p in PARAMETERS])
SE_LIMIT = 0.25  # standard error above a quarter of the range: not identified
EFFECT_LIMIT = 0.1  # moves no fitted gap by a tenth of a post over its range: not identified
BOUND_LIMIT = 0.02  # within 2% of the range (or 3 s.e.) of a bound: at the bound, not identified


@dataclass(frozen=True)
class Calibration:
    """What ``calibrate`` found: parameters, per-row residuals, error before and after."""

    parameters: pd.DataFrame  # parameter, low, high, start, fitted, std_error, identified, note
    residuals: pd.DataFrame  # area, specialty, year, published_gap, gap_before, gap_after, ...
    rmse_before: float
    rmse_after: float
    scenario: Scenario  # the base scenario with the identified fitted values only
    written: list[str]  # parameters written into ``scenario`` (identified)
    checks: pd.DataFrame  # model, parameters, rmse_in_sample, rmse_leave_one_out
    beats_scale_factor: bool  # the fit's leave-one-out error is below one scale factor's


def read_published(path: str, bundle: Bundle, free: int = len(PARAMETERS)) -> pd.DataFrame:
    """Read ``area, specialty, published_gap[, year]``; every problem names file, row, column.

    Also refused: a row given twice (it would count double in the fit), a gap no area can
    have (more posts than it holds to give, more than the rest of England to gain), and fewer
    figures than the ``free`` parameters to fit (they could not all be pinned down)."""
    df = read_table(path)
    name = str(path)
    missing = [c for c in ("area", "specialty", "published_gap") if c not in df.columns]
    if missing:
        raise InputError([Problem(name, None, c, "missing column (expected area, specialty, "
                                  "published_gap and optionally year)") for c in missing])
    names = _Names.of(bundle)
    problems, rows = [], []
    for i, rec in enumerate(df.to_dict("records"), start=2):
        row, found = names.parse(rec)
        problems += [Problem(name, i, column, message) for column, message in found]
        rows.append(row)
    if problems:
        raise InputError(problems)
    table = pd.DataFrame(rows)
    problems = _repeated_rows(name, table) + _impossible_gaps(name, table, bundle)
    if problems:
        raise InputError(problems)
    if len(table) < free:
        raise InputError([Problem(name, None, "published_gap", f"{len(table)} published "
                                  f"figure(s) for {free} parameters to fit: each parameter "
                                  "needs at least one figure of its own, or it is fitted to "
                                  "noise. Give more figures, or hold parameters with --fix")])
    return table


def _repeated_rows(name: str, table: pd.DataFrame) -> list[Problem]:
    """Rows naming the same area, specialty and year as an earlier row."""
    keys = table[["area", "specialty", "year"]].astype(str)
    first = {k: i for i, k in reversed(list(enumerate(map(tuple, keys.to_numpy()))))}
    return [Problem(name, i + 2, None, f"{k[0]}, {k[1]}"
                    + (f", {k[2]}" if k[2] not in ("None", "nan", "<NA>") else "")
                    + f" is already given on row {first[k] + 2}: each figure once")
            for i, k in enumerate(map(tuple, keys.to_numpy())) if first[k] != i]


def _impossible_gaps(name: str, table: pd.DataFrame, bundle: Bundle) -> list[Problem]:
    """A gap beyond what the establishment allows: an area cannot give more posts than it
    holds, nor gain more than the rest of England holds in that specialty."""
    held = bundle.posts.groupby(["local_office", "specialty"])["posts"].sum()
    national = bundle.posts.groupby("specialty")["posts"].sum()
    problems = []
    for i, r in enumerate(table.itertuples(index=False), start=2):
        own = int(held.get((r.area, r.specialty), 0))
        rest = int(national.get(r.specialty, 0)) - own
        if not -own <= r.published_gap <= rest:
            problems.append(Problem(name, i, "published_gap", f"{r.published_gap:g} posts is "
                                    f"not a possible gap for {r.area}, {r.specialty}: it holds "
                                    f"{own:,} posts and the rest of England {rest:,} "
                                    "(expected -holds to +rest)"))
    return problems


@dataclass(frozen=True)
class _Names:
    """The spellings a published row may use, and the specialties the establishment holds."""

    areas: dict[str, str]
    specialties: dict[str, str]
    held: set[str]
    label: str

    @classmethod
    def of(cls, bundle: Bundle) -> _Names:
        areas, _ = area_lookup(bundle.local_offices, bundle.icbs)
        return cls(areas, {s.lower(): s for s in bundle.specialties["specialty"]},
                   set(bundle.posts["specialty"]), bundle.posts_label)

    def parse(self, rec: dict[str, object]) -> tuple[dict[str, object], list[tuple[str, str]]]:
        """One row as values, and (column, message) for each problem in it."""
        area, spec = cell_text(rec["area"]), cell_text(rec["specialty"])
        row: dict[str, object] = {"area": self.areas.get(area.lower()),
                                  "specialty": self.specialties.get(spec.lower())}
        found = []
        if row["area"] is None:
            found.append(("area", f"'{area}' is not a local office"
                          + suggest(area, sorted(set(self.areas.values())))))
        if row["specialty"] is None:
            found.append(("specialty", f"'{spec}' is not in the catalogue"
                          + suggest(spec, sorted(self.specialties.values()))))
        elif row["specialty"] not in self.held:
            found.append(("specialty", f"'{spec}' has no posts in the establishment "
                          f"({self.label}): nothing to compare"))
        gap = cell_text(rec["published_gap"])
        try:
            value = float(gap.replace(",", ""))
        except ValueError:
            value = float("nan")
        row["published_gap"] = value
        if not np.isfinite(value):
            found.append(("published_gap", f"'{gap}' is not a number (expected posts, "
                          "negative for an area giving posts)"))
        year = cell_text(rec.get("year", ""))
        parsed = parse_year(year) if year else None
        row["year"] = parsed if isinstance(parsed, int) else None
        if isinstance(parsed, str):
            found.append(("year", parsed))
        return row, found


class _Model:
    """Fractional modelled gaps at the published rows for a parameter vector (cheap)."""

    def __init__(self, inp: Inputs, rows: tuple[np.ndarray, np.ndarray]) -> None:
        self.inp, self.rows = inp, rows
        self.sigma = inp.sigma.copy()

    def gaps(self, theta: np.ndarray) -> np.ndarray:
        """Modelled fractional gaps (share closed × (target − current)) at the rows."""
        delta, a, b, m, s = theta
        n = len(self.inp.need.specialties)
        weights = np.tile([a, (1 - a) * b, (1 - a) * (1 - b)], (n, 1))
        sigma = np.clip(self.sigma * m, 0, 1)
        frac = fractional_targets(self.inp, delta, weights, sigma)
        return s * (frac - self.inp.current)[self.rows]


def start_values(scenario: Scenario, inp: Inputs) -> np.ndarray:
    """The base scenario's values of the free parameters (mean weights over specialties)."""
    w = inp.weights.mean(axis=0)
    b = w[1] / (w[1] + w[2]) if w[1] + w[2] > 0 else 0.5
    c = scenario.convergence
    share = c.share if c.policy == "share" else 1.0
    return np.array([scenario.deprivation_weight, w[0], b, 1.0, share])


def fitted_scenario(base: Scenario, theta: np.ndarray,
                    write: frozenset[str] = frozenset(NAMES)) -> tuple[Scenario, float]:
    """The base scenario with the fitted values of the parameters in ``write`` (the others keep
    the base's values), and the σ multiplier still to apply (1 when σ is not written).

    The weight mix is written only when both ``core_weight`` and ``specialty_split`` are: one
    without the other does not make a mix.
    """
    delta, a, b, m, s = (float(x) for x in theta)
    changes: dict[str, object] = {"name": f"{base.name} (calibrated)"}
    if "deprivation_weight" in write:
        changes["deprivation_weight"] = delta
    if {"core_weight", "specialty_split"} <= write:
        changes["weights"] = {"core": a, "specialty": (1 - a) * b,
                              "future": 1 - a - (1 - a) * b}
        changes["specialty_weights"] = {}
    if "specialised_multiplier" not in write:
        m = 1.0
    elif base.specialised_share is not None:
        changes["specialised_share"] = min(base.specialised_share * m, 1.0)
    if "convergence_share" in write:
        changes["convergence"] = {"policy": "share", "share": s}
    return base.with_overrides(**changes), m


def _written(parameters: pd.DataFrame) -> frozenset[str]:
    """Identified parameters that make a scenario value (the weight mix needs both halves)."""
    ok = set(parameters.loc[parameters["identified"], "parameter"])
    if not {"core_weight", "specialty_split"} <= ok:
        ok -= {"core_weight", "specialty_split"}
    return frozenset(ok)


def calibrate(bundle: Bundle, base: Scenario, published: pd.DataFrame, *, seed: int = 0,
              starts: int = 4, fixed: Mapping[str, float] | None = None) -> Calibration:
    """Fit the free parameters to ``published`` (see the module docstring).

    ``fixed`` holds parameters at given values instead of fitting them (for example one the
    data cannot pin down).
    """
    inp = prepare(bundle, base)
    specs, los = inp.need.specialties, inp.geo.local_offices
    rows = (np.array([specs.index(s) for s in published["specialty"]]),
            np.array([los.index(a) for a in published["area"]]))
    model = _Model(inp, rows)
    y = published["published_gap"].to_numpy(float)
    first = np.clip(start_values(base, inp), LOW, HIGH)
    for name, value in _check_fixed(fixed or {}).items():
        first[NAMES.index(name)] = value
    free = [i for i, name in enumerate(NAMES) if name not in (fixed or {})]
    theta = _best_fit(model, y, first, free, np.random.default_rng(seed), starts)
    parameters = _identification(model, theta, first, y, free)
    write = _written(parameters)
    scenario, multiplier = fitted_scenario(base, theta, write)
    scenario = scenario.with_overrides(description=_description(base, parameters, write))
    if base.specialised_share is None and multiplier != 1.0:
        sigma = np.clip(model.sigma * multiplier, 0, 1)
        scenario = scenario.with_overrides(specialty_specialised_share=dict(
            zip(specs, (float(v) for v in sigma), strict=True)))
    before = _whole_gaps(bundle, base, published)
    after = _whole_gaps(bundle, scenario, published)
    residuals = published.assign(
        gap_before=before, gap_after=after,
        fitted_fractional=model.gaps(theta),
        residual_before=before - y, residual_after=after - y)
    checks = _checks(model, y, first, theta, free)
    fit_loo, scale_loo = checks["rmse_leave_one_out"].iloc[2], checks["rmse_leave_one_out"].iloc[1]
    return Calibration(
        parameters=parameters,
        residuals=residuals,
        rmse_before=_rmse(before - y),
        rmse_after=_rmse(after - y),
        scenario=scenario,
        written=sorted(write),
        checks=checks,
        beats_scale_factor=bool(fit_loo < scale_loo),
    )


def _description(base: Scenario, parameters: pd.DataFrame, write: frozenset[str]) -> str:
    kept = [p for p in NAMES if p not in write]
    text = ("Calibrated by `fairshare calibrate`. Written (identified by the published "
            f"figures): {', '.join(sorted(write)) or 'none'}. Kept at the base scenario "
            f"'{base.name}' (not identified or fixed): {', '.join(kept) or 'none'}.")
    return (base.description + "\n" + text).strip()


def scale_factor(y: np.ndarray, g: np.ndarray) -> float:
    """Least-squares k in y ≈ k · g (0 when every g is 0)."""
    gg = float(g @ g)
    return float(y @ g) / gg if gg > 0 else 0.0


def leave_one_out(y: np.ndarray, fit: Callable[[np.ndarray], object],
                  predict: Callable[[object, int], float]) -> np.ndarray:
    """Held-out predictions: row i predicted by ``predict(fit(mask without i), i)``."""
    out = np.zeros(len(y))
    for i in range(len(y)):
        keep = np.ones(len(y), dtype=bool)
        keep[i] = False
        out[i] = predict(fit(keep), i)
    return out


def _checks(model: _Model, y: np.ndarray, first: np.ndarray, theta: np.ndarray,
            free: list[int]) -> pd.DataFrame:
    """In-sample and leave-one-out errors of the base scenario, one scale factor on its gaps,
    and the fit (each refit without the row it predicts), on fractional gaps."""
    full = first.copy()
    full[NAMES.index("convergence_share")] = 1.0
    g = model.gaps(full)  # the base scenario's target − current at the rows
    base = model.gaps(first)
    k = scale_factor(y, g)
    if len(y) < 2:  # nothing left to fit on when the only row is held out
        nan = float("nan")
        return pd.DataFrame([
            {"model": "base scenario (nothing fitted)", "parameters": 0,
             "rmse_in_sample": _rmse(base - y), "rmse_leave_one_out": _rmse(base - y)},
            {"model": f"one scale factor on the base gaps (k = {k:.3f})", "parameters": 1,
             "rmse_in_sample": _rmse(k * g - y), "rmse_leave_one_out": nan},
            {"model": "calibrated fit", "parameters": len(free),
             "rmse_in_sample": _rmse(model.gaps(theta) - y), "rmse_leave_one_out": nan}])
    scale_loo = leave_one_out(y, lambda keep: scale_factor(y[keep], g[keep]),
                              lambda kk, i: float(kk) * g[i])  # type: ignore[arg-type]
    fit_loo = leave_one_out(
        y, lambda keep: _refit(model, y, theta, free, keep),
        lambda th, i: float(model.gaps(th)[i]))  # type: ignore[arg-type]
    return pd.DataFrame([
        {"model": "base scenario (nothing fitted)", "parameters": 0,
         "rmse_in_sample": _rmse(base - y), "rmse_leave_one_out": _rmse(base - y)},
        {"model": f"one scale factor on the base gaps (k = {k:.3f})", "parameters": 1,
         "rmse_in_sample": _rmse(k * g - y), "rmse_leave_one_out": _rmse(scale_loo - y)},
        {"model": "calibrated fit", "parameters": len(free),
         "rmse_in_sample": _rmse(model.gaps(theta) - y),
         "rmse_leave_one_out": _rmse(fit_loo - y)},
    ])


def _refit(model: _Model, y: np.ndarray, theta: np.ndarray, free: list[int],
           keep: np.ndarray) -> np.ndarray:
    """The fit on the kept rows only, started from the full fit."""
    if not free:
        return theta

    def full(x: np.ndarray) -> np.ndarray:
        out = theta.copy()
        out[free] = x
        return out

    fit = least_squares(lambda x: (model.gaps(full(x)) - y)[keep], theta[free],
                        bounds=(LOW[free], HIGH[free]), x_scale=HIGH[free] - LOW[free],
                        method="trf")
    return full(fit.x)


def _check_fixed(fixed: Mapping[str, float]) -> Mapping[str, float]:
    for name, value in fixed.items():
        if name not in NAMES:
            raise FairshareError(f"cannot fix '{name}': the free parameters are "
                                 f"{', '.join(NAMES)}")
        p = PARAMETERS[NAMES.index(name)]
        if not p.low <= value <= p.high:
            raise FairshareError(f"cannot fix {name} at {value:g}: allowed range is "
                                 f"[{p.low:g}, {p.high:g}]")
    return fixed


def _best_fit(model: _Model, y: np.ndarray, first: np.ndarray, free: list[int],
              rng: np.random.Generator, starts: int) -> np.ndarray:
    """Bounded least squares over the free parameters from several starts; the best wins."""
    if not free:
        return first
    low, high = LOW[free], HIGH[free]

    def full(x: np.ndarray) -> np.ndarray:
        theta = first.copy()
        theta[free] = x
        return theta

    candidates = [first[free], *(low + rng.random(len(free)) * (high - low)
                                 for _ in range(starts))]
    best = None
    for x0 in candidates:
        fit = least_squares(lambda x: model.gaps(full(x)) - y, x0, bounds=(low, high),
                            x_scale=high - low, method="trf")
        if best is None or fit.cost < best.cost - 1e-12:
            best = fit
    assert best is not None
    return full(best.x)


def synthetic_published(bundle: Bundle, base: Scenario, theta: np.ndarray,
                        rows: pd.DataFrame) -> pd.DataFrame:
    """Published-style gaps made by the model from known parameters (for examples and tests).

    Whole posts, as a programme would publish them; clearly synthetic, never real figures.
    """
    scenario, m = fitted_scenario(base, np.asarray(theta, dtype=float))
    if base.specialised_share is None:
        inp = prepare(bundle, base)
        sigma = np.clip(inp.sigma * m, 0, 1)
        scenario = scenario.with_overrides(specialty_specialised_share=dict(
            zip(inp.need.specialties, (float(v) for v in sigma), strict=True)))
    gaps = _whole_gaps(bundle, scenario, rows)
    return rows[["area", "specialty"]].assign(published_gap=gaps.astype(int))


def _whole_gaps(bundle: Bundle, scenario: Scenario, published: pd.DataFrame) -> np.ndarray:
    """The gap a planner would see (aim − current, whole posts) at the published rows."""
    table = targets(bundle, scenario, "local_office").set_index(["area", "specialty"])
    keys = pd.MultiIndex.from_frame(published[["area", "specialty"]])
    return table["aim_gap"].reindex(keys).to_numpy(float)


def _rmse(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def _identification(model: _Model, theta: np.ndarray, start: np.ndarray, y: np.ndarray,
                    free: list[int]) -> pd.DataFrame:
    """Per parameter: fitted value, standard error, and whether the data pin it down."""
    width = HIGH - LOW
    jac = (_jacobian(model, theta) * width)[:, free]  # gap change per whole range
    dof = max(len(y) - len(free), 1)
    resid = model.gaps(theta) - y
    var = max(float(resid @ resid) / dof, 1e-6)
    se = np.zeros(len(theta))
    effect = np.zeros(len(theta))
    loose = np.zeros(len(theta), dtype=bool)
    if free:
        cov = np.linalg.pinv(jac.T @ jac) * var
        se[free] = np.sqrt(np.clip(np.diag(cov), 0, None))  # in shares of the range
        effect[free] = np.abs(jac).max(axis=0)
        loose[free] = _in_null_space(jac)
    rows = []
    for k, p in enumerate(PARAMETERS):
        note = ""
        if k not in free:
            note = "fixed, not fitted"
        elif effect[k] < EFFECT_LIMIT:
            note = "moves no published gap: the data say nothing about it"
        elif len(y) <= len(free):
            note = (f"{len(y)} published figure(s) for {len(free)} free parameters: none is "
                    "left to test the fit (fix some with --fix)")
        elif loose[k]:
            note = "the figures fix only a combination of it with other parameters"
        elif min(theta[k] - p.low, p.high - theta[k]) <= max(BOUND_LIMIT, 3 * se[k]) * width[k]:
            side = "lower" if theta[k] - p.low < p.high - theta[k] else "upper"
            note = (f"at the {side} bound of its range (within 2% of the range or three "
                    "standard errors): the best fit may lie beyond it, so it is not an estimate")
        elif se[k] > SE_LIMIT:
            note = "trades off with other parameters: many values fit as well"
        rows.append({"parameter": p.name, "meaning": p.meaning, "low": p.low, "high": p.high,
                     "start": float(start[k]), "fitted": float(theta[k]),
                     "std_error": float(se[k] * width[k]), "fixed": k not in free,
                     "identified": k in free and note == "", "note": note})
    return pd.DataFrame(rows)


def _in_null_space(jac: np.ndarray, tol: float = 1e-6, share: float = 0.1) -> np.ndarray:
    """Per column: whether the parameter moves along a direction that changes no fitted gap
    (its unit vector has more than ``share`` of its length in J's null space)."""
    _, sv, vt = np.linalg.svd(jac, full_matrices=True)
    rank = int((sv > tol * max(sv.max(initial=0.0), 1e-300)).sum())
    null = vt[rank:].T  # (free, free - rank)
    return np.linalg.norm(null, axis=1) > share if null.size else np.zeros(jac.shape[1], bool)


def _jacobian(model: _Model, theta: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central differences, one-sided at a bound."""
    cols = []
    for k, p in enumerate(PARAMETERS):
        hi, lo = theta.copy(), theta.copy()
        hi[k], lo[k] = min(theta[k] + step, p.high), max(theta[k] - step, p.low)
        cols.append((model.gaps(hi) - model.gaps(lo)) / (hi[k] - lo[k]))
    return np.column_stack(cols)
