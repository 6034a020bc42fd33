"""The formatted Excel workbook planners open, circulate and paste from (METHOD §5).

The CSVs and ``run.json`` are the record of a run; the workbook is how most of its readers will
meet it, so it carries that record with it: an "About this run" sheet first, with every resolved
scenario parameter and what it is (judgement, public data, modelled or run option:
``fairshare.provenance``), every judgement of the run with its basis, the data vintages, the
basis of the numbers and, when the modelled baseline was used, a warning no one can miss. Every
sheet then opens with the same label (the basis of its numbers, from the data, and the
scenario's name and digest) and prints it in its page header and footer, so a sheet copied into
another workbook or printed still says what it is. The planner sheets are the layouts of
``publish.tables`` with totals in bold, signed numbers and gains green / losses red, each with
the demonstration note directly under the table.

One sign convention, as in the report: gap = target − current, + receives, − gives. The Targets
sheet therefore shows ``gap_share_of_target`` (gap / target) in place of the model's
``distance`` (its opposite). Number formats: ``publish.excel_style``.

The workbook is built in memory and only then written, atomically (``fairshare.io.write_with``):
an interrupted run leaves the previous file, or none, never a half-written workbook, and the
temporary file exists only for the moment its bytes are written.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from fairshare import __version__
from fairshare.io import write_with
from fairshare.provenance import judgements, kinds_of, run_provenance
from fairshare.publish import excel_style as style
from fairshare.publish.labels import (
    RunLabel,
    establishment_caveat,
    run_label,
    years_caveat,
    years_status,
)
from fairshare.publish.tables import is_total_label, one_year, pace_of_change, year_to_show
from fairshare.training_year import first_year_to_come

__all__ = ["DEMO_NOTE", "DEMO_WARNING", "SIGN_NOTE", "default_year", "sheet_name",
           "workbook_bytes", "write_workbook"]

DEMO_NOTE = "Demonstration baseline — not real establishment data"
DEMO_WARNING = ("DEMONSTRATION baseline: the current posts in this workbook are modelled, not real "
                "establishment data. Do not use these numbers for decisions.")
SIGN_NOTE = "Gap = target − current posts: + receives, − gives."

ABOUT = "About this run"
SCENARIO_HEADING = "Scenario parameters (resolved, defaults included)"
JUDGEMENT_HEADING = "Judgements in this run (inputs chosen by a person, not a public source)"
JUDGEMENT_NOTE = ("Each line is an input whose value is a judgement, with what it rests on. "
                  "Change one and the numbers change. Labels come from fairshare's input "
                  "registry (fairshare.provenance), the same as run.json and the report.")
MAX_SHEET = 31  # Excel's limit on a sheet name
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_LABEL_ROWS = 4  # title, basis and scenario, sign convention, blank: the table starts below


def write_workbook(path: str | Path, *, targets: pd.DataFrame, plan: pd.DataFrame | None,
                   about: dict[str, Any], areas: list[str] | None = None,
                   year: int | None = None, impact: pd.DataFrame | None = None,
                   fill: pd.DataFrame | None = None, intervals: Any = None) -> Path:
    """Write the run's workbook to ``path`` atomically and return the path.

    Sheets, in order: "About this run"; "Targets" (the tidy targets table); "Plan" (the tidy plan,
    if given); for each of ``areas`` (default: every area in the plan) "<area> <year>" with the
    one-year table and "<area> pace" with the pace-of-change table; "Phase impact" (``impact``,
    a ``tables.phase_impact`` layout, if given); "Expected fill" (``fill``, the plan's expected
    fill per receiving area and year, docs/fill.md, if given); "Intervals by area" and
    "Intervals" (``intervals``, an ``analysis.uncertainty.Intervals``, if given), titled with
    what they cover. ``year`` defaults to the first plan year in which anything moves anywhere,
    so every area sheet shows the same year. ``about`` is the run's metadata
    (``fairshare.publish.outputs.run_metadata``); missing keys are simply left out.
    """
    data = workbook_bytes(targets=targets, plan=plan, about=about, areas=areas, year=year,
                          impact=impact, fill=fill, intervals=intervals)
    return write_with(path, lambda tmp: _save(tmp, data))


def workbook_bytes(*, targets: pd.DataFrame, plan: pd.DataFrame | None, about: dict[str, Any],
                   areas: list[str] | None = None, year: int | None = None,
                   impact: pd.DataFrame | None = None,
                   fill: pd.DataFrame | None = None, intervals: Any = None) -> bytes:
    """The workbook of ``write_workbook`` as bytes (for a download, or to write elsewhere)."""
    if plan is None and areas:
        raise ValueError("area sheets need a plan: pass plan= or leave areas empty")
    sheets = _layout(targets, plan, about, areas, year, impact, fill)
    if intervals is not None:
        sheets += _interval_sheets(intervals, run_label(about, targets))
    buffer = io.BytesIO()
    _write(buffer, sheets, about, run_label(about, targets))
    return buffer.getvalue()


def _save(tmp: Path, data: bytes) -> None:
    """Write the finished workbook's bytes to the temporary file beside the target."""
    tmp.write_bytes(data)


