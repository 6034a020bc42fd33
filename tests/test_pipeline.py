"""The main job end to end on the England data: targets → plan → expansion."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fairshare import load_england
from fairshare.model.pipeline import run_plan
from fairshare.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def expansion_run():  # type: ignore[no-untyped-def]
    sc = load_scenario(ROOT / "scenarios" / "expansion-1000.yaml", horizon=2030)
    return sc, run_plan(load_england(), sc)


def test_expansion_posts_are_all_accounted_for(expansion_run) -> None:  # type: ignore[no-untyped-def]
    sc, out = expansion_run
    plan = out.plan
    funded = {}
    for t in sc.expansion:
        funded[t.year] = funded.get(t.year, 0) + t.posts
    unplaced = (out.unplaced.groupby("year")["posts"].sum().to_dict()
                if not out.unplaced.empty else {})
    for year, posts in funded.items():
        placed = int(plan.loc[plan["year"] == year, "expansion"].sum())
        assert placed + unplaced.get(year, 0) == posts


def test_expansion_goes_only_to_priority_specialties(expansion_run) -> None:  # type: ignore[no-untyped-def]
    from fairshare.inputs.bundle import load_priorities

    _, out = expansion_run
    allowed = set(load_priorities()["specialty"])
    got = set(out.plan.loc[out.plan["expansion"] > 0, "specialty"])
    assert got and got <= allowed


def test_net_is_redistribution_plus_expansion_and_posts_conserved(expansion_run) -> None:  # type: ignore[no-untyped-def]
    _, out = expansion_run
    plan = out.plan
    assert (plan["net"] == plan["redistribution"] + plan["expansion"]).all()
    assert (plan.groupby(["specialty", "year"])["redistribution"].sum() == 0).all()


def test_time_limited_posts_are_carried_for_the_programme_length(expansion_run) -> None:  # type: ignore[no-untyped-def]
    _, out = expansion_run
    plan = out.plan.sort_values(["area", "specialty", "year"])
    lengths = load_england().specialties.set_index("specialty")["programme_years"]
    for (_, spec), rows in plan.groupby(["area", "specialty"]):
        starts = rows.set_index("year")["expansion"]
        held = rows.set_index("year")["expansion_in_post"]
        n = int(lengths[spec])
        for year in held.index:
            expected = sum(starts.get(y, 0) for y in range(year - n + 1, year + 1))
            assert held[year] == expected


def test_capacity_is_shared_by_redistribution_and_expansion(expansion_run) -> None:  # type: ignore[no-untyped-def]
    _, out = expansion_run
    plan = out.plan
    inflow = plan["redistribution"].clip(lower=0) + plan["expansion"]
    assert (inflow <= plan["capacity"]).all()


def test_icb_plan_adds_up_to_the_local_office_plan(expansion_run) -> None:  # type: ignore[no-untyped-def]
    """ICB shares of the plan: conserved per specialty-year, same national posts every year,
    and no ICB piece is moved past its own target."""
    from fairshare.model.targets import pieces
    from fairshare.publish.tables import by_icb

    sc, out = expansion_run
    bundle = load_england()
    parts = pieces(bundle, sc)
    icb = by_icb(out.plan, parts)
    assert icb["area_code"].nunique() == 42
    assert (icb.groupby(["specialty", "year"])["redistribution"].sum() == 0).all()
    cols = ["posts", "expansion", "vacancies", "capacity"]
    lo = out.plan.groupby(["specialty", "year"])[cols].sum()
    pd.testing.assert_frame_equal(icb.groupby(["specialty", "year"])[cols].sum(), lo)
    # ICBs wholly inside one local office never overshoot their own target
    single = parts.groupby("area_code")["local_office"].nunique() == 1
    whole = icb[icb["area_code"].isin(single[single].index)]
    start = parts.groupby(["area_code", "specialty"])[["current", "target"]].sum()
    gap0 = (start["target"] - start["current"]).reindex(
        pd.MultiIndex.from_frame(whole[["area_code", "specialty"]])).to_numpy()
    assert (whole["remaining_gap"].to_numpy() * gap0 >= 0).all()
