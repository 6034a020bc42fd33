"""The pace-of-change plan: hand-computed answers, invariants on random instances, infeasibility.

Known answers are worked out from the rules in docs/plan.md, not copied from the code's output.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from fairshare.model.plan import (
    Finding,
    PlanInputError,
    PlanOptions,
    PlanProblem,
    default_capacity,
    default_vacancies,
    plan,
    precheck,
    vacancies_from_cohorts,
)

YEARS = range(2022, 2032)


def FAST(**kwargs: object) -> PlanOptions:
    """The fastest pace (the known answers below are worked out for it)."""
    return PlanOptions(**{"pace": "fastest", "horizon": 2031, **kwargs})  # type: ignore[arg-type]


def two_areas(programme_years: int = 5, phase_start: float | None = 2022.0,
              capacity_b: int | None = 100, min_a: int | None = None) -> PlanProblem:
    """A (10 posts, target 4) gives to B (4 posts, target 10); L = 5 makes 2 vacancies a year."""
    posts = pd.DataFrame({"area": ["A", "B"], "specialty": ["S", "S"], "current": [10, 4],
                          "target": [4, 10]})
    specs = pd.DataFrame({"specialty": ["S"], "programme_years": [programme_years],
                          "phase_start": [phase_start]})
    capacity = None
    if capacity_b is not None:
        capacity = pd.DataFrame({"area": "B", "specialty": "S", "year": list(YEARS),
                                 "capacity": capacity_b})
    min_posts = None
    if min_a is not None:
        min_posts = pd.DataFrame({"area": ["A"], "specialty": ["S"], "min_posts": [min_a]})
    return PlanProblem(posts, specs, capacity=capacity, min_posts=min_posts)


def moves(result_table: pd.DataFrame, area: str, specialty: str = "S") -> list[int]:
    rows = result_table[(result_table["area"] == area) & (result_table["specialty"] == specialty)]
    return rows.sort_values("year")["redistribution"].tolist()


# ---------------------------------------------------------------- vacancies and capacity


def test_default_vacancies_spread_whole_posts_evenly() -> None:
    posts = pd.DataFrame({"area": ["A", "B"], "specialty": ["S", "S"], "current": [10, 6]})
    specs = pd.DataFrame({"specialty": ["S"], "programme_years": [3], "phase_start": [2022]})
    vac = default_vacancies(posts, specs, range(2022, 2028))
    a = vac[vac["area"] == "A"]["vacancies"].tolist()
    b = vac[vac["area"] == "B"]["vacancies"].tolist()
    assert a == [3, 3, 4, 3, 3, 4]  # floor(10k/3) differences: 3, 6-3, 10-6
    assert b == [2, 2, 2, 2, 2, 2]
    assert list(vac.columns) == ["area", "specialty", "year", "vacancies"]


@given(current=st.integers(0, 500), length=st.integers(1, 8), start=st.integers(2000, 2040),
       n_years=st.integers(1, 20))
@settings(max_examples=60, deadline=None)
def test_default_vacancies_any_window_of_programme_length_sums_to_current(
        current: int, length: int, start: int, n_years: int) -> None:
    posts = pd.DataFrame({"area": ["A"], "specialty": ["S"], "current": [current]})
    specs = pd.DataFrame({"specialty": ["S"], "programme_years": [length], "phase_start": [None]})
    vac = default_vacancies(posts, specs, range(start, start + n_years))["vacancies"].to_numpy()
    assert (vac >= 0).all()
    assert set(vac) <= {current // length, -(-current // length)}
    for i in range(len(vac) - length + 1):
        assert vac[i:i + length].sum() == current


def test_vacancies_from_cohorts_count_completers_in_their_year() -> None:
    cohorts = pd.DataFrame({"area": ["A", "A", "A", "B"], "specialty": ["S"] * 4,
                            "completion_year": [2023, 2023, 2025, 2040],
                            "trainees": [2, 1, 4, 9]})
    vac = vacancies_from_cohorts(cohorts, range(2022, 2026))
    assert vac[vac["area"] == "A"]["vacancies"].tolist() == [0, 3, 0, 4]
    assert vac[vac["area"] == "B"]["vacancies"].tolist() == [0, 0, 0, 0]


def test_default_capacity_is_exact_headroom_at_least_one() -> None:
    posts = pd.DataFrame({"area": ["A", "B", "C"], "specialty": ["S"] * 3,
                          "current": [30, 31, 0]})
    cap = default_capacity(posts, range(2022, 2023), headroom=0.1)
    assert cap["capacity"].tolist() == [3, 4, 1]  # 0.1·30 is exactly 3, not 4


# ---------------------------------------------------------------- known answers


def test_known_answer_ample_capacity_three_years_of_two() -> None:
    result = plan(two_areas(), FAST())
    assert result.status == "optimal"
    assert moves(result.table, "A") == [-2, -2, -2] + [0] * 7
    assert moves(result.table, "B") == [2, 2, 2] + [0] * 7
    final = result.table[result.table["year"] == 2031].set_index("area")
    assert final.loc["A", "posts"] == 4 and final.loc["B", "posts"] == 10
    assert final["remaining_gap"].tolist() == [0, 0]
    assert result.findings == []


def test_known_answer_pace_cap() -> None:
    # ceil(0.1 · 6) = 1 post a year, although 2 fall vacant
    result = plan(two_areas(), FAST(pace_cap=0.1))
    assert moves(result.table, "B") == [1] * 6 + [0] * 4
    # ceil(0.5 · 6) = 3 a year, but only 2 fall vacant
    result = plan(two_areas(), FAST(pace_cap=0.5))
    assert moves(result.table, "B") == [2, 2, 2] + [0] * 7


def test_known_answer_capacity_limited_six_years_of_one() -> None:
    result = plan(two_areas(capacity_b=1), FAST())
    assert moves(result.table, "B") == [1] * 6 + [0] * 4
    assert moves(result.table, "A") == [-1] * 6 + [0] * 4
    table = result.table[result.table["area"] == "B"]
    assert (table["capacity_used"] <= table["capacity"]).all()


def test_default_capacity_headroom_applies_without_a_table() -> None:
    # B has 4 posts: ceil(0.10 · 4) = 1 a year; with 50% headroom, 2 a year
    assert moves(plan(two_areas(capacity_b=None), FAST()).table, "B") == [1] * 6 + [0] * 4
    result = plan(two_areas(capacity_b=None), FAST(capacity_headroom=0.5))
    assert moves(result.table, "B") == [2, 2, 2] + [0] * 7


def test_nothing_moves_before_phase_start() -> None:
    result = plan(two_areas(phase_start=2026.0), FAST())
    assert moves(result.table, "B") == [0, 0, 0, 0, 2, 2, 2, 0, 0, 0]


def test_unphased_specialty_never_moves_and_is_reported() -> None:
    result = plan(two_areas(phase_start=None), FAST())
    assert (result.table["redistribution"] == 0).all()
    assert [f.kind for f in result.findings] == ["phase"]
    assert "not phased" in result.findings[0].message


def test_giver_stops_at_minimum_viable_programme() -> None:
    result = plan(two_areas(min_a=7), FAST())
    assert moves(result.table, "A") == [-2, -1] + [0] * 8
    kinds = {(f.kind, f.area) for f in result.findings}
    assert ("min_posts", "A") in kinds
    assert ("horizon", "B") in kinds
    message = next(f.message for f in result.findings if f.kind == "min_posts")
    assert message == ("A stops at its minimum viable programme of 7 S posts, "
                       "3 above its target of 4")


def test_giver_already_below_its_minimum_gives_nothing() -> None:
    result = plan(two_areas(min_a=12), FAST())
    assert (result.table["redistribution"] == 0).all()
    found = [f for f in result.findings if f.kind == "min_posts"]
    assert [f.message for f in found] == [
        "A keeps its 10 S posts (6 above its target of 4): it is already at or below its "
        "minimum viable programme of 12"]


def test_horizon_finding_names_the_binding_constraint() -> None:
    # L = 10: one vacancy a year; by 2024 only 3 of 6 posts can move
    result = plan(two_areas(programme_years=10), FAST(horizon=2024))
    assert moves(result.table, "A") == [-1, -1, -1]
    found = {f.area: f for f in result.findings}
    assert found["A"].kind == "horizon" and found["A"].size == 3
    assert found["A"].message == ("A still holds 7 S posts in 2024, 3 above its target of 4: "
                                  "held back by its vacancies in 3 of 3 plan years")
    assert found["B"].kind == "horizon" and "giving areas" in found["B"].message


def test_fastest_gives_to_the_receiver_furthest_from_target_first() -> None:
    # A releases 4 a year for two years; B and C each need 4 and are equally far from target,
    # so the fastest plan is the same however the posts are shared: by name, B first
    posts = pd.DataFrame({"area": ["A", "B", "C"], "specialty": "S", "current": [20, 10, 10],
                          "target": [12, 14, 14]})
    specs = pd.DataFrame({"specialty": ["S"], "programme_years": [5], "phase_start": [2022]})
    vac = pd.DataFrame({"area": "A", "specialty": "S", "year": [2022, 2023, 2024],
                        "vacancies": [4, 4, 0]})
    cap = pd.DataFrame({"area": ["B", "C"] * 3, "specialty": "S",
                        "year": [2022, 2022, 2023, 2023, 2024, 2024], "capacity": 10})
    result = plan(PlanProblem(posts, specs, vacancies=vac, capacity=cap),
                  FAST(horizon=2024))
    assert moves(result.table, "B") == [4, 0, 0]
    assert moves(result.table, "C") == [0, 4, 0]


def test_tie_break_never_trades_progress_for_smoothness() -> None:
    # A must give 4; vacancies 3, 0, 3. Giving 3 then 1 is more progress than 2 then 2.
    posts = pd.DataFrame({"area": ["A", "B"], "specialty": "S", "current": [10, 4],
                          "target": [6, 8]})
    specs = pd.DataFrame({"specialty": ["S"], "programme_years": [5], "phase_start": [2022]})
    vac = pd.DataFrame({"area": "A", "specialty": "S", "year": [2022, 2023, 2024],
                        "vacancies": [3, 0, 3]})
    cap = pd.DataFrame({"area": "B", "specialty": "S", "year": [2022, 2023, 2024],
                        "capacity": 10})
    result = plan(PlanProblem(posts, specs, vacancies=vac, capacity=cap),
                  FAST(horizon=2024))
    assert moves(result.table, "A") == [-3, 0, -1]


def test_furthest_from_target_receives_first_on_a_tie() -> None:
    # one post a year for two years; B is 1 of 10 short (10%), C is 1 of 4 short (25%):
    # both orders are equally smooth and equally fast, so C, further from target, goes first
    posts = pd.DataFrame({"area": ["A", "B", "C"], "specialty": "S", "current": [10, 9, 3],
                          "target": [8, 10, 4]})
    specs = pd.DataFrame({"specialty": ["S"], "programme_years": [10], "phase_start": [2022]})
    cap = pd.DataFrame({"area": ["B", "C"] * 2, "specialty": "S",
                        "year": [2022, 2022, 2023, 2023], "capacity": 5})
    result = plan(PlanProblem(posts, specs, capacity=cap), FAST(horizon=2023))
    assert moves(result.table, "C") == [1, 0]
    assert moves(result.table, "B") == [0, 1]


# ---------------------------------------------------------------- infeasible and elastic


def test_required_target_infeasible_names_area_specialty_year_and_counts() -> None:
    problem = two_areas()
    options = FAST(require_target_by=2023)
    pre = precheck(problem, options)
    assert Finding("vacancies", "A", "S", 2023, 2,
                   "A cannot release 6 S posts by 2023: only 4 fall vacant in 2022-2023") in pre
    result = plan(problem, options)
    assert result.status == "infeasible"
    assert (result.table["redistribution"] == 0).all()
    messages = [f.message for f in result.findings]
    assert "A cannot release 6 S posts by 2023: only 4 fall vacant in 2022-2023" in messages
    diagnosis = [f for f in result.findings if f.message.startswith("To reach target by 2023")]
    assert diagnosis and all(f.kind == "vacancies" and f.area == "A" for f in diagnosis)
    assert sum(f.size for f in diagnosis) == 2


def test_elastic_returns_a_plan_and_names_each_relaxation() -> None:
    result = plan(two_areas(), FAST(require_target_by=2023, elastic=True))
    assert result.status == "elastic"
    assert sum(moves(result.table, "B")[:2]) == 6
    relaxed = [f for f in result.findings if f.message.startswith("Relaxed")]
    assert [(f.kind, f.area, f.specialty) for f in relaxed] == [("vacancies", "A", "S")]
    assert relaxed[0].size == 2
    used = result.table[result.table["area"] == "A"]
    assert int((used["vacancies_used"] - used["vacancies"]).clip(lower=0).sum()) == 2


def test_elastic_prefers_relaxing_capacity_over_moving_trainees() -> None:
    # enough vacancies, B can take 1 a year: to finish by 2024, capacity must give
    result = plan(two_areas(capacity_b=1), FAST(require_target_by=2024, elastic=True))
    assert result.status == "elastic"
    kinds = {f.kind for f in result.findings if f.message.startswith("Relaxed")}
    assert kinds == {"capacity"}
    assert sum(f.size for f in result.findings if f.kind == "capacity") == 3


def test_elastic_without_need_to_relax_is_the_optimal_plan() -> None:
    plain = plan(two_areas(), FAST())
    elastic = plan(two_areas(), FAST(elastic=True))
    assert elastic.status == "optimal"
    pd.testing.assert_frame_equal(plain.table, elastic.table)


def test_requirement_after_phase_start_is_reported_as_phase() -> None:
    result = plan(two_areas(phase_start=2026.0), FAST(require_target_by=2024))
    assert result.status == "infeasible"
    assert any(f.kind == "phase" and "starts in 2026" in f.message for f in result.findings)
    elastic = plan(two_areas(phase_start=2026.0),
                   FAST(require_target_by=2024, elastic=True))
    assert elastic.status == "elastic"
    assert {f.kind for f in elastic.findings if f.message.startswith("Relaxed")} == {"target"}


def test_precheck_capacity_pace_and_minimum() -> None:
    problem = two_areas(capacity_b=1, min_a=5)
    found = precheck(problem, FAST(require_target_by=2024, pace_cap=0.2))
    by_kind = {(f.kind, f.area): f for f in found}
    assert by_kind[("capacity", "B")].size == 3  # needs 6, can take 3 in 2022-2024
    assert not [f for f in found if f.kind == "pace_cap"]  # ceil(0.2 · 6) = 2 a year: enough
    assert by_kind[("min_posts", "A")].size == 1
    assert by_kind[("min_posts", "A")].message == (
        "A cannot go down to its S target of 4: its minimum viable programme is 5 posts")
    # pace cap 0.2 -> ceil(1.2) = 2 a year, 3 years: 6 posts, enough; 0.1 -> 1 a year: 3 short
    found = precheck(two_areas(), FAST(require_target_by=2024, pace_cap=0.1))
    pace = [f for f in found if f.kind == "pace_cap"]
    assert {(f.area, f.size) for f in pace} == {("A", 3), ("B", 3)}


def test_invalid_inputs_are_explained() -> None:
    bad = two_areas()
    posts = bad.posts.assign(target=[4, 9])
    with pytest.raises(PlanInputError, match="targets sum to 13 but current posts to 14"):
        plan(PlanProblem(posts, bad.specialties))
    with pytest.raises(PlanInputError, match="after the horizon"):
        FAST(require_target_by=2035)
    with pytest.raises(PlanInputError, match="pace_cap"):
        FAST(pace_cap=0.0)
    vac = pd.DataFrame({"area": ["Z"], "specialty": ["S"], "year": [2022], "vacancies": [1]})
    with pytest.raises(PlanInputError, match="Z, S"):
        plan(PlanProblem(bad.posts, bad.specialties, vacancies=vac))


# ---------------------------------------------------------------- random instances


@st.composite
def instances(draw: st.DrawFn, unlimited: bool = False) -> tuple[PlanProblem, PlanOptions]:
    n_areas = draw(st.integers(2, 5))
    n_specs = draw(st.integers(1, 3))
    n_years = draw(st.integers(3, 6))
    start = 2022
    years = list(range(start, start + n_years))
    areas = [f"Area {chr(65 + i)}" for i in range(n_areas)]
    rows, specs, vac_rows, cap_rows, min_rows = [], [], [], [], []
    for s in range(n_specs):
        name = f"Spec {s}"
        current = draw(st.lists(st.integers(0, 15), min_size=n_areas, max_size=n_areas))
        # targets: move some posts between random areas, keeping the total
        target = list(current)
        for _ in range(draw(st.integers(0, 12))):
            i, j = draw(st.integers(0, n_areas - 1)), draw(st.integers(0, n_areas - 1))
            if target[i] > 0:
                target[i] -= 1
                target[j] += 1
        for a, c, t in zip(areas, current, target, strict=True):
            rows.append({"area": a, "specialty": name, "current": c, "target": t})
            if draw(st.booleans()):
                min_rows.append({"area": a, "specialty": name,
                                 "min_posts": draw(st.integers(0, 10))})
            for y in years:
                vac_rows.append({"area": a, "specialty": name, "year": y,
                                 "vacancies": 1000 if unlimited else draw(st.integers(0, 5))})
                cap_rows.append({"area": a, "specialty": name, "year": y,
                                 "capacity": 1000 if unlimited else draw(st.integers(0, 5))})
        phase = draw(st.sampled_from([None, start, start, start + 1, start + 2, start + 7]))
        specs.append({"specialty": name, "programme_years": draw(st.integers(1, 6)),
                      "phase_start": phase})
    problem = PlanProblem(
        posts=pd.DataFrame(rows), specialties=pd.DataFrame(specs),
        vacancies=pd.DataFrame(vac_rows), capacity=pd.DataFrame(cap_rows),
        min_posts=None if unlimited or not min_rows else pd.DataFrame(min_rows))
    options = PlanOptions(
        start_year=start, horizon=years[-1],
        pace="fastest" if unlimited else draw(st.sampled_from(["fastest", "glide"])),
        pace_cap=None if unlimited else draw(st.sampled_from([None, None, 0.25, 0.5])),
        discount=draw(st.sampled_from([0.9, 0.5, 1.0])))
    return problem, options


def check_invariants(problem: PlanProblem, options: PlanOptions, table: pd.DataFrame) -> None:
    posts = problem.posts.set_index(["area", "specialty"])
    t = table.merge(problem.posts, on=["area", "specialty"], suffixes=("", "_in"))
    # conservation per specialty and year
    assert (table.groupby(["specialty", "year"])["redistribution"].sum() == 0).all()
    # only posts that fall vacant move out; receivers within capacity
    assert (t["vacancies_used"] <= t["vacancies"]).all()
    assert (t["capacity_used"] <= t["capacity"]).all()
    # one sign per area: givers only give, receivers only receive, areas at target never move
    giver, receiver = t["current"] > t["target_in"], t["current"] < t["target_in"]
    assert (t.loc[giver, "redistribution"] <= 0).all()
    assert (t.loc[receiver, "redistribution"] >= 0).all()
    assert (t.loc[~giver & ~receiver, "redistribution"] == 0).all()
    # no overshoot, and cumulative moves monotone toward target
    assert (t.loc[giver, "posts"] >= t.loc[giver, "target"]).all()
    assert (t.loc[receiver, "posts"] <= t.loc[receiver, "target"]).all()
    distance = t.sort_values("year").groupby(["area", "specialty"])["remaining_gap"]
    assert distance.apply(lambda g: bool((g.abs().diff().dropna() <= 0).all())).all()
    # nothing before the phase start; unphased specialties never move
    phase = problem.specialties.set_index("specialty")["phase_start"]
    start = t["specialty"].map(phase)
    assert (t.loc[start.isna(), "redistribution"] == 0).all()
    early = start.notna() & (t["year"] < start.fillna(0))
    assert (t.loc[early, "redistribution"] == 0).all()
    # a giving area never goes below its minimum viable programme (unless already below it)
    floor = pd.Series(options.min_viable, index=posts.index)
    if problem.min_posts is not None:
        given_floor = problem.min_posts.set_index(["area", "specialty"])["min_posts"]
        floor.loc[given_floor.index] = given_floor
    keys = list(zip(t["area"], t["specialty"], strict=True))
    floor_rows = np.minimum(floor.loc[keys].to_numpy(), t["current"].to_numpy())
    assert (t.loc[giver, "posts"].to_numpy() >= floor_rows[giver.to_numpy()]).all()
    # pace cap
    if options.pace_cap is not None:
        cap = np.ceil(options.pace_cap * (t["target_in"] - t["current"]).abs() - 1e-9)
        assert (t["redistribution"].abs() <= cap).all()
    # table is consistent with itself
    assert (t["posts"] == t["current"] + t["cumulative"]).all()
    assert (t["remaining_gap"] == t["target"] - t["posts"]).all()


@given(instances())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_instances_keep_every_rule(case: tuple[PlanProblem, PlanOptions]) -> None:
    problem, options = case
    result = plan(problem, options)
    assert result.status == "optimal"
    assert result.stats["n_fallbacks"] == 0  # every LP vertex was a whole plan (no MILP)
    check_invariants(problem, options, result.table)
    # one model for all specialties gives the same plan; the same input gives the same output
    single = plan(problem, PlanOptions(**{**options.__dict__, "per_specialty": False}))
    pd.testing.assert_frame_equal(result.table, single.table)
    assert result.findings == single.findings
    again = plan(problem, options)
    pd.testing.assert_frame_equal(result.table, again.table)
    assert result.findings == again.findings


@given(instances())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_instances_make_the_most_progress(case: tuple[PlanProblem, PlanOptions]) -> None:
    """Compare with an independent LP of the progress objective alone (discount not rounded)."""
    problem, options = case
    options = dataclasses.replace(options, pace="fastest")
    result = plan(problem, options)
    table = result.table
    years = list(options.years)
    weight = {y: options.discount ** (y - years[0]) for y in years}
    achieved = sum(weight[y] * abs(g) for y, g in zip(table["year"], table["remaining_gap"],
                                                        strict=True))
    best = reference_distance(problem, options)
    total = sum(weight.values()) * problem.posts.eval("abs(target - current)").sum()
    assert achieved <= best + 1e-3 * max(total, 1) + 1e-6


def reference_distance(problem: PlanProblem, options: PlanOptions) -> float:
    """Smallest discounted distance: a plain LP over signed moves (network, so integral)."""
    years = list(options.years)
    posts = problem.posts.reset_index(drop=True)
    assert problem.vacancies is not None and problem.capacity is not None
    vac = problem.vacancies.set_index(["area", "specialty", "year"])["vacancies"]
    cap = problem.capacity.set_index(["area", "specialty", "year"])["capacity"]
    floors = {}
    if problem.min_posts is not None:
        floors = problem.min_posts.set_index(["area", "specialty"])["min_posts"].to_dict()
    phase = problem.specialties.set_index("specialty")["phase_start"].to_dict()
    lengths = problem.specialties.set_index("specialty")["programme_years"]
    weight = [options.discount ** k for k in range(len(years))]
    # variables: magnitude of the move of each (area row, year)
    n = len(posts) * len(years)
    c = np.zeros(n)
    bounds = []
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    constant = 0.0
    for i, row in posts.iterrows():
        gap = int(row["target"] - row["current"])
        constant += abs(gap) * sum(weight)
        need = abs(gap)
        if gap < 0:
            room = max(0, int(row["current"]) - int(floors.get((row["area"], row["specialty"]),
                                                               options.min_viable)))
            need = min(need, room)
        start = phase[row["specialty"]]
        pace = (math.ceil(options.pace_cap * abs(gap) - 1e-9) if options.pace_cap else need)
        for k, y in enumerate(years):
            j = i * len(years) + k
            c[j] = -sum(weight[k:])
            if gap == 0 or start is None or pd.isna(start) or y < start:
                bounds.append((0, 0))
                continue
            own = vac[(row["area"], row["specialty"], y)] if gap < 0 else \
                cap[(row["area"], row["specialty"], y)]
            bounds.append((0, min(own, pace)))
        total = np.zeros(n)
        total[i * len(years):(i + 1) * len(years)] = 1
        a_ub.append(total)
        b_ub.append(need)
        if gap < 0:  # a released post is not refilled: releases along t, t - L, ... <= V_t
            length = int(lengths[row["specialty"]])
            for k, y in enumerate(years):
                line = np.zeros(n)
                line[[i * len(years) + u for u in range(k % length, k + 1, length)]] = 1
                a_ub.append(line)
                b_ub.append(vac[(row["area"], row["specialty"], y)])
    for spec in posts["specialty"].unique():
        for k in range(len(years)):
            row_eq = np.zeros(n)
            for i, r in posts.iterrows():
                if r["specialty"] == spec:
                    row_eq[i * len(years) + k] = np.sign(r["target"] - r["current"])
            a_eq.append(row_eq)
            b_eq.append(0)
    res = linprog(c, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq,
                  bounds=bounds, method="highs")
    assert res.status == 0
    return constant + float(res.fun)


@given(instances(unlimited=True))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_without_limits_every_area_reaches_target_in_its_first_year(
        case: tuple[PlanProblem, PlanOptions]) -> None:
    problem, options = case
    table = plan(problem, options).table
    phase = problem.specialties.set_index("specialty")["phase_start"]
    start = table["specialty"].map(phase)
    done = table[start.notna() & (table["year"] >= start.fillna(9999))]
    assert (done["remaining_gap"] == 0).all()
