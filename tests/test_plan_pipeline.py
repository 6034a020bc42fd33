"""The plan from real inputs: minimum programme sizes, --min-posts, an aim column, ICB level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from fairshare.cli import app
from fairshare.inputs.bundle import data_dir, load_england
from fairshare.inputs.minimums import min_posts_table
from fairshare.model.pipeline import plan_problem, run_plan
from fairshare.scenario import Scenario


def test_every_catalogue_specialty_has_a_documented_minimum() -> None:
    mins = pd.read_csv(data_dir() / "min_programme_size.csv")
    specs = pd.read_csv(data_dir() / "specialties.csv")
    assert sorted(mins["specialty"]) == sorted(specs["specialty"])
    merged = mins.merge(specs, on="specialty")
    # the stated judgement: one trainee per programme year
    assert (merged["min_posts"] == merged["programme_years"]).all()
    assert merged["basis"].str.startswith("judgement").all()


def test_minimums_default_per_specialty_and_user_rows_override() -> None:
    bundle = load_england()
    areas = pd.DataFrame({"area": ["London", "London", "Wessex"],
                          "specialty": ["Cardiology", "Stroke Medicine", "Cardiology"]})
    given = pd.DataFrame({"area": ["Wessex"], "specialty": ["Cardiology"], "min_posts": [12]})
    table = min_posts_table(bundle, areas, 0, given).set_index(["area", "specialty"])
    assert table.loc[("London", "Cardiology"), "min_posts"] == 5  # 5-year programme
    assert table.loc[("London", "Stroke Medicine"), "min_posts"] == 2
    assert table.loc[("Wessex", "Cardiology"), "min_posts"] == 12
    raised = min_posts_table(bundle, areas, 4, None).set_index(["area", "specialty"])
    assert raised.loc[("London", "Stroke Medicine"), "min_posts"] == 4  # national floor


def test_plan_moves_toward_aim_when_the_targets_table_has_one() -> None:
    bundle = load_england()
    targets = pd.DataFrame({"area": ["London", "Wessex"], "specialty": "Cardiology",
                            "current": [100, 50], "target": [80, 70], "aim": [90, 60]})
    problem = plan_problem(bundle, targets, Scenario())
    assert problem.posts.set_index("area")["target"].to_dict() == {"London": 90, "Wessex": 60}


def _icb_posts(tmp_path: Path) -> Path:
    """Real ICB codes with seeded post counts for two specialties (a user's per-ICB file)."""
    icbs = load_england().icbs["icb_code"].tolist()
    rng = np.random.default_rng(7)
    rows = [{"icb": code, "specialty": spec, "posts": int(rng.integers(5, 60))}
            for spec in ("Cardiology", "General Psychiatry") for code in icbs]
    path = tmp_path / "icb_posts.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_plan_by_icb_starts_from_the_icb_posts_given(tmp_path: Path) -> None:
    path = _icb_posts(tmp_path)
    bundle = load_england().with_posts(path)
    out = run_plan(bundle, Scenario(horizon=2026), level="icb")
    plan = out.plan
    assert plan["area"].nunique() == 42
    first = plan[plan["year"] == 2022]
    start = (first["posts"] - first["redistribution"]).groupby(
        [first["area"], first["specialty"]]).sum()
    given = pd.read_csv(path).merge(bundle.icbs, left_on="icb", right_on="icb_code")
    expected = given.set_index(["icb_name", "specialty"])["posts"]
    assert start.to_dict() == expected.rename_axis(["area", "specialty"]).to_dict()
    assert (plan.groupby(["specialty", "year"])["redistribution"].sum() == 0).all()


def test_cli_min_posts_file(tmp_path: Path) -> None:
    good = tmp_path / "mins.csv"
    good.write_text("local_office,specialty,min_posts\nLondon,Cardiology,1000\n")
    res = CliRunner().invoke(app, ["plan", "--horizon", "2024", "--min-posts", str(good),
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    found = pd.read_csv(tmp_path / "out" / "findings.csv")
    london = found[(found["area"] == "London") & (found["specialty"] == "Cardiology")]
    assert london["message"].str.contains("minimum viable programme of 1000").any()
    bad = tmp_path / "bad.csv"
    bad.write_text("local_office,specialty,min_posts\nLondon,Cardiology,many\n")
    res = CliRunner().invoke(app, ["plan", "--min-posts", str(bad), "--out",
                                   str(tmp_path / "out2")])
    assert res.exit_code == 2
    assert "row 2" in res.output and "min_posts" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "out2").exists()
