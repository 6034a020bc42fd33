"""The named-post plan from post records: area plan → trusts → National Post Numbers.

``run_named_plan`` makes, from the programme's own post records alone, the three plans that add
up to each other exactly (docs/posts.md):

1. the area plan (``pipeline.run_plan``) over the records' establishment (the movable posts per
   local office and specialty), with the records' vacancies as its cohorts;
2. the trust plan (``trust_pipeline.run_trust_plan``) over the records' employing trusts, each
   with its own posts falling vacant (not a share of the area's);
3. the named-post plan (``named_posts.named_plan``): each post and round, and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pandas as pd

from fairshare.inputs.bundle import Bundle
from fairshare.model.decisions import Steering, records_view
from fairshare.model.named_posts import (
    area_cohorts,
    establishment,
    free_round,
    movable,
    named_plan,
    trust_completions,
)
from fairshare.model.pipeline import PlanOutput, run_plan
from fairshare.model.review import Reviewed, review
from fairshare.model.trust_pipeline import completions_table, icb_fair
from fairshare.model.trust_posts import TrustSetting, trust_plan
from fairshare.scenario import Scenario


@dataclass(frozen=True)
class NamedPlan:
    """The three plans made from one set of post records."""

    area: PlanOutput
    trusts: pd.DataFrame
    named: pd.DataFrame
    review: Reviewed | None = None  # with review decisions: each decision's outcome


def records_bundle(bundle: Bundle, posts: pd.DataFrame, label: str) -> Bundle:
    """The bundle with the records' movable posts as the establishment of the local offices
    they cover; the other offices keep the bundle's (the public baseline), so one office's
    records are planned among all England's posts."""
    est = establishment(posts)
    others = bundle.posts[~bundle.posts["local_office"].isin(set(est["local_office"]))]
    both = pd.concat([others[["local_office", "specialty", "posts"]], est], ignore_index=True)
    both = both[both["posts"] > 0].reset_index(drop=True)
    return replace(bundle, posts=both, piece_posts=pd.DataFrame(),
                   other_funded=pd.DataFrame(), posts_label=label, posts_date=None, basis={})


def records_trusts(posts: pd.DataFrame, orgs: pd.DataFrame,
                   catchment_codes: Mapping[str, str],
                   public: pd.DataFrame | None = None) -> pd.DataFrame:
    """area, specialty, org_code, org_name, icb_code, posts, catchment_code: the records' movable
    posts per employing trust (ICB from the ODS list; catchment where the trust has one), and
    ``public``'s trusts (``inputs.trusts.load_trusts``) for the offices the records leave out."""
    keep = posts[movable(posts)]
    if public is not None:
        rest = public[~public["area"].isin(set(keep["local_office"]))]
        return pd.concat([records_trusts(posts, orgs, catchment_codes),
                          rest[["area", "specialty", "org_code", "posts", "org_name",
                                "icb_code", "catchment_code"]]], ignore_index=True)
    table = keep.groupby(["local_office", "specialty", "org_code"], as_index=False).size()
    table = table.rename(columns={"local_office": "area", "size": "posts"})
    by_code = orgs.drop_duplicates("org_code").set_index("org_code")
    table["org_name"] = table["org_code"].map(by_code["org_name"]).fillna("")
    table["icb_code"] = table["org_code"].map(by_code["icb_code"]).fillna("")
    table["catchment_code"] = table["org_code"].map(catchment_codes).fillna("")
    return table.astype({"posts": "int64"})


def run_named_plan(bundle: Bundle, scenario: Scenario, posts: pd.DataFrame,
                   trusts: pd.DataFrame, catchment: pd.DataFrame, basis: dict[str, str],
                   owner_codes: Mapping[str, str],
                   min_posts: pd.DataFrame | None = None,
                   decisions: pd.DataFrame | None = None) -> NamedPlan:
    """Area, trust and named-post plans from the records (``bundle`` is ``records_bundle``).

    posts: the post records with org_code and org_name (the matched employing trust).
    trusts: ``records_trusts`` with a min_posts column (the minimum unit per trust).
    decisions: review decisions (``decisions.DECISION_COLUMNS``) on trusts or National Post
    Numbers; the trust and named-post plans then follow them (``decisions.review``).
    """
    years = range(scenario.plan_start, scenario.horizon + 1)
    area = run_plan(bundle, scenario, cohorts=area_cohorts(posts, scenario.plan_start),
                    min_posts=min_posts)
    lengths = bundle.specialties.set_index("specialty")["programme_years"].astype(int)
    codes = {s: f"{i + 1:03d}" for i, s in enumerate(bundle.specialties["specialty"])}

    def run(steering: Steering | None) -> tuple[pd.DataFrame, pd.DataFrame]:
        trust_rows = trust_stage(bundle, scenario, area, posts, trusts, catchment, basis,
                                 steering)
        named = named_plan(posts, trust_rows, years, lengths.to_dict(), owner_codes, codes,
                           None if steering is None else steering.posts)
        named.insert(0, "scenario", scenario.name)
        return trust_rows, named

    if decisions is None:
        trust_rows, named = run(None)
        return NamedPlan(area=area, trusts=trust_rows, named=named)
    records = records_view(posts, free_round(posts, years.start), movable(posts),
                           lengths.to_dict())
    reviewed = review(run, decisions, trusts, years, records)
    assert reviewed.named is not None
    return NamedPlan(area=area, trusts=reviewed.trusts, named=reviewed.named, review=reviewed)


def trust_stage(bundle: Bundle, scenario: Scenario, area: PlanOutput, posts: pd.DataFrame,
                trusts: pd.DataFrame, catchment: pd.DataFrame,
                basis: dict[str, str], steering: Steering | None = None) -> pd.DataFrame:
    """The trust plan under the area plan: the records' trusts with their own vacancies (the
    other offices' trusts with their area's shared)."""
    years = range(scenario.plan_start, scenario.horizon + 1)
    own = trust_completions(posts, years)
    lengths = bundle.specialties.set_index("specialty")["programme_years"].astype(int)
    setting = TrustSetting(trusts=trusts, catchment=catchment, icbs=icb_fair(bundle, scenario),
                           lengths=lengths.to_dict(), headroom=scenario.capacity_headroom,
                           basis=basis, completions=own,
                           steer=steering.rounds if steering is not None else {})
    plan = area.plan[["area", "specialty", "year", "redistribution", "expansion", "posts",
                      "cumulative"]]
    comp = completions_table(bundle, scenario, area) if len(
        set(own["area"])) < bundle.posts["local_office"].nunique() else None
    rows = trust_plan(plan, _area_completions(own, plan, comp), setting)
    rows.insert(0, "scenario", scenario.name)
    return rows


def _area_completions(own: pd.DataFrame, plan: pd.DataFrame,
                      other: pd.DataFrame | None) -> pd.DataFrame:
    """area, specialty, year, completing for every plan row: the trusts' own, summed (the area
    plan read the same vacancies as its cohorts, ``area_cohorts``, so they agree); an office
    without records: the area plan's own completions (``other``)."""
    summed = own.groupby(["area", "specialty", "year"], as_index=False)["completing"].sum()
    if other is not None:
        rest = other[~other["area"].isin(set(own["area"]))]
        summed = pd.concat([summed, rest], ignore_index=True)
    grid = plan[["area", "specialty", "year"]].merge(summed, how="left")
    return grid.assign(completing=grid["completing"].fillna(0).astype("int64"))
