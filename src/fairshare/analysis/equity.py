"""Equity: how evenly posts are spread relative to need, per year, before and after the plan.

METHOD §5 asks, for each year, for the spread of posts per weighted population across areas
(Gini, coefficient of variation), the largest and smallest distance from target and the share of
areas within ±5% of target, per specialty and overall. These are the numbers a board paper quotes
to show that redistribution made the distribution fairer, so the definitions are fixed and stated:

* **Posts per weighted need.** Each specialty's need in an area is turned into its *fair number of
  posts*: ``need_a / Σ need × Σ target`` (with the fair share of ``targets()`` as need this is the
  fair share itself). The ratio posts / fair posts is 1 everywhere in a perfectly fair
  distribution. "All" sums posts and fair posts over specialties per area, so every specialty's
  need counts in its own units and no specialty dominates because its driver is bigger.
* **Gini**, the mean-difference definition with the population ("n") denominator:
  ``G = Σ_i Σ_j w_i w_j |x_i − x_j| / (2 W² μ)`` with ``W = Σ w`` and ``μ`` the weighted mean.
  Unweighted, [0, 0, 0, 1] gives 0.75 (not the 1.0 of the n − 1 small-sample version); weights act
  as replication counts, so weights [2, 1] on [1, 2] give the Gini of [1, 1, 2] (1/6). Areas are
  weighted by their fair posts by default (every unit of need counts once, so London counts more
  than Thames Valley); ``weighting="area"`` counts areas equally.
* **Coefficient of variation**: weighted standard deviation (population form, divisor W) over the
  weighted mean.
* **Distance from target**: ``(posts − target) / target``, as NHS England reports it (positive:
  above target). An area with target 0 and no posts is at target; with posts it is infinitely far.
  ``share_within_5pct`` counts areas with ``|distance| ≤ 5%``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "ALL",
    "coefficient_of_variation",
    "equity_before_after",
    "equity_check",
    "equity_table",
    "gini",
]

#: Specialty label of the all-specialty rows.
ALL = "All"

Weighting = Literal["need", "area"]
_EPS = 1e-12


def _clean(values: Sequence[float] | np.ndarray,
           weights: Sequence[float] | np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != x.shape:
        raise ValueError(f"{x.size} values but {w.size} weights")
    if not (np.isfinite(x).all() and np.isfinite(w).all()):
        raise ValueError("values and weights must be finite")
    if (x < 0).any() or (w < 0).any():
        raise ValueError("values and weights must be >= 0")
    return x, w


def gini(values: Sequence[float] | np.ndarray,
         weights: Sequence[float] | np.ndarray | None = None) -> float:
    """Weighted Gini coefficient (n-denominator definition, see module docstring).

    0 is perfect equality; with n equally weighted units the largest value is 1 − 1/n. Empty
    input, zero total weight or a zero mean (nobody has anything) give 0: there is no inequality
    to measure.
    """
    x, w = _clean(values, weights)
    total, mean = _weighted_mean(x, w)
    if mean <= 0:
        return 0.0
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cum = np.cumsum(w)
    below, above = cum - w, total - cum
    # Σ_i Σ_j w_i w_j |x_i − x_j| = 2 Σ_i w_i x_i (weight below i − weight above i), x sorted
    return float((w * x * (below - above)).sum() / (total * total * mean))


def _weighted_mean(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """(total weight, weighted mean); a mean of 0 when there is nothing to average, so both
    spread measures report no inequality for empty input, zero weight or nobody having any."""
    total = float(w.sum())
    if x.size == 0 or total <= 0:
        return total, 0.0
    return total, float((w * x).sum() / total)


def coefficient_of_variation(values: Sequence[float] | np.ndarray,
                             weights: Sequence[float] | np.ndarray | None = None) -> float:
    """Weighted standard deviation (divisor Σw) over the weighted mean; 0 when the mean is 0."""
    x, w = _clean(values, weights)
    total, mean = _weighted_mean(x, w)
    if mean <= 0:
        return 0.0
    var = float((w * (x - mean) ** 2).sum() / total)
    return float(np.sqrt(var) / mean)


def _distance(posts: np.ndarray, target: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (posts - target) / target
    return np.where(target == 0, np.where(posts == 0, 0.0, np.inf), d)


def _metrics(posts: np.ndarray, target: np.ndarray, fair: np.ndarray,
             weighting: Weighting, band: float) -> dict[str, float]:
    keep = fair > 0
    ratio = posts[keep] / fair[keep]
    w = fair[keep] if weighting == "need" else None
    dist = _distance(posts, target)
    return {
        "gini": gini(ratio, w),
        "cv": coefficient_of_variation(ratio, w),
        "max_distance": float(dist.max()) if dist.size else 0.0,
        "min_distance": float(dist.min()) if dist.size else 0.0,
        "share_within_5pct": float((np.abs(dist) <= band + _EPS).mean()) if dist.size else 1.0,
        "areas": int(posts.size),
        "posts": int(posts.sum()),
    }


def _fair_posts(frame: pd.DataFrame, keys: Sequence[str] = ()) -> pd.Series:
    """Need in each specialty turned into fair posts: need share of the specialty's target total."""
    by = [*keys, "specialty", "year"]
    need_total = frame.groupby(by)["weighted_need"].transform("sum")
    target_total = frame.groupby(by)["target"].transform("sum")
    share = frame["weighted_need"] / need_total.where(need_total > 0)
    return (share * target_total).fillna(0.0)


