"""Impact monitoring: the metrics file, baselines, directions, flags and the CLI command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import fairshare.cli.outcomes  # noqa: F401  (registers the commands)
from fairshare.analysis.monitoring import METRICS, impact_table, read_metrics
from fairshare.cli.common import app
from fairshare.errors import InputError, Problem
from fairshare.inputs.bundle import load_england

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "impact_metrics_example.csv"


@pytest.fixture(scope="module")
def catalogue() -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    b = load_england()
    return list(b.specialties["specialty"]), b.local_offices, b.icbs


def _read(path: Path, catalogue: tuple[list[str], pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    return read_metrics(path, *catalogue)


def _write(tmp_path: Path, text: str, name: str = "metrics.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path, catalogue: tuple[list[str], pd.DataFrame, pd.DataFrame]
              ) -> list[Problem]:
    with pytest.raises(InputError) as err:
        _read(path, catalogue)
    return err.value.problems


def test_example_file_parses(catalogue: tuple[list[str], pd.DataFrame, pd.DataFrame]) -> None:
    m = _read(EXAMPLE, catalogue)
    assert len(m) == 29
    assert set(m["level"]) == {"local_office"}
    assert "London" in set(m["area"])  # the code LDN is read as London
    assert {"All", "General Psychiatry", "Cardiology"} <= set(m["specialty"])
    assert m["value"].dtype == np.float64 and m["year"].dtype == np.int64
    custom = m[m["metric"] == "custom:rota_gaps_per_month"]
    assert set(custom["good_direction"]) == {"down"}


def test_icb_file_and_spellings(tmp_path: Path,
                                catalogue: tuple[list[str], pd.DataFrame, pd.DataFrame]) -> None:
    icb = catalogue[2].iloc[0]
    path = _write(tmp_path, "icb,specialty,year,metric,value\n"
                  f"{icb['icb_ods']},all,2024,Fill Rate,85%\n"
                  f"{icb['icb_code']},cardiology,2024,trainer-resignations,\"1,000\"\n")
    m = _read(path, catalogue)
    assert list(m["area"]) == [icb["icb_code"]] * 2
    assert set(m["level"]) == {"icb"}
    assert list(m["specialty"]) == ["All", "Cardiology"]
    assert list(m["metric"]) == ["fill_rate", "trainer_resignations"]
    assert list(m["value"]) == [85.0, 1000.0]


def test_every_bad_input_named_by_file_row_and_column(
        tmp_path: Path, catalogue: tuple[list[str], pd.DataFrame, pd.DataFrame]) -> None:
    path = _write(tmp_path, "\n".join([
        "local_office,specialty,year,metric,value,good_direction",
        "London,Cardiology,2024,fill_rate,80,",            # row 2: fine
        "London,Cardiology,2024,fil_rate,80,",             # row 3: unknown metric
        "London,Cardiology,20x4,vacancies,3,",             # row 4: bad year
        "London,Cardiology,2024,vacancies,three,",         # row 5: non-numeric value
        "London,Cardiology,2024,fill_rate,81,",            # row 6: duplicate of row 2
        "Atlantis,Cardiology,2024,vacancies,1,",           # row 7: unknown area
        "London,Cardiolgy,2024,vacancies,1,",              # row 8: unknown specialty
        "London,Cardiology,2025,fill_rate,120,",           # row 9: fill rate above 100
        "London,Cardiology,2025,vacancies,-1,",            # row 10: negative count
        "London,Cardiology,2025,custom:rota gaps!,1,",     # row 11: bad custom name
        "London,Cardiology,2025,trainee_satisfaction,70,down",  # row 12: contradicts
        "London,Cardiology,2025,custom:x,1,sideways",      # row 13: bad direction
        "London,Cardiology,1850,vacancies,1,",             # row 14: implausible year
    ]) + "\n")
    problems = _problems(path, catalogue)
    where = {(p.row, p.column) for p in problems}
    expected = {(3, "metric"), (4, "year"), (5, "value"), (6, None), (7, "local_office"),
                (8, "specialty"), (9, "value"), (10, "value"), (11, "metric"),
                (12, "good_direction"), (13, "good_direction"), (14, "year")}
    assert where == expected
    assert all(p.file == str(path) for p in problems)
    text = {(p.row, p.column): p.message for p in problems}
    assert "did you mean 'fill_rate'" in text[(3, "metric")]
    for name in METRICS:
        assert name in text[(3, "metric")]
    assert "custom:<name>" in text[(3, "metric")]
    assert "not a number" in text[(5, "value")]
    assert "already given on row 2" in text[(6, None)]
    assert "did you mean 'Cardiology'" in text[(8, "specialty")]
    assert "above 100" in text[(9, "value")]


def test_missing_columns_and_empty_file(
        tmp_path: Path, catalogue: tuple[list[str], pd.DataFrame, pd.DataFrame]) -> None:
    problems = _problems(_write(tmp_path, "region,specialty,value\nLondon,All,1\n"), catalogue)
    assert {(p.row, p.column) for p in problems} == {
        (1, "local_office (or icb)"), (1, "year"), (1, "metric")}
    empty = _problems(_write(tmp_path, "", "empty.csv"), catalogue)
    assert "empty" in empty[0].message


def _metrics(rows: list[tuple[str, str, int, str, float]], direction: str | None = None
             ) -> pd.DataFrame:
    return pd.DataFrame(
        [{"area": a, "level": "local_office", "specialty": s, "year": y, "metric": m,
          "value": v, "good_direction": direction} for a, s, y, m, v in rows])


def test_baseline_and_change_by_hand() -> None:
    # Phase start 2024: the default baseline is the last year before it, 2023 (value 80).
    # 2025: 72 -> change -8, percent -10% (exactly the threshold: not flagged);
    # 2026: 70 -> change -10, -12.5%: fill rate falling is bad, so flagged.
    m = _metrics([("London", "Toy", y, "fill_rate", v)
                  for y, v in [(2022, 75), (2023, 80), (2024, 84), (2025, 72), (2026, 70)]])
    t = impact_table(m, specialties={"Toy": 2024}).set_index("year")
    assert set(t["baseline_year"]) == {2023}
    assert set(t["baseline"]) == {80.0}
    assert t.loc[2022, "change"] == -5 and t.loc[2024, "change"] == 4
    assert t.loc[2024, "percent_change"] == pytest.approx(0.05)
    assert t.loc[2024, "direction"] == "better"
    assert t.loc[2023, "direction"] == "no change"
    assert t.loc[2025, "percent_change"] == pytest.approx(-0.10)
    assert not t.loc[2025, "worse_than_baseline"]
    assert t.loc[2026, "percent_change"] == pytest.approx(-0.125)
    assert t.loc[2026, "worse_than_baseline"]
    # explicit baseline year 2022 (75): 2026 is -5, -6.7%: flagged at 5%, not at 10%
    t = impact_table(m, baseline_year=2022, threshold=0.05).set_index("year")
    assert set(t["baseline"]) == {75.0}
    assert t.loc[2026, "change"] == -5 and t.loc[2026, "worse_than_baseline"]
    assert not t.loc[2025, "worse_than_baseline"]  # 72: -4%
    assert not impact_table(m, baseline_year=2022).set_index("year").loc[
        2026, "worse_than_baseline"]
    # no phase start known: the first year
    assert set(impact_table(m)["baseline_year"]) == {2022}
    # a baseline year without a value: no baseline, said so
    t = impact_table(m, baseline_year=2019)
    assert t["baseline"].isna().all() and set(t["direction"]) == {"unknown"}
    assert t["note"].str.contains("no value in baseline year 2019").all()


def test_direction_flags() -> None:
    rows = []
    for metric in ("fill_rate", "trainee_satisfaction", "vacancies", "locum_use",
                   "inter_deanery_transfers", "out_of_programme_requests",
                   "trainer_resignations"):
        rows += [("Wessex", "All", 2022, metric, 50.0), ("Wessex", "All", 2023, metric, 60.0)]
    t = impact_table(_metrics(rows))
    rise = t[t["year"] == 2023].set_index("metric")
    assert rise.loc["fill_rate", "direction"] == "better"
    assert rise.loc["trainee_satisfaction", "direction"] == "better"
    for metric in ("vacancies", "locum_use", "inter_deanery_transfers",
                   "out_of_programme_requests", "trainer_resignations"):
        assert rise.loc[metric, "direction"] == "worse", metric
        assert rise.loc[metric, "worse_than_baseline"], metric
        assert rise.loc[metric, "good_direction"] == "down"
    assert not rise.loc["fill_rate", "worse_than_baseline"]
    # from a zero baseline any bad move is flagged; percent change is undefined
    zero = impact_table(_metrics([("Wessex", "All", 2022, "trainer_resignations", 0.0),
                                  ("Wessex", "All", 2023, "trainer_resignations", 1.0)]))
    last = zero.iloc[-1]
    assert last["worse_than_baseline"] and np.isnan(last["percent_change"])
    # a custom metric without a direction is never flagged; with one it is
    custom = [("Wessex", "All", 2022, "custom:x", 10.0), ("Wessex", "All", 2023, "custom:x", 20.0)]
    assert impact_table(_metrics(custom))["direction"].tolist() == ["no change", "unknown"]
    flagged = impact_table(_metrics(custom, "down"))
    assert flagged["worse_than_baseline"].tolist() == [False, True]


def test_posts_moved_lined_up_with_the_plan() -> None:
    plan = pd.DataFrame({
        "area": ["London"] * 3 + ["London"] * 3,
        "specialty": ["Toy"] * 3 + ["Other"] * 3,
        "year": [2024, 2025, 2026] * 2,
        "cumulative": [-1, -3, -4, 0, -2, -2],
    })
    m = _metrics([("London", "Toy", y, "vacancies", 5.0) for y in (2023, 2025, 2030)]
                 + [("London", "All", 2025, "vacancies", 9.0)])
    t = impact_table(m, plan=plan).set_index(["specialty", "year"])
    assert t.loc[("Toy", 2023), "posts_moved_cumulative"] == 0  # before the plan
    assert t.loc[("Toy", 2025), "posts_moved_cumulative"] == -3
    assert t.loc[("Toy", 2030), "posts_moved_cumulative"] == -4  # held after the plan
    assert t.loc[("All", 2025), "posts_moved_cumulative"] == -5  # summed over specialties


def test_monitor_command(tmp_path: Path) -> None:
    out = tmp_path / "monitor"
    res = CliRunner().invoke(app, ["monitor", str(EXAMPLE), "--plan-horizon", "2025",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Worse than baseline by more than 10%" in res.output
    table = pd.read_csv(out / "impact.csv")
    assert len(table) == 29 and table["posts_moved_cumulative"].notna().all()
    flagged = table[table["worse_than_baseline"]]
    assert ("London", "trainer_resignations", 2025) in set(
        zip(flagged["area"], flagged["metric"], flagged["year"], strict=True))
    assert (out / "run.json").exists()


def test_monitor_command_bad_file(tmp_path: Path) -> None:
    bad = _write(tmp_path, "local_office,specialty,year,metric,value\n"
                 "London,All,2024,morale,3\n")
    out = tmp_path / "never"
    res = CliRunner().invoke(app, ["monitor", str(bad), "--baseline-year", "2023",
                                   "--out", str(out)])
    assert res.exit_code == 2
    assert "row 2" in res.output and "unknown metric 'morale'" in res.output
    assert not out.exists()