def default_year(plan: pd.DataFrame) -> int:
    """The one-year sheets' year: the first year still to come with a move (years whose
    recruitment is past are a reconstruction), else the first year with any move.

    Early plan years are often empty (a specialty moves nothing before its phase starts), and an
    all-zero one-year table is not the one a planner wants to see first.
    """
    return year_to_show(plan, first_year_to_come(date.today()))


def sheet_name(label: str, suffix: str, *, code: str | None = None,
               taken: set[str] | None = None) -> str:
    """A valid, unique Excel sheet name "<label> <suffix>" of at most 31 characters.

    Long names (ICB names run to 80 characters) use ``code`` instead of the label when given,
    otherwise the label is truncated; characters Excel forbids are replaced; a clash with a name
    in ``taken`` (compared case-insensitively, as Excel does) gets a "~2", "~3", ... suffix.
    """
    label = _BAD_SHEET_CHARS.sub("-", label).strip("' ")
    tail = f" {suffix}" if suffix else ""
    name = f"{label}{tail}"
    if len(name) > MAX_SHEET:
        base = _BAD_SHEET_CHARS.sub("-", code).strip("' ") if code else label
        name = f"{base[:MAX_SHEET - len(tail)].rstrip()}{tail}"
    taken = taken if taken is not None else set()
    unique, n = name, 1
    while unique.lower() in {t.lower() for t in taken}:
        n += 1
        mark = f"~{n}"
        unique = f"{name[:MAX_SHEET - len(mark)]}{mark}"
    taken.add(unique)
    return unique


# --- what goes where ---------------------------------------------------------------------------

@dataclass
class _Sheet:
    """One worksheet: a title, the label of its numbers, a table, and how to present it."""

    name: str
    table: pd.DataFrame
    title: str
    label: RunLabel
    tidy: bool = False  # a full tidy table: autofilter, no totals, no note
    note: bool = False
    years: str | None = None  # what the sheet's plan years are (reconstruction / to come)


FILL_SHEET = "Expected fill"


def _layout(targets: pd.DataFrame, plan: pd.DataFrame | None, about: dict[str, Any],
            areas: list[str] | None, year: int | None,
            impact: pd.DataFrame | None, fill: pd.DataFrame | None = None) -> list[_Sheet]:
    """Every table computed before the workbook is built, so a bad area or year fails fast."""
    demo = bool(about.get("demonstration_baseline"))
    label = run_label(about, targets)
    taken = {ABOUT, "Targets", "Plan", "Phase impact", FILL_SHEET, "Intervals",
             "Intervals by area"}
    sheets = [_Sheet("Targets", _targets_for_workbook(targets),
                     "Targets: every area and specialty (tidy table)", label, tidy=True)]
    if plan is not None:
        tidy_plan = _plan_for_workbook(plan, targets, about)
        caveat = years_caveat(plan["year"].unique(), about)
        sheets.append(_Sheet("Plan", tidy_plan,
                             "Plan: every area, specialty and year (tidy table)",
                             run_label(about, tidy_plan), tidy=True, years=caveat))
        chosen = list(pd.unique(plan["area"])) if areas is None else areas
        the_year = default_year(plan) if year is None else year
        one = years_caveat([the_year], about)
        codes = _area_codes(targets)
        for area in chosen:
            code = codes.get(area)
            area_label = run_label(about, targets[targets["area"] == area])
            sheets.append(_Sheet(
                sheet_name(area, str(the_year), code=code, taken=taken),
                one_year(plan, area, the_year),
                f"{area}: changes to training posts in {the_year}", area_label, note=demo,
                years=one))
            sheets.append(_Sheet(
                sheet_name(area, "pace", code=code, taken=taken),
                pace_of_change(plan, targets, area),
                f"{area}: pace of change, redistribution by year", area_label, note=demo,
                years=caveat))
    if fill is not None and not fill.empty:
        sheets.append(_Sheet(FILL_SHEET, fill, "Expected fill of the posts each area receives "
                             "(modelled fill rates, docs/fill.md)", label, tidy=True))
    if impact is not None:
        sheets.append(_Sheet("Phase impact", impact, "Previous vs current numbers", label,
                             note=demo))
    return sheets


