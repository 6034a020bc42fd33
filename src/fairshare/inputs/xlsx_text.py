"""A workbook's sheets as rows of text, read with python-calamine (large TIS record files).

``pandas.read_excel`` (openpyxl) builds a Python object per cell with its style: for an
England-sized set of post records (1.6 million cells) that took about 20 s, and a reader
streaming the sheet XML with the standard library still 5–6 s. calamine parses the workbook in
compiled code (about 1 s for the same set). The records need only each cell's text, as the
templates' own text cells hold it, so each value calamine returns becomes text:

* text as written; an empty cell ``None`` (calamine also gives an Excel error such as #N/A
  as empty, so it is reported as an empty cell);
* a number as Excel's General format shows it: ``45000`` (a day number without a date
  format, which ``inputs.tis.parse_day`` reads as an Excel date), ``0.8``;
* a date cell (a number with a date format, a ``date`` or ``datetime`` from calamine) as
  ``dd/mm/yyyy``, the templates' text layout; a time of day is dropped, as the rounds are
  counted in days;
* a boolean as Excel shows it (``TRUE``/``FALSE``).

It is used only after ``inputs.posts.check_workbook`` has checked the zip (size, XML entities).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, time, timedelta

import pandas as pd
from python_calamine import CalamineWorkbook, SheetTypeEnum


def sheets_as_text(data: bytes, max_rows: int) -> dict[str, pd.DataFrame]:
    """Every worksheet of the workbook, in order, as rows of text or None (header=None, at
    most ``max_rows`` rows each; rows and columns numbered from A1 as Excel shows them)."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        return {meta.name: _as_text(book.get_sheet_by_name(meta.name).to_python(
                    skip_empty_area=False, nrows=max_rows))
                for meta in book.sheets_metadata if meta.typ == SheetTypeEnum.WorkSheet}
    finally:
        book.close()


def _as_text(rows: Sequence[Sequence[object]]) -> pd.DataFrame:
    """The rows as a frame of text, built column by column (a column's few distinct dates or
    numbers are each turned into text once)."""
    columns = list(zip(*rows, strict=True))
    return pd.DataFrame({i: _column_text(col) for i, col in enumerate(columns)},
                        index=range(len(rows)), dtype=object)


def _column_text(column: tuple[object, ...]) -> list[str | None]:
    kinds = set(map(type, column))
    if kinds == {str}:
        return [c or None for c in column]  # type: ignore[misc]
    if bool in kinds:  # True == 1.0 as a dict key: each cell on its own
        return [cell_text(c) for c in column]
    text = {v: cell_text(v) for v in set(column)}
    return [text[c] for c in column]


def cell_text(cell: object) -> str | None:
    """One calamine value as the text a TIS template would hold (module docstring)."""
    if isinstance(cell, str):
        return cell or None
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, date):  # a datetime is a date too: its time of day is dropped
        return f"{cell:%d/%m/%Y}"
    if isinstance(cell, time | timedelta):  # a time or duration alone: shown, not a date
        return str(cell)
    return None if cell is None else str(cell)

