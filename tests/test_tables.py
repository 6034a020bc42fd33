"""Planner layouts (METHOD §5) on a hand-made three-area plan whose every number is checked by hand.

The toy: areas North (N), South (S) and a deanery with a long name (code TVL); schools Medicine
and Surgery; specialties Cardiology (Medicine, phase A), Geriatric Medicine (Medicine, B) and
General Surgery (Surgery, A); plan years 2024-2026.

    current -> target         North     South     TVL
    Cardiology                10 -> 14  12 -> 10   8 -> 6
    Geriatric Medicine         5 -> 5    9 -> 6    6 -> 9
    General Surgery           20 -> 17  10 -> 12  10 -> 11

    redistribution 2024/2025/2026
    Cardiology                +2 +1 +1  -1 -1  0  -1  0 -1
    Geriatric Medicine         0  0  0   0 -2 -1   0 +2 +1
    General Surgery           -1 -1 -1  +1  0 +1   0 +1  0

    new time-limited expansion: North Cardiology +2 in 2025, South Geriatric Medicine +1 in 2024.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairshare.publish.tables import (
    MODEL_GAP,
    ONE_YEAR_COLUMNS,
    PHASE_IMPACT_COLUMNS,
    PLAN_ADDITIVE,
    SPECIALTY_PHASE,
    TOTAL_MOVED,
    by_level,
    one_year,
    pace_of_change,
    phase_impact,
)

LONG = "Thames Valley and the Very Long Named Deanery"
AREAS = {"North": ("N", "North region"), "South": ("S", "South region"),
         LONG: ("TVL", "South region")}
SPECIALTIES = {"Cardiology": ("Medicine", "A"), "Geriatric Medicine": ("Medicine", "B"),
               "General Surgery": ("Surgery", "A")}
YEARS = [2024, 2025, 2026]
CURRENT_TARGET = {
    "Cardiology": {"North": (10, 14), "South": (12, 10), LONG: (8, 6)},
    "Geriatric Medicine": {"North": (5, 5), "South": (9, 6), LONG: (6, 9)},
    "General Surgery": {"North": (20, 17), "South": (10, 12), LONG: (10, 11)},
}
Moves = dict[str, dict[str, tuple[int, int, int]]]
MOVES: Moves = {
    "Cardiology": {"North": (2, 1, 1), "South": (-1, -1, 0), LONG: (-1, 0, -1)},
    "Geriatric Medicine": {"North": (0, 0, 0), "South": (0, -2, -1), LONG: (0, 2, 1)},
    "General Surgery": {"North": (-1, -1, -1), "South": (1, 0, 1), LONG: (0, 1, 0)},
}
EXPANSION = {("North", "Cardiology", 2025): 2, ("South", "Geriatric Medicine", 2024): 1}


def make_targets(current_target: dict[str, dict[str, tuple[int, int]]] | None = None,
                 specialties: dict[str, tuple[str, str]] | None = None,
                 scenario: str = "toy") -> pd.DataFrame:
    """A targets table in the contract's shape (the waterfall columns are placeholders)."""
    current_target = current_target or CURRENT_TARGET
    specialties = specialties or SPECIALTIES
    rows = []
    for spec, by_area in current_target.items():
        school, phase = specialties[spec]
        for area, (current, target) in by_area.items():
            code, region = AREAS[area]
            rows.append({
                "scenario": scenario, "level": "local_office", "area_code": code, "area": area,
                "region_code": region[:1], "region": region, "specialty": spec,
                "school": school, "phase": phase, "current": current,
                "fair_share": target + 0.25, "target_fractional": target + 0.125,
                "target": target, "gap": target - current,
                "distance": (current - target) / target,
                "population_share_posts": float(current), "effect_need": 0.5,
                "effect_projection": -0.25, "effect_deprivation": 0.0,
                "effect_specialised": 0.0, "effect_rounding": -0.125,
                "specialised_share": 0.05, "method": "hamilton", "baseline": "toy baseline",
            })
    return pd.DataFrame(rows)


