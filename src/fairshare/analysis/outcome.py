"""Workforce outcome: where the specialists trained by the plan end up (METHOD §5, last bullet).

Moving training posts is a means; the end is more specialists where need is greatest. Most doctors
who complete specialty training take a consultant (or equivalent) post near where they trained
(METHOD: about 80%), so posts moved today become specialists in the receiving area a training
programme later. This module projects that, per local office × specialty × year, from the plan's
first year to a horizon 15+ years out, next to a counterfactual in which nothing moves.

The model (an **expected-value projection**: every quantity is a fractional mean, not whole
doctors, because 2.4 completers a year is the honest answer for a 12-post programme of 5 years):

* **Completing.** A specialty of programme length ``L`` held in ``P`` posts (plus ``E``
  time-limited expansion posts in use) produces ``(P + E) / L`` completing trainees a year — the
  same steady-state rule the plan uses for vacancies. Trainees who complete in year ``y`` were
  recruited ``lag`` years earlier, so they count the posts of year ``y − lag``; the default lag is
  the programme length (posts move only at recruitment, and a recruit into a moved post completes
  ``L`` years later). ``lag=0`` counts each year's own posts (an immediate steady state). Years
  before the plan use today's posts (the targets table's ``current``).
* **Beyond the plan.** Permanent posts stay at their last plan value; time-limited expansion
  posts end when their trainees complete (each ``expansion`` post is held for ``L`` years), so
  expansion is never made permanent by extending the horizon. Without an ``expansion`` column the
  expansion posts in use are taken as zero after the plan's last year.
* **Settling.** A share ``attrition`` of completers leave the NHS (default 0). Of the rest, a share
  ``retention`` (default 0.80) settle in the area where they trained; the others settle in the
  *other* areas in proportion to those areas' fair share of the specialty (its need). Need is the
  natural choice: doctors who move go where the specialty's posts and patients are, and it keeps
  the counterfactual neutral (no area is favoured except by need). When no other area has need,
  the movers stay where they trained, so nobody is lost.
* **Per weighted need.** An area's weighted population for a specialty is its share of England's
  need for that specialty (its fair share over the specialty's total) times England's population;
  ``new_specialists_per_100k_need`` divides the cumulative new specialists by it (× 100,000).
* **Status quo.** The same projection with posts held at today's establishment and no expansion
  (columns ending ``_status_quo``): the effect of the programme is the difference (``effect``,
  ``effect_per_100k_need``).

The projection counts *new* specialists since the plan's first year, not the consultant stock:
the stock, retirements and international recruitment are not modelled (no public series by local
office and specialty), so read the numbers as the programme's contribution, not a census.

**Core programmes** (``entry_level`` ``core`` in the catalogue: Core Surgery, Internal Medicine
Training, Core Psychiatry, Core Anaesthetics, ACCS) are left out by default: their completers go
on to higher training, not to specialist posts, and counting them would count the same doctor
twice. ``include_core=True`` keeps them (e.g. to see where core completers go next).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fairshare.analysis.equity import ALL, gini

__all__ = [
    "DEFAULT_RETENTION",
    "OUTCOME_COLUMNS",
    "england_population",
    "outcome_by_area",
    "outcome_equity",
    "project_outcome",
]

#: Share of completing trainees who settle near where they trained (METHOD §5).
DEFAULT_RETENTION = 0.80
#: Years projected after the plan's first year when no horizon is given (METHOD: 15+ years).
DEFAULT_SPAN = 15
PER = 100_000

_FLOWS = ["posts_in_training", "completing", "settling_here", "settling_from_elsewhere",
          "new_specialists", "new_specialists_cumulative", "new_specialists_per_100k_need"]

OUTCOME_COLUMNS = [
    "area", "region", "specialty", "year", "programme_years", "fair_share", "need_share",
    "weighted_population", *_FLOWS, *[f"{c}_status_quo" for c in _FLOWS], "effect",
    "effect_per_100k_need",
]


def england_population() -> float:
    """England's population (ONS mid-2022) from the embedded data, not a hard-coded number."""
    from fairshare.inputs.bundle import load_england  # edge: reads the embedded data files

    return float(load_england().population["population"].sum())


def _require(df: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} table lacks columns {missing}")


