"""The default pace (issue 14): a glide path over the programme's 15-year lifespan, with the
full-convergence view one switch away (a scenario file, a command-line flag)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from fairshare.cli import app
from fairshare.cli.common import convergence_override
from fairshare.inputs.bundle import load_england
from fairshare.model.pipeline import run_plan
from fairshare.model.plan import PlanOptions, PlanProblem, plan
from fairshare.publish.columns import COLUMNS
from fairshare.publish.tables import MODEL_GAP, pace_of_change
from fairshare.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def test_default_glide_spreads_a_gap_over_the_programme_lifespan() -> None:
    # gap 15 from a 2023 phase start; the default window runs to 2037: 15 years, 1 post a year
    # (A: 40 posts of a 4-year programme, 10 fall vacant a year, half of them may go; B can
    # supervise ceil(10% of 40) = 4 more a year; neither limit binds at 1 a year)
    posts = pd.DataFrame({"area": ["A", "B"], "specialty": "S", "current": [40, 40],
                          "target": [25, 55]})
    specs = pd.DataFrame({"specialty": ["S"], "programme_years": [4], "phase_start": [2023]})
    table = plan(PlanProblem(posts, specs), PlanOptions()).table
    a = table[table["area"] == "A"].sort_values("year")
    assert list(a["year"]) == list(range(2022, 2038))
    assert list(a["redistribution"]) == [0] + [-1] * 15


def test_scenario_default_is_the_lifespan_and_files_switch_back() -> None:
    default = Scenario()
    assert (default.glide_until, default.horizon) == (2037, 2037)
    assert default.convergence.policy == "full"
    full = load_scenario(SCENARIOS / "full-convergence.yaml")
    assert full.glide_until == 2030 and full.convergence.policy == "full"
    programme = load_scenario(SCENARIOS / "programme-pace.yaml")
    assert programme.convergence.policy == "share" and programme.convergence.share == 0.5
    for path in sorted(SCENARIOS.glob("*.yaml")):  # every shipped scenario still loads
        load_scenario(path)


def test_convergence_flag_maps_to_the_scenario() -> None:
    assert convergence_override(None) is None
    assert convergence_override(1.0) == {"policy": "full"}
    assert load_scenario(None, convergence=convergence_override(0.5)).convergence.share == 0.5


def test_default_england_plan_keeps_to_the_lifespan_glide() -> None:
    """Independent bound: on an even glide from phase start (2022 at the earliest) to 2037, an
    area has moved by 2030 at most ceil(9n/16) of its n posts (9 of the 16 window years, odd
    posts early), so at most 9/16 of England's distance, plus one post per area and specialty,
    can be closed by 2030; by 2037 the glide is over and only the hard limits (vacancies,
    capacity, minimum sizes) hold areas back."""
    bundle = load_england()
    out = run_plan(bundle, Scenario())
    tgt, p = out.targets, out.plan
    n = (tgt["target"] - tgt["current"]).abs()
    keys = ["area", "specialty"]
    by_2030 = p[p["year"] <= 2030].groupby(keys)["redistribution"].sum().abs()
    bound = np.ceil(9 * n.to_numpy() / 16)
    moved = by_2030.reindex(pd.MultiIndex.from_frame(tgt[keys])).fillna(0).to_numpy()
    assert (moved <= bound).all()
    closed_2030 = moved.sum() / n.sum()
    final = p[p["year"] == 2037].set_index(keys)["posts"]
    left = (tgt.set_index(keys)["target"] - final.reindex(tgt.set_index(keys).index)).abs()
    assert closed_2030 < 0.6 < 1 - left.sum() / n.sum()


def test_the_gap_column_never_carries_the_programme_name() -> None:
    bundle = load_england()
    out = run_plan(bundle, Scenario(horizon=2031))
    table = pace_of_change(out.plan, out.targets, "London")
    assert MODEL_GAP in table.columns
    names = " ".join([*map(str, table.columns), *COLUMNS]).lower()
    assert "guided" not in names and "as published" not in names


def test_cli_glide_until_flag_restores_the_2030_glide(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", "--glide-until", "2030", "--horizon", "2031",
                                      "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(tmp_path / "p" / "plan.csv")
    assert written["year"].max() == 2031
    meta = json.loads((tmp_path / "p" / "run.json").read_text())
    assert meta["scenario"]["glide_until"] == 2030
