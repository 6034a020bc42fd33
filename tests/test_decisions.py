"""Review decisions feed the next run (issue 17, docs/posts.md "Review decisions").

Hand-made cases whose answers are worked out by hand from the trust rules (two trusts, one
rejected: the other gives; a proposal honoured; a proposal that cannot be honoured: a finding,
the rule's next trust gives; an accepted recommendation unchanged), the same on named posts
(a rejected release: the trust's next post; a proposed post released first; a post that does
not fall vacant: a finding), the store converter, and on the England default the invariants
recomputed independently: trust rows add up to the area plan, no trust below its minimum unit,
no giving trust beyond its vacancies, rejected trusts give nothing.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from fairshare.inputs.decisions import (
    DECISION_COLUMNS,
    decisions_digest,
    from_store,
    recommendation_keys,
)
from fairshare.model.decisions import Records, Steering
from fairshare.model.named_posts import free_round, movable, named_plan, trust_completions
from fairshare.model.review import review
from fairshare.model.trust_posts import TrustSetting, trust_plan

SPEC = "Cardiology"


def decisions(*rows: tuple[str, int, str, str, str, str]) -> pd.DataFrame:
    """(area, year, target, decision, reason, proposed) -> a decisions table."""
    return pd.DataFrame([{"recommendation": f"{a}|{SPEC}|{y}|{t}", "area": a, "specialty": SPEC,
                          "year": y, "target": t, "decision": d, "reason": r, "proposed": p}
                         for a, y, t, d, r, p in rows], columns=DECISION_COLUMNS)


def trusts_table(rows: list[tuple[str, str, str, int, int]]) -> pd.DataFrame:
    """(area, org_code, icb_code, posts, min_posts) -> the trusts of the specialty."""
    out = pd.DataFrame(rows, columns=["area", "org_code", "icb_code", "posts", "min_posts"])
    return out.assign(specialty=SPEC, org_name=out["org_code"] + " trust",
                      catchment_code=out["org_code"])


def setting(trusts: pd.DataFrame, icbs: dict[str, tuple[float, float]], length: int = 2,
            completions: pd.DataFrame | None = None) -> TrustSetting:
    catchment = pd.DataFrame({"catchment_code": trusts["org_code"], "icb_code": trusts[
        "icb_code"], "share": 1.0})
    return TrustSetting(
        trusts=trusts, catchment=catchment, headroom=0.5, lengths={SPEC: length},
        basis={SPEC: "test"}, completions=completions,
        icbs=pd.DataFrame([(SPEC, k, v[0], v[1]) for k, v in icbs.items()],
                          columns=["specialty", "icb_code", "current", "fair"]))


def area_plan(moves: dict[str, tuple[int, list[int]]], start: int = 2026) -> pd.DataFrame:
    """area -> (posts now, moves per year) -> the area plan."""
    parts = []
    for area, (current, steps) in moves.items():
        years = list(range(start, start + len(steps)))
        part = pd.DataFrame({"area": area, "specialty": SPEC, "year": years,
                             "redistribution": steps, "cumulative": np.cumsum(steps)})
        parts.append(part.assign(posts=current + part["cumulative"]))
    return pd.concat(parts, ignore_index=True)


def completing(plan: pd.DataFrame, per_year: dict[str, list[int]]) -> pd.DataFrame:
    out = plan[["area", "specialty", "year"]].copy()
    out["completing"] = [per_year[a][i] for a, i in zip(
        out["area"], out.groupby("area").cumcount(), strict=True)]
    return out


def run_trusts(plan: pd.DataFrame, comp: pd.DataFrame, s: TrustSetting):
    def run(steering: Steering | None):
        steer = {} if steering is None else steering.rounds
        return trust_plan(plan, comp, TrustSetting(**{**s.__dict__, "steer": steer})), None
    return run


def moves(rows: pd.DataFrame, year: int = 2026) -> dict[str, int]:
    part = rows[(rows["year"] == year) & (rows["change"] != 0)]
    return dict(zip(part["org_code"], part["change"], strict=True))


# Area A: T1 in ICB X (10 posts for a fair 5: +100%), T2 in ICB Y (10 for 8: +25%), T3 in ICB
# Z (10 for 9: +11%). Every trust 10 posts, minimum 2; A's 15 completions a year are shared
# 5 each, so each trust has 5 posts falling vacant. A gives 2 in 2026: by the rule T1 gives
# both (X at 9/5 = +80% is still furthest above after the first).
TRUSTS = trusts_table([("A", "T1", "X", 10, 2), ("A", "T2", "Y", 10, 2),
                       ("A", "T3", "Z", 10, 2), ("B", "T9", "W", 4, 2)])
ICBS = {"X": (10, 5), "Y": (10, 8), "Z": (10, 9), "W": (4, 8)}
PLAN = area_plan({"A": (30, [-2, 0]), "B": (4, [2, 0])})
COMP = completing(PLAN, {"A": [15, 15], "B": [2, 2]})


def reviewed(*rows: tuple[str, int, str, str, str, str], trusts: pd.DataFrame = TRUSTS):
    s = setting(trusts, ICBS)
    return review(run_trusts(PLAN, COMP, s), decisions(*rows), trusts, range(2026, 2028))


def test_without_decisions_the_rule_picks_the_trust_furthest_above():
    out = reviewed()
    assert moves(out.before[out.before["area"] == "A"]) == {"T1": -2}


def test_a_rejected_giving_trust_gives_nothing_and_the_next_trust_gives():
    # T1 kept out: T2 (+25%) then 9/8 = +12.5% vs T3's +11%: T2 gives both posts.
    out = reviewed(("A", 2026, "T1", "reject", "unit closing its rota", ""))
    assert moves(out.trusts[out.trusts["area"] == "A"]) == {"T2": -2}
    row = out.trusts[out.trusts["org_code"] == "T2"].iloc[0]
    assert row["decision"] == "after rejection"
    assert "T1 rejected by review (unit closing its rota)" in row["decision_basis"]
    o = out.outcomes.iloc[0]
    assert (o["outcome"], o["target_change_before"], o["target_change_after"]) == (
        "honoured", -2, 0)


def test_two_trusts_one_rejected_the_other_gives():
    # A: T1 (X 10/5, +100%) and T2 (Y 10/8, +25%), 5 posts falling vacant each; A gives 2.
    # By the rule T1 gives both; T1 rejected, T2 gives both (8 left, above its minimum 2).
    two = trusts_table([("A", "T1", "X", 10, 2), ("A", "T2", "Y", 10, 2),
                        ("B", "T9", "W", 4, 2)])
    plan = area_plan({"A": (20, [-2, 0]), "B": (4, [2, 0])})
    comp = completing(plan, {"A": [10, 10], "B": [2, 2]})
    out = review(run_trusts(plan, comp, setting(two, ICBS)),
                 decisions(("A", 2026, "T1", "reject", "x", "")), two, range(2026, 2028))
    assert moves(out.before[out.before["area"] == "A"]) == {"T1": -2}
    assert moves(out.trusts[out.trusts["area"] == "A"]) == {"T2": -2}
    row = out.trusts[out.trusts["org_code"] == "T2"].iloc[0]
    assert (row["posts_before"], row["posts_after"], row["vacancies"]) == (10, 8, 5)


def test_a_proposal_is_used_first_in_place_of_the_rejected_trust():
    # Reject T1, propose T3: T3 gives the 2 posts T1 would have given (the rule would pick T2).
    out = reviewed(("A", 2026, "T1", "propose", "rota", "T3"))
    assert moves(out.trusts[out.trusts["area"] == "A"]) == {"T3": -2}
    row = out.trusts[out.trusts["org_code"] == "T3"].iloc[0]
    assert row["decision"] == "proposed"
    o = out.outcomes.iloc[0]
    assert (o["outcome"], o["proposed_change_after"]) == ("honoured", -2)


def test_a_proposal_beyond_the_trusts_vacancies_is_a_finding_and_the_rule_gives_the_rest():
    # T3 with 3 posts (minimum 2) can give 1: it gives 1, T2 (the rule's next) gives the other.
    small = trusts_table([("A", "T1", "X", 10, 2), ("A", "T2", "Y", 10, 2),
                          ("A", "T3", "Z", 3, 2), ("B", "T9", "W", 4, 2)])
    plan = area_plan({"A": (23, [-2, 0]), "B": (4, [2, 0])})
    s = setting(small, ICBS)
    out = review(run_trusts(plan, COMP, s), decisions(("A", 2026, "T1", "propose", "rota",
                                                       "T3")), small, range(2026, 2028))
    after = out.trusts[out.trusts["area"] == "A"]
    assert moves(after) == {"T3": -1, "T2": -1}
    assert after["change"].sum() == -2  # still the area plan
    o = out.outcomes.iloc[0]
    assert o["outcome"] == "partly honoured"
    assert "T3 could give 1 of the 2" in o["finding"]


def test_a_receiving_proposal_beyond_capacity_is_a_finding():
    # B receives 2. T8 (ICB V 2/8: -75%, capacity ceil(0.5 x 2) = 1) takes the first; at its
    # capacity, T9 (W 4/8: -50%, capacity 2) the second. Reject T9, propose T8: T8 would need
    # 2 (its own 1 + T9's 1) but has room for 1, so one post is left to the office.
    trusts = trusts_table([("A", "T1", "X", 10, 2), ("A", "T2", "Y", 10, 2),
                           ("A", "T3", "Z", 10, 2), ("B", "T9", "W", 4, 2),
                           ("B", "T8", "V", 2, 2)])
    icbs = {**ICBS, "V": (2, 8)}
    plan = area_plan({"A": (30, [-2, 0]), "B": (6, [2, 0])})
    out = review(run_trusts(plan, COMP, setting(trusts, icbs)),
                 decisions(("B", 2026, "T9", "propose", "x", "T8")), trusts, range(2026, 2028))
    assert moves(out.before[out.before["area"] == "B"]) == {"T8": 1, "T9": 1}
    after = out.trusts[(out.trusts["area"] == "B") & (out.trusts["year"] == 2026)]
    assert moves(after) == {"T8": 1, "": 1}
    o = out.outcomes.iloc[0]
    assert o["outcome"] == "not honoured"
    assert "T8 could receive 1 of the 2 post(s) (1 of its own recommendation + 1 in place of " \
           "T9)" in o["finding"]


def test_a_proposal_in_another_area_is_a_finding_not_dropped():
    out = reviewed(("A", 2026, "T1", "propose", "rota", "T9"))
    o = out.outcomes.iloc[0]
    assert o["outcome"] == "not honoured"
    assert "T9 is not in A (it trains in B)" in o["finding"]
    # T1 is still kept out: the rejection part stands.
    assert moves(out.trusts[out.trusts["area"] == "A"]) == {"T2": -2}


def test_an_unknown_key_or_round_is_a_finding():
    table = pd.concat([decisions(("A", 2030, "T1", "reject", "x", "")),
                       from_store(pd.DataFrame({"recommendation": ["garbled"], "area": ["A"],
                                                "specialty": [SPEC], "decision": ["reject"],
                                                "reason": ["x"], "proposed": [None]}))],
                      ignore_index=True)
    s = setting(TRUSTS, ICBS)
    out = review(run_trusts(PLAN, COMP, s), table, TRUSTS, range(2026, 2028))
    assert out.outcomes["outcome"].tolist() == ["not honoured", "not honoured"]
    assert "2030 is not a round of this run" in out.outcomes["finding"].iat[0]
    assert "not of the form" in out.outcomes["finding"].iat[1]
    pd.testing.assert_frame_equal(out.trusts.drop(columns=["decision", "decision_basis"]),
                                  out.before)


def test_an_accepted_recommendation_is_unchanged():
    out = reviewed(("A", 2026, "T1", "accept", "", ""))
    pd.testing.assert_frame_equal(out.trusts.drop(columns=["decision", "decision_basis"]),
                                  out.before)
    assert out.trusts.loc[out.trusts["org_code"] == "T1", "decision"].tolist() == ["accepted"]
    assert out.outcomes["outcome"].iat[0] == "honoured"


def test_an_accepted_trust_is_fixed_when_another_is_rejected():
    # X 10/8 (+25%), Y 10/9 (+11%), Z 10/11 (-9%); A gives 3. By hand: T1 (+25%, then
    # 9/8 = +12.5%) gives 2, then T2 (+11.1% > T1's 0%) gives 1. Reject T2 and accept T1: the
    # rule's next would be T1 (0% > -9%), but T1's 2 are fixed, so T3 gives the third.
    icbs = {"X": (10, 8), "Y": (10, 9), "Z": (10, 11), "W": (4, 8)}
    plan = area_plan({"A": (30, [-3, 0]), "B": (4, [3, 0])})
    s = setting(TRUSTS, icbs)
    out = review(run_trusts(plan, COMP, s), decisions(("A", 2026, "T1", "accept", "", ""),
                                                      ("A", 2026, "T2", "reject", "x", "")),
                 TRUSTS, range(2026, 2028))
    assert moves(out.before[out.before["area"] == "A"]) == {"T1": -2, "T2": -1}
    assert moves(out.trusts[out.trusts["area"] == "A"]) == {"T1": -2, "T3": -1}
    assert out.outcomes["outcome"].tolist() == ["honoured", "honoured"]


def test_a_rejected_receiving_trust_is_not_given_posts():
    # B receives 2: T9 (only trust, capacity ceil(0.5 x 4) = 2) takes both; rejected, the
    # posts are not placed at a trust and the row says so (the sum stays the plan's).
    out = reviewed(("B", 2026, "T9", "reject", "no supervisors", ""))
    b = out.trusts[(out.trusts["area"] == "B") & (out.trusts["year"] == 2026)]
    assert b["org_code"].tolist() == [""]
    assert b["change"].sum() == 2


# ------------------------------------------------------------------ named posts


def records(posts: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    """(National Post Number, area, org_code, vacant round) -> post records."""
    return pd.DataFrame({
        "national_post_number": [p[0] for p in posts], "local_office": [p[1] for p in posts],
        "specialty": SPEC, "grade": "ST3", "funding": "tariff", "funding_end_date": "",
        "org_code": [p[2] for p in posts], "org_name": [f"{p[2]} trust" for p in posts],
        "last_date_to": [f"{p[3]}-08-03" for p in posts],
        "vacant_round": pd.array([p[3] for p in posts], dtype="Int64")})


# A: T1 (ICB X, furthest above) with posts 1 and 2 falling vacant in 2027 and 3 in 2029, and one
# held to 2030; T2 (Y) with post 1 vacant in 2027, three held to 2030. B: T9 receives. A gives
# 1 in 2027: by the rule T1's first post by number, A/T1/1.
POSTS = records([("A/T1/1", "A", "T1", 2027), ("A/T1/2", "A", "T1", 2027),
                 ("A/T1/3", "A", "T1", 2029), ("A/T1/4", "A", "T1", 2030),
                 ("A/T2/1", "A", "T2", 2027), ("A/T2/2", "A", "T2", 2030),
                 ("A/T2/3", "A", "T2", 2030), ("A/T2/4", "A", "T2", 2030),
                 ("B/T9/1", "B", "T9", 2030), ("B/T9/2", "B", "T9", 2030)])
YEARS = range(2027, 2030)


def named_review(*rows: tuple[str, int, str, str, str, str]):
    trusts = trusts_table([("A", "T1", "X", 4, 2), ("A", "T2", "Y", 4, 2),
                           ("B", "T9", "W", 2, 1)])
    plan = area_plan({"A": (8, [-1, 0, 0]), "B": (2, [1, 0, 0])}, start=2027)
    own = trust_completions(POSTS, YEARS)
    comp = plan[["area", "specialty", "year"]].merge(
        own.groupby(["area", "specialty", "year"], as_index=False)["completing"].sum(),
        how="left").fillna({"completing": 0})
    s = setting(trusts, ICBS, length=3, completions=own)

    def run(steering: Steering | None):
        steer = {} if steering is None else steering.rounds
        rows_ = trust_plan(plan, comp, TrustSetting(**{**s.__dict__, "steer": steer}))
        named = named_plan(POSTS, rows_, YEARS, {SPEC: 3}, {"A": "AAA", "B": "BBB"},
                           {SPEC: "010"}, None if steering is None else steering.posts)
        return rows_, named

    recs = Records(posts=POSTS[["national_post_number", "local_office", "specialty",
                                "org_code"]].assign(first=free_round(POSTS, 2027),
                                                    movable=movable(POSTS)),
                   lengths={SPEC: 3})
    return review(run, decisions(*rows), trusts, YEARS, recs)


def released(out, year: int = 2027) -> list[str]:
    named = out.named
    return named.loc[(named["year"] == year) & (named["action"] == "do not re-advertise"),
                     "national_post_number"].tolist()


def test_named_without_decisions_releases_the_first_post_by_number():
    out = named_review()
    assert released(out) == ["A/T1/1"]


def test_a_rejected_release_keeps_the_post_and_the_trust_gives_its_next():
    out = named_review(("A", 2027, "A/T1/1", "reject", "trainee returning", ""))
    assert released(out) == ["A/T1/2"]
    kept = out.named[(out.named["national_post_number"] == "A/T1/1") & (out.named["year"] == 2027)]
    assert kept["action"].tolist() == ["re-advertise"]
    assert kept["decision"].tolist() == ["rejected"]
    instead = out.named[(out.named["national_post_number"] == "A/T1/2")
                        & (out.named["year"] == 2027)]
    assert instead["decision"].tolist() == ["after rejection"]
    assert "A/T1/1 rejected by review (trainee returning)" in instead["decision_basis"].iat[0]
    assert out.outcomes["outcome"].iat[0] == "honoured"


def test_both_of_a_trusts_vacancies_rejected_the_next_trust_gives():
    out = named_review(("A", 2027, "A/T1/1", "reject", "x", ""),
                       ("A", 2027, "A/T1/2", "reject", "y", ""))
    assert released(out) == ["A/T2/1"]
    assert out.outcomes["outcome"].tolist() == ["honoured", "honoured"]


def test_a_proposed_post_is_released_in_place_of_the_rejected_one():
    out = named_review(("A", 2027, "A/T1/1", "propose", "x", "A/T2/1"))
    assert released(out) == ["A/T2/1"]
    row = out.named[(out.named["national_post_number"] == "A/T2/1")
                    & (out.named["year"] == 2027)].iloc[0]
    assert (row["decision"], row["to_area"]) == ("proposed", "B")
    assert out.outcomes["outcome"].iat[0] == "honoured"


def test_a_proposed_post_not_yet_vacant_is_a_finding_and_no_trainee_moves():
    # A/T1/3's last placement ends for the 2029 round: it cannot be released in 2027.
    out = named_review(("A", 2027, "A/T1/1", "propose", "x", "A/T1/3"))
    assert released(out) == ["A/T1/2"]
    o = out.outcomes.iloc[0]
    assert o["outcome"] == "not honoured"
    assert "does not fall vacant in 2027" in o["finding"]
    assert "A/T1/3" not in released(out)


def test_a_rejected_new_post_its_trust_receives_one_fewer():
    # B's only trust T9 (2 posts, capacity ceil(0.5 x 2) = 1) receives the 2027 post as a DRAFT
    # number; rejected, T9 can receive none: the post is a row with no trust (the office
    # chooses), and the named rows still add up.
    plain = named_review()
    new = plain.named[(plain.named["action"] == "new post") & (plain.named["year"] == 2027)]
    assert new["national_post_number"].tolist() == ["DRAFT/BBB/T9/010/2027-001"]
    out = named_review(("B", 2027, "DRAFT/BBB/T9/010/2027-001", "reject", "no supervisor", ""))
    new = out.named[(out.named["action"] == "new post") & (out.named["year"] == 2027)]
    assert new["org_code"].tolist() == [""] and new["number_status"].tolist() == ["to choose"]
    o = out.outcomes.iloc[0]
    assert (o["outcome"], o["target_change_before"], o["target_change_after"]) == (
        "honoured", 1, 0)


def test_a_post_number_without_records_is_a_finding():
    out = reviewed(("A", 2026, "A/T1/1", "reject", "x", ""))
    o = out.outcomes.iloc[0]
    assert o["outcome"] == "not honoured" and "need the post records" in o["finding"]


def test_the_named_rows_still_add_up_to_the_area_plan():
    out = named_review(("A", 2027, "A/T1/1", "reject", "x", ""),
                       ("A", 2027, "A/T1/2", "propose", "y", "A/T2/1"))
    sums = out.named.groupby(["area", "year"])["post_change"].sum()
    assert sums[("A", 2027)] == -1 and sums[("B", 2027)] == 1


# ------------------------------------------------------------------ the store converter


def test_from_store_reads_year_and_target_from_the_key():
    table = pd.DataFrame({"recommendation": ["London|Cardiology|2027|R1H"], "area": ["London"],
                          "specialty": ["Cardiology"], "decision": ["Propose"],
                          "reason": ["rota"], "proposed": ["RJZ"], "decided_by": [3]})
    out = from_store(table)
    assert out.iloc[0].to_dict() == {
        "recommendation": "London|Cardiology|2027|R1H", "area": "London",
        "specialty": "Cardiology", "year": 2027, "target": "R1H", "decision": "propose",
        "reason": "rota", "proposed": "RJZ"}


@pytest.mark.parametrize("key", ["London|Cardiology|twenty|R1H", "London|Cardiology|2027"])
def test_from_store_keeps_a_bad_key_for_a_finding(key: str):
    out = from_store(pd.DataFrame({"recommendation": [key], "decision": ["reject"]}))
    assert (out["year"].iat[0], out["target"].iat[0]) == (-1, "")


# ------------------------------------------------------------------ England: invariants


@pytest.fixture(scope="module")
def england():
    """The England default with a review that rejects, in 2027, the first giving trust of
    every area and specialty, and proposes another of the area's trusts in place of the first
    receiving one, and accepts the second giving trust."""
    from fairshare import Scenario, load_england
    from fairshare.inputs.corrections import corrected, corrected_trusts
    from fairshare.inputs.trusts import load_catchment, load_trusts, trust_minimums
    from fairshare.model.pipeline import run_plan
    from fairshare.model.trust_pipeline import reviewed_trust_plan, run_trust_plan

    bundle, sc = load_england(), Scenario()
    out = run_plan(bundle, sc)
    trusts = corrected_trusts(load_trusts(), corrected(bundle, sc))
    trusts["min_posts"] = trust_minimums(trusts, sc.trust_min_posts, None)
    basis = {s: "test" for s in bundle.specialties["specialty"]}
    before = run_trust_plan(bundle, sc, out, trusts, load_catchment(), basis)
    rows = []
    placed = before[(before["year"] == 2027) & (before["org_code"] != "")
                    & (before["kind"] == "redistribution")]
    for (area, spec), part in placed.groupby(["area", "specialty"]):
        orgs = part["org_code"].tolist()
        if part["change"].iat[0] < 0:
            rows.append((area, spec, orgs[0], "reject", "test", ""))
            if len(orgs) > 1:
                rows.append((area, spec, orgs[1], "accept", "", ""))
        else:
            others = sorted(set(trusts.loc[(trusts["area"] == area)
                                           & (trusts["specialty"] == spec), "org_code"])
                            - set(orgs))
            if others:
                rows.append((area, spec, orgs[0], "propose", "test", others[0]))
    table = pd.DataFrame([{"recommendation": f"{a}|{s}|2027|{t}", "area": a, "specialty": s,
                           "year": 2027, "target": t, "decision": d, "reason": r,
                           "proposed": p} for a, s, t, d, r, p in rows],
                         columns=DECISION_COLUMNS)
    done = reviewed_trust_plan(bundle, sc, out, trusts, load_catchment(), basis, table)
    return out.plan, trusts, table, done


def test_england_with_decisions_still_adds_up_to_the_area_plan(england):
    plan, _, table, done = england
    want = {(r.area, r.specialty, r.year): int(r.redistribution) + int(r.expansion)
            for r in plan.itertuples(index=False)}
    got: dict[tuple[str, str, int], int] = {}
    for r in done.trusts.itertuples(index=False):
        key = (r.area, r.specialty, int(r.year))
        got[key] = got.get(key, 0) + int(r.change)
    assert all(got.get(k, 0) == v for k, v in want.items())
    assert len(table) > 100  # the review touches many area x specialty rounds
    assert (done.trusts["decision"] != "").sum() > 100


def test_england_rejected_trusts_move_nothing_and_every_rule_still_holds(england):
    _, trusts, table, done = england
    after = done.trusts
    held = {(r.org_code, r.specialty): int(r.posts) for r in trusts.itertuples(index=False)}
    rejected = table[table["decision"] != "accept"]
    hit = after.merge(rejected[["area", "specialty", "year", "target"]].rename(
        columns={"target": "org_code"}), on=["area", "specialty", "year", "org_code"])
    assert hit.empty
    placed = after[(after["org_code"] != "") & (after["kind"] == "redistribution")]
    for (org, spec), rows in placed.sort_values("year").groupby(["org_code", "specialty"]):
        posts = held[(org, spec)]
        for r in rows.itertuples(index=False):
            assert r.posts_before == posts
            posts += int(r.change)
            if r.change < 0:
                assert -r.change <= r.vacancies and posts >= r.min_unit
            else:
                assert r.change <= r.capacity and r.posts_before > 0


def test_england_every_decision_has_an_outcome_and_accepts_keep_their_posts(england):
    _, _, table, done = england
    out = done.outcomes
    assert len(out) == len(table)
    assert out["recommendation"].tolist() == table["recommendation"].tolist()
    short = out[out["outcome"] != "honoured"]
    assert (short["finding"].str.len() > 0).all()
    rejected = out[out["decision"] == "reject"]
    assert (rejected["target_change_after"] == 0).all()
    accepted = out[(out["decision"] == "accept") & (out["outcome"] == "honoured")]
    assert (accepted["target_change_after"] == accepted["target_change_before"]).all()
    assert len(accepted) > 10


# ------------------------------------------------------------------ the decisions file

OFFICES = {"london": "London", "ldn": "London", "south west": "South West"}


@pytest.mark.parametrize(("text", "row", "column", "words"), [
    ("recommendation,decision,reason,proposed\nLondon|Cardiology|2027|R1X,reject,x,\n", 2,
     "recommendation", "did you mean 'R1H'"),
    ("recommendation,decision,reason,proposed\nLondon|Cardiology|2027|R1H,reject,,\n", 2,
     "reason", "needs a reason"),
    ("recommendation,decision,reason,proposed\nLondon|Cardiology|2027|R1H,propose,x,\n", 2,
     "proposed", "needs the proposed"),
    ("recommendation,decision,reason,proposed\nLondon|Cardiology|2027|R1H,propose,x,RJZZ\n",
     2, "proposed", "did you mean 'RJZ'"),
    ("recommendation,decision,reason,proposed\nLondon|Cardiology|2027|R1H,maybe,x,\n", 2,
     "decision", "expected accept, reject or propose"),
    ("recommendation,decision,reason,proposed\nLondon|Cardiolgy|2027|R1H,accept,,\n", 2,
     "recommendation", "did you mean 'Cardiology'"),
    ("recommendation,decision,reason,proposed\nLondn|Cardiology|2027|R1H,accept,,\n", 2,
     "recommendation", "did you mean 'London'"),
    ("recommendation,decision,reason,proposed\nLondon|Cardiology|R1H,accept,,\n", 2,
     "recommendation", "not a recommendation key"),
    ("recommendation,decision,reason,proposed\nLondon|Cardiology|2027|R1H,accept,,\n"
     "LDN|cardiology|2027|r1h,reject,x,\n", 3, "recommendation", "decided twice"),
    ("area,specialty,year,target,decision\nLondon,Cardiology,20x7,R1H,accept\n", 2, "year",
     "not a year"),
    ("recommendation,verdict\nLondon|Cardiology|2027|R1H,accept\n", 1, "decision",
     "required column missing"),
])
def test_a_bad_decisions_file_names_file_row_and_column(tmp_path, text, row, column, words):
    from fairshare.errors import InputError
    from fairshare.inputs.decisions import read_decisions

    path = tmp_path / "decisions.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_decisions(path, offices=OFFICES, specialties=[SPEC, "Urology"],
                       trusts=["R1H", "RJZ"])
    problem = err.value.problems[0]
    assert (problem.file, problem.row, problem.column) == (str(path), row, column)
    assert words in problem.message


def test_the_four_key_columns_and_the_key_read_alike(tmp_path):
    from fairshare.inputs.decisions import read_decisions

    a, b = tmp_path / "a.csv", tmp_path / "b.xlsx"
    a.write_text("recommendation,decision,reason,proposed\nLDN|cardiology|2027|r1h,Propose,"
                 "rota,rjz\n")
    pd.DataFrame({"area": ["London"], "specialty": ["Cardiology"], "year": [2027],
                  "target": ["R1H"], "decision": ["proposed"], "reason": ["rota"],
                  "proposed": ["RJZ"]}).to_excel(b, index=False)
    kw = {"offices": OFFICES, "specialties": [SPEC], "trusts": ["R1H", "RJZ"]}
    first, second = read_decisions(a, **kw), read_decisions(b, **kw)
    pd.testing.assert_frame_equal(first, second)
    assert first.iloc[0].to_dict() == {
        "recommendation": "London|Cardiology|2027|R1H", "area": "London",
        "specialty": "Cardiology", "year": 2027, "target": "R1H", "decision": "propose",
        "reason": "rota", "proposed": "RJZ"}


def test_the_command_refuses_a_bad_file_and_writes_nothing(tmp_path):
    from typer.testing import CliRunner

    from fairshare.cli import app

    bad = tmp_path / "d.csv"
    bad.write_text("recommendation,decision,reason,proposed\nLondon|Cardiology|2027|R1HH,"
                   "reject,x,\n")
    res = CliRunner().invoke(app, ["posts", "--horizon", "2027", "--decisions", str(bad),
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "row 2" in res.output and "did you mean 'R1H'" in res.output
    assert not (tmp_path / "out").exists()


def test_the_command_follows_the_template_and_records_its_digest(tmp_path):
    import hashlib
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from fairshare.cli import app

    template = Path(__file__).resolve().parents[1] / "examples" / "decisions_template.csv"
    res = CliRunner().invoke(app, ["posts", "--horizon", "2028", "--decisions", str(template),
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    digest = hashlib.sha256(template.read_bytes()).hexdigest()
    meta = json.loads((out / "run.json").read_text())
    assert meta["input_digests"]["decisions"] == digest
    assert meta["scenario"]["inputs"]["decisions"] == digest
    decided = pd.read_csv(out / "decisions.csv", keep_default_na=False)
    assert len(decided) == len(pd.read_csv(template))
    rows = pd.read_csv(out / "trust_posts.csv", keep_default_na=False)
    # The template's rejected trusts move nothing in their round; the proposal is used.
    for rec in decided[decided["decision"] != "accept"].itertuples(index=False):
        hit = rows[(rows["area"] == rec.area) & (rows["specialty"] == rec.specialty)
                   & (rows["year"] == rec.year) & (rows["org_code"] == rec.target)]
        assert hit.empty
    assert set(rows["decision"]) >= {"accepted", "proposed", "after rejection"}


# ------------------------------------------------------------------ SYNTHETIC records: replay


def _rounds_from_raw(placements) -> dict[str, int]:
    """Each post's first round read from the raw placement file with its own rule: a last
    Date To by 31 August frees the post for that year's round, else the next year's."""
    from datetime import date

    raw = pd.read_csv(placements, dtype=str, keep_default_na=False)
    out: dict[str, date] = {}
    for npn, text in zip(raw["National Post Number*"], raw["Date To*"], strict=True):
        day, month, year = (int(x) for x in text.split("/"))
        when = date(year, month, day)
        out[npn] = max(out.get(npn, when), when)
    return {k: d.year if d.month <= 8 else d.year + 1 for k, d in out.items()}


@pytest.fixture(scope="module")
def two_offices(tmp_path_factory):
    """North East and Wessex SYNTHETIC records, planned 2027-2031 without and with a review
    that rejects the first post released in 2027 of every area and specialty, and proposes in
    place of the second a post of the same unit that falls vacant only in 2028 (impossible)."""
    import sys
    from pathlib import Path

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

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from make_synthetic_tis import synthetic_records, write_set

    folder = tmp_path_factory.mktemp("review")
    write_set(folder, *synthetic_records(seed=3, areas=["North East", "Wessex"]))
    placements = folder / "SYNTHETIC_tis_placements.csv"
    base, orgs = load_england(), load_orgs()
    rec = read_post_records(folder / "SYNTHETIC_tis_posts.csv", placements,
                            list(base.specialties["specialty"]), orgs)
    posts = rec.posts.assign(org_name=rec.posts["org_code"].map(
        orgs.set_index("org_code")["org_name"]))
    sc = Scenario(plan_start=2027, horizon=2031)
    bundle = records_bundle(base, posts, "SYNTHETIC")
    trusts = records_trusts(posts, orgs, catchment_codes())
    trusts["min_posts"] = trust_minimums(trusts, sc.trust_min_posts, None)
    args = (bundle, sc, posts, trusts, load_catchment(),
            {s: "SYNTHETIC" for s in base.specialties["specialty"]},
            {o: c for o, (_, c) in OFFICE_OWNER.items()})
    plain = run_named_plan(*args)
    rounds = _rounds_from_raw(placements)
    gone = plain.named[(plain.named["year"] == 2027)
                       & (plain.named["action"] == "do not re-advertise")
                       & (plain.named["number_status"] == "record")]
    rows = []
    for (area, spec), part in gone.groupby(["area", "specialty"]):
        numbers = part["national_post_number"].tolist()
        rows.append((area, spec, numbers[0], "reject", "test", ""))
        later = [n for n in posts.loc[(posts["local_office"] == area)
                                      & (posts["specialty"] == spec), "national_post_number"]
                 if rounds.get(n) == 2028]
        if len(numbers) > 1 and later:
            rows.append((area, spec, numbers[1], "propose", "test", later[0]))
    table = pd.DataFrame([{"recommendation": f"{a}|{s}|2027|{t}", "area": a, "specialty": s,
                           "year": 2027, "target": t, "decision": d, "reason": r,
                           "proposed": p} for a, s, t, d, r, p in rows],
                         columns=DECISION_COLUMNS)
    return run_named_plan(*args, decisions=table), table, rounds, sc


def test_review_of_records_never_releases_a_post_before_its_last_placement(two_offices):
    from fairshare.inputs.bundle import load_england

    result, table, rounds, sc = two_offices
    specs = load_england().specialties
    length = dict(zip(specs["specialty"], specs["programme_years"].astype(int), strict=True))
    named = result.named
    rows = named[named["number_status"] == "record"].sort_values("year")
    for npn, part in rows.groupby("national_post_number"):
        years = part["year"].tolist()
        assert years[0] == max(rounds.get(npn, sc.plan_start), sc.plan_start), npn
        assert all(b - a == length[part["specialty"].iat[0]] for a, b in pairwise(years)), npn
    released = set(zip(named.loc[named["action"] == "do not re-advertise",
                                 "national_post_number"], named.loc[
        named["action"] == "do not re-advertise", "year"], strict=True))
    rejected = table[table["decision"] == "reject"]
    assert len(rejected) > 10
    assert not {(t, 2027) for t in rejected["target"]} & released


def test_review_of_records_adds_up_and_reports_the_impossible_proposals(two_offices):
    result, table, _, _ = two_offices
    plan = result.area.plan
    want = {(r.area, r.specialty, int(r.year)): int(r.redistribution) + int(r.expansion)
            for r in plan.itertuples(index=False) if r.area in ("North East", "Wessex")}
    got = result.named.groupby(["area", "specialty", "year"])["post_change"].sum()
    assert all(int(got.get(k, 0)) == v for k, v in want.items())
    out = result.review.outcomes
    assert len(out) == len(table)
    proposals = out[out["decision"] == "propose"]
    assert len(proposals) > 0
    assert (proposals["outcome"] == "not honoured").all()
    assert proposals["finding"].str.contains("never released before its last placement").all()


def test_a_rows_key_is_the_one_a_decision_uses_and_the_digest_ignores_row_order():
    out = reviewed()
    keys = recommendation_keys(out.before)
    t1 = out.before[out.before["org_code"] == "T1"].index[0]
    assert keys[t1] == f"A|{SPEC}|2026|T1"
    # Deciding on that key acts on that row.
    again = reviewed(("A", 2026, "T1", "reject", "x", ""))
    assert again.outcomes["recommendation"].iat[0] == keys[t1]
    assert again.outcomes["target_change_before"].iat[0] == out.before.loc[t1, "change"]
    two = decisions(("A", 2026, "T1", "reject", "x", ""), ("A", 2026, "T2", "accept", "", ""))
    assert decisions_digest(two) == decisions_digest(two.iloc[::-1])
    changed = two.assign(reason=["y", ""])
    assert decisions_digest(changed) != decisions_digest(two)
