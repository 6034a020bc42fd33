"""The job queue: long work (a full run, uncertainty, calibration) done by workers, not pages.

Why a queue in the database and not in a process: the service runs as several processes on
one database (no state kept in a process), so any web process can enqueue and any worker on
any machine can take the next job. Each job is claimed by exactly one worker: on PostgreSQL
the claim is ``SELECT ... FOR UPDATE SKIP LOCKED`` (workers pass over each other's rows
instead of queueing behind them); on SQLite every transaction is ``BEGIN IMMEDIATE``
(store/db.py), so claims simply take turns. Either way the claiming UPDATE also checks the
job is still queued, so a claim that lost a race takes nothing.

A worker that dies mid-job stops beating its heart (``heartbeat_at``); ``requeue_stale``
puts its job back in the queue, counting the attempt, and fails a job whose workers have died
``MAX_ATTEMPTS`` times (a job that kills its worker would otherwise be retried for ever).
Every change is conditional on the worker that holds the job, so a worker whose job was
cancelled or taken back cannot write over what came after.

Times are the workers' clocks in UTC (``audit.now``), never the database's, so SQLite and
PostgreSQL compare the same values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, case, select, update

from fairshare.errors import FairshareError
from fairshare.store import audit
from fairshare.store.schema import JOB_KINDS, JOB_STATUSES, accounts, jobs

#: A job taken this many times by workers that then died is failed, not requeued.
MAX_ATTEMPTS = 3
#: Longest message a worker may attach to its progress (it is shown in a page).
MAX_MESSAGE = 500
#: Longest error text kept for a failed job (the planner-readable message, not a traceback).
MAX_ERROR = 4000
FINISHED = ("done", "failed", "cancelled")


class JobError(FairshareError):
    """A job cannot be queued or changed as asked (message says why)."""


class JobLost(JobError):
    """The worker no longer holds this job: it was cancelled, or taken back as stale."""


@dataclass(frozen=True)
class Job:
    """One row of the queue, as a worker or a page sees it."""

    id: int
    kind: str
    params: dict[str, Any]
    status: str
    progress: float
    message: str | None
    result: dict[str, Any] | None
    error: str | None
    created_by: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    worker: str | None
    heartbeat_at: datetime | None
    attempts: int

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def as_dict(self) -> dict[str, Any]:
        """The job as JSON for a page (times in ISO 8601 UTC)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        out["finished"] = self.finished
        return out


