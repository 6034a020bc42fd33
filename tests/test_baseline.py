"""The public baseline (NHS Digital staff in post, Sept 2017) against its raw data and by hand.

The raw-data checks re-read ../shared/data with the csv module (not with fairshare's builder),
so they test the built file against an independent reading of the published figures.
"""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairshare import Scenario, load_england, targets
from fairshare.inputs.baseline import half_up, piece_for, whole_posts
from fairshare.scenario import BaselineCorrections

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "fairshare" / "data"
SHARED = REPO.parent / "shared" / "data"
STAFF = SHARED / "workforce" / "nhsd_medical_staff_2017"
TRAINING = ("Specialty Registrar", "Core Training", "Foundation Doctor Year 1",
            "Foundation Doctor Year 2")
LONDON_2017 = {"YDF26", "YDF27", "YDF28"}  # NW London, South London, NCEL (hee_region.csv)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [{k.strip(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def raw() -> list[dict[str, str]]:
    if not STAFF.is_dir():
        pytest.skip(f"shared raw data not found at {STAFF}")
    return _rows(STAFF / "medical_staff_2017-09.csv")


@pytest.fixture(scope="module")
def programme_map() -> dict[tuple[str, str], str]:
    return {(r["grade"], r["specialty"]): r["programme"]
            for r in _rows(DATA / "nhsd_programme_map.csv")}


@pytest.fixture(scope="module")
def orgs() -> dict[str, dict[str, str]]:
    return {r["org_code"]: r for r in _rows(DATA / "nhs_org_icb.csv")}


@pytest.fixture(scope="module")
def baseline() -> list[dict[str, str]]:
    return _rows(DATA / "baseline_posts.csv")


def _programme(row: dict[str, str], pmap: dict[tuple[str, str], str]) -> str | None:
    key = (row["GRADE"], row["SPECIALTY"])
    return pmap[key] if key in pmap else pmap.get((row["GRADE"], "*"))


# --- the raw file and the lookups ----------------------------------------------------------


def test_training_grades_sum_to_the_published_52800_fte(raw) -> None:
    total = sum(float(r["FTE"]) for r in raw if r["GRADE"] in TRAINING)
    assert round(total, -2) == 52_800  # NHS Digital, 30 Sept 2017: "52,800 FTE ... in training"


def test_every_organisation_maps_to_an_icb_a_local_office_and_a_region(raw, orgs) -> None:
    icb_region = {r["icb_code"]: r["region_code"] for r in _rows(DATA / "icbs.csv")}
    office_region = {r["local_office"]: r["region_code"] for r in _rows(DATA / "local_offices.csv")}
    pieces = {(r["icb_code"], r["local_office"]) for r in _rows(DATA / "icb_local_office.csv")}
    codes = {r["ORG_CODE"] for r in raw}
    assert len(codes) == 357
    for code in codes:
        org = orgs[code]
        assert org["icb_code"] in icb_region, code
        assert org["local_office"] in office_region, code
        assert (org["icb_code"], org["local_office"]) in pieces, code


def test_every_training_specialty_is_mapped_or_left_out_with_a_reason(raw) -> None:
    rows = _rows(DATA / "nhsd_programme_map.csv")
    keys = {(r["grade"], r["specialty"]) for r in rows}
    catalogue = {r["specialty"] for r in _rows(DATA / "specialties.csv")}
    for r in raw:
        if r["GRADE"] in TRAINING:
            assert (r["GRADE"], r["SPECIALTY"]) in keys or (r["GRADE"], "*") in keys, r
    assert all(r["note"] for r in rows)
    assert all(r["programme"] in catalogue for r in rows if r["programme"])
    assert all(r["note"].startswith("left out") for r in rows if not r["programme"])
    assert len(keys) == len(rows)  # one row per specialty x grade


# --- whole posts ---------------------------------------------------------------------------


