"""A user's establishment file: every kind of bad input gets one clear message, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fairshare.errors import InputError
from fairshare.inputs.bundle import load_england

GOOD = "local_office,specialty,posts\nLondon,Cardiology,120\nWessex,Cardiology,40\n"


def _write(tmp_path: Path, text: str, name: str = "posts.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_good_file_replaces_the_public_baseline(tmp_path: Path) -> None:
    b = load_england(_write(tmp_path, GOOD))
    assert b.basis == {"Cardiology": "user file posts.csv"} and not b.modelled
    assert b.piece_posts.empty
    assert b.posts.set_index("local_office").loc["London", "posts"] == 120
    assert "posts.csv" in b.posts_label


def test_aliases_and_icb_level(tmp_path: Path) -> None:
    b = load_england(_write(tmp_path, "local_office,specialty,posts\nLDN,cardiology,5\n"))
    assert b.posts.iloc[0].tolist() == ["London", "Cardiology", 5]
    # Frimley (QNQ) straddles three local offices: its posts are split, total kept
    b = load_england(_write(tmp_path, "icb,specialty,posts\nQNQ,Cardiology,10\n"))
    assert b.posts["posts"].sum() == 10
    assert set(b.posts["local_office"]) <= {"Thames Valley", "Wessex", "Kent Surrey and Sussex"}


@pytest.mark.parametrize(
    ("text", "row", "column", "says"),
    [
        ("local_office,specialty\nLondon,Cardiology\n", 1, "posts", "required column missing"),
        ("local_office,specialty,posts\nLondon,Cardiolgy,3\n", 2, "specialty",
         "unknown specialty 'Cardiolgy' (did you mean 'Cardiology'?)"),
        ("local_office,specialty,posts\nLondn,Cardiology,3\n", 2, "local_office",
         "unknown local office 'Londn'"),
        ("local_office,specialty,posts\nLondon,Cardiology,-3\n", 2, "posts", "negative"),
        ("local_office,specialty,posts\nLondon,Cardiology,2.5\n", 2, "posts", "not a whole"),
        ("local_office,specialty,posts\nLondon,Cardiology,many\n", 2, "posts", "not a number"),
        ("icb,specialty,posts\nE54999999,Cardiology,1\n", 2, "icb", "unknown ICB"),
        (GOOD + "London,Cardiology,7\n", 4, None, "duplicate row: London / Cardiology already "
         "given on row 2"),
    ],
)
def test_bad_rows_name_file_row_and_column(tmp_path: Path, text: str, row: int,
                                           column: str | None, says: str) -> None:
    p = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_england(p)
    problem = info.value.problems[0]
    assert problem.file == str(p)
    assert (problem.row, problem.column) == (row, column)
    assert says in problem.message
    assert str(p) in str(info.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    p = _write(tmp_path, "local_office,specialty,posts\nLondn,Cardiology,3\nLondon,X,-1\n")
    with pytest.raises(InputError) as info:
        load_england(p)
    assert [(q.row, q.column) for q in info.value.problems] == [
        (2, "local_office"), (3, "specialty"), (3, "posts")]


def test_empty_and_wrong_encoding(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty"):
        load_england(_write(tmp_path, ""))
    with pytest.raises(InputError, match="no data rows"):
        load_england(_write(tmp_path, "local_office,specialty,posts\n"))
    p = tmp_path / "latin1.csv"
    p.write_bytes("local_office,specialty,posts\nLondon,Cardiology,3\nS\xe9rie,X,1\n"
                  .encode("latin-1"))
    with pytest.raises(InputError, match=r"row 3: not UTF-8"):
        load_england(p)


def test_excel_file_rows_are_numbered_like_the_sheet(tmp_path: Path) -> None:
    p = tmp_path / "posts.xlsx"
    pd.DataFrame({"Local Office": ["London", "Wessex"], "Specialty": ["Cardiology", "Cardiology"],
                  "Posts": [3, -2]}).to_excel(p, index=False)
    with pytest.raises(InputError) as info:
        load_england(p)
    assert (info.value.problems[0].row, info.value.problems[0].column) == (3, "posts")


def test_cli_reports_bad_file_and_writes_nothing(tmp_path: Path) -> None:
    p = _write(tmp_path, "local_office,specialty,posts\nLondon,Cardiology,-3\n")
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, "-m", "fairshare.cli", "targets", "--posts", str(p), "--out", str(out)],
        capture_output=True, text=True, check=False,
    )
    assert res.returncode == 2
    assert "row 2" in res.stderr and "'posts'" in res.stderr and "negative" in res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()


def test_partial_file_works_at_every_level(tmp_path: Path) -> None:
    """A file covering only some specialties gives targets for those, at every level."""
    from fairshare import Scenario, targets

    b = load_england(_write(tmp_path, GOOD))
    for level in ("local_office", "region", "icb"):
        df = targets(b, Scenario(level=level))
        assert set(df["specialty"]) == {"Cardiology"}
        assert df["target"].sum() == 160


def test_other_funded_posts_are_shown_but_never_moved(tmp_path: Path) -> None:
    from fairshare import Scenario, targets

    text = ("local_office,specialty,posts,funding\nLondon,Cardiology,120,\n"
            "Wessex,Cardiology,40,tariff\nLondon,Cardiology,9,research\nWessex,Cardiology,2,trust\n")
    b = load_england(_write(tmp_path, text))
    df = targets(b, Scenario()).set_index("area")
    assert df["current"].sum() == df["target"].sum() == 160  # tariff posts only
    assert (df.loc["London", "other_funded"], df.loc["Wessex", "other_funded"]) == (9, 2)
    region = targets(b, Scenario(level="region")).set_index("area")
    assert region.loc["London", "other_funded"] == 9


def test_ragged_row_is_named(tmp_path: Path) -> None:
    p = _write(tmp_path, GOOD + "London,Cardiology,9,research\n")
    with pytest.raises(InputError) as info:
        load_england(p)
    problem = info.value.problems[0]
    assert problem.row == 4
    assert "4 values but the header has 3 columns" in problem.message


def test_icb_level_file_keeps_its_icb_numbers(tmp_path: Path) -> None:
    """Posts given per ICB are shown per ICB as given, not re-estimated from population."""
    from fairshare import Scenario, targets

    text = ("icb,specialty,posts\nQHM,Cardiology,30\nQNQ,Cardiology,10\n"
            "QOP,Cardiology,7\nQMF,Cardiology,3\n")
    b = load_england(_write(tmp_path, text))
    icb = targets(b, Scenario(level="icb")).set_index("area_code")
    assert icb["current"].sum() == 50
    assert icb.loc["E54000050", "current"] == 30  # NHS North East and North Cumbria (QHM)
    assert icb.loc["E54000034", "current"] == 10  # Frimley, split over three offices, whole here
    assert set(icb["current_basis"]) == {"per ICB, as given"}
    lo = targets(b, Scenario()).set_index("area")
    assert lo.loc["North East", "current"] == 30


def test_deanery_column_and_windows_csv(tmp_path: Path) -> None:
    """Planners' own spellings: a 'Deanery' column, a BOM, CRLF line ends, 1,200-style counts."""
    p = tmp_path / "posts.csv"
    p.write_bytes("\ufeffDeanery,Specialty,Posts\r\nLondon,Cardiology,\"1,200\"\r\n".encode())
    b = load_england(p)
    assert b.posts.iloc[0].tolist() == ["London", "Cardiology", 1200]
