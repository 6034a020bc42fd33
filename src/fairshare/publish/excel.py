"""The formatted Excel workbook planners open, circulate and paste from (METHOD §5).

The CSVs and ``run.json`` are the record of a run; the workbook is how most of its readers will
meet it, so it carries that record with it: an "About this run" sheet first, with every resolved
scenario parameter, the data vintages, the establishment used and, when the modelled baseline
was used, a warning no one can miss. The planner sheets are the layouts of
``publish.tables`` with totals in bold, signed numbers and gains green / losses red, each with
the demonstration note directly under the table so it travels with a copy-and-paste.

The file appears atomically (``fairshare.io.write_with``): an interrupted write leaves the previous
file, or none, never a half-written workbook that Excel would refuse or, worse, open.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from fairshare import __version__
from fairshare.io import write_with
from fairshare.publish.tables import is_total_label, one_year, pace_of_change

__all__ = ["DEMO_NOTE", "DEMO_WARNING", "default_year", "sheet_name", "write_workbook"]

DEMO_NOTE = "Demonstration baseline — not real establishment data"
DEMO_WARNING = ("DEMONSTRATION baseline: the current posts in this workbook are modelled, not real "
                "establishment data. Do not use these numbers for decisions.")

ABOUT = "About this run"
MAX_SHEET = 31  # Excel's limit on a sheet name
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")

INT = "#,##0"
SIGNED = "+#,##0;-#,##0;0"
ONE_DP = "#,##0.0"
PERCENT = "0.0%"
_GREEN = {"font_color": "#006100", "bg_color": "#C6EFCE"}
_RED = {"font_color": "#9C0006", "bg_color": "#FFC7CE"}

#: Targets columns shown as a percentage; the other numbers are formatted by dtype.
_PERCENT_COLUMNS = {"distance", "specialised_share"}
#: Columns whose sign is the point (+ gains, − losses): shown with a sign and coloured.
_SIGNED_COLUMNS = {"gap", "net", "redistribution", "remaining_gap", "Redistribution",
                   "Time-limited expansion", "Net gain/loss", "Change", "Total moved",
                   "Fair-share gap (guided distribution)"}
_COLOURED_COLUMNS = {"gap", "net", "Net gain/loss", "Change",
                     "Fair-share gap (guided distribution)"}


def write_workbook(path: str | Path, *, targets: pd.DataFrame, plan: pd.DataFrame | None,
                   about: dict[str, Any], areas: list[str] | None = None,
                   year: int | None = None, impact: pd.DataFrame | None = None) -> Path:
    """Write the run's workbook to ``path`` atomically and return the path.

    Sheets, in order: "About this run"; "Targets" (the tidy targets table); "Plan" (the tidy plan,
    if given); for each of ``areas`` (default: every area in the plan) "<area> <year>" with the
    one-year table and "<area> pace" with the pace-of-change table; "Phase impact" (``impact``,
    a ``tables.phase_impact`` layout, if given). ``year`` defaults to the first plan year in which
    anything moves anywhere, so every area sheet shows the same year. ``about`` is the run's
    metadata (``fairshare.publish.outputs.run_metadata``); missing keys are simply left out.
    """
    if plan is None and areas:
        raise ValueError("area sheets need a plan: pass plan= or leave areas empty")
    sheets = _layout(targets, plan, about, areas, year, impact)
    return write_with(path, lambda tmp: _write(tmp, sheets, about))


def default_year(plan: pd.DataFrame) -> int:
    """The first plan year with any move (redistribution or new expansion), else the first year.

    Early plan years are often empty (a specialty moves nothing before its phase starts), and an
    all-zero one-year table is not the one a planner wants to see first.
    """
    if plan.empty:
        raise ValueError("the plan table is empty")
    moved = plan["redistribution"] != 0
    if "expansion" in plan.columns:
        moved |= plan["expansion"] != 0
    years = plan.loc[moved, "year"] if moved.any() else plan["year"]
    return int(years.min())


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
    """One worksheet: an optional title line, a table, and how to present it."""

    name: str
    table: pd.DataFrame
    title: str | None = None
    tidy: bool = False  # a full tidy table: autofilter, no totals, no note
    note: bool = False
    widths_from: list[str] = field(default_factory=list)


def _layout(targets: pd.DataFrame, plan: pd.DataFrame | None, about: dict[str, Any],
            areas: list[str] | None, year: int | None,
            impact: pd.DataFrame | None) -> list[_Sheet]:
    """Every table computed before the file is opened, so a bad area or year fails fast."""
    demo = bool(about.get("demonstration_baseline"))
    scenario = _scenario_name(about)
    taken = {ABOUT, "Targets", "Plan", "Phase impact"}
    sheets = [_Sheet("Targets", targets, tidy=True)]
    if plan is not None:
        sheets.append(_Sheet("Plan", plan, tidy=True))
        chosen = list(pd.unique(plan["area"])) if areas is None else areas
        the_year = default_year(plan) if year is None else year
        codes = _area_codes(targets)
        for area in chosen:
            code = codes.get(area)
            sheets.append(_Sheet(
                sheet_name(area, str(the_year), code=code, taken=taken),
                one_year(plan, area, the_year),
                title=f"{area}: changes to training posts in {the_year} (scenario: {scenario})",
                note=demo))
            sheets.append(_Sheet(
                sheet_name(area, "pace", code=code, taken=taken),
                pace_of_change(plan, targets, area),
                title=f"{area}: pace of change, redistribution by year (scenario: {scenario})",
                note=demo))
    if impact is not None:
        sheets.append(_Sheet("Phase impact", impact,
                             title=f"Previous vs current numbers (scenario: {scenario})",
                             note=demo))
    return sheets


def _area_codes(targets: pd.DataFrame) -> dict[str, str]:
    if not {"area", "area_code"} <= set(targets.columns):
        return {}
    pairs = targets[["area", "area_code"]].drop_duplicates("area")
    return {str(a): str(c) for a, c in zip(pairs["area"], pairs["area_code"], strict=True)}


def _scenario_name(about: dict[str, Any]) -> str:
    scenario = about.get("scenario") or {}
    return str(scenario.get("name", "")) if isinstance(scenario, dict) else str(scenario)


# --- writing -----------------------------------------------------------------------------------

class _Formats:
    """xlsxwriter formats made once per workbook and shared (Excel caps distinct styles)."""

    def __init__(self, wb: Workbook) -> None:
        self._wb = wb
        self._cache: dict[tuple[str | None, bool, bool], Format] = {}
        self.title = wb.add_format({"bold": True, "font_size": 13})
        self.section = wb.add_format({"bold": True, "font_size": 12})
        self.key = wb.add_format({"bold": True, "valign": "top"})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.warning = wb.add_format({"bold": True, "font_color": "#C00000", "text_wrap": True,
                                      "valign": "top"})
        self.note = wb.add_format({"italic": True, "bold": True, "font_color": "#C00000"})
        self.header = wb.add_format({"bold": True, "bottom": 1, "text_wrap": True,
                                     "valign": "bottom", "bg_color": "#F2F2F2"})
        self.green = wb.add_format(_GREEN)
        self.red = wb.add_format(_RED)

    def cell(self, num_format: str | None, *, total: bool = False,
             wrap: bool = False) -> Format:
        key = (num_format, total, wrap)
        if key not in self._cache:
            props: dict[str, Any] = {}
            if num_format:
                props["num_format"] = num_format
            if total:
                props.update(bold=True, top=1)
            if wrap:
                props.update(text_wrap=True, valign="top")
            self._cache[key] = self._wb.add_format(props)
        return self._cache[key]


def _write(tmp: Path, sheets: Sequence[_Sheet], about: dict[str, Any]) -> None:
    """Write the workbook to ``tmp``. The ``with`` closes the file even if a sheet fails; the
    caller's atomic rename then never happens and the partial file is deleted."""
    with xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False,
                                        "strings_to_formulas": False,
                                        "strings_to_urls": False}) as wb:
        fmt = _Formats(wb)
        _write_about(wb.add_worksheet(ABOUT), about, fmt)
        for sheet in sheets:
            _write_sheet(wb.add_worksheet(sheet.name), sheet, fmt)
        wb.set_properties({"title": f"fairshare run: {_scenario_name(about)}",
                           "comments": "Created by fairshare " + str(
                               about.get("fairshare_version", __version__))})


