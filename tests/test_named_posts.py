"""`fairshare posts plan`: named posts per round from post records (docs/posts.md, issue 15).

* Hand-made cases with known answers: the trust rules and the post chosen, on records written
  here (a trust with one post, two trusts with equal need, a post whose last placement ends
  after the horizon, a re-advertised post held for a full programme).
* An independent replay of the England plan made from the SYNTHETIC record set
  (scripts/make_synthetic_tis.py): it re-reads the raw placement file with its own date rule and
  checks, from the outputs alone, that no placement is cut short and every trainee keeps the
  post for a full programme; that the named posts add up to the area plan and to the trust
  plan; that no giving trust goes below its minimum unit; that receiving trusts stay within
  capacity; that every released post moves to a new post of its specialty and round.
* Bad records: the file, row and column; nothing written.
* The SYNTHETIC generator: deterministic by seed, every row marked, the baseline's posts.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from datetime import date
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairshare.errors import FairshareError
from fairshare.model.named_posts import named_plan
from fairshare.model.trust_posts import TrustSetting, trust_plan

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from make_synthetic_tis import synthetic_records, write_set  # noqa: E402

SPEC = "Cardiology"
YEARS = range(2027, 2032)
LENGTHS = {SPEC: 3}
CODES = {"A": "AAA", "B": "BBB"}


def records(posts: list[tuple[str, str, str, int | None]]) -> pd.DataFrame:
    """(National Post Number, area, org_code, vacant round or None) -> post records."""
    return pd.DataFrame({
        "national_post_number": [p[0] for p in posts], "local_office": [p[1] for p in posts],
        "specialty": SPEC, "grade": "ST3", "funding": "tariff", "funding_end_date": "",
        "org_code": [p[2] for p in posts], "org_name": [f"{p[2]} trust" for p in posts],
        "last_date_to": [f"{p[3]}-08-03" if p[3] else "" for p in posts],
        "vacant_round": pd.array([p[3] for p in posts], dtype="Int64")})


def trust_rows(rows: list[tuple[str, int, str, int]], kind: str = "redistribution"
               ) -> pd.DataFrame:
    """(area, year, org_code, change) -> trust plan rows."""
    return pd.DataFrame({"area": [r[0] for r in rows], "specialty": SPEC,
                         "year": [r[1] for r in rows], "org_code": [r[2] for r in rows],
                         "org_name": [f"{r[2]} trust" if r[2] else "" for r in rows],
                         "change": [r[3] for r in rows], "kind": kind,
                         "reason": "test"})


def by_action(out: pd.DataFrame, year: int) -> dict[str, list[str]]:
    got: dict[str, list[str]] = defaultdict(list)
    for r in out[out["year"] == year].itertuples(index=False):
        got[r.action].append(r.national_post_number)
    return dict(got)


# ------------------------------------------------------------------ hand-made cases


def test_a_released_post_moves_to_the_new_post_of_its_round():
    # Area A's trust T1 gives one of its two posts falling vacant in 2027 (the first by number);
    # area B's T2 receives it as a DRAFT post. The other vacant post is re-advertised and held
    # for the full 3-year programme, to 2030.
    posts = records([("A/T1/1", "A", "T1", 2027), ("A/T1/2", "A", "T1", 2027),
                     ("A/T1/3", "A", "T1", 2029), ("B/T2/1", "B", "T2", 2028)])
    out = named_plan(posts, trust_rows([("A", 2027, "T1", -1), ("B", 2027, "T2", 1)]), YEARS,
                     LENGTHS, CODES, {SPEC: "010"})
    assert by_action(out, 2027) == {"do not re-advertise": ["A/T1/1"],
                                    "new post": ["DRAFT/BBB/T2/010/2027-001"],
                                    "re-advertise": ["A/T1/2"]}
    gone = out[out["action"] == "do not re-advertise"].iloc[0]
    assert (gone["to_area"], gone["to_org_code"], gone["to_post"]) == (
        "B", "T2", "DRAFT/BBB/T2/010/2027-001")
    new = out[out["action"] == "new post"].iloc[0]
    assert (new["from_post"], new["number_status"], new["held_to"]) == ("A/T1/1", "DRAFT", 2030)
    # Re-advertised in 2027 and in 2030 (3 years on); the new post falls vacant in 2030 too.
    again = out[out["national_post_number"] == "A/T1/2"]
    assert again["year"].tolist() == [2027, 2030]
    assert by_action(out, 2030)["re-advertise"] == ["A/T1/2", "DRAFT/BBB/T2/010/2027-001"]
    assert out["post_change"].sum() == 0


def test_a_post_whose_last_placement_ends_after_the_horizon_is_never_named():
    # T1: post 1 free in 2027, post 2 held to 2033 (after the 2031 horizon), post 3 has no
    # placement (vacant at the first round). Asked for 2 in 2027, the plan names 1 and 3.
    posts = records([("A/T1/1", "A", "T1", 2027), ("A/T1/2", "A", "T1", 2033),
                     ("A/T1/3", "A", "T1", None), ("B/T9/1", "B", "T9", 2033)])
    out = named_plan(posts, trust_rows([("A", 2027, "T1", -2), ("B", 2027, "", 2)]), YEARS,
                     LENGTHS, CODES, {SPEC: "010"})
    assert sorted(by_action(out, 2027)["do not re-advertise"]) == ["A/T1/1", "A/T1/3"]
    assert not {"A/T1/2", "B/T9/1"} & set(out["national_post_number"])
    # The receiving rows had no trust: two new posts with no number, paired with the releases.
    new = out[out["action"] == "new post"]
    assert new["number_status"].tolist() == ["to choose"] * 2
    assert sorted(new["from_post"]) == ["A/T1/1", "A/T1/3"]


def test_another_offices_moves_are_partners_not_rows():
    # Only area A has records: its release moves to area B's trust T2, which is named as the
    # destination, but B (no records here) has no rows of its own.
    posts = records([("A/T1/1", "A", "T1", 2027), ("A/T1/2", "A", "T1", 2029)])
    out = named_plan(posts, trust_rows([("A", 2027, "T1", -1), ("B", 2027, "T2", 1)]), YEARS,
                     LENGTHS, CODES, {SPEC: "010"})
    assert set(out["area"]) == {"A"}
    gone = out[out["action"] == "do not re-advertise"].iloc[0]
    assert (gone["national_post_number"], gone["to_area"], gone["to_org_code"]) == (
        "A/T1/1", "B", "T2")


def test_a_trust_asked_for_more_than_falls_vacant_is_refused():
    posts = records([("A/T1/1", "A", "T1", 2027), ("A/T1/2", "A", "T1", 2030)])
    # Re-advertised in 2027, post 1 is held to 2030: in 2028 nothing falls vacant at T1.
    with pytest.raises(FairshareError, match="only 0 fall vacant"):
        named_plan(posts, trust_rows([("A", 2028, "T1", -1), ("B", 2028, "T2", 1)]), YEARS,
                   LENGTHS, CODES, {SPEC: "010"})


def setting(trusts: list[tuple[str, str, int, int]], icbs: dict[str, tuple[float, float]],
            completions: list[tuple[str, int, int]]) -> TrustSetting:
    """Area A's trusts (org_code, icb_code, posts, min_posts), each ICB's (posts, fair target)
    and each trust's own completions (org_code, year, completing)."""
    rows = pd.DataFrame(trusts, columns=["org_code", "icb_code", "posts", "min_posts"])
    rows = rows.assign(area="A", specialty=SPEC, org_name=rows["org_code"] + " trust",
                       catchment_code=rows["org_code"])
    own = pd.DataFrame(completions, columns=["org_code", "year", "completing"]).assign(
        area="A", specialty=SPEC)
    return TrustSetting(
        trusts=rows, headroom=0.1, lengths=LENGTHS, basis={SPEC: "test"},
        catchment=pd.DataFrame([(o, i, 1.0) for o, i, _, _ in trusts],
                               columns=["catchment_code", "icb_code", "share"]),
        icbs=pd.DataFrame([(SPEC, k, v[0], v[1]) for k, v in icbs.items()],
                          columns=["specialty", "icb_code", "current", "fair"]),
        completions=own)


