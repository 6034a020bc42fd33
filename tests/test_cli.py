"""The command line end to end (in-process): plan, tables, export, run, runs, compare."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

import fairshare
from fairshare.cli import app

runner = CliRunner()


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "store"
    monkeypatch.setenv("FAIRSHARE_HOME", str(home))
    monkeypatch.chdir(tmp_path)  # a run without --out writes results/ here, not in the repo
    return home


def _ok(args: list[str]) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.output


def _baseline_total() -> int:
    """Posts in the embedded public baseline, read straight from the file (not via fairshare)."""
    path = Path(fairshare.__file__).parent / "data" / "baseline_posts.csv"
    with path.open(newline="") as fh:
        return sum(int(row["posts"]) for row in csv.DictReader(fh))


def test_plan_writes_consistent_tables(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    _ok(["plan", "--horizon", "2027", "--out", str(out)])
    plan = pd.read_csv(out / "plan.csv")
    targets = pd.read_csv(out / "targets.csv")
    assert plan["year"].min() == 2022 and plan["year"].max() == 2027
    # posts conserved per specialty and year; never overshoot target
    assert (plan.groupby(["specialty", "year"])["redistribution"].sum() == 0).all()
    start = targets.set_index(["area", "specialty"])
    last = plan[plan["year"] == 2027].set_index(["area", "specialty"])
    gap0 = (start["target"] - start["current"]).reindex(last.index)
    assert ((last["remaining_gap"] * gap0) >= 0).all()
    assert (plan["vacancies_used"] <= plan["vacancies"]).all()
    assert (plan["capacity_used"] <= plan["capacity"]).all()


def test_tables_one_year_total_matches_plan(tmp_path: Path) -> None:
    csv = tmp_path / "london.csv"
    _ok(["tables", "--area", "london", "--year", "2026", "--horizon", "2027", "--out", str(csv)])
    table = pd.read_csv(csv)
    total = table[table["School"] == "Total"].iloc[0]
    body = table[table["School"] != "Total"]
    assert total["Net gain/loss"] == body["Net gain/loss"].sum()
    assert total["Redistribution"] < 0  # London gives posts on the public baseline


def test_tables_unknown_area_is_a_clear_error() -> None:
    res = runner.invoke(app, ["tables", "--area", "Atlantis", "--horizon", "2023"])
    assert res.exit_code == 2
    assert "unknown area 'Atlantis'" in res.output


def test_export_workbook_opens(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    _ok(["export", "--xlsx", str(path), "--horizon", "2026", "--area", "London"])
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "About this run"
    assert "Targets" in wb.sheetnames and "Plan" in wb.sheetnames
    assert any(name.startswith("London") for name in wb.sheetnames)


def test_run_store_compare(store: Path, tmp_path: Path) -> None:
    scen = tmp_path / "d30.yaml"
    scen.write_text("name: deprivation 30%\ndeprivation_weight: 0.3\n")
    _ok(["run", "--horizon", "2024"])
    _ok(["run", "--horizon", "2024", "--scenario", str(scen)])
    listing = _ok(["runs"])
    # a run's name says the options it was made with (issue 18): never "default" for these
    assert "deprivation 30%, horizon 2024" in listing and "horizon 2024" in listing
    out = _ok(["compare", "horizon 2024", "deprivation 30%, horizon 2024", "--out",
               str(tmp_path / "cmp")])
    assert "deprivation_weight: 0.2 -> 0.3" in out
    assert (tmp_path / "cmp").exists()
    _ok(["runs", "delete", "horizon 2024", "--yes"])
    assert "deprivation 30%, horizon 2024" in _ok(["runs"])


def test_plan_with_capacity_and_cohort_files(tmp_path: Path) -> None:
    """User files drive the plan: nobody receives beyond capacity; vacancies are completions."""
    cap = tmp_path / "capacity.csv"
    cap.write_text("local_office,specialty,capacity\nNorth West,Cardiology,1\n"
                   "NW,Haematology,0\n")
    coh = tmp_path / "trainees.csv"
    coh.write_text("local_office,specialty,completion_year,trainees\n"
                   "London,Cardiology,2022,3\nLondon,Cardiology,2023,2\n")
    out = tmp_path / "p"
    _ok(["plan", "--horizon", "2024", "--capacity", str(cap), "--cohorts", str(coh),
         "--out", str(out)])
    plan = pd.read_csv(out / "plan.csv")
    nw = plan[(plan["area"] == "North West") & (plan["specialty"] == "Cardiology")]
    assert (nw["redistribution"] <= 1).all() and (nw["capacity"] == 1).all()
    haem = plan[(plan["area"] == "North West") & (plan["specialty"] == "Haematology")]
    assert (haem["redistribution"] <= 0).all()
    lon = plan[(plan["area"] == "London") & (plan["specialty"] == "Cardiology")]
    vac = lon.set_index("year")["vacancies"].to_dict()
    # the file's completions, plus the posts it does not list on the default rule (issue 18):
    # r posts of an L-year programme free floor(r(k+1)/L) - floor(rk/L) in its k-th year
    first = lon.sort_values("year").iloc[0]
    rest = int(first["posts"] - first["redistribution"]) - 5
    length = int(fairshare.load_england().specialties.set_index("specialty").loc[
        "Cardiology", "programme_years"])
    default = [rest * (k + 1) // length - rest * k // length for k in range(3)]
    assert (vac[2022], vac[2023], vac[2024]) == (3 + default[0], 2 + default[1], default[2])
    assert (-lon["redistribution"] <= lon["vacancies"]).all()


def test_bad_capacity_file_names_row_and_column(tmp_path: Path) -> None:
    cap = tmp_path / "capacity.csv"
    cap.write_text("local_office,specialty,capacity\nNorth West,Cardiology,lots\n")
    res = runner.invoke(app, ["plan", "--capacity", str(cap), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2
    assert "row 2" in res.output and "'capacity'" in res.output
    assert not (tmp_path / "x").exists()


def test_required_target_infeasible_then_elastic(tmp_path: Path) -> None:
    out = tmp_path / "req"
    text = _ok(["plan", "--horizon", "2024", "--require-target-by", "2023", "--out", str(out)])
    assert "status: infeasible" in text
    findings = pd.read_csv(out / "findings.csv")
    assert findings["message"].str.contains("cannot").any()
    text = _ok(["plan", "--horizon", "2024", "--require-target-by", "2023", "--elastic",
                "--out", str(out)])
    assert "status: elastic" in text
    assert pd.read_csv(out / "findings.csv")["message"].str.startswith("Relaxed").any()


def test_same_scenario_same_inputs_byte_identical_tables(store: Path, tmp_path: Path) -> None:
    _ok(["run", "--horizon", "2025", "--name", "a", "--out", str(tmp_path / "a")])
    _ok(["run", "--horizon", "2025", "--name", "b", "--out", str(tmp_path / "b")])
    for name in ("targets.csv", "plan.csv", "findings.csv", "equity.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    runs = sorted((store / "runs").iterdir())
    assert len(runs) == 2
    for table in ("targets.parquet", "plan.parquet"):
        assert (runs[0] / table).read_bytes() == (runs[1] / table).read_bytes()


def test_compare_workbook_has_phase_impact(store: Path, tmp_path: Path) -> None:
    scen = tmp_path / "d0.yaml"
    scen.write_text("name: no deprivation\ndeprivation_weight: 0\n")
    _ok(["run", "--horizon", "2023"])
    _ok(["run", "--horizon", "2023", "--scenario", str(scen)])
    path = tmp_path / "impact.xlsx"
    _ok(["compare", "horizon 2023", "no deprivation, horizon 2023", "--xlsx", str(path),
         "--area", "London"])
    ws = openpyxl.load_workbook(path)["Phase impact"]
    rows = [r for r in ws.iter_rows(values_only=True) if r and r[0] == "Total"]
    assert rows and rows[0][5] == rows[0][4] - rows[0][3]


def test_tables_at_icb_level_by_part_of_a_name(tmp_path: Path) -> None:
    csv = tmp_path / "frimley.csv"
    out = _ok(["tables", "--level", "icb", "--area", "frimley", "--pace", "--horizon", "2024",
               "--out", str(csv)])
    assert "NHS Frimley Integrated Care Board" in out
    table = pd.read_csv(csv)
    assert table.iloc[-1, 0] == "Total"
    res = runner.invoke(app, ["tables", "--area", "north", "--horizon", "2023"])
    assert res.exit_code == 2 and "matches North East, North West" in res.output


def test_uncertainty_command_is_seeded(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _ok(["uncertainty", "--draws", "300", "--seed", "3", "--out", str(a)])
    _ok(["uncertainty", "--draws", "300", "--seed", "3", "--out", str(b)])
    assert (a / "uncertainty.csv").read_bytes() == (b / "uncertainty.csv").read_bytes()
    df = pd.read_csv(a / "uncertainty.csv")
    assert (df["target_p5"] <= df["target_p50"]).all()
    assert (df["target_p50"] <= df["target_p95"]).all()
    assert ((df["p_gives"] + df["p_receives"]) <= 1 + 1e-12).all()


def test_plan_level_uncertainty_command(tmp_path: Path) -> None:
    _ok(["uncertainty", "--plan", "--draws", "2", "--horizon", "2024", "--out", str(tmp_path)])
    df = pd.read_csv(tmp_path / "uncertainty_plan.csv")
    assert (df["remaining_gap_p5"] <= df["remaining_gap_p95"]).all()


def test_targets_waterfall_adds_up(tmp_path: Path) -> None:
    out = _ok(["targets", "--specialty", "Paediatrics", "--waterfall", "--out", str(tmp_path)])
    assert "population share" in out
    df = pd.read_csv(tmp_path / "targets.csv")
    steps = ["population_share_posts", "effect_need", "effect_projection", "effect_deprivation",
             "effect_specialised", "effect_rounding"]
    # six steps, each written to 3 decimals (fractional posts, docs/outputs.md)
    assert (df[steps].sum(axis=1) - df["target"]).abs().max() < 6 * 5e-4 + 1e-9


def test_template_round_trip(tmp_path: Path) -> None:
    """A blank template is rejected row by row; filled in, it validates and drives targets."""
    blank = tmp_path / "blank.xlsx"
    _ok(["template", "posts", "--out", str(blank)])
    res = runner.invoke(app, ["validate", str(blank)])
    assert res.exit_code == 2 and "rows 2-" in res.output and "empty" in res.output
    filled = tmp_path / "filled.csv"
    _ok(["template", "posts", "--prefill", "--out", str(filled)])
    assert f"{_baseline_total():,} centrally funded posts" in _ok(["validate", str(filled)])
    cap = tmp_path / "capacity.csv"
    _ok(["template", "capacity", "--out", str(cap)])
    table = pd.read_csv(cap).drop(columns="year").assign(capacity=2)
    table.to_csv(cap, index=False)
    assert "rows of capacity" in _ok(["validate", str(cap), "--kind", "capacity"])


def test_capacity_blank_year_means_every_year_and_a_year_overrides(tmp_path: Path) -> None:
    cap = tmp_path / "capacity.csv"
    cap.write_text("local_office,specialty,year,capacity\nNorth West,Cardiology,,2\n"
                   "North West,Cardiology,2023,5\n")
    out = tmp_path / "p"
    _ok(["plan", "--horizon", "2025", "--capacity", str(cap), "--out", str(out)])
    plan = pd.read_csv(out / "plan.csv")
    nw = plan[(plan["area"] == "North West") & (plan["specialty"] == "Cardiology")]
    assert nw.set_index("year")["capacity"].to_dict() == {2022: 2, 2023: 5, 2024: 2, 2025: 2}


def test_report_from_a_stored_run(store: Path, tmp_path: Path) -> None:
    _ok(["run", "--horizon", "2024", "--name", "for report"])
    html = tmp_path / "report.html"
    _ok(["report", "for report", "--html", str(html)])
    text = html.read_text(encoding="utf-8")
    assert "for report" in text and "Public baseline: NHS Digital staff in post" in text
    assert "DEMONSTRATION" not in text
    assert f"{_baseline_total():,}" in text  # the national total of posts


def test_output_paths_are_forgiving_and_errors_are_clear(tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    folder.mkdir()
    _ok(["tables", "--area", "London", "--pace", "--horizon", "2023", "--out", str(folder)])
    assert (folder / "London_pace.csv").exists()
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    res = runner.invoke(app, ["export", "--horizon", "2023", "--xlsx", str(blocker / "x.xlsx")])
    assert res.exit_code == 2 and "cannot read or write" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