def _interval_sheets(intervals: Any, label: RunLabel) -> list[_Sheet]:
    """Each area's net gap and every area x specialty with their intervals; the title of each
    sheet says what the intervals cover (and every row carries it in ``interval_covers``)."""
    return [_Sheet("Intervals by area", intervals.areas,
                   f"Net gap by area with intervals. {intervals.coverage}", label, tidy=True),
            _Sheet("Intervals", intervals.cells,
                   f"Targets and gaps with intervals. {intervals.coverage}", label, tidy=True)]


def _targets_for_workbook(targets: pd.DataFrame) -> pd.DataFrame:
    """The targets table with the gap as a share of target (+ receives) for ``distance``."""
    if "gap_share_of_target" in targets.columns:  # the core's own: the distance is its opposite
        return targets.drop(columns=["distance"], errors="ignore")
    if not {"gap", "target", "distance"} <= set(targets.columns):
        return targets
    share = targets["gap"] / targets["target"].where(targets["target"] != 0)
    out = targets.copy()
    at = list(out.columns).index("distance")
    out = out.drop(columns=["distance"])
    out.insert(at, "gap_share_of_target", share.astype(float))
    return out


def _plan_for_workbook(plan: pd.DataFrame, targets: pd.DataFrame,
                       about: dict[str, Any]) -> pd.DataFrame:
    """The plan with each row's ``year_status`` (a reconstruction when the year's recruitment
    was past on the run's date, else to come) and ``basis`` (from the targets of its area and
    specialty), so a row copied out of the sheet still says what it is."""
    if "year_status" not in plan.columns:
        plan = plan.copy()
        plan.insert(list(plan.columns).index("year") + 1, "year_status",
                    years_status(plan["year"], about))
    if "basis" in plan.columns or not {"area", "specialty", "basis"} <= set(targets.columns):
        return plan
    basis = targets.drop_duplicates(["area", "specialty"]).set_index(
        ["area", "specialty"])["basis"]
    keys = pd.MultiIndex.from_frame(plan[["area", "specialty"]])
    return plan.assign(basis=basis.reindex(keys).to_numpy())


def _area_codes(targets: pd.DataFrame) -> dict[str, str]:
    if not {"area", "area_code"} <= set(targets.columns):
        return {}
    pairs = targets[["area", "area_code"]].drop_duplicates("area")
    return {str(a): str(c) for a, c in zip(pairs["area"], pairs["area_code"], strict=True)}


# --- writing -----------------------------------------------------------------------------------

def _write(target: io.BytesIO, sheets: Sequence[_Sheet], about: dict[str, Any],
           label: RunLabel) -> None:
    """Build the workbook into ``target``; nothing touches the disk until it is complete."""
    with xlsxwriter.Workbook(target, {"in_memory": True, "strings_to_numbers": False,
                                      "strings_to_formulas": False,
                                      "strings_to_urls": False}) as wb:
        fmt = style.Formats(wb)
        plan = next((sh.table for sh in sheets if sh.name == "Plan"), None)
        years = sorted(int(y) for y in plan["year"].unique()) if plan is not None else []
        _write_about(wb.add_worksheet(ABOUT), about, label, fmt, years)
        for sheet in sheets:
            _write_sheet(wb.add_worksheet(sheet.name), sheet, fmt)
        wb.set_properties({"title": f"fairshare run: {label.scenario}",
                           "subject": label.line,
                           "comments": "Created by fairshare " + str(
                               about.get("fairshare_version", __version__))})


def _print_label(ws: Worksheet, label: RunLabel, title: str) -> None:
    """The label in the printed page header and footer (``&`` is Excel's escape character)."""
    def esc(text: str, limit: int) -> str:
        return text.replace("&", "&&")[:limit]

    ws.set_header(f"&L{esc(title, 100)}&R{esc(label.scenario_text, 120)}")
    ws.set_footer(f"&L{esc('Basis: ' + label.basis, 200)}&RPage &P of &N")
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)


