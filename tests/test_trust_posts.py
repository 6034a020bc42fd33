"""`fairshare posts`: the area plan shared over trusts (docs/posts.md).

Hand-computed small cases for the giving and receiving order, the minimum unit, the vacancy and
capacity limits; an England run whose trust rows are checked against the plan table by an
independent recomputation; and hostile minimum-unit files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare.errors import InputError
from fairshare.model.cohorts import base_vacancies
from fairshare.model.trust_posts import (
    NOT_PLACED,
    TrustSetting,
    area_completions,
    split_completions,
    trust_plan,
)

SPEC = "Cardiology"


def setting(trusts: list[tuple[str, str, int, int]], icbs: dict[str, tuple[float, float]],
            catchment: list[tuple[str, str, float]] | None = None, length: int = 2,
            headroom: float = 0.1) -> TrustSetting:
    """trusts: (org_code, icb_code, posts, min_posts), all in area A; icbs: code -> (posts now,
    fair target); catchment: (org_code, icb_code, share), default each trust's own ICB."""
    rows = pd.DataFrame(trusts, columns=["org_code", "icb_code", "posts", "min_posts"])
    rows = rows.assign(area="A", specialty=SPEC, org_name=rows["org_code"] + " trust",
                       catchment_code=rows["org_code"])
    if catchment is None:
        catchment = [(o, i, 1.0) for o, i, _, _ in trusts]
    return TrustSetting(
        trusts=rows, headroom=headroom, lengths={SPEC: length}, basis={SPEC: "test"},
        catchment=pd.DataFrame(catchment, columns=["catchment_code", "icb_code", "share"]),
        icbs=pd.DataFrame([(SPEC, k, v[0], v[1]) for k, v in icbs.items()],
                          columns=["specialty", "icb_code", "current", "fair"]))


def area_plan(current: int, moves: list[int], completing: list[int] | None = None,
              start: int = 2026) -> tuple[pd.DataFrame, pd.DataFrame]:
    years = list(range(start, start + len(moves)))
    plan = pd.DataFrame({"area": "A", "specialty": SPEC, "year": years, "redistribution": moves,
                         "cumulative": np.cumsum(moves)})
    plan["posts"] = current + plan["cumulative"]
    comp = pd.DataFrame({"area": "A", "specialty": SPEC, "year": years,
                         "completing": completing or [0] * len(moves)})
    return plan, comp


def changes(out: pd.DataFrame, year: int = 2026) -> dict[str, int]:
    rows = out[out["year"] == year]
    return dict(zip(rows["org_code"], rows["change"], strict=True))


# ------------------------------------------------------------------ hand-computed small cases


def test_a_post_leaves_the_trust_whose_catchment_stands_furthest_above():
    # X: 10 posts for a fair 5 (+100%); Y: 10 for 10 (0%). T1 draws from X, T2 from Y.
    s = setting([("T1", "X", 10, 2), ("T2", "Y", 10, 2)], {"X": (10, 5), "Y": (10, 10)})
    out = trust_plan(*area_plan(20, [-1], [10]), s)
    assert changes(out) == {"T1": -1}
    assert out["catchment_distance"].iat[0] == pytest.approx(1.0)


def test_distances_are_recomputed_after_each_post():
    # X 10/8 = +25%, Y 10/9 = +11.1%. After one post X is 9/8 = +12.5% (still first), after two
    # 8/8 = 0% < 11.1%: the third post leaves T2. By hand: T1 gives 2, T2 gives 1.
    s = setting([("T1", "X", 10, 2), ("T2", "Y", 10, 2)], {"X": (10, 8), "Y": (10, 9)})
    out = trust_plan(*area_plan(20, [-3], [10]), s)
    assert changes(out) == {"T1": -2, "T2": -1}


def test_catchment_shares_weight_the_distances():
    # T1's patients: 50% X (+100%), 50% Y (-50%) -> +25%; T2 all from Z (+40%): T2 gives.
    s = setting([("T1", "X", 10, 2), ("T2", "Z", 10, 2)],
                {"X": (10, 5), "Y": (5, 10), "Z": (14, 10)},
                catchment=[("T1", "X", 0.5), ("T1", "Y", 0.5), ("T2", "Z", 1.0)])
    out = trust_plan(*area_plan(20, [-1], [10]), s)
    assert changes(out) == {"T2": -1}
    assert out["catchment_distance"].iat[0] == pytest.approx(0.4)