def project_outcome(plan: pd.DataFrame, targets: pd.DataFrame, specialties: pd.DataFrame, *,
                    retention: float = DEFAULT_RETENTION, horizon: int | None = None,
                    attrition: float = 0.0, lag: int | None = None,
                    population: float | None = None,
                    include_core: bool = False) -> pd.DataFrame:
    """New specialists per area × specialty × year, under the plan and the status quo.

    plan: the plan table of ``fairshare.model.pipeline.run_plan`` (area, specialty, year, posts;
        optionally expansion and expansion_in_post).
    targets: local-office targets (area, specialty, current, fair_share; region is carried).
    specialties: the catalogue (specialty, programme_years).
    retention: share of settling completers who stay in the area where they trained.
    horizon: last projected year (default: the plan's first year + 15).
    attrition: share of completers who leave the NHS (default 0).
    lag: years from recruitment to completion (default: each specialty's programme length;
        0 counts each year's own posts).
    population: England's population for the per-100,000 rates (default: the embedded ONS
        mid-2022 total, see ``england_population``).
    include_core: keep core programmes (left out by default: their completers enter higher
        training, not specialist posts; needs ``entry_level`` in ``specialties``).

    Returns one row per area × specialty × year with the columns of ``OUTCOME_COLUMNS`` (see the
    module docstring for the model); ``attrs`` records the parameters used.
    """
    _require(plan, ["area", "specialty", "year", "posts"], "plan")
    _require(targets, ["area", "specialty", "current", "fair_share"], "targets")
    _require(specialties, ["specialty", "programme_years"], "specialties")
    if not 0 <= retention <= 1:
        raise ValueError(f"retention must be between 0 and 1, not {retention}")
    if not 0 <= attrition <= 1:
        raise ValueError(f"attrition must be between 0 and 1, not {attrition}")
    if lag is not None and lag < 0:
        raise ValueError(f"lag must be 0 or more years, not {lag}")
    if plan.empty:
        raise ValueError("the plan table has no rows")
    first, last = int(plan["year"].min()), int(plan["year"].max())
    end = first + DEFAULT_SPAN if horizon is None else int(horizon)
    if end < first:
        raise ValueError(f"horizon {end} is before the plan's first year {first}")
    if end < last:  # a horizon inside the plan: project its years up to the horizon only
        plan, last = plan[plan["year"] <= end], end
    pop = england_population() if population is None else float(population)
    if pop <= 0:
        raise ValueError("England's population must be positive")
    length = specialties.drop_duplicates("specialty").set_index("specialty")["programme_years"]
    unknown = sorted(set(targets["specialty"]) - set(length.index))
    if unknown:
        raise ValueError(f"specialties table has no programme_years for {unknown}")
    extra = sorted(set(plan["specialty"]) - set(targets["specialty"]))
    if extra:
        raise ValueError(f"plan has specialties missing from the targets table: {extra}")
    core: list[str] = []
    if not include_core and "entry_level" in specialties.columns:
        levels = specialties.drop_duplicates("specialty").set_index("specialty")["entry_level"]
        core = sorted(s for s in set(targets["specialty"]) if levels.get(s) == "core")
        targets = targets[~targets["specialty"].isin(core)]

    years = np.arange(first, end + 1)
    frames = []
    for spec, tgt in targets.groupby("specialty", sort=True):
        tgt = tgt.sort_values("area")
        years_long = int(length[spec])
        if years_long <= 0:
            raise ValueError(f"{spec}: programme_years must be positive, not {years_long}")
        shift = years_long if lag is None else int(lag)
        areas = list(tgt["area"])
        current = tgt["current"].to_numpy(float)
        fair = tgt["fair_share"].to_numpy(float)
        stock = _stock(plan[plan["specialty"] == spec], areas, current, first, last, end,
                       years_long, shift)
        lead = np.arange(first - shift, end + 1)
        plan_run = _settle(stock[:, : len(years)], years_long, fair, retention, attrition)
        quo_stock = np.repeat(current[:, None], len(lead), axis=1)
        quo_run = _settle(quo_stock[:, : len(years)], years_long, fair, retention, attrition)
        in_training = stock[:, shift:]
        share = fair / fair.sum() if fair.sum() > 0 else np.zeros_like(fair)
        weighted = share * pop
        region = (tgt["region"].to_numpy(object) if "region" in tgt.columns
                  else np.full(len(areas), None, dtype=object))
        frame = pd.DataFrame({
            "area": np.repeat(areas, len(years)),
            "region": np.repeat(region, len(years)),
            "specialty": spec,
            "year": np.tile(years, len(areas)),
            "programme_years": years_long,
            "fair_share": np.repeat(fair, len(years)),
            "need_share": np.repeat(share, len(years)),
            "weighted_population": np.repeat(weighted, len(years)),
        })
        for suffix, run, held in (("", plan_run, in_training),
                                  ("_status_quo", quo_run, quo_stock[:, shift:])):
            frame[f"posts_in_training{suffix}"] = held.ravel()
            for key, values in run.items():
                frame[f"{key}{suffix}"] = values.ravel()
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = run["new_specialists_cumulative"] / weighted[:, None] * PER
            frame[f"new_specialists_per_100k_need{suffix}"] = np.where(
                weighted[:, None] > 0, rate, np.nan).ravel()
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=OUTCOME_COLUMNS)
    out["effect"] = (out["new_specialists_cumulative"]
                     - out["new_specialists_cumulative_status_quo"])
    out["effect_per_100k_need"] = (out["new_specialists_per_100k_need"]
                                   - out["new_specialists_per_100k_need_status_quo"])
    out = out[OUTCOME_COLUMNS].sort_values(["specialty", "area", "year"]).reset_index(drop=True)
    out.attrs.update({"retention": retention, "attrition": attrition, "horizon": end,
                      "lag": "programme length" if lag is None else lag,
                      "england_population": pop, "first_year": first, "plan_last_year": last,
                      "core_programmes_left_out": core})
    return out


