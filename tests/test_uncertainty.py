"""Seeded Monte Carlo over δ, weights, σ and projection variants (analysis.uncertainty)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from fairshare import Scenario, load_england
from fairshare.analysis.uncertainty import (
    DRAW_BLOCK,
    KernelCache,
    Range,
    UncertaintySpec,
    _build_structured,
    _hamilton,
    coverage,
    draw_parameters,
    monte_carlo_intervals,
    monte_carlo_plan,
    monte_carlo_targets,
)
from fairshare.apportionment import apportion
from fairshare.inputs.bundle import Bundle
from fairshare.model.targets import Inputs, fractional_targets, prepare, targets, whole_targets
from fairshare.scenario import StructuralChoice
from tests.toy import toy_bundle

HAS_PLAN = importlib.util.find_spec("fairshare.model.plan") is not None


@pytest.fixture(scope="module")
def england() -> Bundle:
    return load_england()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, england: Bundle) -> Bundle:
    """Three specialties of the demonstration establishment (fast plan-level runs)."""
    keep = ["Paediatrics", "General Surgery", "Cardiology"]
    posts = england.posts[england.posts["specialty"].isin(keep)]
    path = tmp_path_factory.mktemp("posts") / "posts.csv"
    posts.to_csv(path, index=False)
    return load_england(path)


def test_same_seed_same_intervals_and_other_seed_differs(england: Bundle) -> None:
    sc = Scenario()
    a = monte_carlo_targets(england, sc, draws=1500, seed=7)
    b = monte_carlo_targets(england, sc, draws=1500, seed=7)
    pd.testing.assert_frame_equal(a, b)
    c = monte_carlo_targets(england, sc, draws=1500, seed=8)
    assert not np.array_equal(a["target_mean"], c["target_mean"])


def test_serial_equals_process_pool_and_any_chunking(england: Bundle) -> None:
    sc = Scenario()
    serial = monte_carlo_targets(england, sc, draws=2500, seed=3)
    pooled = monte_carlo_targets(england, sc, draws=2500, seed=3, workers=2, chunk=700)
    pd.testing.assert_frame_equal(serial, pooled)
    odd = monte_carlo_targets(england, sc, draws=2500, seed=3, chunk=333)
    pd.testing.assert_frame_equal(serial, odd)


def test_draws_depend_on_seed_and_index_only(england: Bundle) -> None:
    inp = prepare(england, Scenario())
    spec = UncertaintySpec()
    whole = draw_parameters(spec, inp, 2200 + DRAW_BLOCK, seed=5)
    part = draw_parameters(spec, inp, 1500, seed=5, start=700)
    short = draw_parameters(spec, inp, 100, seed=5)
    for name in ("deprivation_weight", "weights", "specialised_share", "variant", "index"):
        assert np.array_equal(getattr(whole, name)[700:2200], getattr(part, name))
        assert np.array_equal(getattr(whole, name)[:100], getattr(short, name))


def test_common_random_numbers_across_scenarios(england: Bundle) -> None:
    """Runs differing only in δ share every other family's draws (and δ's quantiles)."""
    a_spec = UncertaintySpec()
    b_spec = UncertaintySpec(deprivation_weight=Range(low=0.2, high=0.4))
    a_inp = prepare(england, Scenario(deprivation_weight=0.2))
    b_inp = prepare(england, Scenario(deprivation_weight=0.3))
    a = draw_parameters(a_spec, a_inp, 2000, seed=11)
    b = draw_parameters(b_spec, b_inp, 2000, seed=11)
    assert np.array_equal(a.weights, b.weights)
    assert np.array_equal(a.specialised_share, b.specialised_share)
    assert np.array_equal(a.specialised_share_multiplier, b.specialised_share_multiplier)
    assert np.array_equal(a.variant, b.variant)
    assert not np.array_equal(a.deprivation_weight, b.deprivation_weight)
    # same uniform behind each δ: draw i sits at the same quantile of both ranges
    assert np.allclose((a.deprivation_weight - 0.1) / 0.2, (b.deprivation_weight - 0.2) / 0.2)
    # families vary, are in range, and weights are proper mixes
    assert a.deprivation_weight.min() >= 0.1 and a.deprivation_weight.max() <= 0.3
    assert np.allclose(a.weights.sum(axis=-1), 1.0)
    assert set(a.variant_names()) == set(a_spec.projection_variants)
    assert ((a.specialised_share >= 0) & (a.specialised_share <= 1)).all()


def test_percentiles_ordered_and_totals_preserved(england: Bundle) -> None:
    df = monte_carlo_targets(england, Scenario(), draws=1200, seed=1)
    assert (df["target_p5"] <= df["target_p50"]).all()
    assert (df["target_p50"] <= df["target_p95"]).all()
    assert (df["gap_p5"] <= df["gap_p50"]).all() and (df["gap_p50"] <= df["gap_p95"]).all()
    # with no structural choice current posts are the same in every draw
    fixed_posts = monte_carlo_targets(england, Scenario(), UncertaintySpec(structural=()),
                                      draws=300, seed=1)
    assert np.allclose(fixed_posts["gap_p50"],
                       fixed_posts["target_p50"] - fixed_posts["current"])
    assert ((df["p_gives"] + df["p_receives"]) <= 1 + 1e-12).all()
    assert (df["p_gives"] > 0).any() and (df["p_receives"] > 0).any()
    # every draw keeps each specialty's total (with the posts fixed: the funded-posts view,
    # a structural option, changes totals on purpose)
    sums = fixed_posts.groupby("specialty")[["target_mean", "current"]].sum()
    assert np.allclose(sums["target_mean"], sums["current"])


def test_zero_width_ranges_reproduce_deterministic_targets(england: Bundle) -> None:
    sc = Scenario()
    df = monte_carlo_targets(england, sc, UncertaintySpec.fixed(sc), draws=300, seed=2)
    det = targets(england, sc).set_index(["specialty", "area"])["target"]
    got = df.set_index(["specialty", "area"])
    for col in ("target", "target_p5", "target_p50", "target_p95", "target_mean"):
        assert (got[col] == det.loc[got.index]).all(), col
    assert (got["target_sd"] == 0).all()


def test_every_draw_equals_the_model_at_its_parameters(england: Bundle) -> None:
    """The vectorised path gives exactly whole_targets(fractional_targets(...)) per draw, each
    on the scenario its structural options make (prepared here independently)."""
    sc = Scenario()
    kernel, _ = _build_structured(england, sc, UncertaintySpec(), seed=4)
    draws = kernel.draws(0, 40)
    got, current, _ = kernel.evaluate(draws)
    assert len(set(draws.structure.tolist())) > 1  # several structural combinations drawn
    prepared: dict[tuple[int, str], Inputs] = {}
    for i in range(len(draws)):
        part = kernel.parts[int(draws.structure[i])]
        key = (int(draws.structure[i]), draws.variant_names()[i])
        if key not in prepared:
            prepared[key] = prepare(england, part.scenario.with_overrides(
                projection_variant=key[1]))
        inp = prepared[key]
        frac = fractional_targets(inp, float(draws.deprivation_weight[i]),
                                  draws.weights[i], draws.specialised_share[i])
        totals = inp.current.sum(axis=1)
        assert np.array_equal(got[i], whole_targets(frac, totals, sc)), i
        assert np.array_equal(current[i], inp.current)


def test_vectorised_hamilton_matches_exact_apportion_with_ties_and_minimum() -> None:
    rng = np.random.default_rng(0)
    totals = np.array([0, 7, 50, 1000, 12])
    frac = rng.random((200, len(totals), 6)) * 10
    frac[0, 1] = [1.5, 1.5, 1.0, 1.0, 1.0, 1.0]  # exact tie for the last seat
    frac[1, 2] = [5.0, 5.0, 10.0, 10.0, 10.0, 10.0]  # quotas that are whole numbers
    for minimum in (0, 2):
        whole, bad = _hamilton(frac, totals, minimum)
        assert bad[0, 1] and bad[1, 2]
        for d in range(frac.shape[0]):
            for s, total in enumerate(totals):
                if bad[d, s] or total == 0:
                    continue
                m = minimum if total >= minimum * 6 else 0
                assert whole[d, s].tolist() == apportion(list(frac[d, s]), int(total),
                                                         minimum=m), (d, s, minimum)


def test_percentiles_from_counts_match_numpy(england: Bundle) -> None:
    sc = Scenario()
    n = 257
    df = monte_carlo_targets(england, sc, draws=n, seed=9, percentiles=(5, 37.5, 50, 95))
    kernel, inp = _build_structured(england, sc, UncertaintySpec(), seed=9)
    whole, current, _ = kernel.evaluate(kernel.draws(0, n))
    n_area = whole.shape[-1]
    present = df["specialty"].unique()
    rows = [inp.need.specialties.index(s) for s in present]
    for p in (5, 37.5, 50, 95):
        expected = np.percentile(whole[:, rows], p, axis=0).ravel()
        assert np.allclose(df[f"target_p{p:g}"].to_numpy(), expected)
    assert np.allclose(df["target_mean"], whole[:, rows].mean(axis=0).ravel())
    gap = whole[:, rows] - current[:, rows]  # each draw's own current posts
    assert np.allclose(df["p_gives"], (gap < 0).mean(axis=0).ravel())
    assert np.allclose(df["gap_p95"], np.percentile(gap, 95, axis=0).ravel())
    assert len(df) == len(present) * n_area


@pytest.mark.parametrize("overrides", [{"apportionment": "webster"}, {"minimum_posts": 3},
                                       {"controlled_rounding": True}])
def test_other_rounding_settings_reproduce_deterministic_targets(
        england: Bundle, overrides: dict[str, object]) -> None:
    sc = Scenario.model_validate(overrides)
    df = monte_carlo_targets(england, sc, UncertaintySpec.fixed(sc), draws=2, seed=0)
    det = targets(england, sc).set_index(["specialty", "area"])
    got = df.set_index(["specialty", "area"])["target_p50"]
    assert (got == det.loc[got.index, "target"]).all()
    assert (df["method"] == det["method"].iloc[0]).all()


def test_progress_callback_and_notes(england: Bundle) -> None:
    calls: list[tuple[int, int]] = []
    sc = Scenario(deprivation_weight=0.5)
    df = monte_carlo_targets(england, sc, draws=2100, seed=0, chunk=1000,
                             progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 2100) and calls[-1] == (2100, 2100)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert any("outside the drawn range" in n for n in df.attrs["notes"])


def test_spec_validation_and_ranges() -> None:
    assert Range.model_validate([0.1, 0.3]) == Range(low=0.1, high=0.3)
    tri = Range.model_validate([0.0, 1.0, "triangular"])
    u = np.linspace(0, 0.999, 1000)
    assert tri.ppf(np.array([0.5]))[0] == pytest.approx(0.5)
    assert np.all(np.diff(tri.ppf(u)) >= 0)
    assert Range(low=2, high=2).ppf(u).tolist() == [2.0] * 1000
    with pytest.raises(ValidationError):
        Range(low=0.3, high=0.1)
    with pytest.raises(ValidationError):
        UncertaintySpec(deprivation_weight=Range(low=0.5, high=1.5))
    with pytest.raises(ValidationError):
        UncertaintySpec(projection_variants=("principal", "principal"))
    with pytest.raises(ValidationError):
        UncertaintySpec(projection_variants=("nonsense",))


def test_variant_names_match_the_scenario() -> None:
    from typing import get_args

    from fairshare import scenario
    from fairshare.analysis import uncertainty

    assert get_args(uncertainty.ProjectionVariant) == get_args(scenario.ProjectionVariant)
    spec = UncertaintySpec()
    assert set(spec.projection_variants) <= set(get_args(scenario.ProjectionVariant))


def test_missing_projection_variant_is_reported() -> None:
    bundle = toy_bundle()
    with pytest.raises(ValueError, match="not in the bundle's growth_variants"):
        monte_carlo_targets(bundle, Scenario(), draws=10)
    spec = UncertaintySpec(projection_variants=("principal",))
    df = monte_carlo_targets(bundle, Scenario(), spec, draws=200, seed=1)
    assert df["target_mean"].sum() == pytest.approx(100)


@pytest.mark.filterwarnings("ignore")
def test_dask_client_gives_identical_results(small: Bundle) -> None:
    distributed = pytest.importorskip("distributed")
    sc = Scenario()
    serial = monte_carlo_targets(small, sc, draws=1500, seed=6)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        viadask = monte_carlo_targets(small, sc, draws=1500, seed=6, chunk=400,
                                      dask_client=client)
    pd.testing.assert_frame_equal(serial, viadask)


@pytest.mark.skipif(not HAS_PLAN, reason="fairshare.model.plan is not available yet")
def test_plan_level_monte_carlo(small: Bundle) -> None:
    sc = Scenario()
    df = monte_carlo_plan(small, sc, draws=3, seed=1)
    assert set(df["specialty"]) == {"Paediatrics", "General Surgery", "Cardiology"}
    assert (df["remaining_gap_p5"] <= df["remaining_gap_p50"]).all()
    assert (df["remaining_gap_p50"] <= df["remaining_gap_p95"]).all()
    assert ((df["p_at_target"] >= 0) & (df["p_at_target"] <= 1)).all()
    assert sum(df.attrs["statuses"].values()) == 3
    again = monte_carlo_plan(small, sc, draws=3, seed=1, chunk=2)
    pd.testing.assert_frame_equal(df, again)


# ------------------------------------------------------------------ structural choices (issue 14)


def _only(sc: Scenario, *choices: StructuralChoice) -> UncertaintySpec:
    """No uncertainty but the given structural choices."""
    return UncertaintySpec.fixed(sc).model_copy(update={"structural": choices})


def test_a_certain_structural_option_gives_that_scenarios_targets(england: Bundle) -> None:
    """Drawing population_base = registered with probability 1 reproduces the deterministic
    targets of the registered scenario, and aims under convergence share 0.5 those of
    ``with_aim`` (computed by the deterministic model, not the Monte Carlo)."""
    sc = Scenario()
    spec = _only(sc, StructuralChoice(parameter="population_base",
                                      options=("ons_resident", "registered"),
                                      probabilities=(0.0, 1.0)),
                 StructuralChoice(parameter="convergence",
                                  options=({"policy": "share", "share": 0.5},)))
    df = monte_carlo_targets(england, sc, spec, draws=50, seed=3).set_index(
        ["specialty", "area"])
    other = Scenario(population_base="registered", convergence={"policy": "share",
                                                                "share": 0.5})
    det = targets(england, other).set_index(["specialty", "area"]).loc[df.index]
    assert (df["target_p5"] == det["target"]).all() and (df["target_p95"] == det["target"]).all()
    assert (df["aim_gap_p50"] == det["aim"] - det["current"]).all()
    # the registered base really differs from the scenario's own (ONS residents) targets
    assert (df["target"] != det["target"]).sum() > 50


def test_structural_options_drawn_with_their_probabilities_and_own_streams() -> None:
    from fairshare.analysis.uncertainty_draws import _structure

    base = StructuralChoice(parameter="population_base", options=("ons_resident", "registered"),
                            probabilities=(0.3, 0.7))
    conv = StructuralChoice(parameter="convergence",
                            options=({"policy": "full"}, {"policy": "share", "share": 0.5}))
    one = _structure(UncertaintySpec(structural=(base,)), seed=4, block=0, n=20_000)
    two = _structure(UncertaintySpec(structural=(base, conv)), seed=4, block=0, n=20_000)
    # 20,000 draws: the share is within 4 standard errors (0.013) of 0.7
    assert abs(one.mean() - 0.7) < 4 * np.sqrt(0.7 * 0.3 / 20_000)
    # adding a choice leaves the first choice's picks unchanged (first choice varies fastest)
    assert np.array_equal(two % 2, one)
    assert abs((two // 2).mean() - 0.5) < 0.02


def test_sigma_tiers_move_one_tier_by_hand() -> None:
    from fairshare.analysis.uncertainty_draws import _tiered

    sigma = np.array([0.0, 0.05, 0.2, 0.5, 0.15])
    down = _tiered(sigma, np.full((1, 5), -1))[0]
    up = _tiered(sigma, np.full((1, 5), 1))[0]
    assert down.tolist() == [0.0, 0.0, 0.1, 0.3, 0.1]
    assert up.tolist() == [0.05, 0.1, 0.3, 0.5, 0.2]
    assert _tiered(sigma, np.zeros((1, 5), dtype=int))[0].tolist() == sigma.tolist()


def test_area_totals_are_percentiles_of_each_draws_sum(england: Bundle) -> None:
    sc = Scenario()
    res = monte_carlo_intervals(england, sc, draws=300, seed=2)
    kernel, _ = _build_structured(england, sc, UncertaintySpec(), seed=2)
    target, current, aim = kernel.evaluate(kernel.draws(0, 300))
    net = (target - current).sum(axis=1)  # (draw, area)
    areas = res.areas.set_index("area")
    lo = kernel.parts[0].geo.local_offices
    for p in (5, 50, 95):
        assert np.allclose(areas.loc[lo, f"gap_p{p}"], np.percentile(net, p, axis=0))
    assert np.allclose(areas.loc[lo, "aim_gap_p50"],
                       np.percentile((aim - current).sum(axis=1), 50, axis=0))
    own = res.cells.assign(g=res.cells["target"] - res.cells["current"]).groupby("area")["g"]
    assert (areas["gap"] == own.sum().loc[areas.index]).all()
    assert areas["gap"].sum() == 0  # redistribution: England's net gap is zero


def test_every_interval_says_what_it_covers(england: Bundle) -> None:
    sc = Scenario()
    df = monte_carlo_targets(england, sc, draws=20, seed=0)
    text = df["interval_covers"].iloc[0]
    assert (df["interval_covers"] == text).all() and df.attrs["coverage"] == text
    for words in ("90% interval", "20 draws", "δ uniform on [0.1, 0.3]", "Dirichlet",
                  "σ tier", "projection variant", "population base (ons_resident 50%, "
                  "registered 50%)", "convergence", "Not covered", "counting error"):
        assert words in text, words
    fixed = coverage(UncertaintySpec.fixed(sc), 10)
    assert "Held fixed" in fixed and "population base" not in fixed


def test_structural_choices_are_validated() -> None:
    def spec(**choice: object) -> dict[str, object]:
        return {"uncertainty": {"structural": [choice]}}

    with pytest.raises(ValidationError, match="not a valid value"):
        Scenario.model_validate(spec(parameter="population_base", options=["nowhere"]))
    with pytest.raises(ValidationError, match="not a scenario parameter"):
        Scenario.model_validate(spec(parameter="populaton_base", options=["registered"]))
    with pytest.raises(ValidationError, match="drawn by its own family"):
        Scenario.model_validate(spec(parameter="deprivation_weight", options=[0.1]))
    with pytest.raises(ValidationError, match="combinations of options"):
        UncertaintySpec(structural=tuple(
            StructuralChoice(parameter=f"p{i}", options=tuple(range(10))) for i in range(3)))
    with pytest.raises(ValidationError, match="sum to 1"):
        Scenario.model_validate(spec(parameter="population_base", options=["registered"],
                                     probabilities=[0.5]))


def test_a_kernel_cache_gives_the_same_intervals(england: Bundle) -> None:
    """Need arrays cached across δ changes (the web app): identical to a fresh run."""
    cache = KernelCache(size=2)
    monte_carlo_targets(england, Scenario(), draws=60, seed=1, cache=cache)
    sc = Scenario(deprivation_weight=0.3, specialised_share=0.2)
    cached = monte_carlo_targets(england, sc, draws=60, seed=1, cache=cache)
    pd.testing.assert_frame_equal(cached, monte_carlo_targets(england, sc, draws=60, seed=1))


def test_a_dotted_path_draws_one_switch_of_a_group(england: Bundle) -> None:
    """``convergence.share`` draws the share alone (the policy stays the scenario's); a path
    into something that is not a group is refused by name."""
    sc = Scenario(convergence={"policy": "share", "share": 0.5})
    choice = StructuralChoice(parameter="convergence.share", options=(0.25,))
    assert sc.with_structure({"convergence.share": 0.25}).convergence.share == 0.25
    df = monte_carlo_targets(england, sc, _only(sc, choice), draws=20, seed=0)
    det = targets(england, sc.with_overrides(convergence={"policy": "share", "share": 0.25}))
    det = det.set_index(["specialty", "area"]).loc[df.set_index(["specialty", "area"]).index]
    assert (df["aim_gap_p50"].to_numpy() == (det["aim"] - det["current"]).to_numpy()).all()
    with pytest.raises(ValidationError, match="not a group"):
        Scenario.model_validate({"uncertainty": {"structural": [
            {"parameter": "population_base.x", "options": [1]}]}})
