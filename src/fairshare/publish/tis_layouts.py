"""The named-post plan written back in the programme's own bulk-upload layouts (issue 15).

A local office loads new posts with the "posts (create)" template and changes a post's funding
with the "post funding (update)" template (column layouts: ../shared/formats/tis/). The
named-post plan (``model.named_posts``) gives, for review before loading:

* **new posts**: one row per new post (a moved post's new home, or a time-limited expansion
  post) with its DRAFT National Post Number, the receiving trust as training and employing
  body, the owner, the funding start (1 August of its round) and, for an expansion post, the
  funding end (31 July of the year its trainee completes); ``Old Post`` names the post it
  replaces. Main site and TIS programme are left for the office to fill.
* **funding changes**: one row per post not re-advertised: its funding ends at the end of
  August of its round, after its last placement (a placement ending by 31 August frees a post
  for that round). ``TIS_Post_ID*`` is the office's own id, which the records do not carry: the
  last column gives the National Post Number to look it up by.

Pure: tables in, tables out; the workbook writer is in ``write_office_workbook``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

from fairshare.io import write_with
from fairshare.model.named_posts import EXPANSION, NEW, RELEASE

POST_CREATE_COLUMNS = [
    "National Post Number*", "Approved grade*", "Other grades", "Specialty*",
    "Other specialties", "Sub specialties", "Training description", "Main site (Known as)*",
    "Other sites (Known as)", "Training body*", "Employing body*", "TIS_Programme_ID*",
    "Owner*", "Funding Type*", "Funding Start Date*", "Funding End Date", "Funding Body",
    "Funding Details", "Funding subtype", "Funding Reason", "Old Post",
]
FUNDING_UPDATE_COLUMNS = [
    "TIS_Post_ID*", "Funding type", "Funding subtype", "Funding Details", "Funding Body",
    "Funding Reason", "Start Date*", "End Date",
]
#: Not a template column: the post a funding change is for, to look its TIS_Post_ID up by.
REFERENCE = "National Post Number (reference: fill TIS_Post_ID* from it, then remove)"
DRAFT_NOTE = ("DRAFT from fairshare posts plan: review before loading; replace the DRAFT "
              "National Post Number with the office's own")


def new_posts_layout(named: pd.DataFrame, owners: Mapping[str, str]) -> pd.DataFrame:
    """The plan's new posts in the posts (create) layout."""
    new = named[named["action"].isin([NEW, EXPANSION])]
    expansion = new["action"] == EXPANSION
    out = pd.DataFrame({c: pd.Series("", index=new.index, dtype=object)
                        for c in POST_CREATE_COLUMNS})
    out["National Post Number*"] = new["national_post_number"].where(
        new["national_post_number"] != "", "(number to choose)")
    out["Approved grade*"] = new["grade"]
    out["Specialty*"] = new["specialty"]
    out["Training description"] = DRAFT_NOTE
    host = new["org_name"].where(new["org_name"] != "", "(trust to choose)")
    out["Training body*"] = host
    out["Employing body*"] = host
    out["Owner*"] = new["area"].map(owners).fillna("")
    out["Funding Type*"] = "Tariff"
    out["Funding Start Date*"] = [f"01/08/{y}" for y in new["year"]]
    out.loc[expansion, "Funding End Date"] = [f"31/07/{y}" for y in
                                              new.loc[expansion, "funding_end_year"]]
    out["Funding Details"] = [f"fairshare posts plan, round {y}" + (
        f": moved from {p} ({a})" if p else "") for y, p, a in zip(
        new["year"], new["from_post"], new["from_area"], strict=True)]
    out["Funding Reason"] = expansion.map({True: "Time-limited expansion",
                                           False: "Redistribution"})
    out["Old Post"] = new["from_post"]
    return out.reset_index(drop=True)


def funding_changes_layout(named: pd.DataFrame, funding_start: Mapping[str, str]
                           ) -> pd.DataFrame:
    """The plan's released posts in the post funding (update) layout.

    funding_start: National Post Number -> the record's Funding Start Date (ISO).
    """
    gone = named[(named["action"] == RELEASE) & (named["national_post_number"] != "")]
    out = pd.DataFrame({c: pd.Series("", index=gone.index, dtype=object)
                        for c in FUNDING_UPDATE_COLUMNS})
    out["Funding type"] = "Tariff"
    out["Funding Details"] = [
        f"fairshare posts plan: not re-advertised from the {y} round; moves to "
        f"{p or '(number to choose)'} at {o or '(trust to choose)'}, {a}" for y, p, o, a in zip(
            gone["year"], gone["to_post"], gone["to_org_name"], gone["to_area"], strict=True)]
    out["Funding Reason"] = "Redistribution"
    out["Start Date*"] = [_dmy(funding_start.get(n, "")) for n in gone["national_post_number"]]
    out["End Date"] = [f"31/08/{y}" for y in gone["year"]]
    out[REFERENCE] = gone["national_post_number"]
    return out.reset_index(drop=True)


def _dmy(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}" if len(iso) >= 10 else ""


def write_office_workbook(path: Path, sheets: Mapping[str, pd.DataFrame],
                          about: list[str]) -> Path:
    """One local office's workbook, atomically: an About sheet (what the file is, its basis),
    then one sheet per table. Text is written as text: a cell beginning '=' is never a formula.
    Rows are streamed (xlsxwriter's constant-memory mode), the fast way to write many cells."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True,
                                              "strings_to_formulas": False,
                                              "strings_to_urls": False,
                                              "strings_to_numbers": False})
        bold = book.add_format({"bold": True})
        sheet = book.add_worksheet("About")
        sheet.set_column(0, 0, 120)
        for i, line in enumerate(about):
            sheet.write_string(i, 0, line, bold if i == 0 else None)
        for name, table in sheets.items():
            sheet = book.add_worksheet(name[:31])
            sheet.write_row(0, 0, [str(c) for c in table.columns], bold)
            _write_cells(sheet, table)
        book.close()
    return write_with(path, write)


def _write_cells(sheet: Any, table: pd.DataFrame) -> None:
    """The table's cells below its header, row by row (constant-memory mode writes a row out
    when the next begins), each with the writer for its column's kind (number, true/false,
    else ``write``); an empty or missing cell is left blank, as ``write_row`` leaves it, without
    asking xlsxwriter what each blank is."""
    writers = []
    for name in table.columns:
        column = table[name]
        writers.append(sheet.write_boolean if pd.api.types.is_bool_dtype(column) else
                       sheet.write_number if pd.api.types.is_numeric_dtype(column) else
                       sheet.write)
    plain = table.astype(object).where(table.notna(), None)
    for i, row in enumerate(plain.itertuples(index=False, name=None), start=1):
        for j, value in enumerate(row):
            if value is not None and value != "":
                writers[j](i, j, value)