def equity_table(posts_by_area_year: pd.DataFrame, need: pd.DataFrame, *,
                 weighting: Weighting = "need", band: float = 0.05,
                 by: Sequence[str] = ()) -> pd.DataFrame:
    """Equity metrics per specialty (and "All") and year.

    ``posts_by_area_year``: area, specialty, year, posts, target. ``need``: area, specialty,
    weighted_need (any unit per specialty; the fair share in posts is the natural choice).
    Returns specialty, year, gini, cv, max_distance, min_distance, share_within_5pct, areas,
    posts. ``by`` names extra key columns of ``posts_by_area_year`` (e.g. ``stage``, or a
    scenario name) that are kept apart and carried through.
    """
    missing = {"area", "specialty", "year", "posts", "target"} - set(posts_by_area_year.columns)
    if missing:
        raise ValueError(f"posts_by_area_year lacks columns {sorted(missing)}")
    if {"area", "specialty", "weighted_need"} - set(need.columns):
        raise ValueError("need must have columns area, specialty, weighted_need")
    keys = list(by)
    frame = posts_by_area_year.merge(
        need[["area", "specialty", "weighted_need"]], on=["area", "specialty"], how="left",
        validate="many_to_one")
    if frame["weighted_need"].isna().any():
        lost = frame.loc[frame["weighted_need"].isna(), ["area", "specialty"]].drop_duplicates()
        raise ValueError(f"no weighted need for {len(lost)} area x specialty rows, e.g. "
                         f"{lost.iloc[0].tolist()}")
    frame = frame.assign(fair=_fair_posts(frame, keys))
    rows = []
    group_keys = [*keys, "year"]
    for key, g in frame.groupby([*group_keys, "specialty"], sort=True):
        *head, spec = key
        rows.append({**dict(zip(group_keys, head, strict=True)), "specialty": spec,
                     **_metrics(g["posts"].to_numpy(float), g["target"].to_numpy(float),
                                g["fair"].to_numpy(float), weighting, band)})
    overall = frame.groupby([*group_keys, "area"], as_index=False)[["posts", "target",
                                                                    "fair"]].sum()
    for key, g in overall.groupby(group_keys, sort=True):
        head = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(group_keys, head, strict=True)), "specialty": ALL,
                     **_metrics(g["posts"].to_numpy(float), g["target"].to_numpy(float),
                                g["fair"].to_numpy(float), weighting, band)})
    cols = ["specialty", *keys, "year", "gini", "cv", "max_distance", "min_distance",
            "share_within_5pct", "areas", "posts"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["specialty", *keys, "year"], key=_all_last).reset_index(drop=True)


def _all_last(col: pd.Series) -> pd.Series:
    if col.name == "specialty":
        return col.map(lambda s: (s == ALL, s))
    if col.name == "stage":
        return col.map({"before": 0, "plan": 1, "after": 2}).fillna(3)
    return col


def _stages(targets_table: pd.DataFrame, plan_table: pd.DataFrame) -> pd.DataFrame:
    """Baseline rows (stage "before") followed by every plan year ("plan"; the horizon "after")."""
    years = sorted(plan_table["year"].unique())
    if not years:
        raise ValueError("the plan table has no years")
    lo = targets_table[["area", "specialty", "current", "target"]]
    before = lo.rename(columns={"current": "posts"}).assign(year=years[0], stage="before")
    during = plan_table[["area", "specialty", "year", "posts", "target"]].copy()
    during["stage"] = np.where(during["year"] == years[-1], "after", "plan")
    return pd.concat([before[during.columns], during], ignore_index=True)


