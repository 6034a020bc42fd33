"""Need counted once (issue 9, defects 2-4 and 7): one population base, age once, and checks
against figures the code did not produce (ONS avoidable mortality, earlier NHS England
allocation years, the highest and lowest ICBs named by the House of Commons Library)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairshare import Scenario, load_england, targets
from fairshare.inputs.bundle import Bundle
from fairshare.inputs.schemas import AGE_BANDS, SEXES
from fairshare.model.need import (
    AGE_STANDARDISED,
    age_standardised,
    effective_deprivation_weight,
    need_shares,
    prevalence_index,
)
from tests.toy import LOS, toy_bundle

DATA = Path(__file__).resolve().parents[1] / "src" / "fairshare" / "data"
CORE_ONLY = {"core": 1.0, "specialty": 0.0, "future": 0.0}


@pytest.fixture(scope="module")
def england() -> Bundle:
    return load_england()


def _registered_toy() -> Bundle:
    """The toy with registered lists 200, 200, 600 against ONS residents 100, 200, 700."""
    b = toy_bundle()
    wp = b.weighted_population.copy()
    wp["population"] = [200.0, 200.0, 600.0]
    return Bundle(**{**b.__dict__, "weighted_population": wp})


def test_population_base_hand_case() -> None:
    # core 300, 300, 400 on registered 200, 200, 600: index 1.5, 1.5, 0.667 (England 1.0).
    # ONS base: 1.5 x 100, 1.5 x 200, 0.667 x 700 = 150, 300, 466.7 of 916.7.
    b = _registered_toy()
    sc = Scenario(deprivation_weight=0.0, weights=CORE_ONLY)
    ons = targets(b, sc).set_index("area").loc[LOS, "fair_share"]
    reg = targets(b, sc.with_overrides(population_base="registered"))
    reg = reg.set_index("area").loc[LOS, "fair_share"]
    total = 150 + 300 + 400 / 600 * 700
    assert list(ons) == pytest.approx([100 * 150 / total, 100 * 300 / total,
                                       100 * (400 / 600 * 700) / total])
    assert list(reg) == pytest.approx([30.0, 30.0, 40.0])


def test_population_base_rescales_age_drivers_on_registered_lists() -> None:
    # age:all is the resident population 100, 200, 700; on registered lists it becomes
    # 100 x 200/100, 200 x 200/200, 700 x 600/700 = 200, 200, 600.
    b = _registered_toy()
    b = Bundle(**{**b.__dict__, "specialties": b.specialties.assign(driver="age:all")})
    sc = Scenario(deprivation_weight=0.0, weights={"core": 0, "specialty": 1, "future": 0},
                  population_base="registered")
    df = targets(b, sc).set_index("area").loc[LOS, "fair_share"]
    assert list(df) == pytest.approx([20.0, 20.0, 60.0])


def test_london_share_moves_with_the_base(england: Bundle) -> None:
    """London is 17.4% of registered patients but 15.5% of ONS residents (issue 9)."""
    wp = england.weighted_population
    london = set(england.icbs.loc[england.icbs["region_name"] == "London", "icb_code"])
    is_lon = wp["icb_code"].isin(london)
    pop = england.population.groupby("icb_code")["population"].sum()
    assert wp.loc[is_lon, "population"].sum() / wp["population"].sum() == pytest.approx(
        0.174, abs=0.0015)
    assert pop[list(london)].sum() / pop.sum() == pytest.approx(0.155, abs=0.0015)
    share = {}
    for base in ("ons_resident", "registered"):
        ns = need_shares(england, Scenario(population_base=base))
        share[base] = ns.core[[ns.icbs.index(c) for c in london]].sum()
    # the core share falls by about the ratio of the two bases (15.5 / 17.4)
    assert share["ons_resident"] / share["registered"] == pytest.approx(0.155 / 0.174, abs=0.01)


def test_age_standardised_removes_a_known_elasticity() -> None:
    rng = np.random.default_rng(3)
    age = np.exp(rng.normal(0, 0.1, 40))
    people = rng.uniform(1, 3, 40)
    other = np.exp(rng.normal(0, 0.05, 40))
    # make ``other`` exactly orthogonal to log(age) under the population weights
    w = people / people.sum()
    x, y = np.log(age) - w @ np.log(age), np.log(other)
    y = y - (w @ (x * y)) / (w @ (x * x)) * x
    index = age**0.6 * np.exp(y)
    out, beta = age_standardised(index, age, people)
    assert beta == pytest.approx(0.6)
    np.testing.assert_allclose(out, np.exp(y))
    # an index falling with age has no age to remove; one rising faster keeps the excess
    assert age_standardised(age**-0.5, age, people)[1] == 0.0
    assert age_standardised(age**1.7, age, people)[1] == 1.0


def _elasticity(share: np.ndarray, age_index: np.ndarray, people: np.ndarray) -> float:
    w = people / people.sum()
    x, y = np.log(age_index), np.log(share / (people / people.sum()))
    x = x - w @ x
    return float(w @ (x * (y - w @ y)) / (w @ (x * x)))


def test_no_driver_squares_the_age_effect(england: Bundle) -> None:
    """Each age x index driver's elasticity to its age index is no more than its larger part's.

    The age index and the raw need index are computed here from the embedded inputs, not by
    the model; before the fix, medical and surgical drivers had elasticity 1 + beta (about 2).
    """
    # age x index drivers only: the prevalence driver (a register, no age profile) is off here
    ns = need_shares(england, Scenario(prevalence_driver=False))
    pop = england.population.pivot_table(index="icb_code", columns=["sex", "age_band"],
                                         values="population", aggfunc="sum")
    pop = pop.reindex(index=ns.icbs, columns=pd.MultiIndex.from_product([SEXES, AGE_BANDS]))
    prof = england.profiles.pivot_table(index="profile", columns=["sex", "age_band"],
                                        values="weight", aggfunc="sum")
    prof = prof.reindex(columns=pop.columns).fillna(0.0)
    people = pop.sum(axis=1).to_numpy()
    wp = england.weighted_population.set_index("icb_code").loc[ns.icbs]
    checked = 0
    for i, driver in enumerate(england.specialties["driver"]):
        profile, _, component = driver.partition(":")[2].partition("*")
        if not component:
            continue
        by_age = pop.to_numpy() @ prof.loc[profile].to_numpy()
        age_index = (by_age / people) / (by_age.sum() / people.sum())
        if np.ptp(age_index) < 1e-9:
            continue
        raw = (wp[component] / wp["population"]).to_numpy()
        e_age, e_raw = 1.0, _elasticity(raw * people, age_index, people)
        e_driver = _elasticity(ns.specialty[i], age_index, people)
        assert e_driver <= max(e_age, e_raw) + 1e-6, driver
        if component not in AGE_STANDARDISED and e_raw > 0.05:
            assert e_driver < e_age + e_raw - 0.05, driver
        checked += 1
    assert checked >= 30


def test_effective_deprivation_weight_adds_what_core_carries() -> None:
    # δ 0.2 on top of a core weight 0.5 that carries a 10% health-inequalities adjustment:
    # 0.2 + 0.8 x 0.5 x 0.10 = 0.24; with no core weight it is δ itself.
    w = np.array([[0.5, 0.25, 0.25], [0.0, 0.5, 0.5]])
    assert effective_deprivation_weight(w, 0.2) == pytest.approx([0.24, 0.2])


def _checks() -> pd.DataFrame:
    """Reference figures built from sources the model does not use (data/need_checks.csv)."""
    return pd.read_csv(DATA / "need_checks.csv").set_index("icb_code")


def test_deprivation_term_tracks_ons_avoidable_mortality(england: Bundle) -> None:
    """ONS Health Index avoidable mortality (2021, lower = worse) by ICB, a separate source."""
    ns = need_shares(england, Scenario())
    ours = pd.Series(ns.deprivation / ns.population, index=ns.icbs)
    both = pd.concat([ours, _checks()["ons_avoidable_mortality_2021"]], axis=1).dropna()
    assert len(both) >= 38
    assert both.corr(method="spearman").iloc[0, 1] < -0.9


@pytest.mark.parametrize("year", ["2023_24", "2024_25"])
def test_need_matches_earlier_allocation_years(england: Bundle, year: str) -> None:
    """NHS England's published ICB need indices for earlier years give nearly the same need."""
    ns = need_shares(england, Scenario(core_cost_factor="kept"))  # as published: with it
    ref = _checks()
    core = pd.Series(ns.core / ns.population, index=ns.icbs)
    dep = pd.Series(ns.deprivation / ns.population, index=ns.icbs)
    assert core.corr(ref[f"nhse_final_need_index_{year}"]) > 0.98
    assert dep.corr(ref[f"nhse_health_ineq_need_index_{year}"]) > 0.98
    # the published index is per registered patient, ours per resident: compare the top
    assert core.idxmax() == ref[f"nhse_final_need_index_{year}"].idxmax()


