"""The formatted workbook: written atomically, and every planner sheet equal to its layout."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

import fairshare.publish.excel as excel
from fairshare.publish.excel import DEMO_NOTE, DEMO_WARNING, sheet_name, write_workbook
from fairshare.publish.tables import one_year, pace_of_change, phase_impact
from tests.test_tables import (
    LONG,
    REFRESHED,
    REFRESHED_SPECIALTIES,
    make_plan,
    make_targets,
)

SCENARIO = {"name": "Toy refresh scenario", "description": "hand-made", "deprivation_weight": 0.2,
            "weights": None, "specialty_weights": {"Cardiology": [0.5, 0.25, 0.25]},
            "apportionment": "hamilton", "horizon": 2026, "expansion": []}


def make_about(demo: bool = True) -> dict[str, Any]:
    return {
        "fairshare_version": "9.9.9",
        "created": "2025-01-02T03:04:05+00:00",
        "scenario": SCENARIO,
        "scenario_digest": "abc123",
        "establishment": "DEMONSTRATION baseline (modelled)" if demo else "posts.csv",
        "demonstration_baseline": demo,
        "input_digests": {"posts": "f" * 64},
        "data_vintages": {"population": "ONS mid-2022", "need": "NHS England 2025/26"},
        "licence": "Contains public sector information licensed under the OGL v3.0.",
    }


def write(tmp_path: Path, *, demo: bool = True, **kwargs: Any) -> Path:
    targets = make_targets()
    args: dict[str, Any] = {"targets": targets, "plan": make_plan(), "about": make_about(demo),
                            "impact": phase_impact(targets, make_targets(
                                REFRESHED, REFRESHED_SPECIALTIES))}
    args.update(kwargs)
    return write_workbook(tmp_path / "out" / "run.xlsx", **args)


def values(ws: Worksheet) -> list[list[Any]]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def header_row(ws: Worksheet, first: str) -> int:
    """1-based row of the table header (the row whose first cell is ``first``)."""
    return next(i for i, r in enumerate(values(ws), 1) if r[0] == first)


def table_from(ws: Worksheet, first: str, width: int) -> list[list[Any]]:
    """The table body and totals under a header, up to the first empty row."""
    rows, start = values(ws), header_row(ws, first)
    out = []
    for r in rows[start:]:
        if r[0] is None:
            break
        out.append([("" if v is None else v) for v in r[:width]])
    return out


def test_sheets_present_in_order(tmp_path: Path) -> None:
    path = write(tmp_path)
    assert path == tmp_path / "out" / "run.xlsx" and path.exists()
    names = openpyxl.load_workbook(path).sheetnames
    # default year: the first with any move (2024); the long name is abbreviated to its code
    assert names == ["About this run", "Targets", "Plan", "North 2024", "North pace",
                     "South 2024", "South pace", "TVL 2024", "TVL pace", "Phase impact"]
    assert all(len(n) <= 31 for n in names)
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.xlsx"]  # no temp file left


def test_about_sheet_has_scenario_parameters_and_demo_warning(tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(write(tmp_path))["About this run"]
    cells = {c.value: c for row in ws.iter_rows() for c in row if c.value is not None}
    pairs = {r[0]: r[1] for r in values(ws) if r[0] is not None}
    assert pairs["Scenario"] == "Toy refresh scenario"
    for key in SCENARIO:
        assert key in pairs, key
    assert pairs["deprivation_weight"] == "0.2"
    assert pairs["specialty_weights"] == '{"Cardiology": [0.5, 0.25, 0.25]}'
    assert pairs["weights"] == "none"
    assert pairs["population"] == "ONS mid-2022" and pairs["need"] == "NHS England 2025/26"
    assert pairs["Establishment"] == "DEMONSTRATION baseline (modelled)"
    assert pairs["fairshare version"] == "9.9.9"
    assert pairs["Created"] == "2025-01-02T03:04:05+00:00"
    assert "Contains public sector information licensed under the OGL v3.0." in cells
    warning = cells[DEMO_WARNING]
    assert warning.font.b and warning.font.color.rgb.endswith("C00000")


def test_real_baseline_has_no_warning_or_note(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write(tmp_path, demo=False))
    text = {c.value for ws in wb for row in ws.iter_rows() for c in row}
    assert DEMO_WARNING not in text and DEMO_NOTE not in text


TOP = 5  # 1-based row of a table's header: title, label, sign convention and a blank above it


def test_targets_sheet_equals_table(tmp_path: Path) -> None:
    targets = make_targets()
    ws = openpyxl.load_workbook(write(tmp_path))["Targets"]
    rows = values(ws)[TOP - 1:]
    # one sign convention: the gap as a share of target (+ receives) replaces the distance
    expected = [("gap_share_of_target" if c == "distance" else c) for c in targets.columns]
    assert rows[0] == expected
    assert ws.max_row == TOP + len(targets) and ws.max_column == len(targets.columns)
    col = {name: j for j, name in enumerate(rows[0])}
    assert sum(r[col["target"]] for r in rows[1:]) == targets["target"].sum()
    assert sum(r[col["gap"]] for r in rows[1:]) == targets["gap"].sum()
    assert [r[col["area"]] for r in rows[1:]] == targets["area"].tolist()
    for r, (cur, tar) in zip(rows[1:], targets[["current", "target"]].to_numpy(), strict=True):
        assert r[col["gap_share_of_target"]] == pytest.approx((tar - cur) / tar)
    assert ws.freeze_panes == f"A{TOP + 1}"
    last = get_column_letter(len(targets.columns))
    assert ws.auto_filter.ref == f"A{TOP}:{last}{TOP + len(targets)}"
    fmt = {name: ws.cell(TOP + 1, j + 1).number_format for name, j in col.items()}
    assert fmt["current"] == "#,##0" and fmt["target"] == "#,##0"
    assert fmt["gap"] == "+#,##0;\u2212#,##0;0"
    assert fmt["fair_share"] == "#,##0.0" and fmt["target_fractional"] == "#,##0.0"
    assert fmt["gap_share_of_target"] == "+0.0%;\u22120.0%;0.0%"
    assert fmt["specialised_share"] == "0.0%"
    assert fmt["effect_need"] == "+#,##0.0;\u2212#,##0.0;0.0"
    gap = get_column_letter(col["gap"] + 1)
    rules = {(str(cf.sqref), rule.operator) for cf in ws.conditional_formatting
             for rule in cf.rules}
    span = f"{gap}{TOP + 1}:{gap}{TOP + len(targets)}"
    assert {(span, "greaterThan"), (span, "lessThan")} <= rules


def test_plan_sheet_equals_table(tmp_path: Path) -> None:
    plan = make_plan()
    # each year says whether its August recruitment is past on the run's date (no as_of in the
    # metadata: today), recomputed here by hand (issue 18)
    today = date.today()
    coming = today.year if today < date(today.year, 8, 1) else today.year + 1
    plan.insert(list(plan.columns).index("year") + 1, "year_status",
                ["reconstruction" if y < coming else "to come" for y in plan["year"]])
    ws = openpyxl.load_workbook(write(tmp_path))["Plan"]
    rows = values(ws)[TOP - 1:]
    assert rows[0] == list(plan.columns) and len(rows) == len(plan) + 1
    assert rows[1:] == [list(r) for r in plan.itertuples(index=False, name=None)]
    assert ws.freeze_panes == f"A{TOP + 1}"
    year = rows[0].index("year") + 1
    assert ws.cell(TOP + 1, year).number_format == "0"  # 2024, not 2,024


@pytest.mark.parametrize(("area", "sheet"), [("North", "North"), ("South", "South"),
                                             (LONG, "TVL")])
def test_one_year_sheets_equal_layout(tmp_path: Path, area: str, sheet: str) -> None:
    wb = openpyxl.load_workbook(write(tmp_path))
    ws = wb[f"{sheet} 2024"]
    expected = one_year(make_plan(), area, 2024)
    assert values(ws)[header_row(ws, "School") - 1][:6] == list(expected.columns)
    got = table_from(ws, "School", 6)
    assert got == [list(r) for r in expected.itertuples(index=False, name=None)]
    assert got[-1][0] == "Total"
    total_row = header_row(ws, "School") + len(expected)
    assert ws.cell(total_row, 1).value == "Total"
    for j in range(1, 7):
        cell = ws.cell(total_row, j)
        assert cell.font.b and cell.border.top.style == "thin"
    assert not ws.cell(total_row - 1, 1).font.b
    assert ws.freeze_panes == f"A{header_row(ws, 'School') + 1}"
    assert ws.cell(total_row + 2, 1).value == DEMO_NOTE
    assert area in ws.cell(1, 1).value and "2024" in ws.cell(1, 1).value


def test_pace_sheets_equal_layout(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write(tmp_path))
    for area, sheet in (("North", "North"), (LONG, "TVL")):
        ws = wb[f"{sheet} pace"]
        expected = pace_of_change(make_plan(), make_targets(), area)
        first = "Specialty (phase)"
        assert values(ws)[header_row(ws, first) - 1][:6] == list(expected.columns)
        assert table_from(ws, first, 6) == [list(r) for r in
                                            expected.itertuples(index=False, name=None)]
        assert ws.cell(header_row(ws, first) + len(expected), 2).font.b


def test_phase_impact_sheet_bolds_subtotals(tmp_path: Path) -> None:
    impact = phase_impact(make_targets(), make_targets(REFRESHED, REFRESHED_SPECIALTIES))
    ws = openpyxl.load_workbook(write(tmp_path))["Phase impact"]
    assert table_from(ws, "School", 6) == [list(r) for r in
                                           impact.itertuples(index=False, name=None)]
    top = header_row(ws, "School")
    bold = [ws.cell(top + 1 + i, 4).font.b for i in range(len(impact))]
    assert bold == [label.endswith(" total") or label == "Total" for label in impact["School"]]
    # gains green / losses red on the specialty rows only: rows 4-5 Medicine, 7-8 Surgery
    ranges = {str(cf.sqref) for cf in ws.conditional_formatting}
    assert top == TOP and {"F6:F7", "F9:F10"} <= ranges
    assert not ranges - {"F6:F7", "F9:F10"} - {f"{c}{TOP + 1}:{c}{TOP + len(impact)}"
                                               for c in "ABCDEF"}


def test_areas_and_year_can_be_chosen(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write(tmp_path, areas=["South"], year=2025, impact=None))
    assert wb.sheetnames == ["About this run", "Targets", "Plan", "South 2025", "South pace"]
    assert table_from(wb["South 2025"], "School", 6)[-1] == ["Total", "", "", -3, 0, -3]


def test_targets_only_workbook(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write(tmp_path, plan=None, impact=None))
    assert wb.sheetnames == ["About this run", "Targets"]
    with pytest.raises(ValueError, match="need a plan"):
        write(tmp_path, plan=None, areas=["North"])


def test_bad_area_fails_before_any_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Nowhere"):
        write(tmp_path, areas=["Nowhere"])
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_interrupted_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = excel._write_sheet
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # Targets and Plan written, then the disk "fills up"
            raise OSError("disk full")
        real(*args, **kwargs)

    monkeypatch.setattr(excel, "_write_sheet", failing)
    with pytest.raises(OSError, match="disk full"):
        write(tmp_path)
    assert calls["n"] == 3
    folder = tmp_path / "out"
    assert not (folder / "run.xlsx").exists()
    assert not folder.exists() or list(folder.iterdir()) == []  # no temp file either


def test_interrupted_rewrite_keeps_previous_file(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path)
    before = path.read_bytes()

    def failing(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(excel, "_write_sheet", failing)
    with pytest.raises(RuntimeError):
        write(tmp_path, demo=False)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.xlsx"]


def test_sheet_names_are_valid_and_unique() -> None:
    taken: set[str] = set()
    assert sheet_name("North", "2024", taken=taken) == "North 2024"
    assert sheet_name("north", "2024", taken=taken) == "north 2024~2"  # Excel ignores case
    long = "NHS Bath and North East Somerset, Swindon and Wiltshire Integrated Care Board"
    assert sheet_name(long, "pace", code="E54000040", taken=taken) == "E54000040 pace"
    cut = sheet_name(long, "pace", taken=taken)
    assert len(cut) <= 31 and cut.endswith(" pace") and cut.startswith("NHS Bath")
    again = sheet_name(long, "pace", taken=taken)
    assert again != cut and len(again) <= 31
    assert sheet_name("A/B: [x]?", "2024") == "A-B- -x-- 2024"


def test_default_year_is_first_with_a_move() -> None:
    plan = make_plan()
    assert excel.default_year(plan) == 2024
    quiet = plan.assign(redistribution=plan["redistribution"].where(plan["year"] > 2025, 0),
                        expansion=0)
    assert excel.default_year(quiet) == 2026
    assert excel.default_year(plan.assign(redistribution=0, expansion=0)) == 2024


def test_column_widths_fit_the_values(tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(write(tmp_path))["Targets"]
    widths = {ws.cell(TOP, j).value: ws.column_dimensions[get_column_letter(j)].width
              for j in range(1, ws.max_column + 1)}
    assert widths["baseline"] >= len("toy baseline")
    assert widths["area"] >= len(LONG)
    assert all(w <= 62 for w in widths.values())


def test_workbook_reads_back_with_pandas(tmp_path: Path) -> None:
    back = pd.read_excel(write(tmp_path), sheet_name="Targets", header=TOP - 1,
                         engine="openpyxl")
    targets = make_targets()
    expected = targets.assign(distance=targets["gap"] / targets["target"]).rename(
        columns={"distance": "gap_share_of_target"})
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)


# --- labels that travel, number formats, and stopping mid-write ---------------------------------


def test_every_sheet_says_its_basis_and_scenario(tmp_path: Path) -> None:
    """Row 2 of every sheet and its printed header and footer carry the label from the data."""
    targets = make_targets()
    basis = ["published 2017 figure" if a == "North" else "modelled row" for a in targets["area"]]
    about = make_about(demo=False) | {"establishment": "Public baseline, September 2017"}
    wb = openpyxl.load_workbook(write(tmp_path, targets=targets.assign(basis=basis),
                                      about=about))
    for ws in wb.worksheets[1:]:
        line = ws.cell(2, 1).value
        assert "Scenario Toy refresh scenario (digest abc123)" in line, ws.title
        assert ws.cell(3, 1).value == "Gap = target − current posts: + receives, − gives."
        if ws.title.startswith("North"):  # an area sheet: that area's own basis
            assert line.startswith("Basis: published 2017 figure ·"), line
        elif ws.title.startswith("South") or ws.title.startswith("TVL"):
            assert line.startswith("Basis: modelled row ·"), line
        else:
            assert line.startswith("Basis: Public baseline, September 2017 ·"), line
        assert "digest abc123" in ws.oddHeader.right.text
        assert ws.oddFooter.left.text.startswith("Basis: ")
        assert "Page &P of &N" in ws.oddFooter.right.text
    about_rows = {r[0]: r[1] for r in values(wb["About this run"]) if r[0] is not None}
    assert about_rows["Basis of the numbers"] == "Public baseline, September 2017"
    assert about_rows["Scenario digest"] == "abc123"
    assert about_rows["Sign convention"] == excel.SIGN_NOTE


def test_label_without_row_basis_is_the_establishment(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write(tmp_path))
    for ws in wb.worksheets[1:]:
        assert ws.cell(2, 1).value.startswith("Basis: DEMONSTRATION baseline (modelled) ·")
        assert ws.cell(2, 1).font.color.rgb.endswith("C00000")  # the demonstration in red


def test_small_values_never_show_as_minus_zero(tmp_path: Path) -> None:
    """Fractional columns carry a conditional format that shows |x| < half a step as "0.0"."""
    targets = make_targets().assign(effect_need=-0.01)
    ws = openpyxl.load_workbook(write(tmp_path, targets=targets))["Targets"]
    col = values(ws)[TOP - 1].index("effect_need") + 1
    assert ws.cell(TOP + 1, col).value == pytest.approx(-0.01)  # the number itself is exact
    letter = get_column_letter(col)
    rules = [(rule.operator, rule.formula, rule.dxf.numFmt.formatCode)
             for cf in ws.conditional_formatting if str(cf.sqref).startswith(f"{letter}{TOP + 1}")
             for rule in cf.rules if rule.dxf is not None and rule.dxf.numFmt is not None]
    assert ("between", ["-0.05", "0.05"], '"0.0"') in rules


def _kill_mid_write(tmp_path: Path, signum: int, pause_in: str) -> tuple[int, str, Path]:
    """Run ``fairshare export`` in a child process that pauses inside ``pause_in`` (the
    in-memory build, or the bytes written beside the target), stop it with ``signum`` there,
    and return its exit code, its stderr and the output folder."""
    import os
    import subprocess
    import sys
    import time

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine", encoding="utf-8")
    (folder / "plan.xlsx").write_bytes(b"the previous workbook")
    ready = tmp_path / "ready"
    driver = f"""
