"""How the workbook shows numbers: each column formatted as what it is.

Years as plain integers ("2031", not "2,031" or "2031.000000"), counts of posts as whole numbers
with thousands separators, gains and losses signed ("+3", "−2", "0"), fractional posts at one
decimal place, shares as percentages at one decimal place. The number is always stored exactly:
only its display is formatted, so a total can be re-summed in Excel. A value that rounds to zero
at the shown precision is displayed "0.0" (or "0.0%") through a conditional format, never "−0.0".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

from fairshare.publish.tables import MODEL_GAP

MINUS = "\u2212"
YEAR = "0"
INT = "#,##0"
SIGNED = f"+#,##0;{MINUS}#,##0;0"
ONE_DP = "#,##0.0"
SIGNED_ONE_DP = f"+#,##0.0;{MINUS}#,##0.0;0.0"
PERCENT = "0.0%"
SIGNED_PERCENT = f"+0.0%;{MINUS}0.0%;0.0%"
#: What a value too small to show is displayed as, per format (a literal: no sign).
ZERO_TEXT = {ONE_DP: '"0.0"', SIGNED_ONE_DP: '"0.0"', PERCENT: '"0.0%"',
             SIGNED_PERCENT: '"0.0%"'}
#: Half the smallest step each of those formats shows.
ZERO_BELOW = {ONE_DP: 0.05, SIGNED_ONE_DP: 0.05, PERCENT: 0.0005, SIGNED_PERCENT: 0.0005}

GREEN = {"font_color": "#006100", "bg_color": "#C6EFCE"}
RED = {"font_color": "#9C0006", "bg_color": "#FFC7CE"}

#: Shares shown as percentages, signed when the sign is the gap's (+ receives, − gives).
PERCENT_COLUMNS = {"specialised_share", "share_within_5pct"}
SIGNED_PERCENT_COLUMNS = {"gap_share_of_target"}
#: Whole-number columns whose sign is the point (+ gains, − losses).
SIGNED_COLUMNS = {"gap", "net", "redistribution", "remaining_gap", "Redistribution",
                  "Time-limited expansion", "Net gain/loss", "Change", "Total moved",
                  MODEL_GAP}
#: Coloured green (+) / red (−) on the body rows.
COLOURED_COLUMNS = {"gap", "net", "Net gain/loss", "Change", MODEL_GAP}


def number_format(column: pd.Series, name: str) -> str | None:
    """The display format of one column, from its name and type."""
    if pd.api.types.is_bool_dtype(column):
        return None
    numeric = pd.api.types.is_numeric_dtype(column)
    if numeric and "year" in name.lower():
        return YEAR
    if name in SIGNED_PERCENT_COLUMNS:
        return SIGNED_PERCENT
    if name in PERCENT_COLUMNS:
        return PERCENT
    if pd.api.types.is_integer_dtype(column):
        return SIGNED if name in SIGNED_COLUMNS or name.isdigit() else INT
    if pd.api.types.is_float_dtype(column):
        return SIGNED_ONE_DP if name.startswith("effect_") else ONE_DP
    return None


class Formats:
    """xlsxwriter formats made once per workbook and shared (Excel caps distinct styles)."""

    def __init__(self, wb: Workbook) -> None:
        self._wb = wb
        self._cache: dict[tuple[str | None, bool], Format] = {}
        self.title = wb.add_format({"bold": True, "font_size": 13})
        self.label = wb.add_format({"italic": True, "font_color": "#425563"})
        self.label_warning = wb.add_format({"italic": True, "bold": True,
                                            "font_color": "#C00000"})
        self.section = wb.add_format({"bold": True, "font_size": 12})
        self.key = wb.add_format({"bold": True, "valign": "top"})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.warning = wb.add_format({"bold": True, "font_color": "#C00000", "text_wrap": True,
                                      "valign": "top"})
        self.note = wb.add_format({"italic": True, "bold": True, "font_color": "#C00000"})
        self.header = wb.add_format({"bold": True, "bottom": 1, "text_wrap": True,
                                     "valign": "bottom", "bg_color": "#F2F2F2"})
        self.green = wb.add_format(GREEN)
        self.red = wb.add_format(RED)
        self.zero = {fmt: wb.add_format({"num_format": text}) for fmt, text in ZERO_TEXT.items()}

    def cell(self, num_format: str | None, *, total: bool = False) -> Format:
        key = (num_format, total)
        if key not in self._cache:
            props: dict[str, Any] = {"num_format": num_format} if num_format else {}
            if total:
                props.update(bold=True, top=1)
            self._cache[key] = self._wb.add_format(props)
        return self._cache[key]


def widths(table: pd.DataFrame, formats: Sequence[str | None]) -> list[float]:
    """Column widths that fit the header (wrapped at ~24 characters) and the longest value."""
    out = []
    for j, column in enumerate(table.columns):
        values = table[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            render = _renderer(formats[j])  # the widest number is at one of the extremes
            extremes = [v for v in (values.min(), values.max()) if pd.notna(v)]
            longest = max((len(render(v)) for v in extremes), default=0)
        else:
            longest = int(values.astype(str).str.len().max()) if len(values) else 0
        out.append(float(min(max(longest, min(len(str(column)), 24), 6) + 2, 60)))
    return out


def _renderer(num_format: str | None) -> Callable[[Any], str]:
    def render(value: Any) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return ""
        if num_format in (PERCENT, SIGNED_PERCENT):
            return f"{float(value):+.1%}"
        if num_format in (ONE_DP, SIGNED_ONE_DP):
            return f"{float(value):+,.1f}"
        if num_format in (INT, SIGNED):
            return f"{int(value):+,}"
        return str(value)
    return render