def test_whole_posts_by_hand() -> None:
    # 3.7 FTE in three pieces -> 4 posts (half up); quotas 1.62, 1.62, 0.76: floors 1, 1, 0;
    # the two seats left go to the largest remainders: 0.76 (third), then 0.62 (first: tie on
    # remainder and weight is broken by order).
    assert half_up(3.7) == 4 and half_up(2.5) == 3 and half_up(2.4999999999) == 3
    assert whole_posts(pd.Series([1.5, 1.5, 0.7]), 4) == [2, 1, 1]


def test_national_totals_are_the_mapped_fte_rounded_half_up(raw, programme_map, baseline) -> None:
    fte: dict[str, float] = defaultdict(float)
    for r in raw:
        if r["GRADE"] in TRAINING and (prog := _programme(r, programme_map)):
            fte[prog] += float(r["FTE"])
    posts: dict[str, int] = defaultdict(int)
    for r in baseline:
        posts[r["specialty"]] += int(r["posts"])
    counted = {s for s in posts if s in fte}
    assert counted == set(fte)
    for spec in counted:
        assert posts[spec] == math.floor(round(fte[spec], 6) + 0.5), spec
    assert posts["General Surgery"] == 1612  # 1,612.3 FTE registrars (issue 8)


def test_modelled_rows_say_so_and_follow_their_stated_figures(baseline) -> None:
    bases = {r["specialty"]: r["basis"] for r in baseline}
    modelled = {s for s, b in bases.items() if b.startswith("modelled: ")}
    assert modelled == {"General Practice", "Public Health Medicine"}
    posts: dict[str, int] = defaultdict(int)
    for r in baseline:
        posts[r["specialty"]] += int(r["posts"])
    # England GP ST1 acceptances 2015 (2,769) and 2016 (2,936), mean x 3 years = 8,557.5
    assert posts["General Practice"] == 8558
    # Public Health entry posts 2013-2016 (70, 78, 88, 69), mean 76.25 x 5 years = 381.25
    assert posts["Public Health Medicine"] == 381
    assert all(r["fte"] == "" for r in baseline if r["specialty"] in modelled)


# --- placement -----------------------------------------------------------------------------


def test_placement_rule_by_hand() -> None:
    ilo = pd.DataFrame({"icb_code": ["A", "B", "B"], "local_office": ["X", "X", "Y"],
                        "share": [1.0, 0.3, 0.7]})
    assert piece_for("A", "X", ilo)[0] == "X"
    assert piece_for("B", "X", ilo)[0] == "X"  # a split ICB: the 2017 office picks the piece
    assert piece_for("A", "Y", ilo)[0] == "X"  # office holds no piece of A: the ICB wins
    assert piece_for("B", "Z", ilo)[0] == "Y"  # ... the ICB's largest piece
    assert piece_for("B", "", ilo)[0] == "Y"  # a trust new since 2017


def test_london_three_2017_offices_add_up_to_london(raw, programme_map, orgs,
                                                    baseline) -> None:
    """The three London offices of 2017 are today's London; KSS, TV and Wessex stay apart.

    Organisations whose ICB has no piece in their 2017 office move with their ICB (the
    documented rule): the test takes them from the raw file by reading the lookup's note.
    """
    prov = {r["ORG_CODE"]: r["HEE_REGION_CODE"] for r in _rows(STAFF / "nhs_provider.csv")}
    moved = {c for c, o in orgs.items() if "holds no piece" in o["placement"]}
    by_office: dict[str, float] = defaultdict(float)
    for r in raw:
        if r["GRADE"] in TRAINING and _programme(r, programme_map) and r["ORG_CODE"] not in moved:
            by_office[prov[r["ORG_CODE"]]] += float(r["FTE"])
    built: dict[str, float] = defaultdict(float)
    moved_in: dict[str, float] = defaultdict(float)
    for r in baseline:
        built[r["local_office"]] += float(r["fte"] or 0)
    for r in raw:
        if r["ORG_CODE"] in moved and r["GRADE"] in TRAINING and _programme(r, programme_map):
            moved_in[orgs[r["ORG_CODE"]]["local_office"]] += float(r["FTE"])
    london = sum(by_office[c] for c in LONDON_2017)
    assert built["London"] - moved_in["London"] == pytest.approx(london, abs=1e-3)
    for office, code in (("Kent Surrey and Sussex", "YDF29"), ("Thames Valley", "YDF25"),
                         ("Wessex", "YDF24")):
        assert built[office] - moved_in[office] == pytest.approx(by_office[code], abs=1e-3)
    assert sum(moved_in.values()) < 0.01 * sum(built.values())  # the rule moves under 1 %