def test_a_trust_never_goes_below_its_minimum_unit():
    # T1 (3 posts, minimum 2) is furthest above but can give only one; the second leaves T2.
    s = setting([("T1", "X", 3, 2), ("T2", "Y", 10, 2)], {"X": (3, 1), "Y": (10, 10)}, length=1)
    out = trust_plan(*area_plan(13, [-2], [13]), s)
    assert changes(out) == {"T1": -1, "T2": -1}
    assert (out["posts_after"] >= out["min_unit"]).all()


def test_two_trusts_with_equal_need_the_larger_gives_first_then_by_code():
    # Both catchments stand at +100%: the tie goes to the trust with more posts it can give
    # (T2: min(9 vacancies, 9 - 2) = 7 against T1's min(5, 5 - 2) = 3).
    s = setting([("T1", "X", 5, 2), ("T2", "Y", 9, 2)], {"X": (10, 5), "Y": (10, 5)},
                length=1)
    out = trust_plan(*area_plan(14, [-1], [14]), s)
    assert changes(out) == {"T2": -1}
    # Equal posts too: the ODS code decides (T1 before T2).
    s = setting([("T1", "X", 6, 2), ("T2", "Y", 6, 2)], {"X": (10, 5), "Y": (10, 5)},
                length=1)
    assert changes(trust_plan(*area_plan(12, [-1], [12]), s)) == {"T1": -1}


def test_a_trust_with_one_post_never_gives():
    # T1 holds one post (below the minimum of 2) and stands furthest above: T2 gives instead.
    s = setting([("T1", "X", 1, 2), ("T2", "Y", 6, 2)], {"X": (1, 0.2), "Y": (6, 6)},
                length=1)
    out = trust_plan(*area_plan(7, [-1], [7]), s)
    assert changes(out) == {"T2": -1}


def test_a_trust_gives_only_posts_falling_vacant():
    # 10 posts, 5-year programme: 2 complete in the first year, shared 2:8 by Webster
    # (quotas 0.4 and 1.6 -> 0 and 2). T1 is furthest above but has no vacancy that year.
    s = setting([("T1", "X", 2, 0), ("T2", "Y", 8, 0)], {"X": (2, 1), "Y": (8, 8)}, length=5)
    out = trust_plan(*area_plan(10, [-3], [2]), s)
    placed = out[out["org_code"] != ""]
    assert changes(placed) == {"T2": -2}
    assert placed["vacancies"].tolist() == [2]
    left = out[out["org_code"] == ""]
    assert left["change"].tolist() == [-1] and left["org_name"].tolist() == [NOT_PLACED]
    assert "no trust has another post falling vacant" in left["reason"].iat[0]


def test_posts_released_are_not_refilled_a_programme_length_later():
    # One trust, 4 posts, 2-year programme: 2 complete in each year (base 2, 2, 2, 2). Giving 1
    # in 2026 leaves 1 vacancy in 2028 (its cohort line shrank): a second post there cannot go.
    s = setting([("T1", "X", 4, 0)], {"X": (4, 1)}, length=2)
    out = trust_plan(*area_plan(4, [-1, 0, -2], [2, 2, 0]), s)
    y2028 = out[out["year"] == 2028]
    assert changes(y2028, 2028) == {"T1": -1, "": -1}
    assert y2028.loc[y2028["org_code"] == "T1", "vacancies"].tolist() == [1]


def test_a_post_goes_to_the_trust_furthest_below_within_capacity():
    # X 5/10 = -50%, Y 9/10 = -10%. Capacity ceil(0.1 x 5) = 1 for T1, ceil(0.1 x 9) = 1 for T2:
    # the first post goes to T1, the second to T2, the third finds no capacity.
    s = setting([("T1", "X", 5, 2), ("T2", "Y", 9, 2)], {"X": (5, 10), "Y": (9, 10)})
    out = trust_plan(*area_plan(14, [3]), s)
    assert changes(out) == {"T1": 1, "T2": 1, "": 1}
    assert "supervision capacity" in out.loc[out["org_code"] == "", "reason"].iat[0]
    assert (out.loc[out["org_code"] != "", "change"] <= out.loc[out["org_code"] != "",
                                                                "capacity"]).all()


def test_expansion_posts_use_the_capacity_redistribution_left():
    # X 5/10 = -50% (T1), Y 9/10 = -10% (T2), capacity 1 each. Redistribution's one post goes
    # to T1; the two expansion posts: T1 has no capacity left, T2 takes one, one is not placed.
    s = setting([("T1", "X", 5, 2), ("T2", "Y", 9, 2)], {"X": (5, 10), "Y": (9, 10)})
    plan, comp = area_plan(14, [1])
    out = trust_plan(plan.assign(expansion=[2]), comp, s)
    got = {(r.org_code, r.kind): r.change for r in out.itertuples(index=False)}
    assert got == {("T1", "redistribution"): 1, ("T2", "expansion"): 1, ("", "expansion"): 1}
    assert out["change"].sum() == 3


