"""The worker end to end, on SQLite and PostgreSQL: a queued run job with stored returns
becomes a stored run that records the returns it used; a failing job shows the planner a
message, never a traceback; SIGTERM gives the running job back to the queue.

Checked against what the test itself put in (the return's file and bytes, hashed here), not
against the worker's own report.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from fairshare.service import job_kinds
from fairshare.service.worker import Worker
from fairshare.store import db, returns
from fairshare.store import jobs as q
from fairshare.store.runs import RunStore
from fairshare.store.sql_runs import SqlRunStore
from tests.test_jobs_queue import SRC, make_account

# London's capacity return: 17 Cardiology posts a year (the default would be ~10% of its posts)
CAPACITY = b"local_office,specialty,year,capacity\nLondon,Cardiology,,17\n"
COHORTS = (Path(__file__).resolve().parents[1] / "examples" / "trainees_example.csv").read_bytes()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.open_database(database_url)
    yield engine
    engine.dispose()


def submit(engine: Engine, account: int, kind: str, data: bytes,
           status: str = "submitted") -> returns.ReturnRecord:
    role = "capacity" if kind == "capacity" else "cohorts"
    with engine.begin() as conn:
        return returns.submit(conn, office="London", kind=kind, status=status,
                              files={role: (f"{kind}.csv", data)}, account_id=account,
                              rows=data.count(b"\n") - 1)


def enqueue(engine: Engine, kind: str, params: dict[str, object], account: int) -> int:
    with engine.begin() as conn:
        return q.enqueue(conn, kind, params, account)


def job_of(engine: Engine, job_id: int) -> q.Job:
    with engine.connect() as conn:
        job = q.get(conn, job_id)
    assert job is not None
    return job


def test_a_run_job_uses_the_stored_returns_and_records_them(engine: Engine) -> None:
    lead = make_account(engine, "lola", "office_lead")
    ana = make_account(engine, "ana")
    cap = submit(engine, lead, "capacity", CAPACITY)
    coh = submit(engine, lead, "cohorts", COHORTS)
    job_id = enqueue(engine, "run", {"scenario": {"horizon": 2030},
                                     "returns": [cap.id, coh.id]}, ana)
    store = SqlRunStore(engine)  # the run goes into the service's database
    assert Worker(engine, store, name="w1").run(once=True) == 1
    job = job_of(engine, job_id)
    assert (job.status, job.progress, job.error) == ("done", 1.0, None)
    assert job.result is not None
    meta = store.metadata(job.result["run_id"])
    # the digest a return carries is SHA-256 over "role:sha256(bytes)" lines (store/returns.py)
    expect = {kind: hashlib.sha256(f"{kind}:{hashlib.sha256(data).hexdigest()}\n".encode())
              .hexdigest() for kind, data in (("capacity", CAPACITY), ("cohorts", COHORTS))}
    assert meta["returns_used"] == [
        {"id": cap.id, "office": "London", "kind": "capacity", "version": 1,
         "status": "submitted", "digest": expect["capacity"]},
        {"id": coh.id, "office": "London", "kind": "cohorts", "version": 1,
         "status": "submitted", "digest": expect["cohorts"]}]
    assert meta["input_digests"]["capacity return London"] == expect["capacity"]
    assert meta["job"] == {"id": job_id, "kind": "run"}
    assert meta["scenario"]["horizon"] == 2030
    plan = store.load_table(job.result["run_id"], "plan")
    london = plan[(plan["area"] == "London") & (plan["specialty"] == "Cardiology")]
    assert len(london) > 0 and set(london["capacity"]) == {17}  # the return's figure
    others = plan[(plan["area"] == "London") & (plan["specialty"] == "Dermatology")]
    assert 17 not in set(others["capacity"])


def test_a_failing_job_shows_its_message_not_a_traceback(engine: Engine,
                                                         tmp_path: Path) -> None:
    lead = make_account(engine, "lola", "office_lead")
    ana = make_account(engine, "ana")
    draft = submit(engine, lead, "capacity", CAPACITY, status="draft")
    job_id = enqueue(engine, "run", {"returns": [draft.id]}, ana)
    store = RunStore(tmp_path / "runs")
    assert Worker(engine, store, name="w1").run(once=True) == 0
    job = job_of(engine, job_id)
    assert job.status == "failed"
    assert job.error == (f"London's capacity return v1 (return {draft.id}) is a draft: a run "
                         "uses submitted returns only")
    assert store.list().empty
    bad = enqueue(engine, "uncertainty", {"draws": 0}, ana)
    Worker(engine, store, name="w1").run(once=True)
    assert job_of(engine, bad).error == ("job parameter 'draws' must be a whole number from 1 "
                                         "to 1,000,000, not 0")


def test_an_internal_error_is_logged_with_its_traceback_but_the_page_gets_words(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    ana = make_account(engine, "ana")

    def broken(params: object, ctx: object) -> None:
        raise KeyError("/srv/secret/path")

    monkeypatch.setitem(job_kinds.KINDS, "calibrate", broken)
    job_id = enqueue(engine, "calibrate", {}, ana)
    with caplog.at_level(logging.ERROR, logger="fairshare.worker"):
        Worker(engine, RunStore(tmp_path / "runs"), name="w1").run(once=True)
    job = job_of(engine, job_id)
    assert job.status == "failed" and job.error is not None
    assert "internal error (KeyError)" in job.error and f"job {job_id}" in job.error
    assert "secret" not in job.error and "Traceback" not in job.error
    assert "Traceback" in caplog.text and "/srv/secret/path" in caplog.text


@pytest.mark.filterwarnings("ignore")  # Dask's in-process cluster is noisy on shutdown
def test_the_uncertainty_job_reports_progress_per_chunk_and_matches_the_command() -> None:
    """Serially and on a Dask cluster (as a worker with --dask), the job's intervals are the
    command's, and progress moves forward chunk by chunk."""
    distributed = pytest.importorskip("distributed")
    from fairshare.analysis.uncertainty import monte_carlo_intervals

    sc = job_kinds.scenario_of({})
    direct = monte_carlo_intervals(job_kinds._bundle(sc), sc, sc.uncertainty, draws=600,
                                   seed=3)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as cluster:
        for dask in (None, cluster.scheduler.address):
            seen: list[float] = []
            ctx = job_kinds.JobContext(returns={}, report=lambda f, _m, s=seen: s.append(f),
                                       dask=dask)
            run = job_kinds.uncertainty_job({"draws": 600, "seed": 3}, ctx)
            assert len(seen) >= 4 and seen == sorted(seen) and seen[-1] == pytest.approx(0.98)
            assert run.tables["uncertainty"].equals(direct.cells), dask
            assert run.metadata["interval_covers"] == direct.coverage


