"""The first sheet of an .xlsx as rows of text, streamed with the standard library.

``pandas.read_excel`` (openpyxl) builds a Python object per cell with its style; for an
England-sized set of post records (1.6 million cells) that takes about 20 s. The programme's
records need only each cell's text, so this reader streams the sheet's XML (``iterparse``),
resolves shared strings and keeps each cell's value as text: a number as written (an Excel date
is its day number, which ``inputs.tis.parse_day`` reads), a formula's cached value, an inline
string. It is used only after ``inputs.posts.check_workbook`` has checked the zip.
"""

from __future__ import annotations

import io
import posixpath
import xml.etree.ElementTree as ET
import zipfile

import pandas as pd

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def first_sheet(data: bytes, max_rows: int) -> pd.DataFrame:
    """Rows of the workbook's first sheet (header=None, text or None), at most ``max_rows``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        shared = _shared_strings(zf)
        rows: list[list[str | None]] = []
        with zf.open(_first_sheet_part(zf)) as part:
            for _, el in ET.iterparse(part):
                if el.tag == _MAIN + "row":
                    rows.append(_row(el, shared))
                    el.clear()
                    if len(rows) > max_rows:
                        break
    width = max((len(r) for r in rows), default=0)
    return pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)


def _first_sheet_part(zf: zipfile.ZipFile) -> str:
    """The zip member of the workbook's first sheet (its relationship, else sheet1.xml)."""
    try:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
        first = next(book.iter(_MAIN + "sheet"))
        rid = first.get(_REL + "id")
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        target = next(r.get("Target", "") for r in rels.iter(_PKG + "Relationship")
                      if r.get("Id") == rid)
        return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join("xl", target))
    except (KeyError, StopIteration):
        return "xl/worksheets/sheet1.xml"


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    out = []
    with zf.open("xl/sharedStrings.xml") as part:
        for _, el in ET.iterparse(part):
            if el.tag == _MAIN + "si":
                out.append("".join(t.text or "" for t in el.iter(_MAIN + "t")))
                el.clear()
    return out


_COLUMNS: dict[str, int] = {}


def _row(el: ET.Element, shared: list[str]) -> list[str | None]:
    row: list[str | None] = []
    for cell in el:
        letters = cell.get("r", "").rstrip("0123456789")
        at = _COLUMNS.get(letters)
        if at is None:
            at = _column(letters, len(row))
            if letters:
                _COLUMNS[letters] = at
        kind = cell.get("t")
        value = cell.find(_MAIN + "v")
        if kind == "inlineStr":
            text: str | None = "".join(t.text or "" for t in cell.iter(_MAIN + "t"))
        elif value is None or value.text is None:
            text = None
        elif kind == "s":
            text = shared[int(value.text)]
        else:
            text = value.text
        row.extend([None] * (at - len(row)))
        row.append(text)
    return row


def _column(ref: str, default: int) -> int:
    """0-based column of a cell reference (``AB12`` -> 27); the next column when absent."""
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + ord(ch.upper()) - 64
    return n - 1 if n else default
