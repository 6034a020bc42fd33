"""No current trainee moves, checked trainee by trainee; the glide path against hand-worked pace.

The simulation below is written from the programme's rules, not from the planner: every trainee
is followed from start to completion, a post can be released only when its trainee has
completed, and each post left open is filled by a new trainee who completes one programme
length later.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairshare.model.plan import PlanOptions, PlanProblem, plan

START = 2022


def replay(table: pd.DataFrame, cohorts: pd.DataFrame, lengths: dict[str, int]) -> None:
    """Replay the plan trainee by trainee; fail if any trainee would have to move."""
    for (area, spec), rows in table.groupby(["area", "specialty"]):
        length = lengths[spec]
        mine = cohorts[(cohorts["area"] == area) & (cohorts["specialty"] == spec)]
        in_post: Counter[int] = Counter()  # completion year -> trainees
        for year, n in zip(mine["completion_year"], mine["trainees"], strict=True):
            in_post[int(year)] += int(n)
        for row in rows.sort_values("year").itertuples():
            free = in_post.pop(row.year, 0)  # completers leave: their posts are open
            assert row.vacancies == free, (area, spec, row.year, row.vacancies, free)
            released = max(-row.redistribution, 0)
            assert released <= free, f"{area} {spec} {row.year}: a current trainee moves"
            starters = free - released + max(row.redistribution, 0)
            in_post[row.year + length] += starters
            assert sum(in_post.values()) == row.posts, (area, spec, row.year)


def cohort_problem(trainees: dict[str, list[int]], targets: dict[str, int], length: int,
                   capacity: dict[tuple[str, int], int] | None = None,
                   phase: int = START) -> tuple[PlanProblem, pd.DataFrame]:
    """One specialty; trainees[area][k] complete in START + k (k < length)."""
    rows, cohort_rows = [], []
    for area, counts in trainees.items():
        rows.append({"area": area, "specialty": "S", "current": sum(counts),
                     "target": targets[area]})
        for k, n in enumerate(counts):
            cohort_rows.append({"area": area, "specialty": "S", "completion_year": START + k,
                                "trainees": n})
    cohorts = pd.DataFrame(cohort_rows)
    cap = None
    if capacity:
        cap = pd.DataFrame([{"area": a, "specialty": "S", "year": y, "capacity": c}
                            for (a, y), c in capacity.items()])
    specs = pd.DataFrame({"specialty": ["S"], "programme_years": [length],
                          "phase_start": [phase]})
    return PlanProblem(pd.DataFrame(rows), specs, capacity=cap, cohorts=cohorts), cohorts


def moves(table: pd.DataFrame, area: str) -> list[int]:
    return table[table["area"] == area].sort_values("year")["redistribution"].tolist()


def test_a_released_post_is_not_refilled_so_its_line_frees_one_fewer() -> None:
    # L = 2, A has 5 trainees completing each year, gives 8 to B. B can take 4 in 2022, none in
    # 2023, 4 a year after. The old planner released 4 again in 2024, but the cohort that
    # started in 2022 had only 5 − 4 = 1 trainee: it frees 1 post in 2024. The remaining 3 go in
    # 2025, from the line that started in 2023 (5 refilled).
    cap = {("B", y): 4 for y in range(START, 2032)} | {("B", 2023): 0}
    problem, cohorts = cohort_problem({"A": [5, 5], "B": [1, 1]}, {"A": 2, "B": 10}, 2, cap)
    result = plan(problem, PlanOptions(pace="fastest"))
    assert moves(result.table, "A")[:5] == [-4, 0, -1, -3, 0]
    a = result.table[result.table["area"] == "A"].sort_values("year")
    assert a["vacancies"].tolist()[:5] == [5, 5, 1, 5, 0]  # after earlier moves
    replay(result.table, cohorts, {"S": 2})


def test_default_vacancies_follow_cohorts_too() -> None:
    # no cohort file: 10 posts, L = 2 give 5 a year; a release in 2022 shrinks 2024's vacancies
    posts = pd.DataFrame({"area": ["A", "B"], "specialty": "S", "current": [10, 2],
                          "target": [2, 10]})
    specs = pd.DataFrame({"specialty": ["S"], "programme_years": [2], "phase_start": [START]})
    cap = pd.DataFrame({"area": "B", "specialty": "S", "year": list(range(START, 2032)),
                        "capacity": [4, 0] + [4] * 8})
    result = plan(PlanProblem(posts, specs, capacity=cap), PlanOptions(pace="fastest"))
    assert moves(result.table, "A")[:5] == [-4, 0, -1, -3, 0]


def test_glide_path_moves_an_even_share_a_year_to_2030() -> None:
    # gap 16 from a 2023 phase start to 2030: 8 years, 2 a year (an even share a year);
    # 11 over 8 years: the odd posts early
    posts = pd.DataFrame({"area": ["A", "B", "C", "D"], "specialty": ["S", "S", "T", "T"],
                          "current": [40, 40, 40, 40], "target": [24, 56, 29, 51]})
    specs = pd.DataFrame({"specialty": ["S", "T"], "programme_years": [4, 4],
                          "phase_start": [2023, 2023]})
    by_2030 = PlanOptions(horizon=2031, glide_until=2030)
    result = plan(PlanProblem(posts, specs), by_2030)
    assert moves(result.table, "A") == [0] + [-2] * 8 + [0]
    assert moves(result.table, "B") == [0] + [2] * 8 + [0]
    # ceil(11(k+1)/8) − ceil(11k/8) for k = 0..7
    assert moves(result.table, "C") == [0, -2, -1, -2, -1, -1, -2, -1, -1, 0]
    fastest = plan(PlanProblem(posts, specs), PlanOptions(horizon=2031, pace="fastest"))
    # as fast as allowed: B's capacity ceil(10% of 40) = 4 a year
    assert moves(fastest.table, "B") == [0, 4, 4, 4, 4, 0, 0, 0, 0, 0]


def test_glide_keeps_half_of_a_giving_areas_intake() -> None:
    # A: 10 posts, L = 2 (5 complete a year), target 2. Keeping half its intake, each cohort
    # line gives at most floor(5/2) = 2 posts over the whole plan: 4 in all, so A stops at 6
    problem, cohorts = cohort_problem({"A": [5, 5], "B": [20, 20]}, {"A": 2, "B": 48}, 2)
    result = plan(problem, PlanOptions(horizon=2031, glide_until=2030))
    assert sum(moves(result.table, "A")) == -4
    a = result.table[result.table["area"] == "A"].sort_values("year")
    # no year takes more than half the completing cohort
    assert ((-a["redistribution"]) * 2 <= a["vacancies"]).all()
    found = [f for f in result.findings if f.area == "A"]
    assert any(f.kind == "horizon" and "cohort share" in f.message for f in found)
    assert any(f.kind == "cohort_share" for f in plan(problem, PlanOptions(
        horizon=2031, glide_until=2030, require_target_by=2031)).findings)
    replay(result.table, cohorts, {"S": 2})


def test_areas_off_target_at_the_end_of_the_glide_window_are_named() -> None:
    # B can take 1 a year (capacity): 8 posts need 8 years from 2026, past 2030
    cap = {("B", y): 1 for y in range(START, 2036)}
    problem, _ = cohort_problem({"A": [10, 10, 10], "B": [5, 5, 5]}, {"A": 22, "B": 23}, 3,
                                cap, phase=2026)
    result = plan(problem, PlanOptions(horizon=2035, glide_until=2030))
    glide = [f for f in result.findings if f.kind == "glide" and f.area == "B"]
    assert glide and glide[0].year == 2030 and glide[0].size == 3
    assert "end of the glide window" in glide[0].message
    assert "its capacity" in glide[0].message


@st.composite
def cohort_cases(draw: st.DrawFn) -> tuple[PlanProblem, pd.DataFrame, PlanOptions]:
    length = draw(st.integers(1, 4))
    n_areas = draw(st.integers(2, 4))
    areas = [f"Area {chr(65 + i)}" for i in range(n_areas)]
    trainees = {a: draw(st.lists(st.integers(0, 6), min_size=length, max_size=length))
                for a in areas}
    current = [sum(v) for v in trainees.values()]
    target = list(current)
    for _ in range(draw(st.integers(0, 15))):
        i, j = draw(st.integers(0, n_areas - 1)), draw(st.integers(0, n_areas - 1))
        if target[i] > 0:
            target[i] -= 1
            target[j] += 1
    horizon = START + draw(st.integers(2, 9))
    capacity = {(a, y): draw(st.integers(0, 6)) for a in areas for y in range(START, horizon + 1)}
    problem, cohorts = cohort_problem(trainees, dict(zip(areas, target, strict=True)), length,
                                      capacity, phase=draw(st.sampled_from([START, START + 1])))
    options = PlanOptions(horizon=horizon, pace=draw(st.sampled_from(["glide", "fastest"])),
                          discount=draw(st.sampled_from([0.9, 1.0])))
    return problem, cohorts, options


@given(cohort_cases())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_trainee_is_ever_displaced(case: tuple[PlanProblem, pd.DataFrame,
                                                  PlanOptions]) -> None:
    problem, cohorts, options = case
    result = plan(problem, options)
    assert result.status == "optimal" and result.stats["n_fallbacks"] == 0
    replay(result.table, cohorts, {"S": int(problem.specialties["programme_years"].iloc[0])})


def test_a_requirement_shortens_the_glide_window() -> None:
    # gap 16 from 2023, required by 2026: spread over the 4 years 2023-2026, 4 a year
    posts = pd.DataFrame({"area": ["A", "B"], "specialty": "S", "current": [40, 40],
                          "target": [24, 56]})
    specs = pd.DataFrame({"specialty": ["S"], "programme_years": [4], "phase_start": [2023]})
    cap = pd.DataFrame({"area": "B", "specialty": "S", "year": list(range(START, 2032)),
                        "capacity": 10})
    result = plan(PlanProblem(posts, specs, capacity=cap),
                  PlanOptions(horizon=2031, require_target_by=2026))
    assert result.status == "optimal"
    assert moves(result.table, "A") == [0, -4, -4, -4, -4, 0, 0, 0, 0, 0]


def test_embedded_england_plan_displaces_no_trainee() -> None:
    """The default plan on the embedded data, replayed with trainees spread evenly over each
    programme's years (the default assumption: c posts of an L-year programme, the k-th year's
    completers floor(c(k+1)/L) − floor(ck/L)), to 2040 at the fastest pace."""
    from fairshare.inputs.bundle import load_england
    from fairshare.model.pipeline import run_plan
    from fairshare.scenario import Scenario

    bundle = load_england()
    out = run_plan(bundle, Scenario(horizon=2040, pace="fastest"))
    lengths = bundle.specialties.set_index("specialty")["programme_years"].astype(int).to_dict()
    start = out.plan[out.plan["year"] == START]
    rows = []
    for area, spec, posts, moved in zip(start["area"], start["specialty"], start["posts"],
                                        start["redistribution"], strict=True):
        current, length = int(posts - moved), lengths[spec]
        for k in range(length):
            n = current * (k + 1) // length - current * k // length
            rows.append({"area": area, "specialty": spec, "completion_year": START + k,
                         "trainees": n})
    table = out.plan[["area", "specialty", "year", "redistribution", "posts", "vacancies"]]
    assert (table["redistribution"] != 0).sum() > 100  # a real plan, not an idle one
    replay(table, pd.DataFrame(rows), lengths)


def test_a_partial_cohort_file_leaves_the_unlisted_posts_on_the_default_rule() -> None:
    # A: 9 posts, L = 3; the file lists 3 completing in 2022 and 1 in 2023 (nothing else). The
    # 5 posts it does not account for fall vacant on the default rule, floor(5(k+1)/3) -
    # floor(5k/3) = 1, 2, 2 in 2022-2024; with the file's: 4, 3, 2; each vacancy is refilled,
    # so the pattern repeats.
    posts = pd.DataFrame({"area": ["A"], "specialty": "S", "current": [9], "target": [9]})
    specs = pd.DataFrame({"specialty": ["S"], "programme_years": [3], "phase_start": [START]})
    cohorts = pd.DataFrame({"area": "A", "specialty": "S", "completion_year": [2022, 2023],
                            "trainees": [3, 1]})
    table = plan(PlanProblem(posts, specs, cohorts=cohorts), PlanOptions(horizon=2027)).table
    assert table["vacancies"].tolist() == [4, 3, 2, 4, 3, 2]


def test_a_cohort_file_listing_a_few_trainees_late_does_not_freeze_the_posts() -> None:
    # Issue 18: A holds 30 posts of a 3-year programme; the file lists only 5 trainees
    # completing in 2023-2025 (after the first cycle's end). The 25 others fall vacant on the
    # default rule (8, 8, 9 in 2022-2024), so A reaches its target of 12 as it would without
    # the file; before, those 25 posts never fell vacant and A stayed at 30 to the horizon.
    posts = pd.DataFrame({"area": ["A", "B"], "specialty": "S", "current": [30, 0],
                          "target": [12, 18]})
    specs = pd.DataFrame({"specialty": ["S"], "programme_years": [3], "phase_start": [START]})
    cohorts = pd.DataFrame({"area": "A", "specialty": "S",
                            "completion_year": [2023, 2024, 2025], "trainees": [2, 2, 1]})
    cap = pd.DataFrame({"area": "B", "specialty": "S", "year": list(range(START, 2036)),
                        "capacity": 30})
    options = PlanOptions(horizon=2035, pace="fastest")
    table = plan(PlanProblem(posts, specs, capacity=cap, cohorts=cohorts), options).table
    a = table[table["area"] == "A"].sort_values("year")
    assert a["vacancies"].tolist()[:3] == [8, 2 + 8, 2 + 9]  # the file's and the default rule
    assert a["posts"].iloc[-1] == 12
    every = pd.concat([cohorts, pd.DataFrame({"area": "A", "specialty": "S",
                                              "completion_year": [2022, 2023, 2024],
                                              "trainees": [8, 8, 9]})])
    replay(table, every.groupby(["area", "specialty", "completion_year"], as_index=False)
           ["trainees"].sum(), {"S": 3})