def _utc(value: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes: every time stored here is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _job(row: RowMapping) -> Job:
    return Job(
        id=int(row["id"]), kind=row["kind"], params=dict(row["params"] or {}),
        status=row["status"], progress=float(row["progress"]), message=row["message"],
        result=row["result"], error=row["error"], created_by=int(row["created_by"]),
        created_at=_utc(row["created_at"]) or audit.now(), started_at=_utc(row["started_at"]),
        finished_at=_utc(row["finished_at"]), worker=row["worker"],
        heartbeat_at=_utc(row["heartbeat_at"]), attempts=int(row["attempts"]))


def _username(conn: Connection, account_id: int) -> str:
    name = conn.execute(select(accounts.c.username).where(accounts.c.id == account_id)).scalar()
    if name is None:
        raise JobError(f"account {account_id} does not exist: a job is queued by an account")
    return str(name)


def enqueue(conn: Connection, kind: str, params: Mapping[str, Any], account_id: int) -> int:
    """Queue a job (inside the caller's transaction, with its audit entry); its id."""
    if kind not in JOB_KINDS:
        raise JobError(f"job kind {kind!r} is not known: expected one of {', '.join(JOB_KINDS)}")
    try:
        clean = json.loads(json.dumps(dict(params), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise JobError(f"the parameters of a {kind} job must be plain JSON: {exc}") from None
    actor = _username(conn, account_id)
    job_id = conn.execute(jobs.insert().values(
        kind=kind, params=clean, status="queued", progress=0.0, created_by=account_id,
        created_at=audit.now(), attempts=0).returning(jobs.c.id)).scalar_one()
    audit.record(conn, "job_queued", actor=actor, target=f"job {job_id}",
                 detail={"kind": kind})
    return int(job_id)


def claim(engine: Engine, worker: str) -> Job | None:
    """Take the oldest queued job for ``worker`` (None when the queue is empty).

    One transaction: find the oldest queued row (PostgreSQL skips rows another claim holds
    locked; SQLite's BEGIN IMMEDIATE lets one claim in at a time), then mark it running for
    this worker only if it is still queued.
    """
    now = audit.now()
    with engine.begin() as conn:
        job_id = conn.execute(
            select(jobs.c.id).where(jobs.c.status == "queued").order_by(jobs.c.id).limit(1)
            .with_for_update(skip_locked=True)).scalar()
        if job_id is None:
            return None
        taken = conn.execute(
            update(jobs).where(jobs.c.id == job_id, jobs.c.status == "queued").values(
                status="running", worker=worker[:120], started_at=now, heartbeat_at=now,
                attempts=jobs.c.attempts + 1, message=None, error=None))
        if taken.rowcount != 1:
            return None
        row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().one()
    return _job(row)


def _held(job_id: int, worker: str) -> Any:
    return (jobs.c.id == job_id) & (jobs.c.status == "running") & (jobs.c.worker == worker)


def _lost(engine: Engine, job_id: int, worker: str) -> JobLost:
    with engine.connect() as conn:
        found = get(conn, job_id)
    state = "does not exist" if found is None else (
        f"is {found.status}" + (f" by {found.worker}" if found.status == "running" else ""))
    return JobLost(f"job {job_id} is no longer held by {worker}: it {state}")


def progress(engine: Engine, job_id: int, fraction: float, message: str | None = None, *,
             worker: str) -> None:
    """Record how far a job has got (0..1) and beat its heart; progress never goes back.

    Raises ``JobLost`` if the job was cancelled or taken back: the worker should stop it.
    """
    if not isinstance(fraction, int | float) or math.isnan(fraction):
        raise ValueError(f"progress must be a number from 0 to 1, got {fraction!r}")
    value = min(1.0, max(0.0, float(fraction)))
    values: dict[str, Any] = {
        "progress": case((jobs.c.progress < value, value), else_=jobs.c.progress),
        "heartbeat_at": audit.now()}
    if message is not None:
        values["message"] = message[:MAX_MESSAGE]
    with engine.begin() as conn:
        changed = conn.execute(update(jobs).where(_held(job_id, worker)).values(**values))
    if changed.rowcount != 1:
        raise _lost(engine, job_id, worker)


def heartbeat(engine: Engine, job_id: int, *, worker: str) -> None:
    """Say the worker is alive and still on the job (``JobLost`` if it no longer holds it)."""
    with engine.begin() as conn:
        changed = conn.execute(update(jobs).where(_held(job_id, worker)).values(
            heartbeat_at=audit.now()))
    if changed.rowcount != 1:
        raise _lost(engine, job_id, worker)


def _close(engine: Engine, job_id: int, worker: str, action: str,
           detail: Mapping[str, Any], **values: Any) -> bool:
    with engine.begin() as conn:
        changed = conn.execute(update(jobs).where(_held(job_id, worker)).values(
            finished_at=audit.now(), heartbeat_at=audit.now(), **values))
        if changed.rowcount != 1:
            return False
        audit.record(conn, action, actor=f"worker {worker}"[:120], target=f"job {job_id}",
                     detail=detail)
    return True


def finish(engine: Engine, job_id: int, result: Mapping[str, Any], *, worker: str) -> bool:
    """Mark the job done with its result (e.g. ``{"run_id": ...}``); False if no longer held."""
    clean = json.loads(json.dumps(dict(result), allow_nan=False, default=str))
    return _close(engine, job_id, worker, "job_finished",
                  {k: v for k, v in clean.items() if isinstance(v, str | int | float)},
                  status="done", progress=1.0, result=clean)


def fail(engine: Engine, job_id: int, error_text: str, *, worker: str) -> bool:
    """Mark the job failed with a message a planner can read; False if no longer held."""
    text = (error_text or "the job failed without a message").strip()[:MAX_ERROR]
    return _close(engine, job_id, worker, "job_failed", {"error": text[:200]},
                  status="failed", error=text)


def release(engine: Engine, job_id: int, *, worker: str) -> bool:
    """Put a job the worker is stopping on back in the queue (a clean stop is not an attempt)."""
    with engine.begin() as conn:
        changed = conn.execute(update(jobs).where(_held(job_id, worker)).values(
            status="queued", worker=None, progress=0.0, started_at=None, heartbeat_at=None,
            attempts=jobs.c.attempts - 1,
            message=f"requeued: worker {worker} stopped before finishing"[:MAX_MESSAGE]))
        if changed.rowcount != 1:
            return False
        audit.record(conn, "job_requeued", actor=f"worker {worker}"[:120],
                     target=f"job {job_id}", detail={"why": "worker stopped"})
    return True


def requeue_stale(engine: Engine, older_than: timedelta,
                  max_attempts: int = MAX_ATTEMPTS) -> list[int]:
    """Give back to the queue every running job whose worker has not beaten its heart for
    ``older_than`` (it died or lost the database); fail those already tried ``max_attempts``
    times. The ids of the jobs requeued or failed."""
    cutoff = audit.now() - older_than
    touched: list[int] = []
    with engine.begin() as conn:
        stale = conn.execute(select(jobs.c.id, jobs.c.worker, jobs.c.attempts).where(
            jobs.c.status == "running", jobs.c.heartbeat_at < cutoff).order_by(jobs.c.id)
            .with_for_update(skip_locked=True)).all()
        for job_id, worker, attempts in stale:
            gone = f"worker {worker} stopped answering"
            if attempts >= max_attempts:
                values: dict[str, Any] = {
                    "status": "failed", "finished_at": audit.now(),
                    "error": f"{gone} {attempts} times while running this job: it was not "
                             "retried again (it may need more memory or time than a worker "
                             "has; ask an administrator to look at the workers' log)"}
                action = "job_failed"
            else:
                values = {"status": "queued", "worker": None, "progress": 0.0,
                          "started_at": None, "heartbeat_at": None,
                          "message": f"requeued: {gone} (attempt {attempts} of "
                                     f"{max_attempts})"}
                action = "job_requeued"
            changed = conn.execute(update(jobs).where(
                jobs.c.id == job_id, jobs.c.status == "running",
                jobs.c.heartbeat_at < cutoff).values(**values))
            if changed.rowcount == 1:
                audit.record(conn, action, actor="system", target=f"job {job_id}",
                             detail={"why": "stale", "attempts": int(attempts)})
                touched.append(int(job_id))
    return touched


def cancel(conn: Connection, job_id: int, account_id: int) -> bool:
    """Cancel a queued or running job (a running one stops at its worker's next progress
    report); False if it had already finished."""
    actor = _username(conn, account_id)
    changed = conn.execute(update(jobs).where(
        jobs.c.id == job_id, jobs.c.status.in_(("queued", "running"))).values(
        status="cancelled", finished_at=audit.now(), message=f"cancelled by {actor}"))
    if changed.rowcount != 1:
        return False
    audit.record(conn, "job_cancelled", actor=actor, target=f"job {job_id}")
    return True


def get(conn: Connection, job_id: int) -> Job | None:
    row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
    return None if row is None else _job(row)


def list_jobs(conn: Connection, *, statuses: Sequence[str] | None = None,
              created_by: int | None = None, limit: int = 100) -> list[Job]:
    """Jobs, newest first; optionally only some statuses or one account's."""
    query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if statuses is not None:
        unknown = sorted(set(statuses) - set(JOB_STATUSES))
        if unknown:
            raise JobError(f"job status {unknown} is not known: expected "
                           f"{', '.join(JOB_STATUSES)}")
        query = query.where(jobs.c.status.in_(list(statuses)))
    if created_by is not None:
        query = query.where(jobs.c.created_by == created_by)
    return [_job(row) for row in conn.execute(query).mappings()]
