"""Pages of the job queue: the list of jobs, one job's progress, its status as JSON.

A job (a run, uncertainty draws, a calibration) takes from seconds to many minutes on a
worker, so its page shows where it has got to and keeps itself up to date: a small script
served by this blueprint (no CDN, allowed by the service's ``script-src 'self'`` policy)
polls ``/jobs/<id>.json`` and updates a ``role="status"`` line, which screen readers announce,
and a ``<progress>`` bar. Without the script the page still says everything as of its loading,
with a link to look again. A failed job shows the planner-readable message the worker stored,
never a traceback (those stay in the worker's log).

Who: jobs are analysts' work (they queue runs); admins and analysts see every job, other
roles none. The blueprint needs only the app's database engine
(``app.extensions["fairshare_db"]``) and the request's account (``g.session.account``, as
service/context.py sets them); ``current_account`` can be replaced to wire it otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import Blueprint, Response, abort, current_app, g, jsonify, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import Engine

from fairshare.store import jobs as queue
from fairshare.store.schema import JOB_STATUSES

bp = Blueprint("jobs", __name__, template_folder="templates", static_folder="assets/jobs",
               static_url_path="/jobs/assets")

#: Roles that see the queue and its jobs.
JOB_ROLES = ("admin", "analyst")
#: How often the page asks for the job's status (milliseconds); the script backs off on errors.
POLL_MS = 2000
LIST_LIMIT = 200
STATUS_WORDS = {"queued": "Waiting for a worker", "running": "Running", "done": "Done",
                "failed": "Failed", "cancelled": "Cancelled"}
KIND_WORDS = {"run": "Run (targets and plan)", "uncertainty": "Uncertainty intervals",
              "calibrate": "Calibration"}


def _session_account() -> Any:
    session = g.get("session")
    return None if session is None else session.account


#: The signed-in account (None when nobody is): service/context.py's rule by default.
current_account: Callable[[], Any] = _session_account


def _engine() -> Engine:
    return cast(Engine, current_app.extensions["fairshare_db"])


def _allowed() -> Any:
    """The account, if it may see jobs; 401 for nobody signed in, 403 for another role."""
    account = current_account()
    if account is None:
        abort(401)
    if account.role not in JOB_ROLES:
        abort(403)
    return account


def _job_or_404(job_id: int) -> queue.Job:
    with _engine().connect() as conn:
        job = queue.get(conn, job_id)
    if job is None:
        abort(404)
    return job


def status_line(job: queue.Job) -> str:
    """One sentence on where the job is (the page's status line; the script writes the same)."""
    words = STATUS_WORDS.get(job.status, job.status)
    if job.status == "running":
        detail = f": {job.message}" if job.message else ""
        return f"{words}{detail} ({round(100 * job.progress)}% done)"
    if job.status == "queued" and job.message:
        return f"{words} ({job.message})"
    return words


def status_json(job: queue.Job) -> dict[str, Any]:
    """What the page's script reads: no parameters, worker host or anything internal."""
    return {
        "id": job.id, "kind": job.kind, "status": job.status, "finished": job.finished,
        "progress": job.progress, "percent": round(100 * job.progress),
        "message": job.message, "status_line": status_line(job),
        "error": job.error if job.status == "failed" else None,
        "run_id": (job.result or {}).get("run_id") if job.status == "done" else None,
        "attempts": job.attempts,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _layout() -> str:
    """The service's page layout when the app has one (service/templates/base.html), else
    this blueprint's own plain one."""
    try:
        current_app.jinja_env.get_template("base.html")
    except TemplateNotFound:
        return "jobs/layout.html"
    return "base.html"


@bp.get("/jobs/<int:job_id>.json")
def job_status(job_id: int) -> Response:
    _allowed()
    response = jsonify(status_json(_job_or_404(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/jobs/<int:job_id>")
def job_page(job_id: int) -> str:
    _allowed()
    job = _job_or_404(job_id)
    return render_template("jobs/job.html", layout=_layout(), job=job, status=status_json(job),
                           kind_words=KIND_WORDS, poll_ms=POLL_MS)


@bp.get("/jobs")
def index() -> str:
    _allowed()
    with _engine().connect() as conn:
        jobs = queue.list_jobs(conn, limit=LIST_LIMIT)
    counts = {s: sum(j.status == s for j in jobs) for s in JOB_STATUSES}
    return render_template("jobs/index.html", layout=_layout(), jobs=jobs, counts=counts,
                           status_line=status_line, kind_words=KIND_WORDS,
                           status_words=STATUS_WORDS, limit=LIST_LIMIT)
