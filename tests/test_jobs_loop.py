"""The service's loop (issue 17): an office's post records give a central run its cohorts, and
reviewers' decisions on the published plan steer the next run, which records them.

On both engines (the ``database_url`` fixture). The post records are SYNTHETIC
(scripts/make_synthetic_tis.py): North East's posts, every trainee's last placement made to end
no earlier than 31 July 2029, so the records say no North East post falls vacant before the
2029 round. The check re-reads the raw placement file with its own date rule, not the
importer's; and the same check on a run without the records must fail, so it can fail.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from fairshare.service import job_kinds
from fairshare.service.worker import Worker
from fairshare.store import db, returns
from fairshare.store import jobs as q
from fairshare.store.sql_runs import SqlRunStore
from tests.test_jobs_queue import make_account
from tests.test_jobs_worker import enqueue, job_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from make_synthetic_tis import synthetic_records, write_set

OFFICE = "North East"
SCENARIO = {"plan_start": 2027, "horizon": 2031}
LATEST = pd.Timestamp(2029, 7, 31)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.open_database(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, bytes]]:
    """North East's SYNTHETIC posts and placements (every post held), each post's last
    placement ending on 31 July 2029 at the earliest."""
    posts, placements = synthetic_records(seed=5, areas=[OFFICE], vacant_share=0)
    day = pd.to_datetime(placements["Date To*"], format="%d/%m/%Y")
    last = ~placements["National Post Number*"].duplicated(keep="last")
    placements.loc[last & (day < LATEST), "Date To*"] = LATEST.strftime("%d/%m/%Y")
    folder = tmp_path_factory.mktemp("tis")
    write_set(folder, posts, placements)
    return {role: (f"{role}.csv", (folder / f"SYNTHETIC_tis_{role}.csv").read_bytes())
            for role in ("posts", "placements")}


def vacant_by_round(files: dict[str, tuple[str, bytes]]) -> pd.DataFrame:
    """specialty, round, vacant: how many of the office's posts have fallen vacant by each
    round, from the raw files (a placement ending after August frees its post the next year;
    a post with no placement is vacant now)."""
    from io import BytesIO

    posts = pd.read_csv(BytesIO(files["posts"][1]), dtype=str)
    places = pd.read_csv(BytesIO(files["placements"][1]), dtype=str)
    ends = pd.to_datetime(places["Date To*"], format="%d/%m/%Y")
    last = ends.groupby(places["National Post Number*"]).max()
    freed = posts["National Post Number*"].map(last)
    frees = (freed.dt.year + (freed.dt.month > 8)).fillna(0)
    rows = [{"specialty": spec, "year": year, "vacant": int((frees[posts["Specialty*"] == spec]
                                                             <= year).sum())}
            for spec in posts["Specialty*"].unique() for year in range(2027, 2032)]
    return pd.DataFrame(rows)


def released_too_early(plan: pd.DataFrame, vacant: pd.DataFrame) -> pd.DataFrame:
    """Rows where the office has released (given away) more posts by a round than its records
    say have fallen vacant by then."""
    mine = plan[plan["area"] == OFFICE].sort_values(["specialty", "year"])
    mine = mine.assign(released=-mine["redistribution"].clip(upper=0))
    mine["released_by"] = mine.groupby("specialty")["released"].cumsum()
    both = mine.merge(vacant, on=["specialty", "year"], how="inner")
    return both[both["released_by"] > both["vacant"]]


def test_a_run_with_an_offices_post_records_never_releases_a_post_before_it_falls_vacant(
        engine: Engine, records: dict[str, tuple[str, bytes]]) -> None:
    lead, ana = make_account(engine, "nel", "office_lead"), make_account(engine, "ana")
    with engine.begin() as conn:
        stored = returns.submit(conn, office=OFFICE, kind="post_records", status="submitted",
                                files=records, account_id=lead, rows=10)
    store = SqlRunStore(engine)
    with_records = enqueue(engine, "run", {"scenario": SCENARIO, "returns": [stored.id]}, ana)
    without = enqueue(engine, "run", {"scenario": SCENARIO}, ana)
    assert Worker(engine, store, name="w").run(once=True) == 1
    assert Worker(engine, store, name="w").run(once=True) == 1
    runs = {}
    for job_id in (with_records, without):
        job = job_of(engine, job_id)
        assert job.status == "done" and job.result is not None, job.error
        runs[job_id] = job.result["run_id"]
    vacant = vacant_by_round(records)
    assert vacant.loc[vacant["year"] < 2029, "vacant"].eq(0).all()  # the records' premise
    plan = store.load_table(runs[with_records], "plan")
    assert released_too_early(plan, vacant).empty
    assert plan.loc[(plan["area"] == OFFICE) & (plan["year"] >= 2029), "redistribution"].lt(0).any()
    # the check can fail: the default vacancy rule releases North East posts in 2027
    control = store.load_table(runs[without], "plan")
    assert not released_too_early(control, vacant).empty
    meta = store.metadata(runs[with_records])
    [used] = meta["returns_used"]
    assert (used["id"], used["kind"], used["office"]) == (stored.id, "post_records", OFFICE)
    assert used["used_for"].startswith("cohorts") and "public baseline" in used["used_for"]
    assert meta["input_digests"][f"post_records return {OFFICE}"] == stored.digest


def test_a_run_refuses_a_cohorts_return_and_post_records_for_one_office(
        records: dict[str, tuple[str, bytes]]) -> None:
    def stored(return_id: int, kind: str, files: dict[str, tuple[str, bytes]]) -> object:
        return job_kinds.StoredReturn(id=return_id, office=OFFICE, kind=kind, version=1,
                                      status="submitted", digest="d", files=files)

    cohorts = {"cohorts": ("c.csv", b"local_office,specialty,completion_year,trainees\n"
                                    b"North East,Cardiology,2028,3\n")}
    ctx = job_kinds.JobContext(returns={1: stored(1, "cohorts", cohorts),  # type: ignore[dict-item]
                                        2: stored(2, "post_records", records)},
                               report=lambda f, m: None)
    with pytest.raises(job_kinds.JobParamsError, match=r"returns 1 and 2 both give North East's "
                       r"cohorts.*choose one"):
        job_kinds.run_job({"scenario": SCENARIO, "returns": [1, 2]}, ctx)


def test_post_records_of_another_office_are_refused_naming_the_return(
        records: dict[str, tuple[str, bytes]]) -> None:
    wrong = job_kinds.StoredReturn(id=7, office="Wessex", kind="post_records", version=2,
                                   status="submitted", digest="d", files=records)
    ctx = job_kinds.JobContext(returns={7: wrong}, report=lambda f, m: None)
    with pytest.raises(job_kinds.JobParamsError, match="Wessex's post records v2 "
                       r"\(return 7\) hold posts of other local offices: North East"):
        job_kinds.run_job({"scenario": SCENARIO, "returns": [7]}, ctx)


# ------------------------------------------------------------------ review decisions


def test_a_rejected_trust_no_longer_gives_posts_in_the_next_run_which_names_the_decision(
        database_url: str) -> None:
    """Through the pages: the analyst's run is published; Cardiology's reviewer rejects a
    trust that gives posts in a round; the analyst queues the next run on the jobs page; one
    worker pass makes it. Its trust split has that trust give nothing that round, the round
    still gives as many posts (the next trust gives), and run.json names the decision."""
    from fairshare.store import publications
    from tests.servicecase import make_case, page_csrf

    case = make_case(database_url)
    store = SqlRunStore(case.engine)
    analyst = case.client("analyst")
    first = analyst.post("/jobs", data={"csrf_token": page_csrf(analyst), "kind": "run",
                                        "horizon": "2030"})
    assert first.status_code == 303
    Worker(case.engine, store, name="w").run(once=True)  # the fixture's own queued job
    Worker(case.engine, store, name="w").run(once=True)
    with case.engine.connect() as conn:
        done = [j for j in q.list_jobs(conn, limit=10) if j.result and j.status == "done"]
    published_run = max(done, key=lambda j: j.id).result["run_id"]  # type: ignore[index]
    assert "trust_posts" not in store.get(published_run).tables  # no decisions yet
    with case.engine.begin() as conn:
        publications.publish(conn, run_id=published_run, title="Plan two", note="",
                             account_id=case.ids["analyst"])

    reviewer = case.client("reviewer")
    page = reviewer.get("/reviews").get_data(as_text=True)
    keys = re.findall(r'name="recommendation" value="([^"]+)"', page)
    from fairshare.inputs.decisions import parse_key

    # a recommendation on the page: a trust giving posts in a round in which another trust
    # of the area gives too (so the posts have somewhere else to come from)
    gives = _giving_rows(store, published_run)
    target = next(k for k in keys if (parsed := parse_key(k)) and parsed[3] in gives.get(
        parsed[:3], {}) and len(gives[parsed[:3]]) > 1)
    area, specialty, year, org = parse_key(target)  # type: ignore[misc]
    decided = reviewer.post("/reviews/decide", data={
        "csrf_token": page_csrf(reviewer), "recommendation": target, "decision": "reject",
        "reason": "the unit is being rebuilt"})
    assert decided.status_code == 303

    form = analyst.get("/jobs").get_data(as_text=True)
    assert "1 decision in force" in form and published_run in form
    second = analyst.post("/jobs", data={"csrf_token": page_csrf(analyst), "kind": "run",
                                         "horizon": "2030", "decisions": "published"})
    assert second.status_code == 303
    assert Worker(case.engine, store, name="w").run(once=True) == 1
    with case.engine.connect() as conn:
        newest = max(q.list_jobs(conn, limit=10), key=lambda j: j.id)
    assert newest.status == "done" and newest.result is not None, newest.error
    run_id = newest.result["run_id"]
    split = store.load_table(run_id, "trust_posts")
    this_round = split[(split["area"] == area) & (split["specialty"] == specialty)
                       & (split["year"] == year)]
    assert this_round.loc[this_round["org_code"] == org, "change"].eq(0).all()
    was = gives[(area, specialty, year)]
    assert this_round.loc[this_round["change"] < 0, "change"].sum() == sum(was.values())
    assert (this_round["decision"] == "after rejection").any()
    outcomes = store.load_table(run_id, "decisions")
    assert list(outcomes["recommendation"]) == [target]
    assert list(outcomes["outcome"]) == ["honoured"]
    assert store.get(run_id).name.endswith(", 1 review decision")
    meta = store.metadata(run_id)
    used = meta["decisions_used"]
    assert (used["from_run"], used["count"]) == (published_run, 1)
    [named] = used["decisions"]
    assert (named["recommendation"], named["decision"], named["reason"], named["decided_by"],
            named["outcome"]) == (target, "reject", "the unit is being rebuilt", "reviewer",
                                  "honoured")
    assert meta["scenario"]["inputs"]["decisions"] == used["digest"]

    # the new run published: the reviews page shows its stored split and says what made it
    with case.engine.begin() as conn:
        publications.publish(conn, run_id=run_id, title="Plan three", note="",
                             account_id=case.ids["analyst"])
    shown = reviewer.get("/reviews").get_data(as_text=True)
    assert "made with 1 review decision recorded on run" in shown and published_run in shown
    assert "after rejection" in shown and "decision_basis" in shown


def _giving_rows(store: SqlRunStore, run_id: str) -> dict[tuple[str, str, int], dict[str, int]]:
    """Cardiology's trusts giving posts per area × round in a stored run, recomputed as
    ``fairshare posts`` shares a plan (the run stores no split without decisions)."""
    from fairshare import Scenario
    from fairshare.inputs.bundle import load_data
    from fairshare.inputs.corrections import corrected, corrected_trusts
    from fairshare.inputs.trusts import load_catchment, load_trusts, trust_basis, trust_minimums
    from fairshare.model.pipeline import PlanOutput
    from fairshare.model.trust_pipeline import run_trust_plan

    sc = Scenario.model_validate(store.metadata(run_id)["scenario"])
    bundle = corrected(load_data(None), sc)
    plan, tgt = store.load_table(run_id, "plan"), store.load_table(run_id, "targets")
    out = PlanOutput(targets=tgt[tgt["specialty"] == "Cardiology"],
                     plan=plan[plan["specialty"] == "Cardiology"], findings=pd.DataFrame(),
                     status="")
    trusts = corrected_trusts(load_trusts(), bundle)
    trusts = trusts[trusts["specialty"] == "Cardiology"].copy()
    trusts["min_posts"] = trust_minimums(trusts, sc.trust_min_posts, None)
    rows = run_trust_plan(bundle, sc, out, trusts, load_catchment(), trust_basis(bundle))
    gives: dict[tuple[str, str, int], dict[str, int]] = {}
    for r in rows[(rows["change"] < 0) & (rows["org_code"] != "")].itertuples():
        gives.setdefault((str(r.area), str(r.specialty), int(r.year)), {})[str(r.org_code)] = \
            int(r.change)
    return gives


def test_the_jobs_form_offers_post_records_and_refuses_two_cohort_sources(
        database_url: str, records: dict[str, tuple[str, bytes]]) -> None:
    """North East has a submitted cohort return and submitted post records: both are offered,
    the records unticked to start with; ticking both is refused on the form, naming both."""
    from fairshare.store import returns as stored
    from tests.servicecase import make_case, page_csrf

    case = make_case(database_url)
    with case.engine.begin() as conn:
        coh = stored.submit(conn, office=OFFICE, kind="cohorts", status="submitted", rows=1,
                            files={"cohorts": ("c.csv", b"local_office,specialty,completion_"
                                               b"year,trainees\nNorth East,Cardiology,2028,3\n")},
                            account_id=case.ids["lead_ne"])
        rec = stored.submit(conn, office=OFFICE, kind="post_records", status="submitted",
                            rows=10, files=records, account_id=case.ids["lead_ne"])
    analyst = case.client("analyst")
    form = analyst.get("/jobs").get_data(as_text=True)
    ticked = dict(re.findall(r'id="return-(\d+)" name="returns" value="\d+"( checked)?', form))
    assert ticked[str(coh.id)] == " checked" and ticked[str(rec.id)] == ""
    refused = analyst.post("/jobs", data={"csrf_token": page_csrf(analyst), "kind": "run",
                                          "returns": [str(coh.id), str(rec.id)]})
    assert refused.status_code == 200
    assert (f"Returns {coh.id} and {rec.id} both give North East&#39;s cohorts"
            in refused.get_data(as_text=True))
    queued = analyst.post("/jobs", data={"csrf_token": page_csrf(analyst), "kind": "run",
                                         "returns": [str(rec.id)]})
    assert queued.status_code == 303


@pytest.mark.parametrize(("given", "expect"), [
    ("20990101000000-nosuch", "job parameter 'decisions_from': run '20990101000000-nosuch' "
                              "is not in the service's database"),
    (17, "job parameter 'decisions_from' must be a stored run's id, or null for no review "
         "decisions, not 17")])
def test_a_bad_decisions_from_fails_the_job_saying_so(engine: Engine, given: object,
                                                      expect: str) -> None:
    ana = make_account(engine, "ana")
    job_id = enqueue(engine, "run", {"scenario": SCENARIO, "decisions_from": given}, ana)
    Worker(engine, SqlRunStore(engine), name="w").run(once=True)
    job = job_of(engine, job_id)
    assert (job.status, job.error) == ("failed", expect)
