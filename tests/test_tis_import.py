"""`fairshare posts import`: TIS-layout post and placement records (../shared/formats/tis/).

The records here are hand-made and SYNTHETIC (no real post or trainee): five posts in two local
offices, with placements written as dd/mm/yyyy text and as Excel dates, so the expected
establishment, cohorts and time-limited posts can be counted by hand.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from fairshare.errors import InputError
from fairshare.inputs.tis import parse_day, read_post_records, vacant_round

SPECS = ["Cardiology", "Urology", "Paediatrics"]
POST_HEADER = ["National Post Number*", "Approved grade*", "Other grades", "Specialty*",
               "Main site (Known as)*", "Training body*", "Employing body*",
               "TIS_Programme_ID*", "Owner*", "Funding Type*", "Funding Start Date*",
               "Funding End Date"]
PLACEMENT_HEADER = ["Surname*", "National Post Number*", "Date From*", "Date To*",
                    "Placement Type*", "Placement Status*", "Site*", "WTE*", "Grade*",
                    "Specialty1*"]
LDN = "Health Education England North Central and East London"
WMD = "Health Education England West Midlands"


def post(npn: str, spec: str, owner: str, funding: str = "Tariff",
         end: str | datetime = "") -> list[object]:
    return [npn, "ST3", "", spec, "SYNTHETIC site", "SYNTHETIC", "SYNTHETIC", "SYN-1", owner,
            funding, "01/08/2015", end]


def placement(npn: str, start: object, end: object, wte: object = 1) -> list[object]:
    return ["SYNTHETIC", npn, start, end, "In Post", "Current", "SYNTHETIC site", wte, "ST3",
            "Cardiology"]


POSTS = [
    post("SYN/LDN/CAR/ST3/001", "Cardiology", LDN),
    post("SYN/LDN/CAR/ST3/002", "cardiology", "South London"),
    post("SYN/WMD/CAR/ST3/001", "Cardiology", WMD),
    post("SYN/WMD/CAR/ST3/002", "Cardiology", WMD, end=datetime(2029, 7, 31)),
    post("SYN/WMD/URO/ST3/001", "Urology", WMD, funding="Trust funded"),
    post("SYN/TSD/URO/ST3/001", "Urology", "Defence Postgraduate Medical Deanery",
         funding="Military"),
    post("SYN/WES/URO/ST3/001", "Urology", "Wessex"),
]
PLACEMENTS = [
    placement("SYN/LDN/CAR/ST3/001", "06/08/2025", "04/08/2027"),
    placement("SYN/LDN/CAR/ST3/002", "06/08/2025", "04/08/2026", 0.6),
    placement("SYN/LDN/CAR/ST3/002", "06/08/2025", "05/08/2028", 0.4),
    placement("SYN/WMD/CAR/ST3/001", datetime(2024, 8, 6), datetime(2026, 9, 30)),
]


def workbook(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def files(tmp_path: Path, posts: list[list[object]] = POSTS,
          placements: list[list[object]] = PLACEMENTS) -> tuple[Path, Path]:
    return (workbook(tmp_path / "posts.xlsx", POST_HEADER, posts),
            workbook(tmp_path / "placements.xlsx", PLACEMENT_HEADER, placements))


def test_establishment_cohorts_and_time_limited_posts_counted_by_hand(tmp_path):
    rec = read_post_records(*files(tmp_path), SPECS)
    est = {(r.local_office, r.specialty, r.funding): r.posts
           for r in rec.establishment.itertuples(index=False)}
    assert est == {("London", "Cardiology", "tariff"): 2,
                   ("West Midlands", "Cardiology", "tariff"): 2,
                   ("West Midlands", "Urology", "trust"): 1,
                   ("Wessex", "Urology", "tariff"): 1}  # the Defence post has no local office
    # Last Date To: 04/08/2027 -> 2027; 05/08/2028 -> 2028; 30/09/2026 (an Excel date, after
    # August) -> 2027; the time-limited post has no placement and is not in the cohorts.
    coh = {(r.local_office, r.completion_year): r.trainees
           for r in rec.cohorts.itertuples(index=False)}
    assert coh == {("London", 2027): 1, ("London", 2028): 1, ("West Midlands", 2027): 1}
    assert rec.time_limited[["national_post_number", "funding_end_year"]].values.tolist() == [
        ["SYN/WMD/CAR/ST3/002", 2029]]
    assert rec.by_grade["posts"].sum() == 6
    assert len(rec.posts) == 7


def test_dates_as_text_excel_dates_and_serial_numbers():
    assert parse_day("02/08/2027") == date(2027, 8, 2)
    assert parse_day("2027-08-02 00:00:00") == date(2027, 8, 2)
    assert parse_day("45000") == date(2023, 3, 15)  # Excel shows day 45000 as 15/03/2023
    assert parse_day("46601") == date(2027, 8, 2)
    assert "not a date" in str(parse_day("31/02/2027"))
    assert "not a date" in str(parse_day("next August"))
    assert (vacant_round(date(2027, 8, 31)), vacant_round(date(2027, 9, 1))) == (2027, 2028)


@pytest.mark.parametrize(("which", "row_index", "cell", "value", "column", "words"), [
    ("posts", 0, 8, "Health Education England Wesex", "Owner*", "did you mean"),
    ("posts", 0, 3, "Cardiolgy", "Specialty*", "did you mean 'Cardiology'"),
    ("posts", 1, 0, "SYN/LDN/CAR/ST3/001", "National Post Number*", "given twice"),
    ("posts", 3, 11, "31/07/2014", "Funding End Date", "before the Funding Start Date"),
    ("posts", 0, 9, "Voluntary", "Funding Type*", "expected a funding type"),
    ("posts", 0, 10, "1st August", "Funding Start Date*", "not a date"),
    ("placements", 0, 1, "SYN/LDN/CAR/ST3/009", "National Post Number*", "not a post"),
    ("placements", 0, 3, "04/08/2024", "Date To*", "wrong way round"),
    ("placements", 0, 7, "1.5", "WTE*", "at most 1"),
    ("placements", 2, 7, "0.7", "WTE*", "overlap with 1.3 WTE"),
])
def test_bad_records_name_file_row_and_column(tmp_path, which, row_index, cell, value, column,
                                              words):
    posts = [list(r) for r in POSTS]
    placements = [list(r) for r in PLACEMENTS]
    (posts if which == "posts" else placements)[row_index][cell] = value
    posts_file, placements_file = files(tmp_path, posts, placements)
    with pytest.raises(InputError) as err:
        read_post_records(posts_file, placements_file, SPECS)
    problem = err.value.problems[0]
    assert problem.file == str(posts_file if which == "posts" else placements_file)
    assert (problem.row, problem.column) == (row_index + 2, column)
    assert words in problem.message


def test_a_missing_template_column_is_named(tmp_path):
    posts_file, placements_file = files(tmp_path)
    workbook(posts_file, [h for h in POST_HEADER if h != "Owner*"],
             [r[:8] + r[9:] for r in POSTS])
    with pytest.raises(InputError) as err:
        read_post_records(posts_file, placements_file, SPECS)
    assert (err.value.problems[0].row, err.value.problems[0].column) == (1, "Owner*")


def test_the_command_writes_files_the_plan_reads_and_nothing_on_error(tmp_path):
    from typer.testing import CliRunner

    from fairshare.cli import app

    posts_file, placements_file = files(tmp_path)
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["posts", "import", "--posts-file", str(posts_file),
                                 "--placements", str(placements_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {"establishment.csv", "cohorts.csv", "run.json"}
    from fairshare.inputs.bundle import load_england, read_cohorts

    bundle = load_england(out / "establishment.csv")
    assert int(bundle.posts["posts"].sum()) == 5  # the trust-funded post is shown, not moved
    assert len(read_cohorts(out / "cohorts.csv", bundle)) == 3
    bad = tmp_path / "bad"
    workbook(placements_file, PLACEMENT_HEADER, [placement("SYN/NONE", "06/08/2025",
                                                           "04/08/2027")])
    result = runner.invoke(app, ["posts", "import", "--posts-file", str(posts_file),
                                 "--placements", str(placements_file), "--out", str(bad)])
    assert result.exit_code == 2 and "National Post Number" in result.output
    assert not bad.exists()


def test_cells_as_calamine_returns_them_read_as_the_templates_text():
    """Each value type calamine gives, turned into the text a TIS template holds."""
    from datetime import time, timedelta

    from fairshare.inputs.xlsx_text import cell_text

    assert [cell_text(v) for v in ("", "02/08/2027", 1.0, 0.8, 46601.0, -3.0)] == [
        None, "02/08/2027", "1", "0.8", "46601", "-3"]
    assert cell_text(date(2027, 8, 2)) == "02/08/2027"
    assert cell_text(datetime(2027, 8, 2, 13, 5)) == "02/08/2027"  # the time of day dropped
    assert (cell_text(True), cell_text(False)) == ("TRUE", "FALSE")
    assert cell_text(time(10, 30)) == "10:30:00"  # a time alone: kept, and "not a date"
    assert "not a date" in str(parse_day(cell_text(timedelta(days=1)) or ""))


def test_a_workbook_of_typed_cells_reads_as_its_text_copy(tmp_path):
    """Dates as date cells (with and without a time, a custom format, a bare day number),
    WTE as numbers, an empty optional cell: the same records as the all-text files give."""
    posts = [list(r) for r in POSTS]
    posts[0][10] = datetime(2015, 8, 1)  # Funding Start Date as a date cell
    posts[1][10] = 42217  # 01/08/2015 as Excel's day number, no date format
    posts[3][10] = datetime(2015, 8, 1, 9, 30)  # a time of day
    placements = [list(r) for r in PLACEMENTS]
    placements[0][2:4] = [date(2025, 8, 6), datetime(2027, 8, 4)]
    placements[1][7], placements[2][7] = 0.6, 0.4
    (tmp_path / "typed").mkdir()
    typed = read_post_records(*files(tmp_path / "typed", posts, placements), SPECS)
    text = read_post_records(*files(tmp_path), SPECS)
    assert typed.posts.equals(text.posts)
    assert typed.cohorts.equals(text.cohorts)
    assert typed.posts["funding_start_date"].eq("2015-08-01").all()


def test_a_custom_date_format_cell_is_a_date(tmp_path):
    posts_file, placements_file = files(tmp_path)
    wb = openpyxl.load_workbook(placements_file)
    ws = wb.active
    ws["D2"] = datetime(2027, 8, 4)
    ws["D2"].number_format = "d mmm yyyy"
    wb.save(placements_file)
    rec = read_post_records(posts_file, placements_file, SPECS)
    assert rec.posts.set_index("national_post_number").loc[
        "SYN/LDN/CAR/ST3/001", "last_date_to"] == "2027-08-04"


def test_rows_keep_their_sheet_numbers_past_an_empty_row_and_an_error_cell(tmp_path):
    """An empty row 3 is a row with empty required cells; an #N/A in Date To is read as an
    empty cell (calamine gives Excel errors no text) and named at its own row."""
    posts_file, placements_file = files(tmp_path)
    wb = openpyxl.load_workbook(placements_file)
    ws = wb.active
    ws.insert_rows(3)
    ws["D5"] = "#N/A"
    ws["D5"].data_type = "e"
    wb.save(placements_file)
    with pytest.raises(InputError) as err:
        read_post_records(posts_file, placements_file, SPECS)
    where = {(p.row, p.column) for p in err.value.problems}
    assert (3, "National Post Number*") in where
    assert any(p.row == 5 and p.column == "Date To*" and "empty" in p.message
               for p in err.value.problems)


def test_the_sheet_holding_the_records_is_read_after_a_cover_sheet(tmp_path):
    posts_file, placements_file = files(tmp_path)
    for path, header, rows in ((posts_file, POST_HEADER, POSTS),
                               (placements_file, PLACEMENT_HEADER, PLACEMENTS)):
        wb = openpyxl.Workbook()
        wb.active.title = "Read me"
        wb.active.append(["Fill in the Posts sheet; dates as dd/mm/yyyy"])
        data = wb.create_sheet("Posts")
        data.append(header)
        for row in rows:
            data.append(row)
        wb.save(path)
    rec = read_post_records(posts_file, placements_file, SPECS)
    assert rec.by_grade["posts"].sum() == 6


def test_a_workbook_with_no_records_sheet_names_its_sheets(tmp_path):
    posts_file, placements_file = files(tmp_path)
    wb = openpyxl.Workbook()
    wb.active.title = "Read me"
    wb.active.append(["notes"])
    wb.create_sheet("Other").append(["Post", "Grade"])
    wb.save(posts_file)
    with pytest.raises(InputError) as err:
        read_post_records(posts_file, placements_file, SPECS)
    problem = err.value.problems[0]
    assert problem.file == str(posts_file) and problem.row == 1
    assert "'National Post Number'" in problem.message
    assert "'Read me', 'Other'" in problem.message


def test_a_damaged_records_workbook_is_named_not_a_traceback(tmp_path):
    import io
    import zipfile

    posts_file, placements_file = files(tmp_path)
    data = posts_file.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = body[: len(body) // 2]  # cut mid-way: not well-formed XML
            dst.writestr(item, body)
    posts_file.write_bytes(out.getvalue())
    with pytest.raises(InputError) as err:
        read_post_records(posts_file, placements_file, SPECS)
    assert err.value.problems[0].file == str(posts_file)
    assert "not a readable Excel workbook" in err.value.problems[0].message