def area_plan(current: int, moves: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    years = list(range(2027, 2027 + len(moves)))
    plan = pd.DataFrame({"area": "A", "specialty": SPEC, "year": years,
                         "redistribution": moves, "cumulative": np.cumsum(moves)})
    plan["posts"] = current + plan["cumulative"]
    comp = pd.DataFrame({"area": "A", "specialty": SPEC, "year": years, "completing": 0})
    return plan, comp


def test_a_trust_with_one_post_keeps_it_and_the_other_trusts_vacant_post_goes():
    # T1 holds one post (minimum unit 2) and stands furthest above its fair share; T2's post
    # falling vacant in 2027 is the one named, T1's never.
    s = setting([("T1", "X", 1, 2), ("T2", "Y", 4, 2)], {"X": (1, 0.2), "Y": (4, 4)},
                [("T1", 2027, 1), ("T2", 2027, 1)])
    rows = trust_plan(*area_plan(5, [-1]), s)
    assert dict(zip(rows["org_code"], rows["change"], strict=True)) == {"T2": -1}
    posts = records([("A/T1/1", "A", "T1", 2027), *[(f"A/T2/{i}", "A", "T2", 2027 if i == 1
                                                     else 2029) for i in range(1, 5)]])
    out = named_plan(posts, rows, YEARS, LENGTHS, CODES, {SPEC: "010"})
    assert by_action(out, 2027) == {"do not re-advertise": ["A/T2/1"], "re-advertise": ["A/T1/1"]}


def test_two_trusts_with_equal_need_the_ods_code_decides():
    # Equal distances (+100%), equal posts and vacancies: T1 gives (code order), its first post.
    s = setting([("T1", "X", 4, 2), ("T2", "Y", 4, 2)], {"X": (10, 5), "Y": (10, 5)},
                [("T1", 2027, 2), ("T2", 2027, 2)])
    rows = trust_plan(*area_plan(8, [-1]), s)
    posts = records([(f"A/{t}/{i}", "A", t, 2027 if i <= 2 else 2029)
                     for t in ("T1", "T2") for i in range(1, 5)])
    out = named_plan(posts, rows, YEARS, LENGTHS, CODES, {SPEC: "010"})
    assert by_action(out, 2027)["do not re-advertise"] == ["A/T1/1"]


def test_the_trust_split_uses_each_trusts_own_vacancies():
    # T1 stands furthest above but none of its posts falls vacant before 2029: T2 gives in
    # 2027, and in 2029 T1 can.
    s = setting([("T1", "X", 4, 0), ("T2", "Y", 4, 0)], {"X": (4, 1), "Y": (4, 4)},
                [("T1", 2029, 4), ("T2", 2027, 4)])
    rows = trust_plan(*area_plan(8, [-1, 0, -1]), s)
    got = {(r.year, r.org_code): r.change for r in rows.itertuples(index=False)}
    assert got == {(2027, "T2"): -1, (2029, "T1"): -1}


# ------------------------------------------------------------------ England: independent replay


def _rounds_from_raw(placements: Path) -> dict[str, int]:
    """Each post's last Date To, read from the raw file with its own rule: a placement ending
    by 31 August frees the post for that year's round, else the next year's."""
    raw = pd.read_csv(placements, dtype=str, keep_default_na=False)
    out: dict[str, date] = {}
    for npn, text in zip(raw["National Post Number*"], raw["Date To*"], strict=True):
        day, month, year = (int(x) for x in text.split("/"))
        when = date(year, month, day)
        out[npn] = max(out.get(npn, when), when)
    return {k: d.year if d.month <= 8 else d.year + 1 for k, d in out.items()}


@pytest.fixture(scope="module")
def england(tmp_path_factory):
    from fairshare import Scenario
    from fairshare.inputs.bundle import load_england
    from fairshare.inputs.tis import OFFICE_OWNER, read_post_records
    from fairshare.inputs.trusts import (
        catchment_codes,
        load_catchment,
        load_orgs,
        trust_minimums,
    )
    from fairshare.model.named_pipeline import records_bundle, records_trusts, run_named_plan

    folder = tmp_path_factory.mktemp("synthetic")
    write_set(folder, *synthetic_records(seed=15))
    posts_file = folder / "SYNTHETIC_tis_posts.csv"
    placements = folder / "SYNTHETIC_tis_placements.csv"
    base = load_england()
    orgs = load_orgs()
    rec = read_post_records(posts_file, placements, list(base.specialties["specialty"]), orgs)
    posts = rec.posts.assign(org_name=rec.posts["org_code"].map(
        orgs.set_index("org_code")["org_name"]))
    sc = Scenario(plan_start=2027, horizon=2031)
    bundle = records_bundle(base, posts, "SYNTHETIC")
    trusts = records_trusts(posts, orgs, catchment_codes())
    trusts["min_posts"] = trust_minimums(trusts, sc.trust_min_posts, None)
    result = run_named_plan(bundle, sc, posts, trusts, load_catchment(),
                            {s: "SYNTHETIC" for s in base.specialties["specialty"]},
                            {o: c for o, (_, c) in OFFICE_OWNER.items()})
    raw_posts = pd.read_csv(posts_file, dtype=str, keep_default_na=False)
    return result, raw_posts, _rounds_from_raw(placements), sc


def test_no_placement_is_cut_short_and_every_trainee_keeps_a_full_programme(england):
    result, raw, rounds, sc = england
    length = load_lengths()
    named = result.named
    rows = named[named["number_status"] == "record"].sort_values("year")
    assert set(rows["national_post_number"]) <= set(raw["National Post Number*"])
    for npn, part in rows.groupby("national_post_number"):
        spec = part["specialty"].iat[0]
        years = part["year"].tolist()
        first = max(rounds.get(npn, sc.plan_start), sc.plan_start)
        assert years[0] == first, npn  # never before its last placement ends
        assert all(b - a == length[spec] for a, b in pairwise(years)), npn
        actions = part["action"].tolist()
        assert "do not re-advertise" not in actions[:-1], npn  # nothing after a release
    # A post held beyond the horizon has no row at all.
    beyond = {n for n, r in rounds.items() if r > sc.horizon}
    assert beyond and not beyond & set(rows["national_post_number"])
    assert int((named["post_change"] < 0).sum()) > 1000  # the plan releases posts to check


def test_named_posts_add_up_to_the_area_plan_and_the_trust_plan(england):
    result, *_ = england
    named, plan, trusts = result.named, result.area.plan, result.trusts
    want = {(r.area, r.specialty, r.year): int(r.redistribution) + int(r.expansion)
            for r in plan.itertuples(index=False)}
    got: Counter[tuple[str, str, int]] = Counter()
    for r in named.itertuples(index=False):
        got[(r.area, r.specialty, int(r.year))] += int(r.post_change)
    assert all(got[k] == v for k, v in want.items())
    assert set(k for k, v in got.items() if v) <= set(want)
    per_trust: Counter[tuple[str, str, int, str]] = Counter()
    for r in named.itertuples(index=False):
        per_trust[(r.area, r.specialty, int(r.year), r.org_code)] += int(r.post_change)
    for r in trusts.itertuples(index=False):
        assert per_trust[(r.area, r.specialty, int(r.year), r.org_code)] == sum(
            int(x) for x in trusts.loc[(trusts["area"] == r.area)
                                       & (trusts["specialty"] == r.specialty)
                                       & (trusts["year"] == r.year)
                                       & (trusts["org_code"] == r.org_code), "change"])


def test_trusts_stay_above_their_minimum_unit_and_within_capacity(england):
    # Each trust's posts counted from the raw records (owner -> office by the generator's own
    # list, Employing body -> ODS code by the ODS file), then replayed round by round.
    from make_synthetic_tis import OWNER

    result, raw, *_ = england
    orgs = pd.read_csv(ROOT / "src" / "fairshare" / "data" / "nhs_org_icb.csv", dtype=str,
                       keep_default_na=False)
    code = dict(zip(orgs["org_name"], orgs["org_code"], strict=True))
    office = {v: k for k, v in OWNER.items()}
    moving = raw[(raw["Funding End Date"] == "") & (raw["Funding Type*"] == "Tariff")]
    posts = Counter(zip(moving["Owner*"].map(office), moving["Specialty*"],
                        moving["Employing body*"].map(code), strict=True))
    checked = 0
    named = result.named
    for (area, spec, org), part in named[named["org_code"] != ""].groupby(
            ["area", "specialty", "org_code"]):
        held = posts[(area, spec, org)]
        for year, rows in part.groupby("year"):
            released = int((rows["post_change"] < 0).sum())
            received = int((rows["action"] == "new post").sum())
            if received:  # a trust training the specialty, within ceil(10% of its posts), >= 1
                assert held > 0 and received <= max(-(-held // 10), 1), (org, spec, year)
            held += received - released
            if released:
                assert held >= 2, (org, spec, year)  # the default minimum unit
            checked += bool(released or received)
    assert checked > 500


def test_every_released_post_moves_to_a_new_post_of_its_specialty_and_round(england):
    # The plan moves posts between areas and never adds or removes one, so every release
    # pairs with one new post (numbered, or "to choose" where no trust could take it).
    result, *_ = england
    named = result.named
    gone = named[(named["action"] == "do not re-advertise") & (named["number_status"] == "record")]
    new = named[named["action"] == "new post"]
    by_from = new[new["from_post"] != ""].set_index("from_post")
    assert len(gone) > 1000 and not by_from.index.duplicated().any()
    for r in gone.itertuples(index=False):
        target = by_from.loc[r.national_post_number]
        assert (target["specialty"], target["year"], target["area"]) == (
            r.specialty, r.year, r.to_area)
        assert target["national_post_number"] == r.to_post
        assert target["org_code"] == r.to_org_code


def load_lengths() -> dict[str, int]:
    specs = pd.read_csv(ROOT / "src" / "fairshare" / "data" / "specialties.csv")
    return dict(zip(specs["specialty"], specs["programme_years"].astype(int), strict=True))


# ------------------------------------------------------------------ the command


@pytest.fixture(scope="module")
def two_offices(tmp_path_factory):
    folder = tmp_path_factory.mktemp("two")
    write_set(folder, *synthetic_records(seed=3, areas=["North East", "Wessex"]))
    return folder / "SYNTHETIC_tis_posts.csv", folder / "SYNTHETIC_tis_placements.csv"


def test_the_command_writes_named_posts_and_the_templates_layouts(tmp_path, two_offices):
    from typer.testing import CliRunner

    from fairshare.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["posts", "plan", "--posts-file", str(two_offices[0]),
                                      "--placements", str(two_offices[1]), "--records-date",
                                      "2026-09-30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    named = pd.read_csv(out / "named_posts.csv", keep_default_na=False)
    assert named["basis"].str.startswith("SYNTHETIC").all()
    assert set(named["area"]) <= {"North East", "Wessex"} and (named["year"] >= 2027).all()
    # The layouts are the templates' own columns (../shared/formats/tis/), in order.
    formats = Path("/work/shared/formats/tis")
    create = pd.read_csv(formats / "post_create_columns.csv")["column"].tolist()
    funding = pd.read_csv(formats / "post_funding_update_columns.csv")["column"].tolist()
    new = pd.read_csv(out / "tis_new_posts.csv", keep_default_na=False, dtype=str)
    changes = pd.read_csv(out / "tis_funding_changes.csv", keep_default_na=False, dtype=str)
    assert list(new.columns) == create
    assert list(changes.columns)[:len(funding)] == funding
    assert len(new) == int((named["post_change"] > 0).sum())
    assert new["National Post Number*"].str.startswith(("DRAFT/", "(number")).all()
    for office in ("north_east", "wessex"):
        assert (out / office / f"named_posts_{office}.xlsx").stat().st_size > 0
        assert (out / office / "tis_new_posts.csv").exists()
    columns = pd.read_csv(out / "columns.csv")
    assert "(not described)" not in set(columns["meaning"])


@pytest.mark.parametrize(("which", "column", "value", "words"), [
    ("posts", "Employing body*", "Newcastle Upon Tyne Hospitals NHS Foundation Trus",
     "did you mean"),
    ("posts", "Employing body*", "", "empty"),
    ("posts", "Specialty*", "Cardiolgy", "did you mean"),
    ("placements", "Date To*", "31/02/2028", "not a date"),
])
def test_bad_records_are_named_and_nothing_is_written(tmp_path, two_offices, which, column,
                                                      value, words):
    from typer.testing import CliRunner

    from fairshare.cli import app

    posts = pd.read_csv(two_offices[0], dtype=str, keep_default_na=False)
    placements = pd.read_csv(two_offices[1], dtype=str, keep_default_na=False)
    table = posts if which == "posts" else placements
    table.loc[4, column] = value
    a, b = tmp_path / "posts.csv", tmp_path / "placements.csv"
    posts.to_csv(a, index=False)
    placements.to_csv(b, index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["posts", "plan", "--posts-file", str(a), "--placements",
                                      str(b), "--records-date", "2026-09-30", "--out", str(out)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert f"{a if which == 'posts' else b}, row 6" in text and column.rstrip("*") in text
    assert words in text
    assert not out.exists()


# ------------------------------------------------------------------ the SYNTHETIC generator


def test_the_synthetic_set_is_the_baselines_posts_marked_and_deterministic():
    posts, placements = synthetic_records(seed=7, areas=["North East"])
    again, _ = synthetic_records(seed=7, areas=["North East"])
    _, other_pl = synthetic_records(seed=8, areas=["North East"])
    pd.testing.assert_frame_equal(posts, again)
    assert not placements["Date To*"].equals(other_pl["Date To*"])
    base = pd.read_csv(ROOT / "src" / "fairshare" / "data" / "baseline_posts.csv")
    want = base[base["local_office"] == "North East"].groupby("specialty")["posts"].sum()
    got = posts.groupby("Specialty*").size()
    assert got.to_dict() == want[want > 0].to_dict()
    assert (posts["SYNTHETIC"] == "SYNTHETIC").all() and (
        placements["SYNTHETIC"] == "SYNTHETIC").all()
    assert posts["National Post Number*"].str.contains("/SYN/").all()
    assert set(placements["Surname*"]) == {"SYNTHETIC"}
    assert not {"GMC Number", "TIS Person ID", "Forenames*"} & set(placements.columns)


def test_an_office_workbook_holds_its_tables_cell_for_cell(tmp_path):
    """Read back by openpyxl (not the writer): the About lines, then every table with its
    header, text as text (a formula-looking cell too), numbers as numbers, true/false, and
    an empty or missing cell blank."""
    import openpyxl

    from fairshare.publish.tis_layouts import write_office_workbook

    changes = pd.DataFrame({
        "national_post_number": ["SYN/A/001", "=cmd|' /C calc'!A0", ""],
        "year": [2027, 2028, 2029],
        "held_to": pd.array([2030, None, 2031], dtype="Int64"),
        "share": [0.5, np.nan, 1.25],
        "moved": [True, False, True],
        "reason": ["gives 1, keeps 4", None, "  spaced  "],
    })
    path = write_office_workbook(tmp_path / "office.xlsx",
                                 {"changes": changes, "empty": changes.iloc[:0]},
                                 ["North East", "SYNTHETIC records"])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["About", "changes", "empty"]
    assert [r[0] for r in book["About"].iter_rows(values_only=True)] == [
        "North East", "SYNTHETIC records"]
    rows = list(book["changes"].iter_rows(values_only=True))
    assert rows == [
        ("national_post_number", "year", "held_to", "share", "moved", "reason"),
        ("SYN/A/001", 2027, 2030, 0.5, True, "gives 1, keeps 4"),
        ("=cmd|' /C calc'!A0", 2028, None, None, False, None),
        (None, 2029, 2031, 1.25, True, "  spaced  ")]
    assert book["changes"]["A3"].data_type == "s"  # text, never a formula
    assert list(book["empty"].iter_rows(values_only=True)) == [tuple(changes.columns)]
