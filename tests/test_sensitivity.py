"""Global sensitivity (fairshare.analysis.sensitivity): SALib Morris screening and Sobol indices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare import Scenario, load_england
from fairshare.analysis.sensitivity import sensitivity
from fairshare.analysis.uncertainty import Range, UncertaintySpec
from fairshare.inputs.bundle import Bundle

pytest.importorskip("SALib")

SPECS = ["Paediatrics", "General Practice", "Neurosurgery"]
PARAMS = {"deprivation_weight", "w_core", "w_specialty", "w_future",
          "specialised_share_multiplier", "projection_variant"}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    england = load_england()
    posts = england.posts[england.posts["specialty"].isin(SPECS)]
    path = tmp_path_factory.mktemp("posts") / "posts.csv"
    posts.to_csv(path, index=False)
    return load_england(path)


def test_morris_ranks_every_parameter(small: Bundle) -> None:
    res = sensitivity(small, Scenario(), n=12, seed=1)
    r = res.ranking
    assert set(r["parameter"]) == PARAMS
    assert r["rank"].tolist() == list(range(1, 7))
    assert r["mu_star_total"].is_monotonic_decreasing
    assert (r["mu_star_total"] >= 0).all()
    assert res.runs == 12 * (len(PARAMS) + 1)
    assert len(res.detail) == len(PARAMS) * len(SPECS) * 11
    assert set(res.detail["specialty"]) == set(SPECS)
    top = r.iloc[0]
    assert " @ " in top["affected_targets"] and "posts" in top["affected_targets"]
    again = sensitivity(small, Scenario(), n=12, seed=1)
    pd.testing.assert_frame_equal(r, again.ranking)


def test_parameter_that_changes_nothing_scores_zero(small: Bundle) -> None:
    """With σ = 0 everywhere the σ multiplier cannot move any target."""
    res = sensitivity(small, Scenario(specialised_share=0.0), n=10, seed=2)
    r = res.ranking.set_index("parameter")
    assert r.loc["specialised_share_multiplier", "mu_star_total"] == pytest.approx(0, abs=1e-9)
    assert r.loc["specialised_share_multiplier", "rank"] == len(r)  # ties keep order: last
    assert r.loc["deprivation_weight", "mu_star_total"] > 0


def test_zero_width_parameters_are_left_out(small: Bundle) -> None:
    spec = UncertaintySpec(specialised_share_multiplier=Range(low=1, high=1),
                           projection_variants=("principal",))
    res = sensitivity(small, Scenario(), spec, n=8, seed=0,
                      weight_range=Range(low=1, high=1))
    assert res.ranking["parameter"].tolist() == ["deprivation_weight"]
    with pytest.raises(ValueError, match="nothing to analyse"):
        sensitivity(small, Scenario(), UncertaintySpec.fixed(Scenario()),
                    weight_range=Range(low=1, high=1))


def test_sobol_indices(small: Bundle) -> None:
    res = sensitivity(small, Scenario(), method="sobol", n=64, seed=3, num_resamples=20)
    r = res.ranking
    assert set(r["parameter"]) == PARAMS
    assert r["ST"].is_monotonic_decreasing
    assert ((r["S1"] > -0.1) & (r["S1"] < 1.1)).all()
    assert ((r["ST"] > -0.1) & (r["ST"] < 1.1)).all()
    assert r["S1"].sum() == pytest.approx(1.0, abs=0.25)  # nearly additive model
    assert res.runs == 64 * (len(PARAMS) + 2)
    assert np.isfinite(res.detail[["S1", "ST"]].to_numpy()).all()
