"""Convergence policy: whole-post aims on hand cases and random ones (model/convergence.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairshare.model.convergence import whole_aims
from fairshare.model.targets import targets
from fairshare.scenario import Convergence, Scenario
from tests.toy import LOS, toy_bundle


def _aims(current: list[int], target: list[int], **policy: object) -> list[int]:
    return whole_aims(np.array(current), np.array(target),
                      Convergence.model_validate(policy)).tolist()


def test_full_convergence_aims_at_target() -> None:
    assert _aims([30, 0, 5], [10, 15, 10]) == [10, 15, 10]


def test_share_closes_that_share_of_each_gap() -> None:
    assert _aims([10, 20, 30], [20, 20, 20], policy="share", share=0.5) == [15, 20, 25]
    # 0.4 of gaps -5, +2, +3: 8, 1.8, 1.2; Hamilton gives the 11th post to the .8
    assert _aims([10, 1, 0], [5, 3, 3], policy="share", share=0.4) == [8, 2, 1]
    assert _aims([10, 1, 0], [5, 3, 3], policy="share", share=0.0) == [10, 1, 0]


def test_band_brings_every_area_inside_and_keeps_the_total() -> None:
    assert _aims([130, 100, 70], [100, 100, 100], policy="band", over=0.1,
                 under=0.1) == [110, 100, 90]
    # +10% / -30%: 130 -> 110 frees 20 posts; areas below target take them in proportion to
    # their distance from target (5 and 25): 95 + 3.33, 75 + 16.67 -> 98, 92 after Hamilton.
    assert _aims([130, 95, 75], [100, 100, 100], policy="band", over=0.1,
                 under=0.3) == [110, 98, 92]
    # -0% below: lifting 60 to 100 needs 40 posts, taken from the areas above target.
    assert _aims([120, 120, 60], [100, 100, 100], policy="band", over=0.5,
                 under=0.0) == [100, 100, 100]


def test_band_leaves_areas_already_inside_alone() -> None:
    assert _aims([104, 98, 98], [100, 100, 100], policy="band", over=0.05,
                 under=0.05) == [104, 98, 98]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=8),
       st.floats(0, 1), st.floats(0, 0.5), st.floats(0, 0.5))
def test_random_aims_conserve_totals_and_respect_the_policy(
        pairs: list[tuple[int, int]], share: float, over: float, under: float) -> None:
    current = np.array([c for c, _ in pairs])
    target = np.array([t for _, t in pairs])
    target[0] += current.sum() - target.sum()  # redistribution conserves the total
    if target[0] < 0:
        return
    s = whole_aims(current, target, Convergence(policy="share", share=share))
    assert s.sum() == target.sum()
    lo, hi = np.minimum(current, target), np.maximum(current, target)
    assert ((s >= lo - 1) & (s <= hi + 1)).all()
    b = whole_aims(current, target, Convergence(policy="band", over=over, under=under))
    assert b.sum() == target.sum()
    assert (b <= np.floor(target * (1 + over)) + 1).all()
    assert (b >= np.ceil(target * (1 - under)) - 1).all()


def test_targets_table_carries_aim() -> None:
    sc = Scenario(convergence={"policy": "share", "share": 0.5})
    df = targets(toy_bundle(), sc)
    # toy targets 26, 22, 52 from 50, 30, 20: half of each gap is 38, 26, 36
    assert df.set_index("area").loc[LOS, "aim"].tolist() == [38, 26, 36]
    assert (df["aim_gap"] == df["aim"] - df["current"]).all()
    assert df["convergence"].iloc[0] == "close 50% of each gap"
    full = targets(toy_bundle(), Scenario())
    assert (full["aim"] == full["target"]).all()


def test_bad_policy_values_are_refused() -> None:
    with pytest.raises(ValueError, match="share"):
        Scenario(convergence={"policy": "share", "share": 1.5})


def test_region_aims_add_up_from_local_offices() -> None:
    from fairshare import load_england

    sc = Scenario(convergence={"policy": "band", "over": 0.05, "under": 0.1})
    england = load_england()
    lo = targets(england, sc, "local_office")
    region = targets(england, sc, "region")
    summed = lo.groupby(["region", "specialty"])["aim"].sum()
    assert (region.set_index(["area", "specialty"])["aim"] == summed.reindex(
        region.set_index(["area", "specialty"]).index)).all()
    by_spec = lo.groupby("specialty")[["aim", "current"]].sum()
    assert (by_spec["aim"] == by_spec["current"]).all()