def _write_about(ws: Worksheet, about: dict[str, Any], fmt: _Formats) -> None:
    """Key-value lines: what the run was made from, enough to reproduce or challenge it."""
    scenario = about.get("scenario") or {}
    row = 0
    ws.write(row, 0, "fairshare: fair, needs-based distribution of training posts", fmt.title)
    row += 2
    if about.get("demonstration_baseline"):
        ws.merge_range(row, 0, row, 1, DEMO_WARNING, fmt.warning)
        ws.set_row(row, 45)
        row += 2

    def line(key: str, value: Any, style: Format | None = None) -> None:
        nonlocal row
        ws.write_string(row, 0, key, fmt.key)
        ws.write_string(row, 1, _plain(value), style or fmt.wrap)
        row += 1

    line("Scenario", _scenario_name(about))
    if isinstance(scenario, dict) and scenario.get("description"):
        line("Description", scenario["description"])
    line("Establishment", about.get("establishment", ""),
         fmt.warning if about.get("demonstration_baseline") else None)
    line("fairshare version", about.get("fairshare_version", __version__))
    line("Created", about.get("created") or datetime.now(UTC).isoformat(timespec="seconds"))
    if about.get("scenario_digest"):
        line("Scenario digest", about["scenario_digest"])
    sections: list[tuple[str, Any]] = [
        ("Scenario parameters (resolved, defaults included)", scenario),
        ("Data vintages", about.get("data_vintages") or {}),
        ("Input digests (SHA-256)", about.get("input_digests") or {}),
    ]
    known = {"scenario", "scenario_digest", "establishment", "demonstration_baseline",
             "fairshare_version", "created", "data_vintages", "input_digests", "licence"}
    others = {k: v for k, v in about.items() if k not in known}
    if others:
        sections.append(("Other run details", others))
    for heading, values in sections:
        if not isinstance(values, dict) or not values:
            continue
        row += 1
        ws.write_string(row, 0, heading, fmt.section)
        row += 1
        for key, value in values.items():
            line(str(key), value)
    if about.get("licence"):
        row += 1
        ws.write_string(row, 0, "Licence and attribution", fmt.section)
        row += 1
        ws.merge_range(row, 0, row, 1, str(about["licence"]), fmt.wrap)
        ws.set_row(row, 45)
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 90)


