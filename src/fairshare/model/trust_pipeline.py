"""The trust split after the area plan: the same inputs, the same vacancy model, then trusts.

``run_trust_plan`` takes the area plan a command has made (``pipeline.run_plan``) and the trust
tables (``inputs/trusts.py``) and returns the per-trust recommendations of
``trust_posts.trust_plan``. The area's completions come from the plan's own input model
(``plan_inputs.prepare``), so cohorts and the default rule are read once, in one way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairshare.inputs.bundle import Bundle
from fairshare.inputs.corrections import corrected, corrected_trusts
from fairshare.model.decisions import Steering
from fairshare.model.pipeline import PlanOutput, plan_options, plan_problem
from fairshare.model.plan_inputs import prepare
from fairshare.model.review import Reviewed, review
from fairshare.model.targets import targets
from fairshare.model.trust_posts import TrustSetting, area_completions, trust_plan
from fairshare.scenario import Scenario


def completions_table(bundle: Bundle, scenario: Scenario, out: PlanOutput,
                      cohorts: pd.DataFrame | None = None,
                      min_posts: pd.DataFrame | None = None) -> pd.DataFrame:
    """area, specialty, year, completing: today's trainees completing, as the area plan has
    them (its cohorts where given, else posts / programme length a year)."""
    problem = plan_problem(bundle, out.targets, scenario, None, cohorts, min_posts)
    data = prepare(problem, plan_options(scenario))
    comp = area_completions(data.vacancies, data.lengths)
    n_years = len(data.years)
    return pd.DataFrame({
        "area": np.repeat(data.area, n_years),
        "specialty": np.repeat(data.specialty, n_years),
        "year": np.tile(np.arange(data.years.start, data.years.stop, dtype=np.int64),
                        len(data.area)),
        "completing": comp.reshape(-1),
    })


def icb_fair(bundle: Bundle, scenario: Scenario) -> pd.DataFrame:
    """specialty, icb_code, current, fair: each ICB's posts now and its fractional fair target."""
    icb = targets(bundle, scenario, level="icb")
    return icb.rename(columns={"area_code": "icb_code", "target_fractional": "fair"})[
        ["specialty", "icb_code", "current", "fair"]]


def run_trust_plan(bundle: Bundle, scenario: Scenario, out: PlanOutput, trusts: pd.DataFrame,
                   catchment: pd.DataFrame, basis: dict[str, str],
                   cohorts: pd.DataFrame | None = None,
                   min_posts: pd.DataFrame | None = None,
                   trust_completions: pd.DataFrame | None = None,
                   steering: Steering | None = None) -> pd.DataFrame:
    """The per-trust recommendations for a local-office area plan.

    trusts: area, specialty, org_code, org_name, icb_code, posts, catchment_code, min_posts.
    trust_completions: area, specialty, org_code, year, completing, when post records give each
    trust's own completions (they add up to the area plan's); else the area's are shared.
    steering: review decisions resolved against this plan (``reviewed_trust_plan``).
    """
    # trust rows under the same baseline corrections as the area plan (no-op when applied)
    trusts = corrected_trusts(trusts, corrected(bundle, scenario))
    lengths = bundle.specialties.set_index("specialty")["programme_years"].astype(int)
    setting = TrustSetting(trusts=trusts, catchment=catchment, icbs=icb_fair(bundle, scenario),
                           lengths=lengths.to_dict(), headroom=scenario.capacity_headroom,
                           basis=basis, completions=trust_completions,
                           steer=steering.rounds if steering is not None else {})
    plan = out.plan[["area", "specialty", "year", "redistribution", "expansion", "posts",
                     "cumulative"]]
    result = trust_plan(plan, completions_table(bundle, scenario, out, cohorts, min_posts),
                        setting)
    result.insert(0, "scenario", scenario.name)
    return result


def reviewed_trust_plan(bundle: Bundle, scenario: Scenario, out: PlanOutput,
                        trusts: pd.DataFrame, catchment: pd.DataFrame, basis: dict[str, str],
                        decisions: pd.DataFrame, cohorts: pd.DataFrame | None = None,
                        min_posts: pd.DataFrame | None = None) -> Reviewed:
    """The trust recommendations with review decisions applied (``decisions.review``): the
    run without them (what the decisions refer to), then the run they steer."""
    def run(steering: Steering | None) -> tuple[pd.DataFrame, None]:
        return run_trust_plan(bundle, scenario, out, trusts, catchment, basis, cohorts,
                              min_posts, steering=steering), None

    years = sorted(int(y) for y in out.plan["year"].unique())
    span = range(years[0], years[-1] + 1) if years else range(0)
    usable = corrected_trusts(trusts, corrected(bundle, scenario))
    return review(run, decisions, usable, span)
