"""The job queue's invariants on SQLite and PostgreSQL (store/jobs.py).

Checked against what the database holds and against independent bookkeeping, not against the
queue's own answers: every queued job is claimed by exactly one of several competing workers
(threads, and separate processes that share nothing but the database); a worker killed with
SIGKILL mid-job has its job requeued and finished by another; progress only moves forward.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from fairshare.store import audit, db
from fairshare.store import jobs as q
from fairshare.store.schema import accounts, jobs

SRC = str(Path(q.__file__).resolve().parents[2])


def make_account(engine: Engine, username: str = "ana", role: str = "analyst") -> int:
    with engine.begin() as conn:
        now = audit.now()
        return int(conn.execute(accounts.insert().values(
            username=username, display_name=username.title(), role=role, active=True,
            failed_logins=0, created_at=now, updated_at=now).returning(accounts.c.id))
            .scalar_one())


def queue_jobs(engine: Engine, n: int, account: int) -> list[int]:
    with engine.begin() as conn:
        return [q.enqueue(conn, "run", {"n": i}, account) for i in range(n)]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.open_database(database_url)
    yield engine
    engine.dispose()  # close pooled connections before the test server stops


def test_a_job_goes_from_queued_to_done_and_every_step_is_audited(engine: Engine) -> None:
    ana = make_account(engine)
    [job_id] = queue_jobs(engine, 1, ana)
    job = q.claim(engine, "w1")
    assert job is not None and (job.id, job.status, job.worker, job.attempts) == (
        job_id, "running", "w1", 1)
    assert job.params == {"n": 0}
    assert q.claim(engine, "w2") is None  # nothing else is queued
    assert q.finish(engine, job_id, {"run_id": "r1"}, worker="w1")
    with engine.connect() as conn:
        done = q.get(conn, job_id)
        log = audit.entries(conn)
    assert done is not None and (done.status, done.progress, done.result) == (
        "done", 1.0, {"run_id": "r1"})
    assert done.finished_at is not None and done.finished_at.tzinfo is not None
    assert log[["actor", "action", "target"]].values.tolist() == [
        ["ana", "job_queued", f"job {job_id}"], ["worker w1", "job_finished", f"job {job_id}"]]


def test_bad_jobs_are_refused_with_the_reason(engine: Engine) -> None:
    ana = make_account(engine)
    with pytest.raises(q.JobError, match="not known"), engine.begin() as conn:
        q.enqueue(conn, "mine_bitcoin", {}, ana)
    with pytest.raises(q.JobError, match="plain JSON"), engine.begin() as conn:
        q.enqueue(conn, "run", {"draws": float("nan")}, ana)
    with pytest.raises(q.JobError, match="account 999"), engine.begin() as conn:
        q.enqueue(conn, "run", {}, 999)
    with engine.connect() as conn:
        assert q.list_jobs(conn) == []


def _claim_all(engine: Engine, worker: str, got: list[int]) -> None:
    while (job := q.claim(engine, worker)) is not None:
        got.append(job.id)
        q.finish(engine, job.id, {"by": worker}, worker=worker)


def test_threads_never_claim_the_same_job(engine: Engine) -> None:
    ana = make_account(engine)
    queued = queue_jobs(engine, 60, ana)
    got: dict[str, list[int]] = {f"t{i}": [] for i in range(4)}
    threads = [threading.Thread(target=_claim_all, args=(engine, w, ids))
               for w, ids in got.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    claimed = Counter(itertools.chain.from_iterable(got.values()))
    assert sorted(claimed) == queued and set(claimed.values()) == {1}
    with engine.connect() as conn:
        rows = conn.execute(select(jobs.c.id, jobs.c.status, jobs.c.worker, jobs.c.attempts,
                                   jobs.c.result)).all()
    owner = {job_id: w for w, ids in got.items() for job_id in ids}
    assert all(r.status == "done" and r.attempts == 1 and r.worker == owner[r.id]
               and r.result == {"by": owner[r.id]} for r in rows)


_WORKER = """
import json, sys, time
from fairshare.store import db, jobs as q
engine = db.engine_for(sys.argv[1])
name, mode = sys.argv[2], sys.argv[3]
got = []
while (job := q.claim(engine, name)) is not None:
    got.append(job.id)
    if mode == "hang":
        print(json.dumps(got), flush=True)
        time.sleep(600)
    q.finish(engine, job.id, {"by": name}, worker=name)