def test_a_trust_without_the_specialty_never_receives():
    s = setting([("T1", "X", 0, 0), ("T2", "Y", 4, 0)], {"X": (0, 10), "Y": (4, 10)})
    out = trust_plan(*area_plan(4, [1]), s)
    assert changes(out) == {"T2": 1}


def test_a_specialty_with_no_trust_figure_gets_one_row_saying_so():
    s = setting([("T1", "X", 4, 0)], {"X": (4, 1)})
    plan, comp = area_plan(4, [-2], [2])
    plan["specialty"] = comp["specialty"] = "General Practice"
    s = TrustSetting(s.trusts, s.catchment, s.icbs.assign(specialty="General Practice"),
                     {"General Practice": 3}, 0.1, {})
    out = trust_plan(plan, comp, s)
    assert out["change"].tolist() == [-2] and out["org_code"].tolist() == [""]
    assert "no trust-level figure" in out["reason"].iat[0]
    plan["redistribution"] = [3]
    assert "no trust-level figure" in trust_plan(plan, comp, s)["reason"].iat[0]


def test_completions_are_shared_over_trusts_keeping_both_totals():
    # Webster on completions to date, weights 2 and 1: totals 1, 2, 3 give [1, 0], [1, 1],
    # [2, 1], so the trusts complete 1, 0, 1 and 0, 1, 0.
    out = split_completions(np.array([2, 1]), np.array([1, 1, 1]))
    assert out.tolist() == [[1, 0, 1], [0, 1, 0]]


def test_completions_are_the_inverse_of_the_plans_base_vacancies():
    rng = np.random.default_rng(3)
    completing = rng.integers(0, 6, size=(20, 12))
    lengths = rng.integers(1, 8, size=20)
    assert (area_completions(base_vacancies(completing, lengths), lengths) == completing).all()


def test_the_same_inputs_give_the_same_rows_in_any_order():
    s = setting([("T1", "X", 10, 2), ("T2", "Y", 10, 2), ("T3", "Y", 7, 2)],
                {"X": (10, 8), "Y": (17, 15)})
    plan, comp = area_plan(27, [-3, -2, -4], [13, 14, 0])
    first = trust_plan(plan, comp, s)
    shuffled = TrustSetting(s.trusts.sample(frac=1, random_state=1), s.catchment, s.icbs,
                            s.lengths, s.headroom, s.basis)
    again = trust_plan(plan.sample(frac=1, random_state=2), comp, shuffled)
    pd.testing.assert_frame_equal(first, again)


# ------------------------------------------------------------------ England: exact sums


@pytest.fixture(scope="module")
def england():
    from fairshare import Scenario, load_england
    from fairshare.inputs.corrections import corrected, corrected_trusts
    from fairshare.inputs.trusts import load_catchment, load_trusts, trust_minimums
    from fairshare.model.pipeline import run_plan
    from fairshare.model.trust_pipeline import run_trust_plan

    bundle, sc = load_england(), Scenario()
    out = run_plan(bundle, sc)
    trusts = corrected_trusts(load_trusts(), corrected(bundle, sc))  # as the area plan's
    trusts["min_posts"] = trust_minimums(trusts, sc.trust_min_posts, None)
    table = run_trust_plan(bundle, sc, out, trusts, load_catchment(),
                           {s: "test" for s in bundle.specialties["specialty"]})
    return out.plan, trusts, table


def test_trust_rows_add_up_to_the_area_plan_for_every_area_specialty_and_year(england):
    plan, _, table = england
    # Recomputed from the plan table: the redistribution of every area, specialty and year,
    # with zero where the trust table has no row.
    want = {(r.area, r.specialty, r.year): int(r.redistribution) + int(r.expansion)
            for r in plan.itertuples(index=False)}
    got: dict[tuple[str, str, int], int] = {}
    for r in table.itertuples(index=False):
        key = (r.area, r.specialty, int(r.year))
        got[key] = got.get(key, 0) + int(r.change)
    assert set(got) <= set(want)
    assert all(got.get(k, 0) == v for k, v in want.items())
    assert sum(abs(v) for v in want.values()) > 5000  # the plan moves posts to share out


