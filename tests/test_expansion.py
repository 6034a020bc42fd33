"""Time-limited expansion posts: hand-worked placements, capacity, carrying, totals."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fairshare.model.expansion import allocate_expansion
from fairshare.model.plan import PlanOptions, PlanProblem, plan

SPECS = pd.DataFrame({"specialty": ["P1", "P2"], "programme_years": [3, 3]})
PRIORITIES = pd.DataFrame({"priority": ["mental health", "mental health"],
                           "specialty": ["P1", "P2"]})


def gaps(rows: list[tuple[str, str, int, int, int]], **extra: list[int]) -> pd.DataFrame:
    """(area, specialty, year, target, posts) -> the gaps table."""
    frame = pd.DataFrame(rows, columns=["area", "specialty", "year", "target", "posts"])
    frame["remaining_gap"] = frame["target"] - frame["posts"]
    for name, values in extra.items():
        frame[name] = values
    return frame.drop(columns="target")


def national(*rows: tuple[int, str, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["year", "priority", "posts"])


def placed(out: pd.DataFrame, year: int, column: str = "expansion") -> dict[str, int]:
    rows = out[(out["year"] == year) & (out[column] > 0)]
    return {f"{a}/{s}" if s != "P1" else a: int(n)
            for a, s, n in zip(rows["area"], rows["specialty"], rows[column], strict=True)}


def test_posts_go_to_the_furthest_below_target_relative_to_target() -> None:
    # A short 4 of 10 (40%), B short 5 of 20 (25%), C at target. One post at a time:
    # A .4 -> A .3 -> (A .2 < B .25) B -> (tie .2: B has the larger gap) B -> A
    table = gaps([("A", "P1", 2024, 10, 6), ("B", "P1", 2024, 20, 15),
                  ("C", "P1", 2024, 10, 10)])
    out = allocate_expansion(table, national((2024, "mental health", 5)), PRIORITIES, SPECS,
                             None)
    assert placed(out, 2024) == {"A": 3, "B": 2}
    assert out.attrs["unplaced"].empty


def test_capacity_is_respected_and_the_rest_reported() -> None:
    table = gaps([("A", "P1", 2024, 10, 6), ("B", "P1", 2024, 20, 15),
                  ("C", "P1", 2024, 10, 10)])
    capacity = pd.DataFrame({"area": ["A", "B", "C"], "specialty": "P1", "year": 2024,
                             "capacity": [1, 1, 1]})
    out = allocate_expansion(table, national((2024, "mental health", 5)), PRIORITIES, SPECS,
                             capacity)
    assert placed(out, 2024) == {"A": 1, "B": 1}  # C is at target
    unplaced = out.attrs["unplaced"]
    assert unplaced["posts"].sum() == 3 and unplaced["year"].tolist() == [2024]


def test_capacity_left_after_redistribution_intake() -> None:
    # A could take 3 this year but already receives 2 by redistribution: 1 left
    table = gaps([("A", "P1", 2024, 10, 6), ("B", "P1", 2024, 20, 15)],
                 capacity=[3, 9], capacity_used=[2, 0])
    out = allocate_expansion(table, national((2024, "mental health", 4)), PRIORITIES, SPECS,
                             None)
    assert placed(out, 2024) == {"A": 1, "B": 3}


def test_posts_split_across_a_priority_by_total_positive_gap() -> None:
    # P1 is short 6 in total (the area above target does not offset it), P2 short 2:
    # quotas 3.75 and 1.25 -> 3 + 1, the last post to the larger remainder (P1)
    table = gaps([("A", "P1", 2024, 10, 4), ("B", "P1", 2024, 10, 13),
                  ("A", "P2", 2024, 10, 8), ("B", "P2", 2024, 10, 10)])
    out = allocate_expansion(table, national((2024, "mental health", 5)), PRIORITIES, SPECS,
                             None)
    by_spec = out.groupby("specialty")["expansion"].sum().to_dict()
    assert by_spec == {"P1": 4, "P2": 1}


def test_what_a_specialty_cannot_take_goes_to_the_priority_s_others() -> None:
    # by gap P1 (short 6) would get 3 of 5 and P2 (short 4) 2, but P1's areas can take only 2
    # this year, so P2 takes 3; of 7 posts, P2 can take only its 4 below target: 1 unplaced
    table = gaps([("A", "P1", 2024, 10, 4), ("A", "P2", 2024, 10, 6)])
    capacity = pd.DataFrame({"area": ["A", "A"], "specialty": ["P1", "P2"], "year": 2024,
                             "capacity": [2, 9]})
    out = allocate_expansion(table, national((2024, "mental health", 5)), PRIORITIES, SPECS,
                             capacity)
    assert out.groupby("specialty")["expansion"].sum().to_dict() == {"P1": 2, "P2": 3}
    assert out.attrs["unplaced"].empty
    out = allocate_expansion(table, national((2024, "mental health", 7)), PRIORITIES, SPECS,
                             capacity)
    assert out.groupby("specialty")["expansion"].sum().to_dict() == {"P1": 2, "P2": 4}
    assert out.attrs["unplaced"]["posts"].tolist() == [1]


def test_a_post_is_carried_for_the_programme_length() -> None:
    # 2024: A short 4, B short 3 (of 10): A, then the tie at 30% goes to A by name.
    # 2025: A's 2 posts are still in post, so A is short only 2: B first, then A (tie, name).
    rows = [("A", "P1", y, 10, 6) for y in range(2024, 2029)]
    rows += [("B", "P1", y, 10, 7) for y in range(2024, 2029)]
    out = allocate_expansion(gaps(rows), national((2024, "mental health", 2),
                                                  (2025, "mental health", 2)),
                             PRIORITIES, SPECS, None)
    assert placed(out, 2024) == {"A": 2}
    assert placed(out, 2025) == {"A": 1, "B": 1}
    a = out[out["area"] == "A"].sort_values("year")["expansion_in_post"].tolist()
    assert a == [2, 3, 3, 1, 0]  # 2024's two for 2024-2026, 2025's one for 2025-2027


def test_minimum_per_area_comes_first() -> None:
    # A short 4 of 10 would take all 4 posts; with a minimum of 1, C and B get one each first
    table = gaps([("A", "P1", 2024, 10, 6), ("B", "P1", 2024, 100, 99),
                  ("C", "P1", 2024, 50, 49)])
    nat = national((2024, "mental health", 4))
    assert placed(allocate_expansion(table, nat, PRIORITIES, SPECS, None), 2024) == {"A": 4}
    out = allocate_expansion(table, nat, PRIORITIES, SPECS, None, minimum_per_area=1)
    assert placed(out, 2024) == {"A": 2, "B": 1, "C": 1}


def test_works_on_a_plan_table() -> None:
    posts = pd.DataFrame({"area": ["A", "B"], "specialty": ["P1", "P1"], "current": [10, 4],
                          "target": [4, 10]})
    specs = pd.DataFrame({"specialty": ["P1"], "programme_years": [5], "phase_start": [2022]})
    result = plan(PlanProblem(posts, specs), PlanOptions(horizon=2026))
    # B (4 posts) can take ceil(0.1 · 4) = 1 a year and gets it by redistribution: nothing left
    # for expansion in 2022. In 2023 capacity is used again; by then no room either.
    out = allocate_expansion(result.table, national((2022, "mental health", 3)),
                             PRIORITIES, SPECS.iloc[:1], None)
    assert placed(out, 2022) == {}
    assert out.attrs["unplaced"]["posts"].tolist() == [3]
    assert len(out) == len(result.table)
    # A (above target) has room for ceil(0.1 · 10) = 1, used only when asked to place anyway
    out = allocate_expansion(result.table, national((2022, "mental health", 3)),
                             PRIORITIES, SPECS.iloc[:1], None, below_target_only=False)
    assert placed(out, 2022) == {"A": 1}
    assert out.attrs["unplaced"]["posts"].tolist() == [2]


def test_below_target_only_stops_at_target() -> None:
    table = gaps([("A", "P1", 2024, 10, 8), ("B", "P1", 2024, 10, 10)])
    out = allocate_expansion(table, national((2024, "mental health", 5)), PRIORITIES, SPECS,
                             None)
    assert placed(out, 2024) == {"A": 2}
    assert out.attrs["unplaced"]["posts"].tolist() == [3]
    # placing anyway: A (20%, 10%), then A and B both at target: A by name, then B (0 beats
    # A's −10%), then A (tie at −10%, equal gaps, by name)
    out = allocate_expansion(table, national((2024, "mental health", 5)), PRIORITIES, SPECS,
                             None, below_target_only=False)
    assert placed(out, 2024) == {"A": 4, "B": 1}


@st.composite
def cases(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    areas = ["A", "B", "C", "D"][:draw(st.integers(1, 4))]
    years = list(range(2024, 2024 + draw(st.integers(1, 4))))
    rows, cap_rows = [], []
    for spec in ("P1", "P2"):
        for a in areas:
            for y in years:
                rows.append((a, spec, y, draw(st.integers(0, 30)), draw(st.integers(0, 30))))
                cap_rows.append({"area": a, "specialty": spec, "year": y,
                                 "capacity": draw(st.integers(0, 4))})
    nat = national(*[(y, "mental health", draw(st.integers(0, 20))) for y in years])
    capacity = pd.DataFrame(cap_rows) if draw(st.booleans()) else None
    return gaps(rows), nat, capacity


@given(cases())
@settings(max_examples=40, deadline=None)
def test_random_totals_capacity_and_carrying(
        case: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]) -> None:
    table, nat, capacity = case
    out = allocate_expansion(table, nat, PRIORITIES, SPECS, capacity, minimum_per_area=1)
    unplaced = out.attrs["unplaced"]
    # every national post is placed or reported
    assert out["expansion"].sum() + unplaced["posts"].sum() == nat["posts"].sum()
    assert (out["expansion"] >= 0).all()
    full = out.merge(table, on=["area", "specialty", "year"])
    if capacity is not None:
        full = full.merge(capacity, on=["area", "specialty", "year"])
        assert (full["expansion"] <= full["capacity"]).all()
    # no area is given posts beyond its target, and posts are left over only when no area
    # below target has room
    assert (full.loc[full["expansion"] > 0, "remaining_gap"]
            >= full.loc[full["expansion"] > 0, "expansion_in_post"]).all()
    for year in unplaced["year"]:
        rows = full[full["year"] == year]
        short = rows["remaining_gap"] - rows["expansion_in_post"] > 0
        if capacity is not None:
            short &= rows["capacity"] > rows["expansion"]
        assert not short.any()
    # in post = the last programme_years years of new posts
    for _, group in out.groupby(["area", "specialty"]):
        new = group.sort_values("year")["expansion"].tolist()
        held = group.sort_values("year")["expansion_in_post"].tolist()
        assert held == [sum(new[max(0, i - 2):i + 1]) for i in range(len(new))]