def make_plan(moves: Moves | None = None,
              expansion: dict[tuple[str, str, int], int] | None = None) -> pd.DataFrame:
    """A plan table in the contract's shape, derived from the moves like the planner does."""
    moves = MOVES if moves is None else moves
    expansion = EXPANSION if expansion is None else expansion
    rows = []
    for spec, by_area in moves.items():
        school, phase = SPECIALTIES[spec]
        for area, yearly in by_area.items():
            current, target = CURRENT_TARGET[spec][area]
            cumulative, in_post = 0, 0
            for year, move in zip(YEARS, yearly, strict=True):
                cumulative += move
                new = expansion.get((area, spec, year), 0)
                in_post += new
                rows.append({
                    "scenario": "toy", "area": area, "region": AREAS[area][1],
                    "specialty": spec, "school": school, "phase": phase, "year": year,
                    "redistribution": move, "expansion": new, "expansion_in_post": in_post,
                    "net": move + new, "cumulative": cumulative, "posts": current + cumulative,
                    "target": target, "remaining_gap": target - current - cumulative,
                    "vacancies": 3, "vacancies_used": max(-move, 0), "capacity": 2,
                    "capacity_used": max(move, 0),
                })
    # shuffled, so the layouts' ordering is tested rather than inherited
    return pd.DataFrame(rows).sample(frac=1.0, random_state=7).reset_index(drop=True)


def _records(df: pd.DataFrame) -> list[list[object]]:
    return [list(r) for r in df.itertuples(index=False, name=None)]


def _body_sums_equal_total(df: pd.DataFrame, label: str, numbers: list[str]) -> None:
    body = df[df[label] != "Total"]
    total = df[df[label] == "Total"]
    assert len(total) == 1 and df.index[-1] == total.index[0]
    for column in numbers:
        assert total[column].iat[0] == body[column].sum(), column


# --- one_year --------------------------------------------------------------------------------

def test_one_year_by_hand() -> None:
    table = one_year(make_plan(), "North", 2025)
    assert list(table.columns) == ONE_YEAR_COLUMNS
    # Geriatric Medicine moves nothing in North in 2025 and is dropped
    assert _records(table) == [
        ["Medicine", "Cardiology", "A", 1, 2, 3],
        ["Surgery", "General Surgery", "A", -1, 0, -1],
        ["Total", "", "", 0, 2, 2],
    ]


def test_one_year_keep_zeros_sorts_by_school_then_specialty() -> None:
    table = one_year(make_plan(), "South", 2024, keep_zeros=True)
    assert _records(table) == [
        ["Medicine", "Cardiology", "A", -1, 0, -1],
        ["Medicine", "Geriatric Medicine", "B", 0, 1, 1],
        ["Surgery", "General Surgery", "A", 1, 0, 1],
        ["Total", "", "", 0, 1, 1],
    ]
    assert one_year(make_plan(), "North", 2025, keep_zeros=True)["Specialty"].tolist() == [
        "Cardiology", "Geriatric Medicine", "General Surgery", ""]


@pytest.mark.parametrize("area", list(AREAS))
@pytest.mark.parametrize("year", YEARS)
def test_one_year_totals_equal_body_and_plan(area: str, year: int) -> None:
    plan = make_plan()
    table = one_year(plan, area, year)
    numbers = ONE_YEAR_COLUMNS[3:]
    _body_sums_equal_total(table, "School", numbers)
    rows = plan[(plan["area"] == area) & (plan["year"] == year)]
    total = table.iloc[-1]
    assert total["Redistribution"] == rows["redistribution"].sum()
    assert total["Time-limited expansion"] == rows["expansion"].sum()
    assert total["Net gain/loss"] == rows["net"].sum()
    assert all(table[c].dtype == "int64" for c in numbers)