def test_each_trust_replays_from_its_posts_within_every_rule(england):
    _, trusts, table = england
    placed = table[(table["org_code"] != "") & (table["kind"] == "redistribution")]
    held = {(r.org_code, r.specialty): int(r.posts) for r in trusts.itertuples(index=False)}
    for (org, spec), rows in placed.sort_values("year").groupby(["org_code", "specialty"]):
        posts = held[(org, spec)]
        for r in rows.itertuples(index=False):
            assert r.posts_before == posts
            posts += int(r.change)
            assert r.posts_after == posts
            if r.change < 0:
                assert -r.change <= r.vacancies and posts >= r.min_unit
            else:
                assert r.change <= r.capacity and r.posts_before > 0


def test_the_trust_table_adds_up_to_the_baseline_pieces():
    """data/trust_posts.csv, summed by ICB piece, is baseline_posts.csv's counted rows."""
    from fairshare.inputs.bundle import data_dir

    data = data_dir()
    trusts = pd.read_csv(data / "trust_posts.csv", dtype={"org_code": str})
    orgs = pd.read_csv(data / "nhs_org_icb.csv", dtype=str, keep_default_na=False)
    pieces = trusts.merge(orgs[["org_code", "icb_code", "local_office"]], on="org_code")
    assert len(pieces) == len(trusts)
    summed = pieces.groupby(["specialty", "icb_code", "local_office"])["posts"].sum()
    base = pd.read_csv(data / "baseline_posts.csv")
    counted = base[base["basis"].str.startswith("NHS Digital")]
    want = counted.set_index(["specialty", "icb_code", "local_office"])["posts"]
    assert summed[summed > 0].to_dict() == want[want > 0].to_dict()


# ------------------------------------------------------------------ hostile minimum-unit files


def trust_table() -> pd.DataFrame:
    return pd.DataFrame({"org_code": ["R1H", "RJZ"], "org_name": ["Barts", "King's"],
                         "specialty": [SPEC, SPEC], "posts": [40, 18]})


@pytest.mark.parametrize(("text", "row", "column", "words"), [
    ("org_code,min_posts\nR1X,2\n", 2, "org_code", "did you mean 'R1H'"),
    ("org_code,min_posts\n,2\n", 2, "org_code", "empty"),
    ("org_code,min_posts\nR1H,two\n", 2, "min_posts", "not a number"),
    ("org_code,min_posts\nR1H,-1\n", 2, "min_posts", "negative"),
    ("org_code,min_posts\nR1H,1.5\n", 2, "min_posts", "whole number"),
    ("org_code,specialty,min_posts\nR1H,Cardiolgy,2\n", 2, "specialty", "did you mean"),
    ("org_code,min_posts\nR1H,2\nr1h,3\n", 3, "org_code", "given twice"),
    ("org,min_posts\nR1H,2\n", 1, "org_code", "required column missing"),
])
def test_a_bad_minimum_unit_file_names_file_row_and_column(tmp_path, text, row, column, words):
    from fairshare.inputs.trusts import read_trust_min

    path = tmp_path / "mins.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_trust_min(path, trust_table(), [SPEC, "Urology"])
    problem = err.value.problems[0]
    assert (problem.file, problem.row, problem.column) == (str(path), row, column)
    assert words in problem.message


def test_a_minimum_unit_file_overrides_the_default_per_trust_and_specialty(tmp_path):
    from fairshare.inputs.trusts import read_trust_min, trust_minimums

    path = tmp_path / "mins.csv"
    path.write_text("org_code,specialty,min_posts\nR1H,,5\nr1h,cardiology,7\nRJZ,Urology,0\n")
    trusts = pd.concat([trust_table(), trust_table().assign(specialty="Urology")],
                       ignore_index=True)
    given = read_trust_min(path, trusts, [SPEC, "Urology"])
    got = trusts.assign(m=trust_minimums(trusts, 2, given))
    assert got["m"].tolist() == [7, 2, 5, 0]


def test_the_command_refuses_a_bad_file_and_writes_nothing(tmp_path):
    from typer.testing import CliRunner

    from fairshare.cli import app

    bad = tmp_path / "mins.csv"
    bad.write_text("org_code,min_posts\nZZZ,2\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["posts", "--trust-min", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert "row 2" in result.output and "org_code" in result.output
    assert not out.exists()


def test_the_command_writes_a_dated_folder_with_every_column_described(tmp_path):
    from typer.testing import CliRunner

    from fairshare.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["posts", "--horizon", "2024", "--area", "London",
                                      "--specialty", "Cardiology", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "trust_posts.csv", keep_default_na=False)
    assert {"org_code", "change", "reason", "basis", "year_status"} <= set(table.columns)
    assert table["basis"].str.contains("modelled").all()
    columns = pd.read_csv(out / "columns.csv")
    assert "(not described)" not in set(columns["meaning"])
