"""Fair shares and targets on a hand-computed three-area toy (METHOD §2-3)."""

from __future__ import annotations

import pytest

from fairshare.model.targets import targets
from fairshare.scenario import Scenario
from tests.toy import LOS, toy_bundle

# Hand computation (toy.py): shares of England per area A, B, C
#   core        = 300, 300, 400 / 1000        = .3, .3, .4
#   specialty   = maternity 100, 100, 800     = .1, .1, .8
#   future      = maternity x all-age growth to 2022 + 8 = 2030 (1, 1.5, 1)
#               = 100, 150, 800 / 1050
#   deprivation = 500, 250, 250 / 1000        = .5, .25, .25
FUT = [100 / 1050, 150 / 1050, 800 / 1050]
MIX = [0.5 * c + 0.25 * s + 0.25 * f for c, s, f in zip([.3, .3, .4], [.1, .1, .8], FUT,
                                                         strict=True)]
DEP = [0.5, 0.25, 0.25]


def _by_area(df, column):  # type: ignore[no-untyped-def]
    return df.set_index("area").loc[LOS, column].tolist()


def test_fair_share_matches_hand_computation() -> None:
    df = targets(toy_bundle(), Scenario())
    expected = [100 * (0.8 * m + 0.2 * d) for m, d in zip(MIX, DEP, strict=True)]
    # = 25.905, 21.857, 52.238 posts of 100
    assert _by_area(df, "fair_share") == pytest.approx(expected, abs=1e-9)
    # Hamilton: floors 25, 21, 52 (98); the 2 left go to the largest remainders A (.905), B (.857)
    assert _by_area(df, "target") == [26, 22, 52]
    assert _by_area(df, "gap") == [26 - 50, 22 - 30, 52 - 20]
    assert _by_area(df, "distance") == pytest.approx([(50 - 26) / 26, (30 - 22) / 22,
                                                      (20 - 52) / 52])


def test_delta_zero_and_one_limits() -> None:
    zero = targets(toy_bundle(), Scenario(deprivation_weight=0.0))
    one = targets(toy_bundle(), Scenario(deprivation_weight=1.0))
    assert _by_area(zero, "fair_share") == pytest.approx([100 * m for m in MIX])
    assert _by_area(one, "fair_share") == pytest.approx([50.0, 25.0, 25.0])
    assert _by_area(one, "target") == [50, 25, 25]


def test_sigma_one_reproduces_current_shares() -> None:
    df = targets(toy_bundle(current=(61, 27, 12), sigma=1.0), Scenario())
    assert _by_area(df, "target_fractional") == pytest.approx([61, 27, 12])
    assert _by_area(df, "target") == [61, 27, 12]
    assert (df["gap"] == 0).all()


def test_scenario_sigma_override_mixes_fair_and_current() -> None:
    df = targets(toy_bundle(), Scenario(specialised_share=0.5))
    fair = [100 * (0.8 * m + 0.2 * d) for m, d in zip(MIX, DEP, strict=True)]
    assert _by_area(df, "target_fractional") == pytest.approx(
        [0.5 * f + 0.5 * c for f, c in zip(fair, [50, 30, 20], strict=True)])


def test_posts_are_conserved_and_waterfall_adds_up() -> None:
    df = targets(toy_bundle(), Scenario())
    assert df["target"].sum() == df["current"].sum() == 100
    effects = ["population_share_posts", "effect_need", "effect_projection",
               "effect_deprivation", "effect_specialised", "effect_rounding"]
    assert df[effects].sum(axis=1).tolist() == pytest.approx(df["target"].astype(float).tolist())
    # plain population shares are 100, 200, 700 of 1000 people
    assert _by_area(df, "population_share_posts") == pytest.approx([10.0, 20.0, 70.0])


def test_age_driver_uses_profile_and_index() -> None:
    # age:all on the toy population equals the population share; *maternity multiplies by the
    # maternity need index (maternity share / population share): .1/.1, .1/.2, .8/.7
    df = targets(toy_bundle(driver="age:all*maternity"), Scenario(deprivation_weight=0.0,
                 weights={"core": 0.0, "specialty": 1.0, "future": 0.0}))
    raw = [0.1 * 1.0 / 0.1 * 0.1, 0.2 * (0.1 / 0.2), 0.7 * (0.8 / 0.7)]
    assert _by_area(df, "fair_share") == pytest.approx([100 * r / sum(raw) for r in raw])


def test_region_and_icb_levels_add_up_to_local_offices() -> None:
    b = toy_bundle()
    lo = targets(b, Scenario())
    for level in ("region", "icb"):
        other = targets(b, Scenario(level=level))
        assert other["target"].sum() == lo["target"].sum()
        assert other["current"].sum() == lo["current"].sum()
        assert sorted(other["target"]) == sorted(lo["target"])
