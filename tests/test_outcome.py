"""Workforce outcome: completers, where they settle, per need, against the status quo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import fairshare.cli.outcomes  # noqa: F401  (registers the commands)
from fairshare.analysis.outcome import (
    england_population,
    outcome_by_area,
    outcome_equity,
    project_outcome,
)
from fairshare.cli.common import app
from fairshare.inputs.bundle import load_england
from fairshare.model.pipeline import run_plan
from fairshare.scenario import Scenario

SPECS = pd.DataFrame({"specialty": ["Toy"], "programme_years": [4], "entry_level": ["higher"]})


def _targets(current: dict[str, int], fair: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"area": list(current), "region": "R", "specialty": "Toy",
                         "current": list(current.values()),
                         "fair_share": [fair[a] for a in current]})


def _plan(posts: dict[str, list[int]], first: int = 2022,
          expansion: dict[str, list[int]] | None = None) -> pd.DataFrame:
    rows = []
    for area, values in posts.items():
        for k, p in enumerate(values):
            exp = (expansion or {}).get(area, [0] * len(values))
            rows.append({"area": area, "specialty": "Toy", "year": first + k, "posts": p,
                         "expansion": exp[k]})
    plan = pd.DataFrame(rows)
    # expansion in post: each new post held for the programme length (4 years)
    plan["expansion_in_post"] = plan.groupby("area")["expansion"].transform(
        lambda s: s.rolling(4, min_periods=1).sum()).astype(int)
    return plan


def _row(out: pd.DataFrame, area: str, year: int) -> pd.Series:
    return out[(out["area"] == area) & (out["year"] == year)].iloc[0]


def test_hand_sized_case() -> None:
    # Two areas, programme 4 years, posts A=8, B=4, nothing moves, retention 0.8:
    #   completing: A 8/4 = 2, B 4/4 = 1 a year
    #   settling here: A 0.8·2 = 1.6, B 0.8·1 = 0.8
    #   from elsewhere (the only other area takes all movers): A gets 0.2·1 = 0.2 from B,
    #   B gets 0.2·2 = 0.4 from A
    #   new specialists a year: A 1.8, B 1.2; after 3 years (2022-2024): A 5.4, B 3.6
    #   need: fair shares 3 and 9 of a population of 1,000,000 -> 250,000 and 750,000 people,
    #   so per 100k: A 5.4 / 2.5 = 2.16, B 3.6 / 7.5 = 0.48
    out = project_outcome(_plan({"A": [8, 8, 8], "B": [4, 4, 4]}),
                          _targets({"A": 8, "B": 4}, {"A": 3.0, "B": 9.0}), SPECS,
                          retention=0.8, horizon=2024, population=1_000_000)
    assert sorted(out["year"].unique()) == [2022, 2023, 2024]
    a, b = _row(out, "A", 2024), _row(out, "B", 2024)
    assert (a["completing"], b["completing"]) == pytest.approx((2.0, 1.0))
    assert (a["settling_here"], b["settling_here"]) == pytest.approx((1.6, 0.8))
    assert (a["settling_from_elsewhere"], b["settling_from_elsewhere"]) == pytest.approx(
        (0.2, 0.4))
    assert (a["new_specialists_cumulative"], b["new_specialists_cumulative"]) == pytest.approx(
        (5.4, 3.6))
    assert (a["weighted_population"], b["weighted_population"]) == pytest.approx(
        (250_000, 750_000))
    assert (a["new_specialists_per_100k_need"], b["new_specialists_per_100k_need"]) == \
        pytest.approx((2.16, 0.48))


def test_moved_posts_produce_specialists_a_programme_later() -> None:
    # A gives one post to B at recruitment in 2023. With the default lag (programme length 4)
    # its completers change from 2027: A (7/4) = 1.75, B (5/4) = 1.25; with lag 0 from 2023.
    plan = _plan({"A": [8, 7, 7, 7], "B": [4, 5, 5, 5]})
    tgt = _targets({"A": 8, "B": 4}, {"A": 6.0, "B": 6.0})
    out = project_outcome(plan, tgt, SPECS, horizon=2030, population=1e6)
    assert _row(out, "A", 2026)["completing"] == pytest.approx(2.0)
    assert _row(out, "A", 2027)["completing"] == pytest.approx(1.75)
    assert _row(out, "B", 2030)["completing"] == pytest.approx(1.25)  # held after the plan
    assert _row(out, "B", 2030)["posts_in_training"] == 5
    assert _row(out, "B", 2030)["completing_status_quo"] == pytest.approx(1.0)
    now = project_outcome(plan, tgt, SPECS, horizon=2030, population=1e6, lag=0)
    assert _row(now, "A", 2023)["completing"] == pytest.approx(1.75)
    # effect: B gains what A loses, less what A's movers would have brought it
    b = _row(out, "B", 2030)
    assert b["effect"] == pytest.approx(4 * 0.25 * 0.8 - 4 * 0.25 * 0.2)
    assert b["effect"] > 0 > _row(out, "A", 2030)["effect"]


def test_conservation_with_attrition_and_unequal_need() -> None:
    plan = _plan({"A": [10, 9, 8], "B": [6, 6, 7], "C": [4, 5, 5]})
    tgt = _targets({"A": 10, "B": 6, "C": 4}, {"A": 2.0, "B": 7.0, "C": 11.0})
    out = project_outcome(plan, tgt, SPECS, retention=0.7, attrition=0.1, horizon=2040,
                          population=1e6)
    by_year = out.groupby("year")[["completing", "settling_here", "settling_from_elsewhere",
                                   "completing_status_quo", "settling_here_status_quo",
                                   "settling_from_elsewhere_status_quo"]].sum()
    settled = by_year["settling_here"] + by_year["settling_from_elsewhere"]
    assert np.allclose(settled, by_year["completing"] * 0.9)
    quo = by_year["settling_here_status_quo"] + by_year["settling_from_elsewhere_status_quo"]
    assert np.allclose(quo, by_year["completing_status_quo"] * 0.9)
    # movers go to the other areas in proportion to their need. In 2022 (lag 4: today's posts)
    # A has 10/4 = 2.5 completers and sends 0.3·0.9·2.5 = 0.675, split B:C = 7:11;
    # C has 4/4 = 1 completer and sends 0.27, split A:B = 2:7.
    first = out[out["year"] == 2022].set_index("area")
    from_a_to_b = 0.675 * 7 / 18
    from_c_to_b = 0.27 * 7 / 9
    assert first.loc["B", "settling_from_elsewhere"] == pytest.approx(from_a_to_b + from_c_to_b)


def test_status_quo_equals_plan_without_moves() -> None:
    plan = _plan({"A": [8] * 5, "B": [4] * 5})
    out = project_outcome(plan, _targets({"A": 8, "B": 4}, {"A": 5.0, "B": 7.0}), SPECS,
                          population=1e6)
    assert out["year"].max() == 2022 + 15  # default horizon
    for col in ("completing", "settling_here", "settling_from_elsewhere",
                "new_specialists_cumulative", "new_specialists_per_100k_need"):
        assert np.allclose(out[col], out[f"{col}_status_quo"]), col
    assert np.allclose(out["effect"], 0.0)
    eq = outcome_equity(out)
    assert np.allclose(eq["change"], 0.0)


def test_expansion_posts_end_after_the_plan() -> None:
    # 3 time-limited posts start in 2022, held 4 years (2022-2025), so over a long horizon
    # they produce exactly 3 completers (lagged: 3/4 a year in 2026-2029), and then none.
    plan = _plan({"A": [8, 8], "B": [4, 4]}, expansion={"A": [3, 0], "B": [0, 0]})
    out = project_outcome(plan, _targets({"A": 8, "B": 4}, {"A": 6.0, "B": 6.0}), SPECS,
                          horizon=2035, population=1e6)
    extra = (out["completing"] - out["completing_status_quo"]).groupby(out["year"]).sum()
    assert extra.sum() == pytest.approx(3.0)
    assert extra.loc[2030:].abs().max() == pytest.approx(0.0)
    assert _row(out, "A", 2025)["posts_in_training"] == 11
    assert _row(out, "A", 2026)["posts_in_training"] == 8


def test_core_programmes_left_out_by_default() -> None:
    specs = pd.DataFrame({"specialty": ["Toy", "Core Toy"], "programme_years": [4, 2],
                          "entry_level": ["higher", "core"]})
    tgt = pd.concat([_targets({"A": 8, "B": 4}, {"A": 6.0, "B": 6.0}),
                     _targets({"A": 2, "B": 2}, {"A": 2.0, "B": 2.0}).assign(
                         specialty="Core Toy")])
    plan = _plan({"A": [8], "B": [4]})
    out = project_outcome(plan, tgt, specs, horizon=2023, population=1e6)
    assert set(out["specialty"]) == {"Toy"}
    assert out.attrs["core_programmes_left_out"] == ["Core Toy"]
    both = project_outcome(plan, tgt, specs, horizon=2023, population=1e6, include_core=True)
    assert set(both["specialty"]) == {"Toy", "Core Toy"}


def test_horizon_inside_the_plan_projects_up_to_the_horizon() -> None:
    # Issue 18: a horizon before the plan's last year ended in a numpy shape error. A gives one
    # post to B in 2023 (plan 2022-2025); with lag 0 and horizon 2023 the projection stops there:
    # A completes 8/4 = 2 in 2022 and 7/4 = 1.75 in 2023, exactly as in the full projection.
    plan = _plan({"A": [8, 7, 7, 7], "B": [4, 5, 5, 5]})
    tgt = _targets({"A": 8, "B": 4}, {"A": 6.0, "B": 6.0})
    short = project_outcome(plan, tgt, SPECS, horizon=2023, population=1e6, lag=0)
    assert sorted(short["year"].unique()) == [2022, 2023]
    assert _row(short, "A", 2022)["completing"] == pytest.approx(2.0)
    assert _row(short, "A", 2023)["completing"] == pytest.approx(1.75)
    assert _row(short, "B", 2023)["posts_in_training"] == 5
    full = project_outcome(plan, tgt, SPECS, horizon=2030, population=1e6, lag=0)
    both = short.merge(full, on=["area", "year"], suffixes=("", "_full"))
    assert np.allclose(both["new_specialists_cumulative"],
                       both["new_specialists_cumulative_full"])


def test_outcome_command_with_a_horizon_before_the_plan_ends(tmp_path: Path) -> None:
    out = tmp_path / "outcome"
    res = CliRunner().invoke(app, ["outcome", "--horizon", "2030", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out / "outcome.csv")["year"].max() == 2030


def test_bad_parameters_are_errors() -> None:
    plan, tgt = _plan({"A": [8], "B": [4]}), _targets({"A": 8, "B": 4}, {"A": 1.0, "B": 1.0})
    with pytest.raises(ValueError, match="retention"):
        project_outcome(plan, tgt, SPECS, retention=1.2, population=1e6)
    with pytest.raises(ValueError, match="horizon 2020"):
        project_outcome(plan, tgt, SPECS, horizon=2020, population=1e6)
    with pytest.raises(ValueError, match="programme_years"):
        project_outcome(plan, tgt.assign(specialty="Other"), SPECS, population=1e6)


def test_england_population_is_computed() -> None:
    assert england_population() == 57_106_398


@pytest.fixture(scope="module")
def england_outcome() -> pd.DataFrame:
    bundle = load_england()
    res = run_plan(bundle, Scenario())
    return project_outcome(res.plan, res.targets, bundle.specialties, horizon=2040)


def test_plan_improves_outcome_equity_on_the_public_baseline(england_outcome: pd.DataFrame
                                                             ) -> None:
    eq = outcome_equity(england_outcome)
    overall = eq[(eq["specialty"] == "All") & (eq["year"] == 2040)].iloc[0]
    assert overall["gini_plan"] < overall["gini_status_quo"]
    # and in no specialty does the plan leave new specialists less fairly spread by 2040
    assert (eq.loc[eq["year"] == 2040, "change"] <= 1e-9).all()
    # the per-area summary adds up to the detail
    view = outcome_by_area(england_outcome, 2040)
    last = england_outcome[england_outcome["year"] == 2040]
    assert view["new_specialists_cumulative"].sum() == pytest.approx(
        last["new_specialists_cumulative"].sum())
    # redistribution conserves posts: the national total of new specialists is unchanged
    # (no expansion in the default scenario)
    assert view["effect"].sum() == pytest.approx(0.0, abs=1e-6)


def test_outcome_command_writes_tables(tmp_path: Path) -> None:
    out = tmp_path / "outcome"
    res = CliRunner().invoke(app, ["outcome", "--horizon", "2035", "--retention", "0.7",
                                   "--plan-horizon", "2026",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "per 100,000 weighted need" in res.output
    table = pd.read_csv(out / "outcome.csv")
    assert table["year"].max() == 2035
    assert {"new_specialists_per_100k_need", "new_specialists_per_100k_need_status_quo",
            "effect"} <= set(table.columns)
    assert (out / "run.json").exists() and (out / "outcome_equity.csv").exists()


def test_outcome_command_rejects_bad_retention() -> None:
    res = CliRunner().invoke(app, ["outcome", "--retention", "1.5"])
    assert res.exit_code == 2