print(json.dumps(got), flush=True)
"""


def _worker_process(url: str, name: str, mode: str = "all") -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen([sys.executable, "-c", _WORKER, url, name, mode], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_processes_never_claim_the_same_job(engine: Engine, database_url: str) -> None:
    ana = make_account(engine)
    queued = queue_jobs(engine, 60, ana)
    procs = [_worker_process(database_url, f"p{i}") for i in range(3)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    got = [json.loads(o) for o, _ in outs]
    claimed = Counter(itertools.chain.from_iterable(got))
    assert sorted(claimed) == queued and set(claimed.values()) == {1}
    with engine.connect() as conn:
        assert {j.status for j in q.list_jobs(conn)} == {"done"}


def test_a_killed_workers_job_is_requeued_and_finishes(engine: Engine,
                                                       database_url: str) -> None:
    ana = make_account(engine)
    [job_id] = queue_jobs(engine, 1, ana)
    dying = _worker_process(database_url, "doomed", "hang")
    assert dying.stdout is not None
    assert json.loads(dying.stdout.readline()) == [job_id]  # it holds the job
    dying.send_signal(signal.SIGKILL)
    dying.communicate(timeout=30)
    assert q.requeue_stale(engine, timedelta(minutes=5)) == []  # its heartbeat is recent
    time.sleep(0.05)
    assert q.requeue_stale(engine, timedelta(0)) == [job_id]
    with engine.connect() as conn:
        back = q.get(conn, job_id)
    assert back is not None and (back.status, back.worker, back.attempts) == (
        "queued", None, 1)
    assert back.message is not None and "doomed stopped answering" in back.message
    job = q.claim(engine, "rescuer")
    assert job is not None and (job.id, job.attempts) == (job_id, 2)
    # the dead worker, were it to wake, could no longer write over the job
    assert not q.finish(engine, job_id, {"by": "doomed"}, worker="doomed")
    with pytest.raises(q.JobLost, match="running by rescuer"):
        q.progress(engine, job_id, 0.9, worker="doomed")
    assert q.finish(engine, job_id, {"by": "rescuer"}, worker="rescuer")
    with engine.connect() as conn:
        done = q.get(conn, job_id)
        actions = audit.entries(conn)["action"].tolist()
    assert done is not None and (done.status, done.result) == ("done", {"by": "rescuer"})
    assert actions == ["job_queued", "job_requeued", "job_finished"]


def test_a_job_whose_workers_keep_dying_is_failed_not_retried_for_ever(engine: Engine) -> None:
    ana = make_account(engine)
    [job_id] = queue_jobs(engine, 1, ana)
    for attempt in range(1, q.MAX_ATTEMPTS + 1):
        job = q.claim(engine, f"w{attempt}")
        assert job is not None and job.attempts == attempt
        time.sleep(0.01)
        assert q.requeue_stale(engine, timedelta(0)) == [job_id]
    with engine.connect() as conn:
        failed = q.get(conn, job_id)
    assert failed is not None and failed.status == "failed"
    assert failed.error is not None and f"{q.MAX_ATTEMPTS} times" in failed.error
    assert q.claim(engine, "w9") is None


def test_a_clean_stop_gives_the_job_back_without_counting_an_attempt(engine: Engine) -> None:
    ana = make_account(engine)
    [job_id] = queue_jobs(engine, 1, ana)
    job = q.claim(engine, "w1")
    assert job is not None
    q.progress(engine, job_id, 0.4, "half way", worker="w1")
    assert q.release(engine, job_id, worker="w1")
    again = q.claim(engine, "w2")
    assert again is not None and (again.id, again.attempts, again.progress) == (job_id, 1, 0.0)


def test_progress_only_moves_forward(engine: Engine) -> None:
    ana = make_account(engine)
    [job_id] = queue_jobs(engine, 1, ana)
    assert q.claim(engine, "w") is not None
    rng = random.Random(17)
    reported = [rng.uniform(-0.2, 1.2) for _ in range(25)]
    seen = []
    for i, value in enumerate(reported):
        q.progress(engine, job_id, value, f"step {i}", worker="w")
        with engine.connect() as conn:
            job = q.get(conn, job_id)
        assert job is not None and job.message == f"step {i}"
        seen.append(job.progress)
    # independently: the running maximum of the reports, each clamped to 0..1
    expected = list(itertools.accumulate([min(1.0, max(0.0, v)) for v in reported], max))
    assert seen == pytest.approx(expected)
    with pytest.raises(ValueError, match="from 0 to 1"):
        q.progress(engine, job_id, float("nan"), worker="w")


def test_a_cancelled_job_is_never_taken_and_its_worker_is_told(engine: Engine) -> None:
    ana = make_account(engine)
    first, second = queue_jobs(engine, 2, ana)
    with engine.begin() as conn:
        assert q.cancel(conn, first, ana)
    job = q.claim(engine, "w")
    assert job is not None and job.id == second  # the cancelled one is passed over
    with engine.begin() as conn:
        assert q.cancel(conn, second, ana)
    with pytest.raises(q.JobLost, match="cancelled"):
        q.progress(engine, second, 0.5, worker="w")
    assert not q.finish(engine, second, {"run_id": "x"}, worker="w")
    with engine.begin() as conn:
        assert not q.cancel(conn, second, ana)  # already finished: nothing to cancel
        listed = q.list_jobs(conn, statuses=["cancelled"])
    assert [j.id for j in listed] == [second, first]  # newest first
    assert all(j.message == "cancelled by ana" for j in listed)
