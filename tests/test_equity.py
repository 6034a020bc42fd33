"""Equity metrics (analysis.equity): hand cases, tables, and the plan's effect on real data."""

from __future__ import annotations

import importlib.util
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from fairshare import Scenario, load_england, targets
from fairshare.analysis.equity import (
    ALL,
    coefficient_of_variation,
    equity_before_after,
    equity_check,
    equity_table,
    gini,
)

HAS_PLAN = importlib.util.find_spec("fairshare.model.plan") is not None


def _pairwise_gini(x: list[float]) -> float:
    """Textbook n-denominator definition, written out: Σ_i Σ_j |x_i − x_j| / (2 n² μ)."""
    a = np.asarray(x, dtype=float)
    return float(np.abs(a[:, None] - a[None, :]).sum() / (2 * len(a) ** 2 * a.mean()))


def test_gini_hand_cases() -> None:
    assert gini([1, 1, 1, 1]) == 0.0
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)  # n-denominator: (n − 1)/n for one holder
    assert gini([1, 2]) == pytest.approx(1 / 6)
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)
    assert gini([3, 1, 4, 1, 5, 9, 2, 6]) == pytest.approx(_pairwise_gini([3, 1, 4, 1, 5, 9, 2,
                                                                           6]))
    assert gini([2, 4, 6, 8]) == pytest.approx(gini([1, 2, 3, 4]))  # scale-free
    assert gini([0, 0]) == 0.0 and gini([]) == 0.0


def test_weighted_gini_is_replication() -> None:
    # weights [3, 1] on [1, 2] = the population [1, 1, 1, 2]: Σ|xi − xj| = 6, n = 4, μ = 5/4
    assert gini([1, 2], [3, 1]) == pytest.approx(6 / (2 * 16 * 5 / 4))
    assert gini([1, 2], [3, 1]) == pytest.approx(gini([1, 1, 1, 2]))
    assert gini([1, 2], [1, 3]) == pytest.approx(3 / 28)
    assert gini([5, 1, 3], [0.5, 0.5, 0.5]) == pytest.approx(gini([5, 1, 3]))
    assert gini([1, 100], [1, 0]) == 0.0  # a zero-weight unit does not count
    with pytest.raises(ValueError):
        gini([1, -1])
    with pytest.raises(ValueError):
        gini([1, 2], [1])


def test_coefficient_of_variation_hand_cases() -> None:
    assert coefficient_of_variation([1, 1, 1, 1]) == 0.0
    assert coefficient_of_variation([0, 2]) == pytest.approx(1.0)  # sd 1 (divisor n), mean 1
    assert coefficient_of_variation([0, 2], [1, 3]) == pytest.approx(
        coefficient_of_variation([0, 2, 2, 2]))
    assert coefficient_of_variation([0, 2], [1, 3]) == pytest.approx(np.sqrt(0.75) / 1.5)


def _frame(posts: list[int], target: list[int], year: int = 2030,
           spec: str = "S") -> pd.DataFrame:
    return pd.DataFrame({"area": ["A", "B"], "specialty": spec, "year": year, "posts": posts,
                         "target": target})


def test_equity_table_hand_case() -> None:
    need = pd.DataFrame({"area": ["A", "B"], "specialty": "S", "weighted_need": [1.0, 3.0]})
    fair = equity_table(_frame([10, 30], [10, 30]), need)
    row = fair[fair["specialty"] == "S"].iloc[0]
    assert row["gini"] == 0 and row["cv"] == 0
    assert row["max_distance"] == 0 and row["min_distance"] == 0
    assert row["share_within_5pct"] == 1
    skewed = equity_table(_frame([20, 20], [10, 30]), need)
    row = skewed[skewed["specialty"] == "S"].iloc[0]
    # posts per fair post: A 20/10 = 2, B 20/30 = 2/3, weighted by fair posts 10 and 30
    assert row["gini"] == pytest.approx(gini([2, 2 / 3], [10, 30]))
    assert row["cv"] == pytest.approx(coefficient_of_variation([2, 2 / 3], [10, 30]))
    assert row["max_distance"] == pytest.approx(1.0)
    assert row["min_distance"] == pytest.approx(-1 / 3)
    assert row["share_within_5pct"] == 0
    area_weighted = equity_table(_frame([20, 20], [10, 30]), need, weighting="area")
    assert area_weighted.iloc[0]["gini"] == pytest.approx(gini([2, 2 / 3]))