def test_a_running_job_cancelled_stops_and_stores_nothing(engine: Engine,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ana = make_account(engine, "ana")

    def cancelled_midway(params: object, ctx: job_kinds.JobContext) -> None:
        ctx.report(0.3, "working")
        with engine.begin() as conn:  # an analyst presses "Cancel this job" now
            q.cancel(conn, job_id, ana)
        ctx.report(0.6, "still working")  # the worker learns here, and stops
        raise AssertionError("the job should have been stopped")

    monkeypatch.setitem(job_kinds.KINDS, "calibrate", cancelled_midway)
    job_id = enqueue(engine, "calibrate", {}, ana)
    store = SqlRunStore(engine)
    assert Worker(engine, store, name="w1").run(once=True) == 0
    job = job_of(engine, job_id)
    assert (job.status, job.progress, job.error) == ("cancelled", 0.3, None)
    assert store.list().empty


_SIGTERM_WORKER = """
import logging, sys
from fairshare.service.worker import Worker
from fairshare.store import db
from fairshare.store.runs import RunStore
from fairshare.store.sql_runs import SqlRunStore
logging.basicConfig(level=logging.INFO)
engine = db.open_database(sys.argv[1], migrate=False)
print(Worker(engine, RunStore(sys.argv[2]), name="w-term", heartbeat_every=0.5).run(once=True),
      flush=True)
"""


def test_sigterm_gives_the_running_job_back_to_the_queue(engine: Engine, database_url: str,
                                                         tmp_path: Path) -> None:
    ana = make_account(engine, "ana")
    job_id = enqueue(engine, "uncertainty", {"draws": 1_000_000}, ana)
    store = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-c", _SIGTERM_WORKER, database_url, str(store)],
                            env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while job_of(engine, job_id).progress <= 0.02 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    assert job_of(engine, job_id).status == "running"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == 0  # no job finished
    job = job_of(engine, job_id)
    assert (job.status, job.worker, job.attempts, job.progress) == ("queued", None, 0, 0.0)
    assert "stopped before finishing" in (job.message or "")
    assert RunStore(store).list().empty  # nothing half-stored


def test_the_worker_command_runs_one_job(engine: Engine, database_url: str,
                                         tmp_path: Path) -> None:
    ana = make_account(engine, "ana")
    job_id = enqueue(engine, "run", {"scenario": {"horizon": 2028}, "name": "cli job"}, ana)
    done = subprocess.run(
        [sys.executable, "-m", "fairshare.cli", "service", "worker", "--once", "--database",
         database_url], env={**os.environ, "PYTHONPATH": SRC, "FAIRSHARE_HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "stopped: 1 job taken: 1 done" in done.stdout
    job = job_of(engine, job_id)
    assert job.status == "done" and job.result is not None
    record = SqlRunStore(engine).get(job.result["run_id"])
    assert record.name == "cli job" and job.result["name"] == "cli job"
    assert not (tmp_path / "runs").exists()  # nothing went to the file run store


def test_a_run_stored_for_a_job_lost_at_the_last_moment_is_deleted(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    ana = make_account(engine, "ana")
    job_id = enqueue(engine, "run", {"scenario": {"horizon": 2028}}, ana)
    store = SqlRunStore(engine)
    saved: list[str] = []
    real_save = store.save

    def save_and_note(*args: object, **kwargs: object) -> object:
        record = real_save(*args, **kwargs)  # type: ignore[arg-type]
        saved.append(record.id)
        with engine.begin() as conn:  # cancelled just after its run was stored
            q.cancel(conn, job_id, ana)
        return record

    monkeypatch.setattr(store, "save", save_and_note)
    assert Worker(engine, store, name="w1").run(once=True) == 0
    assert len(saved) == 1 and store.list().empty  # stored, then deleted: no orphan run
    assert job_of(engine, job_id).status == "cancelled"


def test_compare_says_which_return_changed_between_two_runs(engine: Engine) -> None:
    from fairshare.store.compare import explain

    lead = make_account(engine, "lola", "office_lead")
    ana = make_account(engine, "ana")
    store = SqlRunStore(engine)
    run_ids = []
    for figure in (b"17", b"19"):  # London's capacity return, version 1 then version 2
        used = submit(engine, lead, "capacity", CAPACITY.replace(b"17", figure))
        job_id = enqueue(engine, "run", {"scenario": {"horizon": 2028},
                                         "returns": [used.id]}, ana)
        Worker(engine, store, name="w").run(once=True)
        result = job_of(engine, job_id).result
        assert result is not None
        run_ids.append(result["run_id"])
    first, second = (store.metadata(r) for r in run_ids)
    assert [u["version"] for u in (*first["returns_used"], *second["returns_used"])] == [1, 2]
    lines = explain(first, second)
    changed = [x for x in lines if x.startswith("capacity return London file changed")]
    assert len(changed) == 1, lines


def test_the_calibrate_job_fits_as_the_command_does() -> None:
    from fairshare.analysis.calibrate import calibrate, read_published

    example = Path(__file__).resolve().parents[1] / "examples" / \
        "calibration_published_example.csv"
    rows = pd.read_csv(example).to_dict("records")
    seen: list[float] = []
    run = job_kinds.calibrate_job({"published": rows, "seed": 1},
                                  job_kinds.JobContext(returns={}, report=lambda f, _m:
                                                       seen.append(f)))
    sc = job_kinds.scenario_of({})
    bundle = job_kinds._bundle(sc)
    direct = calibrate(bundle, sc, read_published(str(example), bundle), seed=1)
    assert run.metadata["rmse_after"] == pytest.approx(direct.rmse_after)
    pd.testing.assert_frame_equal(run.tables["calibration_parameters"], direct.parameters)
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
    assert run.metadata["input_digests"]["calibration"] == digest
    assert seen == sorted(seen)
    with pytest.raises(job_kinds.JobParamsError, match="'published' must be a list of rows"):
        job_kinds.calibrate_job({"published": "london.csv"}, job_kinds.JobContext(
            returns={}, report=lambda f, _m: None))


def test_a_run_job_plans_what_fairshare_run_plans_with_the_same_file(tmp_path: Path) -> None:
    """The run job and `fairshare run --capacity FILE --horizon 2030` (its compute_plan) give
    the same targets and plan; only the scenario's name and input labels differ."""
    from fairshare.cli.common import PlanInputs, compute_plan

    path = tmp_path / "capacity.csv"
    path.write_bytes(CAPACITY)
    _, _, cli = compute_plan(PlanInputs(capacity=path, horizon=2030))
    stored = job_kinds.StoredReturn(id=7, office="London", kind="capacity", version=3,
                                    status="submitted", digest="d" * 64,
                                    files={"capacity": ("capacity.csv", CAPACITY)})
    run = job_kinds.run_job({"scenario": {"horizon": 2030}, "returns": [7]},
                            job_kinds.JobContext(returns={7: stored}, report=lambda f, m: None))
    for name, theirs in (("targets", cli.targets), ("plan", cli.plan)):
        ours = run.tables[name]
        same = [c for c in theirs.columns if c not in ("scenario", "scenario_digest", "basis")]
        assert list(ours.columns) == list(theirs.columns)
        pd.testing.assert_frame_equal(ours[same].reset_index(drop=True),
                                      theirs[same].reset_index(drop=True))
    assert run.metadata["returns_used"][0]["version"] == 3


def test_a_database_that_does_not_answer_is_said_and_retried(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy import create_engine

    from fairshare.service import worker as worker_module

    gone = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none",
                         connect_args={"connect_timeout": 2})
    with pytest.raises(db.DatabaseError, match="the database did not answer"):
        Worker(gone, RunStore(tmp_path), name="w").run(once=True)
    monkeypatch.setattr(worker_module, "RETRY_AFTER", 0.1)
    looping = Worker(gone, RunStore(tmp_path), name="w")
    with caplog.at_level(logging.ERROR, logger="fairshare.worker"):
        thread = threading.Thread(target=looping.run)
        thread.start()
        time.sleep(1.0)
        looping.stop()
        thread.join(timeout=30)
    assert not thread.is_alive()  # it kept trying, and stopped when asked
    assert caplog.text.count("the database did not answer; trying again") >= 2
    gone.dispose()


def test_a_bad_return_fails_the_run_naming_the_return_row_and_column(
        engine: Engine, tmp_path: Path) -> None:
    lead = make_account(engine, "lola", "office_lead")
    ana = make_account(engine, "ana")
    bad = submit(engine, lead, "capacity", CAPACITY.replace(b",17", b",lots"))
    job_id = enqueue(engine, "run", {"returns": [bad.id]}, ana)
    Worker(engine, SqlRunStore(engine), name="w").run(once=True)
    error = job_of(engine, job_id).error
    assert error == ("1 problem found:\n  - London's capacity return v1 (capacity.csv), row 2, "
                     "column 'capacity': 'lots' is not a number: expected a whole number of "
                     "posts")


@pytest.mark.parametrize(("counted", "first_round"), [("2027-03-01", 2027),
                                                      ("2027-09-01", 2028)])
def test_a_run_starts_at_the_next_round_after_the_establishment_was_counted(
        counted: str, first_round: int) -> None:
    """Recruitment rounds are in August: posts counted in March 2027 are first moved in
    August 2027, posts counted in September 2027 in August 2028. A scenario's own plan_start
    is kept; the name says the start moved, as `fairshare run` names it."""
    from dataclasses import replace

    params = {"scenario": {"horizon": 2035}}
    sc = job_kinds.scenario_of(params, named=False)
    bundle = replace(job_kinds._bundle(sc), posts_date=counted)
    started = job_kinds.name_of(job_kinds.dated(bundle, sc), params)
    assert started.plan_start == first_round
    assert started.name == f"plan start {first_round}, horizon 2035"
    fixed = job_kinds.scenario_of({"scenario": {"plan_start": 2030}}, named=False)
    assert job_kinds.dated(bundle, fixed).plan_start == 2030


def test_a_worker_takes_over_a_dead_workers_job(engine: Engine) -> None:
    ana = make_account(engine, "ana")
    job_id = enqueue(engine, "run", {"scenario": {"horizon": 2028}}, ana)
    assert q.claim(engine, "ghost") is not None  # taken by a worker that then died
    time.sleep(0.05)
    rescuer = Worker(engine, SqlRunStore(engine), name="rescuer", stale_after=timedelta(0))
    assert rescuer.run(once=True) == 1
    job = job_of(engine, job_id)
    assert (job.status, job.worker, job.attempts) == ("done", "rescuer", 2)