def test_one_year_without_expansion_columns_counts_them_as_zero() -> None:
    plan = make_plan().drop(columns=["expansion", "expansion_in_post", "net"])
    assert _records(one_year(plan, "North", 2025)) == [
        ["Medicine", "Cardiology", "A", 1, 0, 1],
        ["Surgery", "General Surgery", "A", -1, 0, -1],
        ["Total", "", "", 0, 0, 0],
    ]


def test_one_year_with_nothing_moving_is_just_a_zero_total() -> None:
    quiet: Moves = {s: {a: (0, 0, 0) for a in AREAS} for s in SPECIALTIES}
    assert _records(one_year(make_plan(quiet, {}), "North", 2024)) == [["Total", "", "", 0, 0, 0]]


def test_one_year_rejects_unknown_area_and_year() -> None:
    with pytest.raises(ValueError, match="area 'Nowhere'"):
        one_year(make_plan(), "Nowhere", 2024)
    with pytest.raises(ValueError, match="year 2040"):
        one_year(make_plan(), "North", 2040)


# --- pace_of_change --------------------------------------------------------------------------

def test_pace_of_change_by_hand() -> None:
    table = pace_of_change(make_plan(), make_targets(), "South")
    assert list(table.columns) == [SPECIALTY_PHASE, MODEL_GAP, "2024", "2025", "2026",
                                   TOTAL_MOVED]
    assert _records(table) == [
        ["Cardiology (A)", -2, -1, -1, 0, -2],
        ["Geriatric Medicine (B)", -3, 0, -2, -1, -3],
        ["General Surgery (A)", 2, 1, 0, 1, 2],
        ["Total", -3, 0, -3, 0, -3],
    ]


@pytest.mark.parametrize("area", list(AREAS))
def test_pace_of_change_totals_equal_body_and_plan(area: str) -> None:
    plan, targets = make_plan(), make_targets()
    table = pace_of_change(plan, targets, area)
    years = [str(y) for y in YEARS]
    _body_sums_equal_total(table, SPECIALTY_PHASE, [MODEL_GAP, *years, TOTAL_MOVED])
    body = table.iloc[:-1]
    assert (body[years].sum(axis=1) == body[TOTAL_MOVED]).all()
    rows = plan[plan["area"] == area]
    for year in YEARS:
        assert table[str(year)].iat[-1] == rows.loc[rows["year"] == year, "redistribution"].sum()
    t = targets[targets["area"] == area]
    assert table[MODEL_GAP].iat[-1] == (t["target"] - t["current"]).sum()


def test_pace_of_change_keeps_still_specialties_unless_asked() -> None:
    plan, targets = make_plan(), make_targets()
    # North Geriatric Medicine: gap 0, no moves
    full = pace_of_change(plan, targets, "North")
    assert "Geriatric Medicine (B)" in full[SPECIALTY_PHASE].tolist()
    lean = pace_of_change(plan, targets, "North", keep_zeros=False)
    assert lean[SPECIALTY_PHASE].tolist() == ["Cardiology (A)", "General Surgery (A)", "Total"]
    assert lean.iloc[-1].tolist() == ["Total", 1, 1, 0, 0, 1]


def test_pace_of_change_refuses_plan_specialty_missing_from_targets() -> None:
    targets = make_targets()
    with pytest.raises(ValueError, match="missing from the targets"):
        pace_of_change(make_plan(), targets[targets["specialty"] != "Cardiology"], "North")


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=27, max_size=27),
       st.lists(st.integers(0, 3), min_size=27, max_size=27))