@pytest.mark.parametrize("base", ["ons_resident", "registered"])
def test_highest_and_lowest_need_icbs_match_published_commentary(england: Bundle,
                                                                 base: str) -> None:
    """House of Commons Library CBP-10031 (2024/25 core allocations per patient): highest NHS
    Cheshire and Merseyside, lowest NHS Buckinghamshire, Oxfordshire and Berkshire West."""
    ns = need_shares(england, Scenario(population_base=base, core_cost_factor="kept"))
    wp = england.weighted_population.set_index("icb_code").loc[ns.icbs, "population"]
    head = ns.population if base == "ons_resident" else (wp / wp.sum()).to_numpy()
    per_head = pd.Series(ns.core / head, index=ns.icbs)
    names = england.icbs.set_index("icb_code")["icb_name"]
    assert "Cheshire and Merseyside" in names[per_head.idxmax()]
    assert "Buckinghamshire, Oxfordshire and Berkshire" in names[per_head.idxmin()]


def test_cost_factor_divided_out_of_the_core_term_by_hand() -> None:
    # toy core WP 300, 300, 400 on lists (= residents) 100, 200, 700; a cost factor of 1.5 on
    # the first ICB: without it the core need is 200, 300, 400, shares 2/9, 3/9, 4/9
    from dataclasses import replace

    bundle = replace(toy_bundle(), core_cost_factor=pd.DataFrame(
        {"icb_code": ["E54000001", "E54000002", "E54000003"], "cost_factor": [1.5, 1.0, 1.0]}))
    kept = need_shares(bundle, Scenario(core_cost_factor="kept"))
    removed = need_shares(bundle, Scenario())
    np.testing.assert_allclose(kept.core, [0.3, 0.3, 0.4])
    np.testing.assert_allclose(removed.core, [2 / 9, 3 / 9, 4 / 9])
    # the other terms do not carry the factor and are unchanged
    np.testing.assert_allclose(removed.deprivation, kept.deprivation)
    np.testing.assert_allclose(removed.specialty, kept.specialty)