def _stock(plan: pd.DataFrame, areas: list[str], current: np.ndarray, first: int, last: int,
           end: int, length: int, shift: int) -> np.ndarray:
    """Posts in training (permanent + expansion in use) per area for years first − shift .. end.

    Before the plan: today's posts. During the plan: its posts plus expansion in use. After it:
    the last permanent posts, plus expansion posts still held by trainees recruited in the plan.
    """
    span = np.arange(first - shift, end + 1)
    stock = np.repeat(current[:, None], len(span), axis=1).astype(float)
    if plan.empty:
        return stock
    index = {a: i for i, a in enumerate(areas)}
    unknown = sorted(set(plan["area"]) - set(index))
    if unknown:
        raise ValueError(f"plan has areas missing from the targets table: {unknown}")
    plan_years = np.arange(first, last + 1)

    def grid(column: str) -> np.ndarray:
        values = np.zeros((len(areas), len(plan_years)))
        if column not in plan.columns:
            return values
        table = plan.pivot_table(index="area", columns="year", values=column, aggfunc="sum")
        table = table.reindex(index=areas, columns=plan_years)
        return table.to_numpy(float)

    posts = grid("posts")
    held = pd.DataFrame(posts).ffill(axis=1).to_numpy()
    held = np.where(np.isnan(held), current[:, None], held)
    in_post = np.nan_to_num(grid("expansion_in_post"))
    starts = np.nan_to_num(grid("expansion"))
    during = (span >= first) & (span <= last)
    stock[:, during] = held + in_post
    after = span > last
    if after.any():
        for k in np.flatnonzero(after):
            year = int(span[k])
            recruited = (plan_years > year - length) & (plan_years <= year)
            stock[:, k] = held[:, -1] + starts[:, recruited].sum(axis=1)
    return stock