def test_layout_totals_equal_plan_sums_for_any_moves(moves: list[int], new: list[int]) -> None:
    it = iter(moves)
    random_moves: Moves = {s: {a: (next(it), next(it), next(it)) for a in AREAS}
                           for s in SPECIALTIES}
    keys = [(a, s, y) for s in SPECIALTIES for a in AREAS for y in YEARS]
    plan = make_plan(random_moves, dict(zip(keys, new, strict=True)))
    for area in AREAS:
        for year in YEARS:
            table = one_year(plan, area, year)
            rows = plan[(plan["area"] == area) & (plan["year"] == year)]
            assert table.iloc[-1, 3:].tolist() == [rows["redistribution"].sum(),
                                                   rows["expansion"].sum(), rows["net"].sum()]
            _body_sums_equal_total(table, "School", ONE_YEAR_COLUMNS[3:])
        pace = pace_of_change(plan, make_targets(), area)
        assert pace[TOTAL_MOVED].iat[-1] == plan.loc[plan["area"] == area, "redistribution"].sum()


# --- phase_impact ----------------------------------------------------------------------------

REFRESHED = {
    "Cardiology": {"North": (10, 16), "South": (12, 10), LONG: (10, 6)},
    "Geriatric Medicine": {"North": (5, 6), "South": (9, 6), LONG: (6, 8)},
    "General Surgery": {"North": (20, 17), "South": (11, 13), LONG: (10, 11)},
    "Vascular Surgery": {"North": (2, 2), "South": (1, 1), LONG: (1, 1)},
}
REFRESHED_SPECIALTIES = {**SPECIALTIES, "Vascular Surgery": ("Surgery", "A")}


def test_phase_impact_national_by_hand() -> None:
    previous = make_targets()
    current = make_targets(REFRESHED, REFRESHED_SPECIALTIES, scenario="refresh")
    table = phase_impact(previous, current)
    assert list(table.columns) == PHASE_IMPACT_COLUMNS
    assert _records(table) == [
        ["Medicine", "Cardiology", "A", 30, 32, 2],
        ["Medicine", "Geriatric Medicine", "B", 20, 20, 0],
        ["Medicine total", "", "", 50, 52, 2],
        ["Surgery", "General Surgery", "A", 40, 41, 1],
        ["Surgery", "Vascular Surgery", "A", 0, 4, 4],  # new in the refresh: previously 0
        ["Surgery total", "", "", 40, 45, 5],
        ["Total", "", "", 90, 97, 7],
    ]


def test_phase_impact_one_area_and_other_values_by_hand() -> None:
    previous = make_targets()
    current = make_targets(REFRESHED, REFRESHED_SPECIALTIES, scenario="refresh")
    assert _records(phase_impact(previous, current, area="North")) == [
        ["Medicine", "Cardiology", "A", 14, 16, 2],
        ["Medicine", "Geriatric Medicine", "B", 5, 6, 1],
        ["Medicine total", "", "", 19, 22, 3],
        ["Surgery", "General Surgery", "A", 17, 17, 0],
        ["Surgery", "Vascular Surgery", "A", 0, 2, 2],
        ["Surgery total", "", "", 17, 19, 2],
        ["Total", "", "", 36, 41, 5],
    ]
    # gaps: TVL cardiology -2 -> -4, geriatric +3 -> +2
    gaps = phase_impact(previous, current, value="gap", area=LONG)
    assert gaps.iloc[:3, 3:].values.tolist() == [[-2, -4, -2], [3, 2, -1], [1, -2, -3]]
    fractional = phase_impact(previous, current, value="target_fractional", area="North")
    assert fractional["Previous"].iat[-1] == pytest.approx(36 + 3 * 0.125)
    assert fractional["Current"].iat[-1] == pytest.approx(41 + 4 * 0.125)


def test_phase_impact_subtotals_and_total_equal_their_rows() -> None:
    previous = make_targets()
    current = make_targets(REFRESHED, REFRESHED_SPECIALTIES, scenario="refresh")
    for area in (None, *AREAS):
        table = phase_impact(previous, current, area=area)
        body = table[~table["School"].str.endswith(" total") & (table["School"] != "Total")]
        for school in ("Medicine", "Surgery"):
            sub = table[table["School"] == f"{school} total"].iloc[0]
            rows = body[body["School"] == school]
            assert sub[["Previous", "Current", "Change"]].tolist() == rows[
                ["Previous", "Current", "Change"]].sum().tolist()
        assert table.iloc[-1][["Previous", "Current", "Change"]].tolist() == body[
            ["Previous", "Current", "Change"]].sum().tolist()
        assert (body["Change"] == body["Current"] - body["Previous"]).all()