import sys, time
from pathlib import Path
import fairshare.publish.excel as excel
real = excel.{pause_in}
def paused(*args, **kwargs):
    if "{pause_in}" == "_save":
        tmp, data = args
        tmp.write_bytes(data[: len(data) // 2])  # half the file is on disk
    Path({str(ready)!r}).write_text("writing")
    time.sleep(120)
excel.{pause_in} = paused
from fairshare.cli import app
app(args=["export", "--horizon", "2023", "--xlsx", {str(folder / "plan.xlsx")!r}],
    prog_name="fairshare")
"""
    proc = subprocess.Popen([sys.executable, "-c", driver], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 300
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the export never started writing"
        time.sleep(0.05)
    if pause_in == "_save":  # the temporary file really is there when the signal lands
        assert [p for p in os.listdir(folder) if p.endswith(".tmp")]
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err, folder


@pytest.mark.parametrize(("signum", "pause_in"), [
    (15, "_save"),  # SIGTERM while the bytes go to disk
    (2, "_save"),  # Ctrl-C (SIGINT) at the same moment
    (9, "_write_sheet"),  # SIGKILL cannot be caught: the workbook is still only in memory
])
def test_stopping_export_mid_write_leaves_the_folder_as_it_was(tmp_path: Path, signum: int,
                                                               pause_in: str) -> None:
    code, err, folder = _kill_mid_write(tmp_path, signum, pause_in)
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt", "plan.xlsx"]
    assert (folder / "plan.xlsx").read_bytes() == b"the previous workbook"
    assert code == (-9 if signum == 9 else 128 + signum), err
    assert "Traceback" not in err
    if signum != 9:
        assert "was not written" in err


def test_interval_sheets_say_what_they_cover(tmp_path: Path) -> None:
    """Given intervals, two sheets carry them as given, titled with the coverage statement, and
    every row keeps it in ``interval_covers``; without intervals there are no such sheets."""
    from types import SimpleNamespace

    covers = "90% interval of 500 draws over: δ; population base. Not covered: counting error."
    areas = pd.DataFrame({"scenario": "s", "area": ["London", "Wessex"], "current": [10, 4],
                          "gap": [-3, 3], "gap_p5": [-4.0, 1.0], "gap_p50": [-3.0, 3.0],
                          "gap_p95": [-1.0, 4.0], "draws": 500, "interval_covers": covers})
    cells = areas.assign(specialty="Cardiology", target=[7, 7])
    intervals = SimpleNamespace(areas=areas, cells=cells, coverage=covers)
    wb = openpyxl.load_workbook(write(tmp_path, intervals=intervals))
    assert wb.sheetnames[-2:] == ["Intervals by area", "Intervals"]
    ws = wb["Intervals by area"]
    assert ws["A1"].value == f"Net gap by area with intervals. {covers}"
    rows = table_from(ws, "scenario", 9)
    assert rows[0][1:7] == ["London", 10, -3, -4, -3, -1]
    assert all(r[8] == covers for r in rows)
    assert "Intervals" not in openpyxl.load_workbook(write(tmp_path / "none")).sheetnames


def test_reconstructed_years_and_staff_in_post_are_said(tmp_path: Path) -> None:
    """Issue 18: the workbook says which plan years are a reconstruction and that a public
    baseline is staff in post, not funded posts, on the About sheet and on every year sheet."""
    about = make_about(demo=False) | {
        "as_of": "2025-03-01",  # before August: the 2025 round is still to come
        "establishment": "Public baseline: NHS Digital staff in post, 30 Sept 2017",
        "establishment_date": "2017-09-30"}
    plan = make_plan()
    wb = openpyxl.load_workbook(write(tmp_path, about=about))
    past = sorted(int(y) for y in plan["year"].unique() if y < 2025)
    assert past, "the toy plan starts before 2025"
    span = f"{past[0]}–{past[-1]}" if len(past) > 1 else str(past[0])
    about_text = " ".join(str(c) for row in values(wb["About this run"]) for c in row if c)
    assert "in post on 30 September 2017" in about_text and "not funded" in about_text
    assert f"Plan years {span} are a reconstruction" in about_text
    for name in ("Plan", "North pace"):
        label_rows = " ".join(str(c) for row in values(wb[name])[:TOP - 1] for c in row if c)
        assert f"Plan years {span} are a reconstruction" in label_rows, name
    rows = values(wb["Plan"])[TOP - 1:]
    at, status = rows[0].index("year"), rows[0].index("year_status")
    assert {(r[at] < 2025, r[status]) for r in rows[1:]} <= {(True, "reconstruction"),
                                                             (False, "to come")}