def _write_sheet(ws: Worksheet, sheet: _Sheet, fmt: _Formats) -> None:
    """A table with its header, number formats, bold totals, colours, widths and note."""
    table = sheet.table
    top = 0
    if sheet.title:
        ws.write_string(0, 0, sheet.title, fmt.title)
        top = 2
    columns = [str(c) for c in table.columns]
    formats = [_number_format(table[c], str(c)) for c in table.columns]
    for j, name in enumerate(columns):
        ws.write_string(top, j, name, fmt.header)
    first = top + 1
    labels = table.iloc[:, 0].tolist() if len(columns) else []
    for i, values in enumerate(table.itertuples(index=False, name=None)):
        total = not sheet.tidy and is_total_label(labels[i])
        for j, value in enumerate(values):
            _write_value(ws, first + i, j, value, fmt.cell(formats[j], total=total))
    last = first + len(table) - 1
    ws.freeze_panes(first, 0)
    if sheet.tidy and len(columns):
        ws.autofilter(top, 0, max(last, top), len(columns) - 1)
    blocks = [(first, last)] if sheet.tidy else _body_blocks(labels, first)
    for j, name in enumerate(columns):
        if name not in _COLOURED_COLUMNS:
            continue
        for start, end in blocks:
            if end < start:
                continue
            ws.conditional_format(start, j, end, j, {
                "type": "cell", "criteria": ">", "value": 0, "format": fmt.green})
            ws.conditional_format(start, j, end, j, {
                "type": "cell", "criteria": "<", "value": 0, "format": fmt.red})
    if sheet.note:
        ws.write_string(last + 2, 0, DEMO_NOTE, fmt.note)
    for j, width in enumerate(_widths(table, formats)):
        ws.set_column(j, j, width)


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


def _number_format(column: pd.Series, name: str) -> str | None:
    """Posts are whole numbers, fractional shares 1 dp, distances and shares 0.0%."""
    if name in _PERCENT_COLUMNS:
        return PERCENT
    if pd.api.types.is_bool_dtype(column):
        return None
    if pd.api.types.is_integer_dtype(column):
        return SIGNED if name in _SIGNED_COLUMNS or name.isdigit() else INT
    if pd.api.types.is_float_dtype(column):
        return ONE_DP
    return None


def _write_value(ws: Worksheet, row: int, col: int, value: Any, style: Format) -> None:
    """Numbers as numbers (so totals can be re-summed in Excel), blanks for missing values."""
    if value is None or value is pd.NA or value is pd.NaT:
        ws.write_blank(row, col, None, style)
    elif isinstance(value, bool | np.bool_):
        ws.write_boolean(row, col, bool(value), style)
    elif isinstance(value, int | np.integer):
        ws.write_number(row, col, int(value), style)
    elif isinstance(value, float | np.floating):
        if math.isfinite(float(value)):
            ws.write_number(row, col, float(value), style)
        else:
            ws.write_blank(row, col, None, style)
    else:
        ws.write_string(row, col, _plain(value), style)


def _plain(value: Any) -> str:
    """A parameter value as a reader would type it: JSON for lists and dicts, 'none' for null."""
    if value is None:
        return "none"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _widths(table: pd.DataFrame, formats: Sequence[str | None]) -> list[float]:
    """Column widths that fit the header (wrapped at ~24 characters) and the longest value."""
    out = []
    for j, column in enumerate(table.columns):
        render: Callable[[Any], str] = _renderer(formats[j])
        longest = max((len(render(v)) for v in table[column].tolist()), default=0)
        header = min(len(str(column)), 24)
        out.append(float(min(max(longest, header, 6) + 2, 60)))
    return out


def _renderer(num_format: str | None) -> Callable[[Any], str]:
    def render(value: Any) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return ""
        if num_format == PERCENT:
            return f"{float(value):.1%}"
        if num_format == ONE_DP:
            return f"{float(value):,.1f}"
        if num_format in (INT, SIGNED):
            return f"{int(value):+,}" if num_format == SIGNED else f"{int(value):,}"
        return str(value)
    return render