def test_phase_impact_on_plans_sums_flows_and_reads_positions_at_the_end() -> None:
    plan = make_plan()
    posts = phase_impact(plan, plan, value="posts")
    # final posts (2026) per specialty nationally, not the sum over three years
    assert posts["Previous"].tolist()[:2] == [30, 20] and posts["Change"].abs().sum() == 0
    used = phase_impact(plan, plan, value="capacity_used", area="North")
    assert used["Current"].tolist()[:2] == [4, 0]  # Cardiology 2 + 1 + 1
    assert phase_impact(plan, plan, value="capacity_used", area="North", year=2025)[
        "Current"].iat[0] == 1
    assert phase_impact(plan, plan, value="posts", area="North", year=2024)[
        "Current"].iat[0] == 12


# --- by_level --------------------------------------------------------------------------------

MAPPING = pd.DataFrame({"local_office": list(AREAS), "region_name": [r for _, r in AREAS.values()],
                        "region_code": ["N", "S", "S"]})


def test_by_level_region_sums_by_hand() -> None:
    plan = make_plan()
    region = by_level(plan, "region", MAPPING)
    assert sorted(region["area"].unique()) == ["North region", "South region"]
    row = region[(region["area"] == "South region") & (region["specialty"] == "Cardiology")
                 & (region["year"] == 2024)].iloc[0]
    # South -1 and TVL -1 in 2024; posts 11 + 7; target 10 + 6
    assert row["redistribution"] == -2
    assert row["posts"] == 18 and row["target"] == 16 and row["remaining_gap"] == -2
    assert row["vacancies_used"] == 2 and row["capacity_used"] == 0 and row["vacancies"] == 6
    geri = region[(region["area"] == "South region") & (region["specialty"] == "Geriatric Medicine")
                  & (region["year"] == 2025)].iloc[0]
    # South gives 2, TVL receives 2: they cancel in the region, but stay gross in the usage
    assert geri["redistribution"] == 0 and geri["vacancies_used"] == 2
    assert geri["capacity_used"] == 2
    assert list(region.columns) == list(plan.columns)


def test_by_level_totals_agree_with_local_offices() -> None:
    plan = make_plan()
    region = by_level(plan, "region", MAPPING)
    keys = ["specialty", "year"]
    assert region[PLAN_ADDITIVE].sum().tolist() == plan[PLAN_ADDITIVE].sum().tolist()
    pd.testing.assert_frame_equal(
        region.groupby(keys)[PLAN_ADDITIVE].sum(), plan.groupby(keys)[PLAN_ADDITIVE].sum())
    assert (region["remaining_gap"] == region["target"] - region["posts"]).all()
    # the plan's own region column gives the same answer as the mapping
    pd.testing.assert_frame_equal(by_level(plan, "region", None), region)


def test_by_level_national_and_identity() -> None:
    plan = make_plan()
    national = by_level(plan, "national", None)
    assert set(national["area"]) == {"England"} and len(national) == 3 * 3
    assert (national["redistribution"] == 0).all()  # moves only move posts around
    assert national.loc[national["year"] == 2024, "expansion"].sum() == 1
    pd.testing.assert_frame_equal(by_level(plan, "local_office", None), plan)


def test_by_level_errors() -> None:
    with pytest.raises(ValueError, match="no region for areas"):
        by_level(make_plan(), "region", MAPPING.iloc[:2])
    with pytest.raises(ValueError, match="level must be"):
        by_level(make_plan(), "icb", MAPPING)