# --- the default establishment -------------------------------------------------------------


def test_load_england_uses_the_public_baseline(baseline) -> None:
    b = load_england()
    assert b.posts_label == ("Public baseline: NHS Digital staff in post, 30 Sept 2017 "
                             "(FTE -> whole posts); 2 specialties modelled")
    assert b.modelled == ["General Practice", "Public Health Medicine"]
    assert b.posts_date == "2017-09-30"
    assert int(b.piece_posts["posts"].sum()) == sum(int(r["posts"]) for r in baseline)


def test_local_office_region_and_icb_views_add_up_to_the_national_totals(baseline) -> None:
    national: dict[str, int] = defaultdict(int)
    icb: dict[tuple[str, str], int] = defaultdict(int)
    for r in baseline:
        national[r["specialty"]] += int(r["posts"])
        icb[(r["icb_code"], r["specialty"])] += int(r["posts"])
    b, sc = load_england(), Scenario(baseline_corrections=BaselineCorrections.none())
    for level in ("local_office", "region", "icb"):
        t = targets(b, sc.model_copy(update={"level": level}))
        assert t.groupby("specialty")["current"].sum().to_dict() == national, level
        corrected = targets(b, Scenario(level=level))  # the default corrections move, never add
        assert corrected.groupby("specialty")["current"].sum().to_dict() == national, level
        if level == "icb":  # ICB figures are the baseline's own, not shares of an office
            got = t.set_index(["area_code", "specialty"])["current"].to_dict()
            assert {k: v for k, v in got.items() if v} == {k: v for k, v in icb.items() if v}
            assert set(t["basis"][t["specialty"] == "General Surgery"]) == {
                "NHS Digital staff in post (FTE), 30 Sept 2017"}


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    if not STAFF.is_dir():
        pytest.skip(f"shared raw data not found at {STAFF}")
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_baseline.py"),
                    "--out", str(tmp_path)], check=True, capture_output=True)
    for name in ("baseline_posts.csv", "nhs_org_icb.csv", "baseline_trust_moves.csv",
                 "baseline_fill_rates.csv", "trust_posts.csv", "trust_catchment.csv"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


# --- fairshare baseline build --------------------------------------------------------------


def test_baseline_build_reproduces_the_embedded_baseline(tmp_path: Path) -> None:
    if not STAFF.is_dir():
        pytest.skip(f"shared raw data not found at {STAFF}")
    from typer.testing import CliRunner

    from fairshare.cli import app

    copy = tmp_path / "medical_staff_copy.csv"
    copy.write_bytes((STAFF / "medical_staff_2017-09.csv").read_bytes())
    out = tmp_path / "posts.csv"
    res = CliRunner().invoke(app, ["baseline", "build", "--from", str(copy), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == (DATA / "baseline_posts.csv").read_bytes()
    assert "Warning" not in res.output
    b = load_england(out)  # --posts accepts it, per ICB piece, with its basis per row
    assert not b.piece_posts.empty and b.modelled == ["General Practice", "Public Health Medicine"]
    assert b.posts_date == "2017-09-30"


def test_baseline_build_reports_organisations_it_cannot_place(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fairshare.cli import app

    staff = tmp_path / "staff.csv"
    staff.write_text(
        "DATE,ORG_CODE,GRADE_SORT_ORDER,GRADE,SPECIALITY_GROUP,SPECIALTY,FTE\n"
        "30/09/2024,RGT,1,Specialty Registrar,Surgical group,General surgery,10.5\n"
        "30/09/2024,RQF,1,Specialty Registrar,Surgical group,General surgery,3\n"
        "30/09/2024,ZZ9,1,Core Training,Surgical group,Urology,2\n"
        "30/09/2024,RGT,1,Core Training,Surgical group,Robotic surgery,1\n")
    out = tmp_path / "posts.csv"
    res = CliRunner().invoke(app, ["baseline", "build", "--from", str(staff), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "RQF VELINDRE NHS TRUST: 3.0 FTE" in res.output  # in ODS, but not in England
    assert "ZZ9 not in ODS or the 2017 list: 2.0 FTE" in res.output
    assert "Core Training, Robotic surgery: 1.0 FTE" in res.output
    posts = pd.read_csv(out)
    surgery = posts[posts["specialty"] == "General Surgery"]
    assert surgery["posts"].sum() == 11  # 10.5 FTE at Cambridge (RGT), rounded half up
    assert set(surgery["basis"]) == {"NHS Digital staff in post (FTE), 30 Sept 2024"}


def test_baseline_build_rejects_a_file_of_another_shape(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fairshare.cli import app

    bad = tmp_path / "staff.csv"
    bad.write_text("DATE,ORG_CODE,GRADE,SPECIALTY,FTE\n30/09/2024,RGT,Core Training,Urology,x\n")
    res = CliRunner().invoke(app, ["baseline", "build", "--from", str(bad),
                                   "--out", str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "staff.csv, row 1, column 'SPECIALITY_GROUP': required column missing" in res.output
    assert not (tmp_path / "p.csv").exists()
    bad.write_text("DATE,ORG_CODE,GRADE,SPECIALITY_GROUP,SPECIALTY,FTE\n"
                   "30/09/2024,RGT,Core Training,Surgical group,Urology,lots\n")
    res = CliRunner().invoke(app, ["baseline", "build", "--from", str(bad)])
    assert res.exit_code == 2 and "row 2, column 'FTE': 'lots'" in res.output
    bad.write_text("DATE,ORG_CODE,GRADE,SPECIALITY_GROUP,SPECIALTY,FTE\n"
                   "30/09/2024,RGT,Core Training,Surgical group,Urology,1e308\n")
    res = CliRunner().invoke(app, ["baseline", "build", "--from", str(bad)])
    assert res.exit_code == 2 and "row 2, column 'FTE': '1e308': not a plausible FTE" in res.output
    bad.write_text("DATE,ORG_CODE,GRADE,SPECIALITY_GROUP,SPECIALTY,FTE\n"
                   "30/09/2024,RGT,Core Training,Surgical group,Urology,1\n"
                   "31/10/2024,RGT,Core Training,Surgical group,Urology,1\n")
    res = CliRunner().invoke(app, ["baseline", "build", "--from", str(bad)])
    assert res.exit_code == 2 and "row 3, column 'DATE': the file holds several" in res.output


# --- plausibility and a cross-check ----------------------------------------------------------


def _plausibility_table() -> list[list[str]]:
    text = (REPO / "docs" / "baseline.md").read_text(encoding="utf-8")
    section = text.split("## Plausibility", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.startswith("| ")]
    return [r for r in rows[1:] if not set(r[0]) <= {"-"}]  # drop the header and rule


def test_plausibility_table_is_current_and_explains_every_outlier(baseline) -> None:
    rows = _plausibility_table()
    stock: dict[str, int] = defaultdict(int)
    for r in baseline:
        stock[r["specialty"]] += int(r["posts"])
    years = {r["specialty"]: int(r["programme_years"]) for r in _rows(DATA / "specialties.csv")}
    assert sorted(r[0] for r in rows) == sorted(stock)
    unexplained = []
    for spec, posts, length, _, entry, _, ratio, why in rows:
        assert int(posts.replace(",", "")) == stock[spec], spec
        assert int(length) == years[spec], spec
        if entry == "—":
            assert ratio == "—", spec
            value = None
        else:
            value = stock[spec] / years[spec] / float(entry.replace(",", ""))
            assert float(ratio) == pytest.approx(value, abs=0.005), spec
        if (value is None or not 0.5 <= value <= 2) and not why:
            unexplained.append(spec)
    assert not unexplained, f"outside 0.5-2x or no entry figure, unexplained: {unexplained}"


def test_oriel_core_surgery_2023_places_follow_the_core_surgery_baseline(baseline) -> None:
    oriel = SHARED / "workforce" / "oriel_core_surgery_2023" / "CST_updated.csv"
    if not oriel.exists():
        pytest.skip(f"shared raw data not found at {oriel}")
    places: dict[str, int] = defaultdict(int)
    for r in _rows(oriel):
        region = r["Region"].removeprefix("Health Education England ")
        if region != r["Region"]:  # English local offices only (not Scotland, Wales)
            places[region.replace("Kent, Surrey and Sussex", "Kent Surrey and Sussex")] += int(
                r["Places Available"])
    assert sum(places.values()) == 525  # SOURCES.md: England 525 places
    posts: dict[str, int] = defaultdict(int)
    for r in baseline:
        if r["specialty"] == "Core Surgery":
            posts[r["local_office"]] += int(r["posts"])
    assert set(places) == set(posts)
    offices = sorted(places)
    x = pd.Series([places[o] for o in offices], dtype=float)
    y = pd.Series([posts[o] for o in offices], dtype=float)
    assert x.corr(y) > 0.8


def test_embedded_tables_pass_their_schemas() -> None:
    """Loading skips element-wise validation of the embedded files, so they are checked here."""
    from fairshare.inputs import bundle, schemas

    for fname, schema in bundle._FILES.values():
        df = bundle._as_plain(pd.read_csv(DATA / fname))
        getattr(schemas, schema).validate(df, lazy=True)
    posts = pd.read_csv(DATA / "baseline_posts.csv", dtype={"basis": str})
    assert (posts["posts"] >= 0).all() and posts["basis"].notna().all()
    assert not posts.duplicated(["icb_code", "local_office", "specialty"]).any()


def test_a_posts_file_per_icb_piece_keeps_its_pieces(tmp_path: Path) -> None:
    from fairshare.errors import InputError

    # BLMK (E54000024, ODS QHG) lies in East of England and Thames Valley (icb_local_office.csv)
    good = tmp_path / "pieces.csv"
    good.write_text("icb_code,local_office,specialty,posts,basis\n"
                    "E54000024,East of England,Cardiology,7,my count\n"
                    "QHG,TV,Cardiology,2,my count\n")
    b = load_england(good)
    got = b.piece_posts.set_index(["icb_code", "local_office"])["posts"].to_dict()
    assert got == {("E54000024", "East of England"): 7, ("E54000024", "Thames Valley"): 2}
    assert b.basis == {"Cardiology": "my count"}
    t = targets(b, Scenario(level="icb"))
    assert t.set_index("area_code").loc["E54000024", "current"] == 9  # counted, not estimated
    bad = tmp_path / "bad.csv"
    bad.write_text("icb_code,local_office,specialty,posts\n"
                   "E54000024,London,Cardiology,3\nE54000024,Narnia,Cardiology,1\n")
    with pytest.raises(InputError) as err:
        load_england(bad)
    text = str(err.value)
    assert "row 2, column 'local_office': ICB E54000024 has no part in London" in text
    assert "row 3, column 'local_office': unknown local office 'Narnia'" in text


# --- invariants on random staff files --------------------------------------------------------

ORGS = pd.DataFrame({"org_code": ["A1", "B1", "C1", "D1"], "org_name": ["a", "b", "c", "d"],
                     "icb_code": ["I1", "I1", "I2", "I3"], "hee_office_2017": "",
                     "local_office": ["X", "Y", "X", "Y"], "placement": ""})
MAP = pd.DataFrame({"grade": ["Specialty Registrar", "Core Training", "Core Training"],
                    "speciality_group": "g", "specialty": ["S", "S", "T"],
                    "programme": ["Higher S", "Core", ""], "note": "n"})


@st.composite
def staff_files(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    rows = [(draw(st.sampled_from(list(ORGS["org_code"]))),
             draw(st.sampled_from(["Specialty Registrar", "Core Training", "Consultant"])),
             draw(st.sampled_from(["S", "T"])),
             draw(st.floats(0, 60, allow_nan=False).map(lambda x: round(x, 5))))
            for _ in range(n)]
    return pd.DataFrame({"DATE": "30/09/2017", "ORG_CODE": [r[0] for r in rows],
                         "GRADE": [r[1] for r in rows], "SPECIALITY_GROUP": "g",
                         "SPECIALTY": [r[2] for r in rows], "FTE": [r[3] for r in rows]})


@settings(max_examples=40)
@given(staff_files())
def test_whole_posts_keep_national_totals_and_stay_within_one_of_the_quota(staff) -> None:
    """Checked against a direct recount of the random file, not the builder's own sums."""
    from fairshare.inputs.baseline import build_baseline

    posts = build_baseline(staff, MAP, ORGS).posts
    programme = {("Specialty Registrar", "S"): "Higher S", ("Core Training", "S"): "Core"}
    expected: dict[str, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
    for r in staff.itertuples(index=False):
        prog = programme.get((r.GRADE, r.SPECIALTY))
        if prog:
            org = ORGS.set_index("org_code").loc[r.ORG_CODE]
            expected[prog][(org["icb_code"], org["local_office"])] += r.FTE
    assert set(posts["specialty"]) == {p for p, v in expected.items() if sum(v.values()) > 0}
    for prog, pieces in expected.items():
        mine = posts[posts["specialty"] == prog]
        total = sum(pieces.values())
        assert int(mine["posts"].sum()) == math.floor(round(total, 6) + 0.5)
        seats = int(mine["posts"].sum())
        for r in mine.itertuples(index=False):
            quota = pieces[(r.icb_code, r.local_office)] * seats / total if total else 0
            assert math.floor(quota) <= r.posts <= math.ceil(quota) + 1e-9


def test_baseline_show_lists_every_basis_and_what_is_missing(baseline) -> None:
    from typer.testing import CliRunner

    from fairshare.cli import app

    res = CliRunner().invoke(app, ["baseline", "show"])
    assert res.exit_code == 0, res.output
    total = sum(int(r["posts"]) for r in baseline)
    assert f"{total:,} posts in 66 specialties" in res.output
    assert "left out of every output): Stroke Medicine, Tropical Medicine" in res.output
    assert "modelled: England GP ST1 acceptances" in res.output


def test_plausibility_table_matches_the_build_script(tmp_path: Path) -> None:
    """The entry posts and sources in the docs are the ones the build script finds in the data."""
    if not STAFF.is_dir():
        pytest.skip(f"shared raw data not found at {STAFF}")
    res = subprocess.run([sys.executable, str(REPO / "scripts" / "build_baseline.py"),
                          "--out", str(tmp_path), "--plausibility"],
                         check=True, capture_output=True, text=True)
    built = [[c.strip() for c in line.strip().strip("|").split("|")][:6]
             for line in res.stdout.splitlines() if line.startswith("| ")]
    assert built == [row[:6] for row in _plausibility_table()]
