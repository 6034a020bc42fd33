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
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fairshare.service import job_kinds
from fairshare.service.worker import Worker
from fairshare.store import db, returns
from fairshare.store import jobs as q
from fairshare.store.runs import RunStore
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


def test_a_run_job_uses_the_stored_returns_and_records_them(engine: Engine,
                                                             tmp_path: Path) -> None:
    lead = make_account(engine, "lola", "office_lead")
    ana = make_account(engine, "ana")
    cap = submit(engine, lead, "capacity", CAPACITY)
    coh = submit(engine, lead, "cohorts", COHORTS)
    job_id = enqueue(engine, "run", {"scenario": {"horizon": 2030},
                                     "returns": [cap.id, coh.id]}, ana)
    store = RunStore(tmp_path / "runs")
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


def test_the_uncertainty_job_reports_progress_per_chunk_and_matches_the_command() -> None:
    from fairshare.analysis.uncertainty import monte_carlo_intervals

    seen: list[float] = []
    ctx = job_kinds.JobContext(returns={}, report=lambda f, _m: seen.append(f))
    run = job_kinds.uncertainty_job({"draws": 600, "seed": 3}, ctx)
    assert len(seen) >= 4 and seen == sorted(seen) and seen[-1] == pytest.approx(0.98)
    sc = job_kinds.scenario_of({})
    direct = monte_carlo_intervals(job_kinds._bundle(sc), sc, sc.uncertainty, draws=600,
                                   seed=3)
    assert run.tables["uncertainty"].equals(direct.cells)
    assert run.metadata["draws"] == 600 and run.metadata["interval_covers"] == direct.coverage


_SIGTERM_WORKER = """
import logging, sys
from fairshare.service.worker import Worker
from fairshare.store import db
from fairshare.store.runs import RunStore
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