def test_equity_table_overall_sums_fair_posts_per_area() -> None:
    posts = pd.concat([_frame([10, 30], [10, 30], spec="S"), _frame([5, 5], [2, 8], spec="T")])
    need = pd.DataFrame({"area": ["A", "B", "A", "B"], "specialty": ["S", "S", "T", "T"],
                         "weighted_need": [1.0, 3.0, 200.0, 800.0]})  # units differ: fine
    table = equity_table(posts, need).set_index("specialty")
    assert list(table.index) == ["S", "T", ALL]
    # All: posts 15 / 35, fair posts 10 + 2 = 12 and 30 + 8 = 38, targets 12 / 38
    assert table.loc[ALL, "gini"] == pytest.approx(gini([15 / 12, 35 / 38], [12, 38]))
    assert table.loc[ALL, "max_distance"] == pytest.approx(3 / 12)
    assert table.loc[ALL, "posts"] == 50
    with pytest.raises(ValueError, match="no weighted need"):
        equity_table(posts, need[need["specialty"] == "S"])


def _toy_targets() -> pd.DataFrame:
    return pd.DataFrame({"area": ["A", "B"], "specialty": "S", "current": [10, 10],
                         "target": [11, 9], "fair_share": [10.4, 9.6]})


def test_equity_check_explains_a_plan_that_worsens_equity() -> None:
    """Rounding puts A's whole target (11) across its fair share (10.4): moving there hurts."""
    plan_table = pd.DataFrame({"area": ["A", "B"], "specialty": "S", "year": 2030,
                               "posts": [11, 9], "target": [11, 9]})
    messages = equity_check(_toy_targets(), plan_table)
    assert messages, "the Gini rises, so the check must say so"
    text = " ".join(messages)
    assert "S" in text and "A 10 -> 11 posts" in text and "other side of its fair share" in text
    table = equity_before_after(_toy_targets(), plan_table)
    s = table[table["specialty"] == "S"].set_index("stage")
    assert s.loc["after", "gini"] > s.loc["before", "gini"]


def test_equity_check_silent_when_plan_improves() -> None:
    plan_table = pd.DataFrame({"area": ["A", "B"], "specialty": "S", "year": [2030, 2030],
                               "posts": [10, 10], "target": [11, 9]})
    better = _toy_targets().assign(current=[8, 12])
    assert equity_check(better, plan_table) == []


@pytest.mark.skipif(not HAS_PLAN, reason="fairshare.model.plan is not available yet")
def test_plan_does_not_worsen_equity_on_real_data_or_says_why() -> None:
    from fairshare.analysis.uncertainty import plan_options
    from fairshare.model.plan import PlanProblem, plan

    bundle, sc = load_england(), Scenario()
    tt = targets(bundle, sc)
    specs = bundle.specialties[["specialty", "programme_years", "phase_start"]]
    result = plan(PlanProblem(posts=tt[["area", "specialty", "current", "target"]],
                              specialties=specs), plan_options(sc))
    table = equity_before_after(tt, result.table)
    messages = equity_check(tt, result.table)
    worse = []
    for spec, g in table.groupby("specialty"):
        g = g.sort_values(["stage", "year"], key=lambda c: c.map(
            {"before": 0, "plan": 1, "after": 2}) if c.name == "stage" else c)
        worse += [spec for a, b in pairwise(g["gini"]) if b > a + 1e-9]
    assert len(messages) == len(worse)  # every worsening is reported, nothing else is
    for spec in set(worse):
        assert any(f"for {spec} rises" in m for m in messages)
    overall = table[table["specialty"] == ALL].set_index("stage")
    assert overall.loc["after", "gini"] < overall.loc["before", "gini"]
    assert overall.loc["after", "share_within_5pct"] >= overall.loc["before", "share_within_5pct"]
