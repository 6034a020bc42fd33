"""Previous vs current: change table, school subtotals and totals, and the explanation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fairshare.scenario import Scenario
from fairshare.store.compare import (
    CompareError,
    compare_results,
    compare_runs,
    compare_tables,
    explain,
)
from fairshare.store.runs import RunStore

SPECS = [  # specialty, school, phase
    ("Cardiology", "Medicine", "A"),
    ("Geriatric Medicine", "Medicine", "B"),
    ("General Surgery", "Surgery", "A"),
]
AREAS = ["London", "Wessex"]


def _table(numbers: dict[tuple[str, str], tuple[int, int]]) -> pd.DataFrame:
    """A targets-shaped table from {(area, specialty): (current, target)}."""
    rows = []
    for spec, school, phase in SPECS:
        for area in AREAS:
            if (area, spec) not in numbers:
                continue
            cur, tgt = numbers[(area, spec)]
            rows.append({"level": "local_office", "area": area, "specialty": spec,
                         "school": school, "phase": phase, "current": cur, "target": tgt,
                         "gap": tgt - cur})
    return pd.DataFrame(rows)


PREVIOUS = {
    ("London", "Cardiology"): (10, 8), ("Wessex", "Cardiology"): (4, 6),
    ("London", "Geriatric Medicine"): (6, 5), ("Wessex", "Geriatric Medicine"): (3, 4),
    ("London", "General Surgery"): (12, 9), ("Wessex", "General Surgery"): (5, 8),
}
CURRENT = {  # two more cardiology posts in Wessex; new targets everywhere
    ("London", "Cardiology"): (10, 7), ("Wessex", "Cardiology"): (6, 9),
    ("London", "Geriatric Medicine"): (6, 6), ("Wessex", "Geriatric Medicine"): (3, 3),
    ("London", "General Surgery"): (12, 8), ("Wessex", "General Surgery"): (5, 9),
}


def _meta(scenario: Scenario, **changes: object) -> dict[str, object]:
    return {
        "fairshare_version": "0.1.0",
        "created": "2025-01-02T03:04:05+00:00",
        "scenario": scenario.resolved(),
        "scenario_digest": scenario.digest(),
        "establishment": "posts.csv (local_office level)",
        "demonstration_baseline": False,
        "input_digests": {"posts": "a" * 64, "population": "b" * 64},
        "data_vintages": {"population": "ONS mid-2022"},
        **changes,
    }


def test_change_table_per_area_and_specialty() -> None:
    got = compare_tables(_table(PREVIOUS), _table(CURRENT))
    # rows sorted by area then specialty
    order = [("London", "Cardiology"), ("London", "General Surgery"),
             ("London", "Geriatric Medicine"), ("Wessex", "Cardiology"),
             ("Wessex", "General Surgery"), ("Wessex", "Geriatric Medicine")]
    school = {s: (sc, ph) for s, sc, ph in SPECS}
    expected = pd.DataFrame({
        "area": [a for a, _ in order],
        "specialty": [s for _, s in order],
        "school": [school[s][0] for _, s in order],
        "phase": [school[s][1] for _, s in order],
        "current_previous": [10, 12, 6, 4, 5, 3],
        "current_current": [10, 12, 6, 6, 5, 3],
        "current_change": [0, 0, 0, 2, 0, 0],
        "target_previous": [8, 9, 5, 6, 8, 4],
        "target_current": [7, 8, 6, 9, 9, 3],
        "target_change": [-1, -1, 1, 3, 1, -1],
        "gap_previous": [-2, -3, -1, 2, 3, 1],
        "gap_current": [-3, -4, 0, 3, 4, 0],
        "gap_change": [-1, -1, 1, 1, 1, -1],
        "presence": ["both"] * 6,
    })
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert all(got[c].dtype == "int64" for c in got.columns if c.startswith(("target", "gap")))


def test_school_subtotals_and_total_by_hand() -> None:
    cmp = compare_results(_table(PREVIOUS), _table(CURRENT), _meta(Scenario()),
                          _meta(Scenario()))
    # target summed over London + Wessex:
    #   Cardiology 8+6=14 -> 7+9=16; Geriatric 5+4=9 -> 6+3=9; General Surgery 9+8=17 -> 8+9=17
    #   Medicine subtotal 23 -> 25; Surgery 17 -> 17; total 40 -> 42
    expected = pd.DataFrame(
        [["Medicine", "Cardiology", "A", 14, 16, 2],
         ["Medicine", "Geriatric Medicine", "B", 9, 9, 0],
         ["Medicine total", "", "", 23, 25, 2],
         ["Surgery", "General Surgery", "A", 17, 17, 0],
         ["Surgery total", "", "", 17, 17, 0],
         ["Total", "", "", 40, 42, 2]],
        columns=["School", "Specialty", "Phase", "Previous", "Current", "Change"])
    pd.testing.assert_frame_equal(cmp.by_school, expected, check_dtype=False)
    # posts to move = positive gaps: Cardiology 2 -> 3; Geriatric 1 -> 0; Gen Surg 3 -> 4
    assert cmp.redistribution is not None
    assert cmp.redistribution["Previous"].tolist() == [2, 1, 3, 3, 3, 6]
    assert cmp.redistribution["Current"].tolist() == [3, 0, 3, 4, 4, 7]
    assert cmp.redistribution["Change"].tolist() == [1, -1, 0, 1, 1, 1]
    assert cmp.explanation == []
    assert not cmp.unchanged


def test_missing_rows_count_as_zero_and_are_flagged() -> None:
    cur = dict(CURRENT)
    del cur[("Wessex", "Geriatric Medicine")]
    prev = dict(PREVIOUS)
    del prev[("London", "Cardiology")]
    got = compare_tables(_table(prev), _table(cur)).set_index(["area", "specialty"])
    dropped = got.loc[("Wessex", "Geriatric Medicine")]
    assert (dropped["presence"], dropped["target_previous"], dropped["target_current"],
            dropped["target_change"], dropped["school"]) == ("previous only", 4, 0, -4,
                                                             "Medicine")
    added = got.loc[("London", "Cardiology")]
    assert (added["presence"], added["target_previous"], added["target_current"],
            added["current_change"]) == ("current only", 0, 7, 10)
    assert (got["presence"] == "both").sum() == 4


def test_explanation_lists_exactly_the_differing_parameters() -> None:
    before = Scenario()
    after = before.with_overrides(deprivation_weight=0.3, apportionment="webster")
    assert explain(_meta(before), _meta(after)) == [
        "apportionment: hamilton -> webster",
        "deprivation_weight: 0.2 -> 0.3",
    ]
    nested = before.with_overrides(
        specialty_weights={"Cardiology": {"core": 0.6, "specialty": 0.2, "future": 0.2}},
        projection_year=2035)
    assert explain(_meta(before), _meta(nested)) == [
        "projection_year: none -> 2035",
        'specialty_weights.Cardiology: (not set) -> {"core": 0.6, "future": 0.2, '
        '"specialty": 0.2}',
    ]
    reweighted = nested.with_overrides(
        specialty_weights={"Cardiology": {"core": 0.5, "specialty": 0.3, "future": 0.2}})
    assert explain(_meta(nested), _meta(reweighted)) == [
        "specialty_weights.Cardiology.core: 0.6 -> 0.5",
        "specialty_weights.Cardiology.specialty: 0.2 -> 0.3",
    ]


def test_explanation_names_inputs_vintages_and_version() -> None:
    s = Scenario()
    lines = explain(
        _meta(s),
        _meta(s, input_digests={"posts": "c" * 64, "population": "b" * 64},
              establishment="DEMONSTRATION baseline", demonstration_baseline=True,
              data_vintages={"population": "ONS mid-2023"}, fairshare_version="0.2.0"))
    assert lines == [
        "establishment: posts.csv (local_office level) -> DEMONSTRATION baseline",
        "demonstration baseline: no -> yes",
        f"establishment file changed (posts: {'a' * 12} -> {'c' * 12})",
        "data vintage population: ONS mid-2022 -> ONS mid-2023",
        "fairshare version: 0.1.0 -> 0.2.0",
    ]


def test_compare_two_stored_runs(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    before, after = Scenario(), Scenario(deprivation_weight=0.3)
    store.save("last year", _meta(before), {"targets": _table(PREVIOUS)})
    store.save("this year", _meta(after), {"targets": _table(CURRENT)})
    cmp = compare_runs(store, "last year", "this year")
    assert cmp.explanation == ["deprivation_weight: 0.2 -> 0.3"]
    assert cmp.by_school.iloc[-1].tolist() == ["Total", "", "", 40, 42, 2]
    assert "last year" in cmp.previous and "this year" in cmp.current
    same = compare_runs(store, "this year", "this year")
    assert same.unchanged and same.explanation == []


def test_tables_that_cannot_be_lined_up_are_refused() -> None:
    prev, cur = _table(PREVIOUS), _table(CURRENT)
    with pytest.raises(CompareError, match="different levels"):
        compare_tables(prev, cur.assign(level="region"))
    with pytest.raises(CompareError, match="more than one row"):
        compare_tables(pd.concat([prev, prev.head(1)]), cur)
    with pytest.raises(CompareError, match="no column"):
        compare_tables(prev.drop(columns="gap"), cur)


def test_comparison_tables_for_writing() -> None:
    before, after = Scenario(), Scenario(deprivation_weight=0.3)
    cmp = compare_results(_table(PREVIOUS), _table(CURRENT), _meta(before), _meta(after))
    out = cmp.tables()
    assert list(out) == ["comparison", "by_school", "redistribution", "explanation"]
    assert out["explanation"]["change"].tolist() == ["deprivation_weight: 0.2 -> 0.3"]
    no_gap = compare_results(_table(PREVIOUS), _table(CURRENT), _meta(before), _meta(after),
                             values=["target"])
    assert no_gap.redistribution is None and "redistribution" not in no_gap.tables()