def test_the_fitted_cost_factor_is_london_highest(england: Bundle) -> None:
    """The factor fitted from NHS England's practice file (scripts/build_data.py) is highest on
    London's five ICBs, about 1.06-1.07, as a London cost adjustment (market forces) is."""
    f = england.core_cost_factor.merge(england.icbs, on="icb_code")
    top5 = f.nlargest(5, "cost_factor")
    assert top5["icb_name"].str.contains("London").all()
    assert top5["cost_factor"].between(1.05, 1.08).all()
    assert f["cost_factor"].between(0.95, 1.08).all()


def test_removing_the_cost_factor_moves_posts_out_of_london(england: Bundle) -> None:
    kept = targets(england, Scenario(core_cost_factor="kept"))
    removed = targets(england, Scenario())
    assert set(removed["core_cost_factor"]) == {"removed (need, not cost)"}
    assert kept.groupby("specialty")["target"].sum().equals(
        removed.groupby("specialty")["target"].sum())  # each specialty's total is unchanged
    london = {name: t.loc[t["area"] == "London", "target"].sum()
              for name, t in (("kept", kept), ("removed", removed))}
    assert 100 < london["kept"] - london["removed"] < 250


def _with_qof(registers: list[float], lists: list[float]) -> Bundle:
    from dataclasses import replace

    icbs = ["E54000001", "E54000002", "E54000003"]
    return replace(
        toy_bundle(driver="age:all"),
        qof_prevalence=pd.DataFrame({"icb_code": icbs, "condition": "DM",
                                     "register": registers, "list_size": lists}),
        prevalence_drivers=pd.DataFrame({"specialty": ["Toy Medicine"], "conditions": ["DM"],
                                         "basis": ["judgement"]}))