def _write_about(ws: Worksheet, about: dict[str, Any], label: RunLabel,
                 fmt: style.Formats, years: Sequence[int] = ()) -> None:
    """Key-value lines: what the run was made from, enough to reproduce or challenge it."""
    scenario = about.get("scenario") or {}
    row = 0
    ws.write(row, 0, "fairshare: fair, needs-based distribution of training posts", fmt.title)
    row += 2
    if about.get("demonstration_baseline"):
        ws.merge_range(row, 0, row, 1, DEMO_WARNING, fmt.warning)
        ws.set_row(row, 45)
        row += 2

    def line(key: str, value: Any, style_: Format | None = None) -> None:
        nonlocal row
        ws.write_string(row, 0, key, fmt.key)
        ws.write_string(row, 1, _plain(value), style_ or fmt.wrap)
        row += 1

    line("Scenario", label.scenario)
    if isinstance(scenario, dict) and scenario.get("description"):
        line("Description", scenario["description"])
    line("Scenario digest", label.digest or "not recorded")
    line("Basis of the numbers", label.basis, fmt.warning if label.demonstration else None)
    line("Establishment", about.get("establishment", ""),
         fmt.warning if about.get("demonstration_baseline") else None)
    for key, text in (("What the current posts are", establishment_caveat(about)),
                      ("Plan years", years_caveat(years, about))):
        if text:
            line(key, text, fmt.warning)
    line("Sign convention", SIGN_NOTE)
    line("fairshare version", about.get("fairshare_version", __version__))
    line("Created", about.get("created") or datetime.now(UTC).isoformat(timespec="seconds"))
    prov = _provenance(about, scenario)
    judged = {k: v for k, v, _ in judgements(prov)}
    sections: list[tuple[str, Any]] = [
        ("Modelled specialties (current posts not from the establishment's source)",
         about.get("establishment_modelled") or {}),
        (JUDGEMENT_HEADING, {k: b for k, _, b in judgements(prov)}),  # input: basis
        (SCENARIO_HEADING, scenario),
        ("Data vintages", about.get("data_vintages") or {}),
        ("Input digests (SHA-256)", about.get("input_digests") or {}),
    ]
    known = {"scenario", "scenario_digest", "establishment", "demonstration_baseline",
             "establishment_modelled", "provenance",
             "fairshare_version", "created", "data_vintages", "input_digests", "licence"}
    others = {k: v for k, v in about.items() if k not in known}
    if others:
        sections.append(("Other run details", others))
    for heading, values in sections:
        if not isinstance(values, dict) or not values:
            continue
        row += 1
        ws.write_string(row, 0, heading, fmt.section)
        if heading in (SCENARIO_HEADING, JUDGEMENT_HEADING):  # the third column's title
            ws.write_string(row, 2, "What it is" if heading == SCENARIO_HEADING else "Value",
                            fmt.section)
        row += 1
        if heading == JUDGEMENT_HEADING:
            ws.merge_range(row, 0, row, 2, JUDGEMENT_NOTE, fmt.wrap)
            ws.set_row(row, 30)
            row += 1
        for key, value in values.items():
            extra = _third_column(heading, str(key), prov, judged)
            if extra:
                ws.write_string(row, 2, extra, fmt.warning if extra == "judgement" else fmt.wrap)
            line(str(key), value)
    if about.get("licence"):
        row += 1
        ws.write_string(row, 0, "Licence and attribution", fmt.section)
        row += 1
        ws.merge_range(row, 0, row, 1, str(about["licence"]), fmt.wrap)
        ws.set_row(row, 45)
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 90)
    ws.set_column(2, 2, 24)
    _print_label(ws, label, ABOUT)
    ws.set_portrait()


def _third_column(heading: str, key: str, prov: dict[str, Any],
                  judged: dict[str, Any]) -> str:
    """The About sheet's third column: what a scenario parameter is (judgement, public data,
    ...), or the value of a judgement listed in the judgements section."""
    if heading == SCENARIO_HEADING:
        return kinds_of(key, prov)
    if heading == JUDGEMENT_HEADING and not key.startswith("data/"):
        return _plain(judged.get(key))
    return ""


def _provenance(about: dict[str, Any], scenario: Any) -> dict[str, Any]:
    """The run's provenance (``run.json``), or, for a run recorded before it was kept, the
    registry's labels of its scenario."""
    prov = about.get("provenance")
    if isinstance(prov, dict) and prov:
        return prov
    return run_provenance(scenario if isinstance(scenario, dict) else {})


