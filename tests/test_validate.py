"""`fairshare validate` says what a file is and what it leaves out (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fairshare.cli import app
from fairshare.inputs.bundle import load_england

ROOT = Path(__file__).resolve().parents[1]
COHORTS = ROOT / "examples" / "trainees_example.csv"
CAPACITY = ROOT / "examples" / "capacity_example.csv"
runner = CliRunner()


def _text(args: list[str]) -> tuple[int, str]:
    res = runner.invoke(app, args)
    return res.exit_code, " ".join(res.output.split())


def test_a_cohorts_or_capacity_file_is_recognised_by_its_columns() -> None:
    code, text = _text(["validate", str(COHORTS)])
    assert code == 0, text
    assert "recognised as a trainee cohorts file" in text
    code, text = _text(["validate", str(CAPACITY)])
    assert code == 0, text
    assert "recognised as a supervision capacity file" in text
    code, text = _text(["validate", "--kind", "posts", str(CAPACITY)])
    assert code == 2
    assert "supervision capacity file" in text and "--kind capacity" in text


def test_validate_says_how_many_posts_a_cohorts_file_covers() -> None:
    cohorts = pd.read_csv(COHORTS)
    posts = load_england().posts.set_index(["local_office", "specialty"])["posts"]
    pairs = cohorts[["local_office", "specialty"]].drop_duplicates()
    held = sum(int(posts[(a, s)]) for a, s in pairs.itertuples(index=False))
    listed = int(cohorts["trainees"].sum())  # every row completes in 2022 or later
    code, text = _text(["validate", str(COHORTS)])
    assert code == 0, text
    assert (f"covers {listed} trainees in {len(pairs)} local office × specialty programmes "
            f"holding {held:,} posts; the other {held - listed:,} posts fall vacant on the "
            "default rule") in text


def test_a_partial_establishment_names_the_areas_it_leaves_out(tmp_path: Path) -> None:
    path = tmp_path / "part.csv"
    path.write_text("local_office,specialty,posts\nLondon,Cardiology,5\nNW,Urology,3\n")
    code, text = _text(["validate", str(path)])
    assert code == 0, text
    offices = sorted(set(load_england().local_offices["local_office"])
                     - {"London", "North West"})
    assert f"no row for {len(offices)} local offices" in text
    assert ", ".join(offices) in text


def test_duplicates_are_reported_with_every_other_problem(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("local_office,specialty,posts\nLondon,Cardiology,5\nLondon,Cardiology,5\n"
                    "London,Urologyy,3\nWessex,Urology,x\n")
    code, text = _text(["validate", str(path)])
    assert code == 2
    assert "3 problems" in text and "duplicate row" in text
    assert "Urologyy" in text and "'x' is not a number" in text


def test_data_on_a_later_sheet_are_read_and_the_sheet_named(tmp_path: Path) -> None:
    path = tmp_path / "establishment.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"Notes": ["Fill in the Data sheet"]}).to_excel(
            book, sheet_name="Read me", index=False)
        pd.DataFrame({"local_office": ["London", "Wessex"], "specialty": ["Cardiology",
                                                                         "Urology"],
                      "posts": [5, 4]}).to_excel(book, sheet_name="Data", index=False)
    code, text = _text(["validate", str(path)])
    assert code == 0, text
    assert "reading sheet 'Data'" in text and "9 centrally funded posts" in text


def test_a_workbook_with_no_data_sheet_names_its_sheets(tmp_path: Path) -> None:
    path = tmp_path / "odd.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"Notes": ["see Data"]}).to_excel(book, sheet_name="Read me", index=False)
        pd.DataFrame({"place": ["London"], "n": [5]}).to_excel(book, sheet_name="Data",
                                                                index=False)
    code, text = _text(["validate", "--kind", "posts", str(path)])
    assert code == 2
    assert "'Read me', 'Data'" in text


@pytest.mark.parametrize("horizon", ["2035"])
def test_readme_cohort_example_reaches_target_as_without_the_file(tmp_path: Path,
                                                                  horizon: str) -> None:
    """The README's own example: London General Psychiatry is only partly listed in the
    cohorts file; its other posts still fall vacant, so it reaches its target as without it
    (before: it kept every post to 2035). Run under the README's glide to 2030, so the plain plan
    reaches its target inside every horizon tested."""
    def london_psychiatry(args: list[str], out: Path) -> pd.DataFrame:
        res = runner.invoke(app, ["plan", "--horizon", horizon, "--glide-until", "2030", *args,
                                   "--out", str(out)])
        assert res.exit_code == 0, res.output
        plan = pd.read_csv(out / "plan.csv")
        return plan[(plan["area"] == "London") & (plan["specialty"] == "General Psychiatry")]

    plain = london_psychiatry([], tmp_path / "plain")
    with_file = london_psychiatry(["--cohorts", str(COHORTS)], tmp_path / "cohorts")
    target = int(plain["target"].iloc[0])
    reached = int(plain.loc[plain["posts"] == target, "year"].min())
    assert int(with_file.loc[with_file["posts"] == target, "year"].min()) == reached
    assert with_file["posts"].iloc[-1] == target