def test_prevalence_driver_by_hand() -> None:
    # DM registers 20, 20, 60 on lists 100, 200, 700: rates 0.2, 0.1, 0.0857 against England's
    # 100 / 1000 = 0.1, so need index 2, 1, 6/7; on residents 100, 200, 700 the need is
    # 200, 200, 600 (shares 0.2, 0.2, 0.6). Growth to the projection year is the age
    # profile's (1, 1.5, 1): 200, 300, 600, shares 2/11, 3/11, 6/11
    bundle = _with_qof([20.0, 20.0, 60.0], [100.0, 200.0, 700.0])
    on = need_shares(bundle, Scenario(prevalence_driver=True))
    np.testing.assert_allclose(on.specialty[0], [0.2, 0.2, 0.6])
    np.testing.assert_allclose(on.future[0], [2 / 11, 3 / 11, 6 / 11])
    off = need_shares(bundle, Scenario(prevalence_driver=False))
    np.testing.assert_allclose(off.specialty[0], [0.1, 0.2, 0.7])  # residents, as before
    # the same prevalence everywhere gives back the population
    even = need_shares(_with_qof([10.0, 20.0, 70.0], [100.0, 200.0, 700.0]),
                       Scenario(prevalence_driver=True))
    np.testing.assert_allclose(even.specialty[0], [0.1, 0.2, 0.7])


def test_without_prevalence_data_every_row_says_which_driver_it_used(england: Bundle) -> None:
    toy = targets(toy_bundle(driver="age:all"), Scenario(prevalence_driver=True))
    assert set(toy["demand_driver"]) == {"age:all"}  # no QOF table: the catalogue's driver
    real = targets(england, Scenario()).drop_duplicates("specialty").set_index("specialty")
    assert real.loc["Endocrinology and Diabetes", "demand_driver"].startswith("QOF prevalence DM")
    assert real.loc["Cardiology", "demand_driver"].startswith("QOF prevalence CHD+HF+AF")
    assert not real.loc["Geriatric Medicine", "demand_driver"].startswith("QOF")  # not declared


def test_embedded_prevalence_follows_an_independent_measure(england: Bundle) -> None:
    """QOF diabetes prevalence (NHS Digital 2019-20, summed to ICB) is highest where the ONS
    Health Index's avoidable mortality is worst (lower is worse), as diabetes follows
    deprivation; declared registers cover every ICB."""
    assert Scenario().prevalence_driver
    assert set(england.prevalence_drivers["specialty"]) == {
        "Cardiology", "Endocrinology and Diabetes", "Respiratory Medicine"}
    icbs = sorted(england.icbs["icb_code"])
    diabetes = pd.Series(prevalence_index(england.qof_prevalence, ["DM"], icbs), index=icbs)
    both = pd.concat([diabetes, _checks()["ons_avoidable_mortality_2021"]], axis=1).dropna()
    assert len(both) >= 38
    assert both.corr(method="spearman").iloc[0, 1] < -0.5
    # the prevalence index is relative to England: list-weighted, it averages 1
    dm = england.qof_prevalence[england.qof_prevalence["condition"] == "DM"].set_index("icb_code")
    lists = dm["list_size"].reindex(icbs).to_numpy()
    assert np.average(diabetes.to_numpy(), weights=lists) == pytest.approx(1.0)


def test_a_bad_prevalence_file_names_row_and_column(tmp_path: Path) -> None:
    from fairshare.errors import InputError
    from fairshare.inputs.bundle import load_bundle

    (tmp_path / "qof_prevalence.csv").write_text(
        "icb_code,condition,register,list_size\nE54000008,DM,-1,10\nE54000008,AST,5,0\n")
    with pytest.raises(InputError) as err:
        load_bundle(tmp_path)
    found = {(p.row, p.column) for p in err.value.problems}
    assert found == {(2, "register"), (3, "list_size")}