def _write_sheet(ws: Worksheet, sheet: _Sheet, fmt: style.Formats) -> None:
    """The label lines, then a table with its header, number formats, bold totals and colours."""
    table = sheet.table
    ws.write_string(0, 0, sheet.title, fmt.title)
    ws.write_string(1, 0, sheet.label.line,
                    fmt.label_warning if sheet.label.demonstration else fmt.label)
    ws.write_string(2, 0, SIGN_NOTE, fmt.label)
    if sheet.years:
        ws.write_string(3, 0, sheet.years, fmt.label_warning)
    top = _LABEL_ROWS
    columns = [str(c) for c in table.columns]
    formats = [style.number_format(table[c], str(c)) for c in table.columns]
    for j, name in enumerate(columns):
        ws.write_string(top, j, name, fmt.header)
    first = top + 1
    labels = table.iloc[:, 0].tolist() if len(columns) else []
    totals = [not sheet.tidy and is_total_label(v) for v in labels]
    for j, column in enumerate(table.columns):
        plain, bold = fmt.cell(formats[j]), fmt.cell(formats[j], total=True)
        write = _column_writer(ws, table[column])
        for i, value in enumerate(table[column].tolist()):
            write(first + i, j, value, bold if totals[i] else plain)
    last = first + len(table) - 1
    ws.freeze_panes(first, 0)
    ws.repeat_rows(top)
    if sheet.tidy and len(columns):
        ws.autofilter(top, 0, max(last, top), len(columns) - 1)
    _conditional(ws, sheet, columns, formats, (first, last), fmt)
    if sheet.note:
        ws.write_string(last + 2, 0, DEMO_NOTE, fmt.note)
    for j, width in enumerate(style.widths(table, formats)):
        ws.set_column(j, j, width)
    _print_label(ws, sheet.label, sheet.title)


def _conditional(ws: Worksheet, sheet: _Sheet, columns: list[str], formats: list[str | None],
                 span: tuple[int, int], fmt: style.Formats) -> None:
    """Gains green and losses red on body rows; a value too small to show reads "0.0"."""
    first, last = span
    if last < first:
        return
    labels = sheet.table.iloc[:, 0].tolist()
    blocks = [(first, last)] if sheet.tidy else _body_blocks(labels, first)
    for j, name in enumerate(columns):
        if formats[j] in style.ZERO_BELOW:
            small = style.ZERO_BELOW[str(formats[j])]
            ws.conditional_format(first, j, last, j, {
                "type": "cell", "criteria": "between", "minimum": -small,
                "maximum": small, "format": fmt.zero[str(formats[j])]})
        if name not in style.COLOURED_COLUMNS:
            continue
        for start, end in blocks:
            if end < start:
                continue
            ws.conditional_format(start, j, end, j, {
                "type": "cell", "criteria": ">", "value": 0, "format": fmt.green})
            ws.conditional_format(start, j, end, j, {
                "type": "cell", "criteria": "<", "value": 0, "format": fmt.red})


def _body_blocks(labels: list[Any], first: int) -> list[tuple[int, int]]:
    """Runs of specialty rows (first, last sheet row): only they are coloured, because a green
    or red total would read as one more specialty."""
    blocks: list[tuple[int, int]] = []
    start: int | None = None
    for i, label in enumerate([*labels, "Total"]):
        if is_total_label(label):
            if start is not None:
                blocks.append((first + start, first + i - 1))
            start = None
        elif start is None:
            start = i
    return blocks


def _column_writer(ws: Worksheet, column: pd.Series) -> Callable[[int, int, Any, Format], Any]:
    """The cell writer for a column: straight to ``write_number`` for whole numbers (most cells
    of a workbook), else the general one."""
    if pd.api.types.is_integer_dtype(column) and isinstance(column.dtype, np.dtype):
        return ws.write_number
    return lambda row, col, value, fmt: _write_value(ws, row, col, value, fmt)


def _write_value(ws: Worksheet, row: int, col: int, value: Any, fmt: Format) -> None:
    """Numbers as numbers (so totals can be re-summed in Excel), blanks for missing values."""
    if value is None or value is pd.NA or value is pd.NaT:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool | np.bool_):
        ws.write_boolean(row, col, bool(value), fmt)
    elif isinstance(value, int | np.integer):
        ws.write_number(row, col, int(value), fmt)
    elif isinstance(value, float | np.floating):
        if math.isfinite(float(value)):
            ws.write_number(row, col, float(value), fmt)
        else:
            ws.write_blank(row, col, None, fmt)
    else:
        ws.write_string(row, col, _plain(value), fmt)


def _plain(value: Any) -> str:
    """A parameter value as a reader would type it: JSON for lists and dicts, 'none' for null."""
    if value is None:
        return "none"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