def _need(targets_table: pd.DataFrame) -> pd.DataFrame:
    return targets_table[["area", "specialty", "fair_share"]].rename(
        columns={"fair_share": "weighted_need"})


def equity_before_after(targets_table: pd.DataFrame, plan_table: pd.DataFrame, *,
                        weighting: Weighting = "need", band: float = 0.05) -> pd.DataFrame:
    """Equity per specialty and year from a targets table and a plan table.

    ``targets_table`` is the local-office output of ``fairshare.model.targets.targets`` (area,
    specialty, current, target, fair_share); its fair share is the need. ``plan_table`` is
    ``PlanResult.table`` (area, specialty, year, posts, target). Rows: stage "before" (the
    establishment before any move, labelled with the first plan year), "plan" (posts after each
    year's moves) and "after" (the horizon).
    """
    return equity_table(_stages(targets_table, plan_table), _need(targets_table),
                        weighting=weighting, band=band, by=["stage"])


def equity_check(targets_table: pd.DataFrame, plan_table: pd.DataFrame, *,
                 measure: Literal["gini", "cv"] = "gini", weighting: Weighting = "need",
                 tolerance: float = 1e-9) -> list[str]:
    """Messages for every specialty (and "All") and year in which the plan makes equity worse.

    The plan moves posts toward whole *targets*, not toward fair shares, so the spread of posts
    per need can rise in a year: a target can lie on the other side of the fair share (whole-post
    rounding, or the specialised share keeping posts where they are), and the all-specialty
    measure mixes specialties whose targets differ from their fair shares in different
    directions. Each message names the year, the measure before and after, the areas that moved
    away from their fair share and why. An empty list means the measure never rose.
    """
    stages = _stages(targets_table, plan_table)
    table = equity_table(stages, _need(targets_table), weighting=weighting, by=["stage"])
    need = _need(targets_table)
    frame = stages.merge(need, on=["area", "specialty"], how="left")
    frame = frame.assign(fair=_fair_posts(frame, ["stage"]))
    messages: list[str] = []
    for spec, g in table.groupby("specialty", sort=False):
        g = g.sort_values(["stage", "year"], key=_all_last)
        values = g[measure].to_numpy()
        years = g["year"].to_numpy()
        for i in range(1, len(values)):
            if values[i] <= values[i - 1] + tolerance:
                continue
            prev_year = years[i - 1] if i > 1 else None
            messages.append(_explain(frame, str(spec), prev_year, int(years[i]), measure,
                                     float(values[i - 1]), float(values[i])))
    return messages


def _explain(frame: pd.DataFrame, spec: str, prev_year: int | None, year: int, measure: str,
             old: float, new: float) -> str:
    def state(y: int | None) -> pd.DataFrame:
        sel = frame[frame["stage"] == "before"] if y is None else frame[
            (frame["year"] == y) & (frame["stage"] != "before")]
        if spec != ALL:
            sel = sel[sel["specialty"] == spec]
        return sel.groupby("area")[["posts", "target", "fair"]].sum()

    a, b = state(prev_year), state(year)
    away = b[(b["posts"] - b["fair"]).abs() > (a["posts"] - a["fair"]).abs() + _EPS]
    when = (f"{year} (the first plan year, against the establishment before the plan)"
            if prev_year is None else f"{year} (against {prev_year})")
    head = (f"{measure} of posts per weighted need for {spec} rises in {when}: "
            f"{old:.4f} -> {new:.4f}")
    if away.empty:
        return (head + "; no area moved away from its fair share: posts moved between areas on "
                "the same side of the national rate, which can raise a rank-based measure")
    parts = []
    for area, r in away.iterrows():
        p0 = int(a.loc[area, "posts"])
        crossed = np.sign(r["target"] - r["fair"]) != np.sign(p0 - r["fair"])
        if crossed:
            why = ("its whole-post target is on the other side of its fair share (whole-post "
                   "rounding or the specialised share), so moving toward target crosses it")
        elif spec == ALL:
            why = ("its specialty targets differ from their fair shares in different directions "
                   "(specialised share, rounding), so moves toward targets move its overall "
                   "posts away from its overall fair share")
        else:
            why = ("its target differs from its fair share (specialised share kept in place, "
                   "rounding), so moving toward target moves away from fair share")
        parts.append(f"{area} {p0} -> {int(r['posts'])} posts (target {int(r['target'])}, "
                     f"fair share {r['fair']:.1f}): {why}")
    return head + "; " + "; ".join(parts)
