"""The worker: takes queued jobs one at a time, runs them, stores their runs.

Why a separate process: a full run, uncertainty draws or a calibration take from seconds to
many minutes, far longer than a page may wait. Any number of workers, on any machines that
reach the database, share one queue (store/jobs.py hands each job to exactly one of them);
with ``--dask`` the uncertainty draws of a job go to a Dask cluster, so one worker can use
many machines.

The loop: requeue jobs whose worker died (no heartbeat for ``stale_after``), claim the next
job, run it while a thread beats its heart, store its run and mark it done, or mark it failed
with the planner-readable message of a ``FairshareError``. Anything else is logged with its
traceback here, and the job's page only says an internal error stopped it: a traceback never
reaches a page. SIGTERM (or SIGINT) stops the worker cleanly: the job it is running is
abandoned where it is and given back to the queue, never half-stored; a run and the job's
"done" are written only after the work is complete.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from fairshare.errors import FairshareError
from fairshare.service.job_kinds import KINDS, JobContext, StoredReturn, return_ids
from fairshare.store import jobs as queue
from fairshare.store import returns as stored_returns
from fairshare.store.db import DatabaseError

log = logging.getLogger("fairshare.worker")

#: How often a running job's heartbeat is written, and how old one must be to count as dead.
HEARTBEAT_EVERY = 15.0
STALE_AFTER = timedelta(minutes=2)
POLL_EVERY = 2.0
#: How long a worker waits before trying a database that did not answer.
RETRY_AFTER = 30.0


class RunSaver(Protocol):
    """The part of the run store a worker uses (store.runs.RunStore, store.sql_runs.SqlRunStore)."""

    def save(self, name: str | None, metadata: Mapping[str, Any],
             tables: Mapping[str, pd.DataFrame]) -> Any: ...

    def delete(self, ref: str) -> Any: ...


class WorkerStopping(BaseException):  # a stop, not an error: `except Exception` passes it
    """Raised into the running job when the worker is asked to stop (SIGTERM/SIGINT)."""


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def load_returns(engine: Engine, ids: list[int]) -> dict[int, StoredReturn]:
    """The stored returns a job names, with their files (missing ids are left out: the job
    says which)."""
    found: dict[int, StoredReturn] = {}
    with engine.connect() as conn:
        for return_id in ids:
            rec = stored_returns.get_return(conn, return_id)
            if rec is not None:
                found[return_id] = StoredReturn(
                    id=rec.id, office=rec.office, kind=rec.kind, version=rec.version,
                    status=rec.status, digest=rec.digest,
                    files=stored_returns.return_files(conn, return_id))
    return found


class Worker:
    """One worker process's loop over the queue (``fairshare service worker``)."""

    def __init__(self, engine: Engine, run_store: RunSaver, *, name: str | None = None,
                 dask: str | None = None, heartbeat_every: float = HEARTBEAT_EVERY,
                 stale_after: timedelta = STALE_AFTER, poll_every: float = POLL_EVERY) -> None:
        self.engine = engine
        self.run_store = run_store
        self.name = (name or default_name())[:120]
        self.dask = dask
        self.heartbeat_every = heartbeat_every
        self.stale_after = stale_after
        self.poll_every = poll_every
        self._stop = threading.Event()
        self._interruptible = False
        #: How the jobs this worker took ended: done, failed, cancelled, queued (given back).
        self.tally: Counter[str] = Counter()

    # ------------------------------------------------------------ stopping

    def stop(self) -> None:
        """Ask the worker to stop (from another thread, or a signal)."""
        self._stop.set()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        log.info("worker %s: signal %s, stopping", self.name, signal.Signals(signum).name)
        self._stop.set()
        if self._interruptible:  # abandon the job's computation now; it is requeued
            raise WorkerStopping

    @contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread can take signals (tests run workers in threads)
            return
        before = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for s, handler in before.items():
                signal.signal(s, handler)

    # ------------------------------------------------------------ the loop

    def run(self, *, once: bool = False) -> int:
        """Work until stopped (``once``: at most one job); the number of jobs finished."""
        log.info("worker %s: started", self.name)
        with self._signals():
            while not self._stop.is_set():
                try:
                    job = self.work_one()
                except SQLAlchemyError as exc:  # the database restarts or the network drops
                    if once:
                        raise DatabaseError(f"worker {self.name}: the database did not answer: "
                                            f"{str(exc).splitlines()[0]}") from None
                    log.exception("worker %s: the database did not answer; trying again in "
                                  "%.0f s (a job it held is requeued once stale)", self.name,
                                  RETRY_AFTER)
                    self._stop.wait(RETRY_AFTER)
                    continue
                if job is not None:
                    self.tally[job.status] += 1
                if once:
                    break
                if job is None:
                    self._stop.wait(self.poll_every)
        log.info("worker %s: stopped (%s)", self.name, self.summary())
        return self.tally["done"]

    def summary(self) -> str:
        """How the jobs taken ended, in words: "2 jobs done, 1 failed"."""
        taken = sum(self.tally.values())
        if not taken:
            return "no job taken"
        parts = [f"{n} {'given back to the queue' if status == 'queued' else status}"
                 for status, n in sorted(self.tally.items())]
        return f"{taken} job{'s' if taken != 1 else ''} taken: {', '.join(parts)}"

    def work_one(self) -> queue.Job | None:
        """Requeue dead workers' jobs, then claim and run one job; the job as it ended (None
        when the queue was empty)."""
        for job_id in queue.requeue_stale(self.engine, self.stale_after):
            log.warning("job %s: its worker stopped answering; requeued (or failed after "
                        "%d attempts)", job_id, queue.MAX_ATTEMPTS)
        job = queue.claim(self.engine, self.name)
        if job is None:
            return None
        log.info("job %s (%s): claimed by %s, attempt %d", job.id, job.kind, self.name,
                 job.attempts)
        with self._heartbeat(job.id):
            self._execute(job)
        with self.engine.connect() as conn:
            return queue.get(conn, job.id)

    @contextmanager
    def _heartbeat(self, job_id: int) -> Iterator[None]:
        """Beat the job's heart from a thread while it runs (a computation may not report
        progress for minutes)."""
        ended = threading.Event()

        def beat() -> None:
            while not ended.wait(self.heartbeat_every):
                try:
                    queue.heartbeat(self.engine, job_id, worker=self.name)
                except queue.JobLost:
                    return  # the job's next progress report stops it
                except Exception:  # a dropped connection must not kill the thread silently
                    log.exception("job %s: heartbeat failed", job_id)

        thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            ended.set()
            thread.join()

    def _report(self, job_id: int) -> Any:
        def report(fraction: float, message: str) -> None:
            if self._stop.is_set():
                raise WorkerStopping
            queue.progress(self.engine, job_id, fraction, message, worker=self.name)
        return report

    def _execute(self, job: queue.Job) -> None:
        try:
            self._interruptible = True
            try:
                run = self._compute(job)
                queue.heartbeat(self.engine, job.id, worker=self.name)  # still ours?
            finally:
                self._interruptible = False
            self._store(job, run)
        except WorkerStopping:
            if queue.release(self.engine, job.id, worker=self.name):
                log.info("job %s: worker stopping, the job is back in the queue", job.id)
        except queue.JobLost as exc:
            log.info("job %s: abandoned: %s", job.id, exc)
        except FairshareError as exc:
            log.info("job %s failed: %s", job.id, exc)
            queue.fail(self.engine, job.id, str(exc), worker=self.name)
        except Exception as exc:
            log.exception("job %s (%s) stopped on an internal error", job.id, job.kind)
            queue.fail(self.engine, job.id, (
                f"the job stopped on an internal error ({type(exc).__name__}); it is not "
                f"something in your inputs that you can correct: the service's administrators "
                f"have the details in the worker's log (job {job.id}, worker {self.name})"),
                worker=self.name)

    def _compute(self, job: queue.Job) -> Any:
        kind = KINDS.get(job.kind)
        if kind is None:
            raise FairshareError(f"job kind {job.kind!r} is not known to this worker")
        ids = return_ids(job.params)
        ctx = JobContext(returns=load_returns(self.engine, ids), report=self._report(job.id),
                         dask=self.dask)
        return kind(job.params, ctx)

    def _store(self, job: queue.Job, run: Any) -> None:
        """Store the run, then mark the job done with its id (both only once complete)."""
        meta = {**run.metadata, "job": {"id": job.id, "kind": job.kind}}
        record = self.run_store.save(run.name, meta, run.tables)
        if queue.finish(self.engine, job.id, {"run_id": record.id, "name": record.name},
                        worker=self.name):
            log.info("job %s: done, run %s", job.id, record.id)
        else:  # cancelled or taken back between the last check and now: keep no orphan run
            self.run_store.delete(record.id)
            log.warning("job %s: cancelled or taken back while its run was being stored; "
                        "run %s deleted", job.id, record.id)
