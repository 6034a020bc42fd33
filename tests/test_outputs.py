"""Outputs an analyst can trust once they leave the tool (issue 11, items 1-8 and 11).

Each test checks a property of what a command leaves behind, against facts fixed outside the
code under test: the files given on the command line, hand-written tables, the README.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fairshare.cli import app
from fairshare.inputs.bundle import load_data
from fairshare.publish.columns import dictionary, formatted
from fairshare.publish.outputs import write_output
from fairshare.training_year import date_in_text, next_round

ROOT = Path(__file__).resolve().parents[1]
CAPACITY = ROOT / "examples" / "capacity_example.csv"
runner = CliRunner()


@pytest.fixture()
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder and run store, as a new user has."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FAIRSHARE_HOME", str(tmp_path / "store"))
    return tmp_path


def _ok(args: list[str]) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.output


# ---------------------------------------------------------------- 1. every input is digested

def test_a_capacity_file_changes_the_digests_and_compare_says_so(here: Path) -> None:
    _ok(["run", "--horizon", "2023", "--name", "plain", "--out", "plain"])
    _ok(["run", "--horizon", "2023", "--name", "capped", "--capacity", str(CAPACITY),
         "--out", "capped"])
    plain = json.loads((here / "plain" / "run.json").read_text())
    capped = json.loads((here / "capped" / "run.json").read_text())
    # the capacity file given is recorded by its own SHA-256, in the inputs and in the
    # scenario as run, so the two runs' scenario digests differ (issue 18)
    assert "capacity" not in plain["input_digests"]
    digest = hashlib.sha256(CAPACITY.read_bytes()).hexdigest()
    assert capped["input_digests"]["capacity"] == digest
    assert capped["scenario"]["inputs"] == {"capacity": digest}
    assert plain["scenario_digest"] != capped["scenario_digest"]
    listing = _ok(["runs"])
    ids = re.findall(r"\d{14}-[0-9a-f]{6}", listing)
    assert len(set(ids)) == 2
    text = _ok(["compare", "plain", "capped", "--table", "plan"])
    assert "supervision capacity (--capacity) file added" in text
    stored = next((here / "store" / "runs").glob("*/plan.parquet"))
    kv = pq.read_schema(stored).metadata
    assert kv[b"fairshare_basis"].decode() == plain["establishment"]
    assert kv[b"fairshare_scenario_digest"].decode() in (plain["scenario_digest"],
                                                         capped["scenario_digest"])


def test_a_minimum_sizes_file_is_digested(here: Path) -> None:
    mins = here / "mins.csv"
    mins.write_text("local_office,specialty,min_posts\nLondon,Cardiology,1\n")
    _ok(["plan", "--horizon", "2023", "--min-posts", str(mins), "--out", "p"])
    digests = json.loads((here / "p" / "run.json").read_text())["input_digests"]
    assert digests["min_posts"] == hashlib.sha256(mins.read_bytes()).hexdigest()


# ---------------------------------------------------------------- 2. a folder per command run

def test_each_command_gets_its_own_folder_and_latest_follows(here: Path) -> None:
    _ok(["targets"])
    _ok(["equity", "--horizon", "2023"])
    folders = {re.sub(r"^\d{8}-\d{6}-", "", p.name): p for p in (here / "results").iterdir()
               if p.is_dir() and not p.is_symlink()}
    assert sorted(folders) == ["equity-horizon-2023", "targets-default"]
    latest = here / "results" / "latest"
    assert latest.resolve() == folders["equity-horizon-2023"].resolve()  # the last one made
    assert sorted(p.name for p in folders["targets-default"].iterdir()) == [
        "columns.csv", "run.json", "targets.csv"]
    meta = json.loads((folders["equity-horizon-2023"] / "run.json").read_text())
    assert meta["command"] == "equity"


def test_a_folder_is_replaced_whole_never_mixed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    meta = {"establishment": "test basis", "scenario": {"name": "s"}, "scenario_digest": "d"}
    two = {"a": pd.DataFrame({"x": [1]}), "b": pd.DataFrame({"x": [2]})}
    write_output(out, two, meta, command="t", name="s")
    write_output(out, {"a": pd.DataFrame({"x": [3]})}, meta, command="t", name="s")
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "columns.csv", "run.json"]
    assert pd.read_csv(out / "a.csv")["x"].tolist() == [3]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def test_out_results_adds_a_dated_folder_beside_the_earlier_ones(here: Path) -> None:
    _ok(["targets"])
    _ok(["targets", "--out", "results"])
    folders = sorted(p.name for p in (here / "results").iterdir() if p.name != "latest")
    assert len(folders) == 2 and all("-targets-default" in f for f in folders)
    assert (here / "results" / "latest").resolve().name == folders[-1]


def test_a_folder_of_other_files_is_refused(tmp_path: Path) -> None:
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "thesis.docx").write_text("precious")
    res = runner.invoke(app, ["targets", "--out", str(mine)])
    assert res.exit_code == 2 and "not an earlier fairshare output" in res.output
    assert [p.name for p in mine.iterdir()] == ["thesis.docx"]


# ---------------------------------------------------------------- 3. labels travel

def test_every_written_table_carries_basis_and_scenario(here: Path) -> None:
    _ok(["plan", "--horizon", "2023", "--out", "p"])
    meta = json.loads((here / "p" / "run.json").read_text())
    targets = pd.read_csv(here / "p" / "targets.csv", dtype=str, keep_default_na=False)
    per_specialty = targets.drop_duplicates("specialty").set_index("specialty")["basis"]
    for csv in (here / "p").glob("*.csv"):
        if csv.name == "columns.csv":
            continue
        df = pd.read_csv(csv, dtype=str, keep_default_na=False)
        assert (df["scenario_digest"] == meta["scenario_digest"]).all(), csv.name
        assert (df["scenario"] == meta["scenario"]["name"]).all(), csv.name
        assert (df["basis"] != "").all(), csv.name
        # a row of a known specialty says that specialty's basis; others the run's label
        expected = (df["specialty"].map(per_specialty).fillna(meta["establishment"])
                    if "specialty" in df.columns else meta["establishment"])
        assert (df["basis"] == expected).all(), csv.name
    _ok(["targets", "--out", "t.parquet"])
    kv = pq.read_schema(here / "t.parquet").metadata
    rows = pd.read_parquet(here / "t.parquet")
    assert json.loads(kv[b"fairshare"])["scenario_digest"] == rows["scenario_digest"].iloc[0]
    assert (rows["basis"] == rows["specialty"].map(per_specialty)).all()
    _ok(["targets", "--out", "t.json"])
    body = json.loads((here / "t.json").read_text())
    assert body["metadata"]["establishment"] == meta["establishment"]
    assert body["rows"][0]["basis"] == per_specialty[body["rows"][0]["specialty"]]


def test_a_redirected_table_is_labelled(here: Path) -> None:
    """The label is printed to stdout with the table, so `> file` keeps it."""
    done = subprocess.run([sys.executable, "-m", "fairshare.cli", "targets", "--specialty",
                           "Cardiology", "--out", "c.csv"], capture_output=True, text=True,
                          timeout=120, cwd=here, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    label = load_data().posts_label
    assert "Basis: " + label[:30] in done.stdout
    assert "Scenario: default" in done.stdout


# ---------------------------------------------------------------- 4. file or folder

@pytest.mark.parametrize("args", [["targets"], ["compare", "a", "b"]])
def test_out_with_a_file_extension_writes_that_file(here: Path, args: list[str]) -> None:
    if args[0] == "compare":
        _ok(["run", "--horizon", "2023", "--name", "a", "--out", "ra"])
        _ok(["run", "--horizon", "2023", "--name", "b", "--out", "rb", "--pace-cap", "0.5"])
    _ok([*args, "--out", "x.csv"])
    assert (here / "x.csv").is_file()
    assert len(pd.read_csv(here / "x.csv")) > 0


def test_out_with_another_file_extension_is_refused_not_made_a_folder(here: Path) -> None:
    res = runner.invoke(app, ["targets", "--out", "t.xlsx"])
    assert res.exit_code == 2 and "export --xlsx" in res.output
    assert not (here / "t.xlsx").exists()


# ---------------------------------------------------------------- 5. data dictionary

def test_every_column_written_is_described(here: Path) -> None:
    _ok(["plan", "--horizon", "2027", "--scenario", str(ROOT / "scenarios" / "expansion-1000.yaml"),
         "--out", "p"])
    _ok(["uncertainty", "--draws", "20", "--out", "u"])
    _ok(["monitor", str(ROOT / "examples" / "impact_metrics_example.csv"), "--no-plan",
         "--out", "m"])
    metrics = json.loads((here / "m" / "run.json").read_text())["input_digests"]
    assert metrics["impact_metrics"] == hashlib.sha256(
        (ROOT / "examples" / "impact_metrics_example.csv").read_bytes()).hexdigest()
    for folder in ("p", "u", "m"):
        cols = pd.read_csv(here / folder / "columns.csv", keep_default_na=False)
        written = {(csv.stem, c) for csv in (here / folder).glob("*.csv")
                   if csv.name != "columns.csv" for c in pd.read_csv(csv, nrows=0).columns}
        assert set(zip(cols["table"], cols["column"], strict=True)) == written
        assert "(not described)" not in set(cols["meaning"]), folder
    gap = cols[cols["column"].str.contains("gap")]
    assert gap["sign_convention"].str.contains("positive: area below its target").all()


# ---------------------------------------------------------------- 6. numbers as what they are

def test_years_and_counts_are_whole_and_shares_fixed_precision() -> None:
    df = pd.DataFrame({"year": [2031.0, None], "size": [10.0, 3.0], "gini": [0.123456789, 0.5],
                       "fair_share": [12.3456789, 1.0]})
    lines = formatted(df).to_csv(index=False).splitlines()
    assert lines == ["year,size,gini,fair_share", "2031,10,0.1235,12.346", ",3,0.5000,1.000"]


def test_plan_findings_years_are_integers(here: Path) -> None:
    _ok(["plan", "--horizon", "2023", "--out", "p"])
    raw = (here / "p" / "findings.csv").read_text()
    assert ".000000" not in raw and ".0," not in raw


# ---------------------------------------------------------------- 7. one way to match names

def test_misspelt_specialty_flag_gets_a_suggestion(here: Path) -> None:
    res = runner.invoke(app, ["targets", "--specialty", "General Psychiatary"])
    assert res.exit_code == 2
    assert "did you mean 'General Psychiatry'" in res.output


def test_names_match_in_any_case_and_by_code(here: Path) -> None:
    _ok(["targets", "--specialty", "general psychiatry", "--out", "g.csv"])
    assert set(pd.read_csv(here / "g.csv")["specialty"]) == {"General Psychiatry"}
    assert "London" in _ok(["tables", "--area", "LDN", "--horizon", "2023"])
    res = runner.invoke(app, ["tables", "--area", "Londno", "--horizon", "2023"])
    assert res.exit_code == 2 and "did you mean 'London'" in res.output


def test_a_misspelt_name_in_a_file_gets_the_same_suggestion(tmp_path: Path) -> None:
    posts = tmp_path / "p.csv"
    posts.write_text("local_office,specialty,posts\nLONDON,General Psychiatary,3\n")
    res = runner.invoke(app, ["validate", str(posts)])
    assert res.exit_code == 2 and "did you mean 'General Psychiatry'" in res.output


# ---------------------------------------------------------------- 10. validate summarises

def test_validate_on_a_blank_template_gives_one_line_per_kind(tmp_path: Path) -> None:
    blank = tmp_path / "blank.csv"
    _ok(["template", "posts", "--out", str(blank)])
    rows = len(pd.read_csv(blank))  # every local office x specialty, one empty posts cell each
    res = runner.invoke(app, ["validate", str(blank)])
    assert res.exit_code == 2
    problems = [ln for ln in res.output.splitlines() if ln.strip().startswith("- ")]
    assert len(problems) == 1
    assert f"{rows} rows (rows 2-{rows + 1})" in problems[0]
    assert "column 'posts'" in problems[0] and "empty" in problems[0]


# ---------------------------------------------------------------- 8. compare

@pytest.fixture()
def two_runs(here: Path) -> Path:
    scen = here / "d30.yaml"
    scen.write_text("name: deprivation 30%\ndeprivation_weight: 0.3\n")
    _ok(["run", "--horizon", "2023", "--name", "d20", "--out", "r1"])
    _ok(["run", "--horizon", "2023", "--name", "d30", "--scenario", str(scen), "--out", "r2"])
    return here


def test_compare_shows_per_area_changes_first_not_zeros(two_runs: Path) -> None:
    text = _ok(["compare", "d20", "d30", "--out", "c"])
    first = text.split("\n┏")[0]
    assert "what changed for every area" in first
    cmp = pd.read_csv(two_runs / "c" / "comparison.csv")
    by_area = cmp.groupby("area")["target_change"].sum()
    moved = by_area[by_area != 0]
    assert len(moved) > 0  # a redistribution scenario moves targets between areas ...
    assert by_area.sum() == 0  # ... and keeps the national total
    biggest = moved.abs().idxmax()
    table_lines = [ln for ln in text.splitlines() if ln.startswith("│")]
    assert biggest in table_lines[0]  # the largest change is the first row shown


def test_compare_area_filters_and_accepts_a_code(two_runs: Path) -> None:
    text = _ok(["compare", "d20", "d30", "--area", "ldn", "--out", "c.csv"])
    assert "for London" in text
    cmp = pd.read_csv(two_runs / "c.csv")
    assert set(cmp["area"]) == {"London"}
    assert "North West" not in text


def test_compare_tables_work_or_are_refused_with_the_list(two_runs: Path) -> None:
    _ok(["compare", "d20", "d30", "--table", "plan", "--out", "p.csv"])
    assert {"posts_change", "year"} <= set(pd.read_csv(two_runs / "p.csv").columns)
    _ok(["compare", "d20", "d30", "--table", "equity", "--out", "e.csv"])
    assert "gini_change" in pd.read_csv(two_runs / "e.csv").columns
    res = runner.invoke(app, ["compare", "d20", "d30", "--table", "findings"])
    assert res.exit_code == 2
    assert "choose one of: targets, plan, equity" in res.output


# ---------------------------------------------------------------- 11. README and findings

def test_readme_python_example_runs_as_written(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(compile(code.group(1), "README.md", "exec"), scope)
    out = scope["out"]
    findings = out.findings  # type: ignore[attr-defined]
    assert isinstance(findings, pd.DataFrame)
    assert list(findings.columns) == ["kind", "cause", "area", "specialty", "year", "size",
                                      "message"]


def test_dictionary_states_one_sign_for_gap_like_columns() -> None:
    d = dictionary(["gap", "remaining_gap", "redistribution", "net"]).set_index("column")
    assert d["sign_convention"].nunique() == 1


# ---------------------------------------------------------------- 9. years say what they are

def _first_year_to_come(today: date) -> int:
    """Written out here, apart from the code: the August round of this year is past from
    1 August on."""
    return today.year + 1 if (today.month, today.day) >= (8, 1) else today.year


def test_past_plan_years_are_labelled_a_reconstruction(here: Path) -> None:
    first = _first_year_to_come(date.today())
    _ok(["plan", "--horizon", str(first + 1), "--out", "p"])
    plan = pd.read_csv(here / "p" / "plan.csv")
    status = plan.drop_duplicates("year").set_index("year")["year_status"]
    assert status.to_dict() == {y: "reconstruction" if y < first else "to come"
                                for y in status.index}
    text = _ok(["tables", "--area", "London", "--horizon", str(first + 1)])
    assert f"expansion in {first} " in text  # the one-year table: first year still to come
    past = _ok(["tables", "--area", "London", "--year", "2022", "--horizon", str(first)])
    assert "RECONSTRUCTION" in past


def test_a_dated_establishment_starts_the_plan_at_its_next_round(here: Path) -> None:
    posts = here / "posts.csv"
    _ok(["template", "posts", "--prefill", "--out", str(posts)])
    _ok(["plan", "--posts", str(posts), "--posts-date", "2029-02", "--horizon", "2031",
         "--out", "feb"])
    feb = pd.read_csv(here / "feb" / "plan.csv")
    assert feb["year"].min() == 2029  # counted before the August 2029 round
    assert feb["basis"].str.contains("dated 2029-02-01").all()
    _ok(["plan", "--posts", str(posts), "--posts-date", "2029-09-30", "--horizon", "2031",
         "--out", "sep"])
    assert pd.read_csv(here / "sep" / "plan.csv")["year"].min() == 2030


def test_establishment_dates_read_from_labels() -> None:
    assert date_in_text("NHS Digital staff in post, 30 Sept 2017 (FTE)") == date(2017, 9, 30)
    assert date_in_text("posts.csv (local_office level), dated 2026-03-01") == date(2026, 3, 1)
    assert date_in_text("DEMONSTRATION baseline (modelled)") is None
    assert next_round(date(2017, 9, 30)) == 2018 and next_round(date(2026, 7, 31)) == 2026


# ---------------------------------------------------------------- 2. killed while writing

def _killed_at(stage: str, args: list[str], cwd: Path) -> None:
    """Run a command, SIGKILL it when it reaches ``stage`` (it prints a marker there)."""
    env = {**os.environ, "FAIRSHARE_TEST_PAUSE": f"{stage}:60"}
    proc = subprocess.Popen([sys.executable, "-m", "fairshare.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith(f"fairshare-test-paused {stage}"):
            break
    proc.kill()
    proc.wait(timeout=30)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def test_a_killed_command_leaves_the_earlier_output_whole(here: Path) -> None:
    _ok(["targets", "--specialty", "Cardiology", "--out", "t"])
    _ok(["targets", "--specialty", "Cardiology"])
    before = {p.name: p.read_bytes() for p in (here / "t").iterdir()}
    latest = (here / "results" / "latest").resolve()
    _killed_at("output_before_swap", ["targets", "--specialty", "Urology", "--out", "t"], here)
    _killed_at("output_before_swap", ["targets", "--specialty", "Urology"], here)
    assert {p.name: p.read_bytes() for p in (here / "t").iterdir()} == before
    assert (here / "results" / "latest").resolve() == latest
    visible = [p for p in (here / "results").iterdir() if not p.name.startswith(".")]
    assert len(visible) == 2  # the one complete folder and latest: no half-written folder
