"""Time-limited expansion posts: hand-worked placements, capacity, carrying, totals."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fairshare.model.expansion import allocate_expansion, compare_modes
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
    # A has room for ceil(0.1 · 10) = 1 but is giving posts away: even when asked to place
    # anyway it gets none (an area giving a specialty away is never sent expansion posts)
    out = allocate_expansion(result.table, national((2022, "mental health", 3)),
                             PRIORITIES, SPECS.iloc[:1], None, below_target_only=False)
    assert placed(out, 2022) == {}
    assert out.attrs["unplaced"]["posts"].tolist() == [3]


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
    first = full.groupby(["area", "specialty"])["year"].transform("min") == full["year"]
    givers = set(map(tuple, full.loc[first & (full["remaining_gap"] < 0),
                                      ["area", "specialty"]].to_numpy()))
    is_giver = [(a, s) in givers for a, s in zip(full["area"], full["specialty"], strict=True)]
    assert not full.loc[is_giver, "expansion"].any()
    for year in unplaced["year"]:
        rows = full[(full["year"] == year) & ~pd.Series(is_giver, index=full.index)]
        short = rows["remaining_gap"] - rows["expansion_in_post"] > 0
        if capacity is not None:
            short &= rows["capacity"] > rows["expansion"]
        assert not short.any()
    # in post = the last programme_years years of new posts
    for _, group in out.groupby(["area", "specialty"]):
        new = group.sort_values("year")["expansion"].tolist()
        held = group.sort_values("year")["expansion_in_post"].tolist()
        assert held == [sum(new[max(0, i - 2):i + 1]) for i in range(len(new))]


def test_targets_grow_with_the_expansion() -> None:
    # A (10) and B (30) are at target: against today's total no area is below target and all
    # 4 posts would be left over. Against the enlarged total each area is owed its share
    # (1/4, 3/4) of every post: post 1 ties at .25/10.25 = .75/30.75 -> B (larger gap);
    # post 2: A .5/10.5 beats B (1.5 - 1)/31.5 -> A; posts 3 and 4: B (A is at 0 or below).
    table = gaps([("A", "P1", 2024, 10, 10), ("B", "P1", 2024, 30, 30)])
    nat = national((2024, "mental health", 4))
    fixed = allocate_expansion(table, nat, PRIORITIES, SPECS.iloc[:1], None)
    assert fixed.attrs["unplaced"]["posts"].tolist() == [4]
    grown = allocate_expansion(table, nat, PRIORITIES, SPECS.iloc[:1], None, grow_targets=True)
    assert placed(grown, 2024) == {"A": 1, "B": 3}
    assert grown.attrs["unplaced"].empty


def test_an_area_giving_the_specialty_away_gets_no_expansion() -> None:
    # A gives 2 posts away (target 10, posts 12); B is short 2. The growth is shared by the
    # areas not giving (B alone): post k finds B short 2 + k - (k - 1) > 0, so B takes all 6.
    table = gaps([("A", "P1", 2024, 10, 12), ("B", "P1", 2024, 10, 8)])
    out = allocate_expansion(table, national((2024, "mental health", 6)), PRIORITIES,
                             SPECS.iloc[:1], None, grow_targets=True)
    assert placed(out, 2024) == {"B": 6}
    # with capacity 3 at B the other 3 are reported, not sent to A
    cap = pd.DataFrame({"area": ["A", "B"], "specialty": "P1", "year": 2024, "capacity": [9, 3]})
    out = allocate_expansion(table, national((2024, "mental health", 6)), PRIORITIES,
                             SPECS.iloc[:1], cap, grow_targets=True)
    assert placed(out, 2024) == {"B": 3}
    unplaced = out.attrs["unplaced"]
    assert unplaced["posts"].tolist() == [3]
    assert "capacity" in unplaced["reason"].iloc[0]


def test_offset_mode_cushions_a_giving_area_s_loss() -> None:
    # London 2023 Cardiology: -6 by redistribution, +2 by expansion
    table = gaps([("London", "P1", 2023, 90, 96), ("B", "P1", 2023, 50, 44)],
                 redistribution=[-6, 6])
    out = allocate_expansion(table, national((2023, "mental health", 2)), PRIORITIES,
                             SPECS.iloc[:1], None, mode="offset_losses")
    assert placed(out, 2023) == {"London": 2}
    # never more than the loss: 10 posts, 6 placed, 4 reported
    out = allocate_expansion(table, national((2023, "mental health", 10)), PRIORITIES,
                             SPECS.iloc[:1], None, mode="offset_losses")
    assert placed(out, 2023) == {"London": 6}
    assert out.attrs["unplaced"]["posts"].tolist() == [4]
    # offsetting at most a third of the loss, as London's 2 of 6: 2 placed, 8 reported
    out = allocate_expansion(table, national((2023, "mental health", 10)), PRIORITIES,
                             SPECS.iloc[:1], None, mode="offset_losses", offset_share=1 / 3)
    assert placed(out, 2023) == {"London": 2}
    assert out.attrs["unplaced"]["posts"].tolist() == [8]
    assert "33%" in out.attrs["unplaced"]["reason"].iloc[0]


def test_offset_mode_shares_by_loss() -> None:
    # A gives 6, C gives 3: 4 posts -> quotas 2.67 and 1.33 -> 2 + 1, the 4th to A (.67)
    table = gaps([("A", "P1", 2024, 10, 16), ("B", "P1", 2024, 19, 10),
                  ("C", "P1", 2024, 10, 13)], redistribution=[-6, 9, -3])
    out = allocate_expansion(table, national((2024, "mental health", 4)), PRIORITIES,
                             SPECS.iloc[:1], None, mode="offset_losses")
    assert placed(out, 2024) == {"A": 3, "C": 1}


def test_compare_modes_keeps_both_side_by_side() -> None:
    table = gaps([("London", "P1", 2023, 90, 96), ("B", "P1", 2023, 50, 44)],
                 redistribution=[-6, 6])
    out = compare_modes(table, national((2023, "mental health", 2)), PRIORITIES,
                        SPECS.iloc[:1], mode="offset_losses")
    row = out.set_index("area")
    assert row.loc["London", "expansion_offset"] == 2 == row.loc["London", "expansion"]
    assert row.loc["B", "expansion_under_served"] == 2
    assert row.loc["London", "expansion_under_served"] == 0
    assert out.attrs["unplaced"].empty
    assert out.attrs["unplaced_by_mode"].empty


def test_shipped_expansion_scenario_cushions_then_places_by_need() -> None:
    """scenarios/expansion-1000.yaml on the embedded data (the programme's 1,000 posts in
    2023-2025, cushion_then_need): posts are conserved; an area giving a specialty away gets
    at most a third of that year's loss back; every other post goes to an area below target;
    the under-served comparison never feeds a giving area."""
    from pathlib import Path

    from fairshare import load_england
    from fairshare.model.pipeline import run_plan
    from fairshare.scenario import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "expansion-1000.yaml")
    assert sc.expansion_mode == "cushion_then_need"
    assert {t.year for t in sc.expansion} == {2023, 2024, 2025}
    assert sum(t.posts for t in sc.expansion) == 1000
    out = run_plan(load_england(), sc)
    plan = out.plan
    gap = out.targets.set_index(["area", "specialty"])["gap"]
    plan_gap = gap.reindex(pd.MultiIndex.from_frame(plan[["area", "specialty"]])).to_numpy()
    assert not plan.loc[plan_gap < 0, "expansion_under_served"].any()
    left = out.unplaced["posts"].sum() if len(out.unplaced) else 0
    assert plan["expansion"].sum() + left == 1000
    assert (plan["expansion"] == plan["expansion_cushioned"]).all()
    giving = plan[plan_gap < 0]
    assert (giving["expansion"] <= (-giving["redistribution"]).clip(lower=0) // 3).all()
    assert giving["expansion"].sum() > 0  # some cushion was given
    others = plan[(plan_gap >= 0) & (plan["expansion"] > 0)]
    assert (others["remaining_gap"] > 0).all()  # only areas still below target by need
    assert plan["expansion_offset"].sum() <= 1000


def test_what_one_specialty_cannot_take_for_lack_of_room_goes_to_another() -> None:
    # P1 (size 20) has quota 4 of 6, P2 (size 10) 2. In P1, A is owed half the growth but has
    # no capacity, so B can take only its half of the first post: 1 placed, 3 left. P2's C is
    # owed all of P2's growth and has room: it takes its 2, then P1's 3.
    table = gaps([("A", "P1", 2024, 10, 10), ("B", "P1", 2024, 10, 10),
                  ("C", "P2", 2024, 10, 10)], capacity=[0, 9, 9], capacity_used=[0, 0, 0])
    out = allocate_expansion(table, national((2024, "mental health", 6)), PRIORITIES, SPECS,
                             None, grow_targets=True)
    assert placed(out, 2024) == {"B": 1, "C/P2": 5}
    assert out.attrs["unplaced"].empty


# --- cushion_then_need: the programme's practice (London's loss offset first, the rest by need)

def test_cushion_then_need_cushions_first_then_places_by_need() -> None:
    # London gives 6 this year, D gives 3; B and C are below target (B short 10 of 60,
    # C short 4 of 20). 10 posts with a third of each loss offsettable: cushions are
    # floor(6/3) = 2 for London and floor(3/3) = 1 for D (3 posts); the other 7 by need,
    # one at a time to the area furthest below target relative to target (targets fixed):
    # C 4/20=.20 -> B 10/60=.167 -> tie B 9/60 = C 3/20 = .15: B (larger gap) -> C .15
    # -> B 8/60=.133 -> B 7/60=.117 -> tie B 6/60 = C 2/20 = .10: B; so B 5, C 2.
    table = gaps([("London", "P1", 2023, 90, 96), ("D", "P1", 2023, 30, 33),
                  ("B", "P1", 2023, 60, 50), ("C", "P1", 2023, 20, 16)],
                 redistribution=[-6, -3, 6, 3])
    out = allocate_expansion(table, national((2023, "mental health", 10)), PRIORITIES,
                             SPECS.iloc[:1], None, mode="cushion_then_need",
                             offset_share=1 / 3)
    assert placed(out, 2023) == {"London": 2, "D": 1, "B": 5, "C": 2}
    assert out.attrs["cushioned"] == {2023: 3}
    assert out.attrs["unplaced"].empty


def test_cushion_then_need_shares_cushions_by_loss_when_posts_are_short() -> None:
    # cushions of the whole loss would be 6 and 3; only 4 posts: Hamilton by loss gives
    # 2.67 and 1.33 -> 2 + 1, the 4th to London (remainder .67); nothing is left for need
    table = gaps([("London", "P1", 2023, 90, 96), ("D", "P1", 2023, 30, 33),
                  ("B", "P1", 2023, 60, 51)], redistribution=[-6, -3, 9])
    out = allocate_expansion(table, national((2023, "mental health", 4)), PRIORITIES,
                             SPECS.iloc[:1], None, mode="cushion_then_need", offset_share=1)
    assert placed(out, 2023) == {"London": 3, "D": 1}


def test_cushion_then_need_respects_capacity_and_reports_the_rest() -> None:
    # after London's cushion of 2, B (the only area below target) can take 1 more: 2 posts
    # of 5 are reported, and the cushion needs no capacity (posts London was training in)
    table = gaps([("London", "P1", 2023, 90, 96), ("B", "P1", 2023, 50, 44)],
                 redistribution=[-6, 6], capacity=[0, 7], capacity_used=[0, 6])
    out = allocate_expansion(table, national((2023, "mental health", 5)), PRIORITIES,
                             SPECS.iloc[:1], None, mode="cushion_then_need",
                             offset_share=1 / 3)
    assert placed(out, 2023) == {"London": 2, "B": 1}
    unplaced = out.attrs["unplaced"]
    assert unplaced["posts"].tolist() == [2] and "capacity" in unplaced["reason"].iloc[0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(0, 40), st.integers(0, 6)),
                min_size=2, max_size=6),
       st.integers(0, 60), st.sampled_from([1 / 3, 0.5, 1.0]))
def test_cushion_then_need_conserves_posts_and_gives_each_cushion_its_share(
        rows: list[tuple[int, int, int]], posts: int, share: float) -> None:
    """Independent recomputation: cushions are min(rule, loss order) and nothing is lost."""
    areas = [f"A{i}" for i in range(len(rows))]
    table = gaps([(a, "P1", 2024, t, p) for a, (t, p, _) in zip(areas, rows, strict=True)],
                 redistribution=[-min(r, max(p - t, 0)) for t, p, r in rows])
    rule = {a: int(max(-r, 0) * share) for a, r in zip(areas, table["redistribution"],
                                                       strict=True)}
    out = allocate_expansion(table, national((2024, "mental health", posts)), PRIORITIES,
                             SPECS.iloc[:1], None, mode="cushion_then_need",
                             offset_share=share)
    got = dict(zip(out["area"], out["expansion"], strict=True))
    left = int(out.attrs["unplaced"]["posts"].sum())
    assert sum(got.values()) + left == posts  # posts conserved
    givers = {a for a, r in zip(areas, table["redistribution"], strict=True) if r < 0}
    if posts >= sum(rule.values()):  # every giving area gets exactly its share rule
        assert all(got[a] == rule[a] for a in givers)
        assert out.attrs["cushioned"].get(2024, 0) == sum(rule.values())
    else:  # posts short: all go to cushions, none beyond any area's rule
        assert all(got[a] <= rule[a] for a in areas) and left == 0
    below = {a: t - p for a, (t, p, _) in zip(areas, rows, strict=True) if t > p}
    for a in set(areas) - givers:  # by need: never past target, never to an area at target
        assert got[a] <= below.get(a, 0)


# --- scarce areas first (expansion_allocation: scarce_first, issue 16) --------------------

def _two_areas_and_a_full_one() -> pd.DataFrame:
    # A short 4 of 10 (.4), B short 5 of 20 (.25), C at target 10
    return gaps([("A", "P1", 2024, 10, 6), ("B", "P1", 2024, 20, 15),
                 ("C", "P1", 2024, 10, 10)])


def test_scarce_areas_get_posts_first_up_to_their_target() -> None:
    # By need (6 posts): A .4 -> A .3 -> B .25 (A .2) -> B (tie .2, larger gap) -> A (.2 > .15)
    # -> B (.15 > .1): A 3, B 3. With B and C scarce: B first until at target (5 posts), C is
    # at target and takes none, then the last post by need to A.
    table, six = _two_areas_and_a_full_one(), national((2024, "mental health", 6))
    need = allocate_expansion(table, six, PRIORITIES, SPECS, None)
    assert placed(need, 2024) == {"A": 3, "B": 3}
    first = allocate_expansion(table, six, PRIORITIES, SPECS, None,
                               scarce={("B", "P1"), ("C", "P1")})
    assert placed(first, 2024) == {"A": 1, "B": 5}
    assert first.attrs["unplaced"].empty
    # scarce in another specialty only: no effect on P1
    other = allocate_expansion(table, six, PRIORITIES, SPECS, None, scarce={("B", "P2")})
    assert placed(other, 2024) == {"A": 3, "B": 3}


def test_scarce_first_stays_within_capacity_and_target() -> None:
    # B (scarce) can take 2 this year: 2 to B, then A to its target (4), 3 posts unplaced
    capacity = pd.DataFrame({"area": ["A", "B", "C"], "specialty": "P1", "year": 2024,
                             "capacity": [10, 2, 10]})
    out = allocate_expansion(_two_areas_and_a_full_one(), national((2024, "mental health", 9)),
                             PRIORITIES, SPECS, capacity, scarce={("B", "P1")})
    assert placed(out, 2024) == {"A": 4, "B": 2}
    assert out.attrs["unplaced"]["posts"].sum() == 3
    # past target only when expansion_beyond_target allows it: then B's room is still 2
    beyond = allocate_expansion(_two_areas_and_a_full_one(),
                                national((2024, "mental health", 9)), PRIORITIES, SPECS,
                                capacity, scarce={("B", "P1")}, below_target_only=False)
    assert placed(beyond, 2024)["B"] == 2
    assert beyond["expansion"].sum() == 9


def test_shipped_scarce_first_scenario_moves_expansion_toward_scarce_areas() -> None:
    """scenarios/expansion-scarce-first.yaml is expansion-1000.yaml plus scarce_first: the
    cushions of giving areas are the same, posts are conserved, every other post goes to an
    area below target, and more of the 1,000 go to scarce area x specialties (docs/scarcity.md)."""
    from pathlib import Path

    from fairshare import load_england
    from fairshare.model.pipeline import run_plan
    from fairshare.scenario import load_scenario

    folder = Path(__file__).resolve().parents[1] / "scenarios"
    base = load_scenario(folder / "expansion-1000.yaml")
    first = load_scenario(folder / "expansion-scarce-first.yaml")
    assert first.expansion_allocation == "scarce_first" and base.expansion_allocation == "need"
    assert first.expansion == base.expansion and first.expansion_mode == base.expansion_mode
    bundle = load_england()
    before, after = run_plan(bundle, base), run_plan(bundle, first)
    by = [o.plan.groupby("scarcity_designation")["expansion"].sum() for o in (before, after)]
    assert by[0].sum() == by[1].sum() == 1000
    assert by[1]["scarce"] > by[0]["scarce"]
    assert by[1]["well provided"] < by[0]["well provided"]
    plan, gap = after.plan, after.targets.set_index(["area", "specialty"])["gap"]
    plan_gap = gap.reindex(pd.MultiIndex.from_frame(plan[["area", "specialty"]])).to_numpy()
    old = before.plan
    assert (plan.loc[plan_gap < 0, "expansion"].to_numpy()
            == old.loc[plan_gap < 0, "expansion"].to_numpy()).all()  # same cushions
    # every other post goes to an area not above target; one at target only when its share of
    # the enlarged national total (targets grow with expansion) is past its posts
    others = plan[(plan_gap >= 0) & (plan["expansion"] > 0)]
    assert (others["remaining_gap"] >= 0).all()
    national_in_post = plan.groupby(["specialty", "year"])["expansion_in_post"].sum()
    takers = plan[plan_gap >= 0].groupby(["specialty", "year"])["target"].sum()
    for row in others[others["remaining_gap"] == 0].itertuples():
        share = row.target / takers[(row.specialty, row.year)]
        # a post is placed while the area's gap to its grown target is above zero
        assert row.expansion_in_post < share * national_in_post[(row.specialty, row.year)] + 1