def _settle(stock: np.ndarray, length: int, fair: np.ndarray, retention: float,
            attrition: float) -> dict[str, np.ndarray]:
    """Completers from the (already lagged) posts in training, and where they settle."""
    completing = stock / length
    settling = completing * (1 - attrition)
    here = settling * retention
    movers = settling - here
    others = fair.sum() - fair  # other areas' need, per area of training
    stays = others <= 0
    here = here + np.where(stays[:, None], movers, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(stays[:, None], 0.0, movers / np.where(stays, 1.0, others)[:, None])
    # movers from area a reach area b ≠ a in proportion to fair_b: fair_b · Σ_{a≠b} spread_a
    arriving = fair[:, None] * (spread.sum(axis=0)[None, :] - spread)
    new = here + arriving
    return {"completing": completing, "settling_here": here,
            "settling_from_elsewhere": arriving, "new_specialists": new,
            "new_specialists_cumulative": np.cumsum(new, axis=1)}


def _per_need(frame: pd.DataFrame, pop: float, column: str) -> pd.Series:
    """Cumulative specialists per 100,000 of all-specialty weighted need (fair posts' share)."""
    total = frame["fair_share"].sum()
    weighted = frame["fair_share"] / total * pop if total > 0 else frame["fair_share"] * 0
    return (frame[column] / weighted.where(weighted > 0) * PER).astype(float)


def _population(outcome: pd.DataFrame) -> float:
    if "england_population" in outcome.attrs:
        return float(outcome.attrs["england_population"])
    sums = outcome.groupby(["specialty", "year"])["weighted_population"].sum()
    return float(sums.max()) if len(sums) else 0.0


def outcome_by_area(outcome: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """All specialties per area at ``year`` (default: the last): new specialists since the plan's
    first year, per 100,000 of weighted need, plan against status quo.

    The all-specialty need of an area is its share of every specialty's fair posts (as in
    ``fairshare.analysis.equity``), so each specialty's need counts in its own units.
    """
    if outcome.empty:
        raise ValueError("the outcome table has no rows")
    at = int(outcome["year"].max()) if year is None else int(year)
    rows = outcome[outcome["year"] == at]
    if rows.empty:
        raise ValueError(f"no outcome rows for year {at}")
    cols = ["fair_share", "new_specialists_cumulative", "new_specialists_cumulative_status_quo"]
    g = rows.groupby("area", as_index=False)[cols].sum()
    pop = _population(outcome)
    g["per_100k_need"] = _per_need(g, pop, "new_specialists_cumulative")
    g["per_100k_need_status_quo"] = _per_need(g, pop, "new_specialists_cumulative_status_quo")
    g["effect"] = g["new_specialists_cumulative"] - g["new_specialists_cumulative_status_quo"]
    g["effect_per_100k_need"] = g["per_100k_need"] - g["per_100k_need_status_quo"]
    g.insert(1, "year", at)
    return g.drop(columns="fair_share").sort_values("area").reset_index(drop=True)


def outcome_equity(outcome: pd.DataFrame) -> pd.DataFrame:
    """Gini across areas of new specialists per weighted need, by specialty (and "All") and year,
    under the plan and the status quo.

    Areas are weighted by their need (fair share), as ``analysis.equity`` weights posts, so the
    Gini reads the same way: 0 means every unit of need gained the same number of new
    specialists. ``change`` is plan minus status quo (negative: the programme is fairer).
    """
    _require(outcome, ["area", "specialty", "year", "fair_share", "new_specialists_cumulative",
                       "new_specialists_cumulative_status_quo"], "outcome")
    cols = ["fair_share", "new_specialists_cumulative", "new_specialists_cumulative_status_quo"]
    overall = outcome.groupby(["year", "area"], as_index=False)[cols].sum()
    parts = [outcome[["specialty", *overall.columns]],
             overall.assign(specialty=ALL)[["specialty", *overall.columns]]]
    rows = []
    for (spec, year), g in pd.concat(parts, ignore_index=True).groupby(
            ["specialty", "year"], sort=False):
        keep = g["fair_share"].to_numpy(float) > 0
        need = g["fair_share"].to_numpy(float)[keep]
        plan_ratio = g["new_specialists_cumulative"].to_numpy(float)[keep] / need
        quo_ratio = g["new_specialists_cumulative_status_quo"].to_numpy(float)[keep] / need
        plan_gini, quo_gini = gini(plan_ratio, need), gini(quo_ratio, need)
        rows.append({"specialty": spec, "year": int(year), "gini_plan": plan_gini,
                     "gini_status_quo": quo_gini, "change": plan_gini - quo_gini,
                     "areas": int(keep.sum())})
    out = pd.DataFrame(rows, columns=["specialty", "year", "gini_plan", "gini_status_quo",
                                      "change", "areas"])
    order = out["specialty"].map(lambda s: (s == ALL, s))
    return out.assign(_o=order).sort_values(["_o", "year"]).drop(columns="_o").reset_index(
        drop=True)
